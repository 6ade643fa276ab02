"""Who sees and does what (issue #19): departments, regions, the risk centre."""

from __future__ import annotations

import pytest

from loop.identity import Principal
from loop.jurisdiction import (
    Forbidden,
    Permission,
    acting_department,
    check_task,
    check_warning,
    require,
    task_department,
    warning_regions,
)
from schemas.records import DispositionAction
from tests.people import CENTRE, PEOPLE

HZ, NB, STAFF, SUP = (PEOPLE[n] for n in ("hz_handler", "nb_handler", "hz_staff", "supervisor"))


@pytest.mark.parametrize(
    ("who", "permission", "allowed"),
    [
        ("hz_handler", Permission.dispose, True),
        ("hz_staff", Permission.dispose, False),
        ("hz_handler", Permission.arbitrate, False),  # a department does not arbitrate
        ("supervisor", Permission.arbitrate, True),
        ("operator", Permission.arbitrate, False),
        ("modeller", Permission.publish, True),
        ("operator", Permission.publish, False),
        ("operator", Permission.operate, True),
        ("hz_handler", Permission.operate, False),
        ("hz_staff", Permission.read, True),
        ("modeller", Permission.oversee, True),
        ("operator", Permission.oversee, True),
        ("supervisor", Permission.oversee, True),
        ("hz_staff", Permission.oversee, False),
        ("hz_handler", Permission.oversee, False),
    ],
)
def test_roles_grant_permissions(who: str, permission: Permission, allowed: bool) -> None:
    if allowed:
        require(PEOPLE[who], permission, centre=CENTRE)
    else:
        with pytest.raises(Forbidden):
            require(PEOPLE[who], permission, centre=CENTRE)


def test_the_centres_staff_oversee_the_workers_without_a_role_for_it() -> None:
    centre_staff = Principal(sub="u-c", name="c", roles={"staff"}, department=CENTRE)
    require(centre_staff, Permission.oversee, centre=CENTRE)
    with pytest.raises(Forbidden, match="oversee needs the role modeller or operator"):
        require(centre_staff, Permission.oversee, centre="another_centre")


def test_a_department_sees_its_own_tasks_only() -> None:
    assert task_department(HZ, None, centre=CENTRE) == "hz_market"
    assert task_department(HZ, "hz_market", centre=CENTRE) == "hz_market"
    with pytest.raises(Forbidden, match="nb_market are not yours"):
        task_department(HZ, "nb_market", centre=CENTRE)
    with pytest.raises(Forbidden):
        check_task(NB, "hz_market", centre=CENTRE)
    check_task(HZ, "hz_market", centre=CENTRE)
    assert task_department(SUP, None, centre=CENTRE) is None  # the centre sees all
    check_task(SUP, "nb_market", centre=CENTRE)


def test_staff_see_the_warnings_of_their_regions() -> None:
    assert warning_regions(STAFF, None, centre=CENTRE) == ("3301",)
    assert warning_regions(STAFF, "330106", centre=CENTRE) == ("330106",)
    assert warning_regions(STAFF, "33", centre=CENTRE) == ("3301",)
    with pytest.raises(Forbidden, match="3302 is outside"):
        warning_regions(STAFF, "3302", centre=CENTRE)
    check_warning(STAFF, "330106", centre=CENTRE)
    for region in ("330206", None):
        with pytest.raises(Forbidden):
            check_warning(STAFF, region, centre=CENTRE)
    assert warning_regions(SUP, None, centre=CENTRE) is None
    check_warning(SUP, None, centre=CENTRE)


def test_only_the_centre_closes_and_reopens() -> None:
    assert acting_department(HZ, DispositionAction.sign, centre=CENTRE) == "hz_market"
    for action in (DispositionAction.close, DispositionAction.reopen):
        with pytest.raises(Forbidden, match="only the risk centre"):
            acting_department(HZ, action, centre=CENTRE)
        assert acting_department(SUP, action, centre=CENTRE) == CENTRE
    with pytest.raises(Forbidden):
        acting_department(STAFF, DispositionAction.sign, centre=CENTRE)

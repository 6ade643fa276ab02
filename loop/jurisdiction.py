"""Who may see and do what (issue #19): pure decisions over a :class:`Principal`.

A department sees and acts on its own tasks only; staff see the warnings of their regions;
only the risk centre (its department, ``LoopConfig.centre``, or anyone with the supervisor
role) sees everything, arbitrates, closes and reopens; modellers publish rule packs and
models; operators silence. Each function raises :class:`Forbidden` with a reason a person can
act on, so the API answers 403 before it reads a body or produces a record.

>>> li = Principal(sub="u-li", name="李明", roles={"handler"}, department="hz_market",
...                regions=("3301",))
>>> require(li, Permission.dispose, centre="risk_centre")
>>> sees_task(li, "hz_transport", centre="risk_centre")
False
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from loop.identity import Principal, Role, covers
from schemas.errors import RiskLoopError
from schemas.records import DispositionAction


class Forbidden(RiskLoopError):
    """A person the API knows, asking for what is not theirs: a 403 with this message."""


class Permission(StrEnum):
    """What an endpoint needs, beyond knowing who asks."""

    read = "read"  # warnings of one's regions, tasks of one's department, silences, active
    dispose = "dispose"  # a task's disposition (sign, return, start, dispose; close, reopen)
    arbitrate = "arbitrate"  # assign a task in arbitration (the risk centre)
    publish = "publish"  # rule packs and models (modellers)
    operate = "operate"  # silences and operations (operators)
    oversee = "oversee"  # what every worker runs and refused (modellers, operators, the centre)


CENTRE_ACTIONS = frozenset(
    {
        DispositionAction.close,
        DispositionAction.reopen,
        DispositionAction.grant_extension,
        DispositionAction.refuse_extension,
    }
)
"""The disposition actions only the risk centre sends (``loop.state_machine`` agrees): closing,
reopening, and deciding a department's extension request (延期)."""

_ROLES: dict[Permission, tuple[Role, ...]] = {
    Permission.read: tuple(Role),
    Permission.dispose: (Role.handler, Role.lead, Role.supervisor),
    Permission.arbitrate: (Role.handler, Role.lead, Role.supervisor),
    Permission.publish: (Role.modeller,),
    Permission.operate: (Role.operator,),
    Permission.oversee: (Role.modeller, Role.operator, Role.supervisor),
}


def is_centre(who: Principal, centre: str) -> bool:
    """The risk centre: its own department, or a supervisor of any department."""
    return who.department == centre or who.has(Role.supervisor)


def require(who: Principal, permission: Permission, *, centre: str) -> None:
    """Forbidden unless one of ``who``'s roles grants ``permission`` (arbitration: the centre)."""
    needed = _ROLES[permission]
    if permission is Permission.oversee and is_centre(who, centre):
        return  # the centre answers for every worker's versions, whatever its role
    if not who.has(*needed):
        roles = ", ".join(sorted(r.value for r in who.roles))
        wanted = " or ".join(r.value for r in needed)
        raise Forbidden(f"{permission.value} needs the role {wanted}; your token has {roles}")
    if permission is Permission.arbitrate and not is_centre(who, centre):
        raise Forbidden(f"only the risk centre ({centre}, or a supervisor) arbitrates")


def sees_task(who: Principal, department: str, *, centre: str) -> bool:
    """A task is its department's and the risk centre's to see."""
    return is_centre(who, centre) or who.department == department


def task_department(who: Principal, requested: str | None, *, centre: str) -> str | None:
    """The department ``GET /api/tasks`` lists: the one asked for if ``who`` may see it, else
    ``who``'s own; None (every department) only for the risk centre asking for none.

    >>> task_department(Principal(sub="a", name="a", roles={"lead"}, department="hz_market"),
    ...                 None, centre="risk_centre")
    'hz_market'
    """
    if requested is None:
        return None if is_centre(who, centre) else who.department
    if not sees_task(who, requested, centre=centre):
        raise Forbidden(f"the tasks of {requested} are not yours to see ({who.department})")
    return requested


def task_view(who: Principal, department: str) -> Literal["full", "masked"]:
    """How much of a task's personal data ``who`` sees: ``full`` (addresses to the house
    number) for the handlers and leads of the department holding it — they go to the premises
    to verify (核查), so the road alone will not do — and ``masked`` for everyone else, the
    risk centre and the department's own staff included (the minimum necessary, 最小必要).
    Complainants stay masked in both (``schemas.validation.pii``).

    >>> li = Principal(sub="a", name="a", roles={"handler"}, department="hz_market")
    >>> task_view(li, "hz_market"), task_view(li, "hz_transport")
    ('full', 'masked')
    """
    holds = who.department == department and who.has(Role.handler, Role.lead)
    return "full" if holds else "masked"


def check_task(who: Principal, department: str, *, centre: str) -> None:
    """Forbidden unless ``who`` may see (and act on) a task held by ``department``."""
    if not sees_task(who, department, centre=centre):
        raise Forbidden(f"this task is held by another department than yours ({who.department})")


def warning_regions(
    who: Principal, requested: str | None, *, centre: str
) -> tuple[str, ...] | None:
    """The region prefixes ``GET /api/warnings`` may list (None: all, the risk centre's).

    Asking for a region inside one's own narrows to it; asking for a wider one (``33`` by a
    Hangzhou official) gives one's own; asking for one outside is refused.

    >>> hz = Principal(sub="a", name="a", roles={"staff"}, department="d", regions=("3301",))
    >>> warning_regions(hz, "330106", centre="c"), warning_regions(hz, "33", centre="c")
    (('330106',), ('3301',))
    """
    if is_centre(who, centre):
        return None if requested is None else (requested,)
    if requested is None:
        return who.regions
    if covers(who.regions, requested):
        return (requested,)
    inside = tuple(r for r in who.regions if r.startswith(requested))
    if not inside:
        raise Forbidden(f"region {requested} is outside yours ({', '.join(who.regions) or 'none'})")
    return inside


def check_warning(who: Principal, region_code: str | None, *, centre: str) -> None:
    """Forbidden unless the warning's region is one of ``who``'s (the centre sees all, and
    alone sees a warning without a region)."""
    check_region(who, region_code, centre=centre, what="this warning")


def check_profile(who: Principal, region_code: str | None, *, centre: str) -> None:
    """Forbidden unless the enterprise's region is one of ``who``'s: an enterprise's file (一企
    一档) is its region's to read, as its warnings are (the centre reads every file, and alone
    one whose region no event has given yet).

    >>> hz = Principal(sub="a", name="a", roles={"staff"}, department="d", regions=("3301",))
    >>> check_profile(hz, "330106", centre="c")
    >>> check_profile(hz, "330206", centre="c")
    Traceback (most recent call last):
    loop.jurisdiction.Forbidden: this enterprise is outside your regions (3301)
    """
    check_region(who, region_code, centre=centre, what="this enterprise")


def check_region(who: Principal, region_code: str | None, *, centre: str, what: str) -> None:
    """Forbidden unless ``region_code`` is in one of ``who``'s regions or ``who`` is the centre;
    a record without a region is the centre's alone (no region, no jurisdiction to claim it)."""
    if is_centre(who, centre):
        return
    if region_code is None or not covers(who.regions, region_code):
        raise Forbidden(f"{what} is outside your regions ({', '.join(who.regions) or 'none'})")


def sees_silence(who: Principal, region_prefix: str | None, *, centre: str) -> bool:
    """May ``who`` see a silence scoped to ``region_prefix``? One without a region (a source, an
    item or an enterprise everywhere) mutes warnings in every region, so everyone sees it; one
    scoped to a region is seen by the people whose regions overlap it — inside it (a county
    under a city's silence) or around it (a city official, a county's silence).

    >>> hz = Principal(sub="a", name="a", roles={"staff"}, department="d", regions=("3301",))
    >>> [sees_silence(hz, p, centre="c") for p in (None, "33", "330106", "3302")]
    [True, True, True, False]
    """
    if region_prefix is None or is_centre(who, centre):
        return True
    return any(r.startswith(region_prefix) or region_prefix.startswith(r) for r in who.regions)


def acting_department(who: Principal, action: DispositionAction, *, centre: str) -> str:
    """The department a disposition by ``who`` is recorded as: the centre for close/reopen (only
    the centre may send them), else ``who``'s own; never what a client wrote."""
    if action in CENTRE_ACTIONS:
        if not is_centre(who, centre):
            raise Forbidden(f"only the risk centre ({centre}, or a supervisor) may {action.value}")
        return centre
    if not who.has(Role.handler, Role.lead):
        raise Forbidden(f"{action.value} is a department handler's or lead's")
    return who.department

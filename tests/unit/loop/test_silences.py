from __future__ import annotations

from datetime import timedelta

import pytest

from loop.silences import Silence, create, matching, prune
from schemas.errors import ConfigError

from .conftest import T0

BASE = {
    "silence_id": "s1",
    "reason": "drill",
    "creator": "wang",
    "starts_at": T0,
    "ends_at": T0 + timedelta(hours=2),
}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "at least one matcher"),
        ({"entity": "X", "reason": " "}, "reason"),
        ({"entity": "X", "region_prefix": "330"}, "2, 4 or 6 digits"),
        ({"entity": "X", "region_prefix": "３３０１"}, "2, 4 or 6 digits"),  # full-width digits
        ({"entity": "X", "ends_at": T0}, "ends_at must be after"),
    ],
)
def test_invalid_silences_are_rejected_with_a_reason(
    extra: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        create({**BASE, **extra}, T0, timedelta(days=30))


def test_too_long_or_expired_silences_are_rejected() -> None:
    with pytest.raises(ConfigError, match="longer than"):
        create({**BASE, "entity": "X", "ends_at": T0 + timedelta(days=31)}, T0, timedelta(days=30))
    with pytest.raises(ConfigError, match="already expired"):
        create({**BASE, "entity": "X"}, T0 + timedelta(hours=3), timedelta(days=30))


def test_matchers_are_an_and_of_the_set_fields() -> None:
    s = create({**BASE, "source": "trucks", "region_prefix": "3301"}, T0, timedelta(days=1))
    kw = {"entity": "E", "item_code": "I"}
    assert s.matches(source="trucks", region_code="330106", **kw)
    assert not s.matches(source="trucks", region_code="330206", **kw)
    assert not s.matches(source="trucks", region_code=None, **kw)
    assert not s.matches(source="complaints", region_code="330106", **kw)


def test_silences_expire() -> None:
    s = Silence.model_validate({**BASE, "entity": "E"})
    kw = {"source": "x", "entity": "E", "item_code": "", "region_code": None}
    assert matching([s], T0 + timedelta(hours=1), **kw) == s
    assert matching([s], T0 + timedelta(hours=2), **kw) is None
    assert matching([s], T0 - timedelta(seconds=1), **kw) is None
    assert prune([s], T0 + timedelta(hours=2)) == []


def test_expiring_records_who_and_when_and_stops_matching() -> None:
    from loop.silences import expire

    s = Silence.model_validate({**BASE, "entity": "X"})
    ended = expire(s, "li", T0 + timedelta(minutes=30))
    assert (ended.expired_by, ended.expired_at) == ("li", T0 + timedelta(minutes=30))
    assert ended.ends_at == s.ends_at  # the planned end stays on record
    assert Silence.model_validate_json(ended.model_dump_json()) == ended
    kw = {"source": "s", "entity": "X", "item_code": "", "region_code": None}
    assert matching([s], T0 + timedelta(hours=1), **kw) is s
    assert matching([ended], T0 + timedelta(hours=1), **kw) is None
    assert prune([ended], T0 + timedelta(hours=1)) == []
    with pytest.raises(ConfigError, match="already ended by li"):
        expire(ended, "zhao", T0 + timedelta(hours=1))
    with pytest.raises(ConfigError, match="needs who"):
        expire(s, " ", T0)


def test_an_expiry_without_its_actor_is_rejected() -> None:
    with pytest.raises(ValueError, match="who expired it"):
        Silence.model_validate({**BASE, "entity": "X", "expired_at": T0})


def test_silencing_safety_alarms_needs_a_second_persons_approval() -> None:
    base = {
        "silence_id": "s",
        "entity": "E",
        "reason": "维保",
        "creator": "zhang",
        "starts_at": T0,
        "ends_at": T0 + timedelta(hours=1),
        "safety": True,
    }
    with pytest.raises(ValueError, match="second person"):
        Silence.model_validate(base)
    with pytest.raises(ValueError, match="not the creator"):
        Silence.model_validate({**base, "approved_by": "zhang"})
    assert Silence.model_validate({**base, "approved_by": "li"}).approved_by == "li"


def test_an_unknown_source_is_refused_with_a_suggestion() -> None:
    data = {
        "silence_id": "s",
        "source": "equipments",
        "reason": "维保",
        "creator": "zhang",
        "starts_at": T0,
        "ends_at": T0 + timedelta(hours=1),
    }
    with pytest.raises(ConfigError, match="did you mean 'equipment'"):
        create(data, T0, timedelta(days=30))

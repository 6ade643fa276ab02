"""The profile (一企一档) carries the enterprise's latest name and address (issue #17)."""

from __future__ import annotations

import json
from datetime import timedelta

from loop.loop_config import ProfileConfig
from loop.profile import EntityProfile, inspection_kind, record
from loop.subject import subject_of
from schemas.internal import ProfileEvent
from schemas.records import InspectionOutcome, InspectionResult

from .conftest import T0, USCC

CFG = ProfileConfig(half_life_days=30)


def _inspection(n: int, name: str, address: str | None = None) -> InspectionResult:
    return InspectionResult(
        event_id=f"i{n}",
        event_time=T0 + timedelta(days=n),
        uscc=USCC,
        entity_name=name,
        region_code="330106",
        outcome=InspectionOutcome.failed,
        address=address,
    )


def _apply(profile: EntityProfile | None, source: str, event: InspectionResult) -> EntityProfile:
    """What the worker does: the event's subject on the profile event, then the decider."""
    subject = subject_of(source, event)
    assert subject is not None
    sent = ProfileEvent(
        uscc=USCC,
        kind=inspection_kind(event.outcome),
        at=event.event_time,
        ref=event.event_id,
        entity_name=subject.name,
        entity_address=subject.address,
    )
    got = ProfileEvent.model_validate_json(sent.model_dump_json())  # as it travels
    return record(
        profile,
        got.uscc,
        got.kind,
        got.at,
        got.ref,
        config=CFG,
        entity_name=got.entity_name,
        entity_address=got.entity_address,
    )


def test_a_profile_built_from_an_inspection_carries_its_name_and_keeps_the_last() -> None:
    p = _apply(None, "inspections", _inspection(0, " 某某 餐饮店 ", "文三路 1号"))
    assert (p.entity_name, p.entity_address) == ("某某 餐饮店", "文三路 1号")
    assert p.named_at == T0
    p = _apply(p, "inspections", _inspection(2, "某某餐饮店（改名）"))
    assert (p.entity_name, p.entity_address) == ("某某餐饮店（改名）", "文三路 1号")
    late = _apply(p, "inspections", _inspection(1, "旧名"))  # replayed / backfilled
    assert late.entity_name == "某某餐饮店（改名）"
    assert late.named_at == T0 + timedelta(days=2)
    assert EntityProfile.model_validate_json(late.model_dump_json()) == late


def test_name_and_address_are_kept_apart_and_events_without_them_change_nothing() -> None:
    p = record(None, USCC, "complaint", T0, "c1", config=CFG, entity_address="文三路1号")
    assert (p.entity_name, p.entity_address) == (None, "文三路1号")
    p = record(
        p,
        USCC,
        "inspection_fail",
        T0 + timedelta(days=1),
        "i1",
        config=CFG,
        entity_name="某某餐饮店",
    )
    assert (p.entity_name, p.entity_address) == ("某某餐饮店", "文三路1号")
    p = record(p, USCC, "warning_red", T0 + timedelta(days=2), "a1", config=CFG)
    assert (p.entity_name, p.entity_address) == ("某某餐饮店", "文三路1号")
    # a late event fills a field still empty, but does not replace one a newer event gave
    p = record(
        p,
        USCC,
        "complaint",
        T0 - timedelta(days=1),
        "c0",
        config=CFG,
        entity_name="早先的名字",
        entity_address="旧地址",
    )
    assert (p.entity_name, p.entity_address) == ("某某餐饮店", "文三路1号")


def test_a_complaint_naming_the_enterprise_names_the_profile() -> None:
    subject = subject_of(
        "complaints", {"text": "卫生差", "entity_name": "某某餐饮店", "address": "文三路1号"}
    )
    assert subject is not None
    p = record(
        None,
        USCC,
        "complaint",
        T0,
        "c1",
        config=CFG,
        entity_name=subject.name,
        entity_address=subject.address,
    )
    assert (p.entity_name, p.entity_address) == ("某某餐饮店", "文三路1号")


def test_profiles_and_profile_events_stored_before_the_names_still_load() -> None:
    old = {
        "uscc": USCC,
        "region_code": "330106",
        "counts": {"complaint": 1},
        "recent": [{"at": T0.isoformat(), "kind": "complaint", "ref": "c1", "weight": 1.0}],
        "score": 1.0,
        "score_at": T0.isoformat(),
        "risk_class": "A",
    }
    p = EntityProfile.model_validate_json(json.dumps(old))
    assert (p.entity_name, p.entity_address, p.named_at) == (None, None, None)
    p = record(
        p,
        USCC,
        "inspection_fail",
        T0 + timedelta(days=1),
        "i1",
        config=CFG,
        entity_name="某某餐饮店",
    )
    assert p.entity_name == "某某餐饮店"
    assert p.counts == {"complaint": 1, "inspection": 1}
    event = ProfileEvent.model_validate_json(
        json.dumps({"uscc": USCC, "kind": "complaint", "at": T0.isoformat(), "ref": "c1"})
    )
    assert (event.entity_name, event.entity_address) == (None, None)

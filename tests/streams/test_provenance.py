"""Warnings from geo detections record the fence set that produced them (name, version,
content hash), as rule-pack warnings record their pack: ARCHITECTURE.md, "Every alert records
the pack, rule, model and fence versions that produced it"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from geo.detection import Detection, detection_id
from loop.warnings import fold
from streams.scoring import detection_hits

if TYPE_CHECKING:
    from streams.app import RiskLoopApp


async def test_a_muck_truck_warning_names_its_fence_set(app: RiskLoopApp) -> None:
    rt = app.worker.runtime
    fences = next(iter(rt.fence_sets.values()))
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    det = Detection(
        event_id=detection_id("沪A12345", "banned_zone", "z1", at),
        event_time=at,
        plate="沪A12345",
        kind="banned_zone",
        fence_id="z1",
        fence_kind="banned_zone",
        lat=31.2,
        lon=121.4,
        company_uscc="91330106MA27XXXX0X",
    )
    hits = detection_hits(rt, fences, det, {})
    assert hits, "the shipped trucks pack has a banned_zone rule"
    state, alerts = fold(None, hits[0], at, rt.loop)
    (alert,) = alerts
    by_kind = {r.kind: r for r in alert.reasons}
    assert by_kind["rule"].pack == hits[0].pack
    assert by_kind["rule"].version
    fence = by_kind["fence"]
    assert (fence.id, fence.version, fence.content_hash) == (
        fences.name,
        fences.version,
        fences.content_hash,
    )
    assert fence.content_hash

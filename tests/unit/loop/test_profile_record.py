"""``loop.profile.record`` returns a new profile and leaves the one it was given as it was
(the store keeps the old value to undo a failed event): it copies only what it changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loop.loop_config import ProfileConfig
from loop.profile import record


def test_record_leaves_the_given_profile_untouched() -> None:
    cfg = ProfileConfig()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    before = None
    for i in range(cfg.max_recent + 5):
        before = record(before, "U1", "complaint", t0 + timedelta(hours=i), f"r{i}", config=cfg)
    assert before is not None
    frozen = before.model_dump()
    after = record(
        before,
        "U1",
        "warning_red",
        t0 + timedelta(days=30),
        "w1",
        config=cfg,
        entity_name="甲公司",
        region_code="330106",
    )
    assert before.model_dump() == frozen
    assert after.counts == {**frozen["counts"], "warning": 1}
    assert after.recent[-1].ref == "w1"
    assert len(after.recent) == cfg.max_recent
    assert after.entity_name == "甲公司"
    assert before.entity_name is None

"""The worker keeps each truck's geo state as the VehicleState object between fixes and encodes
it only at a checkpoint (streams/scoring.py): a state restored from the changelog (a dict)
and one kept as the object must decide exactly the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from config.settings import Settings
from geo.vehicle import VehicleState
from schemas.ingest import IngestLimits, decode_source
from schemas.sample_stream import generate
from streams.checkpoint import decode, encode
from streams.runtime import build_runtime
from streams.scoring import score


def test_kept_objects_and_restored_dicts_decide_the_same() -> None:
    settings = Settings(_env_file=None, models_enabled=False)
    rt = build_runtime(settings)
    limits, now = IngestLimits.from_settings(settings), datetime.now(UTC)
    fixes = [
        decode_source(
            "trucks", json.dumps(e.event, ensure_ascii=False).encode(), limits=limits, now=now
        )
        for e in generate(1500, seed=7)
        if e.source == "trucks"
    ]
    assert len(fixes) > 100
    half = len(fixes) // 2
    kept: dict[str, Any] = {}
    rules: dict[str, Any] = {}
    for fix in fixes[:half]:
        score(rt, "trucks", fix, rules, kept)
    assert kept
    assert all(isinstance(v, VehicleState) for v in kept.values())
    restored = {k: decode(encode(v) or b"null") for k, v in kept.items()}  # a new owner
    rules_restored = {k: decode(encode(v) or b"null") for k, v in rules.items()}
    found_kept, found_restored = [], []
    for fix in fixes[half:]:
        found_kept.append(score(rt, "trucks", fix, rules, kept).detections)
        found_restored.append(score(rt, "trucks", fix, rules_restored, restored).detections)
    assert found_kept == found_restored
    assert any(found_kept)
    assert {k: VehicleState.from_dict(v) for k, v in restored.items()} == kept

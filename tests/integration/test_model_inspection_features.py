"""The inspection-risk model's new features come from the streams a worker sees (issue #18,
Done-when), on the real broker with a real worker.

Complaints with a place (no USCC) arrive on complaints.received near a restaurant, then two
inspections of that restaurant on inspections.results. The inspection model is published with a
tiny threshold, so every inspection it scores after its first label raises a model warning whose
reason carries the features it used: the complaints near the premises (counted from the
complaints topic, joined by place), the facility type, risk tier, the inspector and how long
the entity has been known (from its first inspection).

Four partitions, two workers: the complaints are keyed on partitions other than the
restaurant's, so they count only because every partition's inspection model receives every
located food complaint (streams/nearby.py); before that join the count here was 0.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from models.publication import ModelPublication, build
from schemas.sample_stream import generate
from schemas.validation.uscc import make_uscc
from streams.publish import send
from streams.rekey import partition_of
from tests.integration.conftest import (
    collect,
    private_settings,
    produce,
    tail_consumer,
    two_workers,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from config.settings import Settings

MODEL = "inspection-risk"
LAT, LON = 30.2741, 120.1551


def _complaints(
    run: str, at: datetime, away_from: int, partitions: int
) -> list[tuple[bytes, bytes]]:
    """Three food complaints a few hundred metres from the restaurant, one far away, one about
    a lift next door (not a kind the model counts): each keyed on a partition other than
    ``away_from`` (the restaurant's)."""
    base = next(e.event for e in generate(200, seed=5) if e.source == "complaints")
    places = [(LAT + 0.001, LON), (LAT, LON - 0.002), (LAT + 0.008, LON + 0.004), (31.0, 121.0)]
    kinds = ["食品安全"] * len(places) + ["特种设备"]
    places.append((LAT, LON))
    keys = (f"cmp-{run}-{i}" for i in range(1000))
    out = []
    for n, ((lat, lon), kind) in enumerate(zip(places, kinds, strict=True)):
        event_id = next(k for k in keys if partition_of(k, partitions) != away_from)
        event = {
            **base,
            "event_id": event_id,
            "uscc": None,
            "entity_name": None,
            "address": None,
            "subject": None,
            "category": kind,
            "text": "餐馆后巷垃圾堆积，老鼠很多" if kind == "食品安全" else "电梯门反复开关",
            "lat": lat,
            "lon": lon,
            "event_time": (at + timedelta(minutes=n)).isoformat(),
        }
        out.append((event_id.encode(), json.dumps(event, ensure_ascii=False).encode()))
    return out


def _inspection(run: str, uscc: str, n: int, at: datetime) -> tuple[bytes, bytes]:
    body = {
        "event_id": f"insp-{run}-{n}",
        "event_time": at.isoformat(),
        "uscc": uscc,
        "entity_name": "杭州测试餐饮店",
        "region_code": "330106",
        "item_code": "FOOD-INSP-01",
        "outcome": "pass",
        "critical_count": 0,
        "risk_tier": 1,
        "facility_type": "Restaurant",
        "inspector_id": "insp-blue",
        "lat": LAT,
        "lon": LON,
    }
    return uscc.encode(), json.dumps(body, ensure_ascii=False).encode()


def test_inspection_model_counts_complaints_nearby_taken_in_on_other_partitions(
    tmp_path: Path, broker: str, worker: Callable[..., Any]
) -> None:
    with private_settings(tmp_path, partitions=4) as s:
        _run_features(s, tmp_path, worker)


def _until_committed(s: Settings, topic: str, count: int, timeout: float = 120) -> None:
    """Until the workers have committed ``count`` records of ``topic`` (over its partitions):
    handled and in a checkpoint, on whichever worker owns each partition."""
    parts = [TopicPartition(topic, p) for p in range(s.topics.partitions)]
    probe = Consumer({"bootstrap.servers": s.bootstrap_servers, "group.id": s.app_id})
    deadline = time.monotonic() + timeout
    seen = 0
    try:
        while time.monotonic() < deadline:
            seen = sum(max(tp.offset, 0) for tp in probe.committed(parts, timeout=10))
            if seen >= count:
                return
            time.sleep(0.5)
    finally:
        probe.close()
    raise AssertionError(f"the workers committed {seen} of {count} records of {topic}")


def _run_features(s: Settings, tmp_path: Path, worker: Callable[..., Any]) -> None:
    run = uuid.uuid4().hex[:8]
    uscc = make_uscc(f"insp-{run}", "330106")
    home = partition_of(uscc, s.topics.partitions)
    pub = ModelPublication(
        name=MODEL,
        factory=MODEL,
        version=f"features-{run}",
        published_by="test",
        params={"min_labels": 1, "threshold": 0.0001},
    )
    build(pub)
    send(s, s.topics.models, MODEL, pub.model_dump_json().encode())
    watch = tail_consumer(s.bootstrap_servers, [s.topics.alerts])
    two_workers(worker, s, tmp_path)

    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)
    produce(s.bootstrap_servers, s.topics.inspections, [_inspection(run, uscc, 1, t0)])
    complaints = _complaints(run, t0 + timedelta(days=10), home, s.topics.partitions)
    produce(s.bootstrap_servers, s.topics.complaints, complaints)
    second_id = f"insp-{run}-2"

    def reason(msgs: list[tuple[str, dict[str, Any]]]) -> dict[str, str] | None:
        for _, v in msgs:
            for r in v.get("reasons", []):
                if (
                    r["kind"] == "model"
                    and r["id"] == MODEL
                    and v.get("correlation_id") == second_id
                ):
                    return dict(r["values"])
        return None

    # The copies must be counted before the second inspection: the workers read the topics in
    # no order between them, so wait until every copy is handled and checkpointed (four
    # located food complaints, one copy per partition each; the lift's makes none).
    _until_committed(s, s.topics.complaints, len(complaints))
    _until_committed(s, s.topics.nearby, 4 * s.topics.partitions)
    produce(
        s.bootstrap_servers,
        s.topics.inspections,
        [_inspection(run, uscc, 2, t0 + timedelta(days=30))],
    )
    msgs = collect(watch, lambda m: reason(m) is not None, timeout=90)
    watch.close()
    values = reason(msgs)
    assert values is not None, "the inspection model raised no warning on the second inspection"
    # three complaints within one 0.01° cell around the premises, all taken in on other
    # partitions; neither the far one nor the lift's counted
    assert float(values["log_nearby_complaints"]) == pytest.approx(math.log1p(3))
    assert float(values["years_known"]) == pytest.approx(30 / 365, rel=1e-3)
    assert values["facility=Restaurant"] == "1.0"
    assert values["risk_tier=1"] == "1.0"
    assert values["inspector=insp-blue"] == "1.0"
    assert "rate:inspector" in values


pytestmark = pytest.mark.timeout(300)

"""The inspection-risk model's new features come from the streams a worker sees (issue #18,
Done-when), on the real broker with a real worker.

Complaints with a place (no USCC) arrive on complaints.received near a restaurant, then two
inspections of that restaurant on inspections.results. The inspection model is published with a
tiny threshold, so every inspection it scores after its first label raises a model warning whose
reason carries the features it used: the complaints near the premises (counted from the
complaints topic, joined by place), the facility type, risk tier, the inspector and how long
the entity has been known (from its first inspection).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests

from models.publication import ModelPublication, build
from schemas.sample_stream import generate
from schemas.validation.uscc import make_uscc
from streams.publish import send
from tests.integration.conftest import collect, private_settings, produce, tail_consumer

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from config.settings import Settings

MODEL = "inspection-risk"
LAT, LON = 30.2741, 120.1551


def _complaints(run: str, at: datetime) -> list[tuple[bytes, bytes]]:
    """Three complaints a few hundred metres from the restaurant, one far away."""
    base = next(e.event for e in generate(200, seed=5) if e.source == "complaints")
    places = [(LAT + 0.001, LON), (LAT, LON - 0.002), (LAT + 0.008, LON + 0.004), (31.0, 121.0)]
    out = []
    for n, (lat, lon) in enumerate(places):
        event = {
            **base,
            "event_id": f"cmp-{run}-{n}",
            "uscc": None,
            "entity_name": None,
            "address": None,
            "subject": None,
            "text": "餐馆后巷垃圾堆积，老鼠很多",
            "lat": lat,
            "lon": lon,
            "event_time": (at + timedelta(minutes=n)).isoformat(),
        }
        out.append((event["event_id"].encode(), json.dumps(event, ensure_ascii=False).encode()))
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


def test_inspection_model_uses_complaints_nearby_from_the_stream(
    tmp_path: Path, broker: str, worker: Callable[..., Any]
) -> None:
    # One partition: a model is partition state (streams/model_state.py), so the inspection
    # model counts only the complaints its own partition took in. With several partitions a
    # complaint keyed elsewhere is not counted: the known gap in models/EVALUATION.md.
    with private_settings(tmp_path, partitions=1) as s:
        _run_features(s, worker)


def _until_accepted(s: Settings, source: str, count: int, timeout: float = 120) -> None:
    """Until the worker's /metrics counts ``count`` records of ``source`` accepted (plus a
    moment: the models learn from a record right after it is counted)."""
    line = f'riskloop_events_accepted_total{{source="{source}"}}'
    deadline = time.monotonic() + timeout
    seen = 0.0
    while time.monotonic() < deadline:
        try:
            text = requests.get(f"http://127.0.0.1:{s.web_port}/metrics", timeout=5).text
        except requests.ConnectionError:  # still starting
            text = ""
        seen = sum(float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith(line))
        if seen >= count:
            time.sleep(1)
            return
        time.sleep(0.5)
    raise AssertionError(f"the worker accepted {seen:.0f} of {count} {source} records")


def _run_features(s: Settings, worker: Callable[..., Any]) -> None:
    run = uuid.uuid4().hex[:8]
    uscc = make_uscc(f"insp-{run}", "330106")
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
    worker(s)

    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)
    produce(s.bootstrap_servers, s.topics.inspections, [_inspection(run, uscc, 1, t0)])
    produce(s.bootstrap_servers, s.topics.complaints, _complaints(run, t0 + timedelta(days=10)))
    second = f"insp-{run}-2"

    def reason(msgs: list[tuple[str, dict[str, Any]]]) -> dict[str, str] | None:
        for _, v in msgs:
            for r in v.get("reasons", []):
                if r["kind"] == "model" and r["id"] == MODEL and v.get("correlation_id") == second:
                    return dict(r["values"])
        return None

    # The complaints must be in before the second inspection: the worker reads both topics,
    # in no order between them, so wait until it has taken in all four (a fixed sleep was
    # short on a loaded machine: the model had counted one of the three).
    _until_accepted(s, "complaints", 4)
    produce(
        s.bootstrap_servers,
        s.topics.inspections,
        [_inspection(run, uscc, 2, t0 + timedelta(days=30))],
    )
    msgs = collect(watch, lambda m: reason(m) is not None, timeout=90)
    watch.close()
    values = reason(msgs)
    assert values is not None, "the inspection model raised no warning on the second inspection"
    # three complaints within one 0.01° cell around the premises, the far one not counted
    assert float(values["log_nearby_complaints"]) == pytest.approx(math.log1p(3))
    assert float(values["years_known"]) == pytest.approx(30 / 365, rel=1e-3)
    assert values["facility=Restaurant"] == "1.0"
    assert values["risk_tier=1"] == "1.0"
    assert values["inspector=insp-blue"] == "1.0"
    assert "rate:inspector" in values


pytestmark = pytest.mark.timeout(180)

"""A warm model survives a crash (issue "Online models", item 3, Done-when; issue #16 item 4).

A SKAB pump run (pressure vessel readings, anomaly in its last quarter) streams through a real
worker. The detector alerts inside the anomaly; the worker is SIGKILLed mid-anomaly once a
checkpoint holds its model with the offsets of everything produced so far (the model is
partition state, streams/model_state.py), restarted with the same settings, and the rest
streamed: it keeps alerting inside the anomaly. That proves the warm-up survived — after the
restart the unit has fewer readings left than the 400 a fresh model learns before it may alert,
and a warning needs a warmed-up score. It runs with checkpoints every 100 events and by time
only (``commit_every`` 10,000): once the latter made ~280 redone readings be learnt twice.

The false-alarm half of the Done-when (a 不属实 disposition lowers the next score of the same
pattern) is covered in tests/unit/models/test_worker_models.py on ``WorkerModels.learn_label``.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import TYPE_CHECKING, Any

import pytest

from config.settings import PROJECT_ROOT, Settings
from models.snapshot import read_header
from schemas.mapping import load_mapping
from streams.replay import Outgoing, iter_replay
from tests.integration.conftest import collect, produce, tail_consumer, wait_model_snapshot

if TYPE_CHECKING:
    from collections.abc import Callable

SKAB = PROJECT_ROOT.parent / "shared" / "data" / "equipment" / "skab" / "other-01.csv"
MODEL = "equipment-anomaly"
ANOMALY_FROM_LINE = 559  # first row labelled anomaly=1 (file line: header is line 1)
KILL_AFTER = 620  # rows streamed before the crash: inside the anomaly, after the first alerts


def _rows() -> list[Outgoing]:
    return list(iter_replay(SKAB, "equipment", load_mapping("skab")))


def _wait_checkpoint(s: Settings, key: bytes, covering: int, timeout: float = 60) -> dict[str, int]:
    """Offsets of the model in the key's partition's changelog, once they cover ``covering``
    readings (the checkpoint's marker commits them with the partition's offsets)."""

    def readings(offsets: dict[str, int]) -> dict[str, int]:
        # (the partition's other inputs, e.g. ticks, are in the offsets too)
        return {k: v for k, v in offsets.items() if k.startswith(s.topics.equipment)}

    blob = wait_model_snapshot(
        s, key.decode(), MODEL, lambda offsets: sum(readings(offsets).values()) >= covering, timeout
    )
    return readings(read_header(blob)[0].offsets)


def _model_alerts(msgs: list[tuple[str, dict]], event_ids: set[str]) -> list[dict]:
    """Warning changes caused by a model score on one of ``event_ids``."""
    return [
        v
        for _, v in msgs
        if v.get("correlation_id") in event_ids
        and any(r["kind"] == "model" and r["id"] == MODEL for r in v.get("reasons", []))
    ]


def _sql_model_alerts(s: Settings, event_ids: set[str], timeout: float) -> list[dict]:
    """The model's warnings whose latest change in SQL came from one of ``event_ids`` (every
    change of a warning is upserted there), once there is one or ``timeout`` passed."""
    import sqlalchemy as sa

    from sinks import sql_tables

    engine = sa.create_engine(s.sql_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect() as conn:
                    bodies = [r.body for r in conn.execute(sa.select(sql_tables.alerts.c.body))]
            except sa.exc.OperationalError:  # the sink creates the table on its first write
                bodies = []
            found = _model_alerts(
                [("", b if isinstance(b, dict) else json.loads(b)) for b in bodies], event_ids
            )
            if found or time.monotonic() > deadline:
                return found
            time.sleep(1)
    finally:
        engine.dispose()


def _event_id(o: Outgoing) -> str:
    return str(json.loads(o.value)["event_id"])


def _line(event_id: str) -> int:
    return int(event_id.rsplit("-", 1)[1])


@pytest.mark.parametrize("commit_every", [100, 10_000])
def test_warm_model_survives_sigkill(
    live_settings: Settings,
    worker: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    commit_every: int,
) -> None:
    # Faust reads this from the environment: the killed member leaves the group in 6 s, not 60.
    monkeypatch.setenv("BROKER_SESSION_TIMEOUT", "6")
    s = live_settings.with_overrides(commit_every=commit_every)
    rows = _rows()
    before, after = rows[:KILL_AFTER], rows[KILL_AFTER:]
    ids_before = {_event_id(o) for o in before}
    ids_after = {_event_id(o) for o in after}

    alerts = tail_consumer(s.bootstrap_servers, [s.topics.alerts])
    first = worker(s)
    produce(s.bootstrap_servers, s.topics.equipment, [(o.key, o.value) for o in before])
    offsets = _wait_checkpoint(s, before[0].key or b"", covering=len(before))
    msgs = collect(alerts, lambda m: bool(_model_alerts(m, ids_before)), timeout=30)
    alerted = _model_alerts(msgs, ids_before)
    assert alerted, "the detector raised no warning inside the anomaly before the crash"
    assert all(_line(a["correlation_id"]) >= ANOMALY_FROM_LINE for a in alerted)

    os.kill(first.pid, signal.SIGKILL)  # a crash: no shutdown snapshot, no offset commit
    first.wait(timeout=10)
    assert sum(offsets.values()) == len(before)

    worker(s)  # same settings: same consumer group, same SQL store
    produce(s.bootstrap_servers, s.topics.equipment, [(o.key, o.value) for o in after])
    alerts.close()
    # the warning raised before the crash goes on: its further occurrences are in SQL (the
    # alerts topic re-sends a warning only when notified or when its state or level moves)
    resumed = _sql_model_alerts(s, ids_after, timeout=60)
    assert resumed, "after the restart the model alerted on nothing: warm-up was lost"
    assert all(_line(a["correlation_id"]) >= ANOMALY_FROM_LINE for a in resumed)
    assert len(after) < 400  # fewer than a fresh model's warm-up: only a restored one can alert

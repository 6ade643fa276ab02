"""What the worker says about each warning change (streams/warning_stage.py, ``observe_warnings``):
every change counted; new and escalated ones logged at info; routine ones logged at debug —
and, when the level drops debug, not made at all (the same lines, for less CPU)."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from config.settings import Settings
from schemas.records import Alert
from streams import logs
from streams.metrics import Metrics
from streams.warning_stage import observe_warnings

if TYPE_CHECKING:
    from collections.abc import Iterator

T = datetime(2026, 6, 1, tzinfo=UTC)


def _alert(alert_id: str, state: str) -> Alert:
    return Alert(
        alert_id=alert_id,
        fingerprint="F",
        state=state,
        level="yellow",
        source="equipment",
        entity="E",
        item_code="I",
        title="t",
        first_seen=T,
        last_seen=T,
        region_code="330106",
    )


@pytest.fixture
def configure() -> Iterator[Any]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    def at(level: str) -> io.StringIO:
        out = io.StringIO()
        settings = Settings(_env_file=None, log_format="json", log_level=level)  # type: ignore[call-arg]
        logs.configure(settings, stream=out)
        return out

    yield at
    root.handlers[:], level = saved
    root.setLevel(level)


@pytest.mark.parametrize(("level", "logged"), [("INFO", ["A1"]), ("DEBUG", ["A1", "A2"])])
def test_each_change_is_counted_and_logged_at_its_level(
    configure: Any, level: str, logged: list[str]
) -> None:
    out = configure(level)
    metrics = Metrics()
    worker = SimpleNamespace(runtime=SimpleNamespace(metrics=metrics))
    observe_warnings(worker, [_alert("A1", "new"), _alert("A2", "updated")])  # type: ignore[arg-type]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(x["event"], x["alert_id"]) for x in lines] == [("warning", a) for a in logged]
    assert [x["level"] for x in lines] == ["info", "debug"][: len(logged)]
    assert {x["warning_level"] for x in lines} == {"yellow"}  # the warning's, beside the line's
    for state in ("new", "updated"):
        assert (
            metrics.registry.get_sample_value(
                "riskloop_warnings_total",
                {"level": "yellow", "source": "equipment", "state": state, "region": "3301"},
            )
            == 1.0
        )

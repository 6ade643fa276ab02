"""JSON log lines keep an exception's traceback as text, and a Kafka client repeating itself
during a broker outage writes one line per distinct message per interval, with a count."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING

import pytest

from config.settings import Settings
from streams import logs

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """Logging configured as a worker does (JSON), into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()
    logs.configure(Settings(_env_file=None, log_format="json"), stream=out)  # type: ignore[call-arg]
    yield out
    root.handlers[:], level = saved
    root.setLevel(level)


def written(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def fail() -> None:
    raise ZeroDivisionError("calendar says no")


def test_our_exceptions_keep_their_traceback_text(lines: io.StringIO) -> None:
    try:
        fail()
    except ZeroDivisionError:
        logs.get_logger("streams.test").exception("agent crashed", agent="tasks")
    (line,) = written(lines)
    assert line["agent"] == "tasks"
    assert "Traceback (most recent call last)" in line["exception"]
    assert 'raise ZeroDivisionError("calendar says no")' in line["exception"]
    assert "<traceback object" not in lines.getvalue()


def test_library_exceptions_keep_their_traceback_text(lines: io.StringIO) -> None:
    """Faust and mode log through the standard library (``self.log.exception(...)``)."""
    try:
        fail()
    except ZeroDivisionError:
        logging.getLogger("mode.services").exception("Crashed reason=%r", "x")
    (line,) = written(lines)
    assert line["event"] == "Crashed reason='x'"
    assert "ZeroDivisionError: calendar says no" in line["exception"]
    assert "in fail" in line["exception"]
    assert "<traceback object" not in lines.getvalue()


def test_a_broker_outage_writes_each_message_once(lines: io.StringIO) -> None:
    kafka = logging.getLogger("aiokafka.conn")
    for _ in range(1000):
        kafka.error("Unable connect to node with id 1: Connect call failed")
        kafka.error("Unable to update metadata from [1]")
    logs.get_logger("streams.test").error("our own line")
    logs.get_logger("streams.test").error("our own line")
    events = [line["event"] for line in written(lines)]
    assert events == [
        "Unable connect to node with id 1: Connect call failed",
        "Unable to update metadata from [1]",
        "our own line",
        "our own line",
    ]


def record(name: str, msg: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


def test_the_next_line_after_the_interval_counts_what_was_held_back() -> None:
    now = [0.0]
    f = logs.RepeatFilter(interval=60.0, clock=lambda: now[0])
    assert f.filter(record("aiokafka", "down"))
    passed = []
    for second in range(1, 60):
        now[0] = float(second)
        passed.append(f.filter(record("aiokafka", "down")))
    assert not any(passed)
    now[0] = 60.0
    again = record("aiokafka", "down")
    assert f.filter(again)
    assert again.suppressed == 59  # type: ignore[attr-defined]
    now[0] = 121.0
    quiet_then = record("aiokafka", "down")
    assert f.filter(quiet_then)
    assert not hasattr(quiet_then, "suppressed")  # nothing was held back this time


def test_distinct_messages_levels_and_other_loggers_are_not_limited() -> None:
    f = logs.RepeatFilter(interval=60.0, clock=lambda: 0.0)
    assert f.filter(record("aiokafka.consumer", "node 1 down"))
    assert f.filter(record("aiokafka.consumer", "node 2 down"))
    assert f.filter(record("aiokafka.consumer", "node 1 down", logging.WARNING))
    assert [f.filter(record("streams.pipeline", "same")) for _ in range(3)] == [True] * 3
    assert [f.filter(record("kafkaesque", "same")) for _ in range(2)] == [True] * 2


def test_the_count_reaches_the_json_line(lines: io.StringIO) -> None:
    handler = logging.getLogger().handlers[0]
    (limiter,) = [f for f in handler.filters if isinstance(f, logs.RepeatFilter)]
    now = [0.0]
    limiter.clock = lambda: now[0]
    kafka = logging.getLogger("aiokafka")
    for _ in range(5):
        kafka.error("Unable to request metadata")
    now[0] = 61.0
    kafka.error("Unable to request metadata")
    assert [line.get("suppressed") for line in written(lines)] == [None, 4]


def test_personal_numbers_are_masked_in_every_line(lines: io.StringIO) -> None:
    """Fields, the message, a stdlib logger's line and an exception's text: all masked."""
    logs.get_logger("streams.test").warning(
        "rejected 13812345678", text="身份证110101199003071234", nested={"tel": "0571-87654321"}
    )
    logging.getLogger("mode.services").error("call %s", "+86 139 1234 5678")
    try:
        raise ValueError("bad card 4111111111111111")
    except ValueError:
        logs.get_logger("streams.test").exception("failed")
    out = lines.getvalue()
    for number in ("13812345678", "199003071234", "87654321", "1234 5678", "111111111111"):
        assert number not in out
    first, second, third = written(lines)
    assert first["event"] == "rejected 138****5678"
    assert first["nested"] == {"tel": "0571-****4321"}
    assert second["event"] == "call +86 139 **** 5678"
    assert "bad card 411111******1111" in third["exception"]

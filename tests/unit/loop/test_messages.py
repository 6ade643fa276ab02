"""``loop.messages``: a record only a sink keeps is dumped to JSON only when asked (the sinks
take the record); every other message carries its JSON from the start. Either way a message
reads, compares and hashes as the same JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from loop.messages import Message, output
from schemas.records import Alert

T = datetime(2026, 6, 1, tzinfo=UTC)
ALERT = Alert(
    alert_id="A",
    fingerprint="F",
    state="new",
    level="red",
    source="complaints",
    entity="E",
    item_code="I",
    title="投诉 13812345678",
    first_seen=T,
    last_seen=T,
)


def test_a_sink_only_record_is_dumped_when_first_asked() -> None:
    m = output("", "F", ALERT, sink="alert")
    assert m.text is None
    assert m.record is ALERT
    assert m.value == ALERT.model_dump_json()
    assert m.text == ALERT.model_dump_json()  # kept: asked twice, dumped once


def test_a_topic_message_carries_its_json_at_once() -> None:
    for m in (output("alerts", "F", ALERT), output("alerts", "F", ALERT, sink="alert")):
        assert m.text == ALERT.model_dump_json()
    assert output("ticks", "", "tick", partition=1).text == "tick"


def test_lazy_and_eager_messages_are_equal_and_hash_alike() -> None:
    lazy = output("", "F", ALERT, sink="alert")
    eager = Message("", "F", ALERT.model_dump_json(), "alert", ALERT)
    assert lazy == eager
    assert eager == lazy
    assert lazy != output("", "G", ALERT, sink="alert")
    plain = output("ticks", "", "tick", partition=1)
    assert hash(plain) == hash(Message("ticks", "", "tick", "", None, 1))

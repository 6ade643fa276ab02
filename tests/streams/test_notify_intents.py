"""Notification intents leave the partition with the records that caused them (issue #19).

Through the real complaints agent: a red warning's intent reaches the sinks in the same batch
as the warning itself (one outbox append at the checkpoint, so it is queued exactly when the
warning is stored, before the event's offset is committed); the next record of the same warning queues nothing
new; with no notify_config nothing is queued at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench.memory_curve import checkpoint_writes
from loop.notify.config import parse_config
from schemas.notification import NotificationIntent
from schemas.records import Alert
from tests.streams.test_skeleton import encode

if TYPE_CHECKING:
    from streams.app import RiskLoopApp
    from tests.streams.conftest import Sent

USCC = "91330105MA2B00001G"


class Recorder:
    """The sinks as the agents see them: every ``add`` call's batch, kept."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    async def add(self, records: Any) -> None:
        self.batches.append(list(records))

    async def drain(self, timeout: float) -> bool:
        return True


def complaint(n: int) -> dict[str, Any]:
    return {
        "event_id": f"cmp-intent-{n}",
        "event_time": datetime.now(UTC).isoformat(),
        "channel": "12315",
        "text": "就餐后呕吐、腹泻，怀疑食物中毒",
        "subject": "食品安全投诉",
        "category": "食品安全",
        "urgency": "urgent",
        "uscc": USCC,
        "region_code": "330105",
    }


async def complain(app: RiskLoopApp, *numbers: int) -> None:
    """Complaints, each followed by a checkpoint: the sinks get each one's copies there, in one
    batch. One test context: a second one would start again at offset 0, which the partition
    has absorbed (a redelivery, skipped)."""
    checkpoint_writes(app)  # no broker: the changelog records are dropped
    async with app.agents["complaints"].test_context() as agent:
        for n in numbers:
            await agent.put(encode(complaint(n)), key=USCC.encode())
            await app.worker.checkpoint.commit()


def enable(app: RiskLoopApp) -> Recorder:
    app.worker.runtime.notify = parse_config(
        "receivers: [{name: hook, kind: webhook, url: 'http://127.0.0.1:1/h', secret: k}]\n"
        "route: {receiver: hook, group_wait: 5s}\n",
        {"k": "v"},
    )
    recorder = Recorder()
    app.worker.sinks = recorder
    return recorder


async def test_a_red_warnings_intent_is_stored_in_the_same_batch_as_the_warning(
    app: RiskLoopApp, sent: Sent
) -> None:
    recorder = enable(app)
    await complain(app, 1, 2)  # the second: the same warning again, an update, not news
    with_alert = [b for b in recorder.batches if any(isinstance(r, Alert) for r in b)]
    assert len(with_alert) == 2
    intents = [r for r in with_alert[0] if isinstance(r, NotificationIntent)]
    (intent,) = intents
    alert = next(r for r in with_alert[0] if isinstance(r, Alert))
    assert (intent.subject_id, intent.step, intent.receiver) == (alert.alert_id, "red", "hook")
    assert intent.department  # the task routing's department, resolved in the partition
    assert (intent.due_at - intent.created_at).total_seconds() == 5.0

    later = [r for r in with_alert[1] if isinstance(r, NotificationIntent)]
    assert all(i.intent_id == intent.intent_id for i in later)


async def test_without_a_notify_config_nothing_is_queued(app: RiskLoopApp, sent: Sent) -> None:
    recorder = Recorder()
    app.worker.sinks = recorder
    assert app.worker.runtime.notify is None
    await complain(app, 1)
    assert any(isinstance(r, Alert) for b in recorder.batches for r in b)
    assert not any(isinstance(r, NotificationIntent) for b in recorder.batches for r in b)

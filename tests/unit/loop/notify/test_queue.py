"""The notification queue on a real SQLite store (sinks/notify/queue.py, sinks/sql.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from sinks.migrate import migrate
from sinks.notify.queue import NotificationQueue, Outcome
from sinks.sql import SqlStore, make_engine
from tests.unit.loop.notify.factories import T, intent
from tests.unit.sinks.factories import make_task

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    migrate(url)
    return SqlStore(make_engine(url))


def test_a_replayed_intent_is_queued_once_and_never_reset_after_sending(store: SqlStore) -> None:
    q = NotificationQueue(store, "w1")
    store.write([intent(1), intent(1)])
    store.write([intent(1)])
    claimed = q.claim(T)
    assert [p.intent_id for p in claimed.pending] == ["ntf-1"]
    q.record(Outcome(("ntf-1",), None), T)
    store.write([intent(1)])  # the same decision replayed after a restart
    assert q.claim(T + timedelta(hours=1)).pending == []
    assert q.backlog() == {}
    trail = q.attempts("a-1")
    assert [(a["attempt"], a["outcome"]) for a in trail] == [(1, "sent")]


def test_nothing_is_claimed_before_its_group_wait(store: SqlStore) -> None:
    q = NotificationQueue(store, "w1")
    store.write([intent(1, wait=30)])
    assert q.claim(T).pending == []
    assert [p.intent_id for p in q.claim(T + timedelta(seconds=30)).pending] == ["ntf-1"]


def test_a_leased_row_is_not_claimed_by_a_second_worker(store: SqlStore) -> None:
    store.write([intent(1), intent(2)])
    first = NotificationQueue(store, "w1").claim(T)
    second = NotificationQueue(store, "w2").claim(T)
    assert len(first.pending) == 2
    assert second.pending == []


def test_failures_are_audited_retried_at_their_time_and_counted_in_the_backlog(
    store: SqlStore,
) -> None:
    q = NotificationQueue(store, "w1")
    store.write([intent(1, receiver="hook")])
    for attempt in range(3):
        now = T + timedelta(seconds=10 * attempt)
        (p,) = q.claim(now).pending
        assert p.attempts == attempt
        q.record(Outcome(("ntf-1",), "HTTP 503: down", now + timedelta(seconds=5)), now)
        assert q.claim(now + timedelta(seconds=4)).pending == []  # backing off
    assert q.backlog() == {"hook": 1}
    (p,) = q.claim(T + timedelta(seconds=30)).pending
    q.record(Outcome(("ntf-1",), None), T + timedelta(seconds=30))
    trail = [(a["attempt"], a["outcome"], a["detail"]) for a in q.attempts("a-1")]
    assert trail == [
        (1, "failed", "HTTP 503: down"),
        (2, "failed", "HTTP 503: down"),
        (3, "failed", "HTTP 503: down"),
        (4, "sent", "delivered"),
    ]
    assert q.backlog() == {}
    claimed = q.claim(T + timedelta(hours=1))
    assert claimed.pending == []


def test_the_last_send_of_a_group_is_known_for_group_interval(store: SqlStore) -> None:
    q = NotificationQueue(store, "w1")
    store.write([intent(1)])
    q.claim(T)
    q.record(Outcome(("ntf-1",), None), T)
    store.write([intent(2)])
    claimed = q.claim(T + timedelta(seconds=60))
    assert claimed.last_sent == {("r", "0|"): T}
    assert claimed.intents["ntf-2"] == intent(2)


def test_a_tasks_story_lists_its_own_and_its_warnings_notifications(store: SqlStore) -> None:
    task = make_task(1)  # opened from warning fp-1.1
    warned = intent(1).model_copy(update={"intent_id": "ntf-w", "subject_id": task.alert_id})
    escalated = intent(2).model_copy(
        update={"intent_id": "ntf-t", "subject_id": task.task_id, "step": "sign:supervision"}
    )
    other = intent(3)
    store.write([task, warned, escalated, other])
    q = NotificationQueue(store, "w1")
    q.claim(T)
    for iid in ("ntf-w", "ntf-t", "ntf-3"):
        q.record(Outcome((iid,), None), T)
    story = store.task_with_audit(task.task_id)
    assert story is not None
    assert [(n.intent_id, n.step, n.outcome) for n in story.notifications] == [
        ("ntf-w", "red", "sent"),
        ("ntf-t", "sign:supervision", "sent"),
    ]


def test_the_operators_list_shows_what_waits_for_whom_and_why(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``riskloop notifications list``: the queue as an operator reads it after an outage."""
    q = NotificationQueue(store, "w1")
    store.write([intent(1, receiver="hook"), intent(2, receiver="hook"), intent(3, receiver="sms")])
    q.claim(T)
    q.record(Outcome(("ntf-1",), "HTTP 503 from hook", T + timedelta(seconds=30)), T)
    q.record(Outcome(("ntf-3",), None), T)
    pending = q.listed(status="pending")
    assert {r["intent_id"] for r in pending} == {"ntf-1", "ntf-2"}
    failed = next(r for r in pending if r["intent_id"] == "ntf-1")
    assert (failed["attempts"], failed["last_error"]) == (1, "HTTP 503 from hook")
    assert [r["intent_id"] for r in q.listed(receiver="sms")] == ["ntf-3"]
    assert len(q.listed(limit=2)) == 2

    from typer.testing import CliRunner

    from streams.cli import app

    monkeypatch.setenv("RISKLOOP_SQL_URL", f"sqlite:///{tmp_path / 'q.db'}")
    shown = CliRunner().invoke(app, ["notifications", "list", "--status", "pending", "--json"])
    assert shown.exit_code == 0, shown.output
    rows = [json.loads(line) for line in shown.output.splitlines()]
    assert {r["intent_id"] for r in rows} == {"ntf-1", "ntf-2"}
    table = CliRunner().invoke(app, ["notifications", "list"])
    assert table.exit_code == 0, table.output
    assert "pending per receiver: hook 2" in table.output
    assert "HTTP 503 from hook" in table.output


def test_an_operator_brings_failed_notifications_forward_and_it_is_audited(
    store: SqlStore,
) -> None:
    """``retry_now``: a failed notification backing off for an hour is due again at once,
    with an audit row naming who asked; one never tried and one already sent are left alone."""
    q = NotificationQueue(store, "w1")
    store.write([intent(1, receiver="hook"), intent(2, receiver="hook"), intent(3, receiver="sms")])
    store.write([intent(4, receiver="hook", wait=600)])  # waits for its group, never tried
    q.claim(T)
    q.record(Outcome(("ntf-1", "ntf-2"), "HTTP 503 from hook", T + timedelta(hours=1)), T)
    q.record(Outcome(("ntf-3",), None), T)
    later = T + timedelta(minutes=5)
    assert q.claim(later).pending == []  # backing off

    assert q.retry_now(later, "张运维", receiver="hook") == ["ntf-1", "ntf-2"]
    assert q.retry_now(later, "张运维", intent_ids=["ntf-3", "ntf-4", "nope"]) == []
    assert q.retry_now(later, "张运维") == []  # nothing named, nothing moved
    assert sorted(p.intent_id for p in q.claim(later).pending) == ["ntf-1", "ntf-2"]
    trail = [(a["attempt"], a["outcome"], a["detail"]) for a in q.attempts("a-1")]
    assert trail == [
        (1, "failed", "HTTP 503 from hook"),
        (1, "requeued", "send now, asked by 张运维 (next attempt was 2026-12-02 03:00:00)"),
    ]
    assert [a["outcome"] for a in q.attempts("a-3")] == ["sent"]
    assert q.attempts("a-4") == []


def test_retry_on_the_command_line_says_what_it_moved(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``riskloop notifications retry``: the ids it brought forward, exit 1 with the reason
    when nothing named has failed, and a usage error when nothing is named."""
    from typer.testing import CliRunner

    from streams.cli import app

    q = NotificationQueue(store, "w1")
    store.write([intent(1, receiver="hook"), intent(2, receiver="sms")])
    q.claim(T)
    tomorrow = datetime.now(UTC) + timedelta(days=1)  # the CLI asks for now by the wall clock
    q.record(Outcome(("ntf-1",), "HTTP 503 from hook", tomorrow), T)
    monkeypatch.setenv("RISKLOOP_SQL_URL", f"sqlite:///{tmp_path / 'q.db'}")
    cli = CliRunner()
    moved = cli.invoke(app, ["notifications", "retry", "ntf-1", "ntf-2", "--by", "ops-li"])
    assert moved.exit_code == 0, moved.output
    assert "1 notification(s) due now: ntf-1" in moved.output
    assert "not retried (never tried, already sent or unknown): ntf-2" in moved.output
    (row,) = [r for r in q.listed(status="pending") if r["intent_id"] == "ntf-1"]
    assert row["next_attempt_at"].replace(tzinfo=UTC) < tomorrow - timedelta(hours=23)
    assert q.attempts("a-1")[-1]["detail"].startswith("send now, asked by ops-li")
    none = cli.invoke(app, ["notifications", "retry", "--receiver", "sms"])
    assert none.exit_code == 1
    assert "no failed notification waits" in none.output
    assert "Traceback" not in none.output
    bare = cli.invoke(app, ["notifications", "retry"])
    assert bare.exit_code == 2
    assert "name notification ids or a --receiver" in bare.output

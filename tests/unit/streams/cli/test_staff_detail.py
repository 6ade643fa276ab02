"""`riskloop alerts show`, `riskloop tasks list` and `GET /api/warnings/{id}` say who, where and
what: the enterprise's name and address, the masked complaint, the evidence events themselves
(time, source, values that fired) and the warning's history (issue #17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from loop import ids
from schemas.records import (
    Alert,
    AlertChange,
    AlertState,
    EvidenceRecord,
    Level,
    Reason,
    Task,
    TaskState,
)
from sinks.migrate import migrate
from sinks.sql import SqlStore, make_engine
from streams.api.detail import warning_detail
from streams.cli import app
from streams.cli.common import console

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

T0 = datetime(2026, 5, 6, 1, 0, tzinfo=UTC)
NAME, ADDRESS = "杭州老杭帮餐饮有限公司", "杭州市拱墅区文三路531号"
TEXT = "食品安全投诉：就餐后呕吐，请回电138****7612"


def _store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'rl.db'}"
    migrate(url)
    alert = Alert(
        alert_id="fp-1.1",
        fingerprint="fp-1",
        state=AlertState.escalated,
        level=Level.red,
        source="complaints",
        entity="91330105TM3Y1WWJAN",
        item_code="YJ-TS-002",
        title="疑似食物中毒",
        uscc="91330105TM3Y1WWJAN",
        first_seen=T0,
        last_seen=T0,
        evidence=["cmp-1"],
        reasons=[Reason(kind="rule", id="complaints.food_poisoning", version="1")],
        entity_name=NAME,
        entity_address=ADDRESS,
        complaint_text=TEXT,
        evidence_records=[
            EvidenceRecord(
                event_id="cmp-1",
                event_time=T0,
                source="complaints",
                reason="rule:complaints.food_poisoning",
                values={"event.category": "食品安全"},
            )
        ],
        history=[
            AlertChange(at=T0, state=AlertState.new, level=Level.orange),
            AlertChange(
                at=T0 + timedelta(minutes=5),
                state=AlertState.escalated,
                level=Level.red,
                changes=["level orange→red (a higher-level hit)"],
            ),
        ],
    )
    task = Task(
        task_id=ids.task_id("fp-1.1"),
        alert_id="fp-1.1",
        fingerprint="fp-1",
        department="hz_market",
        state=TaskState.dispatched,
        level=Level.red,
        title="疑似食物中毒",
        entity=alert.entity,
        item_code="YJ-TS-002",
        created_at=T0,
        sign_deadline=T0 + timedelta(hours=1),
        dispose_deadline=T0 + timedelta(hours=24),
        entity_name=NAME,
        entity_address=ADDRESS,
        complaint_text=TEXT,
    )
    store = SqlStore(make_engine(url))
    store.write([alert, task])
    store.close()
    return url


def test_alerts_show_and_tasks_list_say_who_where_what(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _store(tmp_path)
    monkeypatch.setenv("RISKLOOP_SQL_URL", url)
    monkeypatch.setattr(console, "_width", 250)
    shown = CliRunner().invoke(app, ["alerts", "show", "fp-1.1"])
    assert shown.exit_code == 0, shown.output
    assert f"{NAME}（{ADDRESS}）" in shown.output
    assert f"complaint: {TEXT}" in shown.output
    assert "2026-05-06 09:00+08:00" in shown.output
    assert "event.category=食品安全" in shown.output
    assert "rule:complaints.food_poisoning" in shown.output
    assert "escalated red: level orange→red" in shown.output
    assert f"task {ids.task_id('fp-1.1')} → hz_market" in shown.output
    listed = CliRunner().invoke(app, ["tasks", "list"])
    assert listed.exit_code == 0, listed.output
    assert NAME in listed.output
    assert ADDRESS in listed.output


def test_the_api_detail_carries_the_evidence_records(tmp_path: Path) -> None:
    store = SqlStore(make_engine(_store(tmp_path)))
    try:
        body = warning_detail(store, "fp-1.1")
    finally:
        store.close()
    assert body is not None
    warning = body["warning"]
    assert (warning["entity_name"], warning["entity_address"]) == (NAME, ADDRESS)
    assert warning["complaint_text"] == TEXT
    (record,) = warning["evidence_records"]
    assert record["event_time"] == "2026-05-06T09:00:00+08:00"
    assert record["values"] == {"event.category": "食品安全"}
    assert [h["state"] for h in warning["history"]] == ["new", "escalated"]
    assert body["task"]["task"]["complaint_text"] == TEXT

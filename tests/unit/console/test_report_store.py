"""The report read from a real SQL store (SQLite, migrated like the worker's), through the
same door as the console page and ``riskloop report``: queries, scope and the CLI's PDF."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from console.reports.generate import generate, period_of
from console.reports.scope import EVERYTHING, Scope
from schemas.records import AlertState, Level, Reason, TaskState
from sinks.migrate import migrate
from sinks.sql import SqlStore, make_engine
from tests.pdf_text import page_count, texts
from tests.unit.sinks.factories import T0, make_alert, make_event, make_task

if TYPE_CHECKING:
    from pathlib import Path

DAY = "2024-06-03"  # T0 is 09:00 Beijing on this Monday


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    store = SqlStore(make_engine(url))
    rule = Reason(kind="rule", id="r1", version="1", pack="inspections")
    model = Reason(kind="model", id="inspection-risk", version="v2", score=0.93)
    store.write(
        [
            make_alert(
                1,
                level=Level.red,
                uscc="U1",
                entity_name="甲公司",
                reasons=[rule, model],
                state=AlertState.false_alarm,
            ),
            make_alert(2, region_code="330102", shadow=True),  # a shadow rule's: never reported
            make_alert(3, first_seen=T0 - timedelta(days=1)),  # the day before
            make_task(1, alert_id="fp-1.1", department="xihu_market", state=TaskState.disposed),
            make_task(
                2,
                alert_id="fp-3.1",
                department="hz_transport",
                dispose_deadline=T0 + timedelta(hours=2),
            ),
            make_event("task-1", 0, to_state=TaskState.dispatched),
            make_event("task-1", 90, to_state=TaskState.signed, from_state=TaskState.dispatched),
            make_event(
                "task-1",
                180,
                to_state=TaskState.disposed,
                from_state=TaskState.signed,
                reason="false_alarm",
            ),
            make_event("task-2", 0, to_state=TaskState.dispatched, department="hz_transport"),
        ]
    )
    store.close()
    return url


def test_the_store_gives_the_days_report(url: str) -> None:
    engine = make_engine(url)
    r = generate(engine, period_of("daily", DAY), EVERYTHING, now=T0 + timedelta(days=2))
    assert r.warnings_total == 1  # fp-2 is shadow, fp-3 the day before
    assert (r.tasks.opened, r.tasks.disposed, r.tasks.overdue) == (2, 1, 1)
    stats = {d.department: d for d in r.departments}
    assert stats["xihu_market"].avg_hours_to_sign == pytest.approx(1.5)
    assert stats["xihu_market"].avg_hours_to_dispose == pytest.approx(3.0)
    assert stats["hz_transport"].overdue_open == 1
    assert [(p.name, p.false_alarm) for p in r.precision] == [("inspections/r1", 1)]
    assert [(p.name, p.false_alarm, p.precision) for p in r.model_precision] == [
        ("inspection-risk@v2", 1, 0.0)
    ]
    # the shipped outlines name Zhejiang's cities, not its counties: the city and the code
    assert r.by_region[0].label == "杭州市 330106"


def test_a_department_scope_counts_only_its_own_tasks_and_regions(url: str) -> None:
    engine = make_engine(url)
    mine = Scope(department="hz_transport", regions=("330102",))
    r = generate(engine, period_of("daily", DAY), mine, now=T0 + timedelta(days=2))
    assert [d.department for d in r.departments] == ["hz_transport"]
    assert r.warnings_total == 0
    assert r.precision == ()


def test_riskloop_report_daily_writes_the_pdf(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streams.cli import app

    monkeypatch.setenv("RISKLOOP_SQL_URL", url)
    out = tmp_path / "d.pdf"
    result = CliRunner().invoke(app, ["report", "daily", "--date", DAY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert page_count(data) >= 1
    assert "风险研判日报 2024-06-03" in texts(data)
    week = CliRunner().invoke(
        app, ["report", "weekly", "--week", "2024-W23", "--out", str(tmp_path / "w.pdf")]
    )
    assert week.exit_code == 0
    assert "风险研判周报 2024-W23" in texts((tmp_path / "w.pdf").read_bytes())


def test_a_bad_date_is_one_line_not_a_traceback(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.cli import main

    monkeypatch.setenv("RISKLOOP_SQL_URL", url)
    with pytest.raises(SystemExit) as exit_:
        main(["report", "daily", "--date", "3 June"])
    assert exit_.value.code == 1

"""`riskloop tasks show` and `riskloop sample`: people's commands over the loop's stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from loop.profile import EntityProfile
from schemas.records import Level, Task, TaskEvent, TaskState
from schemas.validation.uscc import make_uscc
from sinks.migrate import migrate
from sinks.sql import SqlStore, make_engine
from streams.cli import app
from streams.cli.common import console

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

T0 = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)


def test_tasks_show_prints_the_full_story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'rl.db'}"
    migrate(url)
    task = Task(
        task_id="task-1",
        alert_id="fp-1.1",
        fingerprint="fp-1",
        department="hz_market",
        state=TaskState.signed,
        level=Level.orange,
        title="检查不合格且存在严重违法项",
        entity="E1",
        item_code="YJ-1",
        created_at=T0,
        sign_deadline=T0 + timedelta(hours=4),
        dispose_deadline=T0 + timedelta(hours=24),
    )
    events = [
        TaskEvent(
            event_id=f"ev-{i}",
            task_id="task-1",
            at=T0 + timedelta(minutes=i),
            actor=a,
            from_state=f,
            to_state=t,
            reason=r,
            department="hz_market",
        )
        for i, (a, f, t, r) in enumerate(
            [
                ("riskloop", None, TaskState.created, "warning fp-1.1"),
                ("riskloop", TaskState.created, TaskState.dispatched, "routed to hz_market"),
                ("张科长", TaskState.dispatched, TaskState.signed, None),
            ]
        )
    ]
    store = SqlStore(make_engine(url))
    store.write([task, *events])
    store.close()
    monkeypatch.setenv("RISKLOOP_SQL_URL", url)
    monkeypatch.setattr(console, "_width", 200)  # no wrapping inside table cells
    result = CliRunner().invoke(app, ["tasks", "show", "task-1"])
    assert result.exit_code == 0, result.output
    table = result.output.split("why", 1)[1]  # the audit table, after its header
    assert "张科长" in table
    assert "routed to hz_market" in table
    assert table.index("created") < table.index("dispatched") < table.index("│ signed")


def test_sample_is_reproducible_and_explained(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.jsonl"
    rows = []
    for i in range(40):
        score = 30.0 if i % 10 == 0 else 1.0
        p = EntityProfile(
            uscc=make_uscc(f"s{i}", "330106"), region_code="330106", score=score, score_at=T0
        )
        rows.append(p.model_dump_json())
    profiles.write_text("\n".join(rows), encoding="utf-8")
    runner = CliRunner()
    args = ["sample", "--n", "5", "--profiles", str(profiles), "--at", T0.isoformat()]
    first = runner.invoke(app, [*args, "--seed", "7"])
    again = runner.invoke(app, [*args, "--seed", "7"])
    other = runner.invoke(app, [*args, "--seed", "8"])
    assert first.exit_code == 0, first.output
    assert first.output == again.output
    assert first.output != other.output
    assert f"5 of 40 enterprises drawn (seed 7, at {T0.isoformat()})" in first.output
    later = runner.invoke(app, [*args[:-1], (T0 + timedelta(days=400)).isoformat(), "--seed", "7"])
    assert "30.00" in first.output  # at T0 the scores are as stored
    assert later.exit_code == 0
    assert "30.00" not in later.output


def test_sample_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "profiles.jsonl"
    bad.write_text('{"uscc": "x"}\nnot json\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["sample", "--profiles", str(bad)])
    assert result.exit_code != 0


def test_sample_names_the_enterprises_it_draws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "profiles.jsonl"
    named = EntityProfile(
        uscc=make_uscc("n1", "330106"),
        region_code="330106",
        score=5.0,
        score_at=T0,
        entity_name="某某餐饮店",
        entity_address="文三路1号",
    )
    unnamed = EntityProfile(uscc=make_uscc("n2", "330106"), region_code="330106", score_at=T0)
    profiles.write_text(f"{named.model_dump_json()}\n{unnamed.model_dump_json()}", "utf-8")
    monkeypatch.setattr(console, "_width", 250)  # no wrapping inside table cells
    result = CliRunner().invoke(app, ["sample", "--n", "2", "--profiles", str(profiles)])
    assert result.exit_code == 0, result.output
    assert "某某餐饮店（文三路1号）" in result.output
    assert "2 of 2 enterprises drawn" in result.output


def test_sample_shows_the_inspection_models_risk_and_can_leave_it_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "profiles.jsonl"
    rows = [
        EntityProfile(uscc=make_uscc(f"m{i}", "330106"), score_at=T0, model_risk=risk)
        for i, risk in enumerate([0.6, 0.2, None])
    ]
    profiles.write_text("\n".join(p.model_dump_json() for p in rows), encoding="utf-8")
    monkeypatch.setattr(console, "_width", 400)  # no wrapping inside table cells
    args = ["sample", "--n", "3", "--profiles", str(profiles), "--at", T0.isoformat()]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "60.0%" in result.output  # the model column
    assert "×1.5 for the inspection model" in result.output  # 0.6 against the mean 0.4
    classes = CliRunner().invoke(app, [*args, "--no-model"])
    assert classes.exit_code == 0, classes.output
    assert "inspection model" not in classes.output
    assert "classes only" in classes.output

"""The pure parts of the reliability suite: comparison, the table, the poisoned input."""

from __future__ import annotations

import json

import pytest

from bench.chaos import Outcome, Snapshot, compare, markdown_table, verdict
from bench.scenarios import SCENARIOS, select
from bench.scenarios.poison import dead_lettered, garbage, poisoned
from bench.stats import BenchError
from config.settings import TopicSettings

REF = Snapshot(
    frozenset({("t1", "hz_market", "dispatched"), ("t2", "hz_env", "dispatched")}),
    frozenset({("t1", "e1", "", "created"), ("t2", "e2", "", "created")}),
)


def test_equal_runs_lose_and_duplicate_nothing() -> None:
    assert compare(REF, REF) == (0, 0)
    outcome = verdict("x", 10, REF, REF, 1.0)
    assert outcome.passed
    assert outcome.checked == 4


def test_missing_and_extra_rows_are_counted() -> None:
    run = Snapshot(
        frozenset({("t1", "hz_market", "dispatched"), ("t3", "hz_market", "dispatched")}),
        REF.audit | {("t1", "e9", "created", "dispatched")},
    )
    assert compare(REF, run) == (1, 2)
    assert not verdict("x", 10, REF, run, 1.0).passed


def test_a_changed_state_is_one_lost_and_one_extra() -> None:
    run = Snapshot(
        frozenset({("t1", "hz_market", "signed"), ("t2", "hz_env", "dispatched")}), REF.audit
    )
    assert compare(REF, run) == (1, 1)


def test_an_empty_reference_never_passes() -> None:
    empty = Snapshot(frozenset(), frozenset())
    assert not verdict("x", 10, empty, empty, None).passed


def test_markdown_table_has_one_row_per_scenario() -> None:
    text = markdown_table(
        [Outcome("a", 1000, 10, 0, 0, None, True), Outcome("b", 5, 10, 2, 1, 3.0, False, "why")]
    )
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[2] == "| a | 1,000 | 10 | 0 | 0 | — | pass |  |"
    assert lines[3] == "| b | 5 | 10 | 2 | 1 | 3.0 s | FAIL | why |"


def test_poisoned_input_is_ten_percent_unique_garbage() -> None:
    good = [("trucks", f"k{i}", b"{}") for i in range(90)]
    mixed, bad = poisoned(good)
    assert len(bad) == 10
    assert len(mixed) == 100
    assert len(set(bad)) == 10
    assert [v for _, _, v in mixed if v != b"{}"] == bad


@pytest.mark.parametrize("i", range(5))
def test_every_kind_of_garbage_is_not_a_valid_event(i: int) -> None:
    raw = garbage(i, "inspections")
    try:
        body = json.loads(raw)
    except ValueError:
        return
    assert not isinstance(body, dict) or "uscc" not in body or not isinstance(body["uscc"], str)


def test_dead_lettered_payloads_are_opened_and_counted() -> None:
    from datetime import UTC, datetime

    from config.settings import Settings
    from schemas.ingest import dead_letter
    from streams.deadletters import sealer_of

    s = Settings(_env_file=None, deadletter_key="k")  # type: ignore[call-arg]
    rec = (
        dead_letter(
            ValueError("x"),
            source="s",
            topic="t",
            key=None,
            payload=b"\xff\xfe x",
            now=datetime.now(UTC),
            sealer=sealer_of(s),
        )
        .model_dump_json()
        .encode()
    )
    assert b"\xff\xfe x" not in rec
    assert dead_lettered(s, [("dl", rec), ("dl", rec)]) == {b"\xff\xfe x": 2}


def test_private_topics_carry_the_run_marker() -> None:
    t = TopicSettings.for_run("zz")
    assert t.alerts == "alerts-zz"
    assert t.task_prefix == "tasks-zz."
    assert all(v.endswith("-zz") for v in t.sources().values())


def test_select_scenarios() -> None:
    assert select(None) == list(SCENARIOS)
    assert select(["poison", "sigkill"]) == ["sigkill", "poison"]
    with pytest.raises(BenchError, match="unknown scenario"):
        select(["nope"])

"""The hotload scenario's pure parts: what it feeds the worker, what its probe rule fires on,
and how its verdict reads (``bench/scenarios/hotload.py``)."""

from __future__ import annotations

import contextlib
import doctest
import json
from typing import TYPE_CHECKING, Any

from bench.chaos import Context, Reference, Snapshot, verdict
from bench.scenarios import hotload
from bench.scenarios.hotload import PACK, probe_ids, with_probes
from config.settings import Settings
from rules.compiler import load_pack_text
from rules.engine import RuleEngine
from rules.testing import failures, run_examples

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import pytest

    from bench.chaos import Item

IDS = {"name": "chaos-probe-t", "rule": "chaost.probe", "item": "PROBE-t"}
REF = Snapshot(frozenset({("t1", "d", "dispatched")}), frozenset({("t1", "e1", "", "created")}))


def _context(tmp_path: Path, events: int = 120) -> Context:
    ctx = Context(Settings(_env_file=None), tmp_path, events, say=lambda _: None)  # type: ignore[call-arg]
    ctx._reference = Reference(REF, 1.0)
    return ctx


class _Producer:
    def __init__(self, sent: list[Item]) -> None:
        self.sent = sent

    def produce(self, topic: str, *, key: bytes, value: bytes) -> None:
        self.sent.append((topic, key.decode(), value))

    def poll(self, _: float) -> None:
        return None

    def flush(self, _: float) -> int:
        return 0


def _fake_services(monkeypatch: pytest.MonkeyPatch, ctx: Context, sent: list[Item]) -> None:
    """Everything but the scenario's own logic: no broker, database or worker."""

    class _Space:
        settings = ctx.base

        def start_worker(self) -> None:
            return None

    @contextlib.contextmanager
    def _database(_: Any) -> Iterator[str]:
        yield "sqlite://"

    @contextlib.contextmanager
    def _space(*_: Any, **__: Any) -> Iterator[_Space]:
        yield _Space()

    monkeypatch.setattr(hotload, "database", _database)
    monkeypatch.setattr(hotload, "space", _space)
    monkeypatch.setattr(hotload, "make_producer", lambda _: _Producer(sent))
    monkeypatch.setattr(hotload, "_publish", lambda *_: None)
    monkeypatch.setattr(hotload, "_wait_version", lambda *_: None)
    monkeypatch.setattr(hotload, "_accepted", lambda *_: 1)
    monkeypatch.setattr(hotload, "wait_caught_up", lambda _: 0.0)
    monkeypatch.setattr(hotload, "wait_sql", lambda _url, want: want)
    monkeypatch.setattr(
        hotload, "scored_versions", lambda *_: {e: ["1.0.0"] for e in probe_ids(ctx.items())}
    )


def test_the_run_reads_exactly_the_reference_input(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Extra events would teach their partition's online models what the reference's never
    learnt (at 1,500 events: a model warmed up, alerted, and opened a task the reference does
    not have), so the run writes the reference's items, in their order, and nothing else."""
    ctx = _context(tmp_path)
    sent: list[Item] = []
    _fake_services(monkeypatch, ctx, sent)
    outcome = hotload.publish_every_second(ctx, seconds=0.0)
    topics = ctx.base.topics
    assert sent == [(getattr(topics, s), k, v) for s, k, v in ctx.items()]
    assert outcome.passed, outcome.note
    assert outcome.checked == REF.rows + len(probe_ids(ctx.items()))


def test_the_probe_rule_fires_once_on_every_inspection_of_the_load(tmp_path: Path) -> None:
    pack = load_pack_text(PACK.format(version="1.0.0", **IDS))
    assert failures(run_examples(pack)) == []
    engine = RuleEngine([pack])
    load = _context(tmp_path, 240).items()
    state: dict[str, Any] = {}
    hits = [
        hit
        for source, _, value in load
        for hit in engine.evaluate(source, json.loads(value), state)
    ]
    want = probe_ids(load)
    assert len(want) > 20  # the 240-event CI run still has probes enough to span the swaps
    assert sorted(h.event_id for h in hits) == sorted(want)
    assert len({h.group_key for h in hits}) == len(want)  # one warning per inspection
    assert {h.level.value for h in hits} == {"blue"}  # below task_min_level: no task, no case


def test_a_failure_names_the_differing_rows_and_the_probes() -> None:
    run = Snapshot(REF.tasks | {("t2", "d", "dispatched")}, REF.audit)
    outcome = with_probes(
        verdict("hotload", 10, REF, run, 2.0),
        {"p1": ["1.0.0"], "p2": ["1.0.0", "1.0.1"]},
        ["p1", "p2", "p3"],
        4,
        4,
    )
    assert (outcome.lost, outcome.duplicated, outcome.checked) == (1, 2, REF.rows + 3)
    assert not outcome.passed
    assert "extra ('t2', 'd', 'dispatched')" in outcome.note
    assert "1 probes unscored, 1 scored twice" in outcome.note


def test_a_pass_says_how_many_versions_and_probes() -> None:
    outcome = with_probes(verdict("hotload", 10, REF, REF, 2.0), {"p1": ["1.0.0"]}, ["p1"], 3, 3)
    assert outcome.passed
    assert outcome.note == "3 versions published, 3 acknowledged; 1 probes scored once each"


def test_doctests() -> None:
    assert doctest.testmod(hotload).failed == 0

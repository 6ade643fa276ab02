"""Issue #17's Done-when for staff, on the 1,500-event generated sample (``schemas.sample_stream``,
seed 7) through the real agents (Faust's test context; re-keyed events fed to the ``rekeyed``
agent after the sources, as they arrive later on their own topic):

* what ``riskloop alerts tail`` prints (records with ``notify``) is at most 1.3 lines per
  warning, and every notified ``updated``/``escalated`` line names what changed;
* no warning raised by rules alone is above what its rules allow: a yellow rule never reaches
  red by repetition (it did 9 times, as "terminal offline", before);
* one event raising several warnings on one entity opens one task (one case), not one each.

A streams-level test, not a real worker: the same agent code, deterministic, in seconds. The
worker's clock is the wall clock here, as on a live stack, so the sample (12.5 hours of event
time) is processed within one ``group_interval``.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import yaml

from loop import ids
from loop.loop_config import load_loop_config
from rules.spec import PackSpec
from schemas.records import Level
from schemas.sample_stream import generate
from tests.streams.conftest import Sent, put_rekeyed

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

SOURCES = ("inspections", "complaints", "equipment", "trucks")


def _rule_caps() -> dict[str, tuple[int, int]]:
    """rule id → (its own level's rank, the highest rank repetition may raise it to)."""
    from config.settings import PROJECT_ROOT

    cfg = load_loop_config()
    caps = {}
    for path in sorted((PROJECT_ROOT / "rules" / "packs").glob("*.yaml")):
        for spec in PackSpec.model_validate(yaml.safe_load(path.read_text("utf-8"))).rules:
            cap = (spec.escalate_to or cfg.escalate_to).rank
            caps[spec.id] = (spec.level.rank, max(spec.level.rank, cap))
    return caps


async def _run_sample(app: RiskLoopApp, sent: Sent) -> list[dict[str, Any]]:
    events = generate(1500, seed=7)
    async with AsyncExitStack() as stack:
        agents = {s: await stack.enter_async_context(app.agents[s].test_context()) for s in SOURCES}
        for e in events:
            await agents[e.source].put(json.dumps(e.event).encode(), key=e.key.encode())
    rekeyed = [(k, v) for t, k, v in sent.messages if t == "riskloop.rekeyed"]
    await put_rekeyed(app, rekeyed)
    return [a for a in sent.on("alerts") if not a["shadow"]]


async def test_the_sample_is_quiet_explained_and_bounded(app: RiskLoopApp, sent: Sent) -> None:
    alerts = await _run_sample(app, sent)
    warnings = {a["alert_id"] for a in alerts}
    lines = [a for a in alerts if a["notify"]]
    ratio = len(lines) / len(warnings)
    states: dict[str, int] = {}
    for a in lines:
        states[a["state"]] = states.get(a["state"], 0) + 1
    print(
        f"\nsample: {len(alerts)} alert records, {len(warnings)} warnings, {len(lines)} tail "
        f"lines ({ratio:.2f} per warning) {states}"
    )
    assert len(warnings) > 50, "the sample raised too few warnings to say anything"
    assert len(alerts) > len(lines), "nothing was held back: the test would prove nothing"
    assert ratio <= 1.3
    first = {}
    for i, a in enumerate(alerts):
        first.setdefault(a["alert_id"], i)
    # a warning's first record is its "new" line (born suppressed, it says so); every later
    # line says what changed since the last one
    unexplained = [
        a
        for i, a in enumerate(alerts)
        if a["notify"] and first[a["alert_id"]] != i and not a["changes"]
    ]
    assert unexplained == [], unexplained[:3]
    caps = _rule_caps()
    too_high = []
    escalated_by_repetition = 0
    for a in alerts:
        rules = [r["id"] for r in a["reasons"] if r["kind"] == "rule"]
        if not rules or any(r["kind"] == "model" for r in a["reasons"]):
            continue
        own = max(caps[r][0] for r in rules)
        allowed = max(caps[r][1] for r in rules)
        rank = Level(a["level"]).rank
        escalated_by_repetition += rank > own
        if rank > allowed:
            too_high.append((a["alert_id"], rules, a["level"]))
    assert too_high == []
    yellow_to_red = [
        a
        for a in alerts
        if a["level"] == "red"
        and all(caps[r["id"]][0] <= Level.yellow.rank for r in a["reasons"] if r["kind"] == "rule")
        and any(r["kind"] == "rule" for r in a["reasons"])
    ]
    assert yellow_to_red == []
    assert escalated_by_repetition > 0, "no warning escalated: the bound was never tested"
    # one incident (an entity, the event its warnings are due on), one task: the others join
    # its case (loop.warnings.join_cases); a joiner more urgent than the lead raises that task
    commands = [c["alert"] for c in sent.on("riskloop.task-commands")]
    opening = [c for c in commands if not c["case_task_id"]]
    incidents = [(c["entity"], c["correlation_id"]) for c in opening]
    joined = {a["alert_id"]: a["case_task_id"] for a in alerts if a["case_task_id"]}
    print(
        f"{len(opening)} tasks opened, {len(joined)} warnings joined another's case, "
        f"{len(commands) - len(opening)} raised a case's task"
    )
    assert len(incidents) == len(set(incidents))
    assert joined, "no incident raised two warnings: the case rule was never tested"
    assert set(joined.values()) <= {ids.task_id(c["alert_id"]) for c in opening}
    assert not set(joined) & {c["alert_id"] for c in opening}

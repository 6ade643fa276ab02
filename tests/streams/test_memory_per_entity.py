"""Memory per entity (issue #16: peak RSS < 500 MiB with 100,000 distinct entities): through the
real agents on the bench's generated stream with a new entity in every event
(``schemas.sample_stream.generate(entities=…)``, seed 7), the partition store's values are
counted in bytes (``sys.getsizeof`` over the objects they hold: deterministic, no clock). With
a small ``RISKLOOP_MEMORY__HOT_BYTES`` the values beyond it are held as their changelog bytes
(streams/hot.py), and every decision is the same as with all of them decoded."""

from __future__ import annotations

import gc
import json
import sys
import types
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import faust.topics  # noqa: F401 (loaded for the `sent` fixture, which patches it)

from config.settings import MemorySettings, Settings
from schemas.sample_stream import generate
from streams.app import RiskLoopApp, build_app
from streams.state import EVICTABLE, Store
from tests.streams.test_redelivery import _capture

if TYPE_CHECKING:
    from tests.streams.conftest import Sent

SOURCES = ("inspections", "complaints", "equipment", "trucks")
ENTITIES = 800
EVERY = 200  # events per checkpoint
HOT_BYTES = 32 * 1024
BOUND = 1_500
"""Bytes the evictable tables hold per entity with HOT_BYTES (measured 2026-12-03: 1,125 against
5,161 with every value decoded; a regression that keeps values decoded fails here)."""


def _app(settings: Settings, hot_bytes: int) -> RiskLoopApp:
    app = build_app(settings.model_copy(update={"memory": MemorySettings(hot_bytes=hot_bytes)}))
    app.finalize()
    app.conf.store = "memory://"
    app.flow_control.resume()
    app.worker.checkpoint.start_empty(settings.topics.partitions)
    _capture(app)
    return app


async def _run(app: RiskLoopApp) -> None:
    events = generate(ENTITIES, seed=7, entities=ENTITIES, start=datetime(2026, 11, 2, tzinfo=UTC))
    async with AsyncExitStack() as stack:
        agents = {s: await stack.enter_async_context(app.agents[s].test_context()) for s in SOURCES}
        for i, e in enumerate(events, 1):
            await agents[e.source].put(json.dumps(e.event).encode(), key=e.key.encode())
            if i % EVERY == 0:
                await app.worker.checkpoint.commit()


def held_bytes(store: Store) -> int:
    """Bytes of every object the evictable tables reach (keys, values, the dicts)."""
    seen: set[int] = set()
    stack: list[Any] = [
        values
        for state in store.partitions.values()
        for name, values in state.tables.items()
        if name in EVICTABLE
    ]
    size = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType | types.FunctionType):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return size


def _decisions(sent: Sent) -> list[tuple[str, Any]]:
    """What the agents sent, without the times a record takes from the wall clock."""
    out: list[tuple[str, Any]] = []
    for topic, key, value in sent.messages:
        record = json.loads(value) if value else None
        if topic == "alerts" and record is not None:
            record = (record["alert_id"], record["state"], record["level"], record["occurrences"])
        elif isinstance(record, dict):
            record = sorted(record)
        out.append((topic, (key, record)))
    return out


async def test_values_beyond_the_budget_are_bytes_and_decide_the_same(
    settings: Settings, sent: Sent
) -> None:
    whole = _app(settings, hot_bytes=sys.maxsize)
    await _run(whole)
    decided = _decisions(sent)
    sent.messages.clear()
    bounded = _app(settings, hot_bytes=HOT_BYTES)
    await _run(bounded)
    assert _decisions(sent) == decided  # every alert, task command, profile event: the same
    alerts = sum(topic == "alerts" for topic, _ in decided)
    print(f"\n{len(decided)} messages, {alerts} alert records, the same both ways")
    assert alerts > 20, "the stream raised too few warnings to say anything"

    store = bounded.worker.store
    assert bounded.worker.checkpoint.cooled > ENTITIES  # values did go cold
    assert store.hot.weight <= HOT_BYTES
    per_entity, before = held_bytes(store) / ENTITIES, held_bytes(whole.worker.store) / ENTITIES
    print(f"\n{ENTITIES} entities: {before:.0f} → {per_entity:.0f} bytes held per entity")
    assert per_entity < BOUND
    assert per_entity * 4 < before

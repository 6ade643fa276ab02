"""Every value the real agents store (and every record they hand the SQL sink), encoded by the checkpoint's fast path (pydantic-core's
JSON spliced in, streams/packing.py), is byte for byte what the old path (``model_dump`` then
orjson) wrote; the SQL bodies likewise (sinks/sql.py ``_body``): checked on the bench's own generated stream (seed 7), whose warnings, profiles
and vehicles carry datetimes, floats, enums and Chinese text."""

from __future__ import annotations

import json
from collections import Counter
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from bench.memory_curve import checkpoint_writes
from schemas.sample_stream import generate
from sinks.sql import _body, _json
from streams import packing
from tests.streams.conftest import Sent, put_rekeyed
from tests.unit.sinks.test_sql_body import old_body
from tests.unit.streams.test_packing_fragments import old_encode

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

SOURCES = ("inspections", "complaints", "equipment", "trucks")


async def test_stored_values_encode_to_the_old_bytes(app: RiskLoopApp, sent: Sent) -> None:
    async with AsyncExitStack() as stack:
        agents = {s: await stack.enter_async_context(app.agents[s].test_context()) for s in SOURCES}
        for e in generate(600, seed=7):
            await agents[e.source].put(json.dumps(e.event).encode(), key=e.key.encode())
    kinds: Counter[str] = Counter()
    for state in app.worker.store.partitions.values():
        for table, values in state.tables.items():
            for key, value in values.items():
                kinds[table] += 1
                assert packing.encode_sized(value) == packing.Cold(*old_encode(value)), (table, key)
    assert {"warnings", "profiles", "vehicles", "rule_state"} <= set(kinds), kinds


async def test_sink_bodies_are_the_old_text(app: RiskLoopApp, sent: Sent) -> None:
    handed: list[Any] = []

    class Grab:
        async def add(self, records: list[Any]) -> None:
            handed.extend(records)

        async def drain(self, timeout: float) -> bool:
            return True

    app.worker.sinks = Grab()
    async with AsyncExitStack() as stack:
        agents = {s: await stack.enter_async_context(app.agents[s].test_context()) for s in SOURCES}
        for e in generate(600, seed=7):
            await agents[e.source].put(json.dumps(e.event).encode(), key=e.key.encode())
    await put_rekeyed(app, [(k, v) for t, k, v in sent.messages if t == "riskloop.rekeyed"])
    checkpoint_writes(app)  # no broker: the changelog records are dropped
    await app.worker.checkpoint.commit()  # the sinks get the buffered copies here
    assert len(handed) > 20, "the sample handed the sink too few records to say anything"
    for record in handed:
        assert _json(_body(record)) == old_body(record)

"""Every value the real agents store, encoded by the checkpoint's fast path (pydantic-core's
JSON spliced in, streams/packing.py), is byte for byte what the old path (``model_dump`` then
orjson) wrote: checked on the bench's own generated stream (seed 7), whose warnings, profiles
and vehicles carry datetimes, floats, enums and Chinese text."""

from __future__ import annotations

import json
from collections import Counter
from contextlib import AsyncExitStack

from schemas.sample_stream import generate
from streams import packing
from streams.app import RiskLoopApp
from tests.streams.conftest import Sent
from tests.unit.test_packing_fragments import old_encode

SOURCES = ("inspections", "complaints", "equipment", "trucks")


async def test_stored_values_encode_to_the_old_bytes(app: RiskLoopApp, sent: Sent) -> None:
    async with AsyncExitStack() as stack:
        agents = {s: await stack.enter_async_context(app.agents[s].test_context()) for s in SOURCES}
        for e in generate(600, seed=7):
            await agents[e.source].put(json.dumps(e.event).encode(), key=e.key.encode())
    kinds: Counter[str] = Counter()
    for state in app.riskloop_store.partitions.values():
        for table, values in state.tables.items():
            for key, value in values.items():
                kinds[table] += 1
                assert packing.encode_sized(value) == packing.Cold(*old_encode(value)), (table, key)
    assert {"warnings", "profiles", "vehicles", "rule_state"} <= set(kinds), kinds

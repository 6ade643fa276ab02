"""What a worker's memory holds with many entities, by holder, in process (issue #16).

:mod:`bench.memory_curve` says how much RSS grows; this says what holds it: at each reading of
the same driver, the partition store's values per table and partition (decoded or cold, their
bytes), dedup ids, clocks, due times and task briefs, the hot-value order, the partitions'
models, the ``lru_cache`` s of our modules, the Prometheus samples, and the most numerous
object types. Bytes are ``sys.getsizeof`` walks over what each holder reaches, each object
counted once, for the first holder that reaches it (in the order printed): deterministic, no
tracemalloc overhead; ``--tracemalloc`` adds the top allocation sites (slow: ~2× the CPU and
memory).

    python -m bench.memory_composition 20000 20000 10000 [--tracemalloc]
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import tracemalloc
import types
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import memory_curve
from streams.packing import Cold
from streams.spill import SPILLED

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

_OPAQUE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)


class Walker:
    """``sys.getsizeof`` over everything reachable from a root, each object counted once over
    every root walked by the same walker."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def size(self, *roots: Any) -> int:
        """Bytes of the objects ``roots`` reach that no earlier walk counted."""
        stack = list(roots)
        total = 0
        while stack:
            obj = stack.pop()
            if id(obj) in self.seen or isinstance(obj, _OPAQUE):
                continue
            self.seen.add(id(obj))
            total += sys.getsizeof(obj)
            stack.extend(gc.get_referents(obj))
        return total


def composition(app: RiskLoopApp, entities: int) -> list[tuple[str, int, int]]:
    """(holder, how many, bytes) for the worker of ``app``."""
    worker = app.worker
    store = worker.store
    walk = Walker()
    # the containers every holder points back to are not walked whole: their parts are
    walk.seen.update(map(id, (app, worker, store, worker.runtime, worker.checkpoint)))
    walk.seen.update(map(id, (store.partitions, store._watchers, *store.partitions.values())))
    rows: list[tuple[str, int, int]] = []
    tables: dict[
        str, list[int]
    ] = {}  # name → [decoded, decoded bytes, cold, cold bytes, keys, spilled]
    for _partition, state in sorted(store.partitions.items()):
        for name, values in state.tables.items():
            row = tables.setdefault(name, [0, 0, 0, 0, 0, 0])
            for key, value in values.items():
                if value is SPILLED:
                    row[5] += 1
                elif isinstance(value, Cold):
                    row[2] += 1
                    row[3] += walk.size(value)
                else:
                    row[0] += 1
                    row[1] += walk.size(value)
                row[4] += walk.size(key)
            row[4] += sys.getsizeof(values)
    for name, (dec, dec_b, cold, cold_b, keys_b, spilled) in sorted(tables.items()):
        rows.append((f"table {name}: decoded values", dec, dec_b))
        rows.append((f"table {name}: cold values (bytes in memory)", cold, cold_b))
        rows.append((f"table {name}: cold values on disk (streams/spill.py)", spilled, 0))
        rows.append((f"table {name}: keys and dict", dec + cold + spilled, keys_b))
    rows.append(("store: hot-value order (streams/hot.py)", len(store.hot), walk.size(store.hot)))
    dirty = sum(len(s.dirty) for s in store.partitions.values())
    rows.append(
        ("store: dirty keys", dirty, walk.size(*(s.dirty for s in store.partitions.values())))
    )
    rows.append(("dedup index (streams/dedup.py)", 0, walk.size(worker.dedup)))
    due = worker.due
    rows.append(
        (
            "due times and task briefs (streams/due.py)",
            sum(len(getattr(s, "_known", ())) for s in due.values()),
            walk.size(due),
        )
    )
    models = [s.models for s in store.partitions.values() if s.models is not None]
    rows.append(("partition models (objects)", len(models), walk.size(*models)))
    rows.append(
        (
            "partition models: records, ledgers",
            0,
            walk.size(
                *(
                    (s.model_records, s.model_ledgers, s.model_written)
                    for s in store.partitions.values()
                )
            ),
        )
    )
    rows.append(("checkpoint", 0, walk.size(*vars(worker.checkpoint).values())))
    rows.append(
        (
            "runtime (packs, metrics, clocks, shared models)",
            0,
            walk.size(*vars(worker.runtime).values()),
        )
    )
    rows.extend(_caches(walk))
    rows.append(_prometheus())
    return rows


def _caches(walk: Walker) -> list[tuple[str, int, int]]:
    """Every ``functools`` cache of our modules, with its size."""
    ours = ("streams.", "loop.", "rules.", "models.", "schemas.", "geo.", "config.", "sinks.")
    rows = []
    for name, module in list(sys.modules.items()):
        if not name.startswith(ours) or module is None:
            continue
        for attr, obj in list(vars(module).items()):
            info = getattr(obj, "cache_info", None)
            if callable(info) and getattr(obj, "__module__", None) == name:
                rows.append((f"lru_cache {name}.{attr}", info().currsize, walk.size(obj)))
    return rows


def _prometheus() -> tuple[str, int, int]:
    from prometheus_client import REGISTRY

    samples = sum(len(m.samples) for m in REGISTRY.collect())
    return ("prometheus samples (default registry)", samples, 0)


def types_count(top: int = 25) -> list[tuple[str, int]]:
    """The most numerous object types the collector tracks."""
    return Counter(type(o).__qualname__ for o in gc.get_objects()).most_common(top)


def show(app: RiskLoopApp, reading: memory_curve.Reading, entities: int) -> None:
    """Print the composition at ``reading``."""
    gc.collect()
    print(reading.line(), flush=True)
    n = max(reading.events, 1)
    total = 0
    for holder, count, size in composition(app, entities):
        total += size
        print(f"  {holder:<58} {count:>9,} {size / 1e6:>9.1f} MB {size / n:>8,.0f} B/event")
    print(f"  {'walked in all':<58} {'':>9} {total / 1e6:>9.1f} MB {total / n:>8,.0f} B/event")
    print("  types:", ", ".join(f"{t} {c:,}" for t, c in types_count()), flush=True)
    if tracemalloc.is_tracing():
        snap = tracemalloc.take_snapshot()
        for stat in snap.statistics("lineno")[:30]:
            print(f"    {stat.size / 1e6:8.1f} MB {stat.count:>9,}  {stat.traceback[0]}")


def main(events: int, entities: int, every: int, trace: bool = False) -> None:
    """Run the memory curve's driver, printing the composition at every reading."""
    built: list[RiskLoopApp] = []
    make = memory_curve._app

    def capture(settings: Any, written: list[int]) -> RiskLoopApp:
        app = make(settings, written)
        built.append(app)
        return app

    memory_curve._app = capture
    if trace:
        tracemalloc.start(1)
    with tempfile.TemporaryDirectory(prefix="riskloop-rss-") as tmp:
        settings = memory_curve.default_settings(Path(tmp))

        def report(reading: memory_curve.Reading) -> None:
            if reading.events and built and not reading.note:
                show(built[0], reading, entities)
            else:
                print(reading.line(), flush=True)

        asyncio.run(memory_curve.rss_curve(settings, events, entities, every=every, report=report))


if __name__ == "__main__":
    events, entities, every = (int(a) for a in sys.argv[1:4])
    main(events, entities, every, trace="--tracemalloc" in sys.argv)

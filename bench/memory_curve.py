"""RSS of one worker as distinct entities arrive, in process (issue #16: peak RSS < 500 MiB
with 100,000 distinct entities).

Not the broker bench: the real agents run in Faust's test context (``agent.test_context()``, as
tests/streams/test_memory_per_entity.py does), on the bench's stream made one event at a time
(``schemas.sample_stream.stream``, a new entity in every event when ``entities == events``),
with the default settings (``RISKLOOP_MEMORY__*`` included: the hot-value budget, the malloc
arenas, a ``malloc_trim`` every ``trim_interval`` seconds as ``streams/runner.py`` schedules it)
and a checkpoint commit every ``commit_every`` events. What the agents send and what the
checkpoint writes are counted and dropped: kept, they would be this driver's own leak. RSS
(``VmRSS``) and peak RSS (``VmHWM``) are read from /proc/self/status before the first event and
every ``every`` events; 100,000 events take a few minutes of CPU, which is why no unit test
runs it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tempfile
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic, process_time
from typing import TYPE_CHECKING, Any

from bench.procstat import parse_status_kib
from schemas.sample_stream import stream
from schemas.sources import SOURCE_SPECS
from streams import memory
from streams.app import build_app
from streams.rekey import partition_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from config.settings import Settings
    from streams.app import RiskLoopApp

START = datetime(2026, 11, 2, tzinfo=UTC)
MIB = 1024 * 1024


@dataclass(frozen=True)
class Reading:
    """One point of the curve: after ``events`` events (0: before the first)."""

    events: int
    rss: int
    """bytes resident (``VmRSS``)"""
    peak: int
    """most bytes resident so far (``VmHWM``)"""
    cpu: float
    """process CPU seconds since the first event"""
    sent: int
    """messages the agents sent so far (counted, not kept)"""
    note: str = ""
    written: int = 0
    """bytes the checkpoints wrote to the state changelog so far (keys and values; counted)"""
    models: int = 0
    """of those, the models' records (``~model…``: global snapshots and their heads, unit
    segments, index)"""
    model_records: int = 0
    """how many model records the checkpoints wrote so far (issue #16: their count per event,
    not only their bytes, is the broker's cost)"""

    def line(self) -> str:
        """The reading as one printed line.

        >>> Reading(10_000, 300 * MIB, 310 * MIB, 12.5, 4_000).line()
        '  10,000 events · RSS 300.0 MiB · peak 310.0 MiB · CPU 12.5 s · 4,000 sent'
        """
        written = (
            f" · changelog {self.written / MIB:.1f} MiB ({self.models / MIB:.1f} MiB models in"
            f" {self.model_records:,} records)"
            if self.written
            else ""
        )
        return (
            f"{self.events:8,} events · RSS {self.rss / MIB:.1f} MiB · peak {self.peak / MIB:.1f}"
            f" MiB · CPU {self.cpu:.1f} s · {self.sent:,} sent{written}{self.note}"
        )


def read_rss(status: Path = Path("/proc/self/status")) -> tuple[int, int]:
    """(``VmRSS``, ``VmHWM``) of this process, in bytes."""
    text = status.read_text()
    return parse_status_kib(text, "VmRSS") * 1024, parse_status_kib(text, "VmHWM") * 1024


def per_entity(curve: list[Reading], entities: int) -> float:
    """Bytes of RSS per entity between the base (before the first event) and the last reading.

    >>> per_entity([Reading(0, 100, 100, 0, 0), Reading(10, 1100, 1200, 1, 0)], 10)
    100.0
    """
    return (curve[-1].rss - curve[0].rss) / entities


@contextmanager
def _sends_counted() -> Iterator[list[int]]:
    """Count what the agents send instead of producing it (no broker; nothing kept).

    Patches the worker's producer (``WorkerProducer.send``) for the run, as the test context's
    ``sent`` fixture does.
    """
    from streams.producer import WorkerProducer

    count = [0]
    original = WorkerProducer.send

    async def send(self: Any, *args: Any, **kwargs: Any) -> None:
        count[0] += 1

    WorkerProducer.send = send  # type: ignore[method-assign]
    try:
        yield count
    finally:
        WorkerProducer.send = original  # type: ignore[method-assign]


def checkpoint_writes(
    app: RiskLoopApp, keep: Callable[[int, bytes, bytes | None], None] | None = None
) -> None:
    """Hand what the app's checkpoints write to ``keep`` (partition, key, value) instead of
    producing it (no broker); without ``keep`` it is dropped. tests/streams keep it to restore
    from; this driver drops it, since keeping it would be its own leak."""

    async def send(
        topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> None:
        if keep is not None:
            keep(partition or 0, key or b"", value)  # the changelog's: both always given

    async def flush() -> None:
        return None

    app.worker.checkpoint.send = send
    app.worker.checkpoint.flush = flush


def worker_app(settings: Settings) -> RiskLoopApp:
    """A worker with an in-memory store and an empty changelog to start from (no broker); what
    its checkpoints write goes where :func:`checkpoint_writes` is told."""
    app = build_app(settings)
    app.finalize()
    app.conf.store = "memory://"  # type: ignore[assignment]
    app.flow_control.resume()
    app.worker.checkpoint.start_empty(settings.topics.partitions)
    return app


def _app(settings: Settings, written: list[int]) -> RiskLoopApp:
    """A worker whose checkpoint drops what it writes, adding its bytes to ``written`` (all,
    then the models'; then the model records' count)."""

    def count(partition: int, key: bytes, value: bytes | None) -> None:
        size = len(key) + len(value or b"")
        written[0] += size
        if key.startswith(b"~model"):
            written[1] += size
            written[2] += 1

    app = worker_app(settings)
    checkpoint_writes(app, count)
    return app


async def feed(
    app: RiskLoopApp,
    settings: Settings,
    events: int,
    entities: int | None,
    *,
    commit_every: int = 200,
    seed: int = 7,
    every: int = 0,
    at: Callable[[int], None] = lambda i: None,
) -> int:
    """Put ``events`` generated events through the app's agents, a checkpoint commit every
    ``commit_every`` and a last one at the end; ``at(i)`` before the first event and after
    every ``every`` events. The number of events put."""
    n = settings.topics.partitions
    trimmed = monotonic()
    async with AsyncExitStack() as stack:
        agents = {
            s: await stack.enter_async_context(app.agents[s].test_context()) for s in SOURCE_SPECS
        }
        at(0)
        i = 0
        for i, e in enumerate(stream(events, seed=seed, entities=entities, start=START), 1):
            agent = agents[e.source]
            await agent.put(
                json.dumps(e.event).encode(),
                key=e.key.encode(),
                partition=partition_of(e.key, n),
            )
            # the test wrapper keeps every value it saw (faust AgentTestWrapper.results):
            # ~0.7 KB per event of the input that a worker does not hold
            agent.results.clear()
            if i % commit_every == 0:
                await app.worker.checkpoint.commit()
                interval = settings.memory.trim_interval
                if interval and monotonic() - trimmed >= interval:
                    memory.trim()
                    trimmed = monotonic()
            if every and i % every == 0:
                at(i)
        await app.worker.checkpoint.commit()
    return i


async def rss_curve(
    settings: Settings,
    events: int = 100_000,
    entities: int | None = 100_000,
    *,
    every: int = 10_000,
    commit_every: int = 200,
    seed: int = 7,
    report: Callable[[Reading], None] = lambda r: print(r.line(), flush=True),
) -> list[Reading]:
    """Feed ``events`` generated events about ``entities`` distinct entities through the
    agents; the RSS before the first event, every ``every`` events and at the end."""
    if settings.memory.malloc_arenas:
        memory.bound_arenas(settings.memory.malloc_arenas)  # as the runner does, before threads
    curve: list[Reading] = []
    with _sends_counted() as sent:
        written = [0, 0, 0]
        app = _app(settings, written)
        cpu0 = process_time()

        def take(i: int, note: str = "") -> Reading:
            rss, peak = read_rss()
            cpu = process_time() - cpu0
            reading = Reading(i, rss, peak, cpu, sent[0], note, *written)
            report(reading)
            return reading

        i = await feed(
            app,
            settings,
            events,
            entities,
            commit_every=commit_every,
            seed=seed,
            every=every,
            at=lambda i: curve.append(take(i)),
        )
        if i % every:
            curve.append(take(i))
        gc.collect()
        memory.trim()  # what is left is held, not glibc's free pages (not in the curve)
        take(i, " · after gc.collect() and malloc_trim")
    return curve


def default_settings(data_dir: Path) -> Settings:
    """The default settings, with a fresh data dir and SQLite file (nothing read from .env)."""
    from config.settings import Settings

    return Settings(
        _env_file=None,
        data_dir=data_dir / "worker",
        sql_url=f"sqlite:///{data_dir / 'riskloop.db'}",
    )


def main(events: int = 100_000, entities: int = 100_000, every: int = 10_000) -> list[Reading]:
    """Run :func:`rss_curve` with the default settings and print the curve and bytes per entity."""
    with tempfile.TemporaryDirectory(prefix="riskloop-rss-") as tmp:
        curve = asyncio.run(rss_curve(default_settings(Path(tmp)), events, entities, every=every))
    print(f"{per_entity(curve, entities):,.0f} bytes of RSS per entity over the base", flush=True)
    return curve


if __name__ == "__main__":
    import sys

    main(*(int(a) for a in sys.argv[1:]))

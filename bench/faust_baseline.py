"""The Faust baselines: one agent doing only the Kafka work of a stateful stream processor.

Run by the benchmark as ``python -m bench.faust_baseline BROKER APP_ID DATADIR OUTPUT INPUT...
[--writes W] [--sends S] [--store URL]``: for every event, ``W`` table writes (one per table,
keyed by the event's key, value = the event's bytes) and ``S`` sends of the event to ``OUTPUT``,
no logic. ``0 + 1`` is the pass-through; ``1 + 1`` prices one piece of state; ``5 + 2`` has
roughly the shape of the worker's per-event Kafka work. The app uses the worker's own commit
and serializer settings (``streams.app.faust_config``), so the same input, keying and commit
policy: the difference to the full pipeline is RiskLoop's work, not a Faust configuration.
One setting is left at Faust's default, in the baselines' favour: the poll bound
(``RISKLOOP_MEMORY__POLL_RECORDS``). The worker's checkpoints write less with it (README
Memory); a pass-through has no checkpoint, and with the bound at 256 it ran at 1,190 ev/s
against 1,873 unbounded, two runs of one morning (bench/RESULTS.md, 2026-12-06).
"""

from __future__ import annotations

import argparse
from typing import Any

import faust
from faust.worker import Worker

from config.settings import Settings
from streams.app import faust_config

STORE_OPTIONS: dict[str, int] = {
    "write_buffer_size": 4 * 1024**2,
    "max_write_buffer_number": 2,
    "block_cache_size": 8 * 1024**2,
    "block_cache_compressed_size": 1024**2,
}
"""RocksDB options of each table partition: the worker's own small buffers (streams/tables.py
when this was written), not Faust's 64 MB / 2 GB defaults, so peak RSS compares like with like."""


def table_names(writes: int) -> list[str]:
    """One table per write, like the worker's several tables.

    >>> table_names(2)
    ['state0', 'state1']
    """
    return [f"state{i}" for i in range(writes)]


def changelogs(app_id: str, writes: int) -> list[str]:
    """Faust's changelog topic of each table (the bench creates them first, compacted).

    >>> changelogs("b", 1)
    ['b-state0-changelog']
    """
    return [f"{app_id}-{name}-changelog" for name in table_names(writes)]


def build(
    broker: str,
    app_id: str,
    datadir: str,
    output: str,
    inputs: list[str],
    *,
    writes: int = 0,
    sends: int = 1,
    store: str = "memory://",
    partitions: int = 4,
) -> faust.App:
    """A Faust app with the worker's settings, no web server and one agent."""
    base = Settings(_env_file=None, kafka_broker=broker)
    conf: dict[str, Any] = {
        **faust_config(base),
        "store": store,
        "datadir": datadir,
        "web_enabled": False,
        "broker_max_poll_records": None,  # Faust's default, the faster for a pass-through
    }
    app = faust.App(app_id, **conf)
    source = app.topic(*inputs, key_serializer="raw", value_serializer="raw")
    sink = app.topic(output, key_serializer="raw", value_serializer="raw")
    tables = [
        app.Table(
            name,
            default=None,
            partitions=partitions,
            key_type=bytes,
            value_type=bytes,
            options=STORE_OPTIONS,
        )
        for name in table_names(writes)
    ]

    @app.agent(source)
    async def forward(stream: Any) -> None:
        async for key, value in stream.items():
            for table in tables:
                table[key] = value
            for _ in range(sends):
                await sink.send(key=key, value=value)

    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bench.faust_baseline`` (the benchmark starts it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("broker")
    parser.add_argument("app_id")
    parser.add_argument("datadir")
    parser.add_argument("output")
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--writes", type=int, default=0)
    parser.add_argument("--sends", type=int, default=1)
    parser.add_argument("--store", default="memory://")
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args(argv)
    app = build(
        args.broker,
        args.app_id,
        args.datadir,
        args.output,
        args.inputs,
        writes=args.writes,
        sends=args.sends,
        store=args.store,
        partitions=args.partitions,
    )
    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()

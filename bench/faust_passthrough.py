"""The Faust baseline: one agent that forwards every record unchanged, nothing else.

Run by the benchmark as ``python -m bench.faust_passthrough BROKER APP_ID DATADIR OUTPUT
INPUT...``. It uses the worker's own commit and serializer settings (``streams.app``), so the
difference to the full pipeline is RiskLoop's work, not a different Faust configuration.
"""

from __future__ import annotations

import argparse
from typing import Any

import faust
from faust.worker import Worker

from config.settings import Settings
from streams.app import faust_config


def build(broker: str, app_id: str, datadir: str, output: str, inputs: list[str]) -> faust.App:
    """A Faust app with the worker's settings, memory store, no web server, one agent."""
    base = Settings(_env_file=None, kafka_broker=broker)
    conf: dict[str, Any] = {
        **faust_config(base),
        "store": "memory://",
        "datadir": datadir,
        "web_enabled": False,
    }
    app = faust.App(app_id, **conf)
    source = app.topic(*inputs, key_serializer="raw", value_serializer="raw")
    sink = app.topic(output, key_serializer="raw", value_serializer="raw")

    @app.agent(source)
    async def forward(stream: Any) -> None:
        async for key, value in stream.items():
            await sink.send(key=key, value=value)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("broker")
    parser.add_argument("app_id")
    parser.add_argument("datadir")
    parser.add_argument("output")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args(argv)
    app = build(args.broker, args.app_id, args.datadir, args.output, args.inputs)
    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()

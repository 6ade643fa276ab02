"""The practical Python limit: a bare confluent-kafka consume → produce loop, one process.

Run by the benchmark as ``python -m bench.raw_loop BOOTSTRAP GROUP OUTPUT INPUT...``. It is
at-least-once like the worker: each batch is produced and flushed before its offsets are
committed, so a crash can repeat records but never lose them. SIGTERM ends it cleanly.
"""

from __future__ import annotations

import argparse
import signal
from typing import TYPE_CHECKING

from confluent_kafka import Consumer

from streams.producer import make_producer

if TYPE_CHECKING:
    from types import FrameType

BATCH = 500


def run(bootstrap: str, group: str, output: str, inputs: list[str]) -> None:
    """Copy every record of ``inputs`` to ``output`` (same key) until SIGTERM."""
    stop = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    producer = make_producer(bootstrap)
    consumer.subscribe(inputs)
    try:
        while not stop:
            batch = consumer.consume(num_messages=BATCH, timeout=0.2)
            records = [m for m in batch if m.error() is None]
            if not records:
                continue
            for m in records:
                producer.produce(output, key=m.key(), value=m.value())
                producer.poll(0)
            producer.flush()
            consumer.commit(asynchronous=True)
    finally:
        producer.flush(10)
        consumer.close()


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bench.raw_loop`` (the benchmark starts it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("bootstrap")
    parser.add_argument("group")
    parser.add_argument("output")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args(argv)
    run(args.bootstrap, args.group, args.output, args.inputs)


if __name__ == "__main__":
    main()

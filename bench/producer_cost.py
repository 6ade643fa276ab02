"""Main-thread CPU per produced message: aiokafka on the event loop against confluent-kafka.

Why: the worker's rate is its main thread's CPU per event (bench/RESULTS.md, 2026-12-06 15:04),
and it sends its outputs one at a time between events through aiokafka, whose batching,
requests and socket writes all run on that thread. This measures what one such message costs
the thread that sends it, in an asyncio loop that yields between sends as a worker does between
events, above the same loop sending nothing: aiokafka with no linger (the worker's setting) and
with 5 ms, and confluent-kafka (``produce`` + ``poll(0)``; librdkafka batches and writes in its
own threads, without the GIL). Against the broker of ``RISKLOOP_KAFKA_BROKER`` (the dev one by
default), each producer made by ``streams/producer.py``::

    python -m bench.producer_cost --messages 4000 --gap 0.001 --rounds 2

It creates a topic ``producer-cost-<random>`` (auto-created by the dev broker) and leaves it.

What it does not say: what a worker would save. In this loop every send is alone (the loop is
idle between them); in a busy worker sends queue up between the sender's runs, and there
aiokafka's whole share of the main thread was ~4–7 %, with no linger or with 5 ms alike
(bench/RESULTS.md, 2026-12-06 16:58).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from config.settings import Settings
from streams.producer import make_async_producer, make_producer

KINDS = ("aiokafka, linger 0", "aiokafka, linger 5 ms", "confluent-kafka")
VALUE = b'{"x":"' + b"1" * 700 + b'"}'  # about a task event's size


async def _aiokafka(settings: Settings, linger_ms: int, topic: str, n: int, gap: float) -> float:
    producer = make_async_producer(settings, linger_ms=linger_ms)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"warm", key=b"k")
        start = time.thread_time()
        sent: list[Any] = []
        for i in range(n):
            sent.append(await producer.send(topic, VALUE, key=str(i % 78).encode()))
            await asyncio.sleep(gap)
        await producer.flush()
        await asyncio.gather(*sent)
        return time.thread_time() - start
    finally:
        await producer.stop()


async def _confluent(settings: Settings, topic: str, n: int, gap: float) -> float:
    producer = make_producer(settings)
    producer.produce(topic, b"warm", b"k")
    producer.flush()
    start = time.thread_time()
    for i in range(n):
        producer.produce(topic, VALUE, str(i % 78).encode())
        producer.poll(0)
        await asyncio.sleep(gap)
    await asyncio.to_thread(producer.flush)
    return time.thread_time() - start


async def _nothing(n: int, gap: float) -> float:
    start = time.thread_time()
    for _ in range(n):
        await asyncio.sleep(gap)
    return time.thread_time() - start


def measure(settings: Settings, n: int, gap: float) -> dict[str, float]:
    """µs of main-thread CPU per message above the loop sending nothing, per kind."""
    topic = f"producer-cost-{uuid.uuid4().hex[:8]}"
    idle = asyncio.run(_nothing(n, gap))
    spent = {
        KINDS[0]: asyncio.run(_aiokafka(settings, 0, topic, n, gap)),
        KINDS[1]: asyncio.run(_aiokafka(settings, 5, topic, n, gap)),
        KINDS[2]: asyncio.run(_confluent(settings, topic, n, gap)),
    }
    return {kind: (seconds - idle) / n * 1e6 for kind, seconds in spent.items()}


def main() -> None:
    """Print one line per kind and round."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--gap", type=float, default=0.001, help="s the loop yields per message")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for round_ in range(1, args.rounds + 1):
        for kind, us in measure(Settings(), args.messages, args.gap).items():
            print(f"round {round_}  {kind:22s} {us:7.1f} µs main-thread CPU per message")


if __name__ == "__main__":
    main()

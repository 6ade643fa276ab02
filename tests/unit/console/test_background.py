"""A console feed outlives a broker that fails: the consumer is retried, and a stop ends it."""

from __future__ import annotations

import asyncio

from console.background import cancel, consume_forever


def test_a_failing_consumer_is_retried_until_cancelled() -> None:
    calls: list[int] = []

    async def run() -> asyncio.Task[None]:
        reading = asyncio.Event()

        async def consume() -> None:
            calls.append(len(calls))
            if len(calls) < 3:
                raise ConnectionError("broker away")
            reading.set()
            await asyncio.Event().wait()  # the third one reads until cancelled

        task = asyncio.create_task(consume_forever(consume, what="test feed", pause=0.01))
        await asyncio.wait_for(reading.wait(), timeout=10)
        await cancel(task)
        return task

    task = asyncio.run(run())
    assert calls == [0, 1, 2]
    assert task.cancelled()

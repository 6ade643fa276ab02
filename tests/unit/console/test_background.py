"""A console feed outlives a broker that fails: the consumer is retried, and a stop ends it."""

from __future__ import annotations

import asyncio

from console.background import cancel, consume_forever


def test_a_failing_consumer_is_retried_until_cancelled() -> None:
    calls: list[int] = []

    async def consume() -> None:
        calls.append(len(calls))
        if len(calls) < 3:
            raise ConnectionError("broker away")
        await asyncio.Event().wait()  # the third one reads until cancelled

    async def run() -> asyncio.Task[None]:
        task = asyncio.create_task(consume_forever(consume, what="test feed", pause=0.01))
        while len(calls) < 3:
            await asyncio.sleep(0.01)
        await cancel(task)
        return task

    task = asyncio.run(run())
    assert calls == [0, 1, 2] and task.cancelled()

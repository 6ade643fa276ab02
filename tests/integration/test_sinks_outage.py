"""A target goes away and comes back: nothing is lost, nothing is written twice.

Runs its OWN PostgreSQL and Redis (infra's functions, a temp state folder, free ports), so
stopping them never disturbs the shared services other tests use. Scenario, for each target:

1. write, caught up;  2. stop the server, keep adding: the backlog grows, retries are counted;
3. start it again: caught up (stale pooled connections, a lost Lua script cache);
4. stop it again, add, *restart the worker* (a new sink on the same outbox) while it is down,
   add more; 5. start it: caught up — every record present exactly once, newest versions win.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa

from config.settings import DevStackSettings
from infra import postgres, redis
from infra.ports import free_port
from schemas.records import TaskState
from sinks import sql_tables
from sinks.backoff import Backoff
from sinks.migrate import migrate
from sinks.redis_views import _MOVE_TASK_SHA, RedisViews
from sinks.sql import SqlSink, SqlStore, make_engine
from streams.metrics import Metrics
from tests.unit.sinks.factories import make_event, make_task

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sinks.base import Sink

QUICK = Backoff(initial=0.05, maximum=0.3)


@pytest.fixture(scope="module")
def own_stack() -> Iterator[DevStackSettings]:
    # Not pytest's tmp_path: PostgreSQL runs as `postgres` and must be able to reach it.
    state = Path(tempfile.mkdtemp(prefix="riskloop-sinks-outage-"))
    state.chmod(0o755)
    dev = DevStackSettings(
        state_dir=state, redis_port=free_port(), postgres_port=free_port(), start_timeout=60
    )
    try:
        yield dev
    finally:
        postgres.stop(dev)
        redis.stop(dev)
        shutil.rmtree(state, ignore_errors=True)


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Await a condition on the sink's own state (it has no event to await)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def retries(metrics: Metrics, sink: str) -> float:
    return metrics.registry.get_sample_value("riskloop_sink_retries_total", {"sink": sink}) or 0


async def go_away_and_come_back(
    make_sink: Callable[[], Sink],
    stop: Callable[[], object],
    start: Callable[[], object],
    metrics: Metrics,
    phases: list[list],
) -> None:
    """Drive the scenario above with four phases of records."""
    sink = make_sink()
    await sink.start()
    await sink.add_many(phases[0])
    await until(lambda: sink.backlog == 0)

    await asyncio.to_thread(stop)
    before = retries(metrics, sink.name)
    await sink.add_many(phases[1])
    await until(lambda: retries(metrics, sink.name) >= before + 2)
    assert sink.backlog == len(phases[1])
    gauge = metrics.registry.get_sample_value("riskloop_sink_backlog", {"sink": sink.name})
    assert gauge == len(phases[1])
    await asyncio.to_thread(start)
    await until(lambda: sink.backlog == 0)

    await asyncio.to_thread(stop)
    await sink.add_many(phases[2])
    await sink.stop()  # the worker restarts while the target is away
    sink = make_sink()
    await sink.start()
    assert sink.backlog == len(phases[2])
    await sink.add_many(phases[3])
    assert sink.backlog == len(phases[2]) + len(phases[3])
    await asyncio.to_thread(start)
    await until(lambda: sink.backlog == 0)
    await sink.stop()


def phases_of_tasks() -> list[list]:
    """Tasks 0–39 dispatched with their creation events; later phases sign some of them."""
    p0 = [r for n in range(20) for r in (make_task(n), make_event(f"task-{n}", 0))]
    p1 = [r for n in range(20, 40) for r in (make_task(n), make_event(f"task-{n}", 0))]

    def signed(n: int) -> list:
        return [
            make_task(n, state=TaskState.signed),
            make_event(f"task-{n}", 1, to_state=TaskState.signed),
        ]

    p2 = [r for n in range(0, 40, 2) for r in signed(n)]
    p3 = [r for n in range(1, 10, 2) for r in signed(n)] + [make_task(40), make_task(41)]
    return [p0, p1, p2, p3]


def expected_states() -> dict[str, str]:
    states = {f"task-{n}": "dispatched" for n in range(42)}
    states.update({f"task-{n}": "signed" for n in [*range(0, 40, 2), *range(1, 10, 2)]})
    return states


async def test_postgres_goes_away_and_comes_back(
    own_stack: DevStackSettings, tmp_path: Path
) -> None:
    dev = own_stack
    await asyncio.to_thread(postgres.start, dev)
    migrate(postgres.url(dev))  # the generated password: this server requires one
    metrics = Metrics()
    outbox = tmp_path / "sql.sqlite3"
    phases = phases_of_tasks()

    def make_sink() -> SqlSink:
        return SqlSink(
            SqlStore(make_engine(postgres.url(dev))),
            outbox,
            batch_size=16,
            max_delay=0.02,
            backoff=QUICK,
            metrics=metrics,
        )

    await go_away_and_come_back(
        make_sink, lambda: postgres.stop(dev), lambda: postgres.start(dev), metrics, phases
    )

    engine = make_engine(postgres.url(dev))
    with engine.connect() as conn:
        states = dict(
            conn.execute(sa.select(sql_tables.tasks.c.task_id, sql_tables.tasks.c.state)).all()
        )
        event_ids = conn.execute(sa.select(sql_tables.task_events.c.event_id)).scalars().all()
    engine.dispose()
    assert states == expected_states()
    sent = [r.event_id for phase in phases for r in phase if hasattr(r, "event_id")]
    assert sorted(event_ids) == sorted(sent)  # each exactly once


async def test_redis_goes_away_and_comes_back(own_stack: DevStackSettings, tmp_path: Path) -> None:
    dev = own_stack
    await asyncio.to_thread(redis.start, dev)
    url = f"redis://127.0.0.1:{dev.redis_port}/0"
    metrics = Metrics()
    outbox = tmp_path / "redis.sqlite3"
    phases = [[r for r in phase if r.__class__.__name__ == "Task"] for phase in phases_of_tasks()]
    clients: list[aioredis.Redis] = []

    def make_sink() -> RedisViews:
        client = aioredis.Redis.from_url(
            url, password=redis.password(dev), decode_responses=True, socket_connect_timeout=1
        )
        clients.append(client)
        return RedisViews(
            client, outbox, batch_size=16, max_delay=0.02, backoff=QUICK, metrics=metrics
        )

    await go_away_and_come_back(
        make_sink, lambda: redis.stop(dev), lambda: redis.start(dev), metrics, phases
    )

    async with make_sink() as views:
        counts = await views.tasks_by_state()
        open_now = {t.task_id: t.state.value for t in await views.open_tasks("xihu_market")}
        # The server restarted empty of scripts; the sink loaded its Lua script again.
        assert await views.client.script_exists(_MOVE_TASK_SHA) == [True]
    expected = expected_states()
    assert open_now == expected
    assert counts["signed"] == list(expected.values()).count("signed")
    assert counts["dispatched"] == list(expected.values()).count("dispatched")
    assert sum(counts.values()) == len(expected)  # nobody counted twice

"""The Redis views against the real Redis of `riskloop dev up` (fails if it is not there).

Each test writes under a key prefix of its own and deletes it afterwards.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from schemas.records import Level, TaskState
from sinks.migrate import migrate
from sinks.redis_views import RedisViews
from sinks.sql import SqlStore, make_engine
from streams.metrics import Metrics
from tests.integration.conftest import run_cli
from tests.unit.sinks.factories import T0, make_alert, make_task

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


def redis_target() -> tuple[str, str | None]:
    """The dev stack's Redis URL and its generated password, as a worker would find them."""
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    return s.redis_url, s.redis_secret.get_secret_value() if s.redis_secret else None


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    url, password = redis_target()
    client = aioredis.Redis.from_url(
        url, password=password, decode_responses=True, socket_connect_timeout=2
    )
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(f"no Redis at {url}: run `riskloop dev up` ({exc})")
    yield client
    await client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose


@pytest.fixture
async def views(client: aioredis.Redis, tmp_path: Path) -> AsyncIterator[RedisViews]:
    prefix = f"test-sinks-{uuid.uuid4().hex[:8]}:"
    sink = RedisViews(
        client,
        tmp_path / "redis.sqlite3",
        prefix=prefix,
        batch_size=100,
        max_delay=60,
        metrics=Metrics(),
    )
    await sink.start()
    yield sink
    keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await sink.stop()


async def test_open_tasks_follow_department_and_state(views: RedisViews) -> None:
    await views.add_many([make_task(1), make_task(2), make_task(3, department="gs_market")])
    await views.flush()
    assert sorted(t.task_id for t in await views.open_tasks("xihu_market")) == ["task-1", "task-2"]

    # task-1 is returned and re-routed, task-2 closes, task-3 is signed.
    await views.add_many(
        [
            make_task(1, department="gs_market", state=TaskState.dispatched, returns=1),
            make_task(2, state=TaskState.closed),
            make_task(3, department="gs_market", state=TaskState.signed),
        ]
    )
    await views.flush()
    assert await views.open_tasks("xihu_market") == []
    gs = {t.task_id: t for t in await views.open_tasks("gs_market")}
    assert set(gs) == {"task-1", "task-3"}
    assert gs["task-1"].returns == 1
    states = await views.tasks_by_state()
    assert (states["dispatched"], states["signed"], states["closed"]) == (1, 1, 1)
    assert sum(states.values()) == 3


async def test_a_late_older_revision_leaves_the_task_where_the_newer_one_put_it(
    views: RedisViews,
) -> None:
    """A former owner's outbox flushing late (revision 2) after the new owner's revision 3."""
    await views.add_many([make_task(1, department="gs_market", state=TaskState.signed, revision=3)])
    await views.flush()
    await views.add_many([make_task(1, state=TaskState.dispatched, revision=2)])
    await views.flush()
    assert await views.open_tasks("xihu_market") == []
    (task,) = await views.open_tasks("gs_market")
    assert (task.state, task.revision) == (TaskState.signed, 3)
    states = await views.tasks_by_state()
    assert (states.get("signed"), states.get("dispatched", 0)) == (1, 0)
    await views.add_many([make_task(1, department="gs_market", state=TaskState.closed, revision=4)])
    await views.flush()
    assert await views.open_tasks("gs_market") == []


async def test_a_late_older_revision_leaves_the_warning_at_the_newer_ones_level(
    views: RedisViews, client: aioredis.Redis
) -> None:
    """A warning escalated to red by the partition's new owner (revision 3), then the former
    owner's yellow (revision 2) flushed late: the day's counters and brief stay red."""
    await views.add_many([make_alert(1, level=Level.red, revision=3)])
    await views.flush()
    await views.add_many([make_alert(1, level=Level.yellow, revision=2, title="old")])
    await views.flush()
    counts = await views.warnings_today(T0)
    assert (counts["red"], counts["yellow"]) == (1, 0)
    (brief,) = await views.warnings_on(T0)
    assert brief["level"] == "red"
    await views.add_many([make_alert(1, level=Level.orange, revision=4)])  # newer: moves it
    await views.flush()
    counts = await views.warnings_today(T0)
    assert (counts["red"], counts["orange"]) == (0, 1)


async def test_a_warning_counted_before_the_index_existed_is_moved_out_of_its_old_level(
    views: RedisViews, client: aioredis.Redis
) -> None:
    """Views written by an older worker have no index entry: the first write after the upgrade
    must still take the warning out of the level set it sat in, or it counts twice."""
    day = views._day_key(T0)
    await client.sadd(f"{day}:yellow", "fp-1.1")
    await views.add_many([make_alert(1, level=Level.red, revision=1)])
    await views.flush()
    counts = await views.warnings_today(T0)
    assert (counts["red"], counts["yellow"]) == (1, 0)
    assert await client.ttl(f"{day}:index") > 0


class CountingConnection(aioredis.Connection):
    """Counts what is sent to the server: a pipeline is one send for all its commands."""

    sends = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sends += 1
        await super().send_packed_command(command, check_health)


async def test_one_round_trip_per_flush_and_replays_count_once(tmp_path: Path) -> None:
    url, password = redis_target()
    pool: aioredis.ConnectionPool = aioredis.ConnectionPool.from_url(
        url, connection_class=CountingConnection, password=password, decode_responses=True
    )
    prefix = f"test-sinks-{uuid.uuid4().hex[:8]}:"
    views = RedisViews(
        aioredis.Redis(connection_pool=pool),
        tmp_path / "r.sqlite3",
        prefix=prefix,
        batch_size=1000,
        max_delay=60,
    )
    await views.start()
    batch = [make_task(n) for n in range(30)] + [make_alert(n) for n in range(30)]
    try:
        await views.add_many(batch)
        await views.flush()  # may load the Lua script first (a fresh Redis)
        before = CountingConnection.sends
        await views.add_many(batch)  # the same records again, as after a crash
        assert await views.flush() == 60
        assert CountingConnection.sends - before == 1
        assert (await views.tasks_by_state())["dispatched"] == 30
        assert (await views.warnings_today(T0))["yellow"] == 30
    finally:
        keys = [k async for k in views.client.scan_iter(match=f"{prefix}*")]
        if keys:
            await views.client.delete(*keys)
        await views.stop()


async def test_warnings_today_counts_each_warning_at_its_latest_level(views: RedisViews) -> None:
    await views.add_many(
        [
            make_alert(1, level=Level.yellow),
            make_alert(1, level=Level.red),  # escalated the same day
            make_alert(2, level=Level.blue),
            make_alert(3, level=Level.red, shadow=True),  # not a warning
            make_alert(4, level=Level.orange, last_seen=T0 + timedelta(days=1)),  # tomorrow
        ]
    )
    await views.flush()
    assert await views.warnings_today(T0) == {"red": 1, "orange": 0, "yellow": 0, "blue": 1}


async def test_rebuild_from_sql_restores_the_views(views: RedisViews, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    store = SqlStore(make_engine(url))
    store.write(
        [make_task(1), make_task(2, state=TaskState.closed), make_alert(1, level=Level.red)]
    )
    await views.add_many([make_task(9)])  # a stale view that SQL does not know
    await views.flush()
    assert await views.rebuild(store, now=T0) == 2
    assert [t.task_id for t in await views.open_tasks("xihu_market")] == ["task-1"]
    assert (await views.warnings_today(T0))["red"] == 1


async def _dump(client: aioredis.Redis, prefix: str) -> dict[str, Any]:
    """Every key under ``prefix`` (without it) with its members or fields, and whether it
    expires."""
    out: dict[str, Any] = {}
    async for key in client.scan_iter(match=f"{prefix}*"):
        kind = await client.type(key)
        value: Any = (
            sorted(await client.smembers(key)) if kind == "set" else await client.hgetall(key)
        )
        out[key[len(prefix) :]] = (kind, value, await client.ttl(key) > 0)
    return out


async def test_a_batch_leaves_the_views_as_its_records_one_by_one_do(
    client: aioredis.Redis, tmp_path: Path
) -> None:
    """Warnings are written a few commands per day and batch (the last version of each per
    day), not seven commands per record: the views must come out the same, with a warning
    escalated twice in one batch, one seen on two days, a shadow hit, and tasks moving."""
    records: list[Any] = [
        make_alert(1, level=Level.yellow),
        make_task(1),
        make_alert(1, level=Level.orange),
        make_alert(2, level=Level.blue),
        make_alert(1, level=Level.red),
        make_alert(3, level=Level.red, shadow=True),
        make_alert(2, level=Level.yellow, last_seen=T0 + timedelta(days=1)),
        make_task(1, state=TaskState.signed),
        make_alert(4, level=Level.orange, last_seen=T0 + timedelta(days=1)),
        make_alert(4, level=Level.blue, last_seen=T0 + timedelta(days=1)),
    ]
    run = uuid.uuid4().hex[:8]
    one, each = f"test-batch-{run}:", f"test-each-{run}:"
    sinks = [
        RedisViews(client, tmp_path / f"{n}.sqlite3", prefix=p, batch_size=100, max_delay=60)
        for n, p in (("one", one), ("each", each))
    ]
    try:
        for sink in sinks:
            await sink.start()
        commands: list[int] = []
        pipeline = client.pipeline

        def counted(*args: Any, **kwargs: Any) -> Any:
            pipe = pipeline(*args, **kwargs)
            execute = pipe.execute

            async def run_counted(*a: Any, **k: Any) -> Any:
                commands.append(len(pipe.command_stack))
                return await execute(*a, **k)

            pipe.execute = run_counted  # type: ignore[method-assign]
            return pipe

        client.pipeline = counted  # type: ignore[method-assign]
        await sinks[0].add_many(records)
        await sinks[0].flush()
        client.pipeline = pipeline  # type: ignore[method-assign]
        for record in records:
            await sinks[1].add(record)
            await sinks[1].flush()
        batch, one_by_one = await _dump(client, one), await _dump(client, each)
        assert batch == one_by_one
        assert batch["warnings:20240603:red"] == ("set", ["fp-1.1"], True)
        # 2 task scripts + one warnings script per day (2 days); was 7 commands a warning
        assert commands[-1] <= 2 + 2
    finally:
        client.pipeline = pipeline  # type: ignore[method-assign]
        for sink in sinks:
            await sink.stop()
        for prefix in (one, each):
            keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)


async def test_ops_views_reads_back_what_the_views_hold(views: RedisViews) -> None:
    """``riskloop ops views``: tasks per state, open tasks per department and one day's
    warnings with their briefs, as written; a malformed day is one line and exit 2."""

    await views.add_many(
        [
            make_task(1),
            make_task(2, state=TaskState.signed),
            make_task(3, department="gs_market", state=TaskState.closed),
            make_alert(1, level=Level.red, entity_name="杭州某餐饮", entity_address="文三路**号"),
            make_alert(2, level=Level.blue, last_seen=T0 + timedelta(days=1)),  # another day
        ]
    )
    await views.flush()
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    args = ("ops", "views", "--day", "2024-06-03", "--prefix", views.prefix)
    shown = run_cli(s, *args, "--json")
    assert shown.returncode == 0, shown.stderr
    read = json.loads(shown.stdout)
    assert read["day"] == "2024-06-03"
    assert read["open_tasks"] == {"gs_market": 0, "xihu_market": 2}
    assert read["tasks_by_state"]["signed"] == 1
    assert read["tasks_by_state"]["closed"] == 1
    assert read["warnings"] == {"red": 1, "orange": 0, "yellow": 0, "blue": 0}
    assert [b["alert_id"] for b in read["briefs"]] == [make_alert(1).alert_id]
    text = run_cli(s, *args)
    assert text.returncode == 0, text.stderr
    assert "杭州某餐饮 · 文三路**号" in text.stdout
    assert "warnings: red 1 · orange 0 · yellow 0 · blue 0" in text.stdout
    bad = run_cli(s, "ops", "views", "--day", "2024-13-01")
    assert bad.returncode == 2
    assert "is not a day (YYYY-MM-DD)" in bad.stderr
    assert "Traceback" not in bad.stderr

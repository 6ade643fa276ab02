"""Services go away: our own broker for 30 s; our own PostgreSQL and Redis together.

Both start their OWN instances on free ports (``own_stack``): the shared services on the
default ports, which other tests use, are never stopped.
"""

from __future__ import annotations

import re
import time
import urllib.request

from bench.chaos import (
    Context,
    Feed,
    Outcome,
    Snapshot,
    Space,
    compare,
    database,
    differences,
    own_stack,
    produce,
    recovered,
    space,
    verdict,
    wait_caught_up,
    wait_processed,
    wait_sql,
)
from infra import kafka, postgres, redis

BROKER_DOWN_SECONDS = 30.0


def broker_outage(ctx: Context, down: float = BROKER_DOWN_SECONDS) -> Outcome:
    """Stop our broker mid-stream for ``down`` seconds; the worker must reconnect by itself."""
    ref = ctx.reference().snapshot
    items = ctx.items()
    half = len(items) // 2
    with own_stack(ctx.base.dev, ["kafka"]) as dev, database(ctx.base.dev) as url:
        broker = f"kafka://127.0.0.1:{dev.kafka_port}"
        with space(ctx.base, ctx.work, sql_url=url, kafka_broker=broker) as sp:
            sp.wait_ready(sp.start_worker())
            feed = Feed(sp.settings, items[:half])
            feed.start()
            moment = wait_processed(sp, half // 2, feed)
            ctx.say(f"  stopping our broker on :{dev.kafka_port} for {down:.0f} s")
            kafka.stop(dev)
            time.sleep(down)
            sp.alive()
            kafka.start(dev)
            t0 = time.monotonic()
            feed.finish()  # what it wrote while the broker was down is delivered now
            produce(sp.settings, items[half:])
            got, recovery = recovered(sp, url, ref, since=t0, timeout=300)
            note = f"own broker down {down:.0f} s, stopped {moment}; worker not restarted"
            return verdict("broker-outage", len(items), ref, got, recovery, note=note)


def sink_outage(ctx: Context) -> Outcome:
    """Stop our PostgreSQL and Redis while input keeps coming; the sinks must hold the backlog
    (outbox) and catch up when both are back. Checks SQL and the Redis task index."""
    ref = ctx.reference().snapshot
    items = ctx.items()
    half = len(items) // 2
    with own_stack(ctx.base.dev, ["postgres", "redis"]) as dev, database(dev) as url:
        redis_url = f"redis://:{redis.password(dev)}@127.0.0.1:{dev.redis_port}/0"
        with space(ctx.base, ctx.work, sql_url=url, redis_url=redis_url) as sp:
            sp.start_worker()
            produce(sp.settings, items[:half])
            wait_caught_up(sp)
            wait_sql(url)
            ctx.say("  stopping our PostgreSQL and Redis")
            postgres.stop(dev)
            redis.stop(dev)
            produce(sp.settings, items[half:])
            wait_caught_up(sp)  # Kafka is done; SQL and Redis are away
            held = backlog(sp)
            postgres.start(dev)
            redis.start(dev)
            t0 = time.monotonic()
            got = wait_sql(url, ref)
            recovery = time.monotonic() - t0
            views = wait_redis(redis_url, ref)
            r_lost, r_dup = compare(ref, views)
            note = f"backlog held {held:.0f}; Redis index lost {r_lost}, extra {r_dup}"
            if r_lost or r_dup:
                note += f" ({differences(ref, views)})"
            return verdict(
                "sink-outage",
                len(items),
                ref,
                got,
                recovery,
                ok=held > 0 and not (r_lost or r_dup),
                note=note,
            )


def backlog(sp: Space) -> float:
    """Records the worker's sinks hold, from its /metrics (riskloop_sink_backlog)."""
    url = f"http://127.0.0.1:{sp.settings.web_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return -1.0
    found = re.findall(r'^riskloop_sink_backlog\{sink="[^"]+"\} ([0-9.e+]+)$', text, re.M)
    return sum(float(v) for v in found)


def redis_index(url: str) -> Snapshot:
    """Tasks as the Redis live views know them: ``riskloop:task:index`` = id →
    dept\\tstate\\trevision (the revision left out: the scenario compares places)."""
    import redis as redis_client

    client = redis_client.Redis.from_url(url, decode_responses=True)
    try:
        index = client.hgetall("riskloop:task:index")
    except Exception:
        index = {}
    finally:
        client.close()
    rows = frozenset((tid, *v.split("\t")[:2]) for tid, v in index.items())
    return Snapshot(rows, frozenset())  # type: ignore[arg-type]


def wait_redis(url: str, ref: Snapshot, timeout: float = 60) -> Snapshot:
    """Until the Redis index lists exactly the reference tasks (audit is SQL's alone)."""
    want = Snapshot(ref.tasks, ref.audit)
    deadline = time.monotonic() + timeout
    while True:
        got = redis_index(url)
        got = Snapshot(got.tasks, ref.audit)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.5)

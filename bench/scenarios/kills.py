"""Workers die: SIGKILL mid-stream and restart; two workers in one group and one is killed."""

from __future__ import annotations

import signal
import time

from bench.chaos import (
    Context,
    Feed,
    Outcome,
    Space,
    database,
    recovered,
    space,
    verdict,
    wait_processed,
)


def sigkill_restart(ctx: Context) -> Outcome:
    """Kill -9 the only worker half-way through its input, start it again, compare."""
    ref = ctx.reference().snapshot
    items = ctx.items()
    with database(ctx.base.dev) as url, space(ctx.base, ctx.work, sql_url=url) as sp:
        first = sp.start_worker()
        sp.wait_ready(first)
        feed = Feed(sp.settings, items)
        feed.start()
        moment = wait_processed(sp, len(items) // 2, feed)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        t0 = time.monotonic()
        sp.start_worker()
        feed.finish()
        got, recovery = recovered(sp, url, ref, since=t0)
        note = f"killed {moment}; restarted on the same data folder"
        return verdict("sigkill", len(items), ref, got, recovery, note=note)


def group_failover(ctx: Context) -> Outcome:
    """Two members of one group share the partitions; one is killed, the other takes over."""
    ref = ctx.reference().snapshot
    items = ctx.items()
    with database(ctx.base.dev) as url, space(ctx.base, ctx.work, sql_url=url) as sp:
        sp.start_worker()
        victim = sp.second_worker()
        _wait_both_assigned(ctx, sp)
        feed = Feed(sp.settings, items)
        feed.start()
        moment = wait_processed(sp, len(items) // 2, feed)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        t0 = time.monotonic()
        feed.finish()
        got, recovery = recovered(sp, url, ref, since=t0)
        note = f"killed {moment}; survivor took the partitions"
        return verdict("failover", len(items), ref, got, recovery, note=note)


def _wait_both_assigned(ctx: Context, sp: Space, timeout: float = 90) -> None:
    """Until the group has two members (both workers joined), so the kill moves partitions."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": sp.settings.bootstrap_servers, "log_level": 0})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sp.alive()
        try:
            group = sp.settings.app_id
            desc = admin.describe_consumer_groups([group])[group].result(timeout=10)
            if len(desc.members) >= 2:
                return
        except Exception:
            pass
        time.sleep(0.5)
    ctx.say("  (the second worker never joined the group; continuing)")

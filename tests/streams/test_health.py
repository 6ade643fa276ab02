"""Readiness and agent crashes without a broker: an agent crash is counted and its actor no
longer counts as live; each readiness check says why it fails; the broker probe fails on a port
where nothing listens. (A real worker and a real broker: tests/integration/test_health.py.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from infra.ports import free_port
from streams import health
from streams.checkpoint import Restored
from streams.health import BrokerProbe, readiness
from streams.state import PartitionState

if TYPE_CHECKING:
    import faust

    from streams.app import RiskLoopApp


class CalendarUnavailable(Exception):
    """Stands in for the crash seen in production: a working-day calendar ending in 2026."""


def crashes(app: RiskLoopApp, agent: str) -> float | None:
    return app.worker.runtime.metrics.registry.get_sample_value(
        "riskloop_agent_crashes_total", {"agent": agent}
    )


async def test_an_agent_crash_is_counted_and_its_actor_is_not_live(app: RiskLoopApp) -> None:
    @app.agent(app.topic("health-test", value_type=bytes, value_serializer="raw"), name="boom")
    async def boom(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            if value == b"2027-01-04":
                raise CalendarUnavailable(value)

    # every agent's series exists at 0 before its first crash, or Prometheus's increase()
    # would never see that first crash (a counter first scraped at 1 has not "increased")
    assert crashes(app, "boom") == 0
    assert crashes(app, "tasks") == 0
    async with boom.test_context() as agent:
        await agent.put(b"2026-12-31")
        assert health.live_actors(agent) == 1
        assert crashes(app, "boom") == 0
        with pytest.raises(CalendarUnavailable):
            await agent.put(b"2027-01-04")
        assert health.live_actors(agent) == 0
    assert crashes(app, "boom") == 1


def test_before_the_agents_start_the_worker_is_not_ready(app: RiskLoopApp) -> None:
    state = readiness(app.worker)
    assert not state.ready
    assert state.checks["agents"] is False
    assert "tasks" in state.reasons["agents"]
    assert health.agents_down(app, started_only=True) == []  # not dead: not started yet


def test_an_unread_control_topic_means_not_ready(app: RiskLoopApp) -> None:
    app.worker.control.ready.clear()
    state = readiness(app.worker)
    assert state.checks["control"] is False
    assert "control topics" in state.reasons["control"]


async def test_the_broker_probe_fails_where_no_broker_listens(app: RiskLoopApp) -> None:
    probe = BrokerProbe(f"127.0.0.1:{free_port()}", timeout=2.0)
    app.worker.broker = probe
    assert await probe.probe() is False
    assert not probe.reachable()
    state = readiness(app.worker)
    assert state.checks["broker"] is False
    assert state.reasons["broker"].startswith("KafkaConnectionError")


def test_a_success_goes_stale_when_the_probe_stops_answering() -> None:
    now = [100.0]
    probe = BrokerProbe("127.0.0.1:9", clock=lambda: now[0], stale_after=15.0)
    probe.ok_at = 100.0
    assert probe.reachable()
    now[0] = 116.0
    assert not probe.reachable()


def test_a_partition_still_being_restored_means_not_ready(app: RiskLoopApp) -> None:
    checkpoint = app.worker.checkpoint
    checkpoint.restoring(3)
    state = readiness(app.worker)
    assert state.checks["restored"] is False
    assert state.reasons["restored"] == "partitions not yet restored: 3"
    checkpoint.take(3, Restored(PartitionState()))
    assert readiness(app.worker).checks["restored"] is True
    checkpoint.restoring(4)
    checkpoint.drop(4)  # revoked before its restore ended: nothing left to wait for
    assert readiness(app.worker).checks["restored"] is True

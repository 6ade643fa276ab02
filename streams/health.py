"""Readiness that tells the truth, and agent crashes that are counted.

``/ready`` used to ask only "is Faust rebalancing?", so it stayed green while agents crashed
(Faust's supervisor logs the crash and starts a replacement actor; a crash in a loop looks like
a running worker) and while the broker was away (the consumer object still exists). A worker is
ready when all of these hold:

- ``agents``: every agent has as many live actors as its concurrency (an actor whose task has
  ended or that is marked crashed is not live);
- ``control``: the control topics (rule packs, models, fence sets, silences) have been read up to
  their end offsets as of start (``ControlState.ready``, set by ``streams.control``);
- ``broker``: a Kafka metadata request answered within the last few probe intervals;
- ``consuming``: the consumer exists and no rebalance is in progress;
- ``restored``: every input partition assigned here has its state restored from the changelog
  (until then its events wait; a test that fills the disk once ``/ready`` answers 200 most
  likely met a restore still running, CI of 2026-12-06).

Every actor crash is logged with its traceback and counted in
``riskloop_agent_crashes_total{agent}``; the ``RiskLoopAgentCrashed`` alert fires on any.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import faust
from aiokafka.client import AIOKafkaClient

from streams import kafka_clients
from streams.logs import get_logger

if TYPE_CHECKING:
    from faust.types import AgentT, ChannelT
    from faust.types.agents import ActorRefT, AgentTestWrapperT
    from mode import SupervisorStrategyT

    from streams.metrics import Metrics
    from streams.worker_context import WorkerContext

log = get_logger(__name__)

BROKER_PROBE_INTERVAL = 5.0  # s between two metadata requests
BROKER_PROBE_TIMEOUT = 3.0  # s a metadata request may take before it counts as failed
BROKER_STALE_AFTER = 3 * BROKER_PROBE_INTERVAL  # s: an older success no longer counts

AgentErrorHandler = Callable[[Any, BaseException], Awaitable[None]]


class RiskLoopAgent(faust.Agent):
    """Faust's Agent, counting and logging every crash of one of its actors.

    Faust calls ``on_error`` when an actor's coroutine raises, before its supervisor replaces
    the actor; installed as the app's ``Agent`` class, it covers every agent, with no agent
    having to remember it. A handler passed explicitly still runs, after ours; so does the one
    ``test_context`` installs (a crash under test is counted as in a worker).
    """

    def __init__(self, fun: Any, *, on_error: AgentErrorHandler | None = None, **kw: Any) -> None:
        super().__init__(fun, on_error=counting(on_error), **kw)
        metrics = _metrics(self.app)
        if metrics is not None:  # exported as 0 from the start: increase() sees the first crash
            metrics.agent_crashes.labels(self.name)

    def test_context(
        self,
        channel: ChannelT | None = None,
        supervisor_strategy: SupervisorStrategyT | None = None,
        on_error: AgentErrorHandler | None = None,
        **kwargs: Any,
    ) -> AgentTestWrapperT:
        """Faust's test context, with crashes counted as in a worker (the crash metric is tested
        through it)."""
        return super().test_context(channel, supervisor_strategy, counting(on_error), **kwargs)


def counting(on_error: AgentErrorHandler | None) -> AgentErrorHandler:
    """``on_error`` preceded by :func:`record_crash` (once: a handler already counting stays)."""
    if getattr(on_error, "counts_crashes", False):
        return on_error  # type: ignore[return-value]

    async def crashed(agent: Any, exc: BaseException) -> None:
        record_crash(agent, exc)
        if on_error is not None:
            await on_error(agent, exc)

    crashed.counts_crashes = True  # type: ignore[attr-defined]
    return crashed


def _metrics(app: object) -> Metrics | None:
    """The metrics of an agent's app: Faust makes an agent from its app alone (our ``Agent``
    class is in the app's conf), so the worker context is found on the app
    (``RiskLoopApp.worker``, streams/app.py); a plain Faust app has none."""
    worker: WorkerContext | None = getattr(app, "worker", None)
    return None if worker is None else worker.runtime.metrics


def record_crash(agent: Any, exc: BaseException) -> None:
    """Count and log one actor's crash with its traceback: the supervisor restarts the actor
    silently otherwise."""
    metrics = _metrics(agent.app)
    if metrics is not None:
        metrics.agent_crashes.labels(agent.name).inc()
    log.error("agent crashed", agent=agent.name, error=repr(exc), exc_info=exc)


def live_actors(agent: AgentT) -> int:
    """Actors of ``agent`` whose task still runs.

    Faust has no public list of an agent's actors; ``Agent._actors`` (a WeakSet of ActorRefs) is
    the one it keeps itself. Why we look at all: an agent whose actor crashed stops consuming
    while the worker runs on and reports healthy (robinhood/faust#416, silent agent failure;
    robinhood/faust#301, a crashing supervisor that does not exit), so ``/ready`` must see it. A crashed actor may linger there until collected, and one that the
    supervisor "restarted" in place keeps a finished task, so both the task and the crash flag
    are checked, not the service state.
    """
    actors: list[ActorRefT] = list(getattr(agent, "_actors", ()))
    return sum(
        1 for a in actors if a.actor_task is not None and not a.actor_task.done() and not a.crashed
    )


def agents_down(app: faust.App, *, started_only: bool = False) -> list[str]:
    """Names of the agents with fewer live actors than their concurrency; with
    ``started_only``, of those only the ones that had started (not those still waiting for
    recovery to finish)."""
    return sorted(
        name
        for name, agent in app.agents.items()
        if live_actors(agent) < agent.concurrency
        and not (started_only and not getattr(agent, "_actors", None))
    )


@dataclass
class BrokerProbe:
    """The last answer of the broker to a metadata request, refreshed by :meth:`run`."""

    bootstrap_servers: str
    connect: Mapping[str, Any] = field(default_factory=dict)
    """The credentials beside the servers (``streams.kafka_clients.aiokafka``, its other keys):
    a secured cluster answers a client that cannot authenticate with nothing."""
    interval: float = BROKER_PROBE_INTERVAL
    timeout: float = BROKER_PROBE_TIMEOUT
    stale_after: float = BROKER_STALE_AFTER
    clock: Callable[[], float] = time.monotonic
    ok_at: float | None = None  # clock() of the last success
    error: str = "not probed yet"
    _was_ok: bool = field(default=False, repr=False)

    def reachable(self) -> bool:
        """True if the broker answered within ``stale_after``: one failed probe alone does not make
        the worker unready."""
        return self.ok_at is not None and self.clock() - self.ok_at < self.stale_after

    async def probe(self) -> bool:
        """One metadata request, as a Kafka client starts; True if the cluster answered."""
        client = AIOKafkaClient(
            **{**self.connect, "bootstrap_servers": self.bootstrap_servers},
            request_timeout_ms=int(self.timeout * 1000),
        )
        try:
            await asyncio.wait_for(client.bootstrap(), self.timeout)
        except Exception as exc:  # unreachable, refused, timed out: all mean "not reachable"
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            ok = False
        else:
            self.ok_at, self.error, ok = self.clock(), "", True
        finally:
            await client.close()
        if ok != self._was_ok:
            (log.info if ok else log.warning)(
                "broker reachable" if ok else "broker unreachable", error=self.error
            )
        self._was_ok = ok
        return ok

    async def run(self) -> None:
        """Probe every ``interval`` seconds, for as long as the worker runs."""
        while True:
            await self.probe()
            await asyncio.sleep(self.interval)


@dataclass(frozen=True)
class Readiness:
    """Each readiness check by name, and why a failing one fails."""

    checks: dict[str, bool]
    reasons: dict[str, str]

    @property
    def ready(self) -> bool:
        """True when every check passes."""
        return all(self.checks.values())

    def body(self) -> dict[str, Any]:
        """The JSON of ``/ready``: the verdict, each check, and why each failed one failed."""
        return {"ready": self.ready, "checks": self.checks, "reasons": self.reasons}


def readiness(worker: WorkerContext) -> Readiness:
    """The checks of the module docstring, for ``/ready`` and ``riskloop_worker_ready``."""
    app = worker.app
    down = agents_down(app) if app.agents else ["(no agents started)"]
    probe = worker.broker
    checks = {
        "agents": not down,
        "control": worker.control.ready.is_set(),
        "broker": probe is None or probe.reachable(),
        "consuming": bool(app.rebalancing is False and app.consumer is not None),
        "restored": not worker.checkpoint.unrestored,
    }
    reasons = {
        "agents": f"not running: {', '.join(down)}",
        "control": "control topics not yet read up to where they stood at start",
        "broker": probe.error if probe is not None else "",
        "consuming": "rebalancing or no consumer",
        "restored": "partitions not yet restored: "
        + ", ".join(map(str, worker.checkpoint.unrestored)),
    }
    return Readiness(checks, {k: v for k, v in reasons.items() if not checks[k]})


def install(worker: WorkerContext) -> BrokerProbe:
    """Probe the broker in the background and keep ``riskloop_worker_ready`` equal to what
    ``/ready`` answers."""
    connect = kafka_clients.aiokafka(worker.settings)
    probe = BrokerProbe(connect.pop("bootstrap_servers"), connect)
    worker.broker = probe

    @worker.app.task
    async def broker_probe() -> None:
        await probe.run()

    @worker.app.timer(BROKER_PROBE_INTERVAL, name="readiness")
    async def ready_gauge() -> None:
        worker.runtime.metrics.worker_ready.set(1 if readiness(worker).ready else 0)

    return probe

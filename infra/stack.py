"""The local development stack as one unit: Kafka, Redis, PostgreSQL (and Prometheus on demand).

``up`` is idempotent (a running service is left alone, a crashed one is started again) and
``down`` stops only the processes whose pid files we wrote. Services are started in dependency
order and stopped in reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra import kafka, postgres, redis

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import DevStackSettings


@dataclass(frozen=True)
class Service:
    """One dev service as the stack drives it: start, stop and status, each returning the
    line the CLI prints.
    """

    name: str
    start: Callable[[DevStackSettings], str]
    stop: Callable[[DevStackSettings], str]
    status: Callable[[DevStackSettings], tuple[bool, str]]


SERVICES: dict[str, Service] = {
    "kafka": Service("kafka", kafka.start, kafka.stop, kafka.status),
    "redis": Service("redis", redis.start, redis.stop, redis.status),
    "postgres": Service("postgres", postgres.start, postgres.stop, postgres.status),
}


def select(names: list[str] | None) -> list[Service]:
    """The services named (all when None), in start order; unknown names are refused."""
    from infra.errors import InfraError

    if not names:
        return list(SERVICES.values())
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        raise InfraError(f"unknown service {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
    return [s for s in SERVICES.values() if s.name in names]


def up(dev: DevStackSettings, names: list[str] | None = None) -> list[str]:
    """Start the named services (all when None) in dependency order, one status line
    each. A running service is left alone, so ``up`` is safe to repeat.
    """
    dev.state_dir.mkdir(parents=True, exist_ok=True)
    return [svc.start(dev) for svc in select(names)]


def down(dev: DevStackSettings, names: list[str] | None = None) -> list[str]:
    """Stop the named services in reverse start order, so none loses what it depends on
    while it still runs; one line each.
    """
    return [svc.stop(dev) for svc in reversed(select(names))]


def status(dev: DevStackSettings) -> dict[str, tuple[bool, str]]:
    """Every service's (healthy, line): for ``riskloop dev status``, and for the demo to
    stop only what it started itself.
    """
    return {name: svc.status(dev) for name, svc in SERVICES.items()}

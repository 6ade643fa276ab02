"""The worker's non-Kafka outputs: the SQL task store and audit trail, and Redis live views.

Kafka topics are the primary output; these follow them. Each sink journals a record in its
local outbox before ``add`` returns, then writes in batches with retry, so PostgreSQL or Redis
going away costs nothing but backlog (riskloop_sink_backlog) and loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from config.settings import Settings
from loop.tasks import TaskCase
from schemas.records import Alert, SupervisionEvent, TaskEvent
from sinks.redis_views import RedisViews
from sinks.sql import SqlSink
from streams.metrics import Metrics


class Outputs:
    """SQL and Redis sinks behind the calls the agents make."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.sql = SqlSink.from_settings(settings, metrics)
        self.redis = RedisViews.from_settings(settings, metrics)

    async def start(self) -> None:
        await self.sql.start()
        await self.redis.start()

    async def stop(self) -> None:
        await self.sql.stop()
        await self.redis.stop()

    async def task(self, case: TaskCase, events: Sequence[TaskEvent]) -> None:
        records = [case.task, *events]
        await self.sql.add_many(records)
        await self.redis.add_many([case.task])

    async def alerts(self, alerts: Sequence[Alert]) -> None:
        await self.sql.add_many(list(alerts))
        await self.redis.add_many(list(alerts))

    async def supervision(self, events: Sequence[SupervisionEvent]) -> None:
        await self.sql.add_many(list(events))

"""The map's one effect: an aiokafka consumer of trucks.gps and alerts filling a MapWindow.

It joins no consumer group (it commits nothing and takes no partition from a worker) and, at
start, seeks each partition to the records produced in the window's ``max_age`` before now,
so a console started after a replay still draws the recent tracks. A record that does not
decode is skipped and counted: it is the worker's business to dead-letter bad input, the map
only draws good fixes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from console.background import cancel, consume_forever
from console.live import topic_partitions
from console.map.window import Fix, MapWindow
from schemas.records import Alert, TruckFix
from streams import kafka_clients

if TYPE_CHECKING:
    from config.settings import Settings

MAP_SOURCES = frozenset({"trucks", "truck_detections", "equipment"})
"""Warnings the map draws: truck rules on fixes, truck rules on geo detections, equipment."""


@dataclass
class MapFeed:
    """Consumes until :meth:`stop`; ``window`` is what the page reads."""

    settings: Settings
    window: MapWindow
    skipped: int = 0
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start consuming in the background; called from the app's startup, which runs on
        the event loop the task must live on.
        """
        self._task = asyncio.get_running_loop().create_task(self._run(), name="console-map-feed")

    async def stop(self) -> None:
        """Cancel the consumer and wait for it, so the console shuts down cleanly."""
        await cancel(self._task)

    def take(self, topic: str, value: bytes | None) -> None:
        """One record into the window (public: tests feed it records directly)."""
        if value is None:
            return
        try:
            if topic == self.settings.topics.trucks:
                fix = TruckFix.model_validate_json(value)
                self.window.add_fix(
                    Fix(
                        plate=fix.plate,
                        at=fix.event_time,
                        lat=fix.lat,
                        lon=fix.lon,
                        speed_kmh=fix.speed_kmh,
                        loaded=fix.loaded,
                        region_code=fix.region_code,
                    )
                )
            else:
                alert = Alert.model_validate_json(value)
                if alert.source in MAP_SOURCES and not alert.shadow:
                    self.window.add_warning(alert)
        except (ValidationError, ValueError):
            self.skipped += 1

    async def _run(self) -> None:
        await consume_forever(self._consume, what="console map feed", pause=5)

    async def _consume(self) -> None:
        topics = (self.settings.topics.trucks, self.settings.topics.alerts)
        consumer = AIOKafkaConsumer(
            **kafka_clients.aiokafka(self.settings),
            group_id=None,
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            # the broker's metadata, not the consumer's: aiokafka's consumer knows only the
            # topics it subscribed to, so partitions_for_topic says None for ours (a missing
            # topic raises: retried after 5 s, like the live feed)
            parts = [tp for t in topics for tp in await topic_partitions(self.settings, t)]
            consumer.assign(parts)
            since = int((time.time() - self.window.max_age.total_seconds()) * 1000)
            found = await consumer.offsets_for_times(dict.fromkeys(parts, since))
            for tp in parts:
                at = found.get(tp)
                if at is None:
                    await consumer.seek_to_end(tp)
                else:
                    consumer.seek(tp, at.offset)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
                for tp, messages in batches.items():
                    for msg in messages:
                        self.take(tp.topic, msg.value)
        finally:
            await consumer.stop()

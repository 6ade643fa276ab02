"""Live pushes: one Kafka consumer of the alerts topic, fanned out to every connected browser.

The console reads the alerts topic once (aiokafka, every partition assigned, from its end, no
consumer group: nothing to commit, nothing to rebalance) however many walls are watching, and
hands each red or orange warning that is new or raised (``loop.situation.is_live_news``) to the
subscribers whose jurisdiction covers its region (``loop.jurisdiction.check_warning``: the same
rule the API applies). The alerts topic is already PII-masked. Browsers receive Server-Sent
Events: no polling, one long response per wall. A subscriber that cannot keep up loses its
oldest items (a bounded queue), never the console's memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from console.background import cancel, consume_forever
from loop.jurisdiction import Forbidden, check_warning
from loop.situation import is_live_news
from schemas.records import Alert
from streams import kafka_clients
from streams.logs import get_logger

if TYPE_CHECKING:
    from config.settings import Settings
    from loop.identity import Principal

log = get_logger(__name__)

QUEUE_SIZE = 100


def brief(alert: Alert) -> dict[str, Any]:
    """What the wall shows of a warning (its detail page has the rest)."""
    return {
        "alert_id": alert.alert_id,
        "level": alert.level.value,
        "state": alert.state.value,
        "title": alert.title,
        "source": alert.source,
        "entity": alert.entity_name or alert.uscc or alert.entity,
        "region_code": alert.region_code or "",
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
    }


def _sees(who: Principal, alert: Alert, centre: str) -> bool:
    try:
        check_warning(who, alert.region_code, centre=centre)
    except Forbidden:
        return False
    return True


@dataclass(eq=False)
class Subscriber:
    """One browser's live stream: who it is (what it may see) and its bounded queue of
    warning briefs.
    """

    who: Principal
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )

    def offer(self, item: dict[str, Any]) -> None:
        """Queue ``item`` without waiting: a wall that stopped reading loses its oldest item,
        so one slow browser never holds up the feed or the others.
        """
        if self.queue.full():  # a wall that stopped reading: keep the newest
            self.queue.get_nowait()
        self.queue.put_nowait(item)


class LiveFeed:
    """The alerts topic, read once, for every subscriber (``subscribe``/``unsubscribe``)."""

    def __init__(self, settings: Settings, centre: str) -> None:
        self.settings = settings
        self.centre = centre
        self.subscribers: set[Subscriber] = set()
        self.positioned = asyncio.Event()
        self.closing = asyncio.Event()
        """Set when the console stops: open streams end instead of holding the shutdown."""
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, who: Principal) -> Subscriber:
        """A new stream for ``who``: from now on it receives what ``who`` may see."""
        sub = Subscriber(who)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """End a stream (its browser went away); nothing is queued for it any more."""
        self.subscribers.discard(sub)

    def publish(self, alert: Alert) -> int:
        """Hand ``alert`` to every subscriber allowed to see it; how many got it."""
        if not is_live_news(alert):
            return 0
        item = brief(alert)
        told = 0
        for sub in list(self.subscribers):
            if _sees(sub.who, alert, self.centre):
                sub.offer(item)
                told += 1
        return told

    async def start(self) -> None:
        """Start reading the alerts topic in the background: the console comes up even while
        the broker does not, and ``/ready`` says when the feed reads.
        """
        self._task = asyncio.create_task(self._run(), name="console-live-feed")

    async def stop(self) -> None:
        """End every open stream, then the consumer: an SSE response would otherwise hold the
        console's shutdown until its browser closed it.
        """
        self.closing.set()
        await cancel(self._task)

    async def _run(self) -> None:
        """Consume until cancelled; a broker that goes away is retried, never fatal."""
        await consume_forever(self._consume, what="console live feed", pause=2)

    async def _consume(self) -> None:
        topic = self.settings.topics.alerts
        consumer = AIOKafkaConsumer(
            **kafka_clients.aiokafka(self.settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        await consumer.start()
        try:
            partitions = await topic_partitions(self.settings, topic)
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for tp in partitions:  # resolve the end now: what is produced next is seen
                await consumer.position(tp)
            self.positioned.set()
            log.info("console live feed reading", topic=topic, partitions=len(partitions))
            async for message in consumer:
                self._deliver(message.value)
        finally:
            await consumer.stop()

    def _deliver(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            alert = Alert.model_validate_json(value)
        except ValidationError:
            log.warning("console live feed skipped a record that is not an alert")
            return
        self.publish(alert)


async def topic_partitions(settings: Settings, topic: str) -> list[TopicPartition]:
    """The topic's partitions, from the broker's metadata (the admin client: aiokafka's
    consumer knows only the topics it subscribed to)."""
    from streams.admin import admin_client

    def count() -> int:
        meta = admin_client(settings).list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise RuntimeError(f"topic {topic} has no partitions (is it created?)")
        return len(meta.partitions)

    return [TopicPartition(topic, p) for p in range(await asyncio.to_thread(count))]

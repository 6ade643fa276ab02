"""Agents under ``agent.test_context()``: no broker, memory tables, real agent code.

Every send of the worker's producer (its outputs) and every ``Topic.send`` (what its HTTP API
publishes through Faust's producer) is captured (topic, key, value) so a test reads what the
worker published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import faust
import pytest

from streams.app import RiskLoopApp, build_app
from streams.producer import WorkerProducer

if TYPE_CHECKING:
    from config.settings import Settings


@dataclass
class Sent:
    messages: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)
    addressed_to: list[tuple[str, int | None, bytes]] = field(default_factory=list)
    """(topic, partition, value) of each message: its partition as the sender named it (None:
    its key's)."""

    def addressed(self, topic: str) -> list[tuple[int | None, bytes]]:
        """(partition, value) of what was sent to ``topic``."""
        return [(p, v) for t, p, v in self.addressed_to if t == topic]

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(v) for t, _, v in self.messages if t == topic]

    def topics(self) -> set[str]:
        return {t for t, _, _ in self.messages}


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the worker's producer sends goes nowhere (``sent`` keeps it): these tests have no
    broker, and one that happens to run on the machine must not receive their records."""

    async def send(self: WorkerProducer, *_: Any, **__: Any) -> None:
        return None

    monkeypatch.setattr(WorkerProducer, "send", send)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    captured = Sent()

    async def send(
        self: WorkerProducer,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
    ) -> None:
        assert value is not None
        captured.messages.append((topic, key, value))
        captured.addressed_to.append((topic, partition, value))

    async def publish(self: faust.TopicT, *, key: Any = None, value: Any = None, **_: Any) -> None:
        captured.messages.append((self.get_topic_name(), key, value))

    monkeypatch.setattr(WorkerProducer, "send", send)
    monkeypatch.setattr(faust.topics.Topic, "send", publish)
    return captured


@pytest.fixture(autouse=True)
def keyed_partitions(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """A test context's message lands on its key's partition (murmur2), as a producer puts it,
    not always on partition 0: state and re-keying (streams/rekey.py) depend on it."""
    from faust.agents.agent import AgentTestWrapper

    from streams.rekey import partition_of

    put = AgentTestWrapper.put
    n = settings.topics.partitions

    async def keyed_put(
        self: Any,
        value: Any = None,
        key: Any = None,
        partition: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if partition is None and isinstance(key, bytes):
            partition = partition_of(key.decode(errors="replace"), n)
        return await put(self, value, key, partition, *args, **kwargs)

    monkeypatch.setattr(AgentTestWrapper, "put", keyed_put)


@pytest.fixture
def app(settings: Settings) -> RiskLoopApp:
    app = build_app(settings)
    app.finalize()
    app.conf.store = "memory://"
    app.flow_control.resume()
    app.worker.checkpoint.start_empty(settings.topics.partitions)  # no changelog to restore
    return app


def on_topic(agent: Any, topic: str) -> None:
    """The test context's messages come from ``topic`` (it would give them the agent's
    default, and the tasks agent reads two)."""
    from faust.types import TP

    make = agent.to_message

    def to_message(*args: Any, **kwargs: Any) -> Any:
        message = make(*args, **kwargs)
        message.topic, message.tp = topic, TP(topic, message.partition)
        return message

    agent.to_message = to_message


async def put_rekeyed(app: RiskLoopApp, items: list[tuple[bytes | None, bytes]]) -> None:
    """Feed re-keyed events (as captured on ``riskloop.rekeyed``) to the ``rekeyed`` agent,
    each message on that topic."""
    async with app.agents["rekeyed"].test_context() as agent:
        on_topic(agent, "riskloop.rekeyed")
        for key, value in items:
            await agent.put(value, key=key)

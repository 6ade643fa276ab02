"""The one producer factory: murmur2 always, and "delivered" only when the broker said so."""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import pytest

from infra.errors import InfraError
from infra.ports import free_port
from streams import producer as producer_module
from streams.producer import PARTITIONER, deliver, make_producer, producer_config

ROOT = Path(__file__).resolve().parents[3]


def test_doctests() -> None:
    result = doctest.testmod(producer_module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_config_always_pins_murmur2_and_keeps_extras() -> None:
    config = producer_config("127.0.0.1:9092", {"linger.ms": 50, "acks": "all"})
    assert config["partitioner"] == PARTITIONER == "murmur2_random"
    assert config["linger.ms"] == 50
    assert config["acks"] == "all"
    with pytest.raises(ValueError, match="murmur2_random"):
        producer_config("127.0.0.1:9092", {"partitioner": "consistent_random"})


def test_no_producer_is_built_outside_the_factory() -> None:
    """A hand-built producer is how dispositions went to the wrong partition: none may exist."""
    offenders = []
    for folder in ("streams", "bench", "sinks", "tests", "infra", "loop", "models", "rules"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "streams" / "producer.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name in ("Producer", "AIOKafkaProducer"):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "build producers with streams.producer.make_producer"


def test_deliver_raises_when_the_broker_never_acknowledges() -> None:
    """Nothing listens on the port: the record stays queued, so this is a failure, not "sent"."""
    dead = make_producer(f"127.0.0.1:{free_port()}", {"message.timeout.ms": 60_000})
    with pytest.raises(InfraError, match="did not acknowledge"):
        deliver(dead, "tasks.dispositions", b"task-1", b"{}", timeout=1)

"""What a decision sends: one :class:`Message` per output, as plain data.

The deciders of ``loop/decide/`` return these; the effect runner (``streams/effects.py``,
``run``) is what stores the sink copies and produces them. Defined here, not in ``streams/``,
so that a decider stays a pure function of its state and its message: building a message
sends nothing, it only names the topic (a field of ``streams.topics.Topics``), the key, the
record and the sink that keeps a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

DEPARTMENT = "department:"
"""Role prefix of a department's own task topic (``tasks.<department>``)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One output: for the topic of ``role`` (a field of streams.topics.Topics; ``""``: no
    topic, only the sink keeps it), with the sink that keeps a copy (``""``: none), and the
    record the JSON ``value`` was dumped from (the sinks take it as it is)."""

    role: str
    key: str
    value: str
    sink: str = ""
    record: BaseModel | None = None
    partition: int | None = None
    """Only for messages addressed to a partition rather than a key (the clock's ticks)."""


def output(
    role: str, key: str, value: BaseModel | str, sink: str = "", partition: int | None = None
) -> Message:
    """One message for the topic of ``role``, or for no topic (``role=""``) when only a sink
    keeps it.

    >>> output("ticks", "", "tick", partition=2).partition
    2
    """
    if isinstance(value, str):
        return Message(role, key, value, sink, None, partition)
    return Message(role, key, value.model_dump_json(), sink, value, partition)


def to_department(department: str, key: str, value: BaseModel, sink: str = "") -> Message:
    """A message for ``tasks.<department>``."""
    return output(DEPARTMENT + department, key, value, sink)

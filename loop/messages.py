"""What a decision sends: one :class:`Message` per output, as plain data.

The deciders of ``loop/decide/`` return these; the effect runner (``streams/effects.py``,
``run``) is what stores the sink copies and produces them. Defined here, not in ``streams/``,
so that a decider stays a pure function of its state and its message: building a message
sends nothing, it only names the topic (a field of ``streams.topics.Topics``), the key, the
record and the sink that keeps a copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel

DEPARTMENT = "department:"
"""Role prefix of a department's own task topic (``tasks.<department>``)."""


@dataclass(frozen=True, slots=True, eq=False)
class Message:
    """One output: for the topic of ``role`` (a field of streams.topics.Topics; ``""``: no
    topic, only the sink keeps it), with the sink that keeps a copy (``""``: none), and the
    record the JSON ``value`` was dumped from (the sinks take it as it is)."""

    role: str
    key: str
    text: str | None
    """The JSON value, or None until :attr:`value` is first asked for (see :func:`output`)."""
    sink: str = ""
    record: BaseModel | None = None
    partition: int | None = None
    """Only for messages addressed to a partition rather than a key (the clock's ticks)."""

    @property
    def value(self) -> str:
        """The record as JSON (dumped on first use when only a sink keeps the message)."""
        if self.text is None:
            assert self.record is not None  # output() leaves text unset only with a record
            object.__setattr__(self, "text", self.record.model_dump_json())
        return self.text  # type: ignore[return-value]  # set just above

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.role, self.key, self.value, self.sink, self.record, self.partition) == (
            other.role,
            other.key,
            other.value,
            other.sink,
            other.record,
            other.partition,
        )

    def __hash__(self) -> int:
        return hash((self.role, self.key, self.value, self.sink, self.record, self.partition))


def output(
    role: str, key: str, value: BaseModel | str, sink: str = "", partition: int | None = None
) -> Message:
    """One message for the topic of ``role``, or for no topic (``role=""``) when only a sink
    keeps it.

    A record only a sink keeps is not dumped here: the sinks take the record itself, and
    the dump of every warning change whole (its evidence and history; ~3 KB) was wasted
    work on each event's path. :attr:`Message.value` dumps it when something asks.

    >>> output("ticks", "", "tick", partition=2).partition
    2
    """
    if isinstance(value, str):
        return Message(role, key, value, sink, None, partition)
    if not role and sink:
        return Message(role, key, None, sink, value, partition)
    return Message(role, key, value.model_dump_json(), sink, value, partition)


def to_department(department: str, key: str, value: BaseModel, sink: str = "") -> Message:
    """A message for ``tasks.<department>``."""
    return output(DEPARTMENT + department, key, value, sink)

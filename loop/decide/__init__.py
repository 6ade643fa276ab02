"""The closed loop's deciders: ``(state, message, context) -> Decision`` (issue #16).

Each handler of the worker is one of these pure functions — an entity's warnings and a hit,
a task and a command or disposition, a warning and a disposal's feedback, a profile and a
profile event, and what time alone changes. A decider reads nothing but its arguments and
changes none of them: it returns the new state (the very object it was given when nothing
changed, so nothing is written) and the messages to send. One function in ``streams/``
(``streams/handle.py``, ``decide``) loads the state, calls the decider and stores the result;
the effect runner (``streams/effects.py``) sends the messages. So every decision here is a
unit test, and a state that is not stored cannot be half-written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from loop.loop_config import LoopConfig
    from loop.messages import Message
    from loop.notify.config import NotifyConfig
    from loop.routing import RoutingTable
    from loop.silences import Silence

S = TypeVar("S")


@dataclass(frozen=True)
class Context:
    """What a decision reads besides its state and its message: the loop's configuration and
    hot-loaded parts as they are at this event, and the time (the worker's clock, read once)."""

    config: LoopConfig
    now: datetime
    routing: RoutingTable | None = None
    silences: Sequence[Silence] = ()
    notify: NotifyConfig | None = None


@dataclass(frozen=True)
class Decision(Generic[S]):
    """A decider's answer: the state to store (``None``, or the state it was given: nothing
    to store) and what to send."""

    state: S | None
    messages: list[Message] = field(default_factory=list)

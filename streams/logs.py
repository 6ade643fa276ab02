"""Structured logging: JSON lines in production, readable lines on a terminal.

Correlation: every log line written while an event is being handled carries that event's
``correlation_id`` (bound through structlog's contextvars by the agent), and the alert and the
task it leads to carry the same id, so ``grep`` follows one event end to end.

Two things keep the JSON lines useful in an incident: an exception keeps its traceback as text
(``exception``), not the ``repr`` of a traceback object; and the Kafka clients' loggers, which
repeat the same connection error thousands of times a minute while a broker is away, are cut to
one line per distinct message per interval (:class:`RepeatFilter`).

A log line is data leaving RiskLoop like any other: every string value of every line (the
message, fields, a traceback's text, the Kafka clients' lines) goes through the masking policy
(:func:`mask_log_values`), so a complaint quoted in an error does not put a phone number in a
log store.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from schemas.validation.pii import mask_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from config.settings import Settings

REPEAT_INTERVAL = 60.0  # s: a repeated Kafka client line is written at most once per this
KAFKA_LOGGERS = ("aiokafka", "kafka", "faust.transport", "confluent_kafka", "librdkafka")
_REMEMBERED = 1024  # distinct messages kept; older ones are forgotten first


@dataclass
class _Repeats:
    since: float  # when the message was last written
    suppressed: int = 0  # how many times it came again since, unwritten


class RepeatFilter(logging.Filter):
    """Write a repeated line of the Kafka client loggers once per ``interval``.

    While a broker is unreachable aiokafka logs the same few connection errors for every
    fetch, metadata refresh and reconnect (about 9,650 lines a minute were seen), which buries
    every other line and fills disks. Per (logger, level, message) the first line is written;
    repeats inside ``interval`` are counted, not written; the next line of that message after
    the interval carries ``suppressed``: how many were held back. Other loggers pass untouched.

    >>> f = RepeatFilter(interval=60, clock=lambda: 0.0)
    >>> rec = lambda: logging.LogRecord("aiokafka", 40, "", 0, "Unable connect", None, None)
    >>> [f.filter(rec()) for _ in range(3)]
    [True, False, False]
    """

    def __init__(
        self,
        prefixes: tuple[str, ...] = KAFKA_LOGGERS,
        interval: float = REPEAT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.interval = interval
        self.clock = clock
        self._seen: dict[tuple[str, int, str], _Repeats] = {}

    def _limited(self, name: str) -> bool:
        return any(name == p or name.startswith(f"{p}.") for p in self.prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a repeat of a limited logger's line inside ``interval``; the first line after
        it carries ``suppressed``. Lines of other loggers always pass."""
        if not self._limited(record.name):
            return True
        key = (record.name, record.levelno, record.getMessage())
        now = self.clock()
        seen = self._seen.pop(key, None)  # re-inserted below: the dict stays in LRU order
        if seen is not None and now - seen.since < self.interval:
            seen.suppressed += 1
            self._seen[key] = seen
            return False
        if seen is not None and seen.suppressed:
            record.suppressed = seen.suppressed
        self._seen[key] = _Repeats(since=now)
        while len(self._seen) > _REMEMBERED:
            del self._seen[next(iter(self._seen))]
        return True


_STAMP = "timestamp"
"""The field :class:`structlog.processors.TimeStamper` writes: an ISO time with ``Z``, which no
masking rule can match (its longest run of digits joined by a space or hyphen is the 8 of the
date; every rule needs 10 or an ``@``). Masking it cost a full scan of every rule per line, and
its value, new on every line, pushed the strings the warnings reuse out of the masking cache."""


def mask_log_values(_logger: Any, _method: str, event: Any) -> Any:
    """A structlog processor: the line's fields through the ``masked`` view of the policy
    (all but the time stamp, which it leaves as it is: :data:`_STAMP`).

    >>> mask_log_values(None, "info", {"event": "rejected 13812345678", "n": 1})
    {'event': 'rejected 138****5678', 'n': 1}
    """
    if _STAMP not in event:
        return mask_for("masked", event)
    masked = mask_for("masked", {k: v for k, v in event.items() if k != _STAMP})
    return {k: v if k == _STAMP else masked[k] for k, v in event.items()}


_RENDERED = "riskloop_rendered"
"""Set on a stdlib record whose message is our structlog chain's finished line."""


def _to_stdlib(_logger: Any, _method: str, line: Any) -> tuple[tuple[str], dict[str, Any]]:
    """A structlog chain's last step: the finished line as the stdlib record's message,
    marked so :class:`_Formatter` writes it as it is."""
    return (line,), {"extra": {_RENDERED: True}}


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """Our own lines are rendered by the structlog chain before they reach the standard
    library (:func:`configure`): written as they are. The foreign loggers' lines (Faust, mode,
    aiokafka) go through the same steps here.

    Rendering once in the chain spares each of our lines the formatter's copy of the record,
    a second event dict and the meta fields (1.3 % of the worker's samples went to the "task
    opened" line, for about one task per twenty events)."""

    def format(self, record: logging.LogRecord) -> str:
        """The line our chain rendered, else the foreign record through the processors."""
        if getattr(record, _RENDERED, False):
            return str(record.msg)
        return super().format(record)


_CHAIN: list[Any] = []
"""The structlog chain, one list changed in place by :func:`configure`: a module's logger is
made once, on its first line (``cache_logger_on_first_use``: not a new bound logger per line),
and keeps this list, so a later :func:`configure` (another format, in tests) still reaches it."""


def configure(settings: Settings, *, stream: Any = None) -> None:
    """Set up structlog and route the stdlib loggers (Faust, aiokafka) through it.

    Our lines are rendered in structlog's chain, after a level check that drops a line the
    level filters before any field is merged, stamped or masked; the stdlib handler (filters,
    other handlers such as pytest's) receives the finished line. The stdlib loggers' lines
    are rendered by the handler's formatter with the same steps, so both read alike."""
    out = stream or sys.stderr
    fmt = settings.log_format
    if fmt == "auto":
        fmt = "console" if getattr(out, "isatty", lambda: False)() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # the console renderer prints exc_info itself; JSON needs it as text first, or it writes
    # the repr of the (type, value, traceback) tuple: "<traceback object at 0x…>"
    render: list[Any] = (
        [mask_log_values, structlog.dev.ConsoleRenderer(colors=False)]
        if fmt == "console"
        else [
            structlog.processors.format_exc_info,
            mask_log_values,  # after format_exc_info: a traceback's text is masked too
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    )
    _CHAIN[:] = [structlog.stdlib.filter_by_level, *shared, *render, _to_stdlib]
    structlog.configure(
        processors=_CHAIN,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        _Formatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(allow=["suppressed"])],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
        )
    )
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("aiokafka", "faust.transport", "mode", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger for ``name``: every module logs through it, so :func:`configure`
    decides format and level for all of them in one place."""
    return structlog.stdlib.get_logger(name)


@contextmanager
def correlation(correlation_id: str, **fields: Any) -> Iterator[None]:
    """Bind ``correlation_id`` (and more) to every log line inside the block."""
    tokens = structlog.contextvars.bind_contextvars(correlation_id=correlation_id, **fields)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)

"""Warning stage: hits and scores → the entity's warnings → alerts and task commands.

What an event does to an entity's warnings, and what that sends, is decided by
``loop/decide/warnings.py`` (pure); this stage groups an event's hits and scores by entity,
has each entity's warnings loaded, decided and stored (streams/handle.py), and counts and logs
the changes. A warning that needs a task sends an "open" command keyed by the deterministic
task id, once per warning epoch.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from loop.decide.warnings import Change, change_warnings, changes_by_entity, observations
from streams.handle import WARNINGS, Slot, context, decide
from streams.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loop.decide import Context
    from loop.subject import Subject
    from loop.warnings import EntityWarnings
    from schemas.records import Alert
    from streams.effects import Message
    from streams.scoring import Scored
    from streams.worker_context import WorkerContext

log = get_logger(__name__)
_STDLIB_LOG = logging.getLogger(__name__)  # what structlog's lines go through: its level
_NEWS = {"new", "escalated"}


def change_entity(
    worker: WorkerContext,
    entity: str,
    changes: Sequence[Change],
    ctx: Context,
    *,
    store_quiet: bool = True,
    slot: Slot[EntityWarnings] = WARNINGS,
) -> tuple[list[Alert], list[Message]]:
    """Apply ``changes`` to the entity's warnings (loaded, decided, stored: streams/handle.py);
    the alerts that changed and what to send. ``store_quiet=False`` (ticks): nothing is stored
    when no warning changed. ``slot``: where the warnings are read from (a tick hands those it
    read already, :class:`streams.handle.Held`)."""
    decision = decide(
        worker,
        slot,
        entity,
        lambda s: change_warnings(s, changes, ctx, store_quiet=store_quiet),
    )
    observe_warnings(worker, decision.alerts)
    return decision.alerts, decision.messages


async def raise_warnings(
    worker: WorkerContext,
    scored: Scored,
    *,
    historical: bool = False,
    subject: Subject | None = None,
) -> tuple[list[Alert], list[Message]]:
    """Fold every hit and alerting score into its entity's warnings; the changes and what
    to send.

    ``historical``: the event came from a backfill (streams/backfill.py): no task.
    ``subject``: the name, address and masked complaint text the event carried.

    Most events change no warning (no hit, no alerting score): they return before the
    decision context (the clock, the silences) is made."""
    if not observations(scored.hits, scored.scores):
        return [], []
    ctx = context(worker)
    by_entity = changes_by_entity(
        scored.hits, scored.scores, ctx, historical=historical, subject=subject
    )
    published: list[Alert] = []
    outputs: list[Message] = []
    for entity, changes in by_entity.items():
        alerts, out = change_entity(worker, entity, changes, ctx)
        published += alerts
        outputs += out
    return published, outputs


def observe_warnings(worker: WorkerContext, alerts: list[Alert]) -> None:
    """Count every warning change; log the news (new, escalated) at info, the rest at debug.

    A debug line is only made when the level lets it through: structlog runs its whole
    processor chain (context, time stamp) before the standard library drops the line, which
    for the ~90 % of changes that are routine cost more than counting them."""
    m = worker.runtime.metrics
    debug = _STDLIB_LOG.isEnabledFor(logging.DEBUG)
    for alert in alerts:
        m.warnings.labels(
            alert.level.value, alert.source, alert.state.value, (alert.region_code or "")[:4]
        ).inc()
        # new and escalated warnings are news for an operator; routine updates are debug
        news = alert.state.value in _NEWS
        if news or debug:
            (log.info if news else log.debug)(
                "warning",
                alert_id=alert.alert_id,
                state=alert.state.value,
                # not ``level``: structlog's own field (the line's log level) overwrote it
                warning_level=alert.level.value,
            )

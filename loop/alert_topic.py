"""What the ``alerts`` topic carries: the records people and systems act on, in brief.

Every change of a warning goes to the SQL store (the API, ``riskloop alerts show`` and the
detail views read it there, whole). The topic is a stream to act on, so it carries a record
when the warning's notice policy says so (``Alert.notify``: new, a level change, a silence, the
end, a reason joining once per ``group_interval``, more occurrences once per
``repeat_interval``) or when what a consumer keys its actions on moved — the state, the level,
the case it joined, live or historical, a rule or model joining its reasons — even where no person need be told (a silenced
warning ending). A count going up between two notices is not re-sent: in the 2026-12-02 bench
that was most of the topic's 0.54 messages per input event.

A topic record is brief (:func:`brief`): the evidence ids, reasons and what changed, without
the last evidence records in full and the history of notices, which the SQL record keeps and
which made the alerts topic 1.97× the bytes of the whole input.

Both are decisions on the entity's state (the warning remembers what the topic last carried),
so an event redone after a crash publishes the same records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.records import Alert, AlertState

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loop.warnings import EntityWarnings

_CHANGES = {AlertState.new, AlertState.updated, AlertState.escalated, AlertState.deescalated}


def mark(alert: Alert) -> str:
    """What a consumer keys its actions on; a record goes out when it moves: the state, the
    level, the case, live or historical, and which rules and models are its reasons. New,
    updated, escalated and de-escalated are all "active" here (a level change moves the level).

    >>> from datetime import datetime
    >>> t = datetime(2026, 6, 1)
    >>> a = Alert(alert_id="A", fingerprint="F", state="new", level="yellow", source="s",
    ...           entity="E", item_code="I", title="t", first_seen=t, last_seen=t)
    >>> mark(a)
    'active|yellow||live|'
    """
    state = "active" if alert.state in _CHANGES else alert.state.value
    life = "historical" if alert.historical else "live"
    reasons = ",".join(sorted({f"{r.kind}:{r.id}" for r in alert.reasons}))
    return f"{state}|{alert.level.value}|{alert.case_task_id or ''}|{life}|{reasons}"


def to_publish(
    state: EntityWarnings, alerts: Sequence[Alert]
) -> tuple[EntityWarnings, list[Alert]]:
    """The alerts of ``alerts`` the topic carries, and the state that remembers the last one
    per warning (``WarningState.published``). A warning's later records in the same call are
    compared with the earlier ones, so two changes in one event publish at most what moved."""
    out: list[Alert] = []
    marks: dict[str, str] = {}
    for alert in alerts:
        w = state.warnings.get(alert.fingerprint)
        last = marks.get(alert.fingerprint, w.published if w is not None else None)
        now = mark(alert)
        if alert.notify or now != last:
            out.append(alert)
            marks[alert.fingerprint] = now
    if not marks:
        return state, out
    warnings = dict(state.warnings)
    for fp, m in marks.items():
        if fp in warnings:
            warnings[fp] = warnings[fp].model_copy(update={"published": m})
    return state.model_copy(update={"warnings": warnings}), out


def brief(alert: Alert) -> Alert:
    """The topic's form of a record: without the evidence records and the notice history
    (the SQL record keeps both)."""
    if not alert.evidence_records and not alert.history:
        return alert
    return alert.model_copy(update={"evidence_records": [], "history": []})

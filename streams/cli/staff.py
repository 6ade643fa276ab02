"""Commands for the risk centre's staff: one warning in full, the task list.

``riskloop alerts show ID`` prints a warning with the enterprise's name and address, the
complaint behind it (masked), its reasons (rule pack or model, version, hash, the values that
made it fire), its evidence events in brief (time, source, the values that fired), its history
of notified changes, and its task with the task's audit trail; ``riskloop tasks list
--department D --state S`` the tasks nearest their deadline first, with name and address. Both read the SQL task store, as ``GET /api/warnings/{id}`` and
``GET /api/tasks`` do; times are Beijing time with ``+08:00`` written out, ids in full.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from schemas.errors import ConfigError
from schemas.records import TaskState
from streams.cli.common import console, settings
from streams.cli.lines import beijing, who


def alerts_show(alert_id: str) -> None:
    """A warning in full: reasons and versions, evidence, last change, its task and audit."""
    from loop import ids
    from sinks.sql import SqlStore

    store = SqlStore.from_settings(settings())
    try:
        alert = store.get_alert(alert_id)
        own = ids.task_id(alert_id)
        story = store.task_with_audit(alert.case_task_id or own) if alert else None
    finally:
        store.close()
    if alert is None:
        raise ConfigError(f"no warning {alert_id} in the task store")
    flags = [
        f for f, on in (("historical", alert.historical), ("safety alarm", alert.safety)) if on
    ]
    out = console.print
    out(f"{alert.level.value.upper()} {alert.state.value} {alert.title}", markup=False)
    out(
        f"  id {alert.alert_id} · {alert.source} · entity {alert.entity}"
        + (f" · USCC {alert.uscc}" if alert.uscc else "")
        + (f" · region {alert.region_code}" if alert.region_code else "")
        + (f" · {', '.join(flags)}" if flags else ""),
        markup=False,
    )
    out(
        f"  {who(alert.entity_name, alert.entity_address) or 'enterprise: not named by any event'}",
        markup=False,
    )
    if alert.complaint_text:
        out(f"  complaint: {alert.complaint_text}", markup=False)
    out(
        f"  {alert.occurrences} occurrence(s), first {beijing(alert.first_seen)}, "
        f"last {beijing(alert.last_seen)}",
        markup=False,
    )
    if alert.changes:
        out(f"  last change: {'; '.join(alert.changes)}", markup=False)
    if alert.suppressed_by:
        out(f"  suppressed by {alert.suppressed_by}", markup=False)
    reasons = Table("kind", "id", "version", "hash", "values")
    for r in alert.reasons:
        pack = f"{r.pack}@" if r.pack else ""
        values = ", ".join(f"{k}={v}" for k, v in r.values.items())
        reasons.add_row(r.kind, r.id, f"{pack}{r.version}", r.content_hash[:16], values)
    out(reasons)
    out(f"  evidence: {', '.join(alert.evidence) or '-'}", markup=False)
    if alert.evidence_records:
        records = Table("time (+08:00)", "source", "event", "fired", "values")
        for e in alert.evidence_records:
            values = ", ".join(f"{k}={v}" for k, v in e.values.items())
            records.add_row(beijing(e.event_time), e.source, e.event_id, e.reason, values)
        out(records)
    if alert.history:
        out("  history (+08:00):", markup=False)
    for change in alert.history:
        out(
            f"    {beijing(change.at)} {change.state.value} {change.level.value}"
            + (f": {'; '.join(change.changes)}" if change.changes else ""),
            markup=False,
        )
    if story is None or story.task is None:
        why = "historical (backfill)" if alert.historical else "none yet or not tasked"
        out(f"  task: {why}", markup=False)
        return
    t = story.task
    if alert.case_task_id:
        out("  joined the case of another warning on this entity (same event):", markup=False)
    out(
        f"  task {t.task_id} → {t.department} · {t.state.value} · sign by "
        f"{beijing(t.sign_deadline)} · dispose by {beijing(t.dispose_deadline)}",
        markup=False,
    )
    for ev in story.events:
        out(
            f"    {beijing(ev.at)} {ev.actor}: {ev.from_state.value if ev.from_state else '-'} → "
            f"{ev.to_state.value}{f' ({ev.reason})' if ev.reason else ''}",
            markup=False,
        )
    for n in story.notifications:
        told = "notified" if n.outcome == "sent" else "not delivered"
        out(
            f"    {beijing(n.at)} notify → {n.receiver}: {told} ({n.step}, attempt {n.attempt})",
            markup=False,
        )


def tasks_list(
    department: Annotated[str | None, typer.Option(help="only this department's tasks")] = None,
    state: Annotated[TaskState | None, typer.Option(help="only tasks in this state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many")] = 100,
) -> None:
    """Tasks from the task store, nearest disposal deadline first (Beijing time, full ids)."""
    from sinks.sql import SqlStore

    store = SqlStore.from_settings(settings())
    try:
        tasks = store.list_tasks(department, state.value if state else None, limit)
    finally:
        store.close()
    table = Table(
        "task",
        "department",
        "state",
        "level",
        "dispose by (+08:00)",
        "title",
        "entity",
        "enterprise",
    )
    for t in tasks:
        table.add_row(
            t.task_id,
            t.department,
            t.state.value,
            t.level.value,
            beijing(t.dispose_deadline),
            t.title,
            t.entity,
            who(t.entity_name, t.entity_address),
        )
    console.print(table)
    console.print(f"{len(tasks)} task(s)")


def register(app: typer.Typer) -> None:
    """Add the SQL-store readers (``alerts show``, ``tasks list``) to the groups of
    :mod:`streams.cli.loop`: ``riskloop tasks`` is one group though its commands live in two
    modules."""
    from streams.cli.loop import alerts_app, tasks_app

    alerts_app.command("show")(alerts_show)
    tasks_app.command("list")(tasks_list)

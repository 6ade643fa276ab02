"""Read-only queries: the slice of the SQL task store (``sinks/sql_tables.py``) a report needs.

Only SELECTs, through the same engine settings as the worker's store (SQLite or PostgreSQL),
so a report can run beside a live worker and never block or change it. A scope narrows the
rows to what the person asking may read (``console.reports.scope``); the aggregation is done
elsewhere, in pure code (``console.reports.aggregate``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from console.reports.records import AlertRow, EventRow, History, Period, TaskRow
from sinks import sql_tables
from sinks.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.engine import Connection, Engine

    from console.reports.scope import Scope


def load_history(engine: Engine, period: Period, scope: Scope) -> History:
    """Everything a report of ``period`` needs, restricted to ``scope``.

    Tasks: every task created before the period's end that was not already closed before its
    start (a task's events tell when), with all of its events. Warnings: those first seen in
    the period (shadow ones left out), and those whose task was disposed in it.
    """
    try:
        if not sa.inspect(engine).has_table(sql_tables.task_events.name):
            return History()  # no worker has created the store yet: nothing happened
        with engine.connect() as conn:
            tasks = _tasks(conn, period, scope)
            events = _events(conn, [t.task_id for t in tasks])
            disposed = {
                e.task_id for e in events if e.to_state == "disposed" and _within(e.at, period)
            }
            ended_ids = [t.alert_id for t in tasks if t.task_id in disposed]
            return History(
                alerts=tuple(_alerts(conn, _new_in(period), scope)),
                tasks=tuple(tasks),
                events=tuple(events),
                ended_alerts=tuple(
                    _alerts(conn, sql_tables.alerts.c.alert_id.in_(ended_ids), scope)
                ),
            )
    except sa.exc.SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        first = (
            str(cause).strip().splitlines()[0][:200] if str(cause).strip() else type(cause).__name__
        )
        raise StoreError(f"SQL store: cannot read the report's rows: {first}") from exc


def _within(at: datetime, period: Period) -> bool:
    return period.start <= at < period.end


def _new_in(period: Period) -> Any:
    a = sql_tables.alerts
    return sa.and_(a.c.first_seen >= period.start, a.c.first_seen < period.end)


def _alerts(conn: Connection, where: Any, scope: Scope) -> list[AlertRow]:
    a = sql_tables.alerts
    query = sa.select(a.c.body).where(where, a.c.shadow.is_(False)).order_by(a.c.alert_id)
    if scope.regions is not None:
        query = query.where(
            sa.or_(
                sa.false(),
                *(a.c.region_code.startswith(r, autoescape=True) for r in scope.regions),
            )
        )
    return [_alert(body) for body in conn.execute(query).scalars()]


def _alert(body: Mapping[str, Any]) -> AlertRow:
    rules = sorted(
        f"{r['pack']}/{r['id']}" if r.get("pack") else r["id"]
        for r in body.get("reasons", [])
        if r.get("kind") == "rule"
    )
    models = sorted(
        f"{r['id']}@{r['version']}" for r in body.get("reasons", []) if r.get("kind") == "model"
    )
    return AlertRow(
        alert_id=body["alert_id"],
        state=body["state"],
        level=body["level"],
        source=body["source"],
        region_code=body.get("region_code"),
        uscc=body.get("uscc"),
        entity_name=body.get("entity_name"),
        occurrences=body.get("occurrences", 1),
        first_seen=datetime.fromisoformat(body["first_seen"]),
        rules=tuple(rules),
        models=tuple(models),
    )


def _tasks(conn: Connection, period: Period, scope: Scope) -> list[TaskRow]:
    t, ev = sql_tables.tasks, sql_tables.task_events
    closed_before = (
        sa.select(ev.c.task_id).where(ev.c.to_state == "closed", ev.c.at < period.start)
    ).scalar_subquery()
    reopened_since = (
        sa.select(ev.c.task_id).where(ev.c.to_state == "reopened", ev.c.at >= period.start)
    ).scalar_subquery()
    query = (
        sa.select(
            t.c.task_id,
            t.c.alert_id,
            t.c.department,
            t.c.state,
            t.c.level,
            t.c.created_at,
            t.c.sign_deadline,
            t.c.dispose_deadline,
        )
        .where(t.c.created_at < period.end)
        .where(
            sa.or_(
                t.c.state != "closed",
                t.c.task_id.not_in(closed_before),
                t.c.task_id.in_(reopened_since),
            )
        )
        .order_by(t.c.task_id)
    )
    if scope.department is not None:
        query = query.where(t.c.department == scope.department)
    return [TaskRow.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def _events(conn: Connection, task_ids: list[str]) -> list[EventRow]:
    ev = sql_tables.task_events
    out: list[EventRow] = []
    for chunk in range(0, len(task_ids), 500):  # bounded IN lists (SQLite's variable limit)
        ids = task_ids[chunk : chunk + 500]
        query = (
            sa.select(
                ev.c.seq,
                ev.c.task_id,
                ev.c.at,
                ev.c.from_state,
                ev.c.to_state,
                ev.c.department,
                ev.c.reason,
            )
            .where(ev.c.task_id.in_(ids))
            .order_by(ev.c.seq)
        )
        out.extend(EventRow.model_validate(dict(row)) for row in conn.execute(query).mappings())
    out.sort(key=lambda e: e.seq)
    return out

"""``riskloop notifications list|retry``: the notification queue in the task store, for operators.

Plain lines (``typer.echo``): one per notification, whole, so a terminal of any width and grep
read them.

Sending retries forever with backoff (README "Notifications"), so a receiver that was away has a
backlog rather than losses; this shows it: per receiver how many wait, and each notification
with its attempts, next attempt and last error; and ``retry`` sends failed ones now instead of
after their backoff, once the receiver is known to be back. The audit of every attempt of one
warning or task stays in ``riskloop tasks show``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Literal

import typer

from streams.cli.common import me, settings

app = typer.Typer(
    help="The notification queue: what waits, for whom, and why.", no_args_is_help=True
)


@app.command("list")
def list_notifications(
    status: Annotated[
        Literal["pending", "sent"] | None, typer.Option(help="only pending or only sent ones")
    ] = None,
    receiver: Annotated[str | None, typer.Option(help="only this receiver's")] = None,
    limit: Annotated[int, typer.Option(min=1, help="the newest N")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """The backlog per receiver, then the newest notifications (only pending or only sent ones
    with ``--status``, one receiver's with ``--receiver``)."""
    from sinks.notify.queue import NotificationQueue
    from sinks.sql import SqlStore

    store = SqlStore.from_settings(settings())
    if not store.has_table("notifications"):  # no worker has created the store yet
        typer.echo("pending per receiver: none (no worker has created the task store yet)")
        return
    queue = NotificationQueue(store, owner="riskloop-cli")
    rows = queue.listed(status=status, receiver=receiver, limit=limit)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False, default=str))
        return
    backlog = queue.backlog()
    waiting = ", ".join(f"{name} {n}" for name, n in sorted(backlog.items())) or "none"
    typer.echo(f"pending per receiver: {waiting}")
    for row in rows:
        if row["status"] == "sent":
            when = f"sent {row['sent_at']:%Y-%m-%d %H:%M:%S}"
        else:
            when = f"next {row['next_attempt_at']:%Y-%m-%d %H:%M:%S}"
        error = f"  last error: {row['last_error']}" if row["last_error"] else ""
        typer.echo(
            f"{row['created_at']:%Y-%m-%d %H:%M}  {row['receiver']}  {row['kind']} {row['level']}"
            f"  {row['subject_id']}  {row['status']}, {row['attempts']} attempts, {when}{error}"
        )


@app.command("retry")
def retry(
    intent_ids: Annotated[
        list[str] | None, typer.Argument(help="notification ids (intent_id in `list --json`)")
    ] = None,
    receiver: Annotated[
        str | None, typer.Option(help="every failed notification of this receiver")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="who asks, for the audit trail (default: your login)")
    ] = None,
) -> None:
    """Send failed notifications now, not after their backoff: the named ones, or every one of
    ``--receiver`` that has failed and still waits (after the receiver is back). A worker's
    sender takes them on its next pass; each gets an audit row naming ``--by``."""
    from sinks.notify.queue import NotificationQueue
    from sinks.sql import SqlStore

    if not intent_ids and receiver is None:
        raise typer.BadParameter("name notification ids or a --receiver", param_hint="IDS")
    s = settings()
    store = SqlStore.from_settings(s)
    if not store.has_table("notifications"):
        typer.echo("no notification to retry: no worker has created the task store yet", err=True)
        raise typer.Exit(1)
    queue = NotificationQueue(store, owner="riskloop-cli")
    found = queue.retry_now(
        datetime.now(UTC), by or me(), intent_ids=intent_ids or (), receiver=receiver
    )
    if not found:
        typer.echo(
            "no failed notification waits among those named (never tried, already sent or "
            "unknown: `riskloop notifications list --status pending`)",
            err=True,
        )
        raise typer.Exit(1)
    missing = sorted(set(intent_ids or ()) - set(found))
    typer.echo(
        f"{len(found)} notification(s) due now: {', '.join(found)}; a worker sends them within "
        f"{s.notify_poll_interval:g} s"
    )
    if missing:
        typer.echo(f"not retried (never tried, already sent or unknown): {', '.join(missing)}")

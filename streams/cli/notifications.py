"""``riskloop notifications list``: the notification queue in the task store, for operators.

Plain lines (``typer.echo``): one per notification, whole, so a terminal of any width and grep
read them.

Sending retries forever with backoff (README "Notifications"), so a receiver that was away has a
backlog rather than losses; this shows it: per receiver how many wait, and each notification
with its attempts, next attempt and last error. The audit of every attempt of one warning or
task stays in ``riskloop tasks show``.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer

from streams.cli.common import settings

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

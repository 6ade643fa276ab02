"""How ``rules publish`` reports the live workers' answers (streams/hotload_answers.py)."""

from __future__ import annotations

from datetime import datetime

from streams.cli.common import console, fail
from streams.hotload_answers import Answers


def report_answers(what: str, answers: Answers) -> None:
    """One line per worker; exit 1 if one refused (with its reason), 3 if one did not answer."""
    if answers.expected == 0:
        console.print(f"published {what}; no worker is running: each loads it when it starts")
        return
    for worker, record in sorted(answers.by_worker.items()):
        why = f": {record['reason']}" if record.get("reason") else ""
        console.print(f"  {worker}: {record['status']}{why}", markup=False)
    if answers.refused:
        first = answers.refused[0]
        fail(
            f"published {what}, but {len(answers.refused)} of {answers.expected} live worker(s) "
            f"refused it: {first['reason']} (worker {first['worker']}); it keeps running the "
            "version it had",
            code=1,
        )
    if not answers.complete:
        fail(
            f"published {what}; {len(answers.by_worker)} of {answers.expected} live worker(s) "
            "answered in time (see `riskloop status`)",
            code=3,
        )
    statuses = {r["status"] for r in answers.by_worker.values()}
    if statuses == {"unchanged"}:
        console.print(f"{what} is already active on every worker: nothing changed")
    else:
        console.print(f"published {what}: accepted by {answers.expected} live worker(s)")


def age_of(at: object, now: datetime) -> str:
    """How long ago a status record was written, readable ("3m12s", "2d4h"); "?" if unknown.

    >>> from datetime import UTC
    >>> age_of("2026-12-02T10:00:00+00:00", datetime(2026, 12, 2, 10, 3, 12, tzinfo=UTC))
    '3m12s'
    >>> age_of("2026-11-30T06:00:00+00:00", datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    '2d4h'
    >>> age_of(None, datetime(2026, 12, 2, tzinfo=UTC))
    '?'
    """
    try:
        then = datetime.fromisoformat(str(at))
        seconds = int((now - then).total_seconds())
    except (TypeError, ValueError):
        return "?"
    if seconds < 0:
        return "0s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"

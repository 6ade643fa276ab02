"""What every worker runs and what it refused: the rows of ``riskloop status`` and of the
console's 模型与规则 page.

Each worker answers every hot-load on ``control.status`` with a signed record keyed
``worker|kind|name`` (``streams.control.status_record``): ``accepted``/``active`` with the version
it now runs, or ``refused`` (with the reason), ``drift``/``demoted`` (a model the drift monitor
flagged), ``removed``. The topic is compacted, so it keeps the latest record per key, and a
refusal is keyed like the acceptance before it: the latest record alone (``riskloop status``)
would hide which version still runs after a refused publication — the very moment a modeller
or an operator opens this page. So the records are read in order (oldest first, as
``streams.publish.status_records`` yields them) and each row keeps both: the version running and,
if later, what happened since. The console leaves silences out (they have their own place on
each warning's page); ``riskloop status`` shows them too (``kinds``).

>>> rows = summarise([
...     {"worker": "w1", "kind": "rulepack", "name": "food", "version": "1.0.0",
...      "status": "active", "reason": "", "at": "2026-12-07T23:00:00+00:00"},
...     {"worker": "w1", "kind": "rulepack", "name": "food", "version": "",
...      "status": "refused", "reason": "signature unsigned: no signer header",
...      "at": "2026-12-07T23:05:00+00:00"},
... ])
>>> rows[0].version, rows[0].event, rows[0].event_reason
('1.0.0', 'refused', 'signature unsigned: no signer header')
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

KINDS = ("rulepack", "model", "fenceset", "calendar")
"""The hot-loaded kinds the console shows, in this order (silences have a place of their own)."""
ALL_KINDS = (*KINDS, "silence")
"""Every kind a worker answers for, in the order ``riskloop status`` lists them."""
RUNNING = frozenset({"active", "accepted", "unchanged"})
"""Statuses that say which version runs (``unchanged``: a republish of what already ran)."""
EVENTS = frozenset({"refused", "drift", "demoted", "removed", "expired"})
"""Statuses that say something happened to what runs."""


@dataclass(frozen=True)
class ControlRow:
    """One hot-loaded thing on one worker: the version it runs, and what happened since."""

    kind: str
    name: str
    worker: str
    version: str = ""
    """The version running (empty: none known, e.g. removed, or only a refusal was seen)."""
    since: str = ""
    """When the worker said it runs it (ISO, UTC)."""
    note: str = ""
    """What the acceptance said (a shadow model: "shadow: scores beside the live model")."""
    event: str = ""
    """A later ``refused``, ``drift``, ``demoted``, ``removed`` or ``expired``, if any."""
    event_reason: str = ""
    event_at: str = ""


def summarise(
    records: Iterable[Mapping[str, Any]], kinds: Sequence[str] = KINDS
) -> list[ControlRow]:
    """Rows for ``records`` (``control.status``, oldest first) of ``kinds``, by kind (in that
    order), name and worker; records of other kinds, and malformed ones, are skipped."""
    rows: dict[tuple[str, str, str], ControlRow] = {}
    for record in records:
        try:
            kind, name, worker = str(record["kind"]), str(record["name"]), str(record["worker"])
            status, version = str(record["status"]), str(record.get("version") or "")
        except KeyError:
            continue
        if kind not in kinds:
            continue
        key = (kind, name, worker)
        row = rows.get(key) or ControlRow(kind, name, worker)
        at, reason = str(record.get("at") or ""), str(record.get("reason") or "")
        if status in RUNNING and version:  # a version-less answer says nothing of what runs
            row = ControlRow(kind, name, worker, version=version, since=at, note=reason)
        elif status in {"removed", "expired"}:
            row = ControlRow(kind, name, worker, event=status, event_reason=reason, event_at=at)
        elif status in EVENTS:
            row = replace(row, event=status, event_reason=reason, event_at=at)
        rows[key] = row
    order = {kind: i for i, kind in enumerate(kinds)}
    return sorted(rows.values(), key=lambda r: (order[r.kind], r.name, r.worker))

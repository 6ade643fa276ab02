"""What every worker runs and what it refused: the rows of the console's 模型与规则 page.

Each worker answers every hot-load on ``control.status`` with a signed record keyed
``worker|kind|name`` (``streams.control.status_record``): ``accepted``/``active`` with the version
it now runs, or ``refused`` (with the reason), ``drift``/``demoted`` (a model the drift monitor
flagged), ``removed``. The topic is compacted, so it keeps the latest record per key, and a
refusal is keyed like the acceptance before it: the latest record alone (``riskloop status``)
would hide which version still runs after a refused publication — the very moment a modeller
or an operator opens this page. So the records are read in order (oldest first, as
``streams.publish.status_records`` yields them) and each row keeps both: the version running and,
if later, what happened since. Silences are left out: they have their own place on each
warning's page and in ``riskloop silence list``.

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
    from collections.abc import Iterable, Mapping

KINDS = {"rulepack": "规则包", "model": "模型", "fenceset": "围栏", "calendar": "放假安排"}
"""The kinds shown, in this order, with their Chinese names (silences are not shown here)."""
RUNNING = frozenset({"active", "accepted", "unchanged"})
"""Statuses that say which version runs (``unchanged``: a republish of what already ran)."""
EVENTS = {"refused": "被拒绝", "drift": "漂移", "demoted": "已降级", "removed": "已撤回"}
"""Statuses that say something happened to what runs, and their Chinese names."""


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
    """A later ``refused``, ``drift``, ``demoted`` or ``removed``, if any."""
    event_reason: str = ""
    event_at: str = ""

    @property
    def kind_zh(self) -> str:
        """The kind's Chinese name."""
        return KINDS.get(self.kind, self.kind)

    @property
    def event_zh(self) -> str:
        """The event's Chinese name (empty when nothing happened since)."""
        return EVENTS.get(self.event, self.event)


def summarise(records: Iterable[Mapping[str, Any]]) -> list[ControlRow]:
    """Rows for ``records`` (``control.status``, oldest first), by kind (:data:`KINDS` order),
    name and worker; records of other kinds, and malformed ones, are skipped."""
    rows: dict[tuple[str, str, str], ControlRow] = {}
    for record in records:
        try:
            kind, name, worker = str(record["kind"]), str(record["name"]), str(record["worker"])
            status, version = str(record["status"]), str(record.get("version") or "")
        except KeyError:
            continue
        if kind not in KINDS:
            continue
        key = (kind, name, worker)
        row = rows.get(key) or ControlRow(kind, name, worker)
        at, reason = str(record.get("at") or ""), str(record.get("reason") or "")
        if status in RUNNING and (version or status != "unchanged"):
            row = ControlRow(kind, name, worker, version=version, since=at, note=reason)
        elif status == "removed":
            row = ControlRow(kind, name, worker, event=status, event_reason=reason, event_at=at)
        elif status in EVENTS:
            row = replace(row, event=status, event_reason=reason, event_at=at)
        rows[key] = row
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(rows.values(), key=lambda r: (order[r.kind], r.name, r.worker))

"""The worker's Faust tables, declared once. Values are JSON (pydantic ``model_dump``) so a
table survives restarts and rebalances through its changelog topic.

Co-partitioning: every table is written while handling an event whose key is the table key
(source topics are keyed by USCC, equipment code or plate; internal topics by task id, entity
or USCC), so a key's state lives on the partition that owns that key's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TableT

TABLE_NAMES = ("dedup", "rule_state", "vehicles", "warnings", "tasks", "profiles", "precision")


def changelog_topic(app_id: str, table: str) -> str:
    """Faust's name for a table's changelog topic (we pre-create them: see streams/admin.py)."""
    return f"{app_id}-{table}-changelog"


@dataclass(frozen=True)
class Tables:
    dedup: TableT[str, Any]  # event id → event time (epoch s)
    rule_state: TableT[str, Any]  # "<rule>|<entity>" → window state
    vehicles: TableT[str, Any]  # "<fence set>|<plate>" → VehicleState dict
    warnings: TableT[str, Any]  # entity → EntityWarnings
    tasks: TableT[str, Any]  # task id → TaskCase
    profiles: TableT[str, Any]  # USCC → EntityProfile
    precision: TableT[str, Any]  # "<pack>/<rule>" → {confirmed, false_alarm}


def declare(app: faust.App, partitions: int) -> Tables:
    def table(name: str, help_: str) -> TableT[str, Any]:
        # key_type str and no value model: Faust serialises both as JSON
        return app.Table(name, default=None, partitions=partitions, key_type=str, help=help_)

    return Tables(
        dedup=table("dedup", "source event ids seen within the dedup window"),
        rule_state=table(
            "rule_state", "window/duration/absence/sequence state per rule and entity"
        ),
        vehicles=table("vehicles", "per-vehicle geo state per fence set"),
        warnings=table("warnings", "warnings per entity"),
        tasks=table("tasks", "task cases by task id"),
        profiles=table("profiles", "entity profiles (一企一档) by USCC"),
        precision=table("precision", "rule precision counters from dispositions"),
    )

"""The worker's tables, declared once: named views of the partition store (streams/state.py).

Values are JSON (pydantic ``model_dump(mode="json")``): the checkpoint writes each changed key to
the state changelog as JSON once per commit (streams/checkpoint.py), and a worker that takes a
partition reads it back from there.

Co-partitioning: every table is written while handling an event whose key is the table key
(source topics are keyed by USCC, equipment code or plate; internal topics by task id, entity
or USCC), so a key's state lives on the partition that owns that key's events.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from streams.checkpoint import changelog_topic, decode, split_key
from streams.state import Store, TableView

__all__ = ["Tables", "changelog_topic", "changelog_value", "declare"]


@dataclass(frozen=True)
class Tables:
    """The worker's tables, one attribute each: the one list of them, so ``worker.tables.x``
    for a table that does not exist is a type error, not an empty table at run time."""

    dedup: TableView  # bucket → {event id: event time (epoch s)} (streams/dedup.py)
    rule_state: TableView  # "<rule>|<entity>" → window state
    vehicles: TableView  # "<fence set>|<plate>" → VehicleState (a dict once restored)
    warnings: TableView  # entity → EntityWarnings
    tasks: TableView  # task id → TaskCase
    profiles: TableView  # USCC → EntityProfile
    precision: TableView  # "<pack>/<rule>" → {confirmed, false_alarm}
    clocks: TableView  # "<source>|<partition>" → newest event time (streams/clocks.py)


TABLE_NAMES = tuple(f.name for f in fields(Tables))


def declare(store: Store) -> Tables:
    """Every table of :class:`Tables` as a view of ``store``."""
    return Tables(**{name: TableView(store, name) for name in TABLE_NAMES})


def changelog_value(key: bytes, data: bytes | None) -> tuple[str, str, object]:
    """``(table, key, value)`` of one state changelog record, for tools that read the topic
    without a worker (``riskloop sample``). Raises ``ValueError`` for a record that is not one
    (the checkpoint's markers included)."""
    table, name = split_key(key)
    return table, name, None if data is None else decode(data)

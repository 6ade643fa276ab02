"""The worker's Faust tables, declared once. Values are JSON (pydantic ``model_dump``) so a
table survives restarts and rebalances through its changelog topic.

Every table is wrapped in a journal (streams/once.py) so that an event redelivered after a
crash neither counts twice nor loses its outputs.

Co-partitioning: every table is written while handling an event whose key is the table key
(source topics are keyed by USCC, equipment code or plate; internal topics by task id, entity
or USCC), so a key's state lives on the partition that owns that key's events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.serializers import codecs
from faust.types import TP, TableT

from streams.codec import register as register_codec
from streams.once import Journal, Mode, value_of

TABLE_NAMES = ("dedup", "rule_state", "vehicles", "warnings", "tasks", "profiles", "precision")
"""The journalled tables."""
ALL_TABLES = (*TABLE_NAMES, "clocks")

STORE_OPTIONS: dict[str, int] = {
    "write_buffer_size": 4 * 1024**2,
    "max_write_buffer_number": 2,
    "block_cache_size": 8 * 1024**2,
    "block_cache_compressed_size": 1024**2,
}
"""RocksDB per table partition. Faust's defaults (64 MB write buffers, up to three of them,
and a 2 GB block cache, *per partition of every table*) let a worker with 8 tables × 4
partitions grow past 2 GB as the journal's values filled the write buffers."""


def changelog_topic(app_id: str, table: str) -> str:
    """Faust's name for a table's changelog topic (we pre-create them: see streams/admin.py)."""
    return f"{app_id}-{table}-changelog"


def changelog_value(data: bytes) -> Any:
    """A journalled table's value from its changelog bytes (the table codec, then the journal's
    own unwrapping): for tools that read a changelog topic without a worker (``riskloop sample``).
    Raises ``ValueError`` for bytes that are not such a value."""
    return value_of(codecs.loads(register_codec(), data))


@dataclass(frozen=True)
class Tables:
    dedup: Journal  # event id → event time (epoch s)
    rule_state: Journal  # "<rule>|<entity>" → window state
    vehicles: Journal  # "<fence set>|<plate>" → VehicleState dict
    warnings: Journal  # entity → EntityWarnings (replayed, not rewound: several inputs)
    tasks: Journal  # task id → TaskCase (replayed: commands, dispositions, ticks)
    profiles: Journal  # USCC → EntityProfile
    precision: Journal  # "<pack>/<rule>" → {confirmed, false_alarm}
    clocks: Any  # "<source>|<partition>" → newest event time (a maximum: no journal needed)

    def journals(self) -> tuple[Journal, ...]:
        return (self.dedup, self.rule_state, self.vehicles, self.warnings, self.tasks,
                self.profiles, self.precision)  # fmt: skip


def declare(app: faust.App, partitions: int, committing: Mapping[str, int] | None = None) -> Tables:
    def committed(mark: str) -> int | None:
        """The partition's committed offset (the next to read), when this worker knows it."""
        offsets = getattr(getattr(app, "_consumer", None), "_committed_offset", None)
        if not isinstance(offsets, Mapping):  # no consumer yet (tests, before the worker)
            return None
        topic, _, partition = mark.rpartition(":")
        offset = offsets.get(TP(topic, int(partition)))
        return offset if isinstance(offset, int) else None

    codec = register_codec()

    def raw_table(name: str, help_: str) -> TableT[str, Any]:
        # key_type str and no value model: JSON keys; values through our orjson codec, which
        # Faust would take from a value_type only (set before the store is made, lazily)
        raw: TableT[str, Any] = app.Table(
            name, default=None, partitions=partitions, key_type=str, help=help_,
            options=STORE_OPTIONS,
        )  # fmt: skip
        cast(Any, raw).value_serializer = codec
        return raw

    def table(name: str, help_: str, mode: Mode = Mode.rewind) -> Journal:
        return Journal(raw_table(name, help_), mode, committed, committing=(committing or {}).get)

    return Tables(
        dedup=table("dedup", "source event ids seen within the dedup window"),
        rule_state=table(
            "rule_state", "window/duration/absence/sequence state per rule and entity"
        ),
        vehicles=table("vehicles", "per-vehicle geo state per fence set"),
        warnings=table("warnings", "warnings per entity", Mode.replay),
        tasks=table("tasks", "task cases by task id", Mode.replay),
        profiles=table("profiles", "entity profiles (一企一档) by USCC"),
        precision=table("precision", "rule precision counters from dispositions"),
        clocks=raw_table("clocks", "event-time clock per source partition (streams/clocks.py)"),
    )  # fmt: skip

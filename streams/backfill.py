"""Backfill: history replayed to warm the state, never to make work for today.

``riskloop replay --backfill`` marks every record it sends with the Kafka header
``riskloop-backfill: 1``. The worker processes such a record like any other — windows, models,
profiles (一企一档) and warnings all learn from it — but the warnings it raises are marked
``historical`` and open no task, so no deadline is counted from today for a 2011 inspection and
no timer is armed for it (``loop.warnings.should_task``). A live record on the same warning
later makes it live, and tasked, as usual.

A header, not a field: the record is the data standard's, unchanged, and the same bytes replayed
live (without the header) are judged live.

>>> is_backfill([("riskloop-backfill", b"1")]), is_backfill({"other": b"1"}), is_backfill(None)
(True, False, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

HEADER = "riskloop-backfill"
HEADERS = [(HEADER, b"1")]

Headers = Sequence[tuple[str, bytes | None]] | Mapping[str, bytes | None] | None


def is_backfill(headers: Headers) -> bool:
    """Whether a record's headers mark it as backfill (Faust gives a list or a mapping)."""
    if not headers:
        return False
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return any(k == HEADER and v == b"1" for k, v in pairs)

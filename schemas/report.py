"""Offline validation of a file: the same door as the stream, with a per-line verdict.

``riskloop validate FILE --source S`` calls :func:`validate_file` to tell a data provider what
is wrong with an export before it is ever produced to Kafka: counts by reason and the failing
lines with field and message. JSONL files are read line by line as source payloads; CSV files
go through a replay mapping first.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from schemas.errors import ValidationFailed
from schemas.ingest import IngestLimits, decode_source
from schemas.mapping import Mapping, MappingError, iter_mapped

if TYPE_CHECKING:
    from collections.abc import Iterator


@dataclass(frozen=True)
class LineFailure:
    """One rejected line: where, why (reason code), which field, and what to fix."""

    line: int
    reason: str
    field: str
    message: str


@dataclass
class ValidationReport:
    """Result of validating one file."""

    path: str
    source: str
    total: int = 0
    passed: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    failures: list[LineFailure] = field(default_factory=list)
    truncated: bool = False

    @property
    def failed(self) -> int:
        """Lines that did not pass validation."""
        return self.total - self.passed

    @property
    def ok(self) -> bool:
        """True when every line passed: ``riskloop validate`` exits 1 otherwise."""
        return self.failed == 0

    def summary(self) -> str:
        """One line for a terminal."""
        reasons = ", ".join(f"{r}={n}" for r, n in self.by_reason.most_common())
        return f"{self.path}: {self.passed}/{self.total} valid {self.source} records" + (
            f"; rejected: {reasons}" if reasons else ""
        )


def validate_file(
    path: str | Path,
    source: str,
    mapping: Mapping | None = None,
    *,
    limits: IngestLimits | None = None,
    now: datetime | None = None,
    max_failures: int = 1000,
) -> ValidationReport:
    """Validate every record of a JSONL file (or a CSV through ``mapping``).

    ``now`` is the clock staleness is judged against (default: the wall clock; pass a time
    near the data for historical exports). At most ``max_failures`` failing lines are listed;
    the counts always cover the whole file.
    """
    limits = limits or IngestLimits()
    now = now or datetime.now(UTC)
    path = Path(path)
    report = ValidationReport(str(path), source)

    def fail(line: int, reason: str, fld: str, message: str) -> None:
        report.by_reason[reason] += 1
        if len(report.failures) < max_failures:
            report.failures.append(LineFailure(line, reason, fld, message))
        else:
            report.truncated = True

    for line, payload, error in _payloads(path, mapping):
        report.total += 1
        if error is not None:
            fail(line, error.reason, error.column, error.message)
            continue
        try:
            decode_source(source, payload, limits=limits, now=now)
        except ValidationFailed as exc:
            fail(line, exc.reason, exc.field, exc.message)
        else:
            report.passed += 1
    return report


def _payloads(
    path: Path, mapping: Mapping | None
) -> Iterator[tuple[int, bytes, MappingError | None]]:
    """(line, payload bytes, mapping error or None) for each record in the file."""
    if mapping is not None:
        for item in iter_mapped(mapping, path):
            if isinstance(item, MappingError):
                yield item.line, b"", item
            else:
                yield item.line, json.dumps(item.record, ensure_ascii=False).encode("utf-8"), None
        return
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            body = raw.rstrip(b"\r\n")
            if body.strip():
                yield n, body, None

"""The walking skeleton's one built-in rule, until rule packs are loaded.

An inspection that failed with at least one critical violation is an obvious risk: it raises
an orange warning on the inspected enterprise. Pure: record in, alert (or None) out.
"""

from __future__ import annotations

import hashlib

from schemas.records import Alert, AlertState, InspectionOutcome, InspectionResult, Level, Reason


def obvious_failure_alert(record: InspectionResult) -> Alert | None:
    """An orange alert for a failed inspection with critical violations, else None."""
    critical = record.critical_count or sum(
        1 for v in record.violations if v.severity == "critical"
    )
    if record.outcome != InspectionOutcome.failed or critical == 0:
        return None
    fingerprint = hashlib.sha256(
        f"inspections|{record.uscc}|{record.item_code}".encode()
    ).hexdigest()[:20]
    return Alert(
        alert_id=f"{fingerprint}-{record.event_id}",
        fingerprint=fingerprint,
        state=AlertState.new,
        level=Level.orange,
        source="inspections",
        entity=record.uscc,
        uscc=record.uscc,
        region_code=record.region_code,
        item_code=record.item_code,
        title=f"检查不合格且有严重违法项：{record.entity_name}",
        first_seen=record.event_time,
        last_seen=record.event_time,
        evidence=[record.event_id],
        reasons=[
            Reason(
                kind="rule",
                id="baseline.failed_critical",
                version="0",
                values={"critical_count": str(critical)},
            )
        ],
        correlation_id=record.event_id,
    )

"""The agents: one per source topic, each a short loop of decode → pure call → send.

Walking skeleton: an inspection is decoded into the pydantic record and an obviously failing
one (outcome ``fail`` with a critical violation) becomes an alert. Anything that does not decode
goes to the dead-letter topic with its reason and original bytes; the agent never dies on it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import faust
from pydantic import ValidationError

from schemas.records import DeadLetter, InspectionResult
from streams.logs import correlation, get_logger

if TYPE_CHECKING:
    from streams.app import RiskLoopApp

log = get_logger(__name__)


def register(app: RiskLoopApp) -> None:
    """Register every agent on ``app``."""
    topics = app.riskloop_topics

    @app.agent(topics.inspections, name="inspections")
    async def inspections(stream: faust.StreamT[bytes]) -> None:
        from rules.baseline import obvious_failure_alert

        async for event in stream.events():
            raw: bytes = event.value
            try:
                record = InspectionResult.model_validate_json(raw)
            except ValidationError as exc:
                await _dead_letter(
                    app, "inspections", event, "invalid_record", str(exc.errors()[0]["msg"])
                )
                continue
            with correlation(record.event_id, source="inspections"):
                alert = obvious_failure_alert(record)
                if alert is not None:
                    await topics.alerts.send(
                        key=alert.fingerprint.encode(), value=alert.model_dump_json().encode()
                    )
                    log.info("alert raised", alert_id=alert.alert_id, level=alert.level.value)


async def _dead_letter(
    app: RiskLoopApp, source: str, event: faust.EventT, reason: str, message: str
) -> None:
    msg = event.message
    record = DeadLetter(
        reason=reason,
        message=message,
        source=source,
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=event.key if isinstance(event.key, bytes) else None,
        payload=event.value if isinstance(event.value, bytes) else b"",
        rejected_at=datetime.now(UTC),
        worker=app.conf.id,
    )
    await app.riskloop_topics.deadletter.send(
        key=source.encode(), value=record.model_dump_json().encode()
    )
    log.warning("dead-lettered", source=source, reason=reason, offset=msg.offset)

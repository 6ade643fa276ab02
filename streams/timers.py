"""What time alone changes: absence rules, silent trucks, warnings falling quiet, dedup expiry.

Each runs over the tables of the partitions this worker owns, so after a restart or a
rebalance the new owner's timer picks them up: nothing escapes because a worker went away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo.detect import tick as geo_tick
from geo.vehicle import VehicleState
from loop.warnings import EntityWarnings
from loop.warnings import tick as warnings_tick
from streams.alerting import publish, raise_warnings
from streams.scoring import Scored

if TYPE_CHECKING:
    from streams.app import RiskLoopApp


async def tick_time(app: RiskLoopApp) -> None:
    rt = app.riskloop_runtime
    tables = app.riskloop_tables
    now = rt.clock.now()
    engine = rt.engine
    scored = Scored(hits=engine.tick(now, tables.rule_state))
    for key, raw in list(tables.vehicles.items()):
        name, _, _plate = key.partition("|")
        fences = rt.fence_sets.get(name)
        if fences is None or not raw:
            continue
        vehicle, detections = geo_tick(VehicleState.from_dict(raw), now, fences)
        if detections or vehicle.to_dict() != raw:
            tables.vehicles[key] = vehicle.to_dict()
        for det in detections:
            rt.metrics.geo_detections.labels(det.kind).inc()
            scored.hits.extend(
                engine.evaluate("truck_detections", det.model_dump(mode="json"), tables.rule_state)
            )
    if scored.hits:
        await raise_warnings(app, scored)
    for entity, raw in list(tables.warnings.items()):
        if not raw:
            continue
        state, alerts = warnings_tick(EntityWarnings.model_validate(raw), now, rt.loop, rt.silences)
        if alerts:
            tables.warnings[entity] = state.model_dump(mode="json")
            await publish(app, state, alerts)
    app.riskloop_dedup.expire(now.timestamp())

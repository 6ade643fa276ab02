"""The map's memory stays bounded, and its layers put things where the data says they are."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from config.settings import Settings
from console.map import layers
from console.map.feed import MapFeed
from console.map.fencesets import shipped
from console.map.window import Fix, MapWindow
from schemas.records import Alert, AlertState, EvidenceRecord, Level, Reason

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)


def fix(plate: str, minute: float, lat: float = 30.0, lon: float = 120.0) -> Fix:
    return Fix(plate=plate, at=T0 + timedelta(minutes=minute), lat=lat, lon=lon)


def warning(source: str, entity: str, at: datetime, **kw) -> Alert:  # type: ignore[no-untyped-def]
    return Alert(
        alert_id=f"{entity}-{source}.1",
        fingerprint=f"{entity}-{source}",
        state=kw.pop("state", AlertState.new),
        level=Level.orange,
        source=source,
        entity=entity,
        item_code="X",
        title="渣土车疑似偷倒乱倒",
        first_seen=at,
        last_seen=at,
        **kw,
    )


def test_the_window_is_bounded_by_trucks_fixes_and_age() -> None:
    w = MapWindow(max_trucks=2, max_fixes=3, max_age=timedelta(minutes=10))
    for k in range(5):
        w.add_fix(fix("A", k))
    assert [f.at for f in w.track("A")] == [T0 + timedelta(minutes=k) for k in (2, 3, 4)]
    w.add_fix(fix("A", 30))  # 26 minutes after the last: older fixes age out
    assert len(w.track("A")) == 1
    w.add_fix(fix("B", 0))
    w.add_fix(fix("C", 0))  # a third plate: A, heard of least recently, goes
    assert w.plates() == ["B", "C"]


def test_a_late_fix_is_drawn_in_time_order() -> None:
    w = MapWindow()
    for k in (0, 2, 1):
        w.add_fix(fix("A", k, lat=30 + k))
    assert [f.lat for f in w.track("A")] == [30, 31, 32]


def test_warnings_are_bounded_and_keep_their_latest_record() -> None:
    w = MapWindow(max_warnings=2)
    w.add_warning(warning("trucks", "A", T0))
    w.add_warning(warning("trucks", "B", T0))
    w.add_warning(warning("trucks", "A", T0, state=AlertState.resolved))
    w.add_warning(warning("trucks", "C", T0))
    assert [(a.entity, a.state) for a in w.warnings()] == [("A", "resolved"), ("C", "new")]


def test_truck_layer_has_a_track_and_the_last_position() -> None:
    w = MapWindow()
    for k in range(3):
        w.add_fix(fix("浙A1", k, lat=30 + k / 100))
    feats = layers.trucks(w)["features"]
    assert [f["properties"]["layer"] for f in feats] == ["track", "truck"]
    assert feats[0]["geometry"]["coordinates"] == [[120.0, 30.0], [120.0, 30.01], [120.0, 30.02]]
    assert feats[1]["geometry"]["coordinates"] == [120.0, 30.02]


def test_a_detection_sits_where_the_truck_was_at_its_evidence_time() -> None:
    w = MapWindow()
    for k, lat in enumerate((30.0, 30.5, 31.0)):
        w.add_fix(fix("浙A1", k * 10, lat=lat))
    at = T0 + timedelta(minutes=11)  # nearest fix: minute 10, lat 30.5
    w.add_warning(
        warning(
            "trucks",
            "浙A1",
            T0,
            evidence_records=[
                EvidenceRecord(event_id="e", event_time=at, source="truck_detections")
            ],
            reasons=[
                Reason(kind="rule", id="trucks.suspected_dumping", version="3"),
                Reason(kind="fence", id="geolife", version="2"),
            ],
        )
    )
    w.add_warning(warning("trucks", "浙B9", T0))  # no fix of this plate: not drawn
    w.add_warning(warning("truck_detections", "浙A1", T0))  # a geo detection's warning: drawn
    f, geo = layers.detections(w)["features"]
    assert geo["properties"]["alert_id"] == "浙A1-truck_detections.1"
    assert f["geometry"]["coordinates"] == [120.0, 30.5]
    assert f["properties"]["rules"] == ["trucks.suspected_dumping"]
    assert f["properties"]["fences"] == ["geolife@2"]
    assert f["properties"]["level_word"] == "橙色"


def test_equipment_is_placed_at_its_countys_outline_or_listed() -> None:
    square = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}
    districts = {"features": [{"geometry": square, "properties": {"code": "330106"}}]}
    w = MapWindow()
    w.add_warning(warning("equipment", "EL-1", T0, region_code="330106"))
    w.add_warning(warning("equipment", "EL-2", T0, region_code="999999"))
    placed, unplaced = layers.equipment(w, districts)
    (p,) = placed["features"]
    assert p["geometry"]["coordinates"] == [1.0, 1.0]
    assert p["properties"]["approximate"]
    assert [u["equipment"] for u in unplaced] == ["EL-2"]


def test_shipped_fence_sets_become_one_layer_with_their_versions() -> None:
    docs = shipped()
    layer = layers.fences(docs)
    kinds = {f["properties"]["kind"] for f in layer["features"]}
    assert {"disposal_site", "forbidden_zone", "route"} <= kinds
    assert all("@" in f["properties"]["fence_set"] for f in layer["features"])
    (south, west), (north, east) = layers.bounds(layer) or [[0, 0], [0, 0]]
    assert south < north
    assert west < east


def test_the_feed_skips_what_does_not_decode_and_keeps_map_sources_only() -> None:
    s = Settings()
    feed = MapFeed(settings=s, window=MapWindow())
    good = {
        "event_id": "e1",
        "event_time": T0.isoformat(),
        "plate": "浙A1",
        "lat": 30.1,
        "lon": 120.1,
    }
    feed.take(s.topics.trucks, json.dumps(good).encode())
    feed.take(s.topics.trucks, b"\xff not json")
    feed.take(s.topics.alerts, warning("complaints", "U1", T0).model_dump_json().encode())
    feed.take(s.topics.alerts, warning("trucks", "浙A1", T0).model_dump_json().encode())
    feed.take(s.topics.alerts, warning("truck_detections", "浙A1", T0).model_dump_json().encode())
    assert feed.skipped == 1
    assert [f.lat for f in feed.window.track("浙A1")] == [30.1]
    assert [a.source for a in feed.window.warnings()] == ["trucks", "truck_detections"]

"""Fence-set validation and compilation: what is refused, and how a GCJ02 set is converted."""

from __future__ import annotations

import json

import pytest

from geo.fence_sets import compile_fence_set, load_fence_set, parse_fence_set
from schemas.errors import ConfigError
from schemas.validation.crs import wgs84_to_gcj02
from tests.unit.geo.conftest import GEOFENCES, doc, feature, fence_set, line, square


def test_compiles_every_kind_with_defaults() -> None:
    fs = fence_set(
        feature("site", "construction_site", square(0, 0, 100, 100)),
        feature("dump", "disposal_site", square(500, 0, 600, 100)),
        feature(
            "school",
            "forbidden_zone",
            square(0, 500, 100, 600),
            windows=[{"days": ["mon", "tue"], "start": "07:00", "end": "08:30"}],
        ),
        feature("r1", "route", line((0, 0), (1000, 0)), permit_ids=["P1"]),
        feature(
            "slow",
            "speed_zone",
            square(-50, -50, 1000, 50),
            limit_kmh=40,
            limits=[{"start": "22:00", "end": "06:00", "limit_kmh": 30}],
        ),
    )
    assert fs.kinds() == {
        "construction_site": 1,
        "disposal_site": 1,
        "forbidden_zone": 1,
        "route": 1,
        "speed_zone": 1,
    }
    assert fs.get("r1").corridor_m == 50.0  # type: ignore[union-attr]
    assert fs.index.routes_for("P1")[0].id == "r1"
    assert fs.index.routes_for("P2") == ()
    with pytest.raises(TypeError):
        fs.by_id["x"] = fs.fences[0]  # type: ignore[index]


def test_content_hash_ignores_key_order_but_not_content() -> None:
    d = doc(feature("a", "disposal_site", square(0, 0, 10, 10)))
    shuffled = json.loads(json.dumps(d, sort_keys=True))
    assert compile_fence_set(d).content_hash == compile_fence_set(shuffled).content_hash
    d2 = doc(feature("a", "disposal_site", square(0, 0, 10, 11)))
    assert compile_fence_set(d).content_hash != compile_fence_set(d2).content_hash


BOWTIE = {
    "type": "Polygon",
    "coordinates": [
        [[120.0, 30.0], [120.01, 30.01], [120.01, 30.0], [120.0, 30.01], [120.0, 30.0]]
    ],
}


@pytest.mark.parametrize(
    ("features", "kw", "message"),
    [
        (
            [feature("bow", "disposal_site", BOWTIE)],
            {},
            "'bow': invalid polygon: Self-intersection",
        ),
        ([], {}, "has no features"),
        (
            [feature("a", "disposal_site", square(0, 0, 1, 1))],
            {"crs": "BD09"},
            "unknown CRS 'BD09'",
        ),
        (
            [
                feature("a", "disposal_site", square(0, 0, 1, 1)),
                feature("a", "disposal_site", square(5, 5, 9, 9)),
            ],
            {},
            "'a': duplicate id",
        ),
        ([feature("z", "speed_zone", square(0, 0, 1, 1))], {}, "'z': missing 'limit_kmh'"),
        (
            [{"type": "Feature", "id": "k", "properties": {}, "geometry": square(0, 0, 1, 1)}],
            {},
            "'k': missing or unknown 'kind'",
        ),
        ([feature("r", "route", square(0, 0, 1, 1))], {}, "'r': a route needs a LineString"),
        (
            [
                feature(
                    "s",
                    "forbidden_zone",
                    square(0, 0, 1, 1),
                    windows=[{"start": "25:00", "end": "06:00"}],
                )
            ],
            {},
            "'s': bad time window",
        ),
        (
            [feature("c", "route", line((0, 0), (10, 0)), corridor_m=-5)],
            {},
            "'c': 'corridor_m' must be positive",
        ),
    ],
)
def test_refuses_bad_sets_naming_the_feature(features: list, kw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        compile_fence_set(doc(*features, **kw))


def test_swapped_coordinates_are_named() -> None:
    swapped = {
        "type": "Polygon",
        "coordinates": [[[30.0, 120.0], [30.01, 120.0], [30.01, 120.01], [30.0, 120.0]]],
    }
    with pytest.raises(ConfigError, match="'sw'.*looks swapped"):
        compile_fence_set(doc(feature("sw", "disposal_site", swapped)))


def test_gcj02_outside_china_is_refused() -> None:
    liverpool = {
        "type": "Polygon",
        "coordinates": [[[-2.9, 53.4], [-2.89, 53.4], [-2.89, 53.41], [-2.9, 53.4]]],
    }
    with pytest.raises(ConfigError, match="'lp'.*outside China.*GCJ02"):
        compile_fence_set(doc(feature("lp", "disposal_site", liverpool), crs="GCJ02"))


def test_missing_id_and_bad_json() -> None:
    with pytest.raises(ConfigError, match="feature #0 has no 'id'"):
        compile_fence_set(
            doc(
                {
                    "type": "Feature",
                    "properties": {"kind": "disposal_site"},
                    "geometry": square(0, 0, 1, 1),
                }
            )
        )
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_fence_set("{nope")


def test_gcj02_set_is_converted_to_wgs84() -> None:
    # a 200 m square drawn on a Chinese (GCJ-02) map around a truck's WGS-84 position
    lat, lon = 39.9087, 116.3975  # Tiananmen, WGS-84
    glat, glon = wgs84_to_gcj02(lat, lon)
    d = 0.001
    ring = [
        [glon - d, glat - d],
        [glon + d, glat - d],
        [glon + d, glat + d],
        [glon - d, glat + d],
        [glon - d, glat - d],
    ]
    geom = {"type": "Polygon", "coordinates": [ring]}
    as_gcj = compile_fence_set(doc(feature("g", "forbidden_zone", geom), crs="GCJ02"))
    as_wgs = compile_fence_set(doc(feature("g", "forbidden_zone", geom), crs="WGS84"))
    assert [f.id for f in as_gcj.index.containing(lat, lon)] == ["g"]
    # read naively as WGS-84 the same drawing is ~600 m off and misses the truck
    assert as_wgs.index.containing(lat, lon) == []
    assert as_gcj.get("g").depth_m(lat, lon) > 80  # type: ignore[union-attr]


def test_shipped_sets_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("liverpool_route14.geojson", "geolife_beijing.geojson"):
        assert load_fence_set(GEOFENCES / name).fences
    with pytest.raises(ConfigError, match="cannot read fence set"):
        load_fence_set(tmp_path / "missing.geojson")

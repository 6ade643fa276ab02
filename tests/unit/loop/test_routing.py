from __future__ import annotations

import pytest

from config.settings import PROJECT_ROOT
from loop.errors import RoutingError
from loop.routing import (
    DEFAULT_PATH,
    candidates,
    load_table,
    parse_labels,
    parse_table,
    region_chain,
    resolve,
    rule_routes,
    topic_for,
)
from rules.compiler import CompiledPack, expand_paths, load_pack
from schemas.errors import ConfigError

TABLE = parse_table(
    """
routes:
  - {source: "*", item_code: "*", region: "*", departments: [national]}
  - {source: inspections, item_code: "*", region: "330000", departments: [zj_market]}
  - {source: inspections, item_code: "FOOD*", region: "330100", departments: [hz_food]}
  - {source: "*", item_code: "FOOD-001", region: "330100", departments: [hz_food_001]}
  - {source: "*", item_code: "*", region: "330100", departments: [hz_general]}
  - {source: complaints, item_code: "*", region: "330106", departments: [xihu]}
"""
)


def test_county_falls_back_to_city_then_province_then_wildcard() -> None:
    got = candidates(
        TABLE, source="inspections", item_code="FOOD-001", region_code="330106", default="tpl"
    )
    assert got == ["hz_food_001", "hz_food", "hz_general", "zj_market", "national", "tpl"]


def test_county_route_wins_for_its_source() -> None:
    got = candidates(TABLE, source="complaints", item_code="X", region_code="330106")
    assert got[0] == "xihu"


def test_other_province_gets_the_wildcard_and_template() -> None:
    assert candidates(
        TABLE, source="trucks", item_code="X", region_code="440305", default="tpl"
    ) == ["national", "tpl"]


def test_template_department_is_the_default() -> None:
    assert candidates(
        parse_table("routes: []"), source="s", item_code="i", region_code=None, default="tpl"
    ) == ["tpl"]


def test_no_route_and_no_template_is_an_error() -> None:
    with pytest.raises(RoutingError, match="add a route"):
        candidates(parse_table(""), source="s", item_code="i", region_code="330106")


def test_region_chain_for_city_and_bad_codes() -> None:
    assert region_chain("330100") == ["330100", "330000", "*"]
    assert region_chain("33") == ["*"]
    assert region_chain("３３０１００") == ["*"]  # full-width digits are no GB/T 2260 code


def test_topic_name() -> None:
    assert topic_for("hz_food", "tasks.") == "tasks.hz_food"


def test_errors_name_the_line_and_entry() -> None:
    text = """routes:
  - {source: inspections, item_code: "*", region: "330106", departments: [ok]}
  - {source: inspections, item_code: "*", region: "3301", departments: [ok]}
  - source: inspections
    item_code: "*"
    region: "330106"
    departments: [ok]
  - {source: x, item_code: "A*B", region: "*", departments: ["has.dot"], colour: red}
  - {source: x, item_code: "*", region: "*", departments: []}
"""
    with pytest.raises(ConfigError) as err:
        parse_table(text, name="routing.yaml")
    message = str(err.value)
    assert "routing.yaml line 3 (route #2): region '3301'" in message
    assert "line 4 (route #3): duplicates the route on line 2" in message
    assert "line 8 (route #4): unknown key 'colour'" in message
    assert "'*' may only end a prefix" in message
    assert "'has.dot'" in message
    assert "line 9 (route #5): departments must be a non-empty list" in message


def test_bad_yaml_and_shape() -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_table("routes: [")
    with pytest.raises(ConfigError, match="'routes' list"):
        parse_table("- a")


def test_shipped_table_is_valid() -> None:
    table = load_table(DEFAULT_PATH)
    assert table.routes
    assert (
        candidates(table, source="complaints", item_code="x", region_code="330106")[0]
        == "xihu_market"
    )


def shipped_packs() -> list[CompiledPack]:
    return [load_pack(p) for p in expand_paths([PROJECT_ROOT / "rules" / "packs"])]


@pytest.mark.parametrize("region", ["330106", "330102", "330100"])
def test_every_shipped_rule_reaches_a_named_department(region: str) -> None:
    """Each active rule of each shipped pack, from every source that can raise its warning,
    is routed by a route that knows it: not the intake, not the template default."""
    rows = rule_routes(load_table(DEFAULT_PATH), shipped_packs(), region)
    assert {row.pack for row in rows} == {p.name for p in shipped_packs()}
    astray = [
        (row.rule_id, row.source, row.resolution.department)
        for row in rows
        if not row.resolution.routed
    ]
    assert astray == []


def test_shipped_inspection_and_truck_warnings_reach_their_departments() -> None:
    table = load_table(DEFAULT_PATH)
    inspection = resolve(table, source="inspections", item_code="YJ-ZFJC-001", region_code="330106")
    truck = resolve(table, source="truck_detections", item_code="YJ-ZTC-005", region_code="330106")
    assert inspection.department == "hz_market_food"
    assert truck.department == "hz_urban_management"


def test_resolve_names_the_route_behind_each_department() -> None:
    table = parse_table(
        """
routes:
  - {source: "*", item_code: "*", region: "330000", departments: [intake]}
  - {source: inspections, item_code: "YJ-*", region: "330100", departments: [hz_food]}
"""
    )
    got = resolve(
        table, source="inspections", item_code="YJ-ZFJC-001", region_code="330106", default="tpl"
    )
    assert got.departments == ("hz_food", "intake", "tpl")
    assert [r.line if r else None for r in got.routes] == [4, 3, None]
    assert got.routed
    unrouted = resolve(table, source="complaints", item_code="X", region_code="330106")
    assert unrouted.department == "intake"
    assert unrouted.route
    assert unrouted.route.catch_all
    assert not unrouted.routed
    only_default = resolve(table, source="complaints", item_code="X", region_code=None, default="t")
    assert only_default.route is None
    assert not only_default.routed


def test_a_route_for_a_source_no_warning_has_is_refused() -> None:
    with pytest.raises(ConfigError, match="source 'truck' is never on a warning"):
        parse_table('routes: [{source: truck, item_code: "*", region: "*", departments: [a]}]')


def test_labels_parse_or_fail_in_one_line() -> None:
    assert parse_labels(["source=trucks", "item_code=", "department=tpl"]) == {
        "source": "trucks",
        "item_code": "",
        "department": "tpl",
    }
    for bad, message in [
        (["source"], "not a label"),
        (["source=inspections", "colour=red"], "unknown label 'colour'"),
        (["item_code=A"], "need source="),
        (["source=truck"], "unknown source 'truck'"),
        (["source=trucks", "region_code=3301"], "must be 6 digits"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_labels(bad)

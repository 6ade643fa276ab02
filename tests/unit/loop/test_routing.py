from __future__ import annotations

import pytest

from loop.errors import RoutingError
from loop.routing import DEFAULT_PATH, candidates, load_table, parse_table, region_chain, topic_for
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
    assert "'*' may only end a prefix" in message and "'has.dot'" in message
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

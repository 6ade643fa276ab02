"""Requests → records: what the API accepts, and the status and message of each refusal."""

from __future__ import annotations

import doctest
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.settings import PROJECT_ROOT
from loop.identity import Principal, Role
from loop.jurisdiction import Forbidden
from streams.api import bodies
from streams.api.bodies import (
    ApiError,
    disposition_from,
    json_object,
    pack_publication,
    silence_from,
    warning_filters,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CENTRE = "risk_centre"
LI = Principal(sub="u-li", name="李明", roles=frozenset({Role.handler}), department="hz_market")
ZHANG = Principal(sub="u-zhang", name="张", roles=frozenset({Role.operator}), department=CENTRE)
CHEN = Principal(sub="u-chen", name="陈", roles=frozenset({Role.supervisor}), department=CENTRE)
MAX = timedelta(days=30)
PACK = Path(PROJECT_ROOT) / "rules" / "packs" / "trucks.yaml"


def refused(status: int, call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ApiError) as info:
        call(*args, **kwargs)
    assert info.value.status == status, info.value.message
    return info.value.message


def test_json_object() -> None:
    assert json_object(b'{"a": 1}') == {"a": 1}
    refused(400, json_object, b"{not json")
    refused(400, json_object, b"\xff\xfe")
    refused(422, json_object, b"[1, 2]")


def test_silence_is_built_like_the_cli_does() -> None:
    body = {"region_prefix": "3301", "reason": "flood drill", "hours": 2}
    s = silence_from(body, silence_id="sil-1", now=NOW, max_duration=MAX, who=ZHANG)
    assert (s.silence_id, s.region_prefix, s.creator) == ("sil-1", "3301", "张 <u-zhang>")
    assert (s.starts_at, s.ends_at) == (NOW, NOW + timedelta(hours=2))
    named = silence_from(
        {**body, "creator": "u-zhang"}, silence_id="s", now=NOW, max_duration=MAX, who=ZHANG
    )
    assert named.creator == "张 <u-zhang>"


def test_a_silence_names_its_creator_from_the_token_only() -> None:
    body = {"region_prefix": "3301", "reason": "r", "creator": "mallory"}
    with pytest.raises(Forbidden, match="creator 'mallory' in the body is not you"):
        silence_from(body, silence_id="s", now=NOW, max_duration=MAX, who=ZHANG)
    own = {"source": "equipment", "reason": "r", "safety": True, "approved_by": "张"}
    assert "second person" in refused(
        422, silence_from, own, silence_id="s", now=NOW, max_duration=MAX, who=ZHANG
    )


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "r", "creator": "c"},  # no matcher: silencing everything is refused
        {"source": "complaints", "creator": "c"},  # no reason
        {"source": "complaints", "reason": "r", "creator": 5},
        {"source": "complaints", "reason": "r", "creator": "c", "hours": 24 * 60},  # too long
        {"source": "complaints", "reason": "r", "creator": "c", "hours": -1},
        {"source": "complaints", "reason": "r", "creator": "c", "hours": "2"},
        {"source": "complaints", "reason": "r", "creator": "c", "silence_id": "mine"},
        {"source": "complaints", "reason": "r", "creator": "c", "hours": 1e300},
        {"source": "complaints", "reason": "r", "creator": "c", "hours": 5e-324},  # 0 µs long
        {"region_prefix": "33a", "reason": "r", "creator": "c"},
        {"region_prefix": "٣٣", "reason": "r", "creator": "c"},
        {"region_prefix": "3301\n", "reason": "r", "creator": "c"},
        {"entity": "e" * (bodies.NAME_MAX + 1), "reason": "r", "creator": "c"},
        {"entity": "e\x00", "reason": "r", "creator": "c"},
        {"entity": "e", "reason": "r" * (bodies.TEXT_MAX + 1), "creator": "c"},
        {"source": 5, "reason": "r", "creator": "c"},
    ],
)
def test_bad_silences_are_422(body: dict[str, Any]) -> None:
    body = {k: v for k, v in body.items() if (k, v) != ("creator", "c")}
    refused(422, silence_from, body, silence_id="s", now=NOW, max_duration=MAX, who=ZHANG)


def dispose(body: dict[str, Any], who: Principal = LI, task_id: str = "task-1") -> Any:
    return disposition_from(body, task_id=task_id, event_id="e", now=NOW, who=who, centre=CENTRE)


def test_disposition_gets_server_id_and_time() -> None:
    body = {"department": "hz_market", "action": "sign", "actor": "李明"}
    d = disposition_from(body, task_id="task-1", event_id="disp-1", now=NOW, who=LI, centre=CENTRE)
    assert (d.task_id, d.event_id, d.event_time, d.action.value) == (
        "task-1",
        "disp-1",
        NOW,
        "sign",
    )
    assert (d.actor, d.department) == ("李明 <u-li>", "hz_market")
    assert dispose({**body, "task_id": "task-1"}).task_id == "task-1"


def test_the_actor_and_department_are_the_tokens() -> None:
    assert dispose({"action": "sign"}).actor == "李明 <u-li>"
    for body, words in (
        ({"action": "sign", "actor": "someone else"}, "actor 'someone else'"),
        ({"action": "sign", "department": "risk_centre"}, "acts for hz_market"),
        ({"action": "close"}, "only the risk centre"),
        ({"action": "reopen", "department": "risk_centre"}, "only the risk centre"),
    ):
        with pytest.raises(Forbidden, match=words):
            dispose(body)
    closed = dispose({"action": "close", "reason": "结案"}, who=CHEN)
    assert (closed.department, closed.actor) == (CENTRE, "陈 <u-chen>")
    with pytest.raises(Forbidden, match="handler's or lead's"):
        dispose({"action": "sign"}, who=CHEN)  # a supervisor arbitrates; departments sign


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"event_id": "x"}, "event_id"),
        ({"event_time": "2020-01-01T00:00:00Z"}, "event_time"),
        ({"task_id": "task-2"}, "path"),
        ({"action": "explode"}, "action"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_dispositions_are_422(extra: dict[str, Any], needle: str) -> None:
    body = {"department": "hz_market", "action": "sign", "actor": "李明", **extra}
    message = refused(422, dispose, body)
    assert needle in message


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"actor": "l" * (bodies.NAME_MAX + 1)}, "actor"),
        ({"department": "hz\x00market"}, "NUL"),
        ({"reason": "r" * (bodies.TEXT_MAX + 1)}, "reason"),
        ({"evidence": ["e"] * (bodies.EVIDENCE_MAX_ITEMS + 1)}, "evidence"),
        ({"evidence": ["e" * (bodies.REFERENCE_MAX + 1)]}, "evidence.0"),
        ({"task_id": None, "result": "confirmed", "action": "assign"}, "assignments"),
    ],
)
def test_dispositions_over_the_field_limits_are_422(extra: dict[str, Any], needle: str) -> None:
    body = {"department": "hz_market", "action": "sign", "actor": "李明", **extra}
    message = refused(422, dispose, body)
    assert needle in message
    assert "\x00" not in message


def test_dispositions_at_the_field_limits_are_taken() -> None:
    who = Principal(sub="u" * 60, name="李" * 60, roles=frozenset({Role.lead}), department="d" * 64)
    body = {
        "department": "d" * 64,
        "action": "dispose",
        "actor": who.actor,
        "reason": "因" * bodies.TEXT_MAX,
        "result": None,
        "task_id": "task-1",
        "evidence": ["https://e/" + "x" * (bodies.REFERENCE_MAX - 10)] * bodies.EVIDENCE_MAX_ITEMS,
    }
    assert len(who.actor) <= bodies.NAME_MAX
    d = dispose(body, who=who)
    assert len(d.evidence) == bodies.EVIDENCE_MAX_ITEMS
    assert d.result is None


def test_a_thousand_unknown_fields_are_one_short_refusal() -> None:
    body = {f"k{i}": i for i in range(1000)}
    message = refused(422, dispose, body, task_id="t")
    assert "and 991 more" in message
    assert len(message) < 1000


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("task-1", None),
        ("t\n", None),
        ("t\x00", 400),
        ("t" * bodies.NAME_MAX, None),
        ("t" * (bodies.NAME_MAX + 1), 400),
    ],
)
def test_text_parameters(value: str, status: int | None) -> None:
    if status is None:
        assert bodies.parameter("task_id", value) == value
    else:
        refused(status, bodies.parameter, "task_id", value)


def test_shipped_pack_publishes() -> None:
    pub = pack_publication(PACK.read_bytes(), who="wang", now=NOW)
    assert (pub.name, pub.version, pub.published_by) == ("trucks", "1.0.0", "wang")
    assert pub.content_hash


def test_bad_packs_are_refused() -> None:
    refused(400, pack_publication, b"", who="w", now=NOW)
    refused(400, pack_publication, b"\xff", who="w", now=NOW)
    refused(422, pack_publication, b"name: [unclosed", who="w", now=NOW)
    refused(422, pack_publication, b"- a list", who="w", now=NOW)
    failing = PACK.read_text(encoding="utf-8").replace("* 1.2", "* 2.0", 1).encode()
    assert "example" in refused(422, pack_publication, failing, who="w", now=NOW)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"name: " + b"[" * 50_000 + b"]" * 50_000, 422),  # 100 KB: a pack problem (rules.limits)
        (b"{a: " * 50_000 + b"}" * 50_000, 422),
        (b"name: x\nversion: " + b"9" * 5000 + b"\n", 422),  # int() refuses 4301 digits
    ],
    ids=["nested-flow-sequence", "nested-flow-mapping", "5000-digit-integer"],
)
def test_packs_the_yaml_parser_cannot_hold_are_refused(raw: bytes, status: int) -> None:
    refused(status, pack_publication, raw, who="w", now=NOW)


def test_warning_filters() -> None:
    assert warning_filters({})["limit"] == 100
    assert warning_filters({"state": "silenced", "source": "complaints"})["state"] == "silenced"
    for query in (
        {"level": "purple"},
        {"state": "odd"},
        {"region": "330"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "x"},
        {"limit": "٣"},  # a non-ASCII digit
        {"limit": "9" * 5000},  # int() refuses more than 4300 digits
        {"region": "٣٣"},  # \d would take it
        {"region": "3301\n"},
        {"source": "complaints\x00"},
        {"source": "s" * (bodies.NAME_MAX + 1)},
    ):
        refused(400, warning_filters, query)


def test_doctests() -> None:
    assert doctest.testmod(bodies).failed == 0


def test_messages_are_json_serialisable() -> None:
    message = refused(422, json_object, b"7")
    assert json.loads(json.dumps({"error": message}))["error"] == message


def test_an_extension_is_asked_by_the_department_and_decided_by_the_centre() -> None:
    d = dispose({"action": "extend", "reason": "需联合检查", "extend_to": "2026-03-06"})
    assert d.department == "hz_market"
    assert d.action.value == "extend"
    assert d.extend_to == datetime(2026, 3, 6, 15, 59, 59, tzinfo=UTC)  # 23:59:59 CST
    granted = dispose({"action": "grant_extension"}, who=CHEN)
    assert (granted.department, granted.extend_to) == (CENTRE, None)
    with pytest.raises(Forbidden, match="only the risk centre"):
        dispose({"action": "grant_extension"})  # a department cannot grant itself time
    with pytest.raises(Forbidden, match="only the risk centre"):
        dispose({"action": "refuse_extension", "reason": "x"})


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"action": "extend", "reason": "r", "extend_to": "next week"}, "extend_to"),
        ({"action": "extend", "reason": "r", "extend_to": "2026-02-30"}, "extend_to"),
        ({"action": "sign", "extend_to": "2026-03-06"}, "only with it"),
        ({"action": "extend", "reason": "r"}, "only with it"),
    ],
)
def test_bad_extension_requests_are_422(body: dict[str, Any], needle: str) -> None:
    assert needle in refused(422, dispose, body)


def test_a_disposal_may_correct_the_complaint_category() -> None:
    d = dispose(
        {"action": "dispose", "result": "confirmed", "evidence": ["p"], "category": " 环境保护 "}
    )
    assert d.category == "环境保护"
    assert dispose({"action": "dispose", "result": "confirmed", "evidence": ["p"]}).category is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"action": "dispose", "category": "食品安全"}, "sub-category of 卫生计生; send 卫生计生"),
        ({"action": "dispose", "category": "pollution"}, "the categories: 交通运输, 党务政务"),
        ({"action": "sign", "category": "环境保护"}, "category goes with action dispose"),
    ],
)
def test_a_category_outside_the_taxonomy_is_422_naming_the_categories(
    body: dict[str, Any], needle: str
) -> None:
    message = refused(422, dispose, body)
    assert needle in message
    assert "\n" not in message

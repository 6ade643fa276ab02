"""Requests → records: what the API accepts, and the status and message of each refusal."""

from __future__ import annotations

import doctest
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.settings import PROJECT_ROOT
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
    body = {"region_prefix": "3301", "reason": "flood drill", "creator": "zhang", "hours": 2}
    s = silence_from(body, silence_id="sil-1", now=NOW, max_duration=MAX)
    assert (s.silence_id, s.region_prefix, s.creator) == ("sil-1", "3301", "zhang")
    assert (s.starts_at, s.ends_at) == (NOW, NOW + timedelta(hours=2))


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "r", "creator": "c"},  # no matcher: silencing everything is refused
        {"source": "complaints", "creator": "c"},  # no reason
        {"source": "complaints", "reason": "r", "creator": "c", "hours": 24 * 60},  # too long
        {"source": "complaints", "reason": "r", "creator": "c", "hours": -1},
        {"source": "complaints", "reason": "r", "creator": "c", "hours": "2"},
        {"source": "complaints", "reason": "r", "creator": "c", "silence_id": "mine"},
        {"region_prefix": "33a", "reason": "r", "creator": "c"},
        {"source": 5, "reason": "r", "creator": "c"},
    ],
)
def test_bad_silences_are_422(body: dict[str, Any]) -> None:
    refused(422, silence_from, body, silence_id="s", now=NOW, max_duration=MAX)


def test_disposition_gets_server_id_and_time() -> None:
    body = {"department": "hz_market", "action": "sign", "actor": "li"}
    d = disposition_from(body, task_id="task-1", event_id="disp-1", now=NOW)
    assert (d.task_id, d.event_id, d.event_time, d.action.value) == (
        "task-1", "disp-1", NOW, "sign",
    )  # fmt: skip
    same = disposition_from({**body, "task_id": "task-1"}, task_id="task-1", event_id="e", now=NOW)
    assert same.task_id == "task-1"


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
    body = {"department": "hz_market", "action": "sign", "actor": "li", **extra}
    message = refused(422, disposition_from, body, task_id="task-1", event_id="e", now=NOW)
    assert needle in message


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
    ):
        refused(400, warning_filters, query)


def test_doctests() -> None:
    assert doctest.testmod(bodies).failed == 0


def test_messages_are_json_serialisable() -> None:
    message = refused(422, json_object, b"7")
    assert json.loads(json.dumps({"error": message}))["error"] == message

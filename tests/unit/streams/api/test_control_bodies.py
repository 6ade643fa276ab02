"""Bodies of POST /api/fencesets, /api/models and /api/calendars: what the CLI would publish,
or a 400/422 that says why."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from config.settings import PROJECT_ROOT
from streams.api.bodies import ApiError
from streams.api.control_bodies import calendar_body, fence_set_body, model_body

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
FENCES = PROJECT_ROOT / "config" / "geofences" / "liverpool_route14.geojson"
CALENDAR = PROJECT_ROOT / "config" / "calendar" / "2026.yaml"


def status_of(call: object, *args: object, **kw: object) -> tuple[int, str]:
    with pytest.raises(ApiError) as info:
        call(*args, **kw)  # type: ignore[operator]
    return info.value.status, info.value.message


def test_a_shipped_fence_set_is_taken_as_its_file_compiles() -> None:
    fences = fence_set_body(FENCES.read_bytes())
    assert (fences.name, fences.version, len(fences.fences)) == (
        "liverpool-route14",
        "2026-01-26.1",
        6,
    )


@pytest.mark.parametrize(
    ("raw", "status", "says"),
    [
        (b"\xff\xfe", 400, "not UTF-8"),
        (b"{", 422, "not valid JSON"),
        (b"[" * 100_000, 422, "nested deeper"),
        (json.dumps({"type": "FeatureCollection", "features": []}).encode(), 422, "rejected"),
    ],
)
def test_a_fence_set_that_is_no_fence_set_is_refused(raw: bytes, status: int, says: str) -> None:
    got, message = status_of(fence_set_body, raw)
    assert got == status
    assert says in message


def test_a_calendar_notice_is_read_like_the_cli_reads_it() -> None:
    cal = calendar_body(CALENDAR.read_bytes())
    assert cal.year == 2026
    assert cal.source.startswith("国务院办公厅")


def test_a_broken_calendar_notice_names_what_is_wrong() -> None:
    status, message = status_of(calendar_body, b"year: 2026\nholidays: [{name: x, from: nope}]\n")
    assert status == 422
    assert "request body" in message


def test_a_model_body_builds_and_scores_its_probe() -> None:
    body = {"name": "equipment-anomaly", "factory": "equipment-anomaly", "version": "v9"}
    pub = model_body(body, who="li.lei", now=NOW)
    assert (pub.version, pub.published_by, pub.published_at, pub.shadow) == (
        "v9",
        "li.lei",
        NOW,
        False,
    )


def test_a_model_body_may_name_a_preset_and_change_a_param_of_it() -> None:
    body = {
        "name": "equipment-anomaly",
        "preset": "skab",
        "version": "skab-1",
        "params": {"q": 0.995},
    }
    pub = model_body(body, who="li.lei", now=NOW)
    assert pub.factory == "equipment-anomaly"  # workers receive the factory and params, resolved
    assert (pub.params["q"], pub.params["span_seconds"], pub.params["hold_seconds"]) == (
        0.995,
        5.0,
        10.0,
    )


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"name": "m", "factory": "equipment-anomaly"}, "version"),
        ({"name": "m", "preset": "elevator", "version": "1"}, "no preset 'elevator'"),
        ({"name": "m", "factory": "complaint-classifier", "preset": "nab", "version": "1"}, "nab"),
        ({"name": "m", "version": "1"}, "neither a factory nor a preset"),
        ({"name": "m", "factory": "no-such-factory", "version": "1"}, "no-such-factory"),
        ({"name": "m", "factory": "equipment-anomaly", "version": "1", "who": "x"}, "who"),
        ({"name": "m", "factory": "equipment-anomaly", "version": "1", "params": {"x": 1}}, "x"),
    ],
)
def test_a_model_body_that_would_not_build_is_a_422(body: dict[str, object], says: str) -> None:
    status, message = status_of(model_body, body, who="li.lei", now=NOW)
    assert status == 422, message
    assert says in message, message

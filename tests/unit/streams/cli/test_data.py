"""`riskloop validate` and `riskloop replay` through the real registered app, and replay's
row generator on the first rows of the shared datasets (no Kafka needed)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.settings import PROJECT_ROOT
from schemas.ingest import IngestLimits, decode_source
from schemas.mapping import load_mapping
from streams.cli import app
from streams.replay import Pacer, ReplaySummary, iter_replay, resolve_mapping

DATA = Path(os.environ.get("RISKLOOP_SHARED_DATA", str(PROJECT_ROOT.parent / "shared" / "data")))
CHICAGO = DATA / "inspections" / "chicago-food-inspections-2011-2014.csv.gz"
ZH_GOV = DATA / "complaints" / "zh-gov-messages-dev.csv"
LIVERPOOL = DATA / "gps" / "liverpool-bus-route14.csv"

runner = CliRunner()


def _rows(output: str) -> list[list[str]]:
    """Cells of every table row in rich's output."""
    return [[c.strip() for c in ln.split("│")[1:-1]] for ln in output.splitlines() if "│" in ln]


def _inspection(n: int) -> dict[str, object]:
    return {
        "event_id": f"insp-{n}",
        "event_time": "2013-05-02T10:00:00+08:00",
        "uscc": "91330100BHXAEHQ40A",
        "entity_name": "SEVEN STAR",
        "region_code": "330100",
        "outcome": "pass",
    }


@pytest.fixture
def jsonl_with_two_bad(tmp_path: Path) -> Path:
    bad_uscc = {**_inspection(2), "uscc": "91330100BHXAEHQ400"}
    lines = [
        json.dumps(_inspection(1)),
        json.dumps(bad_uscc),
        json.dumps(_inspection(3)),
        "{not json",
        json.dumps(_inspection(5)),
    ]
    path = tmp_path / "inspections.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_validate_names_the_bad_lines_and_exits_1(jsonl_with_two_bad: Path) -> None:
    result = runner.invoke(
        app,
        ["validate", str(jsonl_with_two_bad), "--source", "inspections", "--now", "latest-event"],
    )
    assert result.exit_code == 1, result.output
    rows = _rows(result.output)
    assert rows[0][:3] == ["accepted", "", "3"]
    assert ["rejected", "bad_uscc", "1"] in [r[:3] for r in rows]
    assert ["rejected", "bad_json", "1"] in [r[:3] for r in rows]
    failing = {(r[0], r[1], r[2]) for r in rows if r and r[0].isdigit()}
    assert failing == {("2", "bad_uscc", "uscc"), ("4", "bad_json", "")}
    assert "now = 2013-05-02T02:00:00+00:00 (latest event in the file)" in result.output


def test_validate_judges_staleness_by_the_clock_asked_for(jsonl_with_two_bad: Path) -> None:
    # JSONL defaults to the wall clock: a 2013 export is stale today (time is checked first).
    result = runner.invoke(app, ["validate", str(jsonl_with_two_bad), "-s", "inspections"])
    assert result.exit_code == 1
    assert ["rejected", "stale_event", "4"] in [r[:3] for r in _rows(result.output)]


def test_validate_a_mapped_dataset_passes_with_latest_event_clock(tmp_path: Path) -> None:
    head = tmp_path / "liverpool.csv"
    head.write_text("".join(LIVERPOOL.read_text(encoding="utf-8").splitlines(True)[:30]))
    result = runner.invoke(
        app, ["validate", str(head), "-s", "trucks", "--mapping", "liverpool-bus"]
    )
    assert result.exit_code == 0, result.output
    assert "29/29 valid trucks records" in result.output


def test_validate_refuses_a_mapping_of_another_source(jsonl_with_two_bad: Path) -> None:
    result = runner.invoke(
        app, ["validate", str(jsonl_with_two_bad), "-s", "trucks", "--mapping", "zh-gov-messages"]
    )
    assert result.exit_code == 1
    assert "makes complaints records, not trucks" in result.output


def test_replay_rows_of_chicago_are_keyed_by_uscc_and_pass_the_door() -> None:
    mapping = resolve_mapping(CHICAGO, "inspections", None)  # found by the file's name
    assert mapping is not None
    assert mapping.name == "chicago-food-inspections"
    summary = ReplaySummary()
    items = list(iter_replay(CHICAGO, "inspections", mapping, limit=25, summary=summary))
    assert len(items) == summary.yielded == summary.rows == 25
    assert not summary.rejected
    assert summary.bytes == sum(len(i.value) for i in items)
    times = [i.event_time for i in items]
    assert times == sorted(times)  # sorted by Inspection_Date for a replay
    limits = IngestLimits(max_event_age_days=100_000)
    for item in items:
        record = json.loads(item.value)
        assert item.key == record["uscc"].encode()
        decoded = decode_source("inspections", item.value, limits=limits, now=datetime.now(UTC))
        assert decoded.event_time == item.event_time  # type: ignore[attr-defined]


def test_replay_complaints_without_uscc_are_keyed_by_event_id() -> None:
    mapping = load_mapping("zh-gov-messages")
    items = list(iter_replay(ZH_GOV, "complaints", mapping, limit=5, sort=False))
    assert [i.key for i in items] == [json.loads(i.value)["event_id"].encode() for i in items]
    assert items[0].line == 2


def test_replay_trucks_are_keyed_by_plate_and_avro_encodes() -> None:
    mapping = load_mapping("liverpool-bus")
    items = list(iter_replay(LIVERPOOL, "trucks", mapping, limit=3, wire_format="avro"))
    assert all(i.key and i.key.decode().startswith("浙A") for i in items)
    assert all(i.value[0] == 0 for i in items)  # Confluent wire format: magic byte 0


def test_jsonl_lines_are_sent_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"event_id": "c1", "text": "x"}\n\n\xff\xfe junk\n')
    items = list(iter_replay(path, "complaints"))
    assert [(i.line, i.key, i.value) for i in items] == [
        (1, b"c1", b'{"event_id": "c1", "text": "x"}'),
        (3, None, b"\xff\xfe junk"),
    ]


def test_a_row_that_is_not_utf8_is_rejected_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bus.csv"
    path.write_bytes(
        b"ts,id,vehicle_id,lat,lon,bearing\n"
        b"2026-01-26T15:57:02Z,1,4716,53.4,-2.9,\n"
        b"2026-01-26T15:57:03Z,2,47\xff16,53.4,-2.9,\n"
        b"2026-01-26T15:57:04Z,3,4716,53.4,nope,\n"
    )
    summary = ReplaySummary()
    items = list(iter_replay(path, "trucks", load_mapping("liverpool-bus"), summary=summary))
    assert [i.line for i in items] == [2]
    assert [(r.line, r.column, r.reason) for r in summary.rejected] == [
        (3, "vehicle_id", "mapping"),
        (4, "lon", "mapping"),
    ]


def test_replay_dry_run_summarises_and_strict_fails_on_rejects(tmp_path: Path) -> None:
    path = tmp_path / "bus.csv"
    path.write_text(
        "ts,id,vehicle_id,lat,lon,bearing\n"
        "2026-01-26T15:57:02Z,1,4716,53.4,-2.9,\n"
        "2026-01-26T15:57:04Z,3,4716,53.4,nope,\n"
    )
    args = [
        "replay",
        str(path),
        "-s",
        "trucks",
        "--mapping",
        "liverpool-bus",
        "--dry-run",
        "--as-fast-as-possible",
    ]
    lenient = runner.invoke(app, args)
    assert lenient.exit_code == 0, lenient.output
    assert "would send 1 of 2 rows to trucks.gps" in lenient.output
    assert ["3", "lon", "mapping"] in [r[:3] for r in _rows(lenient.output)]
    assert runner.invoke(app, [*args, "--strict"]).exit_code == 1


def test_replay_rejects_contradictory_pacing(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["replay", str(LIVERPOOL), "-s", "trucks", "--as-fast-as-possible", "--rate", "5"]
    )
    assert result.exit_code == 1
    assert "--as-fast-as-possible excludes" in result.output


class _FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_rate_pacing_keeps_a_schedule() -> None:
    t = _FakeTime()
    pacer = Pacer("rate", rate=4, clock=lambda: t.now, sleep=t.sleep)
    for _ in range(5):
        pacer.wait(None)
    assert t.now == pytest.approx(101.0)  # 5 records at 4/s: the last one at 1 s


def test_event_time_pacing_divides_the_gaps_by_speedup() -> None:
    t = _FakeTime()
    pacer = Pacer("event-time", speedup=60, clock=lambda: t.now, sleep=t.sleep)
    base = datetime(2014, 1, 1, tzinfo=UTC)
    for minutes in (0, 1, 1, 3, 2):  # the last one is late: sent at once
        pacer.wait(base + timedelta(minutes=minutes))
    assert t.slept == [1.0, 2.0]

"""The source catalogue is one table: every consumer derives its view from ``SOURCE_SPECS``.

The decisive test adds a throwaway fifth source (noise readings) as one ``SourceSpec`` entry and
one record, in a fresh interpreter (the consumers read the table when they are imported), and
shows the ingest decoder, the rules, the replay keys, the settings, the worker's topics, the
profiles and the mapping files all see it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from config.settings import PROJECT_ROOT, TopicSettings
from console.labels import SOURCES as CONSOLE_SOURCES
from loop.decide.profiles import PROFILE_KIND
from rules.sources import DEFAULT_ENTITY, SOURCE_MODELS, USCC_FIELD
from schemas.record_specs import SOURCES
from schemas.sources import RULE_SOURCES, SOURCE_SPECS
from streams.replay import KEY_FIELDS

FIFTH_SOURCE = textwrap.dedent(
    """
    import json
    from datetime import UTC, datetime
    from types import MappingProxyType

    import schemas.sources as catalogue
    from schemas.records import SourceRecord


    class NoiseReading(SourceRecord):
        site_code: str
        uscc: str | None = None
        decibels: float


    noise = catalogue.SourceSpec(
        name="noise", record=NoiseReading, topic="noise.readings", key_fields=("site_code",),
        entity_fields=("site_code",), uscc_field="uscc", label="噪声监测",
        profile_kind="noise_complaint",
    )
    catalogue.SOURCE_SPECS = MappingProxyType({**catalogue.SOURCE_SPECS, "noise": noise})

    import faust

    from config.settings import Settings
    from loop.decide.profiles import source_profile_event
    from rules.compiler import load_pack_text
    from rules.engine import RuleEngine
    from rules.sources import field_names
    from schemas.ingest import IngestLimits, decode_source
    from schemas.mapping import Mapping
    from streams.replay import record_key, topic_for
    from streams.topics import declare
    from console.labels import SOURCES as console_sources

    settings = Settings()
    raw = {"event_id": "n-1", "event_time": "2026-12-01T02:00:00Z", "site_code": "S-7",
           "uscc": "91330106MA2B3C4D5E", "decibels": 92.5}
    record = decode_source("noise", json.dumps(raw).encode(), limits=IngestLimits(),
                           now=datetime(2026, 12, 1, 3, tzinfo=UTC))
    pack = load_pack_text(json.dumps({"name": "noise", "version": "1.0.0", "owner": "t",
        "rules": [{"id": "noise.loud", "title": "夜间噪声超标", "sources": ["noise"],
                   "item_code": "N-001", "condition": "event.decibels > 85.0",
                   "level": "yellow", "score": 40, "examples": [
            {"name": "loud", "fire": True, "event": {"site_code": "S-1", "decibels": 92.0}},
            {"name": "quiet", "fire": False, "event": {"site_code": "S-1", "decibels": 60.0}},
        ]}]}))
    hits = RuleEngine([pack]).evaluate("noise", record.model_dump(mode="json"), {})
    profile = source_profile_event("noise", record)
    app = faust.App("fifth-source", broker="kafka://127.0.0.1:1")
    mapping = Mapping.model_validate({"name": "noise-csv", "source": "noise", "format": "csv",
        "event_time": {"column": "t"}, "fields": {}})
    print(json.dumps({
        "record": type(record).__name__,
        "fields": sorted(field_names("noise")),
        "hits": [[h.rule_id, h.entity, h.uscc] for h in hits],
        "key": record_key("noise", raw).decode(),
        "topic": topic_for(settings, "noise"),
        "settings": settings.topics.sources()["noise"],
        "declared": declare(app, settings).sources()["noise"].get_topic_name(),
        "profile": [profile.kind, profile.uscc, profile.ref] if profile else None,
        "mapping": mapping.source,
        "console": console_sources["noise"],
    }))
    """
)


def test_a_fifth_source_is_one_entry_and_every_consumer_sees_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FIFTH_SOURCE],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "record": "NoiseReading",
        "fields": ["decibels", "event_id", "event_time", "site_code", "uscc"],
        "hits": [["noise.loud", "S-7", "91330106MA2B3C4D5E"]],
        "key": "S-7",
        "topic": "noise.readings",
        "settings": "noise.readings",
        "declared": "noise.readings",
        "profile": ["noise_complaint", "91330106MA2B3C4D5E", "n-1"],
        "mapping": "noise",
        "console": "噪声监测",
    }


def test_every_catalogue_consumer_is_the_table_today() -> None:
    """The derived views hold exactly the table's values: nothing is listed twice."""
    names = list(SOURCE_SPECS)
    assert names == ["inspections", "complaints", "equipment", "trucks"]
    assert {n: SOURCES[n] for n in names} == {n: s.record for n, s in SOURCE_SPECS.items()}
    assert [n for n in SOURCES if n not in SOURCE_SPECS] == ["dispositions"]
    assert all(SOURCE_MODELS[n] is s.record for n, s in SOURCE_SPECS.items())
    assert [n for n in SOURCE_MODELS if n not in SOURCE_SPECS] == ["truck_detections"]
    assert tuple(SOURCE_MODELS) == RULE_SOURCES  # what rules read is what routing checks
    assert all(DEFAULT_ENTITY[n] == s.entity_fields for n, s in SOURCE_SPECS.items())
    assert all(USCC_FIELD[n] == s.uscc_field for n, s in SOURCE_SPECS.items())
    assert all(KEY_FIELDS[n] == s.key_fields for n, s in SOURCE_SPECS.items())
    assert PROFILE_KIND == {"inspections": "inspection", "complaints": "complaint"}
    assert TopicSettings().sources() == {n: s.topic for n, s in SOURCE_SPECS.items()}
    assert CONSOLE_SOURCES == {
        "inspections": "检查结果",
        "complaints": "投诉举报",
        "equipment": "特种设备",
        "trucks": "渣土车",
    }


def test_keys_and_entities_are_what_they_were() -> None:
    """Wire behaviour is unchanged: a complaint is keyed by USCC, else its id (the producers'
    key), while its rules follow USCC, else address, else id (the worker's entity, which
    ``streams/rekey.py`` re-keys to)."""
    complaints = SOURCE_SPECS["complaints"]
    assert complaints.key_fields == ("uscc", "event_id")
    assert complaints.entity_fields == ("uscc", "address", "event_id")
    assert SOURCE_SPECS["trucks"].uscc_field == "company_uscc"
    assert TopicSettings().sources() == {
        "inspections": "inspections.results",
        "complaints": "complaints.received",
        "equipment": "equipment.readings",
        "trucks": "trucks.gps",
    }


def test_a_renamed_topic_setting_still_wins() -> None:
    assert TopicSettings(trucks="gps.v2").sources()["trucks"] == "gps.v2"

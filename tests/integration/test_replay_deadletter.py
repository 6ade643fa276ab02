"""The data standard's Done-when: a real dataset slice with corrupted lines mixed in, replayed
by `riskloop replay` into the real broker while a real `riskloop worker` runs.

Every good record is accepted, every bad one lands in `deadletter` with the right reason and
its original bytes, and the worker's counters keep in = accepted + dead-lettered + duplicates
exactly. The test gets its own inspections topic, so the counters of source `inspections`
count only its records (the other tests' records on the shared topics do not leak in).
"""

from __future__ import annotations

import json
import random
import re
import string
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from typing import TYPE_CHECKING

from config.settings import PROJECT_ROOT, Settings
from schemas.mapping import MappedRow, iter_mapped, load_mapping
from streams.admin import create_topics
from streams.deadletters import original_value
from tests.integration.conftest import ROOT, collect, settings_env, tail_consumer

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

CHICAGO = (
    PROJECT_ROOT.parent
    / "shared"
    / "data"
    / "inspections"
    / "chicago-food-inspections-2011-2014.csv.gz"
)
GOOD_ROWS = 300
SAMPLE = re.compile(r"^(riskloop_events_\w+_total)\{([^}]*)\} ([0-9.e+]+)$", re.M)


def _corrupted(template: dict[str, object], run: str) -> list[tuple[bytes, str, str]]:
    """(line bytes, expected reason, expected field) for each kind of damage."""
    rng = random.Random(run)
    noise = "".join(rng.choice(string.ascii_letters + string.punctuation) for _ in range(48))
    uscc = str(template["uscc"])
    wrong_check = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    missing = {k: v for k, v in template.items() if k != "entity_name"}

    def line(**changes: object) -> bytes:
        return json.dumps({**template, **changes}, ensure_ascii=False).encode()

    return [
        (noise.encode(), "bad_json", ""),
        (
            line(event_id=f"{run}-utf8", entity_name="MARKER").replace(b"MARKER", b"CAF\xc3\x28"),
            "bad_encoding",
            "",
        ),
        (line(event_id=f"{run}-uscc", uscc=wrong_check), "bad_uscc", "uscc"),
        (
            json.dumps({**missing, "event_id": f"{run}-missing"}).encode(),
            "missing_field",
            "entity_name",
        ),
        (line(event_id=f"{run}-nan", critical_count=float("nan")), "bad_value", "critical_count"),
    ]


def _metrics(port: int) -> dict[tuple[str, str], float]:
    """(counter, reason) → value for source="inspections" (reason is "" when unlabelled)."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    out: Counter[tuple[str, str]] = Counter()
    for name, labels, value in SAMPLE.findall(body):
        parts = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if parts.get("source") == "inspections":
            out[(name, parts.get("reason", ""))] += float(value)
    return dict(out)


def _total(m: dict[tuple[str, str], float], name: str) -> float:
    return sum(v for (n, _), v in m.items() if n == f"riskloop_events_{name}_total")


def test_replayed_slice_with_bad_lines_is_accepted_or_deadlettered_exactly(
    live_settings: Settings,
    worker: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    run = uuid.uuid4().hex[:8]
    topic = f"test.replay-{run}.inspections"
    s = live_settings.with_overrides(
        topics=live_settings.topics.model_copy(update={"inspections": topic}),
        max_event_age_days=20_000,  # Chicago 2011-2014 is older than the default 3650 days
    )
    create_topics(s)

    mapping = load_mapping("chicago-food-inspections")
    good = [
        json.dumps(r.record, ensure_ascii=False).encode()
        for r in iter_mapped(mapping, CHICAGO, limit=GOOD_ROWS, sort=True)
        if isinstance(r, MappedRow)
    ]
    assert len(good) == GOOD_ROWS
    bad = _corrupted(json.loads(good[0]), run)
    lines = list(good)
    for i, (raw, _, _) in enumerate(bad):  # spread the damage through the file
        lines.insert(30 + i * 55, raw)
    lines.insert(lines.index(good[10]) + 1, good[10])  # one re-sent record: a duplicate
    path = tmp_path / "slice.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    deadletters = tail_consumer(s.bootstrap_servers, [s.topics.deadletter])
    proc = worker(s)
    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "replay",
            str(path),
            "--source",
            "inspections",
            "--as-fast-as-possible",
        ],
        check=False,
        cwd=ROOT,
        env=settings_env(s),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replay.returncode == 0, replay.stderr
    assert f"sent {len(lines)} of {len(lines)} rows to {topic}" in replay.stdout

    mine = collect(
        deadletters,
        lambda got: sum(1 for _, v in got if v.get("topic") == topic) >= len(bad),
        timeout=60,
    )
    got = {
        (original_value(s, json.dumps(v).encode()), v["reason"], v["field"])
        for _, v in mine
        if v.get("topic") == topic
    }
    assert got == set(bad)

    deadline, m, last_error = time.monotonic() + 30, {}, ""
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the worker died"
        try:
            m = _metrics(s.web_port)
        except OSError as exc:  # not listening yet, or /metrics itself failing (HTTPError)
            m, last_error = {}, str(exc)
        if _total(m, "in") >= len(lines) and _total(m, "accepted") + _total(
            m, "deadlettered"
        ) + _total(m, "duplicate") >= len(lines):
            break
        time.sleep(0.5)
    assert m, f"no metrics from the worker's /metrics: {last_error}"
    assert _total(m, "in") == len(lines) == GOOD_ROWS + len(bad) + 1
    assert _total(m, "accepted") == GOOD_ROWS
    assert _total(m, "duplicate") == 1
    assert _total(m, "deadlettered") == len(bad)
    assert _total(m, "in") == (
        _total(m, "accepted") + _total(m, "deadlettered") + _total(m, "duplicate")
    )
    by_reason = {r: v for (n, r), v in m.items() if n == "riskloop_events_deadlettered_total"}
    assert by_reason == {reason: 1.0 for _, reason, _ in bad}

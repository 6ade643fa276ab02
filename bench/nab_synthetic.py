"""Synthetic NAB-style files: the tuning data for NAB's settings (models/EVALUATION.md).

The shared data holds one labelled NAB file and it is the reporting part, so NAB's settings are
chosen on files made here: a room's temperature over ``days`` days — a daily cycle, warmer
working hours on weekdays only (a weekly pattern), a season, AR(1) noise that wanders for days —
with two failures (a drop for about 1.5 days, a rise for about 3, each reached over a ramp of a
few hours) and NAB-style windows of ±7 days around each onset. Each seed is written hourly
**and** every 5 minutes from the same underlying curve, so one setting in seconds must serve
both. Seeded and deterministic; written in the documented layout (``equipment/nab/*.csv`` with
its ``.windows.json``), so ``riskloop models evaluate nab --data-dir`` reads it unchanged.

>>> import tempfile
>>> out = Path(tempfile.mkdtemp())
>>> [p.name for p in write(out, seeds=(1,), days=30)]
['synthetic-s1-1h.csv', 'synthetic-s1-5min.csv']
>>> len((out / "equipment" / "nab" / "synthetic-s1-1h.csv").read_text().splitlines())
721
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path  # noqa: TC003  # the doctest builds one

START = datetime(2014, 1, 6, tzinfo=UTC)  # a Monday
"""First reading of every synthetic file."""

STEPS = {"1h": 3600, "5min": 300}
"""The two frequencies each seed is written at, in seconds."""

WINDOW = timedelta(days=7)
"""Half-width of a labelled window around a failure's onset."""


def _failures(rng: random.Random, days: int) -> list[tuple[float, float, float]]:
    """Two failures as (onset, duration, size) in seconds and degrees: a drop, then a rise."""
    first = rng.uniform(0.3, 0.45) * days * 86400.0
    second = rng.uniform(0.7, 0.85) * days * 86400.0
    drop = (first, rng.uniform(1.2, 1.8) * 86400.0, -rng.uniform(5.0, 9.0))
    rise = (second, rng.uniform(2.5, 3.5) * 86400.0, rng.uniform(4.0, 7.0))
    return [drop, rise]


def _failure(t: float, failures: list[tuple[float, float, float]], ramp: float) -> float:
    """The failures' contribution at ``t``: a linear ramp to the full size, held, then gone."""
    out = 0.0
    for onset, duration, size in failures:
        if onset <= t < onset + duration:
            out += size * min(1.0, (t - onset) / ramp)
    return out


def _curve(seed: int, days: int, step: int) -> tuple[list[tuple[float, float]], list[float]]:
    """Readings (seconds since START, value) every ``step`` seconds, and the failure onsets.

    The noise is an AR(1) in time (its correlation after Δt is exp(−Δt / 2 days)) plus sensor
    noise per reading, so the 5-minute file is the hourly one's curve, sampled more often.
    """
    rng = random.Random(seed)
    failures = _failures(rng, days)
    ramp = rng.uniform(2.0, 6.0) * 3600.0
    phase = rng.uniform(0.0, 2.0 * math.pi)
    noise_rng = random.Random(seed * 7919 + step)
    wander, tau, sd = 0.0, 2.0 * 86400.0, 1.5
    rho = math.exp(-step / tau)
    rows = []
    for i in range(days * 86400 // step):
        t = float(i * step)
        hour = (t % 86400.0) / 3600.0
        weekday = int(t // 86400.0) % 7 < 5
        daily = 3.5 * math.sin(2.0 * math.pi * (hour - 9.0) / 24.0)
        work = 1.2 if weekday and 8.0 <= hour < 18.0 else 0.0
        season = 5.0 * math.sin(2.0 * math.pi * t / (365.0 * 86400.0) + phase)
        wander = rho * wander + sd * math.sqrt(1.0 - rho * rho) * noise_rng.gauss(0.0, 1.0)
        value = 21.0 + daily + work + season + wander + noise_rng.gauss(0.0, 0.3)
        rows.append((t, value + _failure(t, failures, ramp)))
    return rows, [onset for onset, _, _ in failures]


def write(out: Path, *, seeds: tuple[int, ...] = (1, 2, 3), days: int = 300) -> list[Path]:
    """Write each seed hourly and every 5 minutes under ``out/equipment/nab``; the CSV paths."""
    folder = out / "equipment" / "nab"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        for label, step in STEPS.items():
            rows, onsets = _curve(seed, days, step)
            path = folder / f"synthetic-s{seed}-{label}.csv"
            lines = ["timestamp,value"]
            lines += [f"{_stamp(START + timedelta(seconds=t))},{v:.4f}" for t, v in rows]
            path.write_text("\n".join(lines) + "\n")
            spans = [
                (START + timedelta(seconds=o) - WINDOW, START + timedelta(seconds=o) + WINDOW)
                for o in onsets
            ]
            windows = [{"start": _stamp(a), "end": _stamp(b)} for a, b in spans]
            path.with_suffix(".windows.json").write_text(json.dumps({"windows": windows}))
            paths.append(path)
    return paths


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S")

"""The synthetic NAB tuning files (bench/nab_synthetic.py): the documented layout, the same
failures at both frequencies, windows around them, and the same files for the same seed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench import datasets, nab_synthetic

if TYPE_CHECKING:
    from pathlib import Path


def _read(path: Path) -> tuple[list[float], list[int]]:
    rows = list(datasets.nab(path))
    return [e["metrics"]["temperature"] for e, _ in rows], [y for _, y in rows]


def test_each_seed_is_written_hourly_and_every_five_minutes_with_two_windows(tmp_path: Path):
    paths = nab_synthetic.write(tmp_path, seeds=(4,), days=120)
    assert datasets.nab_files(tmp_path) == sorted(paths)
    (hourly, truth_h), (fine, truth_5) = (_read(p) for p in sorted(paths))
    assert (len(hourly), len(fine)) == (120 * 24, 120 * 24 * 12)
    # two windows of 14 days each, at the same times in both files (to the hour)
    assert sum(truth_h) == 2 * 14 * 24
    assert sum(truth_5) == 2 * 14 * 24 * 12
    first_h = truth_h.index(1)
    assert 12 * (first_h - 1) < truth_5.index(1) <= 12 * first_h


def test_the_failures_sit_in_the_middle_of_their_windows(tmp_path: Path):
    (path,) = [p for p in nab_synthetic.write(tmp_path, seeds=(5,), days=120) if "1h" in p.name]
    values, truth = _read(path)
    starts = [i for i in range(1, len(truth)) if truth[i] and not truth[i - 1]]
    assert len(starts) == 2
    drop, rise = (s + 7 * 24 for s in starts)  # the onsets, 7 days into each window
    before = sum(values[drop - 48 : drop]) / 48
    assert sum(values[drop + 12 : drop + 24]) / 12 < before - 3  # a drop of 5-9 degrees
    assert sum(values[rise + 12 : rise + 24]) / 12 > sum(values[rise - 48 : rise]) / 48 + 2


def test_the_same_seed_writes_the_same_files(tmp_path: Path):
    first = nab_synthetic.write(tmp_path / "a", seeds=(2,), days=20)
    again = nab_synthetic.write(tmp_path / "b", seeds=(2,), days=20)
    assert [p.read_text() for p in first] == [p.read_text() for p in again]

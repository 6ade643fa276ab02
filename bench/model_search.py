"""``riskloop models search nab``: a grid of settings over a tuning part, ranked by a rule.

Why a command: NAB's settings are chosen on files that are not reported (models/EVALUATION.md,
the protocol), and a choice is only as honest as it is repeatable. The grid is a JSON file
written before the run (``{"setting": [value, ...]}``; ``null`` leaves the option off), every
file is evaluated alone by a fresh model (no file's readings reach another's model), and the
ranking is the one EVALUATION.md's NAB rounds use:

1. a design **qualifies** only if its false-alarm rate (alerting rows outside windows over the
   scored rows outside windows) is at most ``max_false_alarm_rate`` on *every* file. Without
   this guard a design that is always on wins: it finds every window, and alarms less than
   24 h apart count as one episode (NAB's seventh round, 2026-12-07);
2. then files meeting the goal (every window NAB scores found, at most ``max_episodes``
   false-alarm episodes), more first; windows found, more first; episodes in total, fewer
   first; options on, fewer first (the plainest design).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench import datasets, evaluations
from models.errors import ModelError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path


@dataclass(frozen=True)
class FileResult:
    """One file under one design: what the ranking reads."""

    windows: int
    found: int
    episodes: int
    false_alarm_rate: float


@dataclass(frozen=True)
class Design:
    """One point of the grid and what it did on each tuning file (by run name)."""

    params: dict[str, Any]
    files: dict[str, FileResult] = field(default_factory=dict)

    def qualifies(self, max_false_alarm_rate: float) -> bool:
        """At most ``max_false_alarm_rate`` on every file: not an always-on detector."""
        return all(f.false_alarm_rate <= max_false_alarm_rate for f in self.files.values())

    def met(self, max_episodes: int) -> int:
        """Files on which the goal holds: every scored window found, few episodes."""
        return sum(
            1 for f in self.files.values() if f.found == f.windows and f.episodes <= max_episodes
        )

    def key(self, max_episodes: int) -> tuple[int, int, int, int]:
        """Sort key, best first (see the module docstring, step 2)."""
        found = sum(f.found for f in self.files.values())
        episodes = sum(f.episodes for f in self.files.values())
        return (-self.met(max_episodes), -found, episodes, len(self.params))

    def as_json(self) -> dict[str, Any]:
        """One line of ``--out``: the design and its per-file figures."""
        return {"params": self.params, "files": {k: vars(v) for k, v in self.files.items()}}


def read_grid(path: Path) -> dict[str, list[Any]]:
    """The grid file: a JSON object of setting → non-empty list of values; refused by name.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "grid.json"
    >>> _ = p.write_text('{"span_seconds": [3600, 10800], "hold_seconds": [null, 10800]}')
    >>> read_grid(p)
    {'span_seconds': [3600, 10800], 'hold_seconds': [None, 10800]}
    >>> _ = p.write_text('{"q": 0.99}')
    >>> read_grid(p)
    Traceback (most recent call last):
    ...
    models.errors.ModelError: grid ... setting 'q': expected a non-empty list of values, got 0.99
    """
    try:
        grid = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"grid {path}: cannot read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"grid {path}: line {exc.lineno}: not JSON ({exc.msg})") from exc
    if not isinstance(grid, dict) or not grid:
        raise ModelError(f"grid {path}: expected a JSON object of setting → list of values")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ModelError(
                f"grid {path}: setting {name!r}: expected a non-empty list of values, got {values!r}"
            )
    return grid


def designs(grid: Mapping[str, list[Any]]) -> Iterator[dict[str, Any]]:
    """Every combination of the grid's values, ``None`` leaving that option out.

    >>> list(designs({"q": [0.99], "hold_seconds": [None, 60]}))
    [{'q': 0.99}, {'q': 0.99, 'hold_seconds': 60}]
    """
    names = list(grid)
    for values in itertools.product(*(grid[n] for n in names)):
        yield {n: v for n, v in zip(names, values, strict=True) if v is not None}


def measure(
    params: dict[str, Any], files: list[Path], *, factory: str = "equipment-anomaly"
) -> Design:
    """``params`` on every file, each by a fresh model (:func:`bench.evaluations.nab_file`)."""
    results = {}
    for path in files:
        row = evaluations.nab_file(path, factory=factory, params=params)
        results[datasets.run_name(path, "nab")] = FileResult(
            windows=int(row["windows"]),
            found=int(row["windows_detected"]),
            episodes=int(row["false_alarm_episodes"]),
            false_alarm_rate=float(row["false_alarm_rate"]),
        )
    return Design(params, results)


def search(
    tuning_dir: Path,
    grid: Mapping[str, list[Any]],
    *,
    max_false_alarm_rate: float = 0.05,
    max_episodes: int = 2,
    factory: str = "equipment-anomaly",
    progress: Callable[[Design], None] | None = None,
) -> list[Design]:
    """Every design of ``grid`` on every NAB file of ``tuning_dir``: the qualifying designs
    best first (:meth:`Design.key`), then the others in grid order."""
    files = datasets.nab_files(tuning_dir)
    if not files:
        raise ModelError(
            f"no equipment/nab/*.csv + .windows.json in {tuning_dir} (layout: models/EVALUATION.md)"
        )
    measured = []
    for params in designs(grid):
        design = measure(params, files, factory=factory)
        measured.append(design)
        if progress is not None:
            progress(design)
    good = [d for d in measured if d.qualifies(max_false_alarm_rate)]
    good.sort(key=lambda d: d.key(max_episodes))
    return good + [d for d in measured if not d.qualifies(max_false_alarm_rate)]

"""Two runs of the same generated events through the real agents (bench/output_digest.py)
send the same messages and write the same changelog, as the digest sees them: what makes it
the check that a CPU cut changed no output (issue #16)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.memory_curve import default_settings
from bench.output_digest import digest

if TYPE_CHECKING:
    from pathlib import Path


async def test_two_runs_digest_alike(tmp_path: Path) -> None:
    runs = [
        await digest(default_settings(tmp_path / str(i)), 400, commit_every=100) for i in (1, 2)
    ]
    (sent_a, written_a, n_sent, n_written, _), (sent_b, written_b, *_) = runs
    assert n_sent > 0
    assert n_written > 0
    assert (sent_a, written_a) == (sent_b, written_b)

"""The local broker's cluster id never starts with "-": Kafka's storage tool would read it as
an option and refuse to format (a 1-in-64 failure of `riskloop dev up`, seen in CI)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from infra import kafka

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import pytest


def test_a_fresh_id_is_drawn_again_while_it_starts_with_a_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws: Iterator[uuid.UUID] = iter(
        [uuid.UUID(bytes=b"\xf8" + b"\x00" * 15), uuid.UUID(bytes=b"\x01" * 16)]
    )
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(draws))
    cid = kafka._cluster_id(tmp_path)
    assert not cid.startswith("-")
    assert (tmp_path / "cluster.id").read_text() == cid


def test_a_stored_id_is_kept(tmp_path: Path) -> None:
    (tmp_path / "cluster.id").write_text("-AbCdEfGhIjKlMnOpQrStU\n")
    assert kafka._cluster_id(tmp_path) == "-AbCdEfGhIjKlMnOpQrStU"  # passed as --cluster-id=…

"""``riskloop rules rollback`` reads the whole pack topic: records a worker refuses are skipped,
not a crash of the CLI (the topic accepts any bytes)."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.records import RulePackPublication
from streams.publish import _activatable, _publication


def test_a_record_that_is_not_a_publication_is_skipped() -> None:
    assert _publication(b"\xff not json") is None
    assert _publication(b"[" * 100_000) is None


def test_a_pack_that_cannot_compile_is_no_rollback_target() -> None:
    pub = RulePackPublication(
        name="p",
        version="1.0.0",
        content_hash="",
        yaml="[" * 100_000,
        published_by="m",
        published_at=datetime(2024, 5, 6, tzinfo=UTC),
    )
    assert not _activatable(pub)

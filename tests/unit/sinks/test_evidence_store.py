"""The evidence store on a real folder: content-addressed, checked on read, refuses executables."""

from __future__ import annotations

import hashlib
import stat
from typing import TYPE_CHECKING

import pytest

from schemas.evidence import EvidenceRef, EvidenceRefused
from sinks.evidence import EvidenceCorrupt, EvidenceMissing, EvidenceStore

if TYPE_CHECKING:
    from pathlib import Path

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"1 0 obj\n" * 8
JPEG = b"\xff\xd8\xff\xe0" + b"JFIF" * 16
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence", max_bytes=4096)


@pytest.mark.parametrize(
    ("data", "kind"),
    [(PNG, "image/png"), (PDF, "application/pdf"), (JPEG, "image/jpeg"), (WEBP, "image/webp")],
)
def test_a_file_is_kept_by_its_hash_and_read_back(
    store: EvidenceStore, data: bytes, kind: str
) -> None:
    ref = store.put("现场照片", data)
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert str(ref) == f"sha256:{ref.sha256}/现场照片"
    back = store.get(ref.sha256)
    assert (back.data, back.media_type) == (data, kind)
    path = store.root / ref.sha256[:2] / ref.sha256
    assert not path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_the_same_file_twice_is_kept_once(store: EvidenceStore) -> None:
    a, b = store.put("a.png", PNG), store.put("b.png", PNG)
    assert a.sha256 == b.sha256
    assert (a.filename, b.filename) == ("a.png", "b.png")
    assert len([p for p in store.root.rglob("*") if p.is_file()]) == 1


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("run.exe", b"MZ\x90\x00" + b"\x00" * 60, "Windows executable"),
        ("photo.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "ELF executable"),
        ("clean.png", b"#!/bin/sh\nrm -rf /\n", "a script"),
        ("page.pdf", b"<html><script>alert(1)</script></html>", "only JPEG, PNG"),
        ("big.png", PNG + b"\x00" * 5000, "at most 4,096"),
        ("empty.png", b"", "is empty"),
    ],
)
def test_refused_files_leave_nothing_behind(
    store: EvidenceStore, name: str, data: bytes, words: str
) -> None:
    with pytest.raises(EvidenceRefused, match=words):
        store.put(name, data)
    assert not store.root.exists() or not [p for p in store.root.rglob("*") if p.is_file()]


def test_a_file_name_cannot_climb_out_and_a_hash_cannot_name_a_path(store: EvidenceStore) -> None:
    ref = store.put("../../../etc/cron.d/x.png", PNG)
    assert ref.filename == "x.png"
    for bad in ("../" * 5 + "etc/passwd", "AB" * 32, "ab" * 31):
        with pytest.raises(EvidenceRefused):
            store.get(bad)


def test_a_missing_or_altered_file_is_not_served(store: EvidenceStore) -> None:
    with pytest.raises(EvidenceMissing):
        store.get("cd" * 32)
    ref = store.put("x.pdf", PDF)
    path = store.root / ref.sha256[:2] / ref.sha256
    path.chmod(0o640)
    path.write_bytes(PDF + b"tampered")
    with pytest.raises(EvidenceCorrupt, match="no longer matches"):
        store.get(ref.sha256)


def test_other_references_are_not_stored_files() -> None:
    assert EvidenceRef.parse("https://example.org/a.jpg") is None
    assert EvidenceRef.parse("sha256:" + "zz" * 32) is None
    assert EvidenceRef.parse("sha256:" + "ab" * 32) == EvidenceRef("ab" * 32, "abababababab")

"""Control-record keys: one per published version, never two alike, the bare name kept apart."""

from __future__ import annotations

import doctest

import pytest

from streams.control_keys import check_key, is_version_key, name_of, publication_key, split_key

HASH = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("complaints", "2.1.0"),
        ("equipment-anomaly", "v3"),
        ("a@b", "1#2"),  # the separators themselves, in a model's free-form name and version
        ("杭州-围栏", "2026-01-26.1"),
        ("x", ""),
    ],
)
def test_a_version_key_splits_back_into_its_name_and_version(name: str, version: str) -> None:
    key = publication_key(name, version, HASH)
    assert is_version_key(key)
    assert split_key(key) == (name, version)
    assert name_of(key) == name


def test_keys_differ_by_name_version_and_content() -> None:
    keys = {
        publication_key("p", "1.0.0", HASH),
        publication_key("p", "1.0.1", HASH),
        publication_key("q", "1.0.0", HASH),
        publication_key("p", "1.0.0", "sha256:" + "cd" * 32),
        publication_key("p@1.0.0", "", HASH),
    }
    assert len(keys) == 5


def test_the_digest_ignores_the_hash_prefix() -> None:
    """Rule packs hash as ``sha256:<hex>``, models and fence sets as bare hex: same key."""
    assert publication_key("p", "1", HASH) == publication_key("p", "1", "ab" * 32)
    assert publication_key("p", "1", HASH).endswith("#" + "ab" * 8)


@pytest.mark.parametrize("key", ["complaints", "2027", "sil-0a1b2c3d4e", "p@1.0.0", "p@1#abc"])
def test_bare_names_are_not_version_keys(key: str) -> None:
    assert not is_version_key(key)
    assert split_key(key) == (key, None)


def test_a_record_is_accepted_under_its_name_or_its_own_version_key() -> None:
    check_key("p", "pack", "p", "1.0.0", HASH)
    check_key(publication_key("p", "1.0.0", HASH), "pack", "p", "1.0.0", HASH)
    for wrong in ("q", publication_key("p", "1.0.1", HASH), publication_key("q", "1.0.0", HASH)):
        with pytest.raises(ValueError, match="neither the pack's name"):
            check_key(wrong, "pack", "p", "1.0.0", HASH)


def test_a_version_key_needs_the_content_hash_it_names() -> None:
    """A record without a content hash (a raw sender's) may only use the bare name."""
    key = publication_key("p", "1.0.0", HASH)
    with pytest.raises(ValueError, match="neither the pack's name"):
        check_key(key, "pack", "p", "1.0.0", "")


def test_doctests() -> None:
    from streams import control_keys

    assert doctest.testmod(control_keys).failed == 0

"""The API's trusted keys: a JWKS file re-read when it changes; unreadable keys are a 503."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.devkey import DevKey
from streams.api.auth import KeySource, bearer
from streams.api.bodies import ApiError


def test_a_missing_or_broken_jwks_is_a_503_not_a_401(tmp_path: Path) -> None:
    for content in (None, "{not json", '{"keys": []}'):
        path = tmp_path / "jwks.json"
        if content is not None:
            path.write_text(content)
        with pytest.raises(ApiError) as info:
            KeySource(str(path)).keys()
        assert info.value.status == 503 and "JWKS" in info.value.message


def test_a_rotated_key_file_is_read_again(tmp_path: Path) -> None:
    first, second = DevKey(tmp_path / "a"), DevKey(tmp_path / "b")
    first.ensure()
    second.ensure()
    served = tmp_path / "jwks.json"
    served.write_bytes(first.jwks.read_bytes())
    source = KeySource(str(served))
    (old,) = source.keys().keys
    served.write_bytes(second.jwks.read_bytes())
    stat = served.stat()
    os.utime(served, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a later mtime
    (new,) = source.keys().keys
    assert old.key_id != new.key_id


def test_bearer() -> None:
    assert bearer("bearer a.b.c") == "a.b.c"
    assert bearer("Bearer   ") is None and bearer("Token a.b.c") is None


def test_doctests() -> None:
    import doctest

    from streams.api import auth

    assert doctest.testmod(auth).failed == 0

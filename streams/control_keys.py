"""How hot-loadable versions are keyed on the compacted control topics, defined once.

A compacted topic keeps only the latest record of each key. Keyed by name alone, a version the
workers refused became, once the log cleaner ran, the only record of its name: a worker started
after that had no good version left (it fell back to the shipped one, or to nothing). So each
published version of a rule pack, fence set or model is keyed by its name, version and content,
``name@version#digest``: compaction keeps the latest record of every distinct version, in log
order (a rollback record replaces the original of its version, further on), and a worker that
replays them from the start ends where the live workers ended — on the last good version.

The bare name is the *withdraw* key: a tombstone under it withdraws what was published of that
name (``riskloop rules withdraw`` then tombstones each version key too, so compaction drops
them). A tombstone under a version key only lets compaction drop that record: workers ignore it.
A record under the bare name with a value (how versions were keyed before) is still accepted.

>>> key = publication_key("complaints", "2.1.0", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b")
>>> key
'complaints@2.1.0#9f86d081884c7d65'
>>> split_key(key), split_key("complaints")
(('complaints', '2.1.0'), ('complaints', None))
"""

from __future__ import annotations

import re
from typing import Protocol
from urllib.parse import quote, unquote

DIGEST_CHARS = 16
"""Hex characters of the content hash in a key: enough to tell two contents of one version apart."""

_VERSION_KEY = re.compile(rf"^([^@#]+)@([^@#]*)#([0-9a-f]{{{DIGEST_CHARS}}})$")


def publication_key(name: str, version: str, content_hash: str) -> str:
    """The key of one published version; ``name`` and ``version`` are %-escaped, so an ``@``
    or ``#`` in them cannot make two keys alike (``quote`` leaves ``[A-Za-z0-9_.~-]``)."""
    digest = content_hash.rsplit(":", 1)[-1][:DIGEST_CHARS].lower()
    return f"{quote(name, safe='')}@{quote(version, safe='')}#{digest}"


class Versioned(Protocol):
    """A hot-loadable version: a pack or model publication, a compiled fence set."""

    @property
    def name(self) -> str:
        """What is published: the pack's, model's or fence set's name."""

    @property
    def version(self) -> str:
        """Which version of it: rollback and status name versions by this."""

    @property
    def content_hash(self) -> str:
        """The digest of its content: two different contents never share a key."""


def key_of(item: Versioned) -> str:
    """The key ``item`` is published under: the CLI and the API file a version alike."""
    return publication_key(item.name, item.version, item.content_hash)


def split_key(key: str) -> tuple[str, str | None]:
    """``(name, version)`` of a version key; ``(key, None)`` for a bare name."""
    match = _VERSION_KEY.match(key)
    if match is None:
        return key, None
    return unquote(match[1]), unquote(match[2])


def name_of(key: str) -> str:
    """The name a control record's key is about (a version key's name, or the key itself)."""
    return split_key(key)[0]


def is_version_key(key: str) -> bool:
    """True for the key of one published version (``name@version#hash``), False for a bare
    name: the two kinds of record on a control topic are handled apart."""
    return _VERSION_KEY.match(key) is not None


def check_key(key: str, kind: str, name: str, version: str, content_hash: str) -> None:
    """Refuse a record filed under a key that is not its own: compaction works per key, so a
    record under another key would outlive, or be dropped for, a version that is not its."""
    if key == name or (content_hash and key == publication_key(name, version, content_hash)):
        return
    raise ValueError(
        f"the record's key {key!r} is neither the {kind}'s name {name!r} nor "
        f"{publication_key(name, version, content_hash)!r}"
    )

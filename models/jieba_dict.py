"""jieba's dictionary in ~9 MiB instead of ~62 MiB, cutting the very same words (issue #16).

jieba keeps ``Tokenizer.FREQ``, a dict of 498,113 str → int entries: every word of its
dict.txt with its frequency, and every prefix of every word with 0 (``get_DAG`` asks
``frag in FREQ`` to know whether to read on). Every worker paid ~62 MiB for it before its first
complaint, and the complaint classifier (``models/complaints.py``) is its only reader.

Here the same entries live in two MARISA tries (``marisa-trie``, ~1.2 MiB each): one of every
key of jieba's ``FREQ`` (words and prefixes; a key's id indexes a frequency array) and one of
the words alone, whose ``prefixes`` give a position's edges of jieba's DAG in one call.
:class:`CompactFreq` answers ``in``, ``[]`` and ``get`` as jieba's dict does;
:class:`CompactTokenizer` is jieba's own ``Tokenizer`` (its ``cut``, its HMM for unknown words)
with ``get_DAG`` and ``calc`` computed from the tries. A trie lookup costs ~6 dict lookups, so
the trie is asked once per position, and only where a word of two or more characters can start
(a table by the hash of the position's two characters; about half of a text's positions are
not such), with single characters in a small dict: that keeps a cut as fast as stock jieba's.
Both methods return what jieba's return, float for float (the same ``log`` of the same
frequencies, added in the same order, the same ties): tests/unit/models/test_jieba_dict.py cuts
real messages both ways and compares words, DAGs and routes.

Building the tries from dict.txt takes 3–4 s, so they are kept in a file in the temp directory
(as jieba keeps its own cache there), named after dict.txt's digest, written atomically and
carrying its own digest, checked before the tries read it (marisa crashes the interpreter on
damaged bytes); a file that does not check is rebuilt. The dictionary is read-only: jieba's
``add_word``, ``del_word``, ``suggest_freq(tune=True)`` and user dictionaries raise
``TypeError`` (nothing here adds words).

>>> tokenizer().lcut("小区门口垃圾堆放，没人清理")
['小区', '门口', '垃圾堆', '放', '，', '没', '人', '清理']
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from array import array
from collections.abc import Iterator, Mapping
from functools import cache
from math import inf, log
from pathlib import Path

import jieba
import marisa_trie

DICT_TXT = Path(jieba.__file__).with_name("dict.txt")
_FORMAT = b"riskloop-jieba-dict 2\n"  # change it with the layout: a cached file is then rebuilt
_HEADER = struct.Struct("<32sQQQQ")  # the parts' sha256, the total, the parts' byte lengths
_PAIRS = 1 << 21  # slots for the ~178,000 pairs that start a longer word (~8 % shared with another)


class CompactFreq(Mapping[str, int]):
    """jieba's ``FREQ`` (word → frequency, a word's prefix → 0), read-only, over a trie.

    >>> f = tokenizer().FREQ
    >>> f["垃圾"] > 0, f.get("中华人民共"), "中华人民共" in f, f.get("垃圾x"), len(f)
    (True, 0, True, None, 498113)
    """

    __slots__ = ("_freqs", "_keys")

    def __init__(self, keys: marisa_trie.Trie, freqs: array[int]) -> None:
        self._keys = keys
        self._freqs = freqs

    def __getitem__(self, key: str) -> int:
        i: int | None = self._keys.get(key)
        if i is None:
            raise KeyError(key)
        return self._freqs[i]

    def get(self, key: str, default: int | None = None) -> int | None:  # type: ignore[override]
        """As ``dict.get``: Mapping's would go through ``KeyError``, and jieba calls it per run."""
        i: int | None = self._keys.get(key)
        return default if i is None else self._freqs[i]

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys.keys())

    def __len__(self) -> int:
        return len(self._keys)


class CompactTokenizer(jieba.Tokenizer):
    """jieba's Tokenizer over :class:`CompactFreq`, its DAG and route read from the tries."""

    def __init__(
        self, keys: marisa_trie.Trie, words: marisa_trie.Trie, freqs: array[int], total: int
    ) -> None:
        super().__init__()
        self.FREQ = CompactFreq(keys, freqs)
        self.total = total
        self.initialized = True  # jieba must never load its own dictionary into this one
        self._keys, self._words, self._freqs = keys, words, freqs
        # The two hot cases without a trie: the weight of a single character (most of a text's
        # positions), and how far a word can reach from a position: per slot of the hash of
        # the position's two characters, the longest word that starts with any pair hashed
        # there, 0 where none does (about half of a text's positions).
        self._one: dict[str, float] = {}
        self._reach = bytearray(_PAIRS)
        for w in words.iterkeys():
            if len(w) == 1:
                self._one[w] = log(self.FREQ[w])
            elif len(w) > 255:
                raise ValueError(f"a word longer than 255 characters: {w[:20]}…")
            else:
                slot = hash(w[:2]) & (_PAIRS - 1)
                self._reach[slot] = max(self._reach[slot], len(w))

    def get_DAG(self, sentence: str) -> dict[int, list[int]]:
        """The DAG jieba builds: per position, the last index of each word starting there (or k).

        The words starting at ``k`` are the trie's prefixes of ``sentence[k:]``, which is what
        jieba's walk over ``FREQ`` finds (its keys are closed under prefixes, so the walk stops
        only where no longer word can follow).
        """
        reach, prefixes = self._reach, self._words.prefixes
        n = len(sentence)
        dag = {k: [k] for k in range(n)}
        for k in range(n - 1):
            longest = reach[hash(sentence[k : k + 2]) & (_PAIRS - 1)]
            if longest:
                found = prefixes(sentence[k : k + longest])
                if found:
                    dag[k] = [k + len(w) - 1 for w in found]
        return dag

    def calc(
        self, sentence: str, DAG: dict[int, list[int]], route: dict[int, tuple[float, int]]
    ) -> None:
        """The route jieba takes: ``max((log(FREQ.get(word) or 1) - log(total) + route[end + 1][0],
        end))`` per position, from the end.

        The same floats in the same order; an explicit loop keeps the first maximum, as ``max``
        (every weight is finite, so the first candidate beats the start value).
        """
        n = len(sentence)
        route[n] = (0, 0)
        logtotal = log(self.total)
        one, key_id, freqs = self._one.get, self._keys.get, self._freqs
        for idx in range(n - 1, -1, -1):
            ends = DAG[idx]
            if len(ends) == 1 and ends[0] == idx:
                route[idx] = (one(sentence[idx], 0.0) - logtotal + route[idx + 1][0], idx)
                continue
            best: tuple[float, int] = (-inf, -1)
            for x in ends:
                if x == idx:
                    weight = one(sentence[idx], 0.0)
                else:
                    i = key_id(sentence[idx : x + 1])
                    weight = 0.0 if i is None else log(freqs[i] or 1)
                candidate = (weight - logtotal + route[x + 1][0], x)
                if candidate > best:  # noqa: PLR1730 (max() would be one more call per edge)
                    best = candidate
            route[idx] = best


def _entries(path: Path) -> Iterator[tuple[str, int]]:
    """(word, frequency) per line of a jieba dictionary, parsed as ``gen_pfdict`` parses it."""
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip().decode("utf-8")
            try:
                word, freq = line.split(" ")[:2]
                yield word, int(freq)
            except ValueError:
                raise ValueError(
                    f"invalid dictionary entry in {path} at Line {lineno}: {line}"
                ) from None


def build(path: Path = DICT_TXT) -> bytes:
    """The tries, frequencies and total of a jieba dictionary file, as the cache file holds them.

    As jieba: a repeated word keeps its last frequency and counts in the total each time.
    """
    keys = marisa_trie.Trie(w[:i] for w, _ in _entries(path) for i in range(1, len(w) + 1))
    freqs = array("I", bytes(4 * len(keys)))
    total = 0
    for w, f in _entries(path):
        freqs[keys.key_id(w)] = f
        total += f
    words = marisa_trie.Trie(w for w, i in keys.iteritems() if freqs[i])  # get_DAG's: FREQ[w] > 0
    parts = [keys.tobytes(), words.tobytes(), freqs.tobytes()]
    body = b"".join(parts)
    return _FORMAT + _HEADER.pack(hashlib.sha256(body).digest(), total, *map(len, parts)) + body


def load(data: bytes) -> CompactTokenizer:
    """A tokenizer from what :func:`build` returned; ``ValueError`` if it is not that."""
    if not data.startswith(_FORMAT) or len(data) < len(_FORMAT) + _HEADER.size:
        raise ValueError("not a compact jieba dictionary of this format")
    digest, total, *sizes = _HEADER.unpack_from(data, len(_FORMAT))
    body = memoryview(data)[len(_FORMAT) + _HEADER.size :]  # views: no copy of 4.5 MB to free
    if sum(sizes) != len(body) or hashlib.sha256(body).digest() != digest:
        raise ValueError("a damaged compact jieba dictionary")
    keys_end, words_end = sizes[0], sizes[0] + sizes[1]
    keys = marisa_trie.Trie().frombytes(bytes(body[:keys_end]))
    words = marisa_trie.Trie().frombytes(bytes(body[keys_end:words_end]))
    freqs = array("I")
    freqs.frombytes(body[words_end:])
    if len(freqs) != len(keys):
        raise ValueError("a compact jieba dictionary whose frequencies do not match its keys")
    return CompactTokenizer(keys, words, freqs, total)


def cache_path(path: Path = DICT_TXT) -> Path:
    """Where the built dictionary of ``path`` is kept: named after its content and the format."""
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
    digest.update(_FORMAT)
    return Path(tempfile.gettempdir()) / f"riskloop-jieba-{digest.hexdigest()[:16]}.dict"


@cache
def tokenizer() -> CompactTokenizer:
    """The process's tokenizer over jieba's shipped dictionary, from the cache file or built."""
    cached = cache_path()
    try:
        return load(cached.read_bytes())
    except (OSError, ValueError):
        pass  # missing, unreadable or not ours: build it again
    data = build()
    try:
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".riskloop-jieba-")
    except OSError:
        return load(data)  # a read-only temp dir costs the next worker the build, not its words
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, cached)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
    return load(data)

"""A digest of everything the agents send and the checkpoints write, for a change that must not
change outputs (issue #16: cut the CPU per event, *with identical outputs*).

The same in-process run as :mod:`bench.memory_curve` (the real agents in Faust's test context,
the bench's generated stream, a checkpoint every ``commit_every`` events), but every message
sent (topic, key, value, partition) and every changelog record written (partition, key, value)
goes into a SHA-256, in order, instead of being only counted. Two runs of the same code give
the same digests (checked: tests/streams/test_output_digest_stable.py); a CPU cut that gives
others changed an output. What differs between two runs of the same events by design is left
out of the changelog's digest, and only that: the marker's wall clock and worker id, a
warning's ``notified_at`` (wall time), a model snapshot's MAC (a per-run snapshot key), its
``taken_at``, its unit epoch (a random name) and wall-clock times pickled inside it (a drift
event's ``detected_at``); the run is made with ``PYTHONHASHSEED=0``, since models pickle sets.

    python -m bench.output_digest 20000          # 78 skewed entities, like the broker bench
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import sys
import tempfile
import zlib
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from time import process_time
from typing import TYPE_CHECKING, Any

import orjson

from bench import memory_curve
from models import snapshot
from models.errors import CorruptSnapshot
from models.unit_records import MAC_LEN as SEGMENT_MAC_LEN
from models.unit_records import MAGIC as SEGMENT_MAGIC
from streams import memory
from streams.checkpoint import MARKER, MODEL_PREFIX
from streams.model_state import INDEX, split_head, split_unit_key
from streams.model_state import unpack as unpack_model
from streams.packing import unpack

if TYPE_CHECKING:
    from collections.abc import Iterator

    from config.settings import Settings
    from streams.app import RiskLoopApp


def marker_digestible(value: bytes) -> bytes:
    """A checkpoint marker without what differs between two runs of the same events.

    >>> marker_digestible(b'{"absorbed":{"a":1},"seq":2,"worker":"x","at":1.5}')
    b'{"absorbed":{"a":1},"seq":2}'
    """
    fields = orjson.loads(value)
    fields.pop("at", None)
    fields.pop("worker", None)
    return orjson.dumps(fields)


_WALL = re.compile(rb'"notified_at":"[^"]*"')


def value_digestible(value: bytes) -> bytes:
    """A state value's JSON (unpacked) without the wall-clock time a warning was notified at.

    >>> value_digestible(b'{"notified_at":"2026-12-05T21:31:47.81Z","tasked":true}')
    b'{"notified_at":"","tasked":true}'
    """
    return _WALL.sub(b'"notified_at":""', unpack(value))


def _segment_digestible(segment: bytes) -> bytes:
    """A unit segment's header and units without its MAC (keyed by a per-run snapshot key) and
    its epoch (a random name given each time its model is written whole)."""
    body = segment[len(SEGMENT_MAGIC) + SEGMENT_MAC_LEN + 1 :]
    head, _, blobs = body.partition(b"\n")
    header = orjson.loads(head)
    header.pop("epoch", None)
    return orjson.dumps(header) + b"\n" + blobs


def _today_pickled(now: datetime | None = None) -> re.Pattern[bytes]:
    """A pickled ``datetime`` of today's (UTC) date: its 10 state bytes, the year big-endian.

    >>> import pickle
    >>> pat = _today_pickled(datetime(2026, 12, 5, tzinfo=UTC))
    >>> pat.sub(b"C\\n*", pickle.dumps(datetime(2026, 12, 5, 21, 35, tzinfo=UTC))) == pickle.dumps(
    ...     datetime(2026, 12, 5, 21, 35, tzinfo=UTC))
    False
    >>> pat.sub(b"C\\n*", pickle.dumps(datetime(2026, 11, 2, tzinfo=UTC))) == pickle.dumps(
    ...     datetime(2026, 11, 2, tzinfo=UTC))
    True
    """
    d = (now or datetime.now(UTC)).date()
    return re.compile(
        re.escape(b"C\n" + d.year.to_bytes(2, "big") + bytes([d.month, d.day])) + b".{7}", re.S
    )


def model_digestible(key: bytes, value: bytes) -> bytes:
    """A model record without its MAC, snapshot time and epoch: the global snapshot's header
    fields that follow from the events (model, versions, offsets, payload hash) and the
    pickled payload; a head or a sealed segment as :func:`_segment_digestible`; the index as
    it is. A model of more than one chunk (over 512 KiB packed) is hashed as its chunks.

    Pickled wall-clock times are blanked: a drift event's ``detected_at`` is when it was
    detected, not an event time. The bench's events are of November 2026 (``START``), so a
    pickled datetime of today's date is a wall clock, never an event's. Sets are pickled in
    hash order: :func:`main` runs with ``PYTHONHASHSEED=0``."""
    if key == INDEX or split_unit_key(key) is not None:
        return value if key == INDEX else _segment_digestible(value)
    packed, head = split_head(value)
    try:
        header, payload = snapshot.read_header(unpack_model(packed))
    except (CorruptSnapshot, ValueError, zlib.error):
        return value  # a chunk of a model cut in several: its bytes
    fixed = header.model_dump_json(exclude={"taken_at", "units", "content_hash"}).encode()
    body = fixed + b"\n" + payload + (b"" if head is None else _segment_digestible(head))
    return _today_pickled().sub(b"C\n*", body)


def record_digestible(key: bytes, value: bytes | None) -> bytes | None:
    """What of one changelog record two runs of the same events must agree on."""
    if value is None:
        return None
    if key == MARKER.encode():
        return marker_digestible(value)
    if key.startswith(MODEL_PREFIX) or key == INDEX:
        return model_digestible(key, value)
    return value_digestible(value)


def _field(h: Any, data: bytes | None) -> None:
    """Length-prefixed, so no two sequences of fields hash alike."""
    h.update(b"-" if data is None else len(data).to_bytes(8, "big") + data)


@contextmanager
def _sends_hashed(h: Any) -> Iterator[list[int]]:
    """Hash what the agents send instead of producing it (as ``_sends_counted`` counts it)."""
    from streams.producer import WorkerProducer

    count = [0]
    original = WorkerProducer.send

    async def send(
        self: Any, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> None:
        count[0] += 1
        _field(h, topic.encode())
        _field(h, key)
        _field(h, value)
        _field(h, str(partition).encode())

    WorkerProducer.send = send  # type: ignore[method-assign]
    try:
        yield count
    finally:
        WorkerProducer.send = original  # type: ignore[method-assign]


def _hashing_app(settings: Settings, h: Any, written: list[int]) -> RiskLoopApp:
    def keep(partition: int, key: bytes, value: bytes | None) -> None:
        written[0] += 1
        _field(h, str(partition).encode())
        _field(h, key)
        _field(h, record_digestible(key, value))

    app = memory_curve.worker_app(settings)
    memory_curve.checkpoint_writes(app, keep)
    return app


async def digest(
    settings: Settings, events: int, entities: int | None = None, *, commit_every: int = 200
) -> tuple[str, str, int, int, float]:
    """(sent digest, changelog digest, messages sent, records written, CPU µs per event)."""
    if settings.memory.malloc_arenas:
        memory.bound_arenas(settings.memory.malloc_arenas)  # as the runner does, before threads
    sent_h, written_h = hashlib.sha256(), hashlib.sha256()
    written = [0]
    with _sends_hashed(sent_h) as sent:
        app = _hashing_app(settings, written_h, written)
        cpu0 = process_time()
        await memory_curve.feed(app, settings, events, entities, commit_every=commit_every)
        cpu = process_time() - cpu0
    return sent_h.hexdigest(), written_h.hexdigest(), sent[0], written[0], cpu / events * 1e6


def main(events: int = 20_000, entities: int | None = None) -> None:
    """Print the digests, the counts and the CPU per event of one run (in a process with
    ``PYTHONHASHSEED=0``: the models pickle sets, whose order follows the string hashes)."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(
            sys.executable,
            [sys.executable, "-m", "bench.output_digest", str(events), str(entities or "")],
            {**os.environ, "PYTHONHASHSEED": "0"},
        )
    logging.disable(logging.INFO)  # a line per warning, on stdout
    with tempfile.TemporaryDirectory(prefix="riskloop-digest-") as tmp:
        settings = memory_curve.default_settings(Path(tmp))
        sent_d, written_d, sent, written, us = asyncio.run(digest(settings, events, entities))
    print(f"sent {sent:,} messages, digest {sent_d}")
    print(f"wrote {written:,} changelog records, digest {written_d}")
    print(f"cpu us/ev {us:.1f}", flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a]
    main(int(args[0]) if args else 20_000, int(args[1]) if len(args) > 1 else None)

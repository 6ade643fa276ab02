"""Publishing to and reading the compacted control topics (the CLI's side of hot-loading).

Every version of a pack, fence set or model goes under its own key (``streams.control_keys``),
so the history a rollback reads survives compaction, and so does the last good version when a
newer one is refused. Records under the bare name (the older keying) are read as well.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from confluent_kafka import Consumer, Message, TopicPartition
from pydantic import BaseModel

from config.settings import PROJECT_ROOT, Settings
from loop.calendar import WorkingCalendar, YearCalendar, parse_year, shipped_calendar
from rules.compiler import load_pack, load_pack_text
from rules.testing import failures, run_examples
from schemas.errors import ConfigError, RiskLoopError
from schemas.records import RulePackPublication
from streams import kafka_clients
from streams.admin import create_topics, require_broker
from streams.control_keyring import load_keyring
from streams.control_keys import Versioned, is_version_key, key_of, name_of
from streams.producer import deliver, make_producer

if TYPE_CHECKING:  # models (River) and geo load only when their command runs
    from collections.abc import Callable, Iterator, Sequence

    from geo.fence_sets import CompiledFenceSet
    from models.publication import ModelPublication


def send(settings: Settings, topic: str, key: str, value: bytes | None) -> None:
    """Produce one record (None = tombstone) keyed like Faust does; returns once the broker
    acknowledged it, raises otherwise (the CLI prints "sent" only after this returns)."""
    send_all(settings, topic, [(key, value)])


def send_all(settings: Settings, topic: str, records: Sequence[tuple[str, bytes | None]]) -> None:
    """:func:`send` for several records, in order, each acknowledged before the next goes;
    each signed with the publisher's key (``streams.control_keyring``): workers refuse
    unsigned control records."""
    keyring = load_keyring(settings)
    require_broker(settings)
    create_topics(settings)
    producer = make_producer(settings)
    for key, value in records:
        raw = key.encode()
        headers = keyring.sign(topic, raw, value)
        deliver(producer, topic, raw, value, headers=headers)


def withdraw(settings: Settings, topic: str, name: str) -> list[str]:
    """Withdraw everything published of ``name`` on ``topic``; returns the version keys cleared.

    First a tombstone under the bare name, which the workers act on (a pack goes back to its
    shipped version, a fence set away); then one under each version key still holding a record,
    so that compaction drops them all and a worker started later does not bring one back.
    """
    held: dict[str, bool] = {}
    for key, value in read_all(settings, topic):
        if is_version_key(key) and name_of(key) == name:
            held[key] = value is not None
    versions = [key for key, present in held.items() if present]
    send_all(settings, topic, [(name, None)] + [(key, None) for key in versions])
    return versions


def read_all(settings: Settings, topic: str) -> Iterator[tuple[str, bytes | None]]:
    """Every record of a (compacted) control topic, oldest first, as (key, value)."""
    for msg in read_records(settings, topic):
        yield (msg.key() or b"").decode(), msg.value()


def read_signed(settings: Settings, topic: str) -> Iterator[tuple[str, bytes | None]]:
    """:func:`read_all`, but only the records signed by a trusted key: the others were refused
    by every worker, so they are no version, no rollback target and nothing to show as live
    (a rollback would otherwise re-sign, and so launder, what a stranger wrote)."""
    keyring = load_keyring(settings)
    for msg in read_records(settings, topic):
        if keyring.verify(topic, msg.key(), msg.value(), msg.headers()).ok:
            yield (msg.key() or b"").decode(), msg.value()


READ_PATIENCE = 30.0
"""Seconds :func:`read_records` waits with nothing delivered before it gives up with an error."""


def read_records(settings: Settings, topic: str) -> Iterator[Message]:
    """Every record of a (compacted) control topic, oldest first, with its headers, up to
    each partition's end offset when called. A read that stalls short of an end raises
    (:data:`READ_PATIENCE`): it used to stop at the first 5-s silence and return what it had,
    so on a busy machine a draw or a rollback could work from part of a topic unawares."""
    require_broker(settings)
    c = Consumer(
        {
            **kafka_clients.confluent(settings),
            "group.id": f"riskloop-cli-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        meta = c.list_topics(topic, timeout=10)
        if topic not in meta.topics or meta.topics[topic].error is not None:
            return
        parts = []
        ends = {}
        for p in meta.topics[topic].partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                parts.append(TopicPartition(topic, p, low))
                ends[p] = high
        if not parts:
            return
        c.assign(parts)
        done: set[int] = set()
        quiet_since = time.monotonic()
        while len(done) < len(parts):
            msg = c.poll(1)
            if msg is None or msg.error():
                # at the end of what a partition delivers, though short of its end offset
                # (a transaction's marker takes the last offset and is never delivered)?
                for tp in c.position([TopicPartition(topic, p) for p in ends if p not in done]):
                    if tp.offset >= ends[tp.partition]:
                        done.add(tp.partition)
                if len(done) < len(parts) and time.monotonic() - quiet_since > READ_PATIENCE:
                    left = sorted(set(ends) - done)
                    raise RiskLoopError(
                        f"{topic}: read stalled for {READ_PATIENCE:.0f} s before the end of "
                        f"partition(s) {left}; nothing was used (a partial read would be "
                        "taken for the whole)"
                    )
                continue
            quiet_since = time.monotonic()
            yield msg
            partition, offset = msg.partition() or 0, msg.offset() or 0
            if offset + 1 >= ends[partition]:
                done.add(partition)
    finally:
        c.close()


P = TypeVar("P")
Restampable = TypeVar("Restampable", bound=BaseModel)


@dataclass(frozen=True)
class _Version(Generic[P]):
    """One version in a control topic's history: what a rollback would republish."""

    version: str
    rollback_of: str | None
    record: P


@dataclass(frozen=True)
class _Kind(Generic[P]):
    """What differs between the hot-loadable kinds on the CLI side of a rollback."""

    what: str
    topic: Callable[[Settings], str]
    read: Callable[[str, bytes], _Version[P] | None]
    """The version a worker would build from a record under that key; None: refused."""
    shipped: Callable[[Settings, str, str], _Version[P] | None]
    """What a worker runs before anything is published, unless it is that version."""
    withdrawable: bool = True
    """A tombstone under the bare name withdraws: the history starts afresh after it."""
    unpublished: str = "no published versions of {what} {name!r} on {topic}"
    first: str = "{what} {name!r} has no version before {version} to roll back to"


def _history(settings: Settings, kind: _Kind[P], name: str) -> list[_Version[P]]:
    """The versions of ``name`` a rollback can go back to, oldest first, read from its topic.

    Versions a worker would refuse are skipped (they never ran), a rollback record moves its
    version to the end and drops the one it rolled back from (after compaction it is also the
    only record of its version left), and a withdrawal starts the history afresh.
    """
    versions: list[_Version[P]] = []
    for key, value in read_signed(settings, kind.topic(settings)):
        if name_of(key) != name:
            continue
        if value is None:
            versions = [] if kind.withdrawable and key == name else versions
            continue
        version = kind.read(key, value)
        if version is not None:
            dropped = {version.version, version.rollback_of}
            versions = [v for v in versions if v.version not in dropped] + [version]
    return versions


def _rollback_target(
    settings: Settings, kind: _Kind[P], name: str
) -> tuple[_Version[P], _Version[P]]:
    """(the live version, the one to go back to): the one before it, or the shipped one."""
    versions = _history(settings, kind, name)
    words = {"what": kind.what, "name": name, "topic": kind.topic(settings)}
    if not versions:
        raise ConfigError(kind.unpublished.format(**words))
    current = versions[-1]
    previous = versions[-2] if len(versions) > 1 else kind.shipped(settings, name, current.version)
    if previous is None:
        raise ConfigError(kind.first.format(**words, version=current.version))
    return current, previous


def _restamped(pub: Restampable, rollback_of: str, who: str) -> Restampable:
    """``pub`` published again as a rollback from ``rollback_of``, by ``who``, now."""
    update = {"rollback_of": rollback_of, "published_by": who, "published_at": datetime.now(UTC)}
    return pub.model_copy(update=update)


def publish_pack(
    settings: Settings, path: Path, who: str, *, force: bool = False
) -> RulePackPublication:
    """Validate, compile and test a pack locally, then publish it (``force`` skips the tests)."""
    pub = prepare_pack(path, who, force=force)
    send_pack(settings, pub)
    return pub


def prepare_pack(path: Path, who: str, *, force: bool = False) -> RulePackPublication:
    """The publication of a pack that validates, compiles and passes its examples here."""
    pack = load_pack(path)
    failed = failures(run_examples(pack))
    if failed and not force:
        names = ", ".join(f"{f.rule_id}/{f.example}" for f in failed[:5])
        raise ConfigError(
            f"{path}: {len(failed)} example(s) fail ({names}); a failing pack cannot be activated"
        )
    return RulePackPublication(
        name=pack.name,
        version=pack.version,
        content_hash=pack.content_hash,
        yaml=Path(path).read_text(encoding="utf-8"),
        published_by=who,
        published_at=datetime.now(UTC),
    )


def send_pack(settings: Settings, pub: RulePackPublication) -> None:
    """One pack publication, under its version key."""
    send(settings, settings.topics.rulepacks, key_of(pub), pub.model_dump_json().encode())


def rollback_pack(settings: Settings, name: str, who: str) -> RulePackPublication:
    """Republish the version before the latest one of ``name`` (marked as a rollback); with
    one version published, the shipped pack of that name is the target (see :func:`_history`)."""
    current, previous = _rollback_target(settings, _PACKS, name)
    pub = _restamped(previous.record, current.version, who)
    send_pack(settings, pub)
    return pub


def _pack(key: str, value: bytes) -> _Version[RulePackPublication] | None:
    """A pack record as a worker would take it, or None (refused: never ran)."""
    pub = _publication(value)
    if pub is None or not _keyed_as(key, pub) or not _activatable(pub):
        return None
    return _Version(pub.version, pub.rollback_of, pub)


def _publication(value: bytes) -> RulePackPublication | None:
    """A pack record from the topic, or None: one a worker refused is no rollback target, and
    must not stop the CLI either (the topic accepts any bytes)."""
    try:
        return RulePackPublication.model_validate_json(value)
    except ValueError:  # pydantic's ValidationError is a ValueError
        return None


def _keyed_as(key: str, pub: Versioned) -> bool:
    """Is the record under a key a worker accepts for it (its name, or its version key)?"""
    return key in (pub.name, key_of(pub))


def _activatable(pub: RulePackPublication) -> bool:
    """Would a worker accept this publication? (Refused ones never ran: not a rollback target.)"""
    try:
        pack = load_pack_text(pub.yaml, origin=f"{pub.name}@{pub.version}")
        return not failures(run_examples(pack)) and pack.version == pub.version
    except (RiskLoopError, RecursionError, OverflowError, OSError, ValueError):
        return False  # what a worker refuses (apply() turns any exception into a refusal)


def _shipped(
    settings: Settings, name: str, newer_than: str
) -> _Version[RulePackPublication] | None:
    """The shipped pack of that name, if it is older than the published one (the natural base)."""
    for path in sorted(Path(settings.rule_packs_dir).glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        pack = load_pack_text(text, origin=str(path))
        if pack.name == name and pack.version != newer_than:
            pub = RulePackPublication(
                name=pack.name,
                version=pack.version,
                content_hash=pack.content_hash,
                yaml=text,
                published_by="shipped",
                published_at=datetime.now(UTC),
            )
            return _Version(pub.version, None, pub)
    return None


def status_records(settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """``control.status`` oldest first, as (key, record): only records signed by a trusted key
    (anyone could write "accepted" there) and that are JSON objects."""
    for key, value in read_signed(settings, settings.topics.status):
        try:
            record = json.loads(value or b"null")
        except ValueError:
            continue
        if isinstance(record, dict):
            yield key, record


def publish_fenceset(settings: Settings, payload: bytes) -> CompiledFenceSet:
    """Validate a fence set (GeoJSON bytes) and publish it under its version key."""
    from geo.fence_sets import parse_fence_set

    fences = parse_fence_set(payload)
    send(settings, settings.topics.geofences, key_of(fences), payload)
    return fences


def rollback_fenceset(settings: Settings, name: str) -> tuple[str, str]:
    """Republish the fence set version before the latest valid one; returns (from, to).

    A fence set carries no rollback mark: the older version's own bytes go out again."""
    current, previous = _rollback_target(settings, _FENCES, name)
    publish_fenceset(settings, previous.record)
    return current.version, previous.version


def _fences(key: str, value: bytes) -> _Version[bytes] | None:
    """A fence set record as a worker would take it, or None (refused: never ran)."""
    from geo.fence_sets import parse_fence_set

    try:
        fences = parse_fence_set(value)
    except RiskLoopError:
        return None
    return _Version(fences.version, None, value) if _keyed_as(key, fences) else None


def _shipped_fences(settings: Settings, name: str, newer_than: str) -> _Version[bytes] | None:
    """The shipped file of that name, unless it is that version (the natural base, cf. packs)."""
    from geo.fence_sets import parse_fence_set

    for path in sorted((PROJECT_ROOT / "config" / "geofences").glob("*.geojson")):
        shipped = parse_fence_set(path.read_bytes())
        if shipped.name == name and shipped.version != newer_than:
            return _Version(shipped.version, None, path.read_bytes())
    return None


def rollback_model(settings: Settings, name: str, who: str) -> ModelPublication:
    """Republish the model version before the live one of ``name``, marked ``rollback_of``.

    The history is ``control.models`` itself (:func:`_history`); workers ignore model
    tombstones, and so does the history. A rollback drops the version it rolled back from, so
    rolling back twice goes two versions back. With one published version, the factory's
    shipped default (what workers run before anything is published) is the target.
    """
    current, previous = _rollback_target(settings, _MODELS, name)
    pub = _restamped(previous.record, current.version, who)
    send_model(settings, pub)
    return pub


def send_model(settings: Settings, pub: ModelPublication) -> None:
    """One model publication (live or shadow), under its version key."""
    send(settings, settings.topics.models, key_of(pub), pub.model_dump_json().encode())


def _model(key: str, value: bytes) -> _Version[ModelPublication] | None:
    """A model record that a worker would build, or None (refused: never ran)."""
    from pydantic import ValidationError

    from models.publication import ModelPublication, build

    try:
        pub = ModelPublication.model_validate_json(value)
        build(pub)
    except (ValidationError, RiskLoopError):
        return None
    return _Version(pub.version, pub.rollback_of, pub) if _keyed_as(key, pub) else None


def _default_model(
    settings: Settings, name: str, newer_than: str
) -> _Version[ModelPublication] | None:
    """The shipped default publication of ``name`` (a source's default factory), if it differs."""
    from models.worker_models import build_models

    models = build_models(settings)
    if name not in models.registry.names():
        return None
    pub = models.registry.publication(name)
    return _Version(pub.version, pub.rollback_of, pub) if pub.version != newer_than else None


_PACKS = _Kind("pack", lambda s: s.topics.rulepacks, _pack, _shipped)
_NO_EARLIER = "{what} {name!r} has no earlier valid version on {topic}"
_FENCES = _Kind(
    "fence set",
    lambda s: s.topics.geofences,
    _fences,
    _shipped_fences,
    unpublished=_NO_EARLIER,
    first=_NO_EARLIER,
)
_MODELS = _Kind("model", lambda s: s.topics.models, _model, _default_model, withdrawable=False)


def active_models(settings: Settings) -> list[dict[str, Any]]:
    """Per worker and model: the version it runs and since when, from ``control.status``.

    A refusal does not change what runs, so the active version is the last one the worker
    reported ``active`` or ``accepted``; a refusal after it is kept as ``note``. Workers that
    stopped still appear (status records are compacted, not expired): ``at`` tells how old.
    """
    active: dict[tuple[str, str], dict[str, Any]] = {}
    for _, record in status_records(settings):
        if record.get("kind") != "model":
            continue
        key = (record["worker"], record["name"])
        row = active.setdefault(
            key, {"worker": key[0], "name": key[1], "version": "?", "at": "", "note": ""}
        )
        if record["status"] in ("active", "accepted"):
            row.update(version=record["version"], at=record["at"], note="")
        else:
            row["note"] = f"{record['status']}: {record.get('reason', '')}"
    return sorted(active.values(), key=lambda r: (r["name"], r["worker"]))


def publish_calendar(settings: Settings, path: Path) -> YearCalendar:
    """Validate a year's notice file and publish it to control.calendars (key = year)."""
    data = Path(path).read_bytes()
    cal = parse_year(data, str(path))
    send(settings, settings.topics.calendars, str(cal.year), data)
    return cal


def live_calendar(settings: Settings) -> WorkingCalendar:
    """The calendar workers run: the shipped notices with the published ones over them
    (the latest record per year on control.calendars; a tombstone withdraws it)."""
    published: dict[str, bytes | None] = dict(read_signed(settings, settings.topics.calendars))
    calendar = shipped_calendar()
    for year, value in sorted(published.items()):
        if value is None:
            continue
        try:
            calendar = calendar.with_year(parse_year(value, f"control.calendars/{year}"))
        except ConfigError:
            continue  # the workers refused it too (their status says why)
    return calendar

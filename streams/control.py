"""The control plane: every worker reads the compacted control topics and hot-loads.

Rule packs, fence sets, models and silences are published to compacted topics; each version
of a pack, fence set or model under a key of its own (``streams.control_keys``), so compaction
never leaves a refused version as the only one of its name. They must reach *every* worker,
not one member of a consumer group, so each worker reads them with its own group-less consumer
from the beginning, validates and compiles each version, and swaps it in with one reference
assignment between two events. A version that fails is refused with a status record on
``control.status`` and a metric; the active one keeps running. So is a record that is not
signed by a trusted key (``schemas.control_signature``): nobody who can merely write to Kafka
can change what the workers score with. Source agents wait until the
control topics have been read up to where they stood at start, so no event is scored by a
stale pack after a restart.

State that belonged to removed rules or fences is cleaned up by the tick agent (tables may only
be written from stream iteration), from the ``pending_*`` lists kept here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from geo.fence_sets import parse_fence_set
from loop.calendar import WorkingCalendar, load_dir, parse_year
from loop.silences import Silence, check_limits
from rules.compiler import CompiledPack, load_pack
from rules.pack_registry import ActivationStatus, decides_alone
from schemas.control_signature import not_older
from schemas.records import RulePackPublication
from streams import kafka_clients
from streams.control_keyring import Keyring, load_keyring
from streams.control_keys import check_key, is_version_key, name_of
from streams.logs import get_logger
from streams.producer import make_async_producer

if TYPE_CHECKING:
    from streams.worker_context import WorkerContext

log = get_logger(__name__)

# apply_rulepack, apply_model, …: (worker, record key as text, value) -> the status record or None
ControlHandler = Callable[["WorkerContext", str, bytes | None], dict[str, Any] | None]


def keyring(worker: WorkerContext) -> Keyring:
    """The worker's keyring: signs its status records and what its API publishes."""
    state = worker.control
    if state.keyring is None:
        state.keyring = load_keyring(worker.settings)
    return state.keyring


def status_record(
    worker: str, kind: str, name: str, version: str, status: str, reason: str = ""
) -> dict[str, Any]:
    """One worker's answer for control.status: what it now runs (or refused, and why), stamped
    with when, so ``riskloop status`` can show how old each answer is."""
    return {
        "worker": worker,
        "kind": kind,
        "name": name,
        "version": version,
        "status": status,
        "reason": reason,
        "at": datetime.now(UTC).isoformat(),
    }


async def run_control_plane(worker: WorkerContext) -> None:
    """Read every control topic from the beginning, forever; set ``ready`` once caught up."""
    settings = worker.settings
    t = settings.topics
    handlers = {
        t.rulepacks: apply_rulepack,
        t.geofences: apply_fenceset,
        t.models: apply_model,
        t.silences: apply_silence,
        t.calendars: apply_calendar,
    }
    consumer = AIOKafkaConsumer(
        **kafka_clients.aiokafka(settings), group_id=None, enable_auto_commit=False
    )
    producer = make_async_producer(settings, acks="all")
    await consumer.start()
    await producer.start()
    worker.control.producer = producer
    try:
        parts = [
            TopicPartition(topic, p)
            for topic in handlers
            for p in (consumer.partitions_for_topic(topic) or {0})
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        # at start, pack records are held per pack name (whatever version key they came under;
        # latest name last) and replayed once caught up, compiling the latest alone where that
        # decides: see rules.pack_registry.decides_alone
        held: dict[str, list[tuple[bytes | None, bytes | None]]] = {}
        while True:
            if not worker.control.ready.is_set():
                positions = [await consumer.position(tp) for tp in parts]
                if all(pos >= ends[tp] for pos, tp in zip(positions, parts, strict=True)):
                    for records in held.values():
                        await replay_pack(worker, records)
                    held.clear()
                    worker.control.ready.set()
                    await announce(worker)
            batches = await consumer.getmany(timeout_ms=500)
            for tp, messages in batches.items():
                for msg in messages:
                    if not await signed(worker, tp.topic, handlers[tp.topic], msg):
                        continue
                    if tp.topic == t.rulepacks and not worker.control.ready.is_set():
                        hold(held, msg.key, msg.value)
                        continue
                    await apply(worker, handlers[tp.topic], msg.key, msg.value)
    finally:
        await consumer.stop()
        await producer.stop()


def hold(
    held: dict[str, list[tuple[bytes | None, bytes | None]]], key: bytes | None, value: bytes | None
) -> None:
    """Keep a pack record for the replay at start, under its pack name (re-inserted: the name
    written last is replayed last). A tombstone under a version key changes nothing: skipped."""
    text = (key or b"").decode(errors="replace")
    if value is None and is_version_key(text):
        return
    records = held.pop(name_of(text), [])
    records.append((key, value))
    held[name_of(text)] = records


async def replay_pack(
    worker: WorkerContext, records: list[tuple[bytes | None, bytes | None]]
) -> None:
    """At start: one pack name's records in log order, the latest alone when it decides alone
    (one compile instead of one per version ever published), else all of them in order."""
    if decides_alone([value for _, value in records]):
        status = await apply(worker, apply_rulepack, *records[-1])
        if status is None or status["status"] in ("accepted", "unchanged", "removed"):
            return
    for key, value in records:  # refused alone: the full replay keeps what was active before it
        await apply(worker, apply_rulepack, key, value)


async def signed(
    worker: WorkerContext, topic: str, handler: ControlHandler, msg: ConsumerRecord[Any, Any]
) -> bool:
    """Is this control record signed by a trusted key and unchanged? If not, it is refused
    before anything reads its value: a status record, a metric, a log line; the active version
    stays. So is an old signed record copied back onto the topic: one signed before the latest
    accepted record of its name (``schemas.control_signature.not_older``)."""
    name = name_of((msg.key or b"").decode(errors="replace"))
    latest = worker.control.signed_at
    verdict = keyring(worker).verify(topic, msg.key, msg.value, msg.headers)
    verdict = not_older(verdict, latest.get((topic, name)))
    if verdict.ok:
        latest[(topic, name)] = verdict.signed_at
        return True
    rt = worker.runtime
    kind = handler.__name__.removeprefix("apply_")
    rt.metrics.control_refused.labels(topic, verdict.reason).inc()
    rt.metrics.hotloads.labels(kind, "refused").inc()
    reason = f"signature {verdict.reason}: {verdict.detail}"
    log.warning(
        "control record refused",
        topic=topic,
        kind=kind,
        name=name,
        reason=verdict.reason,
        detail=verdict.detail,
        offset=msg.offset,
    )
    await send_status(worker, status_record(rt.worker_id, kind, name, "", "refused", reason))
    return False


async def send_status(worker: WorkerContext, record: dict[str, Any]) -> None:
    """A status record on control.status, keyed worker|kind|name (compacted: latest wins),
    signed with the worker's key: ``rules publish`` believes only signed answers."""
    producer = worker.control.producer
    if producer is None:
        return
    topic = worker.settings.topics.status
    key = f"{record['worker']}|{record['kind']}|{record['name']}".encode()
    value = json.dumps(record, ensure_ascii=False).encode()
    headers = keyring(worker).sign(topic, key, value)
    await producer.send_and_wait(topic, key=key, value=value, headers=headers)


async def announce(worker: WorkerContext) -> None:
    """After catching up: one "active" status record per hot-loadable thing this worker runs."""
    rt = worker.runtime
    log.info("control plane caught up", active=rt.active_versions())
    for kind, names in rt.active_versions().items():
        for name, version in names.items():
            record = status_record(rt.worker_id, kind, name, version, "active")
            await send_status(worker, record)


async def apply(
    worker: WorkerContext, handler: ControlHandler, key: bytes | None, value: bytes | None
) -> dict[str, Any] | None:
    """Apply one control record; any failure is a refusal, never a crash.

    Every ``Exception`` is caught, not a list of expected ones: a record stays on a compacted
    topic and is replayed first at every start, so one type this code did not foresee
    (``OverflowError`` from a date, ``RecursionError`` from nesting) would otherwise stop every
    worker for good. Returns the status record sent (``None``: nothing changed).
    """
    rt = worker.runtime
    kind = handler.__name__.removeprefix("apply_")
    text = (key or b"").decode(errors="replace")
    try:
        status = handler(worker, text, value)
    except Exception as exc:  # see the docstring: a refusal, whatever it was
        status = status_record(rt.worker_id, kind, name_of(text), "", "refused", _one_line(exc))
    if status is None:
        return None
    rt.metrics.hotloads.labels(kind, status["status"]).inc()
    for k, names in rt.active_versions().items():
        for n, version in names.items():
            rt.metrics.active_version.labels(k, n).info({"version": version})
    log.info("hot-load", **{k: v for k, v in status.items() if k != "at"})
    await send_status(worker, status)
    return status


def _one_line(exc: BaseException) -> str:
    """``"Class: first line of the message"``, at most 300 characters (a status, not a dump)."""
    if isinstance(exc, ValidationError):  # its first line only names the model
        text = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()
        )
    else:
        text = str(exc)
    lines = text.strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


def apply_rulepack(worker: WorkerContext, key: str, value: bytes | None) -> dict[str, Any] | None:
    """A pack version from ``control.rulepacks``; a tombstone under the pack's name withdraws
    what was published (one under a version key only lets compaction drop that version).

    Withdrawing a shipped pack goes back to its shipped version, not to nothing: that is what
    a restart runs once compaction has dropped the published versions, and a shipped pack is
    part of the release (drop its rules with a new version instead).
    """
    rt = worker.runtime
    if value is None and is_version_key(key):
        return None
    name = key
    if value is None:
        shipped = shipped_pack(rt.settings.rule_packs_dir, name)
        if shipped is None:
            removed = rt.packs.remove(name)
            worker.control.removed_rules.extend(removed)
            return status_record(rt.worker_id, "rulepack", name, "", "removed")
        back = rt.packs.activate(shipped, rollback=True)
        worker.control.removed_rules.extend(back.removed_rules or ())
        reason = "withdrawn: a shipped pack goes back to its shipped version, not away"
        return status_record(
            rt.worker_id,
            "rulepack",
            name,
            back.version,
            back.status,
            reason if back.accepted else back.reason,
        )
    pub = RulePackPublication.model_validate_json(value)
    check_key(key, "pack", pub.name, pub.version, pub.content_hash)
    current = rt.packs.active.get(pub.name)
    if (
        current is not None
        and current.content_hash == pub.content_hash
        and pub.rollback_of is None
        and not worker.control.ready.is_set()
    ):
        return None  # the same content again (restart replay of what is already active)
    # once caught up, the same content again is a live republish: its publisher waits for
    # this worker's answer, "unchanged: this content is already active"
    result: ActivationStatus = rt.packs.activate_publication(pub)
    worker.control.removed_rules.extend(result.removed_rules or ())
    return status_record(
        rt.worker_id, "rulepack", result.name, result.version, result.status, result.reason
    )


def shipped_pack(folder: str | Path, name: str) -> CompiledPack | None:
    """The pack of that name shipped in ``folder`` (what ``build_runtime`` loads), if any."""
    for path in sorted(Path(folder).glob("*.yaml")):
        pack = load_pack(path)
        if pack.name == name:
            return pack
    return None


def apply_fenceset(worker: WorkerContext, key: str, value: bytes | None) -> dict[str, Any] | None:
    """A fence set version; a tombstone under its name removes the set (one under a version
    key only lets compaction drop that version)."""
    rt = worker.runtime
    if value is None and is_version_key(key):
        return None
    name = name_of(key)
    old = rt.fence_sets.get(name)
    if value is None:
        if old is not None:
            rt.fence_sets.remove(name)
            empty = parse_fence_set(
                json.dumps(
                    {
                        "type": "FeatureCollection",
                        "name": name,
                        "version": "0",
                        "crs": old.crs,
                        "features": [],
                    }
                )
            )
            worker.control.fence_changes.append((old, empty))
        return status_record(rt.worker_id, "fenceset", name, "", "removed")
    fences = parse_fence_set(value)
    check_key(key, "fence set", fences.name, fences.version, fences.content_hash)
    if old is not None and old.content_hash == fences.content_hash:
        return None
    rt.fence_sets.activate(fences.name, fences)
    if old is not None:
        worker.control.fence_changes.append((old, fences))
    return status_record(rt.worker_id, "fenceset", fences.name, fences.version, "accepted")


def apply_model(worker: WorkerContext, key: str, value: bytes | None) -> dict[str, Any] | None:
    """A model version (live or shadow); tombstones change nothing (roll back instead)."""
    from models.publication import ModelPublication, check_published_at

    rt = worker.runtime
    if value is None or rt.models is None:
        return None
    pub = ModelPublication.model_validate_json(value)
    check_key(key, "model", pub.name, pub.version, pub.content_hash)
    check_published_at(pub, datetime.now(UTC))  # wall time: publishers stamp wall time
    current = rt.models.versions().get(pub.name)
    if current == pub.version and pub.rollback_of is None:
        return None
    rt.models.add(pub)
    reason = "shadow: scores beside the live model" if pub.shadow else ""
    return status_record(rt.worker_id, "model", pub.name, pub.version, "accepted", reason)


def apply_calendar(worker: WorkerContext, name: str, value: bytes | None) -> dict[str, Any] | None:
    """A year's 放假安排 (``riskloop calendar publish``), keyed by year: swapped into the loop
    config; supervision then recounts open tasks whose deadlines were provisional. A tombstone
    withdraws the published notice (the shipped file or the package answers again)."""
    rt = worker.runtime
    current = rt.loop.calendar
    if value is None:
        year = int(name)
        kept = [c for y, c in current.official.items() if y != year]
        kept += [c for c in load_dir() if c.year == year]
        rt.loop = rt.loop.model_copy(update={"calendar": WorkingCalendar(kept)})
        return status_record(rt.worker_id, "calendar", name, "", "removed")
    cal = parse_year(value, f"{worker.settings.topics.calendars}/{name}")
    if name != str(cal.year):
        raise ValueError(f"the record's key {name!r} is not its year {cal.year}")
    old = current.official.get(cal.year)
    if old is not None and old.content_hash() == cal.content_hash():
        return None  # the same notice again (restart replay of the shipped or active one)
    rt.loop = rt.loop.model_copy(update={"calendar": current.with_year(cal)})
    return status_record(
        rt.worker_id, "calendar", name, cal.content_hash()[7:19], "accepted", cal.source
    )


def apply_silence(worker: WorkerContext, name: str, value: bytes | None) -> dict[str, Any] | None:
    """A silence, held to the API's limits; a refused one leaves the one in force untouched."""
    rt = worker.runtime
    if value is None:
        rt.silence_registry.remove(name)
        return status_record(rt.worker_id, "silence", name, "", "removed")
    silence = check_limits(Silence.model_validate_json(value), rt.loop.max_silence)
    if silence.silence_id != name:
        raise ValueError(f"the record's key {name!r} is not its silence_id {silence.silence_id!r}")
    rt.silence_registry.remove(name)  # a changed silence goes last, as a new one would
    if silence.end > rt.clock.now():
        rt.silence_registry.activate(name, silence)
    if silence.expired_by is not None and silence.expired_at is not None:
        return status_record(
            rt.worker_id,
            "silence",
            silence.silence_id,
            silence.end.isoformat(),
            "expired",
            f"by {silence.expired_by} at {silence.expired_at.isoformat()}",
        )
    return status_record(
        rt.worker_id, "silence", silence.silence_id, silence.ends_at.isoformat(), "accepted"
    )

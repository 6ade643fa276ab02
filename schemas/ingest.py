"""Ingest: raw bytes from a source topic → one frozen, normalised, validated record.

``decode_source`` is the whole door in one pure call: size limit → decode (JSON or Avro,
sniffed) → structure → normalise (UTC times, WGS-84 points, canonical units, NFKC text,
masked personal data) → validate (USCC, region, plate, ranges) → model. Every failure is a
``ValidationFailed`` with a stable reason (:mod:`schemas.reasons`) and a dotted field path, so
an agent can dead-letter it and count it without ever dying on one bad record.

>>> import json
>>> from datetime import datetime, UTC
>>> raw = json.dumps({"event_id": "g1", "event_time": "2024-05-01T08:00:00",
...                   "plate": "浙ａ·１２３４５", "lat": 30.27, "lon": 120.15}).encode()
>>> fix = decode_source("trucks", raw, limits=IngestLimits(), now=datetime(2024, 5, 1, tzinfo=UTC))
>>> fix.plate, fix.event_time.isoformat()
('浙A12345', '2024-05-01T00:00:00+00:00')
>>> try:
...     decode_source("trucks", b"{", limits=IngestLimits(), now=datetime(2024, 5, 1, tzinfo=UTC))
... except ValidationFailed as exc:
...     print(exc.reason)
bad_json
"""

from __future__ import annotations

import hashlib
import json
import typing
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from schemas.catalogue import Catalogue, CatalogueUnavailable
from schemas.codecs import decode_payload, encode_record
from schemas.errors import ValidationFailed
from schemas.record_specs import SOURCES, subject_of
from schemas.records import Crs, DeadLetter, Record, SourceRecord
from schemas.sealing import OVERHEAD, Sealer, SealError
from schemas.validation.coords import to_wgs84_checked
from schemas.validation.pii import mask_for, mask_identifier, mask_name, mask_pii
from schemas.validation.plate import is_valid_plate, normalise_plate
from schemas.validation.region import region_problem
from schemas.validation.shape import nullable, structured
from schemas.validation.strict import check_types, check_value
from schemas.validation.text import (
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    clean_text,
    identifier_problem,
)
from schemas.validation.timeutil import DEFAULT_ZONE, check_age, to_utc
from schemas.validation.units import normalise
from schemas.validation.uscc import uscc_problem

if typing.TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

__all__ = [
    "DEAD_LETTER_PAYLOAD_BYTES",
    "IngestLimits",
    "dead_letter",
    "decode_source",
    "encode_record",
    "original_of",
    "preview_of",
]


class _LimitSettings(Protocol):
    @property
    def max_event_bytes(self) -> int: ...
    @property
    def max_future_skew_seconds(self) -> int: ...
    @property
    def max_event_age_days(self) -> int: ...


@dataclass(frozen=True)
class IngestLimits:
    """The limits ingest enforces; ``default_zone`` reads naive timestamps."""

    max_event_bytes: int = 1_000_000
    max_future_skew_seconds: int = 300
    max_event_age_days: int = 3650
    default_zone: str = DEFAULT_ZONE

    @classmethod
    def from_settings(
        cls, settings: _LimitSettings, default_zone: str = DEFAULT_ZONE
    ) -> IngestLimits:
        """From ``config.settings.Settings`` (duck-typed: schemas imports nothing of ours)."""
        return cls(
            max_event_bytes=settings.max_event_bytes,
            max_future_skew_seconds=settings.max_future_skew_seconds,
            max_event_age_days=settings.max_event_age_days,
            default_zone=default_zone,
        )


def decode_source(
    source: str,
    raw: bytes,
    *,
    limits: IngestLimits,
    now: datetime,
    catalogue: Catalogue | None = None,
) -> SourceRecord:
    """Decode, normalise and validate one source payload; ``ValidationFailed`` on any fault.

    ``now`` is passed in (not read from the clock) so replays and tests judge staleness
    against their own time. Only ``CatalogueUnavailable`` (registry down: retry, don't
    dead-letter) escapes besides ``ValidationFailed``.
    """
    try:
        return _decode_source(source, raw, limits, now, catalogue)
    except (ValidationFailed, CatalogueUnavailable):
        raise
    except Exception as exc:  # the contract: one bad record never kills an agent
        raise ValidationFailed("internal_error", f"{type(exc).__name__}: {exc}") from exc


def _decode_source(
    source: str, raw: bytes, limits: IngestLimits, now: datetime, catalogue: Catalogue | None
) -> SourceRecord:
    model = SOURCES.get(source)
    if model is None:
        raise ValidationFailed(
            "unknown_source", f"unknown source {source!r}; expected one of {sorted(SOURCES)}"
        )
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ValidationFailed("wrong_type", f"payload must be bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    if len(raw) > limits.max_event_bytes:
        raise ValidationFailed(
            "too_large", f"{len(raw)} bytes exceed max_event_bytes={limits.max_event_bytes}"
        )
    decoded = decode_payload(raw, catalogue)
    if decoded.subject is not None and decoded.subject != subject_of(model):
        raise ValidationFailed(
            "unknown_schema",
            f"source {source!r} carries {subject_of(model)}, payload is {decoded.subject}",
        )
    data = structured(model, decoded.data)  # the common case in one pass
    if data is None:  # a refusal, or a shape it does not cover: the exact checks say which
        check_value(decoded.data, "")  # before anything quotes a key or value in a message
        data = _structure(model, decoded.data)
        check_types(model, data)
    data = _NORMALISERS.get(source, _source_event)(data, _Ctx(limits, now))
    return _build(model, data)


# ---------------------------------------------------------------- structure


def _structure(model: type[Record], data: dict[str, Any]) -> dict[str, Any]:
    """Unknown keys, absent required fields; nulls for defaulted non-null fields mean 'absent'."""
    fields = model.model_fields
    for key in data:
        if key not in fields:
            raise ValidationFailed(
                "extra_field", f"{model.__name__} has no field {str(key)[:60]!r}", str(key)[:60]
            )
    out: dict[str, Any] = {}
    for name, info in fields.items():
        value = data.get(name)
        if value is None:
            if info.is_required():
                raise ValidationFailed(
                    "missing_field", f"{model.__name__}.{name} is required", name
                )
            if not nullable(info.annotation):
                continue  # absent: the default applies
        if name in data:
            out[name] = value
    return out


_PYDANTIC_REASONS = {"missing": "missing_field", "extra_forbidden": "extra_field"}
_VALUE_ERRORS = {
    "enum",
    "literal_error",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
}


def _build(model: type[SourceRecord], data: dict[str, Any]) -> SourceRecord:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        kind = err["type"]
        path = ".".join(str(p) for p in err["loc"])
        if kind in _PYDANTIC_REASONS:
            reason = _PYDANTIC_REASONS[kind]
        elif kind in _VALUE_ERRORS or kind.startswith("value_error"):
            reason = "bad_value"
        else:
            reason = "wrong_type"
        raise ValidationFailed(
            reason, f"{err['msg']} (got {str(err.get('input'))[:60]!r})", path
        ) from None


# ---------------------------------------------------------------- normalisers


@dataclass(frozen=True)
class _Ctx:
    limits: IngestLimits
    now: datetime


def _time(d: dict[str, Any], key: str, ctx: _Ctx) -> None:
    t = to_utc(d[key], ctx.limits.default_zone, key)
    check_age(
        t,
        ctx.now,
        max_future_skew_seconds=ctx.limits.max_future_skew_seconds,
        max_event_age_days=ctx.limits.max_event_age_days,
        field=key,
    )
    d[key] = t


def _str(d: dict[str, Any], key: str) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValidationFailed("wrong_type", f"expected a string, got {type(v).__name__}", key)
    return v


def _ident(v: str, key: str, max_chars: int = MAX_ID_CHARS) -> None:
    """Refuse (never repair) an identifier with an invisible character or of absurd length."""
    problem = identifier_problem(v.strip(), max_chars)
    if problem:
        raise ValidationFailed("bad_identifier", problem, key)


def _text(
    d: dict[str, Any],
    key: str,
    *,
    required: bool = False,
    nullable: bool = False,
    mask: bool = False,
    kind: str = "name",
) -> None:
    """NFKC-clean (and optionally mask) a text field; blank optional text becomes None/''.

    ``kind`` bounds it: an ``id`` is compared byte for byte, so an invisible character is
    refused; a ``name`` (a grouping key too) is refused one once cleaned; ``text`` is prose.
    """
    v = _str(d, key)
    if v is None:
        return
    if kind == "id":
        _ident(v, key)
    cleaned = clean_text(v)
    if kind == "name":
        _ident(cleaned, key, MAX_NAME_CHARS)
    elif len(cleaned) > MAX_TEXT_CHARS:
        raise ValidationFailed(
            "too_long", f"{len(cleaned)} characters, more than {MAX_TEXT_CHARS}", key
        )
    if mask:
        cleaned = mask_pii(cleaned)
    if required and not cleaned:
        raise ValidationFailed("bad_value", "must not be empty", key)
    d[key] = None if nullable and not cleaned else cleaned


def _code(d: dict[str, Any], key: str, check: Callable[[str], str | None], reason: str) -> None:
    v = _str(d, key)
    if v is None:
        return
    _ident(v, key)
    v = clean_text(v).upper()
    problem = check(v)
    if problem:
        raise ValidationFailed(reason, problem, key)
    d[key] = v


def _uscc(d: dict[str, Any], key: str = "uscc", *, optional: bool = False) -> None:
    v = _str(d, key)
    if optional and v is not None and not v.strip():
        d[key] = None
        return
    _code(d, key, uscc_problem, "bad_uscc")


def _region(d: dict[str, Any], *, optional: bool = False) -> None:
    v = _str(d, "region_code")
    if optional and v is not None and not v.strip():
        d["region_code"] = None
        return
    _code(d, "region_code", region_problem, "bad_region")


def _point(d: dict[str, Any], *, required: bool = False) -> None:
    lat, lon = d.get("lat"), d.get("lon")
    crs = d.get("crs", Crs.wgs84.value)
    if lat is None and lon is None and not required:
        return
    if lat is None or lon is None:
        missing = "lat" if lat is None else "lon"
        raise ValidationFailed("bad_coordinates", "lat and lon come together", missing)
    d["lat"], d["lon"] = to_wgs84_checked(lat, lon, crs)
    d["crs"] = Crs.wgs84.value  # converted once, here: downstream never converts again


MAX_COUNT = 1_000_000
"""Largest count one event may report: a window of them still sums to an exact number."""


def _count(d: dict[str, Any], key: str) -> None:
    v = d.get(key)
    if isinstance(v, int) and not isinstance(v, bool) and v < 0:
        raise ValidationFailed("bad_value", f"a count cannot be negative ({v})", key)
    if isinstance(v, int) and v > MAX_COUNT:
        raise ValidationFailed("bad_value", f"a count above {MAX_COUNT} ({v})", key)


def _range(d: dict[str, Any], key: str, lo: float, hi: float) -> None:
    v = d.get(key)
    if isinstance(v, int | float) and not isinstance(v, bool) and not lo <= v <= hi:
        raise ValidationFailed("bad_value", f"{v} outside {lo:g}…{hi:g}", key)


def _inspection(d: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _time(d, "event_time", ctx)
    _text(d, "event_id", required=True, kind="id")
    _uscc(d)
    _region(d)
    _text(d, "entity_name", required=True)
    for key in ("item_code", "department"):
        _text(d, key, kind="id")
    _text(d, "inspector_id", nullable=True, kind="id")
    for key in ("facility_type", "address"):
        _text(d, key, nullable=True)
    for key in ("critical_count", "serious_count", "minor_count"):
        _count(d, key)
    _range(d, "risk_tier", 1, 9)
    violations = d.get("violations")
    if isinstance(violations, list):
        for i, item in enumerate(violations):
            if isinstance(item, dict):
                violation = dict(item)
                _text(violation, "code", kind="id")
                _text(violation, "description", kind="text")
                violations[i] = violation
    _point(d)
    return d


def _complaint(d: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _time(d, "event_time", ctx)
    _text(d, "event_id", required=True, kind="id")
    _text(d, "text", required=True, mask=True, kind="text")
    _text(d, "subject", nullable=True, mask=True)
    for key in ("category", "urgency", "entity_name", "address"):
        _text(d, key, nullable=True)
    _uscc(d, optional=True)
    _region(d, optional=True)
    for key in ("complainant_phone", "complainant_id"):
        v = _str(d, key)
        if v is not None:
            _ident(v, key)
            d[key] = mask_identifier(clean_text(v)) or None  # masked before the model exists
    name = _str(d, "complainant_name")
    if name is not None:
        _ident(name, "complainant_name", MAX_NAME_CHARS)
        d["complainant_name"] = mask_name(clean_text(name)) or None
    _point(d)
    return d


def _equipment(d: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _time(d, "event_time", ctx)
    _text(d, "event_id", required=True, kind="id")
    _text(d, "equipment_code", required=True, kind="id")
    _uscc(d)
    _region(d, optional=True)
    _count(d, "door_faults")
    metrics, units, rated = d.get("metrics", {}), d.get("units", {}), d.get("rated", {})
    for key, value in (("metrics", metrics), ("units", units), ("rated", rated)):
        if not isinstance(value, dict):
            raise ValidationFailed(
                "wrong_type", f"expected an object, got {type(value).__name__}", key
            )
        for name in value:  # a metric name is a key of per-device state: an identifier
            problem = identifier_problem(name)
            if problem:
                raise ValidationFailed("bad_identifier", f"metric name: {problem}", key)
    for name, unit in units.items():
        if not isinstance(unit, str):
            raise ValidationFailed(
                "wrong_type", f"a unit is a string, got {type(unit).__name__}", f"units.{name}"
            )
        if name not in metrics and name not in rated:
            raise ValidationFailed(
                "bad_unit", f"unit given for {name!r}, which has no reading", f"units.{name}"
            )
    new_metrics, new_rated, new_units = dict(metrics), dict(rated), dict(units)
    for name, unit in units.items():
        if name in metrics:
            new_metrics[name], new_units[name] = normalise(metrics[name], unit, f"metrics.{name}")
        if name in rated:
            new_rated[name], new_units[name] = normalise(rated[name], unit, f"rated.{name}")
    if "metrics" in d:
        d["metrics"] = new_metrics
    if "rated" in d:
        d["rated"] = new_rated
    if "units" in d:
        d["units"] = new_units
    return d


def _truck(d: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _time(d, "event_time", ctx)
    _text(d, "event_id", required=True, kind="id")
    plate = _str(d, "plate")
    if plate is not None:
        _ident(plate, "plate")
        d["plate"] = normalise_plate(plate)
        if not is_valid_plate(d["plate"]):
            raise ValidationFailed(
                "bad_plate",
                f"{d['plate'][:20]!r} is not province character + letter + 5 or 6 characters",
                "plate",
            )
    _point(d, required=True)
    _uscc(d, "company_uscc", optional=True)
    _region(d, optional=True)
    _text(d, "permit_id", nullable=True, kind="id")
    _range(d, "speed_kmh", 0, 300)
    _range(d, "heading", 0, 360)
    return d


def _disposition(d: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _time(d, "event_time", ctx)
    for key in ("event_id", "task_id", "department", "actor"):
        _text(d, key, required=True, kind="id")
    _text(d, "assign_to", nullable=True, kind="id")
    _text(d, "reason", nullable=True, kind="text")
    return d


def _source_event(d: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    """What every source event gets when its source has no normaliser of its own (a new
    source, until it needs more): its time checked for staleness, its id required."""
    _time(d, "event_time", ctx)
    _text(d, "event_id", required=True, kind="id")
    return d


_NORMALISERS: dict[str, Callable[[dict[str, Any], _Ctx], dict[str, Any]]] = {
    "inspections": _inspection,
    "complaints": _complaint,
    "equipment": _equipment,
    "trucks": _truck,
    "dispositions": _disposition,
}


# ---------------------------------------------------------------- dead letters


DEAD_LETTER_PAYLOAD_BYTES = 256 * 1024
"""Most original bytes a dead-letter record keeps.

The record travels as JSON with the bytes in base64 (4/3 larger), and the broker refuses a
message over ``message.max.bytes`` (1 MB by default): a 786 KB reject would already not fit.
256 KiB keeps any record well under it; the message carries the original's size and SHA-256,
so the prefix can still be matched with the sender's copy.
"""

_MAX_KEY_BYTES = 4096
_MAX_FIELD_CHARS = 200
_MAX_MESSAGE_CHARS = 2000
PREVIEW_CHARS = 400
"""Characters of the masked preview a dead-letter record carries beside its sealed bytes."""


def dead_letter(
    exc: BaseException,
    *,
    source: str,
    topic: str,
    partition: int = -1,
    offset: int = -1,
    key: bytes | None,
    payload: bytes,
    now: datetime,
    worker: str = "",
    max_payload_bytes: int = DEAD_LETTER_PAYLOAD_BYTES,
    sealer: Sealer | None = None,
) -> DeadLetter:
    """The dead-letter record for a rejected payload: reason, field, message, original bytes.

    A payload larger than ``max_payload_bytes`` (a ``too_large`` one, or any reject big
    enough that its base64 would not fit the broker) keeps only its head, and the message
    says so, with the original's size and SHA-256. The key, field and message are bounded
    and made encodable too: the dead-letter record itself must never be refused.

    >>> from datetime import datetime
    >>> dl = dead_letter(ValueError("x"), source="s", topic="t", key=None,
    ...                  payload=b"a" * 10, now=datetime(2024, 5, 1), max_payload_bytes=4)
    >>> dl.payload, dl.message.split(" (")[1][:40]
    (b'aaaa', 'payload truncated to 4 of 10 bytes, sha2')

    With a ``sealer`` the key and payload are sealed, and the message and ``preview`` masked:

    >>> dl = dead_letter(ValueError("tel 13812345678"), source="s", topic="t", key=b"k",
    ...                  payload=b'{"text": "13812345678"}', now=datetime(2024, 5, 1),
    ...                  sealer=Sealer("k"))
    >>> dl.message, dl.preview, b"13812345678" in dl.payload, dl.encryption[:9]
    ('ValueError: tel 138****5678', '{"text": "138****5678"}', False, 'aes256gcm')
    """
    if isinstance(exc, ValidationFailed):
        reason, field, message = exc.reason, exc.field, exc.message
    else:
        reason, field, message = "internal_error", "", f"{type(exc).__name__}: {exc}"
    message = _printable(mask_pii(message), _MAX_MESSAGE_CHARS)
    preview = _preview(payload)
    if sealer is not None:
        max_payload_bytes -= OVERHEAD
    if len(payload) > max_payload_bytes:
        digest = hashlib.sha256(payload).hexdigest()
        message += (
            f" (payload truncated to {max_payload_bytes} of {len(payload)} bytes, sha256 {digest})"
        )
        payload = payload[:max_payload_bytes]
    if key is not None and len(key) > _MAX_KEY_BYTES:
        message += f" (key truncated to {_MAX_KEY_BYTES} of {len(key)} bytes)"
        key = key[:_MAX_KEY_BYTES]
    if sealer is not None:
        payload = sealer.seal(payload)
        key = None if key is None else sealer.seal(key)
    return DeadLetter(
        reason=reason,
        field=_printable(field, _MAX_FIELD_CHARS),
        message=message,
        source=source,
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        payload=payload,
        rejected_at=now,
        worker=worker,
        encryption=sealer.scheme if sealer is not None else "",
        preview=preview,
    )


def original_of(letter: DeadLetter, sealer: Sealer | None) -> tuple[bytes | None, bytes]:
    """The rejected record's original key and value, exactly as they arrived.

    A record from before sealing (``encryption`` empty) is plain and needs no key; a sealed
    one needs the key it was sealed under (:class:`schemas.sealing.SealError` otherwise).

    >>> from datetime import datetime
    >>> sealer = Sealer("k")
    >>> dl = dead_letter(ValueError("x"), source="s", topic="t", key=b"k1", payload=b"\\xff1",
    ...                  now=datetime(2024, 5, 1), sealer=sealer)
    >>> original_of(dl, sealer)
    (b'k1', b'\\xff1')
    """
    if not letter.encryption:
        return letter.key, letter.payload
    if sealer is None:
        raise SealError(f"the original is sealed ({letter.encryption}) and no key is set")
    key = None if letter.key is None else sealer.open(letter.key, letter.encryption)
    return key, sealer.open(letter.payload, letter.encryption)


def preview_of(letter: DeadLetter) -> str:
    """What triage reads without the key: the record's masked preview, or for a record from
    before previews existed (plain bytes) one made now."""
    return letter.preview or ("" if letter.encryption else _preview(letter.payload))


def _preview(payload: bytes) -> str:
    """The payload's head as text, masked: a JSON object through the policy's field rules
    (names, addresses), anything else as text (numbers)."""
    text = payload[: PREVIEW_CHARS * 4].decode("utf-8", "replace")
    try:
        masked = json.dumps(mask_for("masked", json.loads(text)), ensure_ascii=False)
    except (ValueError, RecursionError):  # not JSON, cut short, or hostile nesting: as text
        masked = mask_pii(text)
    return _printable(masked, PREVIEW_CHARS)


def _printable(text: str, limit: int) -> str:
    """At most ``limit`` characters, lone surrogates escaped so the text encodes as UTF-8."""
    if len(text) > limit:
        text = text[:limit] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")

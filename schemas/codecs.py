"""Wire formats: JSON (UTF-8) and Avro in the Confluent wire format, on the same topics.

Confluent framing is ``0x00`` + 4-byte big-endian schema id + the schemaless Avro body. JSON
text never starts with a NUL byte, so one byte tells the two apart: a topic can migrate from
JSON to Avro producer by producer, and consumers read both.

>>> from datetime import datetime, UTC
>>> from schemas.records import TruckFix
>>> fix = TruckFix(event_id="f1", event_time=datetime(2024, 5, 1, tzinfo=UTC),
...                plate="浙A12345", lat=30.27, lon=120.15)
>>> raw = encode_record(fix, "avro")
>>> raw[0], decode_record(raw, TruckFix) == fix
(0, True)
>>> decode_record(encode_record(fix, "json"), TruckFix) == fix
True
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import fastavro
from pydantic import ValidationError

from schemas.avro_check import check_body
from schemas.catalogue import Catalogue, default_catalogue
from schemas.errors import ConfigError, ValidationFailed
from schemas.record_specs import subject_of
from schemas.records import Record

MAGIC = 0
HEADER = struct.Struct(">bI")
WireFormat = Literal["json", "avro"]
R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Decoded:
    """A payload turned into plain data, before any validation.

    ``subject`` is the Avro writer's record name (``None`` for JSON, which carries no schema).
    """

    format: WireFormat
    subject: str | None
    data: dict[str, Any]


def encode_json(record: Record) -> bytes:
    """UTF-8 JSON, datetimes as ISO-8601 with ``Z``."""
    return record.model_dump_json().encode("utf-8")


def encode_avro(record: Record, catalogue: Catalogue | None = None) -> bytes:
    """Confluent-framed Avro with the current schema of the record's subject."""
    cat = catalogue or default_catalogue()
    subject = subject_of(type(record))
    schema_id = cat.writer_id(subject)
    out = io.BytesIO()
    out.write(HEADER.pack(MAGIC, schema_id))
    fastavro.schemaless_writer(out, cat.reader_schema(subject), record.model_dump(mode="python"))
    return out.getvalue()


def encode_record(record: Record, fmt: str, catalogue: Catalogue | None = None) -> bytes:
    """Encode in the configured wire format (``Settings.wire_format``)."""
    if fmt == "json":
        return encode_json(record)
    if fmt == "avro":
        return encode_avro(record, catalogue)
    raise ConfigError(f"unknown wire format {fmt!r}; expected 'json' or 'avro'")


def is_avro(raw: bytes) -> bool:
    """True for Confluent-framed Avro (first byte 0), False for anything else (JSON)."""
    return len(raw) > 0 and raw[0] == MAGIC


def decode_payload(raw: bytes, catalogue: Catalogue | None = None) -> Decoded:
    """Bytes → plain data, sniffing the format; every failure is a ``ValidationFailed``."""
    if not raw:
        raise ValidationFailed("bad_encoding", "empty payload")
    if is_avro(raw):
        return _decode_avro(raw, catalogue or default_catalogue())
    return Decoded("json", None, _decode_json(raw))


def _decode_json(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "bad_encoding", f"not UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})"
        ) from exc
    try:
        if text.startswith("\ufeff"):  # what json.loads says of a BOM, word for word
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        data = _DECODER.decode(text)
    except _DuplicateKey as exc:
        raise ValidationFailed("duplicate_key", f"key {ascii(exc.key[:60])} given twice") from exc
    except RecursionError as exc:
        raise ValidationFailed("bad_json", "JSON nested too deeply") from exc
    except ValueError as exc:
        raise ValidationFailed("bad_json", f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("bad_json", f"expected a JSON object, got {type(data).__name__}")
    return data


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object that names a key twice is refused: "last one wins" hides which was meant."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates)
"""``json.loads(text, object_pairs_hook=...)`` without building a decoder for every payload
(the same class, so the same answers and error messages; it holds no state between calls)."""


def _decode_avro(raw: bytes, catalogue: Catalogue) -> Decoded:
    if len(raw) < HEADER.size:
        raise ValidationFailed(
            "bad_avro", f"Avro frame of {len(raw)} bytes is shorter than its header"
        )
    _, schema_id = HEADER.unpack_from(raw)
    subject, writer = catalogue.schema_by_id(schema_id)
    reader = catalogue.reader_schema(subject)
    check_body(raw[HEADER.size :], writer)  # indices fastavro would wrap around
    body = io.BytesIO(raw[HEADER.size :])
    try:
        data = fastavro.schemaless_reader(body, writer, reader)
    except Exception as exc:  # hostile bytes can trip any error inside the parser
        raise ValidationFailed(
            "bad_avro",
            f"cannot read body as schema id {schema_id} ({subject}): {type(exc).__name__}: {exc}",
        ) from exc
    if body.tell() != len(raw) - HEADER.size:
        raise ValidationFailed(
            "bad_avro", f"{len(raw) - HEADER.size - body.tell()} trailing bytes after the record"
        )
    if not isinstance(data, dict):
        raise ValidationFailed("bad_avro", f"schema id {schema_id} is not a record schema")
    return Decoded("avro", subject, data)


def decode_record(raw: bytes, model: type[R], catalogue: Catalogue | None = None) -> R:
    """Decode one of our own records (alerts, tasks, …) without source normalisation.

    Sources go through :func:`schemas.ingest.decode_source` instead; this is for topics
    RiskLoop itself writes, where the producer already enforced the standard.
    """
    if not is_avro(raw):
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise ValidationFailed("bad_json", _first_error(exc)) from exc
    decoded = decode_payload(raw, catalogue)
    if decoded.subject != subject_of(model):
        raise ValidationFailed(
            "unknown_schema", f"expected {subject_of(model)}, payload is {decoded.subject}"
        )
    try:
        return model.model_validate(decoded.data)
    except ValidationError as exc:
        raise ValidationFailed("bad_avro", _first_error(exc)) from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}"

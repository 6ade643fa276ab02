"""Every pydantic record and its .avsc agree field for field, derived from both sides."""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from datetime import datetime
from typing import Any

import fastavro
import pytest

from schemas.catalogue import LocalCatalogue, fingerprint
from schemas.record_specs import AVRO_DIR, NAMESPACE, RECORDS
from schemas.records import Record

AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PRIMITIVES = {str: "string", int: "long", float: "double", bool: "boolean", bytes: "bytes"}


def _load(spec_path) -> dict[str, Any]:
    return json.loads(spec_path.read_text(encoding="utf-8"))


def _resolve(avro_type: Any, named: dict[str, Any]) -> Any:
    """Named references → their definitions (the first occurrence in the file defines them)."""
    if isinstance(avro_type, str) and "." in avro_type:
        return named[avro_type]
    if isinstance(avro_type, dict) and "name" in avro_type:
        named.setdefault(f"{avro_type.get('namespace', NAMESPACE)}.{avro_type['name']}", avro_type)
    return avro_type


def _agree(tp: Any, avro_type: Any, named: dict[str, Any], where: str) -> None:
    avro_type = _resolve(avro_type, named)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        assert len(args) == 1, where
        assert isinstance(avro_type, list), where
        assert avro_type[0] == "null", where
        assert len(avro_type) == 2, where
        _agree(args[0], avro_type[1], named, where)
        return
    assert not isinstance(avro_type, list), f"{where}: union in Avro but not optional in the model"
    if origin is list:
        assert avro_type["type"] == "array", where
        _agree(typing.get_args(tp)[0], avro_type["items"], named, where + "[]")
    elif origin is dict:
        assert typing.get_args(tp)[0] is str, where
        assert avro_type["type"] == "map", where
        _agree(typing.get_args(tp)[1], avro_type["values"], named, where + "{}")
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        if all(AVRO_NAME.match(v) for v in values):
            assert avro_type["type"] == "enum", where
            assert avro_type["name"] == tp.__name__, where
            assert avro_type["symbols"] == values, where
        else:  # not expressible as Avro symbols: a string that names its allowed values
            assert avro_type["type"] == "string", where
            assert avro_type["riskloop.enum"] == tp.__name__, where
            assert avro_type["riskloop.symbols"] == values, where
    elif isinstance(tp, type) and issubclass(tp, Record):
        _agree_record(tp, avro_type, named)
    elif tp is datetime:
        assert avro_type == {"type": "long", "logicalType": "timestamp-millis"}, where
    else:
        assert avro_type == PRIMITIVES[tp], f"{where}: {avro_type} vs {tp}"


def _default(info: Any) -> Any:
    value = info.default_factory() if info.default_factory is not None else info.default
    return value.value if isinstance(value, enum.Enum) else value


def _agree_record(model: type[Record], schema: dict[str, Any], named: dict[str, Any]) -> None:
    assert schema["type"] == "record"
    assert schema["name"] == model.__name__
    assert schema.get("namespace", NAMESPACE) == NAMESPACE
    assert schema.get("doc"), f"{model.__name__} has no doc"
    avro_fields = {f["name"]: f for f in schema["fields"]}
    assert list(avro_fields) == list(model.model_fields), (
        f"{model.__name__}: field names/order differ"
    )
    for name, info in model.model_fields.items():
        field = avro_fields[name]
        where = f"{model.__name__}.{name}"
        assert field.get("doc", "").strip(), f"{where} has no doc"
        _agree(info.annotation, field["type"], named, where)
        if info.is_required():
            assert "default" not in field, f"{where}: required in the model, defaulted in Avro"
        else:
            assert "default" in field, f"{where}: defaulted in the model, required in Avro"
            assert field["default"] == _default(info), where


@pytest.mark.parametrize("subject", sorted(RECORDS))
def test_model_and_avsc_agree(subject: str) -> None:
    spec = RECORDS[subject]
    schema = _load(spec.avsc)
    _agree_record(spec.model, schema, {f"{NAMESPACE}.{spec.model.__name__}": schema})
    fastavro.parse_schema(schema, named_schemas={})  # and it is a valid Avro schema


def test_every_avsc_file_is_registered() -> None:
    files = {p.name for p in AVRO_DIR.glob("*.avsc")}
    assert files == {spec.avsc.name for spec in RECORDS.values()}


def test_ids_json_current_versions_are_the_current_files() -> None:
    table = json.loads((AVRO_DIR / "ids.json").read_text())
    assert set(table) == set(RECORDS)
    ids = [e["id"] for versions in table.values() for e in versions.values()]
    assert len(ids) == len(set(ids))
    for subject, versions in table.items():
        latest = versions[max(versions, key=int)]
        assert latest["file"] == RECORDS[subject].avsc.name
        assert latest["fingerprint"] == fingerprint(RECORDS[subject].avsc.read_text())
    assert LocalCatalogue().ids().keys() == set(ids)


def test_agreement_check_catches_drift() -> None:
    """The check itself can fail: drop a field's default, rename a field, change an enum."""
    spec = RECORDS["riskloop.TruckFix"]
    schema = _load(spec.avsc)
    broken = json.loads(json.dumps(schema))
    del next(f for f in broken["fields"] if f["name"] == "crs")["default"]
    with pytest.raises(AssertionError):
        _agree_record(spec.model, broken, {})
    broken = json.loads(json.dumps(schema))
    broken["fields"][2]["name"] = "plate_no"
    with pytest.raises(AssertionError):
        _agree_record(spec.model, broken, {})
    broken = json.loads(json.dumps(schema))
    next(f for f in broken["fields"] if f["name"] == "crs")["type"]["symbols"].append("BD09")
    with pytest.raises(AssertionError):
        _agree_record(spec.model, broken, {})

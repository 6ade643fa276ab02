"""Declarative field mappings: a dataset file's rows → source records, for replay and tests.

A mapping (``config/mappings/<dataset>.yaml``) says which file format to read, which column
holds the event time and in which zone, and how each output field is made: from a column, a
constant, a template (``"{DBA_Name}"``), a set of columns (a dict, e.g. sensor metrics), then
optionally one function from a fixed whitelist and a type conversion. There is no expression
language and no ``eval``: a mapping can only do what :data:`FUNCTIONS` lists.

Rows come out as plain dicts ready to be JSON-encoded and fed to ``decode_source``; a row that
cannot be mapped comes out as a :class:`MappingError` naming the file, line and column, so one
bad row does not end a replay.

>>> m = Mapping.model_validate({
...     "name": "demo", "source": "trucks", "format": "csv",
...     "event_time": {"column": "ts", "zone": "UTC"},
...     "fields": {"event_id": {"template": "bus-{id}"},
...                "plate": {"column": "vehicle_id", "fn": "plate_from"},
...                "lat": {"column": "lat", "type": "float"},
...                "lon": {"column": "lon", "type": "float"}}})
>>> map_row(m, {"id": "7", "vehicle_id": "4716", "ts": "2026-01-26T15:57:02Z",
...             "lat": "53.4", "lon": "-2.9"}, line=2, path="bus.csv")
{'event_time': '2026-01-26T15:57:02+00:00', 'event_id': 'bus-7', 'plate': '浙A04716', 'lat': 53.4, 'lon': -2.9}
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas.errors import ConfigError, RiskLoopError, ValidationFailed
from schemas.sources import SOURCE_SPECS
from schemas.validation.plate import make_plate
from schemas.validation.region import region_problem
from schemas.validation.timeutil import to_utc
from schemas.validation.uscc import make_uscc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "config" / "mappings"
"""Where shipped mappings live (a path, not an import: schemas imports nothing of ours)."""

_TEMPLATE = re.compile(r"\{([^{}]+)\}")
_TRUE = ("1", "true", "t", "yes", "y")
_FALSE = ("0", "false", "f", "no", "n")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldSpec(_Spec):
    """How one output field is made: one input, then an optional function and type."""

    column: str | None = None
    const: Any = None
    template: str | None = None
    columns: dict[str, str] | None = Field(None, description="output key → column: makes a dict")
    fn: Literal["uscc_from", "plate_from", "map", "multiply", "bool_from"] | None = None
    type: Literal["str", "int", "float", "bool"] | None = None
    required: bool = Field(False, description="an empty input is an error, not an absent field")
    region: str | None = Field(None, description="uscc_from: region code of the synthetic USCC")
    prefix: str = Field("浙A", description="plate_from: province character and letter")
    values: dict[str, Any] | None = Field(None, description="map: input → output")
    default: Any = Field(None, description="map: output for inputs not in values (None = error)")
    factor: float | None = Field(None, description="multiply: the factor")
    true: tuple[str, ...] = _TRUE
    false: tuple[str, ...] = _FALSE

    @model_validator(mode="after")
    def _one_input(self) -> FieldSpec:
        inputs = [
            k for k in ("column", "const", "template", "columns") if k in self.model_fields_set
        ]
        if len(inputs) != 1:
            raise ValueError(
                f"give exactly one of column, const, template, columns (got {inputs or 'none'})"
            )
        if self.fn == "uscc_from" and (self.region is None or region_problem(self.region)):
            raise ValueError(f"uscc_from needs a valid 6-digit region, got {self.region!r}")
        if self.fn == "map" and not self.values:
            raise ValueError("map needs values")
        if self.fn == "multiply" and self.factor is None:
            raise ValueError("multiply needs factor")
        return self

    def referenced_columns(self) -> set[str]:
        """Columns this field reads (checked against the file header before any row)."""
        if self.column is not None:
            return {self.column}
        if self.template is not None:
            return {c for c in _TEMPLATE.findall(self.template) if not c.startswith("_")}
        if self.columns is not None:
            return set(self.columns.values())
        return set()


class EventTimeSpec(_Spec):
    """The event-time column and the zone its naive values are local to."""

    column: str
    zone: str = "Asia/Shanghai"


class Mapping(_Spec):
    """One dataset's mapping to one ingest source."""

    name: str
    source: str = Field(description="an ingest source of schemas/sources.py, or dispositions")
    description: str = ""
    file: str | None = Field(None, description="dataset path(s) relative to the data folder (glob)")
    format: Literal["csv", "csv.gz", "jsonl"]
    delimiter: str = ","
    sort_by: str | None = Field(None, description="column to sort by for a replay (sorts as text)")
    event_time: EventTimeSpec
    fields: dict[str, FieldSpec]
    known_failures: dict[str, str] = Field(
        default_factory=dict, description="reason code → why some rows of the real file fail it"
    )

    @field_validator("source")
    @classmethod
    def _known_source(cls, source: str) -> str:
        names = [*SOURCE_SPECS, "dispositions"]
        if source not in names:
            raise ValueError(f"unknown source {source!r}; expected one of {', '.join(names)}")
        return source


class MappingError(RiskLoopError):
    """A row that cannot be mapped; yielded (not raised) by :func:`iter_mapped`."""

    reason = "mapping"

    def __init__(self, path: str, line: int, column: str, message: str) -> None:
        super().__init__(f"{path}:{line}: column {column!r}: {message}")
        self.path, self.line, self.column, self.message = path, line, column, message


@dataclass(frozen=True)
class MappedRow:
    """One mapped row: its first line in the file and the record dict."""

    line: int
    record: dict[str, Any]


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A mapping by dataset name (``config/mappings/<name>.yaml``) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = MAPPINGS_DIR / f"{name_or_path}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Mapping.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"cannot read mapping {path}: {exc}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"mapping {path} is invalid: {exc}") from exc


def shipped_mappings() -> dict[str, Mapping]:
    """Every mapping in ``config/mappings``, by name."""
    return {p.stem: load_mapping(p) for p in sorted(MAPPINGS_DIR.glob("*.yaml"))}


# ---------------------------------------------------------------- one row


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _convert(value: Any, kind: str | None, column: str) -> Any:
    if kind is None:
        return value
    try:
        if kind == "str":
            return str(value)
        if kind == "float":
            return float(value)
        if kind == "int":
            if isinstance(value, str):
                f = float(value)
                if not f.is_integer():
                    raise ValueError(f"{value!r} is not a whole number")
                return int(f)
            return int(value)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{value!r} is not a boolean")
    except (TypeError, ValueError, OverflowError) as exc:
        raise _RowError(column, f"cannot convert {value!r} to {kind}: {exc}") from None


def _uscc_from(spec: FieldSpec, v: Any, column: str) -> Any:
    assert spec.region is not None  # checked when the spec was built
    return make_uscc(str(v), spec.region)


def _plate_from(spec: FieldSpec, v: Any, column: str) -> Any:
    return make_plate(str(v), spec.prefix)


def _map(spec: FieldSpec, v: Any, column: str) -> Any:
    assert spec.values is not None
    if str(v) in spec.values:
        return spec.values[str(v)]
    if spec.default is not None:
        return spec.default
    raise _RowError(column, f"value {v!r} is not in the map ({sorted(spec.values)})")


def _multiply(spec: FieldSpec, v: Any, column: str) -> Any:
    assert spec.factor is not None
    return _convert(v, "float", column) * spec.factor


def _bool_from(spec: FieldSpec, v: Any, column: str) -> Any:
    text = str(v).strip()
    if text in spec.true:
        return True
    if text in spec.false:
        return False
    raise _RowError(column, f"{v!r} is neither in true {spec.true} nor false {spec.false}")


FUNCTIONS: dict[str, Callable[[FieldSpec, Any, str], Any]] = {
    "uscc_from": _uscc_from,
    "plate_from": _plate_from,
    "map": _map,
    "multiply": _multiply,
    "bool_from": _bool_from,
}
"""The whitelist: the only computations a mapping can ask for."""


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _field(spec: FieldSpec, row: dict[str, Any], context: dict[str, str], name: str) -> Any:
    if "const" in spec.model_fields_set:
        return None if spec.const is None else _apply(spec, spec.const, "const")
    if spec.columns is not None:
        out: dict[str, Any] = {}
        for key, col in spec.columns.items():
            v = row.get(col)
            if not _empty(v):
                out[key] = _apply(spec, v, col)
        return out
    if spec.template is not None:
        column = spec.template
        value: Any = _TEMPLATE.sub(
            lambda m: str(context.get(m.group(1), row.get(m.group(1), ""))), spec.template
        )
    else:
        assert spec.column is not None
        column = spec.column
        value = row.get(column)
    if _empty(value):
        if spec.required:
            raise _RowError(column, f"empty, but {name} requires a value")
        return None
    return _apply(spec, value, column)


def _apply(spec: FieldSpec, value: Any, column: str) -> Any:
    if spec.fn is not None:
        value = FUNCTIONS[spec.fn](spec, value, column)
    value = _convert(value, spec.type, column)
    if isinstance(value, float) and not math.isfinite(value):
        raise _RowError(column, f"{value} is not a finite number")
    return value


def map_row(mapping: Mapping, row: dict[str, Any], *, line: int, path: str) -> dict[str, Any]:
    """One row → record dict; raises :class:`MappingError`. Empty inputs leave a field out."""
    context = {"_file": Path(path).name.split(".")[0], "_line": str(line)}
    out: dict[str, Any] = {}
    tcol = mapping.event_time.column
    raw_time = row.get(tcol)
    if _empty(raw_time):
        raise MappingError(path, line, tcol, "event time is empty")
    try:
        out["event_time"] = to_utc(str(raw_time), mapping.event_time.zone).isoformat()
    except ValidationFailed as exc:
        raise MappingError(path, line, tcol, exc.message) from None
    for name, spec in mapping.fields.items():
        try:
            value = _field(spec, row, context, name)
        except _RowError as exc:
            raise MappingError(path, line, exc.column, f"{name}: {exc}") from None
        if value is not None:
            out[name] = value
    return out


# ---------------------------------------------------------------- files


def _open(path: Path, fmt: str) -> gzip.GzipFile | IO[bytes]:
    if fmt == "csv.gz" or path.suffix == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


_NOT_UTF8 = re.compile("[\udc80-\udcff]")
"""What ``surrogateescape`` turns each undecodable byte into."""


def _decoded(fh: Iterable[bytes]) -> Iterator[str]:
    """Lines as text, undecodable bytes kept as lone surrogates so the row that holds them can
    be rejected with its line and column (strict decoding fails a whole buffered chunk, so one
    bad byte used to end the file with a traceback)."""
    for raw in fh:
        yield raw.decode("utf-8", "surrogateescape")


def _not_utf8(text: str) -> str | None:
    """The message for text holding undecodable bytes, else None."""
    m = _NOT_UTF8.search(text)
    if m is None:
        return None
    return f"not valid UTF-8 (byte 0x{ord(m.group()) - 0xDC00:02x} at character {m.start()})"


def _bad_column(row: dict[Any, Any]) -> tuple[str, str] | None:
    for col, value in row.items():
        for text in value if isinstance(value, list) else [value]:
            problem = _not_utf8(text) if isinstance(text, str) else None
            if problem:
                return str(col), problem
    return None


def _rows(mapping: Mapping, path: Path) -> Iterator[tuple[int, dict[str, Any]] | MappingError]:
    with _open(path, mapping.format) as fh:
        lines = _decoded(fh)
        if mapping.format == "jsonl":
            for n, text in enumerate(lines, start=1):
                if not text.strip():
                    continue
                problem = _not_utf8(text)
                if problem:
                    yield MappingError(str(path), n, "", problem)
                    continue
                try:
                    obj = json.loads(text)
                except ValueError as exc:
                    yield MappingError(str(path), n, "", f"invalid JSON: {exc}")
                    continue
                if not isinstance(obj, dict):
                    yield MappingError(str(path), n, "", "a JSONL line must be an object")
                    continue
                yield n, obj
            return
        reader = csv.DictReader(lines, delimiter=mapping.delimiter)
        problem = _not_utf8(",".join(reader.fieldnames or ()))
        if problem:
            yield MappingError(str(path), 1, "", f"header: {problem}")
            return
        header = set(reader.fieldnames or ())
        wanted = {mapping.event_time.column}.union(
            *(s.referenced_columns() for s in mapping.fields.values())
        )
        missing = sorted(wanted - header)
        if missing:
            yield MappingError(
                str(path),
                1,
                missing[0],
                f"not in the header (columns: {sorted(header)}); check the delimiter",
            )
            return
        end = 1
        for row in reader:
            start, end = end + 1, reader.line_num
            bad = _bad_column(row)
            if bad is not None:
                yield MappingError(str(path), start, *bad)
                continue
            yield start, row


def iter_mapped(
    mapping: Mapping, path: str | Path, *, limit: int | None = None, sort: bool = False
) -> Iterator[MappedRow | MappingError]:
    """Map a file row by row (first ``limit`` rows; sorted by ``sort_by`` if ``sort``)."""
    path = Path(path)
    items: Iterator[tuple[int, dict[str, Any]] | MappingError] = _rows(mapping, path)
    if sort and mapping.sort_by:
        key = mapping.sort_by
        items = iter(
            sorted(
                items,
                key=lambda r: (
                    ("", 0) if isinstance(r, MappingError) else (str(r[1].get(key, "")), r[0])
                ),
            )
        )
    for count, item in enumerate(items):
        if limit is not None and count >= limit:
            return
        if isinstance(item, MappingError):
            yield item
            continue
        line, row = item
        try:
            yield MappedRow(line, map_row(mapping, row, line=line, path=str(path)))
        except MappingError as exc:
            yield exc

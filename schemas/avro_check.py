"""Walk an Avro body against its writer schema and refuse what a reader would misread.

fastavro looks enum symbols and union branches up by Python index, so an index of −1 reads as
the *last* symbol (``{"severity": -1}`` becomes ``minor``, a union index −2 picks its first
branch) instead of failing. It also trusts block counts: an array header claiming 2**62 items
keeps it busy long after the payload ran out. This walk reads nothing but the structure —
indices in range, lengths and counts within the bytes there are — before fastavro reads it.

>>> import fastavro
>>> enum = fastavro.parse_schema({"type": "enum", "name": "E", "symbols": ["a", "b"]})
>>> check_body(b"\\x02", enum)
>>> try:
...     check_body(b"\\x01", enum)  # zigzag 1 is −1
... except ValidationFailed as exc:
...     print(exc.message)
enum index -1 outside 0…1
"""

from __future__ import annotations

from typing import Any

from schemas.errors import ValidationFailed

_FIXED_SIZES = {"null": 0, "float": 4, "double": 8}


def check_body(body: bytes, schema: Any) -> None:
    """``ValidationFailed("bad_avro")`` unless every index and length in ``body`` is in range."""
    walk = _Walk(body)
    _collect(schema, walk.names)
    walk.value(schema)
    if walk.pos != len(body):
        raise ValidationFailed(
            "bad_avro", f"{len(body) - walk.pos} trailing bytes after the record"
        )


def _collect(schema: Any, names: dict[str, Any]) -> None:
    """Every named type, wherever defined: a later field may refer to one in an unread branch."""
    if isinstance(schema, list):
        for branch in schema:
            _collect(branch, names)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "error", "enum", "fixed"):
            names.setdefault(schema["name"], schema)
        for f in schema.get("fields", ()):
            _collect(f["type"], names)
        for key in ("items", "values"):
            if key in schema:
                _collect(schema[key], names)


class _Walk:
    def __init__(self, body: bytes) -> None:
        self.body, self.pos, self.names = body, 0, dict[str, Any]()

    def fail(self, message: str) -> ValidationFailed:
        return ValidationFailed("bad_avro", message)

    def long(self) -> int:
        shift = result = 0
        while True:
            if self.pos >= len(self.body) or shift > 63:
                raise self.fail(f"truncated or overlong varint at byte {self.pos}")
            b = self.body[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return (result >> 1) ^ -(result & 1)

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.body):
            raise self.fail(f"length {n} at byte {self.pos} runs past the body")
        self.pos += n

    def index(self, what: str, size: int) -> int:
        i = self.long()
        if not 0 <= i < size:
            raise self.fail(f"{what} index {i} outside 0…{size - 1}")
        return i

    def value(self, schema: Any) -> None:
        if isinstance(schema, list):
            self.value(schema[self.index("union", len(schema))])
        elif isinstance(schema, str):
            self.primitive(schema)
        else:
            self.complex(schema)

    def primitive(self, name: str) -> None:
        if name in _FIXED_SIZES:
            self.skip(_FIXED_SIZES[name])
        elif name == "boolean":
            self.skip(1)
            if self.body[self.pos - 1] > 1:
                raise self.fail(f"boolean byte {self.body[self.pos - 1]} at byte {self.pos - 1}")
        elif name in ("int", "long"):
            self.long()
        elif name in ("bytes", "string"):
            self.skip(self.long())
        elif name in self.names:
            self.value(self.names[name])
        else:
            raise self.fail(f"unknown type {name!r} in the writer schema")

    def complex(self, schema: dict[str, Any]) -> None:
        kind = schema["type"]
        if kind in ("record", "error"):
            for f in schema["fields"]:
                self.value(f["type"])
        elif kind == "enum":
            self.index("enum", len(schema["symbols"]))
        elif kind == "fixed":
            self.skip(schema["size"])
        elif kind in ("array", "map"):
            self.blocks(schema["items"] if kind == "array" else schema["values"], kind == "map")
        else:
            self.value(kind)  # a primitive with a logical type

    def blocks(self, item: Any, keyed: bool) -> None:
        while count := self.long():
            if count < 0:
                count = -count
                self.long()  # the block's byte size, which we do not need
            if count > len(self.body) - self.pos:
                raise self.fail(f"block of {count} items in {len(self.body) - self.pos} bytes")
            for _ in range(count):
                if keyed:
                    self.skip(self.long())
                self.value(item)

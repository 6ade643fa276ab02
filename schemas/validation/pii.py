"""The one masking policy for complainants' personal data (个人信息; DOMAIN.md: masked
everywhere outside the task).

Every place data leaves RiskLoop (log lines, the alerts and task topics, API answers, the
dead-letter preview) masks through this module, so one change here changes all of them.

What is masked, and what stays so a person can still act on it:

- mainland mobiles (``+86``/``0086``, spaces or hyphens allowed): first 3 and last 4 digits;
- landlines (``0571-87654321``, ``(0571)87654321``, ``010 12345678``) and 400/800 numbers: the
  area code (or 400/800) and the last 4 digits;
- 18-digit resident ID numbers (trailing ``X`` too) and 15-digit old ones: first 4 (the region,
  harmless) and last 4 — the birth date never shows;
- bank cards (16–19 digits, grouped or not) whose Luhn check passes: first 6 (the bank) and last
  4; a digit run that fails Luhn is an order or account number and is left alone;
- e-mail addresses: the first character of the mailbox and the domain;
- names in complainant fields (:func:`mask_name`): the surname, ``张**``;
- addresses (:func:`mask_address`): road and district stay, the house-number level
  (号/栋/幢/单元/室/楼/层/户) is starred — only the department handling the task needs it.

Digits are replaced one for one by ``*`` and separators are kept, so masking never joins two
short digit runs into a longer visible one, and it is idempotent (a star is never a digit). Digit
runs longer than any pattern (order numbers) are left alone; letters next to a number do not
protect it (``tel13812345678a`` is masked).

>>> mask_pii("联系电话13812345678，身份证110101199003071234")
'联系电话138****5678，身份证1101**********1234'
>>> mask_pii("+86 138 1234 5678，座机(0571)87654321，邮箱 zhang.san@example.cn")
'+86 138 **** 5678，座机(0571)****4321，邮箱 z***@example.cn'
>>> mask_pii("卡号 6222 0212 3456 7894 已扣款")
'卡号 6222 02** **** 7894 已扣款'
>>> mask_identifier("A00074011")
'A0*****11'
>>> mask_name("欧阳娜娜"), mask_address("杭州市西湖区文三路90号3幢2单元501室")
('欧阳**', '杭州市西湖区文三路**号*幢*单元***室')
"""

from __future__ import annotations

import hashlib
import math
import re
import types
import typing
import unicodedata
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from functools import lru_cache, partial
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

__all__ = [
    "ADDRESS_FIELDS",
    "IDENTIFIER_FIELDS",
    "KEPT_FIELDS",
    "NAME_FIELDS",
    "View",
    "find_personal_numbers",
    "luhn_ok",
    "mask_address",
    "mask_for",
    "mask_identifier",
    "mask_name",
    "mask_pii",
    "masked_record",
    "masked_record_via_json",
    "resident_id_ok",
]

View = Literal["full", "masked"]
"""Who reads: ``full`` (the department handling the task: house-number addresses and the
complaint as masked at ingest), ``masked`` (everyone else; the default)."""

_SEP = r"[\s-]?"
# (?<!\d\.): a digit run that is the fraction of a decimal number (a model's feature value such
# as 1.3862943611198906) is nobody's bank card or phone
_ID18 = re.compile(r"(?<!\d)(?<!\d\.)\d{17}[\dXx](?!\d)")
_ID15 = re.compile(r"(?<!\d)(?<!\d\.)\d{8}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?!\d)")
_CARD = re.compile(r"(?<!\d)(?<!\d\.)\d{4}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?(?!\d)")
_MOBILE = re.compile(
    rf"(?<!\d)(?<!\d\.)(?P<cc>(?:\+|00)86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}(?!\d)"
)
_LANDLINE = re.compile(
    r"(?<!\d)(?<!\d\.)(?:\((?:0(?:10|2\d)|0[3-9]\d{2})\)|(?:0(?:10|2\d)|0[3-9]\d{2}))[\s-]?"
    r"[2-9]\d{2,3}[\s-]?\d{4}(?!\d)"
)
_HOTLINE = re.compile(rf"(?<!\d)(?<!\d\.)[48]00{_SEP}\d{{3}}{_SEP}\d{{4}}(?!\d)")
# starts only where a mailbox can start: inside a long run of word characters with no "@" the
# search would otherwise retry from every position (quadratic on a hostile 1 MB string); and
# not right after an "@" that ends a mailbox, masked or not: in "a@b.c@d.e" the match takes
# "b.c" as its domain, and masking again must not find "b.c@d.e" in "a***@b.c@d.e" (masking is
# idempotent, tests/unit/schemas/test_pii.py), while "@zhang@example.cn" is still masked
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9_.+-])(?<![A-Za-z0-9_.+*-]@)"
    r"([A-Za-z0-9_.+-])[A-Za-z0-9_.+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_ok(number: str) -> bool:
    """True when ``number`` is an 18-character ID number whose check character agrees (GB 11643).

    >>> resident_id_ok("11010519491231002X"), resident_id_ok("110105194912310021")
    (True, False)
    """
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn check every bank card carries.

    >>> luhn_ok("6222021234567890123"), luhn_ok("4111111111111111"), luhn_ok("4111111111111112")
    (False, True, False)
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _star(text: str, head: int, tail: int) -> str:
    """Star every digit (and ``X``) of ``text`` but the first ``head`` and last ``tail``,
    keeping separators where they are (a masked run is never longer than the original)."""
    positions = [i for i, ch in enumerate(text) if ch.isdigit() or ch in "Xx"]
    hidden = set(positions[head : len(positions) - tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _card(m: re.Match[str]) -> str:
    return _star(m.group(), 6, 4) if luhn_ok(_digits(m.group())) else m.group()


def _landline(m: re.Match[str]) -> str:
    text = m.group()
    area = re.match(r"\(?(0(?:10|2\d)|0[3-9]\d{2})", text)
    return _star(text, len(area.group(1)) if area else 3, 4)


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_EMAIL, lambda m: f"{m.group(1)}***@{m.group(2)}"),
    (_ID18, lambda m: _star(m.group(), 4, 4)),
    (_CARD, _card),
    (_ID15, lambda m: _star(m.group(), 4, 4)),
    (_MOBILE, lambda m: (m.group("cc") or "") + _star(m.group()[len(m.group("cc") or "") :], 3, 4)),
    (_LANDLINE, _landline),
    (_HOTLINE, lambda m: _star(m.group(), 3, 4)),
)


_CANDIDATE = re.compile(r"@|\d(?:\D{0,2}\d){9}")
"""What every match of :data:`_RULES` holds: an ``@`` (an e-mail address), or ten digits with
at most two other characters between two of them. The shortest numbers masked (landlines,
400/800 numbers) have ten digits, and their separators are one character (a space or a
hyphen), two after a bracketed area code (``) ``). A text without one is given back as it
is, after one scan instead of seven (most free text, and most names and addresses)."""


def mask_pii(text: str) -> str:
    """Mask every e-mail address, ID number, bank card, mobile and landline inside ``text``."""
    if _CANDIDATE.search(text) is None:  # no pattern can match: nothing to mask
        return text
    for pattern, replace in _RULES:
        text = pattern.sub(replace, text)
    return text


def find_personal_numbers(text: str) -> list[str]:
    """The phone, ID and card numbers :func:`mask_pii` would mask in ``text``, digits only
    (tests collect them from the input to look for them in what leaves).

    >>> find_personal_numbers("电话 138-1234-5678，卡 4111111111111111，单号 12345678901234567890")
    ['4111111111111111', '13812345678']
    """
    found: list[str] = []
    for pattern, replace in _RULES[1:]:
        for m in pattern.finditer(text):
            if replace(m) != m.group():
                number = m.group()[len(m.groupdict().get("cc") or "") :]
                found.append("".join(ch for ch in number if ch.isdigit() or ch in "Xx"))
        text = pattern.sub(replace, text)
    return found


def mask_identifier(value: str) -> str:
    """Mask a whole identifier field: ID/phone patterns as above, anything else keeps 2+2."""
    value = value.strip()
    masked = mask_pii(value)
    if masked != value or "*" in value:
        return masked
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


_COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "令狐",
        "夏侯",
        "轩辕",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "申屠",
        "万俟",
        "闻人",
        "赫连",
        "澹台",
        "公冶",
        "宗政",
        "濮阳",
        "太叔",
        "仲孙",
        "钟离",
        "呼延",
        "百里",
        "东郭",
        "拓跋",
    ]
)


def mask_name(name: str) -> str:
    """A person's name with only the surname left: ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧阳**``;
    a Latin-script name keeps its first letter. Idempotent.

    >>> mask_name("张三丰"), mask_name("Li Wei"), mask_name(mask_name("王五"))
    ('张**', 'L*****', '王*')
    """
    name = name.strip()
    if not name:
        return name
    keep = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:keep] + "*" * (len(name) - keep)


_HOUSE_CHARS = r"0-9A-Za-z〇零一二三四五六七八九十百千甲乙丙丁#\-－—"
_HOUSE = re.compile(  # from a run's start only (linear, as _EMAIL)
    rf"(?<![{_HOUSE_CHARS}])[{_HOUSE_CHARS}]+(?=号|栋|幢|座|单元|室|楼|层|户)"
)


def mask_address(address: str) -> str:
    """An address down to the road: house, building, unit, floor and room numbers starred.

    >>> mask_address("上城区解放路3-1号甲栋")
    '上城区解放路***号*栋'
    """
    return _HOUSE.sub(lambda m: "*" * len(m.group()), mask_pii(address))


def address_key(address: str) -> str:
    """The id a subject known only by its address goes by (a complaint without a USCC): a
    pseudonym, so the house number does not travel as an id through topics, keys, logs and
    views that are never masked. The same address written with full-width digits or other
    spacing gets the same id, so repeats still group. A pseudonym, not anonymity: whoever
    holds the exact address can compute it, which is what lets staff look one up.

    >>> address_key("西湖区文三路 90 号") == address_key("西湖区文三路９０号")
    True
    >>> address_key("西湖区文三路90号")
    'addr-818681e659ada373e805'
    """
    normal = "".join(unicodedata.normalize("NFKC", address).split())
    return "addr-" + hashlib.sha256(normal.encode()).hexdigest()[:20]


NAME_FIELDS = frozenset({"complainant_name", "contact_name", "contact", "complainant"})
"""Fields that hold a person's name: only the surname stays."""
IDENTIFIER_FIELDS = frozenset({"complainant_phone", "complainant_id", "contact_phone"})
"""Fields that are one identifier each: masked whole (:func:`mask_identifier`)."""
ADDRESS_FIELDS = frozenset({"address", "entity_address"})
"""Fields that hold an address: only the ``full`` view keeps the house number."""
KEPT_FIELDS = frozenset(
    {"id", "uscc", "entity", "fingerprint", "content_hash", "evidence", "version", "key"}
)
"""Identifiers of RiskLoop's own records (and every ``…_id`` field but the complainant's): never
personal data, and callers join on them — a hash's digits must not be starred as a phone."""


def mask_for(view: View, record: Any) -> Any:
    """``record`` (a JSON-shaped value: dicts, lists, strings) as ``view`` may see it.

    ``full`` keeps addresses to the house number; ``masked`` (the default everywhere) cuts
    them to the road. Both mask names and identifiers in the complainant fields and every
    phone, ID, card and e-mail in any other string, so even a full view shows no complainant.

    >>> mask_for("masked", {"entity_address": "文三路90号", "text": "电话13812345678", "n": 3})
    {'entity_address': '文三路**号', 'text': '电话138****5678', 'n': 3}
    >>> mask_for("full", {"address": "文三路90号"})
    {'address': '文三路90号'}
    """
    return _walk(view, record, None)


RecordT = TypeVar("RecordT", bound=BaseModel)


def masked_record(view: View, record: RecordT) -> RecordT:
    """A pydantic record as ``view`` may see it, still of its own type (a topic's record).

    The record is walked as it is, and only the parts whose strings masking changes are
    copied (:func:`_masked_model`); the rest is shared with ``record``, so treat both as
    read-only (records are frozen). The walk asks the same policy of the same (view, field,
    string) triples as masking the record's JSON form and validating it back
    (:func:`masked_record_via_json`), and falls back to that for a record it cannot prove
    the same on (a validator, an alias, a field type other than text, numbers, times, enums,
    lists, string-keyed dicts and plain records). It is the hot path of every warning change:
    an alert carries its evidence and is masked whole each time, and the JSON round trip of
    ~120 strings took 340 µs per alert (bench/RESULTS.md, 2026-12-03 "warn").

    >>> from schemas.records import Complaint
    >>> c = Complaint(event_id="e", event_time="2024-05-01T00:00:00Z", channel="web",
    ...               text="x", address="文三路90号")
    >>> masked_record("masked", c).address
    '文三路**号'
    >>> masked_record("full", c) is c  # nothing to mask: nothing copied
    True
    """
    try:
        return _masked_model(view, record)
    except _NotPlain:
        return masked_record_via_json(view, record)


def masked_record_via_json(view: View, record: RecordT) -> RecordT:
    """:func:`masked_record` the slow, obvious way: the record's JSON form through
    :func:`mask_for`, validated back into its type (the reference the fast walk must match)."""
    return type(record).model_validate(mask_for(view, record.model_dump(mode="json")))


class _NotPlain(Exception):
    """A value :func:`_masked_model` cannot prove it masks as the JSON round trip would."""


_SPECIAL_FIELDS = NAME_FIELDS | IDENTIFIER_FIELDS | ADDRESS_FIELDS


@lru_cache(maxsize=256)
def _plan(model: type[BaseModel]) -> tuple[str, ...] | None:
    """The fields of ``model`` the walk must look at, or None when the model is not plain:
    its JSON form is not its fields by name, or validation might not give it back as it was
    (aliases, computed fields, serializers, validators, constraints, extra fields).

    A field is left out when no value of its type can change: a time, an enum, an integer
    or a boolean in a field the policy has no rule for, and text in a field the policy
    keeps (``KEPT_FIELDS``, ``…_id``): each is given back unmasked by the round trip too."""
    decorators = model.__pydantic_decorators__
    if (
        model.model_config.get("extra") == "allow"
        or model.model_computed_fields
        or any(
            getattr(decorators, kind)
            for kind in (
                "validators",
                "field_validators",
                "root_validators",
                "field_serializers",
                "model_serializers",
                "model_validators",
            )
        )
    ):
        return None
    walked: list[str] = []
    for name, info in model.model_fields.items():
        if (
            info.alias not in (None, name)
            or info.serialization_alias not in (None, name)
            or info.metadata  # a constraint (a pattern, a length) a masked string might break
            or not _plain_type(info.annotation)
        ):
            return None
        if not _unchanging(name, info.annotation):
            walked.append(name)
    return tuple(walked)


def _kept(key: str) -> bool:
    """Whether :func:`_mask_field` gives back any string under ``key`` as it is."""
    return (
        key not in NAME_FIELDS
        and key not in IDENTIFIER_FIELDS
        and (key in KEPT_FIELDS or key.endswith(("_id", "_ids")))
    )


def _unchanging(name: str, annotation: Any) -> bool:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return all(_unchanging(name, a) for a in args)
    if origin is list:
        return _unchanging(name, args[0])
    if annotation is type(None):
        return True
    if annotation is str:
        return _kept(name)
    if name in _SPECIAL_FIELDS:
        return False
    return annotation in (int, bool, datetime) or (
        isinstance(annotation, type) and issubclass(annotation, Enum)
    )


def _plain_type(annotation: Any) -> bool:
    """Text, numbers, times, enums, plain records and lists, optionals and string-keyed dicts
    of them: types whose values :func:`_masked_value` walks (no ``Annotated`` constraints)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is None:
        return annotation in (str, int, float, bool, datetime, type(None)) or (
            isinstance(annotation, type) and issubclass(annotation, Enum | BaseModel)
        )  # a nested record's own class is checked when the walk meets it
    if origin is list:
        return _plain_type(args[0])
    if origin is dict:
        return args[0] is str and _plain_type(args[1])
    if origin in (typing.Union, types.UnionType):
        return all(_plain_type(a) for a in args)
    return False


def _masked_model(view: View, record: RecordT) -> RecordT:
    walked = _plan(type(record))
    if walked is None:
        raise _NotPlain(type(record).__name__)
    update: dict[str, Any] = {}
    values = record.__dict__
    for name in walked:
        value = values[name]
        masked = _masked_value(view, value, name)
        if masked is not value:
            update[name] = masked
    return record.model_copy(update=update) if update else record


def _masked_value(view: View, value: Any, key: str | None) -> Any:
    """``value`` masked, or ``value`` itself (the same object) when masking changes nothing.

    Numbers, booleans, ``None``, enums and datetimes are left as they are: their JSON forms
    hold no run of digits any pattern matches (a time's runs are at most 4 digits, split by
    ``-``/``:``/``T``, and a fraction's follow a ``.``), so the round trip gives them back
    equal (a time's tzinfo object aside: the round trip makes pydantic's own UTC) — unless a
    name, identifier or address field holds one, which only the round trip decides."""
    kind = type(value)
    if kind is str:
        masked = _mask_field(view, key, value)
        return value if masked == value else masked
    if kind is list:
        masked_list = [_masked_value(view, v, key) for v in value]
        same = all(a is b for a, b in zip(masked_list, value, strict=True))
        return value if same else masked_list
    if kind is dict:
        if value and set(map(type, value.values())) == _STR == set(map(type, value)):
            pairs = _masked_items(view, tuple(value.items()))
            return value if pairs is None else dict(pairs)  # a dict of its own for each
        out = {}
        changed = False
        for k, v in value.items():
            if type(k) is not str:
                raise _NotPlain("a key that is not a string")
            out[k] = m = _masked_value(view, v, k)
            changed = changed or m is not v
        return out if changed else value
    if value is None or kind is int or kind is bool or (kind is float and math.isfinite(value)):
        return value  # (JSON has no NaN: the round trip would refuse one)
    if isinstance(value, BaseModel):
        return _masked_part(view, value)
    if isinstance(value, Enum | datetime) and key not in _SPECIAL_FIELDS:
        return value
    raise _NotPlain(kind.__name__)


MASKED_PARTS = 4096
"""Frozen records inside records (by identity) whose masked form :func:`_masked_part` keeps."""
_MASKED_PARTS: dict[tuple[str, int], tuple[weakref.ref[BaseModel], BaseModel | None]] = {}


def _masked_part(view: View, value: BaseModel) -> BaseModel:
    """A record inside a record, masked; the answer kept for a frozen one, by identity.

    A warning's alert is masked whole on every change, and most of it is the same objects
    each time: ``WarningState.to_alert`` puts the warning's own reasons, evidence records
    and notices (frozen records, never rebuilt) into every alert it makes, so asking again
    of an object already masked is a dictionary lookup instead of a walk of ~25 records
    (most of what masking an alert cost: issue #16). The oldest entries go first.

    An entry holds its record by weak reference and goes when the record does: an answer
    kept by identity can never be found again once its record is gone (a warning read back
    from its bytes is new objects), and holding the record kept every masked warning's
    evidence alive after the warning itself went cold — up to 4,096 records and their
    masked copies, ~10 MiB of a worker at 20,000 entities (bench/RESULTS.md, 2026-12-06).
    The masked copy is kept only when it differs (``None``: the record itself), so the entry
    never holds its record through it."""
    if not value.model_config.get("frozen"):
        return _masked_model(view, value)
    key = (view, id(value))
    kept = _MASKED_PARTS.get(key)
    if kept is not None and kept[0]() is value:
        return value if kept[1] is None else kept[1]
    masked = _masked_model(view, value)
    if len(_MASKED_PARTS) >= MASKED_PARTS:
        _MASKED_PARTS.pop(next(iter(_MASKED_PARTS)), None)
    ref = weakref.ref(value, partial(_forget_part, key))
    _MASKED_PARTS[key] = (ref, None if masked is value else masked)
    return masked


def _forget_part(key: tuple[str, int], ref: weakref.ref[BaseModel]) -> None:
    """Drop ``key``'s entry when its record dies, unless a newer entry took the key."""
    kept = _MASKED_PARTS.get(key)
    if kept is not None and kept[0] is ref:
        del _MASKED_PARTS[key]


_STR = {str}
MASKED_DICTS = 1024
"""Distinct string-to-string dicts (by content) remembered by :func:`_masked_items`.

4,096 until 2026-12-06: with many entities the dicts are mostly one warning's each, ~17
strings a dict; on the bench's skewed stream (20,000 events) 1,024 missed 643 more times
than 4,096 (7,439 against 6,796), a few ms in all (bench/RESULTS.md)."""


@lru_cache(maxsize=MASKED_DICTS)
def _masked_items(
    view: View, items: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...] | None:
    """A string-to-string dict's items masked (each value under its key), or None when
    masking changes none of them.

    Cached by content: the values that fired on an evidence event (~17 strings) and a
    reason's values are in every later alert of the warning, and an alert is masked whole on
    each change (~105 of its ~140 strings are such values in the bench stream). Keys and
    values are strings, so equal keys are equal dicts; the caller makes a new dict of the
    answer, so no caller can change what the cache holds."""
    masked = tuple((k, _mask_field(view, k, v)) for k, v in items)
    return None if masked == items else masked


def _walk(view: View, value: Any, key: str | None) -> Any:
    if isinstance(value, str):
        return _mask_field(view, key, value)
    if isinstance(value, Mapping):
        return {k: _walk(view, v, k if isinstance(k, str) else None) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(view, v, key) for v in value]
    if isinstance(value, tuple):  # kept a tuple: structlog's exc_info is one
        return tuple(_walk(view, v, key) for v in value)
    return value


MASK_CACHED = 4096
"""Distinct (view, field, string) triples remembered by :func:`_mask_field`.

16,384 until 2026-12-06: at 100,000 distinct entities the cache is full of strings of one
entity each; on the bench's skewed stream (20,000 events) 4,096 missed 1,525 more times than
16,384 (10,759 against 9,234), a few ms in all (bench/RESULTS.md)."""


@lru_cache(maxsize=MASK_CACHED)
def _mask_field(view: View, key: str | None, value: str) -> str:
    """One string field as ``view`` may see it.

    Cached because the same strings are masked over and over: an alert carries its evidence
    (earlier events' records) and is masked whole on every change, ~120 strings for one alert
    in the bench stream; the masking policy is a pure function of these three values, so a
    cached answer is the answer (a profile spent 7.6 % of the worker's CPU here,
    bench/RESULTS.md 2026-12-03)."""
    if key in NAME_FIELDS:
        return mask_name(value)
    if key in IDENTIFIER_FIELDS:
        return mask_identifier(value) if value else value
    if key is not None and (key in KEPT_FIELDS or key.endswith(("_id", "_ids"))):
        return value
    if key in ADDRESS_FIELDS and view != "full":
        return mask_address(value)
    return mask_pii(value)

"""The masking policy (schemas/validation/pii.py): examples per kind, and properties that hold
for any text — idempotent, never a longer visible digit run, no 7 original digits left."""

from __future__ import annotations

import doctest
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import schemas.validation.pii as pii
from schemas.validation.pii import (
    find_personal_numbers,
    luhn_ok,
    mask_address,
    mask_for,
    mask_name,
    mask_pii,
    resident_id_ok,
)

PROPS = settings(max_examples=200, deadline=None)


def test_doctests() -> None:
    assert doctest.testmod(pii).failed == 0


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+8613812345678", "+86138****5678"),
        ("0086 138-1234-5678", "0086 138-****-5678"),
        ("0571-87654321", "0571-****4321"),
        ("(0571)87654321", "(0571)****4321"),
        ("010 6552 9988", "010 **** 9988"),
        ("400-820-8820", "400-***-8820"),
        ("11010519491231002X", "1101**********002X"),
        ("110105491231002", "1101*******1002"),
        ("4111 1111 1111 1111", "4111 11** **** 1111"),
        ("6222021234567894", "622202******7894"),
        ("联系 zhang.san@example.cn 谢谢", "联系 z***@example.cn 谢谢"),
    ],
)
def test_each_kind_is_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked
    assert mask_pii(masked) == masked


def test_what_is_not_personal_stays() -> None:
    # a digit run failing Luhn is an order number; times, amounts and short codes are not people
    for text in ("订单1234567890123456", "2024-05-01T08:00:00", "罚款 5000 元", "330106"):
        assert mask_pii(text) == text


def test_a_long_hostile_string_is_masked_in_linear_time() -> None:
    import time

    start = time.monotonic()
    assert mask_pii("a" * 200_000 + "1" * 200_000) == "a" * 200_000 + "1" * 200_000
    assert mask_address("路" + "1" * 200_000) == "路" + "1" * 200_000
    assert time.monotonic() - start < 2


def test_checks() -> None:
    assert resident_id_ok("11010519491231002X")
    assert not resident_id_ok("110105194912310021")
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")


def test_names_keep_the_surname() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("诸葛孔明") == "诸葛**"
    assert mask_name("欧阳") == "欧*"  # two characters: a one-character surname and a name
    assert mask_name("") == ""


def test_addresses_keep_the_road() -> None:
    assert mask_address("西湖区文三路90号3幢2单元501室") == "西湖区文三路**号*幢*单元***室"
    assert mask_address("上城区解放路") == "上城区解放路"
    assert mask_address("滨江区江南大道三号楼12层") == "滨江区江南大道*号楼**层"


def test_views() -> None:
    record = {
        "task_id": "t-13812345678",
        "entity_address": "文三路90号",
        "complaint_text": "电话13812345678",
        "complainant_name": "李小龙",
        "items": [{"address": "文二路1号"}],
    }
    masked = mask_for("masked", record)
    assert masked == {
        "task_id": "t-13812345678",  # RiskLoop's own identifier, never a person's
        "entity_address": "文三路**号",
        "complaint_text": "电话138****5678",
        "complainant_name": "李**",
        "items": [{"address": "文二路*号"}],
    }
    full = mask_for("full", record)
    assert full["entity_address"] == "文三路90号"
    assert full["complainant_name"] == "李**"


MOBILES = st.from_regex(r"1[3-9]\d{9}", fullmatch=True)
LANDLINES = st.from_regex(r"0(?:10|2\d|[3-9]\d\d)-?[2-9]\d{6,7}", fullmatch=True)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.from_regex(r"[1-6]\d{5}", fullmatch=True))
    born = (
        f"{draw(st.integers(1930, 2020))}{draw(st.integers(1, 12)):02}{draw(st.integers(1, 28)):02}"
    )
    body = region + born + draw(st.from_regex(r"\d{3}", fullmatch=True))
    total = sum(int(d) * w for d, w in zip(body, pii._ID_WEIGHTS, strict=True))
    return body + pii._ID_CHECK[total % 11]


@st.composite
def cards(draw: st.DrawFn) -> str:
    body = draw(st.from_regex(r"62\d{13,16}", fullmatch=True))
    for last in "0123456789":
        if luhn_ok(body + last):
            return body + last
    raise AssertionError("one check digit always fits")


NUMBERS = st.one_of(MOBILES, LANDLINES, resident_ids(), cards())
AROUND = st.text(alphabet="ab 中文，。:电话@.x(", max_size=12)
ANY_TEXT = st.text(alphabet="0123456789 -+()Xx@.ab中，", max_size=60)


def _longest_digit_run(text: str) -> int:
    return max((len(r) for r in re.findall(r"\d+", text)), default=0)


@PROPS
@given(ANY_TEXT)
@example("0@0.0@0.0")  # found by CI on 2026-12-07: a second pass masked "0.0@0.0"
@example("a@b.c.@d.e")
def test_masking_is_idempotent(text: str) -> None:
    once = mask_pii(text)
    assert mask_pii(once) == once


def test_a_mailbox_after_a_stray_at_sign_is_still_masked() -> None:
    assert mask_pii("微博@zhang.san@example.cn") == "微博@z***@example.cn"
    assert mask_pii("a@b.cn@c.cn") == "a***@b.cn@c.cn"  # the rest is the first one's tail


@PROPS
@given(ANY_TEXT)
def test_no_digit_run_gets_longer(text: str) -> None:
    assert _longest_digit_run(mask_pii(text)) <= _longest_digit_run(text)


@PROPS
@given(prefix=AROUND, number=NUMBERS, suffix=AROUND)
def test_no_seven_original_digits_survive(prefix: str, number: str, suffix: str) -> None:
    masked = mask_pii(prefix + number + suffix)
    digits = re.sub(r"\D", "", number)
    visible = "".join(ch if ch.isdigit() else "|" for ch in masked)
    for i in range(len(digits) - 6):
        assert digits[i : i + 7] not in visible
    assert re.sub(r"[\dXx]", "", number) in masked or "-" in number  # separators stay
    expected = number.replace("-", "")
    if re.fullmatch(r"\d{17}", expected) and suffix[:1] in ("X", "x"):
        expected += suffix[0]  # 17 digits then X read as an ID (masked all the same): see below
    assert find_personal_numbers(prefix + number + suffix) == [expected]


def test_seventeen_digits_then_x_are_masked_as_an_id_even_with_a_wrong_check() -> None:
    """A complainant who mistypes an ID's check character is still a person: an 18-character
    run ending in X is masked as an ID whatever its check says, so a 17-digit card followed by
    the letter x is masked (and found) as an ID too. Over-masking is the safe side."""
    card = "62000000000000000"  # Luhn-valid; its "x" is no valid ID check character
    assert luhn_ok(card)
    assert not resident_id_ok(card + "X")
    assert find_personal_numbers(f"卡号{card}x") == [card + "x"]
    assert mask_pii(f"卡号{card}x") == "卡号6200**********000x"


def test_ingest_masks_every_complainant_field() -> None:
    """The complaint record never holds a complainant's number or given name, nor the text's
    numbers: masking happens before the model exists."""
    import json
    from datetime import UTC, datetime

    from schemas.ingest import IngestLimits, decode_source

    raw = {
        "event_id": "c1",
        "event_time": "2024-05-01T08:00:00+08:00",
        "channel": "12345",
        "text": "卡号4111111111111111，座机0571-87654321，邮箱li.si@example.cn",
        "complainant_name": "欧阳小明",
        "complainant_phone": "+86 138 1234 5678",
        "complainant_id": "11010519491231002X",
    }
    record = decode_source(
        "complaints",
        json.dumps(raw).encode(),
        limits=IngestLimits(),
        now=datetime(2024, 5, 1, tzinfo=UTC),
    )
    assert record.complainant_name == "欧阳**"
    assert record.complainant_phone == "+86 138 **** 5678"
    assert record.complainant_id == "1101**********002X"
    assert record.text == "卡号411111******1111,座机0571-****4321,邮箱l***@example.cn"  # NFKC: ，→,


def test_a_decimal_fraction_is_not_a_number_anyone_holds() -> None:
    """A model's feature value on the alerts topic stays a number (CI: 1.386294******8906)."""
    from schemas.validation.pii import mask_pii

    assert mask_pii("log_nearby_complaints=1.3862943611198906") == (
        "log_nearby_complaints=1.3862943611198906"
    )
    assert mask_pii("电话.13812345678") == "电话.138****5678"  # a dot alone is no decimal


@PROPS
@given(
    ANY_TEXT,
    st.sampled_from(
        [None, "text", "complainant_name", "complainant_phone", "entity_address", "alert_id"]
    ),
    st.sampled_from(["masked", "full"]),
)
def test_a_cached_field_is_masked_as_the_policy_says(text: str, key: str | None, view: str) -> None:
    """The cache in front of ``_mask_field`` answers what the policy computes, asked once or
    again (a wrong key in the cache would hand one field's masking to another)."""
    policy = pii._mask_field.__wrapped__
    expected = policy(view, key, text)
    assert pii._mask_field(view, key, text) == expected
    assert pii._mask_field(view, key, text) == expected
    assert pii._mask_field(view, None if key else "text", text) == policy(
        view, None if key else "text", text
    )


def test_a_masked_record_is_the_same_with_the_cache_warm() -> None:
    record = {
        "complainant_name": "欧阳娜娜",
        "text": "电话13812345678",
        "address": "文三路90号",
        "evidence": [{"text": "电话13812345678", "address": "文三路90号"}],
    }
    pii._mask_field.cache_clear()
    cold = mask_for("masked", record)
    warm = mask_for("masked", record)
    assert cold == warm
    assert cold["text"] == "电话138****5678"
    assert cold["complainant_name"] == "欧阳**"
    assert pii._mask_field.cache_info().hits > 0

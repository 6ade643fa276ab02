"""The pure validators and normalisers of schemas.validation."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.errors import ValidationFailed
from schemas.validation.coords import check_point, to_wgs84_checked
from schemas.validation.crs import gcj02_to_wgs84, to_wgs84, wgs84_to_gcj02
from schemas.validation.pii import mask_identifier, mask_pii
from schemas.validation.plate import is_valid_plate, make_plate, normalise_plate
from schemas.validation.region import is_valid_region, level, lineage, parents
from schemas.validation.text import clean_text
from schemas.validation.timeutil import check_age, to_utc
from schemas.validation.units import normalise
from schemas.validation.uscc import ALPHABET, WEIGHTS, is_valid_uscc, make_uscc, uscc_check_char

FAST = settings(max_examples=60, deadline=500)
regions = st.sampled_from(["110000", "330100", "330106", "440305", "820000", "650102"])


def test_uscc_weights_are_powers_of_three_mod_31() -> None:
    assert tuple(pow(3, i, 31) for i in range(17)) == WEIGHTS


@FAST
@given(seed=st.text(max_size=30), region=regions)
def test_make_uscc_is_valid_deterministic_and_carries_the_region(seed: str, region: str) -> None:
    code = make_uscc(seed, region)
    assert is_valid_uscc(code)
    assert code == make_uscc(seed, region)
    assert code[2:8] == region


@FAST
@given(seed=st.text(max_size=10), pos=st.integers(0, 17), data=st.data())
def test_any_single_character_change_breaks_the_check(
    seed: str, pos: int, data: st.DataObject
) -> None:
    code = make_uscc(seed, "330100")
    other = data.draw(st.sampled_from([c for c in ALPHABET if c != code[pos]]))
    assert not is_valid_uscc(code[:pos] + other + code[pos + 1 :])


@pytest.mark.parametrize(
    "code",
    ["", "91350100M000100Y4", "91350100M000100Y43X", "91350100M000100YI3", "91350100m000100y43"],
)
def test_malformed_usccs(code: str) -> None:
    assert not is_valid_uscc(code)


def test_uscc_check_char_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="expected 17 characters"):
        uscc_check_char("123")
    with pytest.raises(ValueError, match="not in the USCC alphabet"):
        uscc_check_char("9135010OM000100Y4")


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("110000", True),
        ("330106", True),
        ("820000", True),
        ("100000", False),
        ("190000", False),
        ("330006", False),
        ("33010", False),
        ("33O106", False),
        ("３３０１０６", False),
    ],
)
def test_region_structure(code: str, ok: bool) -> None:
    assert is_valid_region(code) is ok


def test_region_parents_fall_back_county_city_province() -> None:
    assert parents("330106") == ("330100", "330000")
    assert parents("330100") == ("330000",)
    assert parents("330000") == ()
    assert lineage("330106") == ("330106", "330100", "330000")
    assert [level(c) for c in lineage("330106")] == ["county", "city", "province"]


@pytest.mark.parametrize("raw", ["浙A12345", "浙AD12345", "京A·12345", "粤 B 1234５", "沪a12345"])
def test_valid_plates_after_normalising(raw: str) -> None:
    assert is_valid_plate(normalise_plate(raw))


@pytest.mark.parametrize(
    "raw", ["", "A12345", "浙12345", "浙A1234", "浙A1234567", "浙AI2345", "XA12345"]
)
def test_invalid_plates(raw: str) -> None:
    assert not is_valid_plate(normalise_plate(raw))


@FAST
@given(seed=st.text(max_size=12))
def test_make_plate_is_always_valid(seed: str) -> None:
    assert is_valid_plate(make_plate(seed))


def test_naive_times_use_the_declared_zone_and_aware_ones_their_offset() -> None:
    assert to_utc("2024-01-01T08:00:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert to_utc("2024-01-01T08:00:00", "UTC") == datetime(2024, 1, 1, 8, tzinfo=UTC)
    assert to_utc("2024-01-01T08:00:00+08:00", "UTC") == datetime(2024, 1, 1, tzinfo=UTC)
    assert to_utc("2024-07-01T00:00:00", "America/Chicago") == datetime(
        2024, 7, 1, 5, tzinfo=UTC
    )  # CDT


@pytest.mark.parametrize(
    ("value", "reason"),
    [("yesterday", "bad_time"), (1700000000, "wrong_type"), ("2024-13-01", "bad_time")],
)
def test_bad_times(value: object, reason: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        to_utc(value)
    assert info.value.reason == reason


def test_unknown_zone_is_bad_time() -> None:
    with pytest.raises(ValidationFailed) as info:
        to_utc("2024-01-01T00:00:00", "Mars/Olympus")
    assert info.value.reason == "bad_time"


@FAST
@given(
    t=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    )
)
def test_to_utc_is_aware_ms_precise_and_idempotent(t: datetime) -> None:
    u = to_utc(t)
    assert u.utcoffset() == timedelta(0)
    assert u.microsecond % 1000 == 0
    assert abs(u - t) < timedelta(milliseconds=1)
    assert to_utc(u) == u


def test_age_limits() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    check_age(now + timedelta(seconds=299), now, max_future_skew_seconds=300, max_event_age_days=10)
    for t, reason in [
        (now + timedelta(seconds=301), "future_event"),
        (now - timedelta(days=11), "stale_event"),
    ]:
        with pytest.raises(ValidationFailed) as info:
            check_age(t, now, max_future_skew_seconds=300, max_event_age_days=10)
        assert info.value.reason == reason


@pytest.mark.parametrize(
    ("value", "unit", "expected", "canonical"),
    [
        (1.0, "MPa", 1.0, "MPa"),
        (250.0, "kPa", 0.25, "MPa"),
        (10.0, "bar", 1.0, "MPa"),
        (145.0377, "psi", 1.0, "MPa"),
        (32.0, "°F", 0.0, "°C"),
        (273.15, "K", 0.0, "°C"),
        (20.0, "℃", 20.0, "°C"),
        (3.0, "A", 3.0, "A"),
    ],
)
def test_unit_normalisation(value: float, unit: str, expected: float, canonical: str) -> None:
    got, got_unit = normalise(value, unit)
    assert got_unit == canonical
    assert math.isclose(got, expected, abs_tol=1e-4)


@pytest.mark.parametrize(
    ("value", "unit", "reason"),
    [
        (math.nan, "MPa", "bad_value"),
        (math.inf, "°C", "bad_value"),
        (-500.0, "°C", "bad_value"),
        (1.0, "furlong", "bad_unit"),
        ("1", "MPa", "wrong_type"),
    ],
)
def test_unit_failures(value: object, unit: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        normalise(value, unit)  # type: ignore[arg-type]
    assert info.value.reason == reason


def test_text_nfkc_and_ideographic_space() -> None:
    assert clean_text("\u3000ＡＢＣ１２３\u3000\n") == "ABC123"
    assert clean_text("a\r\nb") == "a\nb"


@FAST
@given(st.text(max_size=60))
def test_clean_text_is_idempotent(s: str) -> None:
    once = clean_text(s)
    assert clean_text(once) == once
    assert once == once.strip()


def test_pii_masks_inside_free_text() -> None:
    text = "我叫张三，电话13812345678，身份证号11010119900307123X，订单号202401011234567890123"
    masked = mask_pii(text)
    assert "138****5678" in masked
    assert "1101**********123X" in masked
    assert "13812345678" not in masked
    assert "202401011234567890123" in masked  # a longer digit run is not an ID


@FAST
@given(
    prefix=st.text(alphabet="ab 中文，。:", max_size=10),
    phone=st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
    suffix=st.text(alphabet="ab 中文，。:", max_size=10),
)
def test_no_mobile_number_survives_masking(prefix: str, phone: str, suffix: str) -> None:
    masked = mask_pii(prefix + phone + suffix)
    assert not re.search(r"1[3-9]\d{9}", masked)
    assert masked == prefix + phone[:3] + "****" + phone[-4:] + suffix
    assert mask_pii(masked) == masked


def test_mask_identifier() -> None:
    assert mask_identifier("13812345678") == "138****5678"
    assert mask_identifier("110101199003071234") == "1101**********1234"
    assert mask_identifier("abc") == "***"
    assert mask_identifier("A00043564") == "A0*****64"


def test_coordinates() -> None:
    assert check_point(30.0, 120.0) == (30.0, 120.0)
    for lat, lon, reason in [
        (91, 0, "bad_coordinates"),
        (0, 181, "bad_coordinates"),
        (0, 0, "bad_coordinates"),
        (math.nan, 1, "bad_coordinates"),
        ("30", 1, "wrong_type"),
    ]:
        with pytest.raises(ValidationFailed) as info:
            check_point(lat, lon)
        assert info.value.reason == reason
    with pytest.raises(ValidationFailed) as info:
        to_wgs84_checked(30.0, 120.0, "BD09")
    assert info.value.reason == "bad_crs"


@FAST
@given(lat=st.floats(18, 53), lon=st.floats(74, 134))
def test_crs_round_trip_in_china(lat: float, lon: float) -> None:
    glat, glon = wgs84_to_gcj02(lat, lon)
    back = gcj02_to_wgs84(glat, glon)
    assert abs(back[0] - lat) < 1e-6
    assert abs(back[1] - lon) < 1e-6
    assert to_wgs84(lat, lon, "WGS84") == (lat, lon)


def test_crs_offset_is_hundreds_of_metres_in_china_and_zero_outside() -> None:
    glat, glon = wgs84_to_gcj02(30.27, 120.15)
    assert 100 < math.hypot((glat - 30.27) * 111_000, (glon - 120.15) * 96_000) < 1000
    assert wgs84_to_gcj02(41.88, -87.63) == (41.88, -87.63)

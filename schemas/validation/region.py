"""Administrative region codes (行政区划代码, GB/T 2260): province–city–county, two digits each.

Routing by jurisdiction falls back county → city → province, so :func:`parents` gives that
chain. Only the structure is checked (a real province prefix, county part zero when the city
part is), not membership in the yearly published list, which changes.

>>> is_valid_region("330106"), is_valid_region("990100"), is_valid_region("330006")
(True, False, False)
>>> parents("330106")
('330100', '330000')
>>> level("110000")
'province'
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

PROVINCE_PREFIXES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55)]
    + [*range(61, 66), 71, 81, 82]
)
"""The two-digit prefixes of China's provinces, regions, municipalities, Taiwan, HK and Macao."""


def region_problem(code: str) -> str | None:
    """Why ``code`` is not a structurally valid region code, or ``None``."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return f"a region code is 6 digits, got {code!r}"
    return _problem_of_digits(code)


@lru_cache(maxsize=1024)
def _problem_of_digits(code: str) -> str | None:
    """Cached (six digits each): a city's few hundred codes come back with every event."""
    if int(code[:2]) not in PROVINCE_PREFIXES:
        return f"{code[:2]} is not a province prefix"
    if code[2:4] == "00" and code[4:] != "00":
        return "county part set while the city part is 00"
    return None


def is_valid_region(code: str) -> bool:
    """True for a structurally valid GB/T 2260 code."""
    return region_problem(code) is None


def level(code: str) -> Literal["province", "city", "county"]:
    """Which level a (valid) code names."""
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def parents(code: str) -> tuple[str, ...]:
    """The enclosing codes, nearest first: county → (city, province), city → (province,)."""
    province = code[:2] + "0000"
    city = code[:4] + "00"
    lvl = level(code)
    if lvl == "county":
        return (city, province)
    if lvl == "city":
        return (province,)
    return ()


def lineage(code: str) -> tuple[str, ...]:
    """The code itself, then its parents: the order to try when routing."""
    return (code, *parents(code))

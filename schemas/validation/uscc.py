"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

18 characters from a 31-symbol alphabet (no I, O, Z, S, V); characters 3–8 are the
registering authority's region code; character 18 is a check character over the first 17
with weights 3^(i-1) mod 31.

>>> uscc_check_char("91350100M000100Y4")  # the standard's worked example
'3'
>>> is_valid_uscc("91350100M000100Y43"), is_valid_uscc("91350100M000100Y44")
(True, False)
>>> code = make_uscc("licence-30790", "330100")
>>> is_valid_uscc(code), code[2:8]
(True, '330100')
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters (``ValueError`` if any is invalid)."""
    if len(first17) != 17:
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    try:
        total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the USCC alphabet") from None
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid USCC, or ``None`` if it is (for actionable messages)."""
    if len(code) != 18:
        return f"a USCC has 18 characters, this has {len(code)}"
    return _problem_of_18(code)


@lru_cache(maxsize=4096)
def _problem_of_18(code: str) -> str | None:
    """Cached (18 characters each, so ~0.5 MB at most): an enterprise's code comes back with
    each of its events, and the check sum was ~5 % of decode + validate."""
    bad = [c for c in code if c not in _VALUE]
    if bad:
        return f"character {bad[0]!r} is not allowed (alphabet {ALPHABET}; no I, O, Z, S, V)"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r}, expected {expected!r}"
    return None


def is_valid_uscc(code: str) -> bool:
    """True when ``code`` has 18 allowed characters and a correct check character."""
    return uscc_problem(code) is None


def make_uscc(seed: str, region_code: str) -> str:
    """A valid, deterministic synthetic USCC for demo data.

    "91" (market regulator, enterprise) + the region code + 9 characters drawn from a hash of
    ``seed`` + the check character. Same seed and region, same code; the organisation-code part
    is synthetic (its own GB 11714 check digit is not modelled).
    """
    if len(region_code) != 6 or not region_code.isdigit():
        raise ValueError(f"region code must be 6 digits, got {region_code!r}")
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    body = "".join(ALPHABET[b % 31] for b in digest[:9])
    first17 = "91" + region_code + body
    return first17 + uscc_check_char(first17)

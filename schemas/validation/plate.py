"""Chinese plate numbers: province character + letter + 5 (fuel) or 6 (new energy) characters.

Terminals send them with separators and full-width letters (``浙Ａ·１２３４５``), so plates are
normalised before they are checked and used as keys.

>>> normalise_plate(" 浙ａ·１２３４５ ")
'浙A12345'
>>> is_valid_plate("浙A12345"), is_valid_plate("浙AD12345"), is_valid_plate("XA12345")
(True, True, False)
>>> make_plate("4716")
'浙A04716'
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(rf"[{PROVINCES}][A-Z][A-HJ-NP-Z0-9]{{5,6}}")
_SEPARATORS = re.compile(r"[\s·.\-•]")


def normalise_plate(text: str) -> str:
    """NFKC (full-width → ASCII), upper case, separators and spaces removed."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def is_valid_plate(plate: str) -> bool:
    """True for a normalised civil plate (no I or O after the letter: they read as 1 and 0)."""
    return _PLATE.fullmatch(plate) is not None


def make_plate(seed: str, prefix: str = "浙A") -> str:
    """A valid deterministic plate for demo data: digits of ``seed`` or of its hash, 5 long."""
    digits = seed if seed.isascii() and seed.isdigit() and len(seed) <= 5 else ""
    if not digits:
        digits = str(int(hashlib.sha256(seed.encode("utf-8")).hexdigest(), 16) % 100_000)
    return prefix + digits.zfill(5)

"""Masking of complainants' personal data (DOMAIN.md: masked everywhere outside the task).

Mainland mobile numbers keep their first 3 and last 4 digits, 18-digit resident ID numbers
their first 4 and last 4 (region and check digit are harmless, birth date is not). Masking runs
on free text too, because callers dictate numbers into complaints. Digit runs longer than the
pattern (order numbers, account numbers) are left alone; letters next to a number do not
protect it (``tel13812345678a`` is masked), and masking is idempotent.

>>> mask_pii("联系电话13812345678，身份证110101199003071234")
'联系电话138****5678，身份证1101**********1234'
>>> mask_pii(mask_pii("138 1234 5678"))
'138****5678'
>>> mask_identifier("A00074011")
'A0*****11'
"""

from __future__ import annotations

import re

_ID = re.compile(r"(?<!\d)(\d{4})\d{10}(\d{3}[\dXx])(?![\dXx])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})(?!\d)")


def mask_pii(text: str) -> str:
    """Mask every ID number and mobile number inside ``text``."""
    text = _ID.sub(lambda m: f"{m.group(1)}{'*' * 10}{m.group(2)}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def mask_identifier(value: str) -> str:
    """Mask a whole identifier field: ID/phone patterns as above, anything else keeps 2+2."""
    value = value.strip()
    masked = mask_pii(value)
    if masked != value or "*" in value:
        return masked
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]

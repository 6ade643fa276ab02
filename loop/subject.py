"""Who, where and what an event is about, as warnings and tasks show it (issue #17).

Staff and departments read a USCC as nothing: a warning carries the enterprise's name and
address and, for complaints, what was reported. Only some sources say so — an inspection result
names the business and its address, a complaint its address and the enterprise it names (if
any); equipment readings and truck fixes carry neither, so their warnings keep the name and
address an earlier inspection or complaint on the same entity gave (``loop.warnings``).

The complaint text is masked again here (mobile and ID numbers, ``schemas.validation.pii``):
the door already masks it, and masking is idempotent, so a record that came round the door
(a re-keyed event, an old changelog) still never shows a number.

>>> subject_of("complaints", {"text": "电话13812345678 反映食堂卫生差", "subject": "食堂",
...                           "address": "西湖区文三路1号"})
Subject(name=None, address='西湖区文三路1号', text='食堂：电话138****5678 反映食堂卫生差')
>>> subject_of("equipment", {"uscc": "X"}) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from schemas.validation.pii import mask_pii

MAX_TEXT = 500
"""Characters of complaint text a warning and its task carry (a task is not an archive)."""


class Subject(NamedTuple):
    """What one event says about its entity; None where it says nothing."""

    name: str | None
    address: str | None
    text: str | None


def subject_of(source: str, event: Any) -> Subject | None:
    """The name, address and (complaints) masked text of ``event``, a record or its dict."""
    if source not in ("inspections", "complaints"):
        return None
    get = event.get if isinstance(event, Mapping) else lambda k: getattr(event, k, None)
    name, address = _clean(get("entity_name")), _clean(get("address"))
    text = None
    if source == "complaints":
        body = " ".join(str(get("text") or "").split())
        subject = _clean(get("subject"))
        text = mask_pii(f"{subject}：{body}" if subject else body)[:MAX_TEXT] or None
    if name is None and address is None and text is None:
        return None
    return Subject(name, address, text)


def _clean(value: object) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None

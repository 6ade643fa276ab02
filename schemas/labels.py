"""What a disposal teaches: the one mapping from a disposition result to a model's label.

A department's result says whether the warning was right. 属实已处置 (confirmed) and 责令整改
(rectification) say it was: the risk was there. 不属实 (false_alarm) says it was not. 查无此事
(not_found) says only that verification could not find the subject — the shop had closed, the
truck had gone, the complaint named an address that does not exist — which is not evidence that
the model (or the rule) was wrong: the risk may have gone before anyone looked. So it is **no
label**: it ends the warning, but teaches no model, moves no drift watch and counts in no rule's
precision. Teaching it as a false alarm would push every model towards silence on exactly the
fleeting risks (a truck dumping at night, a pop-up stall) that verification arrives too late to
see.

The loop (``loop.closed_loop``) and the models (``learn_label``, ``observe_disposition``) both read
this table, so the two cannot disagree again; it lives in ``schemas/`` because ``loop/`` may not
import ``models/``. The loop hands a model the bool it computed here; the word form (a result or
``confirmed``/``false_alarm``) is for people and the evaluation harness.

>>> label_of(DispositionResult.rectification), label_of(DispositionResult.not_found)
(True, None)
>>> confirmed("false_alarm"), confirmed("not_found"), confirmed(True)
(False, None, True)
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from schemas.errors import RiskLoopError
from schemas.records import DispositionResult

if TYPE_CHECKING:
    from collections.abc import Mapping

CONFIRMED = DispositionResult.confirmed.value
"""The word for "the warning was right" (a result of its own)."""
FALSE_ALARM = DispositionResult.false_alarm.value
"""The word for "the warning was wrong" (a result of its own)."""

Label = bool | str
"""What a model learns from: True (confirmed) / False (false alarm), as the loop sends it, or a
word: a disposition result (``confirmed``, ``rectification``, ``false_alarm``, ``not_found``)."""

_LABELS: Mapping[DispositionResult, bool | None] = MappingProxyType(
    {
        DispositionResult.confirmed: True,
        DispositionResult.rectification: True,
        DispositionResult.false_alarm: False,
        DispositionResult.not_found: None,
    }
)


class UnknownLabel(RiskLoopError, ValueError):
    """A label that is neither a bool nor a disposition result."""


def label_of(result: DispositionResult) -> bool | None:
    """True: the warning was right; False: a false alarm; None: no label (not found)."""
    return _LABELS[result]


def confirmed(label: Label) -> bool | None:
    """The label of a bool or a word (see :data:`Label`); None: it teaches nothing.

    >>> confirmed("maybe")
    Traceback (most recent call last):
    schemas.labels.UnknownLabel: unknown feedback label 'maybe'; use one of: confirmed, false_alarm, not_found, rectification
    """
    if isinstance(label, bool):
        return label
    try:
        return _LABELS[DispositionResult(label)]
    except ValueError:
        known = ", ".join(sorted(r.value for r in _LABELS))
        raise UnknownLabel(f"unknown feedback label {label!r}; use one of: {known}") from None

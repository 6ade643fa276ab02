"""Deterministic identifiers: the same inputs always give the same id.

That is what makes replays harmless (ARCHITECTURE.md, "Delivery and idempotency"): a
redelivered hit finds the same fingerprint and alert id, an alert maps to exactly one task id,
and a redelivered disposition yields the same task-event ids, so idempotent sinks drop repeats.

>>> fingerprint("inspections", "91330106MA2XXXXX0X", "330000-001")
'fp-c9c71956bb76a09919bc7930'
"""

from __future__ import annotations

import hashlib
from functools import lru_cache


def _digest(*parts: str, size: int = 24) -> str:
    # \x1f (unit separator) cannot appear in our ids, so ("a", "bc") never collides with ("ab", "c").
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:size]


FINGERPRINTS_CACHED = 4096
"""Distinct warnings whose fingerprints :func:`fingerprint` remembers."""


@lru_cache(maxsize=FINGERPRINTS_CACHED)
def fingerprint(
    source: str, entity: str, item_code: str, *, group: str = "", shadow: bool = False
) -> str:
    """Identity of a warning: one per (source, entity, item code); shadow hits live apart.

    Cached: every hit and alerting score asks it, mostly about the entity's same few warnings,
    and a SHA-256 with its hex digest is most of a fold's id work (a pure function of these
    five values, so a cached answer is the answer).

    ``group`` is a rule's own ``group_key`` (e.g. plate + fence id: one warning per fence); it
    only counts when the rule set one, i.e. when it differs from the entity — by default a
    rule groups by entity, and then rule hits and model scores share one fingerprint.
    """
    parts = [source, entity, item_code]
    if group and group != entity:
        parts.append(f"group={group}")
    if shadow:
        parts.append("shadow")
    return "fp-" + _digest(*parts)


def alert_id(fp: str, epoch: int) -> str:
    """A warning's id in one occurrence epoch: a warning that resolved and returns is new."""
    return f"{fp}.{epoch}"


def task_id(alert: str) -> str:
    """The one verification task of an alert: replaying the alert cannot make a second task."""
    return "task-" + _digest("task", alert)


def event_id(*parts: str) -> str:
    """Id of a derived event (task event, supervision step) from what caused it."""
    return "ev-" + _digest(*parts)

"""Whose rows a report may count: the risk centre sees every department and region; anyone
else reads their own department's tasks and the warnings of their own regions.

The same rule as the worker's API (``loop.jurisdiction``): a report is an aggregate, but an
aggregate of another department's tasks is still theirs to publish, not ours.

>>> from loop.identity import Principal
>>> li = Principal(sub="u-li", name="李明", roles={"lead"}, department="hz_market",
...                regions=("3301",))
>>> scope_of(li, centre="risk_centre")
Scope(department='hz_market', regions=('3301',))
>>> scope_of(li.model_copy(update={"department": "risk_centre"}), centre="risk_centre")
Scope(department=None, regions=None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loop.jurisdiction import is_centre

if TYPE_CHECKING:
    from loop.identity import Principal


@dataclass(frozen=True)
class Scope:
    """None: no restriction on that axis (the risk centre's view)."""

    department: str | None = None
    regions: tuple[str, ...] | None = None


EVERYTHING = Scope()
"""The command line's scope: who can read the store's database reads all of it anyway."""


def scope_of(who: Principal, *, centre: str) -> Scope:
    """The rows ``who`` may aggregate."""
    if is_centre(who, centre):
        return EVERYTHING
    return Scope(department=who.department, regions=who.regions)

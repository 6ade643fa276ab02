"""A pydantic ValidationError as one readable line: ``field: what is wrong`` per problem.

A modeller publishing a model with a wrong parameter saw pydantic's raw dump (types, input
values, URLs on six lines). This says which field, what is wrong, and — for a field that is not
there at all — which fields there are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pydantic import ValidationError

MAX_PROBLEMS = 5


def readable(exc: ValidationError, fields: Iterable[str] = ()) -> str:
    """``q: Input should be a valid number; zz: no such parameter (they are: q, window)``.

    >>> from pydantic import ValidationError
    >>> from pydantic import BaseModel, ConfigDict
    >>> class P(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     q: float = 0.9
    >>> try:
    ...     P.model_validate({"q": "x", "zz": 1})
    ... except ValidationError as exc:
    ...     print(readable(exc, ["q"]))
    q: Input should be a valid number, unable to parse string as a number; zz: no such field (the fields are: q)
    """
    known = sorted(fields)
    named = []
    errors = exc.errors(include_url=False, include_input=False)
    for err in errors[:MAX_PROBLEMS]:
        where = ".".join(str(p) for p in err["loc"]) or "value"
        if err["type"] == "extra_forbidden":
            what = "no such field" + (f" (the fields are: {', '.join(known)})" if known else "")
        else:
            what = str(err["msg"])
        named.append(f"{where}: {what}")
    if len(errors) > MAX_PROBLEMS:
        named.append(f"and {len(errors) - MAX_PROBLEMS} more")
    return "; ".join(named)

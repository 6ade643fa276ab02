"""Hyperparameters, declared once: in the model's ``__init__`` signature, River-style.

River reads an estimator's parameters from its ``__init__`` signature (``_get_params``,
``clone``); our models do the same. Each hyperparameter's type, range and default stand in the
signature (``warmup: NonNegativeInt = 400``, ``q: Quantile = 0.99``), and the pydantic model
that checks a publication's JSON is derived from that signature (:func:`params_model`), so no
parameter can be added to one list and forgotten in another. A model built with a wrong
parameter (unknown name, wrong type, out of range) is refused with one line naming it.

>>> class Toy:
...     factory = "toy"
...     def __init__(self, *, name: str = "toy", q: Quantile = 0.9, span: AtLeastOne = 3):
...         self.params = checked(type(self), locals())
>>> Toy(span=5).params
{'q': 0.9, 'span': 5}
>>> Toy(q=2.0)
Traceback (most recent call last):
models.errors.ModelError: bad params for model factory 'toy': q: Input should be less than 1
>>> list(params_model(Toy).model_fields), params_model(Toy).model_config["extra"]
(['q', 'span'], 'forbid')
"""

from __future__ import annotations

import inspect
import typing
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from models.errors import ModelError
from schemas.problems import readable

if typing.TYPE_CHECKING:
    from collections.abc import Mapping

AtLeastOne = Annotated[int, Field(ge=1)]
"""A count that must be at least one (a span, a minimum number of scores or labels)."""

Quantile = Annotated[float, Field(gt=0.5, lt=1.0)]
"""The quantile of normal scores used as a threshold: above the median, below the maximum."""

Probability = Annotated[float, Field(gt=0, lt=1)]
"""A probability threshold strictly between 0 and 1."""

IDENTITY = frozenset({"name", "version"})
"""Keyword parameters of every model that name it rather than tune it: not hyperparameters."""


@cache
def params_model(cls: type) -> type[BaseModel]:
    """The pydantic model of ``cls``'s hyperparameters, read from ``cls.__init__``'s signature.

    Every keyword-only parameter but ``name`` and ``version``, with its annotation (ranges in
    ``Annotated``) and its default, in signature order; unknown keys are refused and the
    validated values are frozen. Built once per class.
    """
    init = cls.__init__  # type: ignore[misc]  # the class's own, not an instance's
    hints = typing.get_type_hints(init, include_extras=True)
    fields: dict[str, Any] = {
        p.name: (hints[p.name], ... if p.default is p.empty else p.default)
        for p in inspect.signature(init).parameters.values()
        if p.kind is p.KEYWORD_ONLY and p.name not in IDENTITY
    }
    config = ConfigDict(extra="forbid", frozen=True)
    return create_model(f"{cls.__name__}Params", __config__=config, **fields)


def checked(cls: type, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` (an ``__init__``'s ``locals()``) validated against ``cls``'s signature.

    What is not a hyperparameter (``self``, ``name``, ``version``) is left out; the result is
    JSON values (what a publication carries and the content hash covers). A wrong value raises
    :class:`ModelError` naming each parameter, never pydantic's raw dump.
    """
    model = params_model(cls)
    given = {k: v for k, v in arguments.items() if k in model.model_fields}
    try:
        return model.model_validate(given).model_dump(mode="json")
    except ValidationError as exc:
        factory = getattr(cls, "factory", cls.__name__)
        raise ModelError(
            f"bad params for model factory {factory!r}: {readable(exc, model.model_fields)}"
        ) from exc


def described(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Each hyperparameter of a params model as a modeller reads it: name, what values are
    allowed, the default (``riskloop models params``). Read from the model's JSON schema, so
    what is listed is what a publication is checked against.

    >>> class Toy:
    ...     def __init__(self, *, q: Quantile = 0.9, span: AtLeastOne = 3,
    ...                  hold: float | None = None, kind: typing.Literal["a", "b"] = "a"): ...
    >>> for row in described(params_model(Toy)):
    ...     print(row["name"], "|", row["allowed"], "|", row["default"])
    q | number > 0.5, < 1.0 | 0.9
    span | integer ≥ 1 | 3
    hold | number, or null | None
    kind | "a" | "b" | a
    """
    properties = model.model_json_schema()["properties"]
    return [
        {"name": name, "allowed": _allowed(properties[name]), "default": field.default}
        for name, field in model.model_fields.items()
    ]


_BOUNDS = (("exclusiveMinimum", ">"), ("minimum", "≥"), ("exclusiveMaximum", "<"), ("maximum", "≤"))


def _allowed(schema: Mapping[str, Any]) -> str:
    if "anyOf" in schema:
        kinds = [_allowed(s) for s in schema["anyOf"]]
        return ", or ".join(kinds)
    if "enum" in schema:
        return " | ".join(f'"{v}"' for v in schema["enum"])
    bounds = [f"{sign} {schema[key]}" for key, sign in _BOUNDS if key in schema]
    kind = str(schema.get("type", "any"))
    return f"{kind} {', '.join(bounds)}" if bounds else kind

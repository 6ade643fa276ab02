"""Units of sensor readings, normalised to one canonical unit per quantity.

Rules compare readings with rated limits; a boiler reporting kPa against a limit in MPa is
off by a thousand. Pressure becomes MPa, temperature °C; other units are accepted as given
if they are in :data:`KNOWN_UNITS` and refused otherwise, so a typo is caught at the door.

>>> normalise(250.0, "kPa")
(0.25, 'MPa')
>>> normalise(212.0, "°F")
(100.0, '°C')
>>> normalise(1.5, "A")
(1.5, 'A')
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from schemas.errors import ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Callable

_PRESSURE: dict[str, float] = {
    "mpa": 1.0,
    "kpa": 1e-3,
    "pa": 1e-6,
    "bar": 0.1,
    "mbar": 1e-4,
    "psi": 0.006894757293168361,
}
_TEMPERATURE: dict[str, Callable[[float], float]] = {
    "°c": lambda v: v,
    "℃": lambda v: v,
    "c": lambda v: v,
    "degc": lambda v: v,
    "°f": lambda v: (v - 32.0) * 5.0 / 9.0,
    "℉": lambda v: (v - 32.0) * 5.0 / 9.0,
    "f": lambda v: (v - 32.0) * 5.0 / 9.0,
    "degf": lambda v: (v - 32.0) * 5.0 / 9.0,
    "k": lambda v: v - 273.15,
}
KNOWN_UNITS = frozenset(
    ["A", "mA", "V", "kV", "W", "kW", "Hz", "rpm", "g", "m/s", "m/s2", "m/s²", "mm/s", "km/h"]
    + ["kg", "t", "%", "L/min", "m3/h", "m³/h", "count", "mm", "m", "s", "1"]
)
"""Units accepted unchanged (no canonical conversion needed for them today)."""

ABSOLUTE_ZERO_C = -273.15


def normalise(value: float, unit: str, field: str = "metrics") -> tuple[float, str]:
    """(value, unit) → (value in canonical unit, canonical unit); non-finite values refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(
            "wrong_type", f"expected a number, got {type(value).__name__}", field
        )
    if not math.isfinite(value):
        raise ValidationFailed("bad_value", f"{value} is not a finite number", field)
    key = unit.strip().lower()
    if key in _PRESSURE:
        return value * _PRESSURE[key], "MPa"
    if key in _TEMPERATURE:
        celsius = _TEMPERATURE[key](value)
        if celsius < ABSOLUTE_ZERO_C - 1e-9:
            raise ValidationFailed("bad_value", f"{value} {unit} is below absolute zero", field)
        return celsius, "°C"
    if unit.strip() in KNOWN_UNITS:
        return float(value), unit.strip()
    raise ValidationFailed(
        "bad_unit",
        f"unknown unit {unit!r}; use MPa/kPa/Pa/bar/psi, °C/°F/K or one of {sorted(KNOWN_UNITS)}",
        field,
    )

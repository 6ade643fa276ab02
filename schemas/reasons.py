"""Stable reason codes of :class:`schemas.errors.ValidationFailed`.

They are metric labels and the ``reason`` of dead-letter records, so they never change
meaning; add new ones, do not rename. Each code says what an operator should look at.
"""

from __future__ import annotations

REASONS: dict[str, str] = {
    "too_large": "payload over max_event_bytes; the producer sends too much in one event",
    "bad_encoding": "empty payload or JSON that is not UTF-8",
    "bad_json": "not JSON, or not a JSON object",
    "bad_avro": "Avro frame or body that cannot be read with its writer schema",
    "unknown_schema": "Avro schema id unknown, or a record of another type on this topic",
    "unknown_source": "no such ingest source (a wiring error)",
    "missing_field": "a required field is absent or null",
    "extra_field": "a field the standard does not define",
    "wrong_type": "a field of the wrong JSON/Avro type",
    "bad_value": "a value out of range or not allowed (enum, negative count, NaN/inf, empty name)",
    "bad_text": "a string no UTF-8 can carry (a lone UTF-16 surrogate such as \\ud800)",
    "bad_identifier": "an id or name with an invisible character (control, zero-width) or too long",
    "too_long": "free text longer than the standard allows",
    "too_many_metrics": "more metric names in one reading than MAX_METRICS (validation/strict.py)",
    "duplicate_key": "a JSON object names the same key twice (which one was meant?)",
    "bad_uscc": "USCC not 18 valid characters or wrong check character (GB 32100-2015)",
    "bad_region": "region code not a GB/T 2260 structure",
    "bad_plate": "plate not province character + letter + 5 or 6 characters",
    "bad_time": "timestamp not ISO-8601, or not convertible to UTC",
    "future_event": "event time beyond max_future_skew_seconds ahead of now (sender clock/zone)",
    "stale_event": "event time more than max_event_age_days before now",
    "bad_coordinates": "lat/lon missing one half, out of range, non-finite or (0, 0)",
    "bad_crs": "a CRS other than WGS84 or GCJ02",
    "bad_unit": "a unit that cannot be normalised or is not known",
    "mapping": "a replay mapping could not turn a file row into a record",
    "internal_error": "a bug: the validator itself failed; report it with the payload",
}
"""Reason code → what it means."""

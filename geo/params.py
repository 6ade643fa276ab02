"""Tuning of the geo detections: one frozen object with defaults a city can start from.

Every threshold a department may argue about is here, not in code: the worker can expose them
in settings or per rule pack. Distances in metres, times in seconds, speeds in km/h.

>>> GeoParams().corridor_grace_s, GeoParams(silent_after_s=300).silent_after_s
(60.0, 300.0)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GeoParams(BaseModel):
    """Thresholds of :func:`geo.detector.step` and :func:`geo.detector.tick`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # GPS reality
    reorder_fixes: int = Field(
        default=3, ge=0, description="fixes held back to restore event-time order"
    )
    reorder_window_s: float = Field(
        default=30.0, ge=0, description="…or until the newest is this much newer"
    )
    dedup_ids: int = Field(
        default=64, ge=1, description="recent fix ids remembered to drop duplicates"
    )
    max_speed_kmh: float = Field(
        default=150.0, gt=0, description="faster between fixes = impossible jump"
    )
    gps_noise_m: float = Field(
        default=30.0, ge=0, description="position noise forgiven by the jump test"
    )
    jump_reanchor_after: int = Field(
        default=3,
        ge=1,
        description="after this many jumps in a row, trust the new position (re-anchor)",
    )
    recent_fixes: int = Field(default=20, ge=1, description="last accepted fixes kept in the state")
    evidence_max: int = Field(default=20, ge=1, description="fix ids kept as evidence per episode")
    # fences: hysteresis against jitter at a boundary
    hysteresis_m: float = Field(
        default=15.0, ge=0, description="inside/outside by more than this counts at once"
    )
    confirm_s: float = Field(
        default=30.0, ge=0, description="…or staying inside/outside this long counts"
    )
    fence_dwell_s: float = Field(
        default=1800.0, gt=0, description="inside a fence this long → fence_dwell"
    )
    # motion and dumping
    stop_speed_kmh: float = Field(
        default=5.0, ge=0, description="slower than this is standing still"
    )
    stop_radius_m: float = Field(
        default=30.0, ge=0, description="a stop may drift this far (GPS noise)"
    )
    min_stop_s: float = Field(default=60.0, ge=0, description="standing still this long = stopped")
    dumping_stop_s: float = Field(
        default=600.0, gt=0, description="a loaded stop this long outside sites"
    )
    site_tolerance_m: float = Field(
        default=30.0, ge=0, description="this close to a permitted site counts"
    )
    unknown_load_is_loaded: bool = Field(
        default=False, description="treat a fix without a load flag as loaded"
    )
    # speed
    default_limit_kmh: float | None = Field(
        default=60.0, description="limit outside speed zones; None = none"
    )
    overspeed_tolerance_kmh: float = Field(
        default=0.0, ge=0, description="allowed excess over the limit"
    )
    overspeed_min_s: float = Field(
        default=10.0, ge=0, description="over the limit this long = an episode"
    )
    overspeed_end_s: float = Field(
        default=30.0, ge=0, description="under the limit this long ends it"
    )
    # route corridor
    corridor_grace_s: float = Field(
        default=60.0, ge=0, description="outside the corridor longer → deviation"
    )
    # silence
    silent_after_s: float = Field(default=600.0, gt=0, description="no fix for this long → silent")

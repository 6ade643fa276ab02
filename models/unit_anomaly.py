"""Shared machinery of the anomaly models (equipment, trucks): per-unit baselines, shared alarms.

Each monitored *unit* (an elevator, a boiler, a truck) has its own normal, so each gets its own
smoothing state, detector and threshold (a running quantile of its normal scores). A *group*
(an equipment type, the fleet) shares a threshold for units too young to have their own, and
the false-alarm memory: the detector's score is scale-free (a distance in standard deviations
per channel), so a department's 不属实 on one elevator teaches all of them. A shared threshold
alone was measured and lost (SKAB F1 0.75 against 0.80 per unit): baselines learnt from a few
hundred readings differ in how tight they are.

Per event, in order: smooth the raw features with an EWMA (collective faults last minutes;
single readings are noisy), score against the unit's baseline, discount by the false-alarm
memory, compare with the group's running quantile of *normal* scores. Learning protects the
detector: a point above the threshold is not learnt (River's ``protect_anomaly_detector``), and
neither it nor its score enters the quantile, so a long incident cannot raise the bar under
itself. A unit may alert only after ``warmup`` readings and ``warmup_seconds`` of its own time.

Time-based settings (``warmup_seconds``, ``span_seconds``) serve data of any frequency with one
setting: a span counted in readings is 3 hours on hourly data and 15 minutes on 5-minute data,
so a setting tuned on one file means something else on the next. With ``span_seconds`` the
EWMA weight of a reading follows the time since the previous one (``1 − exp(−2Δt / span)``,
which is ``2 / (span + 1)`` for evenly spaced readings), so a gap also forgets more. With
``memory_seconds`` the baseline itself (mean and covariance) forgets, with that e-folding time:
months of hourly readings otherwise weigh the summer as much as last week, and a season's drift
becomes an alarm that the detector, never learning flagged readings, cannot leave.

Alarms are incidents (models/incident.py): with ``raise_seconds`` a score must stay above the
threshold that long before an incident opens (such readings are not learnt meanwhile); with
``hold_seconds`` an alert is held until the unit has been settled that long, and readings of an
open incident are not learnt. With ``release_drop`` an incident also ends when the score has
fallen that many decades below the incident's level while still above the threshold — with
``release_ceiling``, only once the score is within that many decades of the threshold (a fault
that ended, leaving the plant in a new state); the unit's baseline is then re-fitted from
scratch on what follows, alerting again after ``rebaseline_seconds`` of its own time and once it
has a threshold of its own. With ``accept_seconds`` an incident that has stayed above the
threshold that long ends the same way, re-fit included, whatever its level (a step that lasts).
With ``profile_seconds`` the detector sees each channel minus its usual value at this time of
day (models/profile.py), learnt from normal readings only. With ``drift_seconds`` it sees
each channel minus an offset that follows a slow drift and not a jump (models/slow_drift.py:
the offset moves only while the channel is within ``drift_band`` standard deviations of the
baseline), once the baseline has learnt ``warmup`` readings. With
``spot_risk`` a unit's threshold is not a quantile of its normal scores but a peaks-over-threshold
bar (models/spot.py): the score normal readings exceed with that probability, from a generalised
Pareto fit of the tail over the ``spot_level`` quantile of the warm-up's scores, an alarm budget.
With ``level_seconds`` each channel, after the profile, is read against its recent level, an
EWMA in time that learns every reading, flagged or not (unlike the drift offsets, which stop
at ``drift_band``): a change is seen while it is new, and none is locked on for good.
With ``fleet_drift`` λ the score is not the unit's Mahalanobis distance but its deviations
weighed by how the group's units deviate when normal (models/fleet_drift.py): a wander every
unit of the type shows after its warm-up weighs little, one none shows weighs much.
With ``early_seconds`` a unit is watched during its first warm-up too: from that much of its
own time on, a score over ``early_bar`` opens an incident as a warm unit's would, and such a
reading is neither learnt nor counted in the tail still forming. Without it a fault that starts
in the warm-up is missed and, worse, learnt as the unit's normal (a new elevator's sensor can
fail in its first hour; SKAB's ``other-02`` does at row 104 of its 400-row training part). The
bar is a plain score (standard deviations, Mahalanobis), far over what normal warm-ups reach,
since a young baseline scores normal readings high; a re-fit after an incident is not watched
(``rebaseline_seconds`` is its wait).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import TYPE_CHECKING, Any, Literal

from river import anomaly, compose, preprocessing, stats

from models.base import SourceModel
from models.false_alarm_memory import FalseAlarmMemory
from models.fleet_drift import DriftMetric
from models.incident import Incident, Step, step
from models.mahalanobis import OnlineMahalanobis
from models.profile import Profile
from models.slow_drift import follow, weight
from models.spot import Spot
from models.unit_map import UnitMap

if TYPE_CHECKING:
    from collections.abc import Mapping

    from schemas.labels import Label
    from schemas.scores import ModelScore

Detector = Literal["mahalanobis", "hst"]

OPTIONAL = frozenset(
    {
        "warmup_seconds",
        "span_seconds",
        "memory_seconds",
        "hold_seconds",
        "release_drop",
        "release_ceiling",
        "rebaseline_seconds",
        "accept_seconds",
        "raise_seconds",
        "profile_seconds",
        "profile_bins",
        "spot_risk",
        "spot_level",
        "level_seconds",
        "drift_seconds",
        "drift_band",
        "fleet_drift",
        "early_seconds",
        "early_bar",
    }
)
"""Settings a subclass may leave out of its hyperparameters (the trucks offer none of them).
Each is read with ``getattr(self, name, off)``, as for a snapshot taken before it existed, so
a model without it behaves as with that setting off (``profile_bins`` goes with
``profile_seconds``, ``drift_band`` with ``drift_seconds``, ``spot_level`` with
``spot_risk``, ``early_bar`` with ``early_seconds``)."""


class UnitState:
    """What one unit's baseline holds: smoothed features, detector, readings learnt."""

    def __init__(self, detector: Detector, seed: int, q: float) -> None:
        self.smoothed: dict[str, float] = {}
        self.quantile = stats.Quantile(q)
        self.n = 0
        self.seen = 0
        self.context: dict[str, Any] = {}
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.learnt_time: float | None = None
        self.incident = Incident()
        self.rewarm_until: float | None = None
        self.profile: Profile | None = None
        self.spot: Spot | None = None
        self.level: Profile | None = None
        self.over = False
        """The last reading learnt was flagged: an excursion's first reading counts once."""
        self.offsets: dict[str, float] = {}
        self.detector: Any
        if detector == "mahalanobis":
            self.detector = OnlineMahalanobis()
        else:
            self.detector = compose.Pipeline(
                preprocessing.StandardScaler(),
                anomaly.HalfSpaceTrees(n_trees=25, height=8, window_size=250, seed=seed),
            )

    def z_scores(self, x: dict[str, float]) -> dict[str, float]:
        """Per-feature deviation from the unit's baseline: which channels an alert is about."""
        if isinstance(self.detector, OnlineMahalanobis):
            return self.detector.z_scores(x)
        scaler = self.detector["StandardScaler"]
        return {k: float(v) for k, v in scaler.transform_one(x).items()}

    def shifted(self, x: dict[str, float]) -> dict[str, float]:
        """``x`` less the unit's drift offsets (models/slow_drift.py): what the detector sees."""
        offsets = getattr(self, "offsets", None)  # absent in units pickled before it existed
        return {k: v - offsets.get(k, 0.0) for k, v in x.items()} if offsets else x

    def scored(self, x: dict[str, float]) -> tuple[float, dict[str, float]]:
        """The detector's score of ``x`` less the drift offsets (0 before the unit learnt
        anything) and :meth:`z_scores`; the Mahalanobis detector works both out of one pass."""
        x = self.shifted(x)
        if not self.seen:
            return 0.0, self.z_scores(x)
        if isinstance(self.detector, OnlineMahalanobis):
            score, z = self.detector.score_and_z_scores(x)
            return float(score), z
        return float(self.detector.score_one(x)), self.z_scores(x)

    def learn(self, x: dict[str, float]) -> None:
        """Teach the unit's detector one reading less the drift offsets (the caller keeps
        alerts out of the baseline)."""
        self.detector.learn_one(self.shifted(x))

    def threshold(self, min_scores: int) -> float:
        """The unit's alert threshold; infinite until ``min_scores`` scores fill its tail."""
        value = self.quantile.get()
        return float(value) if self.n >= min_scores and value is not None else math.inf


class GroupState:
    """What a group shares: the running quantile of normal scores and the false-alarm memory."""

    def __init__(self, q: float, bandwidth: float, prior: float) -> None:
        self.quantile = stats.Quantile(q)
        self.n = 0
        self.memory = FalseAlarmMemory(bandwidth=bandwidth, prior=prior)
        self.drift: DriftMetric | None = None
        """With ``fleet_drift``: how the group's units deviate when normal (models/fleet_drift.py)."""

    def threshold(self, min_scores: int) -> float:
        """The group's alert threshold; infinite until ``min_scores`` scores fill its tail."""
        value = self.quantile.get()
        return float(value) if self.n >= min_scores and value is not None else math.inf


class UnitAnomalyModel(SourceModel):
    """Base of per-unit anomaly models; subclasses say what a unit, a group and features are."""

    def __init__(self, *, name: str, version: str, params: Mapping[str, Any]) -> None:
        """``params``: the subclass's ``__init__`` arguments, where its hyperparameters are
        declared (``locals()``); a subclass leaves out what it does not offer (:data:`OPTIONAL`)."""
        super().__init__(name=name, version=version, params=params)
        p = self.params
        self.warmup: int = p["warmup"]
        self.q: float = p["q"]
        self.alpha: float = 2.0 / (p["span"] + 1.0)
        self.detector: Detector = p["detector"]
        self.bandwidth: float = p["bandwidth"]
        self.prior: float = p["prior"]
        self.min_scores: int = p["min_scores"]
        self.settle = 20  # readings learnt before a unit's scores enter its quantile; fixed
        self.seed: int = p["seed"]
        for key in OPTIONAL.intersection(p):
            setattr(self, key, p[key])
        self.units: UnitMap[UnitState] = UnitMap()  # the least recently used as bytes
        self.groups: dict[str, GroupState] = {}
        self._last: tuple[str, ModelScore, dict[str, float], float, Step] | None = None

    # ------------------------------------------------------------------ subclass hooks

    @abstractmethod
    def _unit(self, record: Any) -> str:
        """Key of the unit whose baseline this event belongs to."""

    @abstractmethod
    def _group(self, record: Any) -> str:
        """Key of the group whose threshold and memory the unit shares."""

    @abstractmethod
    def _raw_features(self, record: Any, context: Mapping[str, Any]) -> dict[str, float]:
        """Numeric features of one event, given the unit's context (pure)."""

    def _advance(self, record: Any, context: dict[str, Any]) -> None:
        """Update the unit's context after learning the event (e.g. the last GPS fix)."""

    def _uscc(self, record: Any) -> str | None:
        return getattr(record, "uscc", None)

    # ------------------------------------------------------------------ protocol

    @property
    def warmed_up(self) -> bool:
        """Alert once any unit has seen ``warmup`` readings."""
        return self.units.warm(self.warmup)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A snapshot taken before units were packed holds them in a plain dict."""
        self.__dict__.update(state)
        self.units = UnitMap.of(self.units)

    def _unit_state(self, record: Any) -> UnitState:
        return self.units.get(self._unit(record)) or UnitState(self.detector, self.seed, self.q)

    def _group_state(self, record: Any) -> GroupState:
        return self.groups.get(self._group(record)) or GroupState(
            self.q, self.bandwidth, self.prior
        )

    def _evaluate(self, record: Any) -> tuple[ModelScore, dict[str, float], float, Step]:
        last = self._last
        # a snapshot taken before incidents existed may hold a 4-tuple: recompute then
        if last is not None and last[0] == record.event_id and len(last) == 5:
            return last[1:]
        unit = self._unit_state(record)
        group = self._group_state(record)
        now = record.event_time.timestamp()
        raw = self._deseason(unit, self._raw_features(record, unit.context), now)
        a = self._weight(unit, now)
        smoothed = {
            k: v if k not in unit.smoothed else a * v + (1 - a) * unit.smoothed[k]
            for k, v in raw.items()
        }
        raw_score, deviations = unit.scored(smoothed)
        deviations = {k: v for k, v in deviations.items() if k in smoothed}
        ridge = getattr(self, "fleet_drift", None)  # absent in older snapshots
        if ridge and unit.seen:
            drift = getattr(group, "drift", None) or DriftMetric()
            raw_score = drift.score(deviations, ridge=ridge)
        z = {f"z:{k}": round(v, 6) for k, v in deviations.items()}
        score = raw_score * (1.0 - group.memory.p_false(z))
        features = {**z, **{f"x:{k}": v for k, v in smoothed.items()}}
        threshold = self._threshold(unit, group)
        warm = self._warm(unit, now)
        bar = threshold if warm else self._early_bar(unit, now)
        incident = self._incident(unit, now, score, bar)
        verdict = self._verdict(
            record,
            entity=self._unit(record),
            score=score,
            threshold=bar if math.isfinite(bar) else threshold,
            features=features,
            uscc=self._uscc(record),
            warm=warm or math.isfinite(bar),
            decided=incident.alert,
        )
        self._last = (record.event_id, verdict, smoothed, score, incident)
        return verdict, smoothed, score, incident

    def _incident(self, unit: UnitState, now: float, score: float, threshold: float) -> Step:
        """The unit's incident after this score (models/incident.py); not kept here."""
        state = getattr(unit, "incident", None) or Incident()  # older snapshots have none
        hold = getattr(self, "hold_seconds", 0.0)
        return step(
            state,
            now,
            score,
            threshold,
            hold=hold,
            drop=getattr(self, "release_drop", None),
            persist=getattr(self, "raise_seconds", 0.0),
            ceiling=getattr(self, "release_ceiling", None),
            accept=getattr(self, "accept_seconds", None),
        )

    def _deseason(self, unit: UnitState, raw: dict[str, float], now: float) -> dict[str, float]:
        """With ``profile_seconds``: each channel minus its usual value at this time of day;
        with ``level_seconds``: then minus its recent level (:meth:`_learn_level`)."""
        if getattr(self, "profile_seconds", None):  # absent in older snapshots
            profile = getattr(unit, "profile", None)  # none until the first normal reading
            raw = profile.residuals(raw, now) if profile is not None else {}
        level = getattr(unit, "level", None)
        if level is not None and getattr(self, "level_seconds", None):
            raw = level.residuals(raw, now)
        return raw

    def _learn_profile(self, unit: UnitState, record: Any, now: float) -> None:
        """Teach the unit's time-of-day profile a reading judged normal (models/profile.py)."""
        memory = getattr(self, "profile_seconds", None)
        if not memory:
            return
        bins: int = self.params["profile_bins"]  # declared wherever profile_seconds is
        profile = getattr(unit, "profile", None) or Profile(bins=bins)
        profile.learn(self._raw_features(record, unit.context), now, memory=memory)
        unit.profile = profile

    def _learn_level(self, unit: UnitState, record: Any, now: float) -> None:
        """With ``level_seconds``: every reading, alarm or not, moves the unit's recent level
        (an EWMA in time, a one-slot profile), so a change is seen while it is new and a slow
        drift never locks an alarm on; the time-of-day profile is taken out first."""
        memory = getattr(self, "level_seconds", None)
        if not memory:
            return
        raw = self._raw_features(record, unit.context)
        profile = getattr(unit, "profile", None)
        if getattr(self, "profile_seconds", None):
            raw = profile.residuals(raw, now) if profile is not None else {}
        level = getattr(unit, "level", None) or Profile(bins=1)
        level.learn(raw, now, memory=memory)
        unit.level = level

    def _weight(self, unit: UnitState, now: float) -> float:
        """EWMA weight of this reading: by readings, or by the time since the unit's last one."""
        last = getattr(unit, "last_time", None)  # absent in snapshots taken before it existed
        span = getattr(self, "span_seconds", None)
        if span is None or last is None:
            return self.alpha
        return 1.0 - math.exp(-2.0 * max(now - last, 0.0) / span)

    def _forget(self, unit: UnitState, now: float) -> None:
        """Let the baseline forget at ``exp(−Δt / memory_seconds)`` since its last learnt reading.

        In time, not readings, so one memory serves hourly and 5-minute data; flagged readings
        are not learnt, so the gap to the next learnt one forgets their time too.
        """
        memory = getattr(self, "memory_seconds", None)  # absent in older snapshots
        learnt = getattr(unit, "learnt_time", None)
        if memory and learnt is not None and isinstance(unit.detector, OnlineMahalanobis):
            unit.detector.forget(math.exp(-max(now - learnt, 0.0) / memory))
        unit.learnt_time = now

    def _warm(self, unit: UnitState, now: float) -> bool:
        """Warmed up: enough readings learnt and, if set, enough of the unit's own time seen."""
        rewarm = getattr(unit, "rewarm_until", None)
        if rewarm is not None:  # re-fitted after an incident: its own time and threshold
            return now >= rewarm and math.isfinite(unit.threshold(self.min_scores))
        first = getattr(unit, "first_time", None)
        seconds = getattr(self, "warmup_seconds", 0.0)
        lived = now - first if first is not None else 0.0
        return unit.seen >= self.warmup and (not seconds or lived >= seconds)

    def _early_bar(self, unit: UnitState, now: float) -> float:
        """With ``early_seconds``: the bar of a unit in its first warm-up that has lived that
        long (infinite otherwise: it may not alert). Not after a re-fit, whose young baseline
        waits ``rebaseline_seconds`` instead."""
        seconds = getattr(self, "early_seconds", None)  # absent in older snapshots
        first = getattr(unit, "first_time", None)
        if seconds is None or first is None or getattr(unit, "rewarm_until", None) is not None:
            return math.inf
        bar: float = self.params["early_bar"]  # declared wherever early_seconds is
        return bar if now - first >= seconds else math.inf

    def _rebaseline(self, unit: UnitState, now: float) -> None:
        """Forget the unit's baseline and threshold: what follows the incident is its normal."""
        fresh = UnitState(self.detector, self.seed, self.q)
        unit.detector, unit.quantile, unit.n, unit.seen = fresh.detector, fresh.quantile, 0, 0
        unit.spot = None
        unit.learnt_time = None
        unit.rewarm_until = now + getattr(self, "rebaseline_seconds", 0.0)

    def _threshold(self, unit: UnitState, group: GroupState) -> float:
        """The unit's own tail once it has one, the group's until then; with ``spot_risk``
        the unit's own tail is its peaks-over-threshold bar (models/spot.py)."""
        spot = getattr(unit, "spot", None)  # absent in older snapshots
        own = spot.threshold() if spot is not None else unit.threshold(self.min_scores)
        return own if math.isfinite(own) else group.threshold(self.min_scores)

    def _learn_spot(self, unit: UnitState, score: float, flagged: bool, now: float) -> None:
        """With ``spot_risk``: a normal score calibrates the unit's bar until the unit is warm
        (then the bar is fitted), and counts towards it after. An excursion over the bar counts
        once, at the bar (censored): left out, the peaks would lose their top and the bar would
        sink under its own alarms (models/spot.py); counted at every reading, a day-long
        failure read every 5 minutes would raise the bar for the next one."""
        risk = getattr(self, "spot_risk", None)
        if not risk:
            return
        spot = getattr(unit, "spot", None)
        if spot is None:
            spot = unit.spot = Spot(risk=risk, level=self.params["spot_level"])
        if not spot.fitted and self._warm(unit, now):
            spot.fit()
        if not flagged:
            spot.learn(score)
        elif not getattr(unit, "over", False):
            spot.learn(min(score, spot.threshold()))
        unit.over = flagged

    def _score(self, record: Any) -> ModelScore:
        return self._evaluate(record)[0]

    def learn_one(self, event: Any) -> None:
        """Learn it as normal unless flagged; a flagged reading counts only at the threshold."""
        record = self.coerce(event)
        verdict, smoothed, score, incident = self._evaluate(record)
        self._last = None
        unit = self.units.setdefault(self._unit(record), self._unit_state(record))
        group = self.groups.setdefault(self._group(record), self._group_state(record))
        unit.smoothed = smoothed
        now = record.event_time.timestamp()
        if getattr(unit, "first_time", None) is None:
            unit.first_time = now
        last = getattr(unit, "last_time", None)
        unit.last_time = now
        threshold = self._threshold(unit, group)
        early = self._early_bar(unit, now)  # infinite unless the option is on: checked first
        watched = math.isfinite(early) and not self._warm(unit, now)
        # not learnt: an alert, and any warm score above the threshold not yet raised
        # (``raise_seconds`` delays the alarm, not the protection of the baseline); in the
        # warm-up's watch, the early bar stands for the threshold the unit has not yet got
        flagged = verdict.alert or (
            score > early if watched else verdict.warmed_up and score > threshold
        )
        unit.incident = incident.state
        if incident.rebaseline:
            self._rebaseline(unit, now)
        elif watched and flagged:
            pass  # an early alarm: not learnt, and kept out of a tail still forming
        else:
            if not flagged:
                self._learn_fleet_drift(unit, group, verdict.features)
            self._learn_tail(unit, group, smoothed, score, threshold, flagged, now)
        self._learn_level(unit, record, now)
        if not flagged:
            self._learn_profile(unit, record, now)
        self._follow_drift(unit, now - last if last is not None else 0.0)
        self._advance(record, unit.context)

    def _learn_fleet_drift(
        self, unit: UnitState, group: GroupState, features: Mapping[str, float]
    ) -> None:
        """With ``fleet_drift``: teach the group a normal reading's deviations from its unit's
        baseline (the ``z:`` features it was scored with; models/fleet_drift.py), once the unit
        has learnt ``warmup`` readings (a younger baseline's deviations say more about the
        baseline than about the fleet)."""
        if not getattr(self, "fleet_drift", None) or unit.seen < self.warmup:
            return
        drift = getattr(group, "drift", None)
        if drift is None:
            drift = group.drift = DriftMetric()
        drift.learn({k[2:]: v for k, v in features.items() if k.startswith("z:")})

    def _follow_drift(self, unit: UnitState, elapsed: float) -> None:
        """With ``drift_seconds``: move the unit's offsets after this reading, flagged or not
        (models/slow_drift.py), once its baseline has learnt ``warmup`` readings (before, the
        baseline itself follows the unit; a re-fit baseline waits as long again)."""
        seconds = getattr(self, "drift_seconds", None)  # absent in older snapshots
        if (
            not seconds
            or unit.seen < self.warmup
            or not isinstance(unit.detector, OnlineMahalanobis)
        ):
            return
        deviations, std = unit.detector.centred(unit.shifted(unit.smoothed))
        band: float = self.params["drift_band"]  # declared wherever drift_seconds is
        unit.offsets = follow(
            getattr(unit, "offsets", {}),
            deviations,
            std,
            weight=weight(elapsed, seconds),
            band=band,
        )

    def _learn_tail(
        self,
        unit: UnitState,
        group: GroupState,
        smoothed: dict[str, float],
        score: float,
        threshold: float,
        flagged: bool,
        now: float,
    ) -> None:
        """Learn a normal reading; count a flagged one's score only as the threshold."""
        if flagged:
            # Censored at the threshold: the tail still counts (so the quantile cannot ratchet
            # down when flagged scores are left out) but cannot raise the bar mid-incident.
            observed = threshold
        else:
            self._forget(unit, now)
            unit.learn(smoothed)
            unit.seen += 1
            observed = score
        if flagged or unit.seen > self.settle:
            self._learn_spot(unit, score, flagged, now)
            for tail in (unit, group):
                tail.quantile.update(observed)
                tail.n += 1

    def learn_label(self, features: Mapping[str, float], label: Label) -> None:
        """Remember an alert's pattern as confirmed or false alarm, for every group.

        The features carry no group key, so the pattern is taught to every group that exists;
        z-scores of different groups rarely coincide, and the kernel keeps the effect local.
        """
        self._last = None
        z = {k: float(v) for k, v in features.items() if k.startswith("z:")}
        for group in self.groups.values():
            group.memory.learn(z, label)

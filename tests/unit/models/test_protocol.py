"""The honest protocol (splits, per-run baselines, the documented layout) and the models'
new behaviour (time-based settings, taxonomy priors, complaints near the premises), on small
synthetic inputs written to a temporary folder in the documented layout."""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench import datasets, evaluations, split
from models.complaints import ComplaintClassifier
from models.equipment import EquipmentAnomaly
from models.errors import ModelError
from models.evaluation import episodes_outside_windows
from models.inspections import InspectionRisk
from streams.cli import app  # the root: `models evaluate|split` are bench's plug-in

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def skab_run(path: Path, seed: int, *, n: int = 700, start: int = 500, shift: float = 3.0) -> Path:
    """One synthetic SKAB run: correlated channels, a shift from ``start`` on (the anomaly)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        bad = i >= start
        base = rng.gauss(0, 0.05)
        row: dict[str, object] = {
            "datetime": (datetime(2020, 1, 1) + timedelta(seconds=i)).isoformat(),
        }
        for k, m in enumerate(datasets.SKAB_METRICS):
            level = 1.0 + k + seed  # each run (bench set-up) has its own normal level
            row[m] = level + base * (k + 1) + rng.gauss(0, 0.01) + (shift if bad else 0.0)
        row["anomaly"] = int(bad)
        row["changepoint"] = 0
        rows.append(row)
    return _write(path, rows)


def messages(path: Path, n: int = 40) -> Path:
    texts = {"城乡建设": "小区物业不作为电梯坏了", "劳动和社会保障": "公司拖欠工资社保不交"}
    rows = []
    for i in range(n):
        cat = sorted(texts)[i % 2]
        rows.append(
            {
                "message_id": 1000 + i,
                "user": "A1",
                "subject": texts[cat][:4],
                "created_at": f"2019/1/{1 + i % 28} 9:{i % 60:02d}:00",
                "body": texts[cat],
                "category": cat,
            }
        )
    return _write(path, rows)


def inspections(path: Path, n: int = 60) -> Path:
    rows = []
    for i in range(n):
        day = date(2013, 1, 1) + timedelta(days=i)
        rows.append(
            {
                "Inspection_ID": 500 + i,
                "DBA_Name": f"shop {i % 7}",
                "License": 100 + i % 7,
                "Facility_Type": "Restaurant",
                "Risk": "Risk 1 (High)",
                "Inspection_Date": day.isoformat(),
                "Results": "Fail" if i % 3 == 0 else "Pass",
                "Latitude": 41.9,
                "Longitude": -87.6,
                "Facility_Type_Clean": "Restaurant",
                "criticalCount": int(i % 3 == 0),
                "seriousCount": 0,
                "minorCount": 1,
            }
        )
    return _write(path, rows)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    for k in range(1, 5):
        skab_run(d / "equipment" / "skab" / f"run-{k}.csv", seed=k)
    _write(d / "equipment" / "skab" / "anomaly-free.csv", [{"datetime": "2020-01-01T00:00:00"}])
    messages(d / "complaints" / "messages.csv")
    inspections(d / "inspections" / "food.csv")
    return d


# ---------------------------------------------------------------------- protocol


def test_split_rules_are_fixed_and_disjoint():
    tune, report = split.alternate([Path(f"other-{k:02d}.csv") for k in range(14, 0, -1)])
    assert [p.stem for p in tune][:2] == ["other-01", "other-03"]
    assert len(tune) == len(report)
    assert not set(tune) & set(report)
    assert split.cut_index(10) == 6
    assert split.cut_index(2) == 1
    days = [date(2013, 1, 1) + timedelta(days=i) for i in range(100)]
    assert split.cut_date(days) == date(2013, 3, 2)
    with pytest.raises(ModelError):
        split.cut_date([])


def test_split_writes_both_parts_in_the_same_layout(data_dir: Path, tmp_path: Path):
    summary = split.split(data_dir, tmp_path / "split")
    tune, report = tmp_path / "split" / "tune", tmp_path / "split" / "report"
    assert [p.stem for p in datasets.skab_files(tune)] == ["run-1", "run-3"]
    assert [p.stem for p in datasets.skab_files(report)] == ["run-2", "run-4"]
    early = {e["event_id"] for e, _ in datasets.zh_messages(tune)}
    late = {e["event_id"] for e, _ in datasets.zh_messages(report)}
    assert len(early) == 24
    assert len(late) == 16
    assert not early & late
    first = max(e["event_time"] for e, _ in datasets.chicago(tune))
    assert first < min(e["event_time"] for e, _ in datasets.chicago(report))
    assert "nothing tuned" in summary["nab"]


def test_split_cuts_the_normal_recording_into_normal_runs(data_dir: Path, tmp_path: Path):
    """SKAB's unlabelled normal recording becomes ``normal/``: runs of 1,150 rows, all normal,
    each its own unit, which ``evaluate skab`` reads like any runs (false alarms only)."""
    recording = skab_run(tmp_path / "run.csv", seed=9, n=2 * split.NORMAL_RUN_ROWS + 100)
    header, rows = split._rows(recording)
    plain = [{k: v for k, v in r.items() if k not in ("anomaly", "changepoint")} for r in rows]
    split._write(data_dir / "equipment" / "skab" / "normal-rec.csv", header[:-2], plain)
    summary = split.split(data_dir, tmp_path / "split")
    normal = tmp_path / "split" / "normal"
    runs = datasets.skab_files(normal)
    assert [p.stem for p in runs] == ["normal-rec-01", "normal-rec-02"]  # the short tail dropped
    assert "2 runs of 1150 rows" in summary["skab normal"]
    events = [list(datasets.skab(p)) for p in runs]
    assert [len(e) for e in events] == [split.NORMAL_RUN_ROWS] * 2
    assert all(y == 0 for run in events for _, y in run)
    assert events[1][0][0]["metrics"] == {
        m: float(plain[split.NORMAL_RUN_ROWS][m]) for m in datasets.SKAB_METRICS
    }
    assert "normal-rec" not in {p.stem for p in datasets.skab_files(tmp_path / "split" / "tune")}
    rows_out, _ = evaluations.skab(normal)
    assert rows_out[0]["runs"] == 2
    assert rows_out[0]["windows"] == 0
    assert rows_out[0]["events"] == 2 * split.NORMAL_RUN_ROWS  # every row, as SKAB scores


def test_layout_reads_files_by_their_columns_not_names(data_dir: Path):
    # anomaly-free.csv has no labels, so it is no run; any name with the columns is one
    assert [p.stem for p in datasets.skab_files(data_dir)] == [f"run-{k}" for k in range(1, 5)]
    assert len(list(datasets.zh_messages(data_dir))) == 40
    assert datasets.chicago_population(data_dir) is None  # no model table: score every row


def test_a_model_table_alone_stands_for_the_inspections(data_dir: Path, tmp_path: Path):
    """The City publishes its model data without the raw file: a folder holding only a model
    table (its Test split, say) is read as the inspections, the result from its flags."""
    raw = list(datasets.chicago(data_dir))
    table = []
    with (data_dir / "inspections" / "food.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            table.append(
                {
                    "Inspection_Date": row["Inspection_Date"],
                    "License": row["License"],
                    "Inspection_ID": row["Inspection_ID"],
                    "criticalCount": row["criticalCount"],
                    "Facility_Type": row["Facility_Type"],
                    "pass_flag": int(row["Results"] == "Pass"),
                    "fail_flag": int(row["Results"] == "Fail"),
                    "Inspector_Assigned": "green",
                    "criticalFound": int(row["criticalCount"] != "0"),
                }
            )
    table[1]["pass_flag"] = 0  # neither flag: a pass with conditions
    only = tmp_path / "only-table"
    _write(only / "inspections" / "model-test.csv", table)
    read = list(datasets.chicago(only))
    assert [(e["event_id"], y) for e, y in read] == [(e["event_id"], y) for e, y in raw]
    assert [e["outcome"] for e, _ in read][:3] == ["fail", "rectify", "pass"]
    assert {e["inspector_id"] for e, _ in read} == {"green"}
    rows, _ = evaluations.chicago(only)
    assert rows[0]["evaluated"] == len(raw)
    result = CliRunner().invoke(app, ["models", "evaluate", "chicago", "--data-dir", str(only)])
    assert result.exit_code == 0, result.output
    # with the raw file beside it, the raw file is the inspections and the table the population
    assert datasets.chicago_inspection_files(data_dir) == [data_dir / "inspections" / "food.csv"]


def test_skab_baseline_is_fitted_per_run_on_its_first_400_rows(data_dir: Path):
    rows, _ = evaluations.skab(data_dir)
    ours, base = rows
    assert base["detector"].startswith("3-sigma per run")
    # each run has its own level: a baseline fitted on another run would flag every normal row
    assert base["false_alarm_rate"] < 0.02
    assert base["recall"] == 1.0
    assert ours["events"] == 4 * 700  # every row, the first 400 of each run included


def test_skab_is_scored_as_skab_scores_every_row_of_a_run(tmp_path: Path):
    """SKAB's ``chp_score`` counts every row: a fault that starts inside a run's first 400
    rows (its training part, where nothing alerts) is missed there; ``*_after_400`` is the
    reading over the rows after them."""
    folder = tmp_path / "equipment" / "skab"
    skab_run(folder / "early.csv", seed=1, start=300, shift=5.0)
    (ours, base), _ = evaluations.skab(tmp_path)
    assert ours["events"] == base["events"] == 700
    missed = round(ours["missed_alarm_rate"] * 400)  # of the 400 faulty rows, 300–699
    missed_after = round(ours["missed_alarm_rate_after_400"] * 300)  # of rows 400–699
    assert missed - missed_after == 100  # rows 300–399: the training part, never alerted
    assert ours["false_alarm_rate"] == 0.0  # the 300 normal rows are all in it


def test_train_dir_is_learnt_first_and_not_reported(data_dir: Path, tmp_path: Path):
    split.split(data_dir, tmp_path / "split")
    tune, report = tmp_path / "split" / "tune", tmp_path / "split" / "report"
    cold, _ = evaluations.zh_messages(report, params={"min_labels": 1})
    warm, _ = evaluations.zh_messages(report, params={"min_labels": 1}, train_dir=tune)
    assert cold[0]["events"] == warm[0]["events"] == 16
    assert warm[0]["learnt_first"] == 24
    assert warm[0]["accuracy"] >= cold[0]["accuracy"]
    assert warm[0]["accuracy"] == 1.0


def test_cli_evaluate_json_one_line_per_detector_model_first(data_dir: Path, tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "split"
    assert (
        runner.invoke(app, ["models", "split", str(out), "--data-dir", str(data_dir)]).exit_code
        == 0
    )
    args = ["--data-dir", str(out / "report"), "--train-dir", str(out / "tune"), "--json"]
    for dataset, ours in (
        ("skab", "equipment-anomaly"),
        ("zh-messages", "complaint-classifier"),
        ("chicago", "inspection-risk"),
    ):
        result = runner.invoke(app, ["models", "evaluate", dataset, *args])
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.output.splitlines()]
        assert len(lines) == 2
        assert lines[0]["detector"] == ours
    missing = runner.invoke(app, ["models", "evaluate", "nab", *args])
    assert missing.exit_code == 1
    assert "equipment/nab" in missing.output
    assert "Traceback" not in missing.output


def test_false_alarm_episodes_are_counted_in_time():
    hours = [T0 + timedelta(hours=h) for h in range(100)]
    minutes = [T0 + timedelta(minutes=5 * m) for m in range(1200)]
    assert episodes_outside_windows([h in (1, 2, 30) for h in range(100)], [0] * 100, hours) == 2
    alerts = [12 <= m < 48 or 600 <= m < 612 for m in range(1200)]  # 3 h and 1 h, 47 h apart
    assert episodes_outside_windows(alerts, [0] * 1200, minutes) == 2
    assert episodes_outside_windows([True, True], [1, 1], hours[:2]) == 0


# ---------------------------------------------------------------------- equipment


def _reading(i: int, t: datetime, value: float) -> dict[str, object]:
    return {
        "event_id": f"r{i}",
        "event_time": t,
        "equipment_code": "B1",
        "equipment_type": "boiler",
        "uscc": "91110000100000000X",
        "metrics": {"temperature": value},
    }


@pytest.mark.parametrize("step_minutes", [5, 60])
def test_warmup_in_time_serves_any_frequency(step_minutes: int):
    m = EquipmentAnomaly(warmup=0, warmup_seconds=2 * 86400.0, min_scores=5)
    rng = random.Random(1)
    warm_at = None
    for i in range(4 * 24 * 60 // step_minutes):
        t = T0 + timedelta(minutes=step_minutes * i)
        verdict = m.process(_reading(i, t, 70 + rng.gauss(0, 1)))
        if verdict.warmed_up and warm_at is None:
            warm_at = t - T0
    assert warm_at == timedelta(days=2)


def test_span_in_time_weights_by_the_gap():
    m = EquipmentAnomaly(warmup=0, span_seconds=3600.0)
    m.process(_reading(0, T0, 70.0))
    unit = m.units["B1"]
    near = m._weight(unit, T0.timestamp() + 60)
    far = m._weight(unit, T0.timestamp() + 6 * 3600)
    assert 0 < near < 0.05 < 0.99 < far <= 1.0
    # without span_seconds the weight is the reading-count EWMA's, whatever the gap
    assert EquipmentAnomaly(span=9)._weight(unit, T0.timestamp() + 6 * 3600) == 0.2


def _drift_then_step(memory_seconds: float | None) -> tuple[int, list[bool]]:
    """90 days hourly: flat for 30, then +0.3/day (a season); then a 10-degree step for 6 h."""
    m = EquipmentAnomaly(
        warmup=0,
        warmup_seconds=7 * 86400.0,
        span_seconds=3 * 3600.0,
        memory_seconds=memory_seconds,
        q=0.999,
    )
    rng = random.Random(3)
    drift_alerts = 0
    level = 70.0
    for i in range(90 * 24):
        level = 70 + max(0.0, i / 24 - 30) * 0.3
        verdict = m.process(_reading(i, T0 + timedelta(hours=i), level + rng.gauss(0, 1)))
        drift_alerts += i >= 30 * 24 and verdict.alert
    step = [
        m.process(_reading(10**5 + k, T0 + timedelta(hours=90 * 24 + k), level + 10)).alert
        for k in range(6)
    ]
    return drift_alerts, step


def test_a_baseline_with_memory_follows_a_slow_drift_and_still_sees_a_step():
    never, step_never = _drift_then_step(None)
    forgets, step_forgets = _drift_then_step(14 * 86400.0)
    assert never > 1000  # the unforgetting baseline alarms through the whole season
    assert forgets < never / 10
    assert all(step_never)
    assert sum(step_forgets) >= 5


def test_forgetting_keeps_the_mean_and_down_weights_the_counts():
    from models.mahalanobis import OnlineMahalanobis

    det = OnlineMahalanobis()
    for i in range(100):
        det.learn_one({"a": float(i % 7)})
    mean, n = det._mu.copy(), det._n.copy()
    det.forget(1.0)
    assert det._n == n
    det.forget(0.5)
    assert det._mu == mean
    assert det._n[0] == pytest.approx(n[0] / 2)


# ---------------------------------------------------------------------- complaints


def _complaint(i: int, text: str, category: str | None = None) -> dict[str, object]:
    return {
        "event_id": str(i),
        "event_time": T0,
        "channel": "web",
        "text": text,
        "category": category,
    }


def test_taxonomy_priors_help_a_cold_start_but_are_never_predicted_alone():
    with_prior = ComplaintClassifier(min_labels=1)
    without = ComplaintClassifier(min_labels=1, prior_weight=0)
    for m in (with_prior, without):
        m.learn_one(_complaint(1, "公交车晚点", "交通运输"))
        m.learn_one(_complaint(2, "小区绿化", "城乡建设"))
    probe = _complaint(3, "物业服务太差")
    assert with_prior.score_one(probe).label == "城乡建设"
    # a category only the taxonomy named (e.g. 教育文体) is never the answer
    assert with_prior.score_one(_complaint(4, "民办学校教师工资福利")).label in {
        "交通运输",
        "城乡建设",
    }


def test_subject_weight_counts_the_subject_more():
    m = ComplaintClassifier(subject_weight=3.0, prior_weight=0)
    x = m.features(
        ComplaintClassifier.record_type.model_validate({**_complaint(1, "电梯"), "subject": "电梯"})
    )
    assert x["2:电梯"] == 4.0
    assert x["1:电"] == 4.0


def test_words_are_counted_beside_the_grams_under_their_own_keys():
    record = ComplaintClassifier.record_type.model_validate(_complaint(1, "工资没发，工资拖欠"))
    x = ComplaintClassifier(word_weight=0.5, prior_weight=0).features(record)
    assert x["w:工资"] == 1.0  # two occurrences × 0.5
    assert x["2:工资"] == 2.0  # the grams are unchanged by the words
    plain = ComplaintClassifier(word_weight=0, prior_weight=0).features(record)
    assert not any(k.startswith("w:") for k in plain)
    assert {k: v for k, v in x.items() if not k.startswith("w:")} == plain


def test_a_snapshot_from_before_words_keeps_scoring_without_them():
    m = ComplaintClassifier(min_labels=1, prior_weight=0)
    del m.word_weight  # what unpickling a model saved before the parameter existed gives
    record = ComplaintClassifier.record_type.model_validate(_complaint(1, "拖欠工资"))
    assert not any(k.startswith("w:") for k in m.features(record))


# ---------------------------------------------------------------------- inspections


def _inspection(i: int, day: int, *, critical: int = 0, inspector: str | None = None):
    return {
        "event_id": f"i{i}",
        "event_time": T0 + timedelta(days=day),
        "uscc": f"CHI-{i}",
        "entity_name": "shop",
        "region_code": "CHI",
        "outcome": "fail" if critical else "pass",
        "critical_count": critical,
        "lat": 41.901,
        "lon": -87.601,
        "inspector_id": inspector,
    }


def test_complaints_near_the_premises_within_the_window_only():
    m = InspectionRisk(nearby_days=30)
    m.note_complaint(None, T0, lat=41.9015, lon=-87.6015)  # same cell
    m.note_complaint(None, T0, lat=41.912, lon=-87.601)  # the next cell north
    m.note_complaint(None, T0, lat=42.5, lon=-87.6)  # far away
    m.note_complaint(None, T0 - timedelta(days=60), lat=41.901, lon=-87.601)  # too old
    x = m.score_one(_inspection(1, day=1)).features
    assert x["log_nearby_complaints"] == pytest.approx(__import__("math").log1p(2))
    later = m.score_one(_inspection(2, day=45)).features
    assert later["log_nearby_complaints"] == 0.0


def test_inspector_rate_learns_only_from_earlier_outcomes():
    m = InspectionRisk()
    before = m.score_one(_inspection(1, 1, critical=1, inspector="blue")).features
    m.learn_one(_inspection(1, 1, critical=1, inspector="blue"))
    after = m.score_one(_inspection(2, 2, inspector="blue")).features
    other = m.score_one(_inspection(3, 2, inspector="green")).features
    assert before["rate:inspector"] == pytest.approx(0.14)  # the prior: nothing learnt yet
    assert after["rate:inspector"] > 0.14 == pytest.approx(other["rate:inspector"])


def test_nab_files_need_their_windows_and_read_any_frequency(tmp_path: Path):
    folder = tmp_path / "equipment" / "nab"
    start = datetime(2014, 1, 1)
    _write(
        folder / "five_minutes.csv",
        [
            {
                "timestamp": (start + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S"),
                "value": 1.0,
            }
            for i in range(10)
        ],
    )
    _write(folder / "no_windows.csv", [{"timestamp": "2014-01-01T00:00:00", "value": 1.0}])
    window = {"start": "2014-01-01T00:10:00", "end": "2014-01-01T00:20:00"}
    (folder / "five_minutes.windows.json").write_text(json.dumps({"windows": [window]}))
    assert [p.stem for p in datasets.nab_files(tmp_path)] == ["five_minutes"]
    truth = [y for _, y in datasets.nab(folder / "five_minutes.csv")]
    assert truth == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]  # both ends inclusive


def test_a_bad_value_is_one_clear_error_naming_the_file_and_line(data_dir: Path):
    path = data_dir / "equipment" / "skab" / "run-2.csv"
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace(",", ",not-a-number,", 1).rsplit(",", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["models", "evaluate", "skab", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "run-2.csv, line 6" in result.output
    assert "Traceback" not in result.output


def test_nab_is_scored_as_nab_scores_after_its_probationary_period(tmp_path: Path):
    """NAB leaves min(15% of a file, 750 rows) unscored: a window wholly inside is not counted,
    and the 2-day warm-up (in time) ends inside that period on NAB's 5-minute files."""
    folder = tmp_path / "equipment" / "nab"
    start, rng = datetime(2014, 1, 1), random.Random(3)

    def at(i: int) -> str:
        return (start + timedelta(minutes=5 * i)).strftime("%Y-%m-%dT%H:%M:%S")

    rows = [
        {"timestamp": at(i), "value": 20 + rng.gauss(0, 0.3) + (8.0 if 700 <= i < 800 else 0.0)}
        for i in range(1000)
    ]
    _write(folder / "boiler.csv", rows)
    early = {"start": at(100), "end": at(120)}  # inside the first 150 rows
    late = {"start": at(690), "end": at(820)}
    (folder / "boiler.windows.json").write_text(json.dumps({"windows": [early, late]}))
    assert evaluations.nab_probation(1000) == 150
    assert evaluations.NAB_DEFAULTS["warmup_seconds"] / 300 < evaluations.nab_probation(4032)
    (row,) = evaluations.nab(tmp_path)[0]
    assert row["probation_rows"] == 150
    assert row["events"] == 850
    assert row["windows"] == 1  # the early window is NAB's probation, not a miss
    assert row["windows_detected"] == 1
    assert row["mean_delay_h"] < 2  # the +8 step, found within the hour it begins


def _skab_original(path: Path, seed: int) -> None:
    """A run as SKAB's own repository has it: ``;``-separated, its column names, ``0.0``."""
    converted = skab_run(path.with_name(path.stem + ".tmp"), seed=seed)
    names = {v: k for k, v in datasets.SOURCE_COLUMNS.items()}
    lines = converted.read_text().splitlines()
    converted.unlink()
    header = ";".join(names.get(c, c) for c in lines[0].split(","))
    body = [line.replace(",", ";").replace("T", " ", 1) for line in lines[1:]]
    body = [line.rsplit(";", 2)[0] + ";" + line.rsplit(";", 2)[1] + ".0;0.0" for line in body]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *body]) + "\n")


def test_skab_runs_copied_straight_from_skab_into_subfolders_are_read(tmp_path: Path):
    """SKAB's own ``valve1/0.csv`` and ``valve2/0.csv``: two runs, two units, one layout."""
    data = tmp_path / "data"
    for folder, seed in (("valve1", 1), ("valve2", 2)):
        _skab_original(data / "equipment" / "skab" / folder / "0.csv", seed)
    files = datasets.skab_files(data)
    assert [datasets.run_name(p, "skab") for p in files] == ["valve1-0", "valve2-0"]
    first = next(iter(datasets.skab(files[0])))
    assert first[0]["equipment_code"] == "SKAB-valve1-0"
    assert set(first[0]["metrics"]) == set(datasets.SKAB_METRICS)
    assert sum(y for _, y in datasets.skab(files[1])) == 200  # "1.0" labels read
    (ours, _), _ = evaluations.skab(data)
    assert ours["runs"] == 2
    assert ours["events"] == 2 * 700
    assert ours["windows_detected"] == 2
    split.split(data, tmp_path / "parts")
    copied = tmp_path / "parts" / "tune" / "equipment" / "skab" / "valve1" / "0.csv"
    assert copied.exists()
    assert datasets.skab_files(tmp_path / "parts" / "report")[0].parent.name == "valve2"

"""WorkerModels: snapshot/restore across a restart, refusals that start fresh, late labels."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest

from config.settings import Settings
from models.publication import ModelPublication
from models.snapshot import MAC_LEN, MAGIC, sign, take
from models.worker_models import WorkerModels, build_models

from .conftest import equipment_event

NAME = "equipment-anomaly"
KEY = b"k" * 32


def _models(warmup: int = 100) -> WorkerModels:
    models = WorkerModels()
    models.add(
        ModelPublication(
            name=NAME,
            factory=NAME,
            version="v1",
            published_by="test",
            params={"warmup": warmup, "min_scores": 30},
        )
    )
    return models


def _feed(models: WorkerModels, start: int, n: int, rng: random.Random, **kw: Any) -> list[Any]:
    return [
        s
        for i in range(start, start + n)
        for s in models.process("equipment", equipment_event(i, rng, **kw))
    ]


def test_restored_models_continue_where_they_stopped() -> None:
    before = _models()
    _feed(before, 0, 300, random.Random(0))
    blobs = before.snapshot({"equipment.readings:0": 300}, key=KEY)
    after = _models()  # a restarted worker: fresh, not warmed up
    header = after.restore(NAME, blobs[NAME], key=KEY)
    assert header is not None
    assert header.offsets == {"equipment.readings:0": 300}
    assert after.registry.get(NAME).warmed_up
    rest_a = _feed(before, 300, 50, random.Random(1), shift=3.0)
    rest_b = _feed(after, 300, 50, random.Random(1), shift=3.0)
    assert [s.score for s in rest_b] == [s.score for s in rest_a]
    assert rest_b[0].warmed_up
    assert rest_b[0].alert


def test_snapshot_covers_every_live_model() -> None:
    models = build_models(Settings(_env_file=None))  # type: ignore[call-arg]
    assert set(models.snapshot({}, key=KEY)) == set(models.registry.names())


def test_restore_brings_back_the_snapshot_version() -> None:
    """State of v2 (published before the restart) is not thrown away by a default v1."""
    v2 = _models()
    v2.add(ModelPublication(name=NAME, factory=NAME, version="v2", published_by="test"))
    _feed(v2, 0, 20, random.Random(0))
    fresh = _models()
    fresh.restore(NAME, v2.snapshot({}, key=KEY)[NAME], key=KEY)
    assert fresh.versions()[NAME] == "v2"


def _resigned(blob: bytes) -> bytes:
    body = blob[len(MAGIC) + MAC_LEN + 1 :]
    return MAGIC + sign(body, KEY) + b"\n" + body


@pytest.mark.parametrize(
    "blob",
    [
        b"garbage",
        _resigned(
            take(_models().registry.get(NAME), {}, key=KEY).replace(
                b'"state_version":"1"', b'"state_version":"0"'
            )
        ),
        take(_models().registry.get(NAME), {}, key=b"another worker's key" * 2),
    ],
    ids=["corrupt", "incompatible", "unsigned-by-this-key"],
)
def test_unusable_snapshot_is_refused_logged_and_the_model_starts_fresh(
    blob: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    models = _models()
    fresh = models.registry.get(NAME)
    with caplog.at_level(logging.WARNING, logger="models.worker_models"):
        assert models.restore(NAME, blob, key=KEY) is None
    assert models.registry.get(NAME) is fresh
    assert "refused, starting fresh" in caplog.text
    assert "\n" not in caplog.text.strip()


def test_snapshot_from_another_factory_is_refused() -> None:
    complaint = build_models(Settings(_env_file=None))  # type: ignore[call-arg]
    other = complaint.snapshot({}, key=KEY)["complaint-classifier"]
    models = _models()
    assert models.restore(NAME, other, key=KEY) is None
    assert models.restore("no-such-model", other, key=KEY) is None


def test_false_alarm_label_lowers_the_next_score_of_that_pattern() -> None:
    """A disposition 不属实 reaches the model through WorkerModels.learn_label (feedback agent)."""
    models = _models()
    rng = random.Random(0)
    _feed(models, 0, 300, rng)
    alert = _feed(models, 300, 1, rng, shift=3.0)[0]
    assert alert.alert
    following = equipment_event(301, random.Random(5), shift=3.0)
    untaught = models.registry.get(NAME).score_one(following).score
    changes = models.changes
    models.learn_label(NAME, alert.features, confirmed=False)
    assert models.registry.get(NAME).score_one(following).score < 0.5 * untaught
    assert models.changes > changes  # the next snapshot keeps what the label taught
    models.learn_label("no-such-model", alert.features, confirmed=False)  # ignored, no crash


def test_changes_count_only_what_alters_state() -> None:
    models = _models()
    start = models.changes
    models.snapshot({}, key=KEY)
    models.versions()
    assert models.changes == start
    _feed(models, 0, 3, random.Random(0))
    assert models.changes == start + 3

"""`riskloop rules publish` tells the truth: it waits for every live worker's answer.

It used to print "published" for a pack every worker then refused, and the same again for a
republish of the active version. Against a real worker: a pack whose rule ids belong to another
active pack (valid and passing its examples offline, so only the worker can refuse it) exits 1
with the worker's reason; a good pack exits 0 accepted; the same pack again says it is already
active. And `riskloop models publish --preset`: a tested setting by name reaches the worker as
its factory and params.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any

from tests.integration.conftest import (
    ROOT,
    collect,
    run_cli,
    settings_env,
    tail_consumer,
    wait_ready,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from config.settings import Settings

SHIPPED = ROOT / "rules" / "packs" / "trucks.yaml"


def publish(s: Settings, pack: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", "rules", "publish", str(pack), "--by", "it"],
        check=False,
        cwd=ROOT,
        env=settings_env(s),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_publish_waits_for_the_workers_answer(
    live_settings: Settings, worker: Callable[..., Any], tmp_path: Path
) -> None:
    s = live_settings
    wait_ready(worker(s), f"http://127.0.0.1:{s.web_port}")
    text = SHIPPED.read_text(encoding="utf-8")

    # the shipped trucks rules under another pack name: the worker refuses the shared ids
    twin = tmp_path / "twin.yaml"
    twin.write_text(re.sub(r"(?m)^name: .*$", "name: trucks-twin", text), encoding="utf-8")
    refused = publish(s, twin)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "refused it" in refused.stderr
    assert "already belong to active pack" in refused.stderr
    assert s.app_id in refused.stderr
    assert "Traceback" not in refused.stderr

    # a new version of the shipped pack: accepted; the same file again: already active
    newer = tmp_path / "trucks-next.yaml"
    newer.write_text(re.sub(r"(?m)^version: .*$", "version: 99.0.0", text), encoding="utf-8")
    accepted = publish(s, newer)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "accepted by 1 live worker" in accepted.stdout
    again = publish(s, newer)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already active on every worker" in again.stdout, again.stdout


def test_publish_with_no_worker_running_says_so(live_settings: Settings, tmp_path: Path) -> None:
    pack = tmp_path / "trucks-next.yaml"
    text = SHIPPED.read_text(encoding="utf-8")
    pack.write_text(
        re.sub(r"(?m)^version: .*$", f"version: 98.0.{uuid.uuid4().int % 100}", text),
        encoding="utf-8",
    )
    done = publish(live_settings, pack)
    assert done.returncode == 0, done.stderr
    assert "no worker is running" in done.stdout


def test_a_preset_published_by_name_reaches_the_worker_as_its_params(
    live_settings: Settings, worker: Callable[..., Any]
) -> None:
    """`riskloop models publish equipment-anomaly --preset skab`: the control record carries the
    preset's factory and params (resolved by the CLI: workers need no preset catalogue), and the
    worker runs that version."""
    from models.presets import PRESETS

    s = live_settings
    wait_ready(worker(s), f"http://127.0.0.1:{s.web_port}")
    models = tail_consumer(s.bootstrap_servers, [s.topics.models])
    version = f"skab-{uuid.uuid4().hex[:6]}"
    try:
        sent = run_cli(
            s, "models", "publish", "equipment-anomaly", "--preset", "skab", "--version", version,
            "--params", '{"q": 0.995}', "--by", "it",
        )  # fmt: skip
        assert sent.returncode == 0, sent.stdout + sent.stderr
        records = collect(models, lambda got: any(v.get("version") == version for _, v in got))
    finally:
        models.close()
    published = next(v for _, v in records if v.get("version") == version)
    assert published["factory"] == "equipment-anomaly"
    assert published["params"] == {**PRESETS["skab"].params, "q": 0.995}
    active = ""
    deadline = time.monotonic() + 60
    while version not in active and time.monotonic() < deadline:
        active = run_cli(s, "models", "active").stdout
        time.sleep(1)
    assert version in active, active

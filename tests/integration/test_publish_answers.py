"""`riskloop rules publish` tells the truth: it waits for every live worker's answer.

It used to print "published" for a pack every worker then refused, and the same again for a
republish of the active version. Against a real worker: a pack whose rule ids belong to another
active pack (valid and passing its examples offline, so only the worker can refuse it) exits 1
with the worker's reason; a good pack exits 0 accepted; the same pack again says it is already
active.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING, Any

from tests.integration.conftest import ROOT, settings_env, wait_ready

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

"""The worker's import leaves out what it never uses (streams/deferred_imports.py, issue #16).

Each check runs a fresh interpreter: the test process has imported far more than a worker does.
"""

from __future__ import annotations

import doctest
import json
import subprocess
import sys

import pytest

from streams import deferred_imports
from streams.deferred_imports import DEFERRED, _DeferredLoader, _Deferring

# What River's and CEL's package __init__s used to pull into `import streams.app` (scikit-learn
# only where installed: it is a dev dependency, so it is importable here). scipy.stats is not
# in the list: river.anomaly still loads it by name (see streams/deferred_imports.py).
LEFT_OUT = ("sklearn", "river.datasets", "river.stream", "prompt_toolkit", "pandas")


def _modules_after(code: str) -> set[str]:
    """Names in ``sys.modules`` of a fresh interpreter after ``code`` (None entries excluded)."""
    script = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m, v in sys.modules.items() if v]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


# A worker's start without a broker, as bench/memory_curve.py builds it: Faust's agent
# registration reads every module's __file__ (inspect.getmodule), which must not run them.
WORKER_START = """
import tempfile
from pathlib import Path
from config.settings import Settings
from streams.app import build_app
tmp = Path(tempfile.mkdtemp())
app = build_app(Settings(_env_file=None, data_dir=tmp / "w", sql_url=f"sqlite:///{tmp / 'db'}"))
app.finalize()
"""


def test_a_worker_start_leaves_out_what_it_never_uses() -> None:
    modules = _modules_after(WORKER_START)
    assert "river.anomaly" in modules  # the models are there: the check is not vacuous
    assert "cel" in modules
    assert "streams.pipeline" in modules
    assert sorted(m for m in LEFT_OUT if m in modules) == []
    # the deferred modules are bound, not run: none of their own imports happened
    assert "river.drift.datasets.airline_passengers" not in modules


def test_a_deferred_module_runs_in_full_when_something_reads_it() -> None:
    modules = _modules_after(
        WORKER_START + "import river.drift.datasets as d, cel.cli as c\n"
        "assert d.AirlinePassengers.__name__ == 'AirlinePassengers'\n"
        "assert c.PromptSession.__name__ == 'PromptSession'"
    )
    assert {"river.datasets", "river.stream", "prompt_toolkit"} <= modules


@pytest.mark.parametrize("name", sorted(DEFERRED))
def test_each_deferred_name_is_still_found_and_deferred(name: str) -> None:
    # a library that renames the submodule would leave the entry deferring nothing
    parent = __import__(name.rpartition(".")[0], fromlist=["_"])
    spec = _Deferring(DEFERRED).find_spec(name, getattr(parent, "__path__", None))
    assert spec is not None
    assert isinstance(spec.loader, _DeferredLoader)


def test_another_module_is_left_to_the_other_finders() -> None:
    assert _Deferring(DEFERRED).find_spec("json", None) is None


def test_install_adds_one_finder_however_often_it_is_called() -> None:
    deferred_imports.install()
    deferred_imports.install()
    assert sum(isinstance(f, _Deferring) for f in sys.meta_path) == 1


def test_the_module_example_holds() -> None:
    # the example defers json.tool: its loader stays the library's own once it has run
    assert doctest.testmod(deferred_imports).failed == 0
    assert not isinstance(sys.modules["json.tool"].__loader__, _DeferredLoader)

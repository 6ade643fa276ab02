"""The worker's import leaves out what it never uses (streams/deferred_imports.py, issue #16).

Each check runs a fresh interpreter: the test process has imported far more than a worker does.
"""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from streams import deferred_imports
from streams.deferred_imports import DEFERRED, _DeferredLoader, _Deferring

if TYPE_CHECKING:
    from pathlib import Path

# What River's, SciPy's and CEL's package __init__s used to pull into `import streams.app`
# (scikit-learn only where installed: it is a dev dependency, so it is importable here), and
# what the deferred modules would import if they ran: scipy.stats's distributions, river.tree's
# splitters and models (which read river.proba and scipy.stats), scipy.integrate's
# scipy.optimize / scipy.spatial / scipy.linalg, scipy.ndimage's filters.
LEFT_OUT = (
    "sklearn",
    "river.datasets",
    "river.stream",
    "prompt_toolkit",
    "pandas",
    "river.drift.datasets.airline_passengers",
    "scipy.stats._distn_infrastructure",
    "scipy.stats._multivariate",
    "river.proba.gaussian",
    "river.tree.splitter",
    "river.tree.stochastic_gradient_tree",
    "scipy.optimize",
    "scipy.spatial",
    "scipy.linalg",
    "scipy.ndimage._filters",
)

# Deferred modules a worker imports (by name) and leaves unrun: the check is not vacuous.
BOUND_BY_A_WORKER = {"scipy.stats", "river.proba", "river.tree", "scipy.integrate", "scipy.ndimage"}


def _modules_after(code: str) -> tuple[set[str], set[str]]:
    """Names in ``sys.modules`` of a fresh interpreter after ``code`` (None entries excluded),
    and those of them still deferred (not run)."""
    script = (
        f"{code}\nimport json, sys\nprint(json.dumps([[m, type(v).__name__ == '_DeferredModule']"
        " for m, v in sys.modules.items() if v]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    pairs = json.loads(out.splitlines()[-1])
    return {m for m, _ in pairs}, {m for m, deferred in pairs if deferred}


def _last_line(code: str) -> str:
    """The last line a fresh interpreter prints after ``code``."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()[-1]


# A worker's start without a broker, as bench/memory_curve.py builds it: Faust's agent
# registration reads every module's __file__ (inspect.getmodule), which must not run them.
WORKER_START = """
import tempfile
from pathlib import Path
from config.settings import Settings
from streams.app import build_app
import streams.runner
tmp = Path(tempfile.mkdtemp())
app = build_app(Settings(_env_file=None, data_dir=tmp / "w", sql_url=f"sqlite:///{tmp / 'db'}"))
app.finalize()
"""


def test_a_worker_start_leaves_out_what_it_never_uses() -> None:
    modules, deferred = _modules_after(WORKER_START)
    assert "river.anomaly" in modules  # the models are there: the check is not vacuous
    assert "river.linear_model" in modules
    assert "river.tree.padded" in modules  # HalfSpaceTrees' trees, without river.tree's __init__
    assert "cel" in modules
    assert "streams.pipeline" in modules
    assert sorted(m for m in LEFT_OUT if m in modules) == []
    # the deferred modules are bound, not run
    assert BOUND_BY_A_WORKER <= deferred <= DEFERRED


def test_a_deferred_module_runs_in_full_when_something_reads_it() -> None:
    modules, deferred = _modules_after(
        WORKER_START + "import sys\nimport river.drift.datasets as d, cel.cli as c\n"
        "assert d.AirlinePassengers.__name__ == 'AirlinePassengers'\n"
        "assert c.PromptSession.__name__ == 'PromptSession'\n"
        "from scipy.stats import norm\n"
        "assert norm.cdf(0.0) == 0.5\n"
        "from river import proba\n"
        "g = proba.Gaussian()\n"
        "for v in (1.0, 2.0, 6.0): g.update(v)\n"
        "assert g.mu == 3.0 and abs(g.sigma - 7.0 ** 0.5) < 1e-12\n"
        "assert proba.Gaussian is proba.gaussian.Gaussian\n"
        "from scipy import integrate, ndimage\n"
        "assert integrate.trapezoid([1.0, 3.0]) == 2.0\n"
        "assert list(ndimage.shift([1.0, 2.0, 3.0], 1, cval=0.0, order=0)) == [0.0, 1.0, 2.0]\n"
        "from river import tree\n"
        "assert tree.HoeffdingTreeClassifier.__module__ == "
        "'river.tree.hoeffding_tree_classifier'\n"
        "assert tree.padded is sys.modules['river.tree.padded']\n"
    )
    assert {"river.datasets", "river.stream", "prompt_toolkit"} <= modules
    assert {"scipy.stats._distn_infrastructure", "river.proba.gaussian"} <= modules
    assert {"river.tree.splitter", "river.tree.stochastic_gradient_tree"} <= modules
    assert {"scipy.optimize", "scipy.ndimage._filters"} <= modules
    assert deferred == set()


# An equipment-style detector built by the models' own factory (UnitState, detector "hst":
# StandardScaler + HalfSpaceTrees), taught and scored on a fixed series with a jump at the end.
HST_SCORES = """
from models.unit_anomaly import UnitState
unit = UnitState("hst", seed=7, q=0.99)
scores = []
for i in range(400):
    x = {"t": 20.0 + (i % 17) * 0.1, "v": 1.0 + (i % 5) * 0.01}
    if i == 399:
        x = {"t": 35.0, "v": 3.0}
    unit.seen += 1
    scores.append(unit.scored(x)[0])
    unit.learn(x)
print(repr(scores), type(sys.modules["river.tree"]).__name__)
"""


def test_a_half_space_trees_detector_scores_as_with_river_tree_run_in_full() -> None:
    deferred = _last_line(WORKER_START + "import sys\n" + HST_SCORES)
    # the baseline runs river.tree (and with it river.proba and scipy.stats) before the worker
    in_full = _last_line(
        "import sys, river.tree\nassert river.tree.SGTRegressor\n" + WORKER_START + HST_SCORES
    )
    scores, kind = deferred.rsplit(" ", 1)
    assert kind == "_DeferredModule"  # the detector ran without river.tree's __init__
    assert in_full == f"{scores} module"
    assert len(set(scores.split(", "))) > 20  # the scores follow the data: the trees are at work


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


def test_two_threads_reading_a_deferred_module_at_once_both_get_it_run_once(
    tmp_path: Path,
) -> None:
    """The second reader waits for the first's run: neither misses a name, the code runs once."""
    import importlib
    import threading

    runs = tmp_path / "runs.txt"
    (tmp_path / "riskloop_slow_module.py").write_text(
        f"import time\nopen({str(runs)!r}, 'a').write('x')\ntime.sleep(0.3)\nVALUE = 42\n"
    )
    finder = _Deferring(frozenset({"riskloop_slow_module"}))
    sys.path.insert(0, str(tmp_path))
    sys.meta_path.insert(0, finder)
    try:
        module = importlib.import_module("riskloop_slow_module")
        assert type(module).__name__ == "_DeferredModule"
        start = threading.Barrier(2)
        got: list[object] = []

        def read() -> None:
            start.wait()
            try:
                got.append(module.VALUE)
            except AttributeError as error:  # what a half-run module answered before the lock
                got.append(error)

        threads = [threading.Thread(target=read) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert got == [42, 42]
        assert runs.read_text() == "x"
        assert type(module) is type(sys)
    finally:
        sys.meta_path.remove(finder)
        sys.path.remove(str(tmp_path))
        sys.modules.pop("riskloop_slow_module", None)

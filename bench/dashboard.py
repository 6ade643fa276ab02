"""Render a provisioned Grafana dashboard to a PNG from a real run, without Grafana.

Grafana cannot run on this machine, so ``riskloop ops snapshot-dashboard`` does the next best
honest thing: it starts a real ``riskloop worker`` on private topics, a real Prometheus scraping
it every second, replays a realistic stream, then runs every panel's PromQL as range queries
over the run and draws the panels with matplotlib at their ``gridPos`` (timeseries as lines,
stat as big numbers with a sparkline, table as rows of labels).

Two halves: the pure one (``load_dashboard``, ``expand``, ``legend``, ``grid_extent``, ``fmt``)
reads the dashboard JSON and is unit tested on the shipped dashboards; the live one
(``run_snapshot``) needs the local Kafka and Debian's Prometheus and stops all it started.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.workers import start_worker
from config.settings import PROJECT_ROOT, DevStackSettings, Settings, TopicSettings
from infra.errors import InfraError
from infra.ports import free_port
from infra.process import stop_child

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterator, Mapping, Sequence

MAIN_DASHBOARD = PROJECT_ROOT / "config" / "grafana" / "dashboards" / "riskloop-flow.json"
GRID_COLUMNS = 24

# ---------------------------------------------------------------------------------------------
# pure: the dashboard JSON → panels and PromQL


@dataclass(frozen=True)
class Target:
    """One query of a panel: its PromQL (as written, with Grafana variables) and legend."""

    ref: str
    expr: str
    legend: str = "__auto"
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    """One panel of the dashboard JSON: where it sits, what it queries, its thresholds."""

    id: int
    kind: str  # "row", "stat", "timeseries", "table", …
    title: str
    x: int
    y: int
    w: int
    h: int
    unit: str = ""
    targets: tuple[Target, ...] = ()
    thresholds: tuple[tuple[float | None, str], ...] = ()
    graph_mode: str = "area"


@dataclass(frozen=True)
class Dashboard:
    """A Grafana dashboard reduced to what the snapshot renders: panels and variables."""

    uid: str
    title: str
    panels: tuple[Panel, ...]
    variables: Mapping[str, str] = field(default_factory=dict)
    """Template variable → the value "All" stands for (its ``allValue``, else ``.*``)."""

    @property
    def queries(self) -> list[tuple[Panel, Target]]:
        """Every panel's queries, flattened: what a snapshot fetches from Prometheus."""
        return [(p, t) for p in self.panels for t in p.targets]


def _panels(raw: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for p in raw:
        yield p
        yield from p.get("panels", [])


def _parse_dashboard(doc: Mapping[str, Any]) -> Dashboard:
    """Read the panels (collapsed rows' too) and their queries out of the dashboard JSON."""
    panels = []
    for p in _panels(doc.get("panels", [])):
        g = p["gridPos"]
        defaults = p.get("fieldConfig", {}).get("defaults", {})
        steps = defaults.get("thresholds", {}).get("steps", [])
        targets = tuple(
            Target(
                ref=str(t.get("refId", "")),
                expr=str(t["expr"]),
                legend=str(t.get("legendFormat") or "__auto"),
                instant=bool(t.get("instant")) and not t.get("range"),
            )
            for t in p.get("targets", [])
            if t.get("expr")
        )
        panels.append(
            Panel(
                id=int(p["id"]),
                kind=str(p["type"]),
                title=str(p.get("title", "")),
                x=int(g["x"]),
                y=int(g["y"]),
                w=int(g["w"]),
                h=int(g["h"]),
                unit=str(defaults.get("unit", "")),
                targets=targets,
                thresholds=tuple((s.get("value"), str(s.get("color", ""))) for s in steps),
                graph_mode=str(p.get("options", {}).get("graphMode", "area")),
            )
        )
    variables = {
        str(v["name"]): str(v.get("allValue") or ".*")
        for v in doc.get("templating", {}).get("list", [])
    }
    panels.sort(key=lambda q: (q.y, q.x))
    return Dashboard(str(doc.get("uid", "")), str(doc.get("title", "")), tuple(panels), variables)


def load_dashboard(path: Path) -> Dashboard:
    """The dashboard at ``path``; a file that is not one is an ``InfraError`` naming it."""
    try:
        return _parse_dashboard(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InfraError(f"{path}: not a Grafana dashboard JSON ({exc})") from exc


def expand(expr: str, variables: Mapping[str, str], *, rate_interval: str) -> str:
    """PromQL as Grafana would send it with every variable on "All".

    >>> expand('rate(x{s=~"$source"}[$__rate_interval])', {"source": ".*"}, rate_interval="5s")
    'rate(x{s=~".*"}[5s])'
    """
    builtins = {"__rate_interval": rate_interval, "__interval": rate_interval}
    values = {**builtins, **variables}

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return values.get(name, m.group(0))

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", sub, expr)


def legend(fmt: str, labels: Mapping[str, str], expr: str = "") -> str:
    """A series' name: ``{{label}}`` filled in; ``__auto`` → its labels, else the expression.

    >>> legend("p95 {{stage}}", {"stage": "ingest"})
    'p95 ingest'
    """
    if fmt and fmt != "__auto":
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    if shown:
        return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))
    return expr


def grid_extent(panels: Sequence[Panel]) -> tuple[int, int]:
    """(rows, columns) of grid units the panels cover."""
    return max((p.y + p.h for p in panels), default=0), GRID_COLUMNS


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+")


def plain(text: str) -> str:
    """Drop CJK runs (for when no CJK font is installed) and tidy what is left.

    >>> plain("RiskLoop · 数据流与健康 Data flow & health")
    'RiskLoop · Data flow & health'
    """
    out = re.sub(r"\s{2,}", " ", _CJK.sub("", text)).strip()
    out = re.sub(r"(\s*·\s*){2,}", " · ", out)
    return out.strip(" ·") or text


def fmt(value: float | None, unit: str) -> str:
    """A number the way a Grafana stat shows it, for the units our dashboards use.

    >>> fmt(0.0123, "percentunit"), fmt(0.004, "s"), fmt(12.5, "reqps")
    ('1.23%', '4.00 ms', '12.5 req/s')
    """
    if value is None or math.isnan(value):
        return "No data"
    if unit == "percentunit":
        return f"{value * 100:.2f}%"
    if unit == "s":
        return f"{value * 1000:.2f} ms" if abs(value) < 1 else f"{value:.2f} s"
    suffix = {"reqps": " req/s", "ops": " ops/s"}.get(unit, "")
    if float(value).is_integer():
        return f"{int(value)}{suffix}"
    return f"{value:.3g}{suffix}" if abs(value) < 100 else f"{value:.0f}{suffix}"


def threshold_colour(panel: Panel, value: float | None) -> str:
    """The Grafana colour name of the highest threshold step ``value`` reaches."""
    colour = "green"
    for limit, name in panel.thresholds:
        if limit is None or (value is not None and value >= limit):
            colour = name
    return colour


# ---------------------------------------------------------------------------------------------
# data: range queries against a real Prometheus


@dataclass
class Series:
    """One time series of a range query: its legend and its points."""

    name: str
    times: list[float]
    values: list[float]


@dataclass
class PanelData:
    """What Prometheus returned for one panel; ``error`` says why it is empty, if it failed."""

    series: list[Series] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)  # instant (table) results
    error: str = ""


def fetch(
    dev: DevStackSettings,
    dash: Dashboard,
    start: float,
    end: float,
    *,
    step: float = 1.0,
    rate_interval: str = "10s",
) -> dict[int, PanelData]:
    """Every panel's targets, evaluated by Prometheus over [start, end]."""
    from infra import prometheus

    out: dict[int, PanelData] = {}
    for panel in dash.panels:
        data = PanelData()
        for t in panel.targets:
            expr = expand(t.expr, dash.variables, rate_interval=rate_interval)
            try:
                if t.instant or panel.kind == "table":
                    for row in prometheus.api(dev, "query", query=expr, time=str(end))["result"]:
                        data.rows.append({k: str(v) for k, v in row["metric"].items()})
                    continue
                res = prometheus.api(
                    dev, "query_range", query=expr, start=str(start), end=str(end), step=str(step)
                )["result"]
            except InfraError as exc:
                data.error = str(exc)
                continue
            for s in res:
                pts = [(float(ts), float(v)) for ts, v in s["values"]]
                data.series.append(
                    Series(
                        legend(t.legend, s["metric"], expr),
                        [p[0] for p in pts],
                        [p[1] for p in pts],
                    )
                )
        out[panel.id] = data
    return out


# ---------------------------------------------------------------------------------------------
# drawing

_GRAFANA_COLOURS = {
    "green": "#56a64b",
    "red": "#e02f44",
    "orange": "#ff9830",
    "yellow": "#fade2a",
    "blue": "#3274d9",
    "purple": "#a352cc",
    "text": "#d8d9da",
}
_BG, _PANEL_BG, _FG, _DIM = "#111217", "#181b1f", "#d8d9da", "#8e8e8e"
_PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#705da0"]


def _has_cjk_font() -> bool:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    wanted = [n for n in names if any(k in n for k in ("CJK", "WenQuanYi", "Hei", "Ming", "Song"))]
    if wanted:
        import matplotlib

        matplotlib.rcParams["font.sans-serif"] = [*sorted(wanted), "DejaVu Sans"]
        return True
    return False


def render(
    dash: Dashboard,
    data: Mapping[int, PanelData],
    out: Path,
    *,
    start: float,
    end: float,
    footer: str,
    unit_height: float = 0.42,
    width: float = 16.0,
    dpi: int = 80,
) -> Path:
    """Draw the dashboard grid to ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    text = (lambda s: s) if _has_cjk_font() else plain
    rows, cols = grid_extent(dash.panels)
    fig = plt.figure(figsize=(width, rows * unit_height + 1.2), dpi=dpi, facecolor=_BG)
    top = 1 - 0.8 / (rows * unit_height + 1.2)
    bottom = 0.4 / (rows * unit_height + 1.2)
    gs = GridSpec(
        rows,
        cols,
        figure=fig,
        left=0.04,
        right=0.99,
        top=top,
        bottom=bottom,
        hspace=2.6,
        wspace=1.4,
    )
    fig.suptitle(text(dash.title), color=_FG, fontsize=16, x=0.01, ha="left", y=0.997)
    period = (
        f"{datetime.fromtimestamp(start, UTC):%Y-%m-%d %H:%M:%S} → "
        f"{datetime.fromtimestamp(end, UTC):%H:%M:%S} UTC · source = All"
    )
    fig.text(0.99, 0.997, period, color=_DIM, fontsize=9, ha="right", va="top")
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    for panel in dash.panels:
        ax = fig.add_subplot(gs[panel.y : panel.y + panel.h, panel.x : panel.x + panel.w])
        pd = data.get(panel.id, PanelData())
        if panel.kind == "row":
            ax.axis("off")
            ax.text(
                -0.03,
                1.6,
                text(panel.title),
                color=_FG,
                fontsize=12,
                weight="bold",
                transform=ax.transAxes,
                va="center",
            )
            continue
        ax.set_facecolor(_PANEL_BG)
        for spine in ax.spines.values():
            spine.set_color("#2c3235")
        ax.set_title(text(panel.title), color=_FG, fontsize=10, loc="left")
        if pd.error:
            _message(ax, pd.error[:80], "#e02f44")
        elif panel.kind == "stat":
            _stat(ax, panel, pd)
        elif panel.kind == "table":
            _table(ax, pd)
        else:
            _timeseries(ax, panel, pd, start, end, locator, mdates)
    fig.text(0.5, 0.004, footer, color=_DIM, fontsize=9, ha="center", va="bottom", style="italic")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, facecolor=_BG, dpi=dpi, pil_kwargs={"optimize": True})
    plt.close(fig)
    return out


def _message(ax: Any, msg: str, colour: str = _DIM) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, msg, color=colour, ha="center", va="center", transform=ax.transAxes)


def _stat(ax: Any, panel: Panel, pd: PanelData) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    series = [s for s in pd.series if s.values]
    if not series:
        _message(ax, "No data", _DIM)
        return
    s = series[0]
    finite = [(t, v) for t, v in zip(s.times, s.values, strict=True) if not math.isnan(v)]
    last = finite[-1][1] if finite else None
    colour = _GRAFANA_COLOURS.get(threshold_colour(panel, last), _FG)
    if panel.graph_mode != "none" and len(finite) > 1:
        ts, vs = zip(*finite, strict=True)
        ax.fill_between(ts, vs, min(vs), color=colour, alpha=0.18, lw=0)
        ax.plot(ts, vs, color=colour, lw=1, alpha=0.6)
        lo, hi = min(vs), max(vs)
        ax.set_ylim(lo, hi + (hi - lo or 1) * 1.2)
        ax.set_xlim(ts[0], ts[-1])
    ax.text(
        0.5,
        0.5,
        fmt(last, panel.unit),
        color=colour,
        fontsize=22,
        weight="bold",
        ha="center",
        va="center",
        transform=ax.transAxes,
    )


def _table(ax: Any, pd: PanelData) -> None:
    ax.axis("off")
    if not pd.rows:
        _message(ax, "No data")
        return
    hidden = {"__name__", "Time", "Value"}
    cols = sorted({k for r in pd.rows for k in r} - hidden)
    cells = [[r.get(c, "") for c in cols] for r in pd.rows[:12]]
    table = ax.table(cellText=cells, colLabels=cols, loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    for cell in table.get_celld().values():
        cell.set_facecolor(_PANEL_BG)
        cell.set_edgecolor("#2c3235")
        cell.get_text().set_color(_FG)


def _timeseries(
    ax: Any, panel: Panel, pd: PanelData, start: float, end: float, locator: Any, mdates: Any
) -> None:
    ax.tick_params(colors=_DIM, labelsize=7)
    ax.grid(color="#2c3235", lw=0.5)
    if not pd.series:
        ax.set_yticks([])
        ax.set_xticks([])
        _message(ax, "No data")
        return
    for i, s in enumerate(sorted(pd.series, key=lambda s: s.name)[:10]):
        times = [datetime.fromtimestamp(t, UTC) for t in s.times]
        ax.plot(times, s.values, lw=1.3, color=_PALETTE[i % len(_PALETTE)], label=s.name)
    ax.set_xlim(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    ax.yaxis.set_major_formatter(lambda v, _pos: fmt(v, panel.unit))
    ax.set_ylim(bottom=0)
    leg = ax.legend(loc="upper left", fontsize=7, frameon=False, ncol=2, labelcolor=_FG)
    leg.set_in_layout(False)


# ---------------------------------------------------------------------------------------------
# live: a real worker, a real Prometheus, a realistic stream


def _metrics_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as rsp:
            return bool(rsp.status == 200 and b"riskloop_" in rsp.read())
    except (OSError, urllib.error.URLError):
        return False


def _tail(path: Path, lines: int = 12) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def _worker(s: Settings, log: Path, timeout: float = 90) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_worker(s, log)
    try:
        deadline = time.monotonic() + timeout
        while not _metrics_up(s.web_port):
            if proc.poll() is not None:
                raise InfraError(f"the worker exited with {proc.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise InfraError(f"the worker served no /metrics in {timeout:.0f} s:\n{_tail(log)}")
            time.sleep(0.5)
        yield proc
    finally:
        stop_child(proc)


def realistic_stream(
    count: int, *, seed: int, bad_share: float, start: datetime, step_seconds: float
) -> list[tuple[str, bytes, bytes]]:
    """(source, key, value) records: the bench generator's events, timestamped from ``start``
    every ``step_seconds`` (so latency to warning is processing latency, not replay age), plus
    a small share of the garbage real feeds carry (cut-off JSON, a record without its fields)."""
    from schemas.sample_stream import generate

    rng = random.Random(seed)
    out: list[tuple[str, bytes, bytes]] = []
    # a fleet large enough that one truck's fixes are ~0.4 x the run apart: compressed time
    # must not turn ordinary driving into impossible jumps
    trucks = max(6, count // 10)
    for e in generate(count, seed=seed, start=start, step_seconds=step_seconds, n_trucks=trucks):
        value = json.dumps(e.event, ensure_ascii=False).encode()
        if rng.random() < bad_share:
            if rng.random() < 0.5:
                value = value[: len(value) // 2]  # cut off mid-record
            else:
                value = json.dumps({"event_id": e.event.get("event_id", "")}).encode()
        out.append((e.source, e.key.encode(), value))
    return out


def _replay(
    s: Settings,
    records: list[tuple[str, bytes, bytes]],
    seconds: float,
    say: Callable[[str], None],
) -> None:
    """Produce ``records`` at a steady rate over ``seconds`` (as their timestamps say)."""
    from streams.producer import make_producer

    topics = s.topics.sources()
    producer = make_producer(s)
    slots = 20
    per_slot = [len(records) // slots] * slots
    per_slot[-1] = len(records) - sum(per_slot[:-1])
    t0 = time.monotonic()
    i = 0
    for n, chunk in enumerate(per_slot):
        slot_end = t0 + (n + 1) * seconds / slots
        for k in range(chunk):
            source, key, value = records[i]
            i += 1
            producer.produce(topics[source], key=key, value=value)
            producer.poll(0)
            pause = (slot_end - time.monotonic()) / max(1, chunk - k)
            if pause > 0:
                time.sleep(pause)
        if n % 5 == 4:
            say(f"replayed {i}/{len(records)} records")
    if producer.flush(30) != 0:
        raise InfraError("the producer could not deliver every record within 30 s")


def _delete_topics(s: Settings, run: str) -> None:
    from streams.admin import admin_client

    admin = admin_client(s)
    mine = [t for t in admin.list_topics(timeout=10).topics if run in t]
    if mine:
        for future in admin.delete_topics(mine, operation_timeout=30).values():
            with contextlib.suppress(Exception):
                future.result()


@dataclass(frozen=True)
class SnapshotResult:
    """Where the snapshot went, the run it shows, and which panels had no data."""

    out: Path
    events: int
    start: float
    end: float
    panels: int
    empty: list[str]


def run_snapshot(
    base: Settings,
    *,
    dashboard: Path = MAIN_DASHBOARD,
    out: Path = PROJECT_ROOT / "docs" / "dashboard.png",
    events: int = 3000,
    seconds: float = 60.0,
    seed: int = 7,
    bad_share: float = 0.03,
    say: Callable[[str], None] = lambda _m: None,
) -> SnapshotResult:
    """Run a worker + Prometheus on private topics, replay, query every panel, draw the PNG."""
    from infra import kafka, prometheus
    from streams.admin import create_topics

    dash = load_dashboard(dashboard)
    if not kafka.probe(base.bootstrap_servers, timeout=5):
        raise InfraError(f"no Kafka broker at {base.bootstrap_servers}: run `riskloop dev up`")
    run = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix=f"riskloop-snapshot-{run}-"))
    s = base.model_copy(
        update={
            "app_id": f"riskloop-snapshot-{run}",
            "data_dir": tmp / "worker",
            "sql_url": f"sqlite:///{tmp / 'riskloop.db'}",
            "web_port": free_port(),
            "log_format": "json",
            "topics": TopicSettings.for_run(run),
        }
    )
    dev = DevStackSettings(state_dir=tmp / "state", prometheus_port=free_port(), start_timeout=60)
    ok = False
    try:
        create_topics(s)
        say(f"topics created with suffix -{run}; starting the worker on :{s.web_port}")
        with _worker(s, tmp / "worker.log") as proc:
            say(prometheus.start(dev, [f"127.0.0.1:{s.web_port}"], scrape_interval="1s"))
            time.sleep(5)  # a few idle scrapes before the traffic starts
            start = time.time() - 4
            records = realistic_stream(
                events,
                seed=seed,
                bad_share=bad_share,
                step_seconds=seconds / events,
                start=datetime.now(UTC).replace(microsecond=0),
            )
            say(f"replaying {len(records)} records over {seconds:.0f} s")
            _replay(s, records, seconds, say)
            time.sleep(12)  # let the worker catch up and the rates fall back
            end = time.time()
            if proc.poll() is not None:
                raise InfraError(f"the worker died during the run:\n{_tail(tmp / 'worker.log')}")
            data = fetch(dev, dash, start, end)
        ok = True
    finally:
        say(prometheus.stop(dev))
        with contextlib.suppress(Exception):
            _delete_topics(s, run)
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say(f"logs kept in {tmp}")
    footer = (
        f"rendered from Prometheus data of a real run on {datetime.now(UTC):%Y-%m-%d} "
        f"({events} events in {seconds:.0f} s, {bad_share:.0%} malformed, 1 worker, "
        "1 s scrapes), not by Grafana"
    )
    render(dash, data, out, start=start, end=end, footer=footer)
    empty = [
        p.title
        for p in dash.panels
        if p.kind != "row" and not (data[p.id].series or data[p.id].rows)
    ]
    n = sum(1 for p in dash.panels if p.kind != "row")
    return SnapshotResult(out, events, start, end, n, empty)

"""Just enough PromQL to find the metric names and label names an expression uses.

Dashboards and alert rules are strings that nothing type-checks: a renamed metric or label makes
a panel silently empty or an alert silently never fire. This tokenizer pulls out every series
selector (``metric{label="v"}``), every ``by``/``without``/``on``/``ignoring``/``group_*`` label
list and every function called, so a test can hold them against streams.metrics. It is not a
parser: strings and ``[range]`` brackets are skipped whole, which is all the checks need.

>>> p = parse('sum by (source) (rate(riskloop_events_in_total{source=~"$source"}[5m])) > 0')
>>> p.selectors, p.grouping, p.functions
([Selector(metric='riskloop_events_in_total', labels=('source',))], ['source'], ['sum', 'rate'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from prometheus_client.metrics import MetricWrapperBase

from streams.metrics import Metrics

AGGREGATIONS = frozenset(
    [
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    ]
)
FUNCTIONS = frozenset(
    [
        "abs",
        "absent",
        "absent_over_time",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "delta",
        "deriv",
        "exp",
        "floor",
        "histogram_count",
        "histogram_fraction",
        "histogram_quantile",
        "histogram_sum",
        "histogram_stddev",
        "histogram_stdvar",
        "holt_winters",
        "idelta",
        "increase",
        "irate",
        "label_join",
        "label_replace",
        "ln",
        "log2",
        "log10",
        "minute",
        "hour",
        "month",
        "predict_linear",
        "rate",
        "resets",
        "round",
        "scalar",
        "sgn",
        "sort",
        "sort_desc",
        "sort_by_label",
        "sort_by_label_desc",
        "sqrt",
        "time",
        "timestamp",
        "vector",
        "year",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "quantile_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "last_over_time",
        "present_over_time",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atanh",
        "cos",
        "cosh",
        "sin",
        "sinh",
        "tan",
        "tanh",
        "deg",
        "pi",
        "rad",
        "start",
        "end",
    ]
)
GROUPING = frozenset(["by", "without", "on", "ignoring", "group_left", "group_right"])
KEYWORDS = GROUPING | frozenset(["and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"])
TARGET_LABELS = frozenset({"job", "instance"})
"""Labels Prometheus adds to every scraped series."""
BUILTIN = {"up": ()}
"""Series Prometheus makes itself, with their own labels (beyond TARGET_LABELS)."""

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<var>\$\{[^}]*\}|\$\w+)
  | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}@])
    """,
    re.VERBOSE,
)
_MATCH_OPS = frozenset({"=", "!=", "=~", "!~"})


class PromQLSyntaxError(ValueError):
    """The tokenizer met a character PromQL does not have."""


@dataclass(frozen=True)
class Selector:
    metric: str
    labels: tuple[str, ...]


@dataclass
class Parsed:
    selectors: list[Selector] = field(default_factory=list)
    grouping: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)


def tokenize(expr: str) -> list[tuple[str, str]]:
    """(kind, text) pairs without whitespace and comments."""
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise PromQLSyntaxError(f"unexpected {expr[pos : pos + 10]!r} in {expr!r}")
        if m.lastgroup != "ws":
            out.append((m.lastgroup or "", m.group()))
        pos = m.end()
    return out


def parse(expr: str) -> Parsed:
    """Selectors, grouping labels and function names of ``expr``."""
    toks = tokenize(expr)
    found = Parsed()
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind != "ident" and text != "{":
            i += 1
        elif kind == "ident" and text.lower() in GROUPING and nxt == "(":
            end = _closing(toks, i + 1, "(", ")")
            found.grouping += [t for k, t in toks[i + 2 : end] if k == "ident"]
            i = end + 1
        elif kind == "ident" and (nxt == "(" or (text in AGGREGATIONS and nxt in GROUPING)):
            found.functions.append(text)
            i += 1
        elif kind == "ident" and text.lower() in KEYWORDS:
            i += 1
        else:  # a selector: `metric`, `metric{...}` or a bare `{...}`
            metric = text if kind == "ident" else ""
            start = i + 1 if kind == "ident" else i
            labels: tuple[str, ...] = ()
            if start < len(toks) and toks[start][1] == "{":
                end = _closing(toks, start, "{", "}")
                body = toks[start + 1 : end]
                labels = tuple(
                    t
                    for j, (k, t) in enumerate(body[:-1])
                    if k == "ident" and body[j + 1][1] in _MATCH_OPS
                )
                i = end + 1
            else:
                i = start
            found.selectors.append(Selector(metric, labels))
    return found


def _closing(toks: list[tuple[str, str]], at: int, open_: str, close: str) -> int:
    depth = 0
    for j in range(at, len(toks)):
        depth += {open_: 1, close: -1}.get(toks[j][1], 0)
        if depth == 0:
            return j
    raise PromQLSyntaxError(f"unbalanced {open_!r} in {' '.join(t for _, t in toks)!r}")


@dataclass(frozen=True)
class Exposed:
    """A series name as Prometheus stores it, with the labels it can carry."""

    labels: frozenset[str]
    open_labels: bool = False  # Info: the labels of the info dict are chosen at runtime


def exported(metrics: Metrics | None = None) -> dict[str, Exposed]:
    """Every series name the worker's registry exposes, suffixes included, plus ``up``."""
    out = {name: Exposed(frozenset(labels)) for name, labels in BUILTIN.items()}
    for collector in vars(metrics or Metrics()).values():
        if not isinstance(collector, MetricWrapperBase):
            continue
        name, labels, kind = collector._name, frozenset(collector._labelnames), collector._type
        if kind == "counter":
            out[f"{name}_total"] = Exposed(labels)
        elif kind in {"histogram", "summary"}:
            out[f"{name}_sum"] = out[f"{name}_count"] = Exposed(labels)
            if kind == "histogram":
                out[f"{name}_bucket"] = Exposed(labels | {"le"})
            else:
                out[name] = Exposed(labels | {"quantile"})
        elif kind == "info":
            out[f"{name}_info"] = Exposed(labels, open_labels=True)
        else:
            out[name] = Exposed(labels)
    return out


def problems(expr: str, known: dict[str, Exposed]) -> list[str]:
    """What in ``expr`` does not match the exported metrics (empty when all is well)."""
    parsed = parse(expr)
    errors = [
        f"unknown function {f}()"
        for f in parsed.functions
        if f not in FUNCTIONS and f not in AGGREGATIONS
    ]
    available = set(TARGET_LABELS)
    for sel in parsed.selectors:
        if sel.metric not in known:
            errors.append(f"metric {sel.metric or '{...}'} is not exported by streams.metrics")
            continue
        exposed = known[sel.metric]
        available |= exposed.labels
        allowed = exposed.labels | TARGET_LABELS | {"__name__"}
        errors += [
            f"{sel.metric} has no label {label!r}"
            for label in sel.labels
            if label not in allowed and not exposed.open_labels
        ]
    if not any(known.get(s.metric, Exposed(frozenset())).open_labels for s in parsed.selectors):
        errors += [
            f"grouping label {label!r} is on none of {[s.metric for s in parsed.selectors]}"
            for label in parsed.grouping
            if label not in available
        ]
    return errors

"""The /proc readers: parsing, and reading this very process."""

from __future__ import annotations

import os

import pytest

from bench.procstat import (
    cpu_seconds,
    machine_info,
    parse_cpu_model,
    parse_stat_cpu,
    parse_status_kib,
    peak_rss_bytes,
)
from bench.stats import BenchError


def test_parse_status_reads_kib_fields() -> None:
    text = "Name:\tpython\nVmPeak:\t 9000 kB\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n"
    assert parse_status_kib(text, "VmHWM") == 2048
    with pytest.raises(BenchError):
        parse_status_kib(text, "VmSwap")


def test_parse_stat_survives_spaces_and_parens_in_the_name() -> None:
    fields = ["S"] + ["0"] * 10 + ["300", "100"] + ["0"] * 30
    assert parse_stat_cpu("7 (weird ) name) " + " ".join(fields), 100) == 4.0


def test_parse_cpu_model() -> None:
    assert parse_cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    assert parse_cpu_model("processor\t: 0\n") == "unknown"


def test_readers_on_this_process() -> None:
    assert peak_rss_bytes(os.getpid()) > 1024 * 1024
    assert cpu_seconds(os.getpid()) > 0
    info = machine_info()
    assert int(str(info["cores"])) >= 1
    assert float(str(info["ram_gib"])) > 0
    load = info["load_average"]
    assert isinstance(load, list)
    assert len(load) == 3
    assert all(x >= 0 for x in load)
    assert str(info["date_utc"]).endswith(" UTC")


def test_a_missing_process_is_one_clear_error() -> None:
    with pytest.raises(BenchError, match="cannot read"):
        peak_rss_bytes(2**31 - 1)

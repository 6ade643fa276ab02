"""``riskloop status``'s and the 模型与规则 page's rows from the workers' status records, oldest first: the version that
runs survives a later refusal (the same key on control.status), a removal ends it, a model the
drift monitor demoted says so, silences and malformed records are left out."""

from __future__ import annotations

from typing import Any

from streams.control_status import ALL_KINDS, summarise


def record(kind: str, name: str, status: str, version: str = "", **kw: Any) -> dict[str, Any]:
    return {
        "worker": kw.get("worker", "w1"),
        "kind": kind,
        "name": name,
        "version": version,
        "status": status,
        "reason": kw.get("reason", ""),
        "at": kw.get("at", "2026-12-07T23:00:00+00:00"),
    }


def test_a_refusal_after_an_acceptance_keeps_the_running_version() -> None:
    rows = summarise(
        [
            record("rulepack", "food", "active", "1.0.0"),
            record("rulepack", "food", "accepted", "1.1.0", at="2026-12-07T23:01:00+00:00"),
            record(
                "rulepack",
                "food",
                "refused",
                reason="bad CEL: line 3",
                at="2026-12-07T23:02:00+00:00",
            ),
        ]
    )
    assert [(r.version, r.since, r.event, r.event_reason) for r in rows] == [
        ("1.1.0", "2026-12-07T23:01:00+00:00", "refused", "bad CEL: line 3")
    ]


def test_an_acceptance_after_a_refusal_clears_it() -> None:
    rows = summarise(
        [
            record("model", "equipment-anomaly", "refused", reason="unknown factory"),
            record(
                "model",
                "equipment-anomaly",
                "accepted",
                "v2",
                reason="shadow: scores beside the live model",
            ),
        ]
    )
    assert [(r.version, r.note, r.event) for r in rows] == [
        ("v2", "shadow: scores beside the live model", "")
    ]


def test_only_a_refusal_seen_shows_no_version() -> None:
    (row,) = summarise([record("rulepack", "intruder", "refused", reason="signature unsigned")])
    assert (row.version, row.event) == ("", "refused")


def test_a_removal_ends_what_ran_and_drift_marks_it() -> None:
    rows = summarise(
        [
            record("fenceset", "sites", "accepted", "3"),
            record("fenceset", "sites", "removed"),
            record("model", "trucks", "accepted", "v1"),
            record("model", "trucks", "demoted", "v1", reason="score drift: psi 0.41"),
        ]
    )
    got = {(r.kind, r.name): (r.version, r.event, r.event_reason) for r in rows}
    assert got == {
        ("fenceset", "sites"): ("", "removed", ""),
        ("model", "trucks"): ("v1", "demoted", "score drift: psi 0.41"),
    }


def test_a_republish_of_the_same_content_changes_nothing() -> None:
    (row,) = summarise(
        [record("rulepack", "food", "active", "1.0.0"), record("rulepack", "food", "unchanged")]
    )
    assert (row.version, row.event) == ("1.0.0", "")


def test_workers_are_rows_of_their_own_in_kind_order_and_silences_are_left_out() -> None:
    rows = summarise(
        [
            record("calendar", "2026", "active", "abc"),
            record("silence", "s-1", "accepted", "2026-12-08T00:00:00+00:00"),
            record("model", "m", "accepted", "v1", worker="w2"),
            record("model", "m", "accepted", "v1", worker="w1"),
            record("rulepack", "food", "active", "1.0.0"),
            {"kind": "model", "status": "accepted"},  # no name, no worker: skipped
        ]
    )
    assert [(r.kind, r.name, r.worker) for r in rows] == [
        ("rulepack", "food", "w1"),
        ("model", "m", "w1"),
        ("model", "m", "w2"),
        ("calendar", "2026", "w1"),
    ]


def test_the_cli_also_lists_silences_and_their_end() -> None:
    rows = summarise(
        [
            record("silence", "s-1", "accepted", "2026-12-08T00:00:00+00:00"),
            record("silence", "s-1", "expired", "2026-12-08T00:00:00+00:00", reason="by 李明"),
            record("rulepack", "food", "active", "1.0.0"),
        ],
        ALL_KINDS,
    )
    assert [(r.kind, r.version, r.event, r.event_reason) for r in rows] == [
        ("rulepack", "1.0.0", "", ""),
        ("silence", "", "expired", "by 李明"),
    ]

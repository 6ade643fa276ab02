"""``rules publish`` reports what the live workers answered (pure: answers in, lines and exit out)."""

from __future__ import annotations

import doctest

import pytest

from loop import verdicts
from streams.cli import hotload
from streams.cli.hotload import report_answers
from streams.hotload_answers import Answers


def _answer(worker: str, status: str, reason: str = "") -> dict[str, str]:
    return {
        "worker": worker,
        "kind": "rulepack",
        "name": "p",
        "version": "1.0.0",
        "status": status,
        "reason": reason,
    }


def test_doctests() -> None:
    assert doctest.testmod(hotload).failed == 0
    assert doctest.testmod(verdicts).failed == 0


def test_a_refusal_exits_1_with_the_workers_reason(capsys: pytest.CaptureFixture[str]) -> None:
    answers = Answers(
        2,
        {
            "w1": _answer("w1", "accepted"),
            "w2": _answer("w2", "refused", "rule id(s) x already belong"),
        },
    )
    with pytest.raises(SystemExit) as exit_:
        report_answers("p 1.0.0", answers)
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "1 of 2 live worker(s) refused it: rule id(s) x already belong (worker w2)" in err


def test_a_worker_that_does_not_answer_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        report_answers("p 1.0.0", Answers(2, {"w1": _answer("w1", "accepted")}))
    assert exit_.value.code == 3
    assert "1 of 2 live worker(s) answered" in capsys.readouterr().err


def test_a_republish_says_nothing_changed(capsys: pytest.CaptureFixture[str]) -> None:
    report_answers("p 1.0.0", Answers(1, {"w1": _answer("w1", "unchanged", "already active")}))
    assert "already active on every worker: nothing changed" in capsys.readouterr().out


def test_no_worker_running_is_said_not_hidden(capsys: pytest.CaptureFixture[str]) -> None:
    report_answers("p 1.0.0", Answers(0))
    assert "no worker is running" in capsys.readouterr().out

"""The one registry of hot-loaded versions (``schemas.hotload``): what every kind relies on."""

from __future__ import annotations

import doctest
import importlib
import pickle

import pytest

from schemas.hotload import Registry


def _versions(keep: int = 2) -> Registry[str]:
    return Registry(version=lambda item: item.split("@")[1], keep=keep)


def test_activate_keeps_the_replaced_item_for_a_rollback_up_to_keep() -> None:
    reg = _versions(keep=2)
    for version in ("p@1", "p@2", "p@3", "p@4"):
        reg.activate("p", version)
    assert reg["p"] == "p@4"
    assert reg.history("p") == ["p@2", "p@3"]  # p@1 fell off: keep=2
    assert reg.rollback("p") == "p@3"
    assert reg.rollback("p") == "p@2"
    assert reg.rollback("p") is None  # nothing left: nothing changes
    assert reg["p"] == "p@2"


def test_rollback_to_a_restamped_item_replaces_the_previous_one() -> None:
    reg = _versions()
    reg.activate("m", "m@1")
    reg.activate("m", "m@2")
    assert reg.rollback("m", to="m@1 again") == "m@1 again"
    assert reg["m"] == "m@1 again"
    assert reg.previous("m") is None


def test_a_snapshot_taken_before_a_swap_does_not_change() -> None:
    reg = _versions()
    reg.activate("a", "a@1")
    snapshot = reg.active
    reg.activate("a", "a@2")
    reg.activate("b", "b@1")
    assert dict(snapshot) == {"a": "a@1"}
    assert reg.status() == {"a": "2", "b": "1"}


def test_keep_zero_keeps_no_history_and_rolls_nothing_back() -> None:
    reg = _versions(keep=0)
    reg.activate("f", "f@1")
    assert reg.activate("f", "f@2") == "f@1"
    assert reg.history("f") == []
    assert reg.rollback("f") is None
    assert reg["f"] == "f@2"


def test_remove_keeps_history_and_a_name_activated_again_goes_last() -> None:
    reg = _versions()
    reg.activate("a", "a@1")
    reg.activate("b", "b@1")
    reg.activate("a", "a@2")
    assert list(reg) == ["a", "b"]  # a swap keeps the name's place (rule engine order)
    assert reg.remove("a") == "a@2"
    assert reg.remove("a") is None
    assert "a" not in reg
    assert reg.history("a") == ["a@1"]
    reg.activate("a", "a@3")
    assert list(reg) == ["b", "a"]


def _version_of(item: str) -> str:
    return item.upper()


def test_a_registry_survives_pickling() -> None:
    """Workers copy their model set per partition by pickling it (streams/model_state.py)."""
    reg: Registry[str] = Registry(version=_version_of, keep=1)
    reg.activate("x", "one")
    reg.activate("x", "two")
    copy = pickle.loads(pickle.dumps(reg))
    assert copy.status() == {"x": "TWO"}
    assert copy.history("x") == ["one"]
    copy.activate("y", "three")
    assert "y" not in reg  # the copy is its own


@pytest.mark.parametrize("name", ["schemas.hotload", "rules.pack_registry", "models.publication"])
def test_the_registries_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0

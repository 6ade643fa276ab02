"""Records holding the same values where the rules read them share one CEL context
(``EventContext.cel``); values CEL tells apart never do."""

from __future__ import annotations

from rules.engine import EventContext, _key


def _cel(made: dict, **event: object) -> object:
    return EventContext("s", dict(event), (), {k: None for k in event}, made).cel


def test_equal_values_share_a_context_and_different_ones_do_not() -> None:
    made: dict = {}
    first = _cel(made, kind="a", n=1, m={"x": 1.5})
    assert _cel(made, kind="a", n=1, m={"x": 1.5}) is first
    for other in ({"n": 1.0}, {"n": True}, {"kind": "b"}, {"m": {"x": -1.5}}, {"m": {}}):
        values = {"kind": "a", "n": 1, "m": {"x": 1.5}, **other}
        assert _cel(made, **values) is not first, other


def test_keys_tell_apart_what_cel_tells_apart() -> None:
    assert _key({"x": 0.0}) != _key({"x": -0.0})
    assert len({_key({"x": 1}), _key({"x": 1.0}), _key({"x": True})}) == 3
    assert _key({"x": [1]}) is None, "a list is not kept"
    assert _key({"x": "y" * 65}) is None, "a long text is rarely seen twice"


def test_a_context_for_the_whole_event_is_not_kept() -> None:
    made: dict = {}
    EventContext("s", {"kind": "a"}, (), None, made).cel  # noqa: B018
    assert made == {}

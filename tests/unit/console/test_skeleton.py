"""The console's pure parts: login redirects, CSRF comparison, autoescaping, the nav, doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

from console import auth, backend, render
from console.pages import NAV, PAGES
from console.render import environment


@pytest.mark.parametrize("module", [auth, backend, render])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example", "/\\evil", "", "/a\r\nSet-Cookie: x"]
)
def test_login_never_redirects_off_site(target: str) -> None:
    assert auth.safe_next(target) == "/"


def test_csrf_needs_both_halves_equal() -> None:
    assert auth.csrf_matches("t0k", "t0k")
    assert not auth.csrf_matches("t0k", None)
    assert not auth.csrf_matches("", "")
    assert not auth.csrf_matches("t0k", "T0K")


def test_every_template_escapes_what_a_person_typed() -> None:
    env = environment()
    hostile = "<script>alert(1)</script>' OR 1=1 --"
    text = env.get_template("problem.html").render(
        person=None, csrf="c", nav=[], path="/", error=None, notice=None, title="t", reason=hostile
    )
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#39; OR 1=1 --" in text


def test_each_page_module_has_routes_and_nav_paths_are_served() -> None:
    served = {r.path for page in PAGES for r in page.routes()}  # type: ignore[attr-defined]
    assert {item.path for item in NAV} <= served
    for page in PAGES:
        assert importlib.import_module(page.__name__).routes()


def test_backend_segments_cannot_change_the_path() -> None:
    assert "/" not in backend.segment("../../api/silences")

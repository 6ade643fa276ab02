"""The console's pages: one module each, exposing ``routes()``; and the navigation.

Adding a page is adding its module to ``PAGES`` and, if it belongs in the menu, one line to
``NAV`` (title, path, the permission a person needs to see the entry: the page itself checks
again with ``console.auth.require``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from console.keys import GATE
from console.pages import control, enterprise, home, map, reports, situation, warnings, workbench
from loop.jurisdiction import Forbidden, Permission, require

if TYPE_CHECKING:
    from aiohttp import web

    from loop.identity import Principal

PAGES = (
    home,
    situation,
    warnings,
    enterprise,
    workbench,
    reports,
    map,
    control,
)


class NavItem(NamedTuple):
    """One entry of the menu: shown only to people with its permission, so nobody is
    offered a page that would refuse them.
    """

    title: str
    path: str
    permission: Permission


NAV: list[NavItem] = [
    NavItem("首页", "/", Permission.read),
    NavItem("态势大屏", "/situation", Permission.read),
    NavItem("预警", "/warnings", Permission.read),
    NavItem("一企一档", "/enterprises", Permission.read),
    NavItem("我的任务", "/workbench", Permission.read),
    NavItem("研判报告", "/reports", Permission.read),
    NavItem("地图", "/map", Permission.read),
    NavItem("模型与规则", "/control", Permission.oversee),
]


def visible_nav(person: Principal, request: web.Request) -> list[NavItem]:
    """The menu entries ``person`` may use."""
    centre = request.app[GATE].centre
    shown = []
    for item in NAV:
        try:
            require(person, item.permission, centre=centre)
        except Forbidden:
            continue
        shown.append(item)
    return shown

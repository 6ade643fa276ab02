"""Complaint categories (投诉分类): the category taxonomy, read once, and the check of a name.

One catalogue for the concept: the complaint classifier learns its priors from the taxonomy's
names (``models/complaints.py``), and a staff correction of a complaint's category
(``Disposition.category``) must name one of its first-level categories, because those are the
labels the classifier predicts. The file is ``config/taxonomy/zh-category-taxonomy.csv`` (the
shared dataset's taxonomy: 一级/二级/三级分类).

>>> check_category("环境保护")
'环境保护'
>>> check_category("环境污染")
Traceback (most recent call last):
...
schemas.categories.UnknownCategory: 环境污染 is a sub-category of 环境保护; send 环境保护 (the categories: 交通运输, 党务政务, 农村农业, 劳动和社会保障, 卫生计生, 商贸旅游, 国土资源, 城乡建设, 政法, 教育文体, 民政, 环境保护, 科技与信息产业, 纪检监察, 经济管理)
"""

from __future__ import annotations

import csv
from collections import defaultdict
from functools import cache
from pathlib import Path

from schemas.errors import RiskLoopError

TAXONOMY = (
    Path(__file__).resolve().parent.parent / "config" / "taxonomy" / "zh-category-taxonomy.csv"
)
"""The category taxonomy (一级/二级/三级分类)."""


class UnknownCategory(RiskLoopError):
    """A category name that is not a first-level category of the taxonomy."""


@cache
def taxonomy(path: Path = TAXONOMY) -> dict[str, str]:
    """First-level category → the text of all its second- and third-level names."""
    names: defaultdict[str, list[str]] = defaultdict(list)
    if path.exists():
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                names[row["category_l1"]] += [row["category_l2"], row["category_l3"]]
    return {k: " ".join(v) for k, v in names.items()}


def categories(path: Path = TAXONOMY) -> list[str]:
    """The first-level categories, sorted: what a correction may name."""
    return sorted(taxonomy(path))


def check_category(name: str, path: Path = TAXONOMY) -> str:
    """``name`` stripped, if it is a first-level category; else :class:`UnknownCategory`
    saying which categories exist (and, for a lower-level name, which one it belongs to)."""
    wanted = name.strip()
    known = categories(path)
    if wanted in known:
        return wanted
    listed = ", ".join(known)
    parent = next((c for c, names in taxonomy(path).items() if wanted in names.split()), None)
    if wanted and parent is not None:
        raise UnknownCategory(
            f"{wanted} is a sub-category of {parent}; send {parent} (the categories: {listed})"
        )
    shown = wanted[:40] or "an empty name"
    raise UnknownCategory(f"unknown category {shown!r}; the categories: {listed}")

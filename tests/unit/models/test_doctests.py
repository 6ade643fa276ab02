"""Every ``>>>`` example in models/ runs (River keeps its examples honest the same way)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import models

MODULES = [m.name for m in pkgutil.iter_modules(models.__path__, "models.")]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0

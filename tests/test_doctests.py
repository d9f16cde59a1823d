"""The examples in the docstrings of the public API run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import cibscan

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(cibscan.__path__, prefix="cibscan.")
    # the Spark engine imports pyspark (an optional extra) and has no examples
    if not m.name.startswith("cibscan.spark") and m.name != "cibscan.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"

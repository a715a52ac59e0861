"""The examples in cnnkit's docstrings run, and say what they print: what the docs promise stays true.

Every module of the package is found by walking it (a new module is covered the day it is added);
the examples run with the module's own names plus ``np`` and ``ck``, as a notebook has them.
Every public function must show at least one example that runs (not only ``+SKIP`` ones).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import matplotlib.pyplot as plt
import numpy as np
import pytest

import cnnkit

MODULES = sorted(info.name for info in pkgutil.walk_packages(cnnkit.__path__, "cnnkit."))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_are_true(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    try:
        for test in doctest.DocTestFinder().find(module, globs={**vars(module), "np": np, "ck": cnnkit}):
            runner.run(test, out=report.append)
    finally:
        plt.close("all")
    assert runner.failures == 0, "".join(report)


def runnable_examples(function) -> int:
    tests = doctest.DocTestFinder(recurse=False).find(function, globs={})
    return sum(1 for test in tests for example in test.examples if not example.options.get(doctest.SKIP))


@pytest.mark.parametrize("name", sorted(cnnkit.__all__))
def test_every_public_function_shows_an_example_that_runs(name):
    value = getattr(cnnkit, name)
    if not (inspect.isfunction(value) or inspect.isclass(value)) or name[0].isupper():
        pytest.skip("a constant or a class (classes are built by a documented function)")
    assert runnable_examples(value) >= 1, f"{name}: its docstring has no example that runs"

"""Every public name of cnnkit, called with bad input: only TypeError / ValueError that name the
function and the argument, and nothing hangs.

The names come from the package itself (``cnnkit.__all__``, checked against what ``cnnkit``
exposes), so a function added to cnnkit fails ``test_every_public_name_has_a_case`` until it has
an entry in tests/api_cases.py: one valid call plus the kind of each argument (see that file's
docstring for the kinds). From it this test derives, per argument, wrong types, wrong ranks,
empty arrays, NaN, zero and negative sizes, unknown names. Merging a branch that adds public
functions: add one ``case(...)`` per function to ``CASES`` (and nothing else).
"""

from __future__ import annotations
import __future__

import re
import signal
import types
from contextlib import contextmanager

import matplotlib.pyplot as plt
import pytest
from api_cases import CASES, NOT_CALLED, REPORTED_AS

import cnnkit

SECONDS_PER_CALL = 60


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: int):
    """Raise Hang in the test when a call runs longer than ``seconds`` (SIGALRM, main thread)."""

    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def exposed_names() -> set[str]:
    """Public names the package shows (dir() includes the lazy ones), without its submodules."""
    return {
        name for name in dir(cnnkit)
        if not name.startswith("_") and name not in ("importlib",)
        and not isinstance(getattr(cnnkit, name), (types.ModuleType, __future__._Feature))
    }


def test_all_lists_exactly_what_the_package_exposes():
    assert len(cnnkit.__all__) == len(set(cnnkit.__all__)), "a name is listed twice in cnnkit.__all__"
    assert set(cnnkit.__all__) == exposed_names()


def test_every_public_name_has_a_case():
    public = set(cnnkit.__all__)
    missing = sorted(public - set(CASES) - set(NOT_CALLED))
    assert not missing, f"public names without an entry in tests/api_cases.py CASES: {missing}"
    assert not (set(CASES) | set(NOT_CALLED)) - public, "tests/api_cases.py lists names cnnkit does not have"
    for name in NOT_CALLED:
        value = getattr(cnnkit, name)
        assert not isinstance(value, types.FunctionType), f"{name} is a function: give it a case, not an exemption"


def call(name: str, kwargs: dict):
    try:
        with time_limit(SECONDS_PER_CALL):
            return getattr(cnnkit, name)(**kwargs)
    finally:
        plt.close("all")


def probes():
    for name in sorted(CASES):
        for argument, kind in CASES[name].args.items():
            for probe in kind.probes():
                yield pytest.param(name, argument, probe, id=f"{name}-{argument}-{probe.label}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_valid_call_works(name):
    kwargs = CASES[name].make()
    assert set(CASES[name].args) <= set(kwargs) | {"ax"}, "every probed argument needs a valid value"
    call(name, kwargs)


@pytest.mark.parametrize("name, argument, probe", probes())
def test_bad_input_gets_a_clear_error(name, argument, probe):
    kwargs = CASES[name].make()
    kwargs[argument] = probe.make(kwargs.get(argument))
    try:
        call(name, kwargs)
    except (TypeError, ValueError) as error:
        message = str(error)
        reported = REPORTED_AS.get(name, name)
        assert message.startswith(f"{reported}:"), f"{type(error).__name__} does not name {reported}: {message}"
        assert re.search(rf"\b{re.escape(argument)}\b", message), f"the message does not name {argument!r}: {message}"
        assert type(error) in (TypeError, ValueError), f"{type(error).__name__} is a subclass, not TypeError/ValueError"
    else:
        assert not probe.must, f"{name}({argument}={probe.label}) was accepted"

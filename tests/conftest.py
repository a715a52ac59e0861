"""Shared test set-up: quiet TensorFlow once, before any test imports it; the headless Chromium
that the browser tests (tests/test_browser.py, tests/test_hub.py) drive; throw-away packages."""

import importlib
import sys

import matplotlib
import pytest

matplotlib.use("Agg")

import cnnkit as ck  # noqa: E402

ck.setup(seed=0)


@pytest.fixture
def tmp_package(tmp_path, monkeypatch):
    """`tmp_package(name, source)`: an importable package `name` whose `__init__.py` holds `source`
    (returned, to edit), on sys.path for this test only and forgotten by sys.modules after it."""
    names = []

    def make(name, source):
        init = tmp_path / name / "__init__.py"
        init.parent.mkdir()
        init.write_text(source)
        names.append(name)
        monkeypatch.syspath_prepend(str(tmp_path))
        importlib.invalidate_caches()
        return init

    yield make
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's, see scripts/install_browser.sh), one per test module."""
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# ---------------------------------------------------------------- two workers (pytest-xdist)
# `make test` runs `pytest -n 2 --dist loadgroup --no-loadscope-reorder`. A group runs whole on one
# worker, in order: every file is one group (a notebook's nbval cells share one kernel; a module's
# fixtures are built once), except the independent, expensive parts split out below, whose
# fixtures are cheap to build twice (a toy course) next to what they grade. xdist's own loadgroup
# cannot be used: it tags node ids, which pytest 9 no longer reads (every test would go its own way).
SPLIT = {
    "tests/test_grading.py::test_lab_corpus[": "param",  # one group per lab: 70-110 s each
    "tests/test_grading.py::test_shards_merged_equal_one_run": "own",  # 80 s, on its own copies of the course
    "tests/test_lab_mistakes.py::": "param",  # one group per lab (its module fixture runs that lab once)
    "tests/test_tampering.py::test_lab1_tampering": "own",  # lab 1's batch; the guarded batch stays with the rest
}
# Longest first (seconds from `--durations` on a fresh clone), so that neither worker is left with a
# long group at the end; groups not named keep the collection order, after these.
SLOW_FIRST = [
    "tests/test_reference_cache.py", "tests/test_binder.py", "tests/test_hub.py",
    "tests/test_lab_mistakes.py[lab3_overfitting]", "tests/test_grading.py::test_lab_corpus[lab3_overfitting]",
    "tests/test_grading.py", "tests/test_grading.py::test_lab_corpus[lab4_transfer_gradcam]",
    "tests/test_lab_mistakes.py[lab4_transfer_gradcam]", "tests/test_grading.py::test_shards_merged_equal_one_run",
    "tests/test_grading.py::test_lab_corpus[lab2_build_train]", "tests/test_grading.py::test_lab_corpus[lab1_conv_pool]",
    "tests/test_tampering.py", "tests/test_zygote.py", "tests/test_packaging.py",
]


def xdist_group_of(nodeid: str) -> str:
    """The group a test runs in: its file, or its own group named in SPLIT."""
    for prefix, how in SPLIT.items():
        if nodeid.startswith(prefix):
            if how == "own":
                return prefix
            param = nodeid[nodeid.index("[") + 1:nodeid.rindex("]")] if nodeid.endswith("]") else ""
            return f"{prefix.split('::')[0]}[{param}]" if prefix.endswith("::") else f"{prefix}{param}]"
    return nodeid.split("::")[0]


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid)

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "workerinput"):  # a plain run: one process, collection order
        return
    rank = {name: position for position, name in enumerate(SLOW_FIRST)}
    first_seen: dict[str, int] = {}
    for item in items:
        first_seen.setdefault(xdist_group_of(item.nodeid), len(first_seen))
    items.sort(key=lambda item: (rank.get(xdist_group_of(item.nodeid), len(rank)), first_seen[xdist_group_of(item.nodeid)]))

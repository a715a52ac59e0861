"""Shared test set-up: quiet TensorFlow once, before any test imports it; the headless Chromium
that the browser tests (tests/test_browser.py, tests/test_hub.py) drive."""

import matplotlib
import pytest

matplotlib.use("Agg")

import cnnkit as ck  # noqa: E402

ck.setup(seed=0)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's, see scripts/install_browser.sh), one per test module."""
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()

"""JupyterLab in a real browser: headless Chromium (Debian's package, driven by Playwright) runs
the convolution lecture, moves the explorer's stride slider and sees the figure and the printed
output shape change; and nbgrader's JupyterLab extension is checked the same way.

Chromium comes from scripts/install_browser.sh (run by `make test`); without it these tests skip.
Screenshots land in build/screenshots/ (ignored by git).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "screenshots"
LECTURE = "02_convolution_by_hand.ipynb"
TOKEN = "cnn-course-browser-test"
# Flags for a closed network: without the background-networking ones Chromium keeps dialling out.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (scripts/install_browser.sh)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on localhost over a scratch copy of the course (autosave must not touch ours)."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "lectures", root / "lectures")
    shutil.copytree(ROOT / "solutions", root / "solutions")
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    port = free_port()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
               f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.workspaces_dir={root / '.workspaces'}", f"--LabApp.user_settings_dir={root / '.settings'}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(root / "server.log", "w")
    # nbgrader's gradebook runs the `alembic` command: the environment's bin must be on PATH.
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=5)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (root / "server.log").read_text()[-3000:])
            time.sleep(0.5)
    yield base
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def open_lab(browser, base: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab?token={TOKEN}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands", timeout=120_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")  # every extension activated
    return page


def open_notebook(browser, base: str, path: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/tree/{path}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
        " return k && k.status === 'idle'; }",
        timeout=120_000,
    )
    return page


def output_shape(status: str) -> str:
    """'input 512x512 -> output 510x510 (stride 1, ...)' -> '510x510'"""
    return re.search(r"output (\d+x\d+)", status).group(1)


def stride(status: str) -> int:
    return int(re.search(r"stride (\d+)", status).group(1))


def test_convolution_lecture_runs_and_its_explorer_responds(lab, browser):
    page = open_notebook(browser, lab, f"lectures/{LECTURE}")
    page.set_default_timeout(60_000)
    # Resolves when every cell has run (JupyterLab's runAll promise).
    assert page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')") is True
    errors = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets"
        ".filter(cell => cell.model.type === 'code')"
        ".flatMap(cell => cell.model.outputs.toJSON())"
        ".filter(output => output.output_type === 'error')"
        ".map(output => output.ename + ': ' + output.evalue)"
    )
    assert errors == []

    explorer = page.locator(".cnnkit-conv-explorer").first
    explorer.scroll_into_view_if_needed()
    status = explorer.locator(".cnnkit-status")
    figure = explorer.locator(".cnnkit-figure img")
    figure.wait_for()
    page.wait_for_function("element => element.innerText.includes('output')", arg=status.element_handle())
    before_text, before_image = status.inner_text(), figure.get_attribute("src")

    # Move the stride slider by one step, as a student dragging it would (down if at its maximum).
    step = 1 if stride(before_text) < 3 else -1
    handle = explorer.locator(".cnnkit-stride .noUi-handle")
    handle.focus()
    handle.press("ArrowRight" if step == 1 else "ArrowLeft")
    page.wait_for_function(
        "([element, text]) => element.innerText !== text", arg=[status.element_handle(), before_text]
    )
    page.wait_for_function(
        "([explorer, src]) => { const img = explorer.querySelector('.cnnkit-figure img');"
        " return img && img.getAttribute('src') !== src; }",
        arg=[explorer.element_handle(), before_image],
    )
    after_text = status.inner_text()
    assert output_shape(after_text) != output_shape(before_text), (before_text, after_text)
    assert stride(after_text) == stride(before_text) + step, (before_text, after_text)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    explorer.screenshot(path=str(SCREENSHOTS / "conv_explorer.png"))
    page.screenshot(path=str(SCREENSHOTS / "convolution_lecture.png"))
    page.close()


def test_nbgrader_extension_in_this_jupyterlab(lab, browser):
    """nbgrader 0.9.6's JupyterLab extension is flagged incompatible with JupyterLab >= 4.3
    (nbgrader issue 1948); check what works with the JupyterLab we pin."""
    page = open_lab(browser, lab)
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    commands = page.evaluate("window.jupyterapp.commands.listCommands().filter(c => c.startsWith('nbgrader:'))")
    assert {"nbgrader:open-formgrader", "nbgrader:open-assignment-list"} <= set(commands)
    page.evaluate("window.jupyterapp.commands.execute('nbgrader:open-formgrader')")
    frame_element = page.wait_for_selector("iframe[src*='formgrader']", timeout=60_000)
    frame = frame_element.content_frame()
    frame.wait_for_selector("text=Manage Assignments", timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        frame.wait_for_selector("text=lab1_conv_pool", timeout=180_000)
    finally:
        page.screenshot(path=str(SCREENSHOTS / "formgrader.png"))
    page.close()

"""The README's first command opens the course: `make course` starts JupyterLab (as root too, where
it adds --allow-root and says so), and the server answers and serves lecture 00."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "course-test-token"
ROOT_LINE = "make course: running as root, so JupyterLab starts with --allow-root"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "jupyter").exists(), reason="no .venv made by `make` (run `make test`)")
def test_make_course_serves_lecture_00(tmp_path):
    port = free_port()
    log = tmp_path / "course.log"
    env = os.environ | {"JUPYTER_TOKEN": TOKEN, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    # As the README says, with the two settings a test needs. `-o` keeps make from reinstalling
    # the environment here: `make test` has just brought it up to date.
    with open(log, "wb") as out:
        server = subprocess.Popen(["make", "-o", ".venv/.installed", "course", f"PORT={port}", "BROWSER=no"], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, f"make course stopped (exit {server.returncode}):\n{log.read_text()[-3000:]}"
            try:
                status, _ = get(f"{base}/api/status?token={TOKEN}")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, f"no answer on port {port} within 180 s:\n{log.read_text()[-3000:]}"
                time.sleep(1)
        assert status == 200
        # Given a notebook to open, Jupyter serves the notebook's folder (lectures/) as its root.
        status, body = get(f"{base}/api/contents/00_setup.ipynb?token={TOKEN}")
        notebook = json.loads(body)
        assert status == 200 and notebook["type"] == "notebook"
        on_disk = json.loads((ROOT / "lectures" / "00_setup.ipynb").read_text())
        assert [cell["id"] for cell in notebook["content"]["cells"]] == [cell["id"] for cell in on_disk["cells"]]
        status, page = get(f"{base}/lab/tree/00_setup.ipynb?token={TOKEN}")
        assert status == 200 and b"JupyterLab" in page
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    output = log.read_text()
    assert (ROOT_LINE in output) == (os.geteuid() == 0), output[-3000:]
    assert "Running as root is not recommended" not in output

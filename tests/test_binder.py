"""Rebuild the Binder environment from binder/ alone, as repo2docker would, and run the setup
lecture in it."""

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def tracked_files():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [Path(name) for name in listed.decode().split("\0") if name]


def test_binder_folder_is_complete():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    pins = [line for line in (BINDER / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins), "requirements.txt must pin every package"
    names = {line.split("==")[0].lower().replace("_", "-") for line in pins}
    assert {"tensorflow", "keras", "jupyterlab", "ipywidgets", "mlxtend", "numpy"} <= names
    post_build = (BINDER / "postBuild").read_text()
    assert post_build.startswith("#!/bin/bash") and "\nset -e\n" in post_build
    assert os.access(BINDER / "postBuild", os.X_OK)


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="Binder's runtime.txt asks for Python 3.11")
def test_rebuild_from_binder_alone_and_run_the_setup_lecture(tmp_path):
    # A copy of the repository as Binder clones it (tracked files only, no .venv).
    repo = tmp_path / "repo"
    for relative in tracked_files():
        if (ROOT / relative).is_file():
            (repo / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, repo / relative)
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env |= {"PATH": f"{bin_dir}:{env['PATH']}", "HOME": str(tmp_path / "home"),
            "KERAS_HOME": str(tmp_path / "keras"), "BINDER_SERVICE_HOST": "10.0.0.1"}
    (tmp_path / "home").mkdir()

    def run(*command):
        result = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        return result

    # --no-compile: byte-compiling every installed module (TensorFlow's thousands) costs more than the
    # few that the lecture imports compile on first use; what is installed is the same
    run(str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-compile", "-r", "binder/requirements.txt")
    run("bash", "binder/postBuild")  # Binder runs it from the repository root
    executed = tmp_path / "00_setup.executed.ipynb"
    run(str(bin_dir / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
        "--ExecutePreprocessor.timeout=300", "--output", str(executed), "lectures/00_setup.ipynb")
    notebook = json.loads(executed.read_text())
    text = "".join(
        "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
        for cell in notebook["cells"] if cell["cell_type"] == "code" for output in cell["outputs"]
    )
    assert "Binder" in text, "the setup lecture should say it runs on Binder"
    errors = [output for cell in notebook["cells"] if cell["cell_type"] == "code"
              for output in cell["outputs"] if output["output_type"] == "error"]
    assert errors == []

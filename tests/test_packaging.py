"""The project's promises about installation: ranges not pins, and CI runs the README's command."""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements(group=None):
    listed = PROJECT["dependencies"] if group is None else PROJECT["optional-dependencies"][group]
    return {Requirement(line).name: Requirement(line) for line in listed}


@pytest.mark.parametrize("group", [None, "dev"])
def test_dependencies_are_ranges_not_pins(group):
    for name, requirement in requirements(group).items():
        operators = {spec.operator for spec in requirement.specifier}
        assert "==" not in operators and "===" not in operators, f"{name} is pinned: {requirement}"
        assert operators & {">=", ">", "~="}, f"{name} has no lower bound: {requirement}"


@pytest.mark.parametrize("preinstalled", ["2.16.1", "2.17.1", "2.18.0", "2.19.0", "2.20.0", "2.21.0"])
def test_colabs_tensorflow_already_satisfies_the_requirement(preinstalled):
    # pip installs nothing over a preinstalled version that satisfies the range.
    assert requirements()["tensorflow"].specifier.contains(preinstalled)


def test_test_tools_are_in_the_dev_extra():
    assert {"pytest", "nbval", "nbgrader", "hypothesis"} <= set(requirements("dev"))


def readme_commands():
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_has_exactly_two_commands():
    assert readme_commands() == ["make course", "make test"]


def test_ci_runs_the_readme_test_command_and_nothing_looser():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert lines[-1] == readme_commands()[1]
    assert "set -euo pipefail" in lines


# ----------------------------------------------------------------------------------------------
# Two installs in fresh virtual environments: the student's (cnnkit alone) and the instructor's
# (cnnkit + cnn-course-grader). Offline and quick: both wheels are built without build isolation,
# and the fresh environments see this environment's packages through a .pth file, as Colab's
# preinstalled TensorFlow is seen, so pip installs the course's own wheels and nothing else.
# ----------------------------------------------------------------------------------------------
OUR_DISTRIBUTIONS = ("cnnkit", "cnn_course_grader", "__editable__")


def tracked_sources(target: Path) -> Path:
    """A copy of what the wheels are built from, so that building leaves nothing in the repository."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    for package in ("cnnkit", "grader"):
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    return target


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    source = tracked_sources(tmp_path_factory.mktemp("src") / "course")
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                    str(source), str(source / "grader"), "-w", str(out)], check=True, capture_output=True, timeout=300)
    return {path.name.split("-")[0]: path for path in out.glob("*.whl")}


@pytest.fixture(scope="module")
def preinstalled(tmp_path_factory):
    """This environment's packages minus the course's own: what Colab (or an instructor's
    machine) has before installing the course."""
    folder = tmp_path_factory.mktemp("preinstalled")
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        if not entry.name.startswith(OUR_DISTRIBUTIONS) and entry.suffix != ".pth" and entry.name != "grader":
            (folder / entry.name).symlink_to(entry)
    return folder


def fresh_env(path: Path, preinstalled: Path) -> Path:
    venv.create(path, with_pip=False)
    python = path / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "preinstalled.pth").write_text(f"{preinstalled}\n")
    return python


def pip_install(python: Path, wheels: dict, *names: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--find-links",
         str(next(iter(wheels.values())).parent), *names],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def run_in(python: Path, code: str, cwd: Path) -> str:
    # cwd outside the repository, so that its grader/ folder is not importable by accident.
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=300,
                            env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def wheel_top_level(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name.split("/")[0] for name in archive.namelist() if not name.split("/")[0].endswith(".dist-info")}


def test_the_cnnkit_wheel_holds_cnnkit_alone_and_the_grader_wheel_grader_alone(wheels):
    assert set(wheels) == {"cnnkit", "cnn_course_grader"}
    assert wheel_top_level(wheels["cnnkit"]) == {"cnnkit"}
    assert wheel_top_level(wheels["cnn_course_grader"]) == {"grader"}


def test_student_install_gets_cnnkit_alone_and_keeps_the_preinstalled_tensorflow(wheels, preinstalled, tmp_path):
    python = fresh_env(tmp_path / "student", preinstalled)
    tensorflow_before = importlib.metadata.version("tensorflow")
    output = pip_install(python, wheels, "cnnkit")
    assert "Successfully installed cnnkit-0.1.0" in output and "tensorflow" not in output.split("Successfully installed")[-1]
    report = run_in(python, (
        "import importlib.metadata as m, importlib.util as u, cnnkit\n"
        "tf = m.distribution('tensorflow')\n"
        "print(tf.version, m.version('tensorflow'), cnnkit.conv_output_size(7, 3, stride=2))\n"
        "print(u.find_spec('grader') is None, 'preinstalled' in str(tf.locate_file('tensorflow')))\n"
        "print(*sorted({f.parts[0] for f in m.distribution('cnnkit').files}))\n"
    ), cwd=tmp_path)
    versions, flags, files = report.splitlines()
    assert versions.split() == [tensorflow_before, tensorflow_before, "3"]
    assert flags == "True True", "a student's install must not carry grader, and TensorFlow must stay the preinstalled one"
    assert set(files.split()) == {"cnnkit", "cnnkit-0.1.0.dist-info"}


def test_instructor_install_gets_grading_and_it_imports(wheels, preinstalled, tmp_path):
    python = fresh_env(tmp_path / "instructor", preinstalled)
    output = pip_install(python, wheels, "cnn-course-grader")
    assert "cnn-course-grader-0.1.0" in output and "cnnkit-0.1.0" in output
    report = run_in(python, (
        "import grader, grader.config, grader.__main__, cnnkit, nbgrader\n"
        "from grader.config import apply_safe_grading\n"
        "print(grader.__file__, callable(apply_safe_grading))\n"
    ), cwd=tmp_path)
    location, imported = report.split()
    assert Path(location).is_relative_to(tmp_path / "instructor") and imported == "True"

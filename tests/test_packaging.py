"""The project's promises about installation: ranges not pins, and CI runs the README's command."""

import re
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

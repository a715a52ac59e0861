"""Static checks of every notebook: Colab headers, setup first, no machine paths in outputs.

nbval (run on lectures/ by the same pytest command) executes the lectures and compares outputs;
these checks cover what it does not.
"""

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import notebook_headers  # noqa: E402

LECTURES = sorted(ROOT.glob("lectures/*.ipynb"))
LAB_SOURCES = sorted(ROOT.glob("solutions/*/*.ipynb"))
LABS = sorted(ROOT.glob("labs/*/*.ipynb"))
ALL = LECTURES + LAB_SOURCES + LABS
MACHINE_PATH = re.compile(r"(/work/|/root/|/tmp/|/home/\w+|/Users/\w+|site-packages|\.venv/)")
EXPECTED_LECTURES = [
    "00_setup", "01_mlps_to_cnns", "02_convolution_by_hand", "03_building_a_cnn",
    "04_training_on_mnist", "05_overfitting_control", "06_transfer_learning", "07_interpretability",
    "08_architectures", "09_beyond_classification",
]


def name(path):
    return str(path.relative_to(ROOT))


def test_every_lecture_of_the_course_map_exists():
    assert [path.stem for path in LECTURES] == EXPECTED_LECTURES


@pytest.mark.parametrize("path", ALL, ids=name)
def test_colab_badge_points_at_the_notebooks_own_path(path):
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and "colab-badge" in first.metadata.get("tags", [])
    target = notebook_headers.badge_target(path)  # itself; a lab source: its student version
    url = notebook_headers.colab_url(target)
    assert re.findall(r"\((https://colab\.research\.google\.com/github/[^)]+)\)", first.source) == [url]
    assert (ROOT / target).exists()


@pytest.mark.parametrize("path", ALL, ids=name)
def test_second_cell_installs_cnnkit_on_colab_only(path):
    cell = nbformat.read(path, as_version=4).cells[1]
    assert cell.cell_type == "code" and cell.source == notebook_headers.install_source()
    assert not cell.get("outputs"), "the install cell printed something off Colab"


def test_headers_are_up_to_date():
    outdated = [name(path) for path in notebook_headers.notebooks()
                if notebook_headers.with_headers(nbformat.read(path, as_version=4),
                                                  notebook_headers.badge_target(path))]
    assert outdated == [], "run: python scripts/notebook_headers.py"


@pytest.mark.parametrize("path", LECTURES + LAB_SOURCES, ids=name)
def test_setup_is_the_first_thing_the_notebook_does(path):
    cells = [cell for cell in nbformat.read(path, as_version=4).cells
             if cell.cell_type == "code" and "colab-install" not in cell.metadata.get("tags", [])]
    assert re.search(r"^import cnnkit as ck\s*$", cells[0].source, re.M), cells[0].source
    assert re.search(r"^ck\.setup\(", cells[0].source, re.M), cells[0].source


def code(path):
    return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")


TRAINING = [path for path in LECTURES + LAB_SOURCES if ".fit(" in code(path)]


def test_the_notebooks_that_train_are_found():
    assert [path.stem for path in TRAINING] == [
        "01_mlps_to_cnns", "04_training_on_mnist", "05_overfitting_control", "06_transfer_learning",
        "07_interpretability", "08_architectures", "09_beyond_classification", "lab2_build_train",
        "lab3_overfitting", "lab4_transfer_gradcam",
    ]


@pytest.mark.parametrize("path", TRAINING, ids=name)
def test_training_builds_under_the_detected_strategy(path):
    # A notebook that trains gets the strategy once, in its setup cell, and builds its models in
    # its scope, so that it uses a TPU or several GPUs where it finds them (lecture 00).
    cells = [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    setup = next(source for source in cells if "ck.setup(" in source)
    assert re.search(r"^strategy = ck\.get_strategy\(\)", setup, re.M), (
        "the setup cell must define strategy = ck.get_strategy()")
    assert any("with strategy.scope():" in source for source in cells)


@pytest.mark.parametrize("path", LECTURES, ids=name)
def test_lectures_are_committed_executed_without_errors(path):
    cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"
             and "colab-install" not in cell.metadata.get("tags", [])]
    assert all(cell.execution_count is not None for cell in cells), "execute the notebook before committing"
    errors = [output for cell in cells for output in cell.outputs if output.output_type == "error"]
    assert errors == []


@pytest.mark.parametrize("path", ALL, ids=name)
def test_no_output_holds_a_machine_path(path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            text = json.dumps({key: value for key, value in output.items()
                               if key not in ("data",)} | {"data": {
                k: v for k, v in output.get("data", {}).items() if not k.startswith("image/")}})
            found = MACHINE_PATH.search(text)
            assert found is None, f"cell {index} output holds {found.group(0)!r}"


@pytest.mark.parametrize("path", ALL, ids=name)
def test_kernel_is_plain_python3(path):
    assert nbformat.read(path, as_version=4).metadata.kernelspec.name == "python3"

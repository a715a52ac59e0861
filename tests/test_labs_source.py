"""Checks of the nbgrader lab sources (solutions/) and their student versions (labs/).

No notebook is executed here (executing the solutions is the grading cycle's job, in
tests/test_grading.py): these tests read the notebooks, and regenerate the student versions with
nbgrader into a temporary course folder to show that labs/ is exactly what nbgrader makes of
solutions/.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
LABS = ("lab1_conv_pool", "lab2_build_train", "lab3_overfitting", "lab4_transfer_gradcam")
MIN_GRADED_PARTS = 5

SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*", re.M | re.S)
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*", re.M | re.S)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def source_path(lab: str) -> Path:
    return REPO / "solutions" / lab / f"{lab}.ipynb"


def release_path(lab: str) -> Path:
    return REPO / "labs" / lab / f"{lab}.ipynb"


def read(path: Path):
    return nbformat.read(path, as_version=4)


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def graded(notebook) -> list:
    return [cell for cell in notebook.cells if nbgrader(cell).get("grade")]


def secret_lines(notebook) -> set[str]:
    """Lines that appear only inside solution or hidden-test regions of the source notebook."""
    inside, outside = set(), set()
    for cell in notebook.cells:
        regions = SOLUTION.findall(cell.source) + HIDDEN.findall(cell.source)
        for region in regions:
            inside.update(line.strip() for line in region.splitlines()[1:-1])
        rest = HIDDEN.sub("", SOLUTION.sub("", cell.source))
        outside.update(line.strip() for line in rest.splitlines())
    # Short lines ("return out", "else:") occur in any code; they prove nothing.
    return {line for line in inside - outside if len(line) >= 20 and not line.startswith("#")}


# ----------------------------------------------------------------------------------------------
# the sources
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lab", LABS)
def test_source_has_enough_graded_parts_with_points(lab):
    notebook = read(source_path(lab))
    tests = graded(notebook)
    assert len(tests) >= MIN_GRADED_PARTS, f"{lab}: {len(tests)} graded cells, expected >= {MIN_GRADED_PARTS}"
    for cell in tests:
        meta = nbgrader(cell)
        assert cell.cell_type == "code", meta["grade_id"]
        assert meta.get("points", 0) > 0, f"{lab}: graded cell {meta['grade_id']} has no points"
        assert meta.get("locked") is True, f"{lab}: graded cell {meta['grade_id']} is not locked"
        assert meta.get("solution") is False, f"{lab}: graded cell {meta['grade_id']} is also a solution cell"


@pytest.mark.parametrize("lab", LABS)
def test_source_metadata_is_nbgrader_schema_3_with_unique_ids(lab):
    notebook = read(source_path(lab))
    cells = [cell for cell in notebook.cells if "nbgrader" in cell.metadata]
    ids = [nbgrader(cell).get("grade_id") for cell in cells]
    assert all(ids), f"{lab}: an nbgrader cell without grade_id"
    assert len(ids) == len(set(ids)), f"{lab}: duplicate grade ids {sorted(i for i in ids if ids.count(i) > 1)}"
    assert all(nbgrader(cell).get("schema_version") == 3 for cell in cells), f"{lab}: schema_version is not 3"
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("lab", LABS)
def test_every_graded_cell_has_hidden_tests(lab):
    for cell in graded(read(source_path(lab))):
        regions = HIDDEN.findall(cell.source)
        assert regions, f"{lab}: graded cell {nbgrader(cell)['grade_id']} has no hidden tests"
        # Some hidden test code, not just the two markers.
        assert any(len(region.splitlines()) > 2 for region in regions), nbgrader(cell)["grade_id"]


@pytest.mark.parametrize("lab", LABS)
def test_solution_cells_mark_their_solutions(lab):
    notebook = read(source_path(lab))
    answers = [cell for cell in notebook.cells if nbgrader(cell).get("solution")]
    assert answers, f"{lab}: no solution cells"
    for cell in answers:
        assert SOLUTION.search(cell.source), f"{lab}: solution cell {nbgrader(cell)['grade_id']} has no BEGIN/END SOLUTION"
    for cell in notebook.cells:
        if not nbgrader(cell).get("solution"):
            assert "### BEGIN SOLUTION" not in cell.source, f"{lab}: solution markers outside a solution cell"


@pytest.mark.parametrize("lab", LABS)
def test_source_starts_with_cnnkit_setup_and_carries_no_outputs(lab):
    notebook = read(source_path(lab))
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    # The Colab install cell (scripts/notebook_headers.py) may come first; then the setup.
    setup = [cell for cell in code if "colab-install" not in cell.metadata.get("tags", [])][0]
    assert "import cnnkit as ck" in setup.source
    # lab 1 is numpy only: it seeds numpy alone (ck.setup would import TensorFlow at every grading)
    assert ("np.random.seed(0)" if lab == "lab1_conv_pool" else "ck.setup(seed=0)") in setup.source
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"{lab}: a source cell has outputs: {cell.source[:60]!r}"


# ----------------------------------------------------------------------------------------------
# the student versions
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lab", LABS)
def test_release_has_no_solutions_no_hidden_tests_no_outputs(lab):
    source, release = read(source_path(lab)), read(release_path(lab))
    text = "\n".join(cell.source for cell in release.cells)
    for marker in MARKERS:
        assert marker not in text, f"labs/{lab}: {marker!r} left in the student version"
    leaked = sorted(secret_lines(source) & {line.strip() for line in text.splitlines()})
    assert not leaked, f"labs/{lab}: solution or hidden-test lines in the student version: {leaked[:5]}"
    for cell in release.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"labs/{lab}: outputs in {cell.source[:60]!r}"


@pytest.mark.parametrize("lab", LABS)
def test_release_keeps_every_graded_cell_with_its_points(lab):
    source, release = read(source_path(lab)), read(release_path(lab))
    points = {nbgrader(cell)["grade_id"]: nbgrader(cell)["points"] for cell in graded(source)}
    assert {nbgrader(cell)["grade_id"]: nbgrader(cell)["points"] for cell in graded(release)} == points


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """Every lab generated afresh by nbgrader, with the repository's nbgrader_config.py, into a
    temporary course folder (the repository's own gradebook and labs/ are not touched)."""
    from nbgrader.apps import NbGraderAPI

    course = tmp_path_factory.mktemp("course")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    for lab in LABS:
        shutil.copytree(REPO / "solutions" / lab, course / config.CourseDirectory.source_directory / lab)
    # The gradebook runs `alembic` in a subprocess: the virtual environment's bin must be on PATH.
    saved_path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + saved_path
    try:
        api = NbGraderAPI(config=config)
        for lab in LABS:
            result = api.generate_assignment(lab, force=True, create=True)
            assert result["success"], result.get("error") or result.get("log")
    finally:
        os.environ["PATH"] = saved_path
    return course / config.CourseDirectory.release_directory


@pytest.mark.parametrize("lab", LABS)
def test_release_is_what_nbgrader_generates_from_the_source(lab, regenerated):
    fresh, committed = read(regenerated / lab / f"{lab}.ipynb"), read(release_path(lab))
    describe = lambda notebook: [(cell.cell_type, cell.source, nbgrader(cell)) for cell in notebook.cells]  # noqa: E731
    expected, got = describe(fresh), describe(committed)
    assert len(got) == len(expected), f"labs/{lab}: {len(got)} cells, nbgrader generates {len(expected)}"
    for number, (want, have) in enumerate(zip(expected, got)):
        assert have == want, (
            f"labs/{lab} cell {number} differs from what nbgrader generates from solutions/{lab}; "
            f"regenerate: nbgrader generate_assignment {lab} --force"
        )
    assert sorted(os.listdir(regenerated / lab)) == sorted(os.listdir(REPO / "labs" / lab))


# ----------------------------------------------------------------------------------------------
# the course settings
# ----------------------------------------------------------------------------------------------
def test_nbgrader_config():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    course = config.CourseDirectory
    assert Path(course.root) == REPO
    assert (course.source_directory, course.release_directory) == ("solutions", "labs")
    assert course.course_id == "cnn-course"
    assert course.db_url == f"sqlite:///{REPO / 'gradebook.db'}"
    # The labs' training cells warn against the same limit (cnnkit.labtools); one number for both.
    from cnnkit.labtools import CELL_LIMIT_SECONDS

    assert config.ExecutePreprocessor.timeout == CELL_LIMIT_SECONDS


# ----------------------------------------------------------------------------------------------
# what the labs tell students while they work
# ----------------------------------------------------------------------------------------------
# Locked reference trainings, cached at grading by the grader's owners: they are not the student's to time.
REFERENCE_TRAININGS = {"baseline", "pretrain", "biased_data"}
FIT = re.compile(r"\.fit\((?!\.\.\.)")  # a call of fit, not "model.fit(...)" in a message


@pytest.mark.parametrize("lab", LABS)
def test_training_cells_time_themselves_against_the_grading_limit(lab):
    trainings = [cell for cell in read(source_path(lab)).cells
                 if cell.cell_type == "code" and FIT.search(cell.source) and nbgrader(cell).get("grade_id") not in REFERENCE_TRAININGS]
    if lab != "lab1_conv_pool":
        assert trainings, f"{lab}: no training cell found"
    for cell in trainings:
        region = SOLUTION.search(cell.source)
        before = cell.source[: region.start()] if region else cell.source
        assert "with cell_timer(" in before, f"{lab}: training cell {nbgrader(cell).get('grade_id')} does not time itself with cell_timer"


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_says_which_parts_forbid_which_libraries_and_its_tests_check_it(lab):
    notebook = read(source_path(lab))
    intro = next(cell.source for cell in notebook.cells if cell.cell_type == "markdown" and "| part |" in cell.source)
    assert "**Rules.**" in intro and "scores 0" in intro, f"{lab}: the introduction does not state which libraries the answers may call"
    rule = "NUMPY_ONLY" if lab == "lab1_conv_pool" else "NOT_CNNKIT"
    setup = next(cell for cell in notebook.cells if nbgrader(cell).get("grade_id") == "setup")
    assert rule in setup.source, f"{lab}: the setup cell does not import {rule}"
    checked = [nbgrader(cell)["grade_id"] for cell in graded(notebook) if f"forbid={rule}" in cell.source]
    assert checked, f"{lab}: no test cell checks the library rule"

"""The labs teach while they grade: every mistake of tests/lab_mistakes.py fails a visible test with
its hint, and a few of them, graded together by nbgrader, cost exactly the points of their parts.

Visible tests: one kernel per lab runs the student version of the lab with the right answers,
then, for each mistake, the mistaken answer and the tests it must fail, then the right answer again.
Grading: one submission per lab holding several mistakes goes through nbgrader's autograde
with the course's configuration (hidden tests included); the hidden failures must name their case.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import sys

import grading_corpus as corpus
import lab_mistakes
import nbformat
import pytest
from nbclient import NotebookClient

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABS = sorted({mistake.lab for mistake in lab_mistakes.MISTAKES})
GRADED = sorted(lab_mistakes.GRADED)
if os.environ.get("LAB_MISTAKES_LABS"):  # e.g. "lab1_conv_pool" for a quick local run; CI runs all
    LABS = [lab for lab in LABS if lab in os.environ["LAB_MISTAKES_LABS"].split(",")]
    GRADED = [lab for lab in GRADED if lab in LABS]
SLOW_MACHINE_TIMEOUT = 300


def notebooks(lab: str):
    source = nbformat.read(os.path.join(REPO, "solutions", lab, f"{lab}.ipynb"), as_version=4)
    release = nbformat.read(os.path.join(REPO, "labs", lab, f"{lab}.ipynb"), as_version=4)
    return source, release


def error_of(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}"
    return None


@pytest.fixture(scope="module", params=LABS)
def lab_kernel(request, tmp_path_factory):
    """(lab, client, cells by grade id, printed): the student version with the right answers, run
    once; ``printed`` is the text its cells printed (nbclient puts each later run's cell into
    ``client.nb``, so the tests below change what that holds)."""
    lab = request.param
    source, release = notebooks(lab)
    nb = corpus.solution_submission(source, release)
    folder = tmp_path_factory.mktemp(lab)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(folder)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
                assert error_of(cell) is None, f"{lab}: the right answers fail cell {index}: {error_of(cell)}"
        printed = "".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                          for output in cell.get("outputs", []) if output.output_type == "stream")
        cells = {corpus._id(cell): (index, cell) for index, cell in enumerate(nb.cells) if corpus._id(cell)}
        yield lab, client, cells, printed


def run(client, cell, index) -> str | None:
    cell = copy.deepcopy(cell)
    client.execute_cell(cell, index)
    return error_of(cell)


def test_every_mistake_fails_a_visible_test_with_its_hint(lab_kernel):
    """Each mistake in turn: its answer, then the tests it must fail; then the right answer again,
    which must pass those tests once more. Training answers come last and are not put back
    (retraining costs time; no later test uses them)."""
    lab, client, cells, _ = lab_kernel
    problems = []
    for mistake in (m for m in lab_mistakes.MISTAKES if m.lab == lab):
        index, answer = cells[mistake.answer]
        wrong = copy.deepcopy(answer)
        wrong.source = mistake.apply(answer.source)
        assert run(client, wrong, index) is None, f"{lab} {mistake.name}: the mistaken answer does not even run"
        for test, hint in mistake.fails.items():
            error = run(client, *reversed(cells[test]))
            print(f"--- {lab} {mistake.answer} / {mistake.name} -> {test}:\n{error}")
            if error is None:
                problems.append(f"{mistake.answer} / {mistake.name}: {test} passed")
            elif hint not in error:
                problems.append(f"{mistake.answer} / {mistake.name}: {test} failed without {hint!r}:\n{error}")
        if ".fit(" in answer.source:
            continue
        assert run(client, answer, index) is None
        for test in mistake.fails:
            assert run(client, *reversed(cells[test])) is None, f"{lab}: {test} fails with the right answer {mistake.answer} put back"
    assert not problems, "\n".join(problems)


def test_the_comparison_reports_the_accuracy_that_was_graded(lab_kernel):
    """A lab that compares the student's model with another after the graded test prints, for the
    student's model, the test accuracy the test measured: Keras' augmentation layers augment in a
    plain ``model(images)`` call, so a comparison without ``training=False`` reports less."""
    lab, _, _, printed = lab_kernel
    reported = re.findall(r"your model\s*: test accuracy (\d\.\d+)", printed)
    if not reported:
        pytest.skip(f"{lab} prints no comparison of the student's model")
    graded = re.findall(r"visible tests passed \(test accuracy (\d\.\d+)", printed)
    assert len(graded) == 1 and reported == graded, (graded, reported)


@pytest.mark.parametrize("lab", GRADED)
def test_graded_mistakes_cost_their_parts_and_hidden_failures_name_the_case(lab, tmp_path):
    from nbgrader.apps import NbGraderAPI

    plan = lab_mistakes.GRADED[lab]
    from grader.config import load_course_config

    course = tmp_path / "course"
    shutil.copytree(os.path.join(REPO, "solutions", lab), course / "solutions" / lab)
    shutil.copy(os.path.join(REPO, "nbgrader_config.py"), course / "nbgrader_config.py")
    config = load_course_config(str(course))
    # Scores and messages are checked here, not time (tests/test_grading.py checks the shipped
    # 60 s limit): a machine busy with other work must not time out a right cell.
    config.ExecutePreprocessor.timeout = config.SafeExecute.timeout = SLOW_MACHINE_TIMEOUT
    # The solution gate of plain `nbgrader autograde` would first grade the lab's solution in the
    # sandbox: tests/test_grading.py::test_lab_corpus grades every lab's solution to full marks there
    # (and tests/test_grading.py checks the gate itself on the toy course), so here it is off.
    config.SolutionGate.enabled = False
    source, release = notebooks(lab)
    nb = corpus.solution_submission(source, release)
    for answer, name in plan["mistakes"]:
        cell = next(cell for cell in nb.cells if corpus._id(cell) == answer)
        cell.source = lab_mistakes.find(lab, answer, name).apply(cell.source)
    submitted = course / "submitted" / "mallory" / lab
    submitted.mkdir(parents=True)
    nbformat.write(nb, submitted / f"{lab}.ipynb")
    saved_path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + saved_path
    try:
        api = NbGraderAPI(config=config)
        for step in (api.generate_assignment(lab, force=True), api.autograde(lab, "mallory", force=True, create=True)):
            assert step["success"], step.get("error") or step.get("log")
        with api.gradebook as gradebook:
            notebook = gradebook.find_submission_notebook(lab, lab, "mallory")
            scores = {grade.name: grade.score for grade in notebook.grades}
    finally:
        os.environ["PATH"] = saved_path
    assert scores == plan["scores"]
    graded = nbformat.read(course / "autograded" / "mallory" / lab / f"{lab}.ipynb", as_version=4)
    errors = {corpus._id(cell): error_of(cell) for cell in graded.cells if corpus._id(cell)}
    for test, piece in plan["named"]:
        assert errors[test] and piece in errors[test], errors[test]

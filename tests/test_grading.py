"""Tests of safe batch grading (package ``grader``): the full nbgrader cycle, a corpus of bad
submissions for every lab, and hostile submissions that attack the grader.

One course folder (in the temp folder, world-traversable like a real course) serves every test;
nbgrader's one-off costs (its import, creating the gradebook) are paid once. Kernels start in the
sandbox, so each graded submission costs a kernel start (1-3 s) plus its cells.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import stat
import tempfile

import grading_corpus as corpus
import nbformat
import pytest
from traitlets.config import Config

from grader import grade_batch
from grader.__main__ import main as grader_main
from grader.batch import LMS_PATTERNS, AnyFileCollector, FolderCollector, suspicious_code
from grader.collect import _folder_prefixes
from grader.execute import TRUNCATION_NOTE, cap_cell_outputs
from grader.feedback import HIDDEN_NOTE, HideHiddenTests
from grader.restore import restore_missing_cells
from grader.sandbox import detect_isolation, protect_course_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABS = sorted(
    name for name in os.listdir(os.path.join(REPO, "solutions"))
    if os.path.isfile(os.path.join(REPO, "solutions", name, f"{name}.ipynb"))
) if os.path.isdir(os.path.join(REPO, "solutions")) else []
if os.environ.get("GRADER_TEST_LABS"):  # e.g. "lab1_conv_pool" for a quick local run; CI runs all
    LABS = [lab for lab in LABS if lab in os.environ["GRADER_TEST_LABS"].split(",")]
# The corpus's endless loops time out after LOOP_TIMEOUT seconds (toy) or LAB_LOOP_TIMEOUT (labs)
# instead of the shipped 60 s (checked separately), so the corpus stays cheap; every other cell
# keeps the shipped limit, so a slow machine cannot make a correct cell time out.
LOOP_TIMEOUT = 5
LAB_LOOP_TIMEOUT = 10
CELL_TIMEOUT = 60


def nbgrader_config(course: str) -> None:
    shipped = os.path.join(REPO, "nbgrader_config.py")
    if os.path.isfile(shipped):
        shutil.copy(shipped, os.path.join(course, "nbgrader_config.py"))
    else:
        with open(os.path.join(course, "nbgrader_config.py"), "w") as handle:
            handle.write(
                "c = get_config()  # noqa: F821\n"
                "c.CourseDirectory.source_directory = 'solutions'\n"
                "c.CourseDirectory.release_directory = 'labs'\n"
                "c.ExecutePreprocessor.timeout = 60\n"
            )


@pytest.fixture(scope="session")
def course():
    """A course folder with the toy assignment generated; removed at the end."""
    root = tempfile.mkdtemp(prefix="grading-course-")
    os.chmod(root, 0o755)  # like a course in a home folder: other accounts may traverse it
    nbgrader_config(root)
    os.makedirs(os.path.join(root, "solutions", "toy"))
    nbformat.write(corpus.toy_source(), os.path.join(root, "solutions", "toy", "toy.ipynb"))
    from nbgrader.apps.api import NbGraderAPI

    from grader.config import load_course_config

    result = NbGraderAPI(config=load_course_config(root)).generate_assignment("toy")
    assert result["success"], result.get("error")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def lab_course():
    """An empty course folder of its own for one lab's corpus: the labs' corpora run in groups of their
    own (tests/conftest.py), in any order around the toy tests, so they share no gradebook with them."""
    root = tempfile.mkdtemp(prefix="grading-lab-course-")
    os.chmod(root, 0o755)
    nbgrader_config(root)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def notebooks(root: str, assignment: str):
    src = nbformat.read(os.path.join(root, "solutions", assignment, f"{assignment}.ipynb"), as_version=4)
    rel = nbformat.read(os.path.join(root, "labs", assignment, f"{assignment}.ipynb"), as_version=4)
    return src, rel


def short_timeouts(loop: int = LOOP_TIMEOUT, other: int = CELL_TIMEOUT) -> Config:
    """Test configuration: ``loop`` seconds for the corpus's endless loops, ``other`` for the rest."""

    def per_cell(cell) -> int:
        return loop if cell.source.startswith((corpus.ENDLESS_LOOP, corpus.STUBBORN_LOOP)) else other

    config = Config()
    config.SafeExecute.timeout = other
    config.SafeExecute.timeout_func = per_cell
    return config


def gradebook_rows(root: str, assignment: str) -> dict[str, float]:
    """Total auto score per student, read straight from the sqlite file."""
    with sqlite3.connect(os.path.join(root, "gradebook.db")) as db:
        rows = db.execute(
            "select submitted_assignment.student_id, sum(coalesce(grade.auto_score, 0)) "
            "from grade join submitted_notebook on grade.notebook_id = submitted_notebook.id "
            "join submitted_assignment on submitted_notebook.assignment_id = submitted_assignment.id "
            "join assignment on submitted_assignment.assignment_id = assignment.id "
            "where assignment.name = ? group by submitted_assignment.student_id",
            (assignment,),
        ).fetchall()
    return {student: score for student, score in rows}


# ---------------------------------------------------------------- units, no kernel


def test_shipped_config_caps_cell_time_at_a_minute():
    shipped = os.path.join(REPO, "nbgrader_config.py")
    if not os.path.isfile(shipped):
        pytest.skip("nbgrader_config.py not in the repository yet")
    from grader.config import load_course_config

    config = load_course_config(REPO)
    assert 0 < config.ExecutePreprocessor.timeout <= 60


@pytest.mark.parametrize("limit", [100, 1000])
def test_cap_cell_outputs_keeps_what_grading_reads(limit):
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a" * 5000),
        nbformat.v4.new_output("stream", name="stderr", text="warning " * 500),
        nbformat.v4.new_output("execute_result", data={"text/plain": "0.5"}, execution_count=1),
        nbformat.v4.new_output("display_data", data={"image/png": "b" * 5000}),
        nbformat.v4.new_output("error", ename="AssertionError", evalue="e" * 9000, traceback=["t" * 9000] * 200),
    ]
    dropped = cap_cell_outputs(cell, limit=limit)
    kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
    assert ("stream", "stderr") in kinds and ("error", None) in kinds and ("execute_result", None) in kinds
    assert ("display_data", None) not in kinds
    assert dropped > 5000
    error = next(o for o in cell.outputs if o.output_type == "error")
    assert len(error.traceback) <= 61 and max(map(len, error.traceback)) < 4200
    assert any(TRUNCATION_NOTE[:25] in o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_hide_hidden_tests_removes_code_traces_and_echoes():
    source = "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 4, 'f is wrong on two'\n### END HIDDEN TESTS"
    test = nbformat.v4.new_code_cell(source)
    test.outputs = [nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="f is wrong on two",
        traceback=["\x1b[0;31massert f(2) == 4, 'f is wrong on two'\x1b[0m", "AssertionError: f is wrong on two"],
    )]
    echo = nbformat.v4.new_code_cell("print(In)")
    echo.outputs = [nbformat.v4.new_output("stream", name="stdout", text="['', \"assert f(2) == 4, 'f is wrong on two'\"]")]
    nb = nbformat.v4.new_notebook(cells=[test, echo])
    HideHiddenTests().preprocess(nb, {})
    assert "f(2)" not in nb.cells[0].source and HIDDEN_NOTE in nb.cells[0].source
    assert nb.cells[0].outputs[0].traceback == ["AssertionError: f is wrong on two"]
    assert "f(2)" not in nb.cells[1].outputs[0].text


def test_restore_puts_deleted_cells_back_in_release_order():
    def cell(name, source=""):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": name}})

    release = [cell("setup"), cell("a"), cell("test_a"), cell("b"), cell("test_b1"), cell("test_b2")]
    order = [corpus._id(c) for c in release]
    helper = nbformat.v4.new_code_cell("helper = 1")
    nb = nbformat.v4.new_notebook(cells=[cell("a", "answer"), helper, cell("b", "answer")])
    wanted = {name: {} for name in ("setup", "test_a", "test_b1", "test_b2")}
    restored = restore_missing_cells(nb, cells=wanted, order=order, templates={c_id: c for c_id, c in zip(order, release)})
    assert restored == ["setup", "test_a", "test_b1", "test_b2"]
    # a restored test runs after the helper cell the student added for its question
    assert [corpus._id(c) for c in nb.cells] == ["setup", "a", None, "test_a", "b", "test_b1", "test_b2"]


def test_protect_course_files_hides_and_restores_modes(tmp_path):
    (tmp_path / "gradebook.db").write_text("")
    (tmp_path / "solutions").mkdir()
    (tmp_path / ".venv").mkdir()
    os.chmod(tmp_path, 0o777)
    before = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    with protect_course_files(str(tmp_path), readable=[".venv"]) as changed:
        assert stat.S_IMODE((tmp_path / "gradebook.db").stat().st_mode) & 0o077 == 0
        assert stat.S_IMODE((tmp_path / "solutions").stat().st_mode) & 0o077 == 0
        assert stat.S_IMODE((tmp_path / ".venv").stat().st_mode) == before[".venv"]
        assert stat.S_IMODE(tmp_path.stat().st_mode) & 0o066 == 0
        assert str(tmp_path / "solutions") in changed
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == before
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o777


@pytest.mark.parametrize("lms, path, student, file_id", [
    ("canvas", "/x/extracted/all/doejane_123456_7890_lab1_conv_pool.ipynb", "123456", "lab1_conv_pool.ipynb"),
    ("canvas", "/x/extracted/all/doejane_LATE_123456_7890_lab1_conv_pool-1.ipynb", "123456", "lab1_conv_pool-1.ipynb"),
    ("moodle", "/x/extracted/all/Jane Doe_4242_assignsubmission_file_/lab1.ipynb", "4242", "lab1.ipynb"),
    ("blackboard", "/x/extracted/all/lab1_jdoe_attempt_2026-01-30-15-00-00_lab1_conv_pool.ipynb", "jdoe",
     "lab1_conv_pool.ipynb"),
])
def test_lms_layouts_name_the_student_and_the_file(lms, path, student, file_id):
    collector = AnyFileCollector(named_regexp=LMS_PATTERNS[lms])
    found = collector.collect(path)
    assert (found["student_id"], found["file_id"]) == (student, file_id)


def test_folder_layout_skips_wrappers_and_keeps_subfolders():
    extracted = "/x/extracted"
    files = [f"{extracted}/dl/submissions/alice/lab.ipynb", f"{extracted}/dl/submissions/bob/data/x.csv",
             f"{extracted}/dl/submissions/bob/lab.ipynb", f"{extracted}/dl/submissions/__MACOSX/._lab.ipynb"]
    collector = FolderCollector()
    collector.prefixes = _folder_prefixes(extracted, files[:3])
    assert collector.collect(files[1]) == {"student_id": "bob", "file_id": "data/x.csv"}
    assert collector.collect(files[0])["student_id"] == "alice"
    assert collector.collect(files[3]) is None


def test_suspicious_code_is_flagged_only_in_student_cells():
    student = nbformat.v4.new_code_cell("get_ipython().input_transformers_post.append(lambda lines: [])")
    locked = nbformat.v4.new_code_cell("import ctypes", metadata={"nbgrader": {"locked": True}})
    flags = suspicious_code(nbformat.v4.new_notebook(cells=[student, locked]))
    assert any("get_ipython" in flag for flag in flags)
    assert not any("ctypes" in flag for flag in flags)


def test_predicted_toy_scores_match_a_reading_by_hand():
    source = corpus.toy_source()
    release = source  # test cells hold hidden tests either way; answers come from the source
    nb, predicted, done = corpus.defects_submission(source, release)
    # double: syntax error, total: exception (and it uses double), square: endless loop
    assert predicted == {"test_double": 0.0, "test_total": 0.0, "test_square": 0.0, "test_mean": 1.0}
    assert "test test_double edited to pass" in done and "test test_mean deleted" in done


def test_batch_refuses_bad_options_before_grading(course):
    with pytest.raises(ValueError, match="lms must be one of"):
        grade_batch("toy", course_root=course, lms="blackbored", progress=None)
    with pytest.raises(ValueError, match="no source folder"):
        grade_batch("lab9_missing", course_root=course, progress=None)
    weak = Config()
    weak.SandboxKernelManager.landlock = "off"
    weak.SandboxKernelManager.sandbox_user = "none"
    with pytest.raises(ValueError, match="require_isolation"):
        grade_batch("toy", course_root=course, config=weak, require_isolation=True, progress=None)


# ---------------------------------------------------------------- toy course, with kernels


def test_toy_full_cycle_and_corpus(course):
    source, release = notebooks(course, "toy")
    solution = corpus.solution_submission(source, release)
    defects, predicted, done = corpus.defects_submission(source, release)

    def damaged(answer: str, prefix: str):
        nb = corpus.solution_submission(source, release)
        cell = next(c for c in nb.cells if corpus._id(c) == answer)
        cell.source = prefix + "\n" + cell.source
        return nb

    stubborn = damaged("square", corpus.STUBBORN_LOOP)  # ignores the interrupt: the kernel is replaced
    crash = damaged("total", "import os\nos._exit(3)")  # kills the kernel
    points = {corpus._id(c): float(c.metadata.nbgrader["points"]) for c in source.cells if corpus.is_test(c)}
    expected = {
        "alice": points,
        "bob": dict.fromkeys(points, 0.0),
        "carol": predicted,
        "erin": points,
        "gina": corpus.predict_scores(corpus.model_cells(stubborn, source, fails={"square": "restart"})),
        "hank": corpus.predict_scores(corpus.model_cells(crash, source, fails={"total": "restart"})),
    }
    # the earlier cells run again in the new kernel, so only the failing answer's tests fail
    assert expected["gina"] == {"test_double": 1.0, "test_total": 2.0, "test_square": 0.0, "test_mean": 1.0}
    assert expected["hank"] == {"test_double": 1.0, "test_total": 0.0, "test_square": 1.0, "test_mean": 1.0}
    download = corpus.write_download(os.path.join(course, "toy-download.zip"), {
        "alice": {"toy.ipynb": solution},
        "bob": {"toy.ipynb": release},
        "carol": {"toy.ipynb": defects},
        "dave": {"notes.txt": b"I could not get it to work"},
        "erin": {"toy (1).ipynb": solution, "scratch.py": b"print('draft')"},
        "frank": {"toy.ipynb": b"{this is not json"},
        "gina": {"toy.ipynb": stubborn},
        "hank": {"toy.ipynb": crash},
    })
    config = short_timeouts()
    config.SafeExecute.iopub_timeout = 5
    report = grade_batch("toy", [download], course_root=course, config=config)
    results = report.by_student()

    assert sorted(results) == ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank"]
    for student, cells in expected.items():
        assert results[student].status == "graded", (student, results[student].reasons)
        assert results[student].cell_scores == cells, (student, done if student == "carol" else "")
    assert results["carol"].restored_cells == ["test_mean"]
    assert any("CellTimeoutError" in reason for reason in results["carol"].reasons)
    assert any("CellTimeoutError" in reason for reason in results["gina"].reasons)
    assert any("DeadKernelError" in reason for reason in results["hank"].reasons)
    assert any("renamed toy (1).ipynb" in reason for reason in results["erin"].reasons)
    assert results["dave"].status == "missing" and "notes.txt" in results["dave"].reasons[0]
    assert results["frank"].status == "missing" and "not a readable notebook" in results["frank"].reasons[0]

    # nothing lost: a grade row, a line in grades.csv and a feedback page for everyone
    assert set(gradebook_rows(course, "toy")) == set(results)
    with open(report.grades_csv) as handle:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle) if row["assignment"] == "toy"}
    assert {student: exported.get(student) for student in results} == {s: r.score for s, r in results.items()}
    # nbgrader's export also lists, at 0, every other student of the gradebook who has no toy submission
    # (none here, unless a test graded others in this course before)
    others = set(exported) - set(results)
    assert not others & set(gradebook_rows(course, "toy")) and all(exported[s] == 0.0 for s in others), others
    for result in results.values():
        assert result.feedback and os.path.isfile(result.feedback), result.student
        with open(result.feedback, encoding="utf-8") as handle:
            page = handle.read()
        assert corpus.CANARY_HIDDEN not in page and "BEGIN HIDDEN TESTS" not in page
    with open(report.report_csv) as handle:
        assert {row["student_id"] for row in csv.DictReader(handle)} == set(results)

    # the 32 MB print was cut in the kernel and again by the grader
    graded = os.path.join(course, "autograded", "carol", "toy", "toy.ipynb")
    assert os.path.getsize(graded) < 2_000_000
    assert "output truncated" in corpus.outputs_text(graded)


def hostile_batch(course, attacks, *, students, config=None, solution_check=True):
    source, release = notebooks(course, "toy")
    solution = corpus.solution_submission(source, release)
    files = {name: {"toy.ipynb": corpus.hostile_submission(solution, attacks[theme])} for name, theme in students.items()}
    download = corpus.write_download(os.path.join(course, "hostile-download.zip"), files)
    os.environ["GRADER_TEST_SECRET"] = "not-for-students-5b1e"
    try:
        return grade_batch("toy", [download], course_root=course, config=config or short_timeouts(),
                           solution_check=solution_check)
    finally:
        del os.environ["GRADER_TEST_SECRET"]


def assert_unharmed(course, report, before, victims, *, refused=lambda student: True):
    """Gradebook, source and other submissions intact; nothing leaked into outputs or feedback.

    The instructor's copy (autograded) may show hidden tests (``print(In)``); feedback may not.
    """
    assert_course_intact(course, before, victims)
    for result in report.results:
        assert result.status == "graded", (result.student, result.reasons)
        assert result.score == 5.0, (result.student, result.cell_scores)
        graded = os.path.join(course, "autograded", result.student, "toy", "toy.ipynb")
        shown = corpus.outputs_text(graded)
        with open(result.feedback, encoding="utf-8") as handle:
            page = handle.read()
        for text in (shown, page):
            assert "ATTACK-DONE" not in text
            assert corpus.CANARY_SOLUTION not in text
            assert "not-for-students-5b1e" not in text
        where = page.find(corpus.CANARY_HIDDEN)
        assert where < 0, (result.student, page[max(0, where - 300):where + 50])
        if refused(result.student):  # the attacks did run, and were refused
            assert any(word in shown for word in ("PermissionError", "Permission denied", "not allowed",
                                                  "Operation not permitted")), result.student


def assert_course_intact(course, before, victims):
    """The source, the victims' submissions and every grade in ``before`` are unchanged."""
    assert corpus.digest(os.path.join(course, "solutions", "toy", "toy.ipynb")) == before["source"]
    for victim in victims:
        assert corpus.digest(os.path.join(course, "submitted", victim, "toy", "toy.ipynb")) == before[victim]
    rows = gradebook_rows(course, "toy")
    for student, score in before["rows"].items():
        assert rows.get(student) == score, student


def snapshot(course, victims):
    """Digests and grade rows before an attack; grades the victims first if no test did yet."""
    rows = gradebook_rows(course, "toy")
    missing = [victim for victim in victims if victim not in rows
               or not os.path.isfile(os.path.join(course, "submitted", victim, "toy", "toy.ipynb"))]
    if missing:
        source, release = notebooks(course, "toy")
        for victim in missing:
            folder = os.path.join(course, "submitted", victim, "toy")
            os.makedirs(folder, exist_ok=True)
            nbformat.write(corpus.solution_submission(source, release), os.path.join(folder, "toy.ipynb"))
        grade_batch("toy", course_root=course, students=missing, config=short_timeouts())
    before = {"source": corpus.digest(os.path.join(course, "solutions", "toy", "toy.ipynb")),
              "rows": gradebook_rows(course, "toy")}
    for victim in victims:
        before[victim] = corpus.digest(os.path.join(course, "submitted", victim, "toy", "toy.ipynb"))
    return before


def test_hostile_submissions_cannot_touch_the_course(course):
    plan = detect_isolation()
    attacks = corpus.hostile_cells(course=course, victim="alice", assignment="toy", ctypes_variants=plan.kernel_enforced)
    attacks["environment"] = ["import os\nprint(dict(os.environ))\nif 'GRADER_TEST_SECRET' in os.environ:\n"
                              "    print('ATTACK' '-DONE environment')"]
    # several attacks per submission (each in its own cell, so each runs) keeps the test short
    groups = {
        "mallory_writer": ["truncate_relative", "delete_absolute", "overwrite_victim", "write_source"],
        "mallory_reader": ["read_solutions", "read_gradebook", "environment"],
    }
    if plan.kernel_enforced:
        groups["mallory_ctypes"] = ["ctypes"]
    combined = {student: [cell for theme in themes for cell in attacks[theme]] for student, themes in groups.items()}
    before = snapshot(course, ["alice", "bob"])
    report = hostile_batch(course, combined, students={student: student for student in groups})
    assert sorted(result.student for result in report.results) == sorted(groups)
    assert_unharmed(course, report, before, ["alice", "bob"])
    if plan.kernel_enforced:
        assert any("ctypes" in flag for flag in report.by_student()["mallory_ctypes"].flags)


@pytest.mark.parametrize("layer", ["audit hook alone", "operating system alone"])
def test_each_sandbox_layer_stops_attacks_alone(course, layer):
    config = short_timeouts()
    if layer == "audit hook alone":
        config.SandboxKernelManager.landlock = "off"
        config.SandboxKernelManager.sandbox_user = "none"  # as root: root without capabilities
        ctypes_variants = False  # C-level calls pass Python's audit hook: only the OS layers stop them
    else:
        if not detect_isolation().kernel_enforced:
            pytest.skip("no operating-system layer here: neither Landlock nor a separate kernel user")
        config.SandboxKernelManager.audit_hook = False
        ctypes_variants = True
    attacks = corpus.hostile_cells(course=course, victim="alice", assignment="toy", ctypes_variants=ctypes_variants)
    every = [cell for cells in attacks.values() for cell in cells]
    before = snapshot(course, ["alice"])
    # No solution check: assert_unharmed asserts mallory_all's answers (the solution's) earn 5 / 5
    # in this very sandbox, which is all the check would prove (and its other settings would make it
    # grade the solution once more).
    report = hostile_batch(course, {"all": every}, students={"mallory_all": "all"}, config=config, solution_check=False)
    assert_unharmed(course, report, before, ["alice"])


def test_plain_nbgrader_commands_are_sandboxed_by_the_shipped_config(course):
    """`nbgrader autograde` and `nbgrader generate_feedback`, as an instructor types them, with the
    shipped nbgrader_config.py: the attacks are refused and the hidden tests stay out of feedback."""
    import subprocess
    import sys

    attacks = corpus.hostile_cells(course=course, victim="alice", assignment="toy", ctypes_variants=False)
    cells = [cell for theme in ("write_source", "read_solutions", "delete_absolute", "overwrite_victim")
             for cell in attacks[theme]]
    before = snapshot(course, ["alice"])
    source, release = notebooks(course, "toy")
    folder = os.path.join(course, "submitted", "mallory_plain", "toy")
    os.makedirs(folder, exist_ok=True)
    nbformat.write(corpus.hostile_submission(corpus.solution_submission(source, release), cells),
                   os.path.join(folder, "toy.ipynb"))
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    for step in ("autograde", "generate_feedback"):
        done = subprocess.run([os.path.join(bin_dir, "nbgrader"), step, "toy", "--student", "mallory_plain", "--force"],
                              cwd=course, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    graded = os.path.join(course, "autograded", "mallory_plain", "toy", "toy.ipynb")
    shown = corpus.outputs_text(graded)
    assert "ATTACK-DONE" not in shown
    assert any(word in shown for word in ("PermissionError", "Permission denied", "not allowed",
                                          "Operation not permitted")), shown[-2000:]
    assert gradebook_rows(course, "toy")["mallory_plain"] == 5.0
    feedback = os.path.join(course, "feedback", "mallory_plain", "toy", "toy.html")
    with open(feedback, encoding="utf-8") as handle:
        page = handle.read()
    assert corpus.CANARY_HIDDEN not in page and corpus.CANARY_SOLUTION not in page
    assert_course_intact(course, before, ["alice"])


def test_command_line_regrades_what_was_collected(course, capsys):
    source, release = notebooks(course, "toy")
    folder = os.path.join(course, "submitted", "alice", "toy")
    os.makedirs(folder, exist_ok=True)
    nbformat.write(corpus.solution_submission(source, release), os.path.join(folder, "toy.ipynb"))
    # --no-solution-check: alice's 5 / 5 below is the solution graded in the same sandbox, which is
    # what the check would prove (--timeout 30 is another setting, so it would grade it once more)
    code = grader_main(["batch", "toy", "--course-dir", course, "--student", "alice", "--timeout", "30",
                        "--no-solution-check"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "alice" in printed and "5 / 5" in printed and "Sandbox:" in printed
    assert "Solution check" not in printed


# ---------------------------------------------------------------- the course's labs


REFERENCE_LABS = ("lab3_overfitting", "lab4_transfer_gradcam")  # locked cells that train through labtools.reference


@pytest.mark.skipif(not LABS, reason="no labs in solutions/ yet")
@pytest.mark.parametrize("lab", LABS)
def test_lab_corpus(lab_course, lab):
    course = lab_course
    shutil.copytree(os.path.join(REPO, "solutions", lab), os.path.join(course, "solutions", lab))
    from nbgrader.apps.api import NbGraderAPI

    from grader.config import load_course_config

    result = NbGraderAPI(config=load_course_config(course)).generate_assignment(lab)
    assert result["success"], result.get("error")
    source, release = notebooks(course, lab)
    points = {corpus._id(c): float(c.metadata.nbgrader["points"]) for c in source.cells if corpus.is_test(c)}
    defects, predicted, done = corpus.defects_submission(source, release)
    files = {
        "solution": {f"{lab}.ipynb": corpus.solution_submission(source, release)},
        "untouched": {f"{lab}.ipynb": release},
        "defects": {f"{lab}.ipynb": defects},
        "missing": {"answers.pdf": b"%PDF-1.4 not a notebook"},
    }
    download = corpus.write_download(os.path.join(course, f"{lab}-download.zip"), files)
    # Labs 1 and 2, no solution check: the "solution" student is the lab's solution graded in the same
    # batch, sandbox and worker, and its full marks are asserted cell by cell below (the check would
    # grade the same answers once more first). Labs 3 and 4 keep it: the check trains their reference
    # models once and publishes them, so every student below is graded on the cached path and must
    # still earn exactly the points predicted for it (tests/test_reference_cache.py compares cached
    # and uncached grades cell by cell on lab 4).
    cached = lab in REFERENCE_LABS
    report = grade_batch(lab, [download], course_root=course, config=short_timeouts(loop=LAB_LOOP_TIMEOUT),
                         solution_check=cached)
    if cached:
        from grader.check import reference_digests

        assert reference_digests(course, lab), "the solution check published no reference models"
    results = report.by_student()
    assert results["solution"].cell_scores == points, results["solution"].reasons
    assert results["solution"].score == sum(points.values())
    assert results["untouched"].score == 0, results["untouched"].cell_scores
    assert results["defects"].cell_scores == predicted, (done, results["defects"].reasons)
    assert results["missing"].status == "missing" and results["missing"].score == 0
    for result in results.values():
        assert result.feedback and os.path.isfile(result.feedback)
    print(f"\n{lab}: {done}\n{report.table()}")


# ---------------------------------------------------------------- many workers, resume, shards, environment


def test_shards_split_every_student_into_exactly_one():
    from grader.shard import in_shard, parse_shard, shard_of

    students = [f"s{index:04d}" for index in range(600)] + ["alice", "bob@uni.edu", "x.y-z"]
    for count in (1, 2, 3, 7):
        owners = {student: [k for k in range(count) if in_shard(student, k, count)] for student in students}
        assert all(len(found) == 1 for found in owners.values())
        assert all(shard_of(student, count) == found[0] for student, found in owners.items())
        sizes = [sum(found == [k] for found in owners.values()) for k in range(count)]
        assert min(sizes) > len(students) / count * 0.7  # the hash spreads students evenly
    assert shard_of("alice", 3) == int.from_bytes(__import__("hashlib").sha256(b"alice").digest()[:8], "big") % 3
    assert parse_shard("2/3") == (2, 3) and parse_shard((0, 1)) == (0, 1) and parse_shard(None) == (0, 1)
    for bad in ("3/3", "-1/2", "1", "a/b", "1/0"):
        with pytest.raises(ValueError, match="shard must be 'K/N'"):
            parse_shard(bad)


def test_progress_bar_counts_rate_and_time_left():
    from grader.report import Progress

    now = [0.0]
    bar = Progress(4, width=8, stream=open(os.devnull, "w"), clock=lambda: now[0])
    now[0] = 30.0
    assert bar.step() == "[##......] 1/4 2.0/min, 00:01:30 left"
    now[0] = 60.0
    assert bar.step(3) == "[########] 4/4 4.0/min, 00:00:00 left"


def test_kernels_may_read_every_import_path_and_nothing_else_of_the_course():
    """cnnkit and grader are editable installs of this repository: their folders are readable,
    the rest of the repository (solutions, tests, the gradebook) is not."""
    import importlib.util
    import site

    from grader.sandbox import kernel_read_paths

    paths = kernel_read_paths()
    for package in ("cnnkit", "numpy", "nbformat"):
        folder = os.path.realpath(os.path.dirname(importlib.util.find_spec(package).origin))
        assert any(folder == path or folder.startswith(path + os.sep) for path in paths), package
    assert all(os.path.realpath(entry) in paths for entry in site.getsitepackages() if os.path.isdir(entry))
    repo = os.path.realpath(REPO)
    inside = {os.path.relpath(path, repo) for path in paths if path.startswith(repo + os.sep)}
    assert inside <= {"cnnkit", "grader", ".venv"} | {p for p in inside if p.startswith(".venv" + os.sep)}, inside


def test_deploy_recipes_are_valid():
    import subprocess

    import yaml

    for name in ("grade-job.yaml", "merge-job.yaml"):
        with open(os.path.join(REPO, "deploy", "k8s", name)) as handle:
            job = yaml.safe_load(handle)
        assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job", name
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] in ("Never", "OnFailure") and pod["containers"][0]["image"], name
        script = pod["containers"][0]["args"][0]
        assert ("grader batch" if name.startswith("grade") else "grader merge") in script, name
    grade = yaml.safe_load(open(os.path.join(REPO, "deploy", "k8s", "grade-job.yaml")))
    assert grade["spec"]["completionMode"] == "Indexed"
    assert "--shard \"${SHARD}/${SHARDS}\"" in grade["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert "JOB_COMPLETION_INDEX" in grade["spec"]["template"]["spec"]["containers"][0]["args"][0]
    for name in ("grade.sbatch", "merge.sbatch"):
        path = os.path.join(REPO, "deploy", "slurm", name)
        done = subprocess.run(["bash", "-n", path], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "#SBATCH" in open(path).read()
    assert "SLURM_ARRAY_TASK_ID" in open(os.path.join(REPO, "deploy", "slurm", "grade.sbatch")).read()


def submit(root: str, student: str, nb, assignment: str = "toy") -> None:
    folder = os.path.join(root, "submitted", student, assignment)
    os.makedirs(folder, exist_ok=True)
    nbformat.write(nb, os.path.join(folder, f"{assignment}.ipynb"))


def test_resume_grades_only_what_is_new_and_regrade_forces(course):
    source, release = notebooks(course, "toy")
    solution = corpus.solution_submission(source, release)
    submit(course, "rita", solution)
    submit(course, "ravi", release)
    config = short_timeouts()
    first = grade_batch("toy", course_root=course, students=["rita", "ravi"], config=config, workers=2, progress=None)
    assert {r.student: r.score for r in first.results} == {"rita": 5.0, "ravi": 0.0} and not first.resumed
    again = grade_batch("toy", course_root=course, students=["rita", "ravi"], config=config, progress=None)
    assert sorted(again.resumed) == ["ravi", "rita"]
    assert {r.student: (r.score, r.cell_scores) for r in again.results} == {
        r.student: (r.score, r.cell_scores) for r in first.results}
    submit(course, "ravi", solution)  # a new upload is graded again, the other one is not
    third = grade_batch("toy", course_root=course, students=["rita", "ravi"], config=config, progress=None)
    assert third.resumed == ["rita"] and third.by_student()["ravi"].score == 5.0
    assert gradebook_rows(course, "toy")["ravi"] == 5.0
    # regrade (which forces the solution check) and other settings (a check of their own): no check,
    # rita's 5 / 5 is the solution graded again in the same sandbox
    forced = grade_batch("toy", course_root=course, students=["rita"], config=config, regrade=True, progress=None,
                         solution_check=False)
    assert forced.resumed == [] and forced.by_student()["rita"].score == 5.0
    other = short_timeouts(loop=LOOP_TIMEOUT + 1)  # other settings: graded again
    assert grade_batch("toy", course_root=course, students=["rita"], config=other, progress=None,
                       solution_check=False).resumed == []
    # each lab has its own grades file
    assert os.path.basename(forced.grades_csv) == "grades-toy.csv"


def test_dead_worker_costs_only_its_submission(course, monkeypatch):
    import signal

    from grader import workers

    source, release = notebooks(course, "toy")
    solution = corpus.solution_submission(source, release)
    for student in ("wally", "wanda", "willa"):
        submit(course, student, solution)
    real = workers.grade_student

    def dies_on_wanda(job, student):  # as if the kernel's memory took the worker down with it
        if student == "wanda":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(job, student)

    monkeypatch.setattr(workers, "grade_student", dies_on_wanda)
    # no solution check (regrade would force one): wally's and willa's 5 / 5 are the solution graded
    report = grade_batch("toy", course_root=course, students=["wally", "wanda", "willa"], config=short_timeouts(),
                         workers=2, regrade=True, progress=None, solution_check=False)
    results = report.by_student()
    assert results["wally"].score == results["willa"].score == 5.0
    assert results["wanda"].status == "error" and results["wanda"].score == 0
    assert "SIGKILL" in results["wanda"].reasons[0], results["wanda"].reasons
    assert gradebook_rows(course, "toy")["wanda"] == 0 and os.path.isfile(results["wanda"].feedback)


def test_solution_check_stops_before_any_grade(course):
    """A sandbox that cannot read numpy (as one that could not read an editable cnnkit): the
    lab's own solution fails, the batch stops before any student's grade and says why."""
    import numpy

    from grader.check import SolutionCheckError

    source, release = notebooks(course, "toy")
    submit(course, "sam", corpus.solution_submission(source, release))
    before = gradebook_rows(course, "toy")
    config = short_timeouts()
    config.SandboxKernelManager.protected_paths = [os.path.dirname(numpy.__file__)]
    with pytest.raises(SolutionCheckError, match=r"(?s)solution of toy scores 0 / 5.*test_double: 0 / 1.*Error"):
        grade_batch("toy", course_root=course, students=["sam"], config=config, progress=None)
    assert gradebook_rows(course, "toy") == before
    assert not os.path.exists(os.path.join(course, "autograded", "sam"))

    # plain `nbgrader autograde` with the same environment: the same check, once per run
    import subprocess
    import sys

    shipped = os.path.join(course, "nbgrader_config.py")
    with open(shipped) as handle:
        original = handle.read()
    try:
        with open(shipped, "a") as handle:
            handle.write(f"c.SandboxKernelManager.protected_paths.append({os.path.dirname(numpy.__file__)!r})\n")
        bin_dir = os.path.dirname(sys.executable)
        env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
        done = subprocess.run([os.path.join(bin_dir, "nbgrader"), "autograde", "toy", "--student", "sam", "--force"],
                              cwd=course, env=env, capture_output=True, text=True, timeout=600)
    finally:
        with open(shipped, "w") as handle:
            handle.write(original)
    assert done.returncode != 0
    assert "solution of toy scores 0 / 5" in done.stdout + done.stderr, (done.stdout + done.stderr)[-3000:]
    # nbgrader records the submission (no score) before any preprocessor runs; no score is written
    assert {student: score for student, score in gradebook_rows(course, "toy").items() if student != "sam"} == before
    with sqlite3.connect(os.path.join(course, "gradebook.db")) as db:
        scored = db.execute(
            "select count(*) from grade join submitted_notebook on grade.notebook_id = submitted_notebook.id "
            "join submitted_assignment on submitted_notebook.assignment_id = submitted_assignment.id "
            "where submitted_assignment.student_id = 'sam' and grade.auto_score is not null").fetchone()[0]
    assert scored == 0


def test_shards_merged_equal_one_run(course, tmp_path):
    """The same download graded in one run (2 workers) and as 3 shards, each in its own process
    on its own copy of the course, then merged: the same result for every student."""
    import subprocess
    import sys

    source, release = notebooks(course, "toy")
    solution = corpus.solution_submission(source, release)
    defects, predicted, _ = corpus.defects_submission(source, release)
    partial = corpus.solution_submission(source, release)
    next(c for c in partial.cells if corpus._id(c) == "total").source = corpus.EXCEPTION
    files = {"ann": {"toy.ipynb": solution}, "ben": {"toy.ipynb": release}, "cat": {"toy.ipynb": defects},
             "dan": {"notes.txt": b"no notebook"}, "eve": {"toy.ipynb": partial}, "fay": {"toy.ipynb": solution}}
    download = corpus.write_download(str(tmp_path / "download.zip"), files)

    def fresh(name: str) -> str:
        root = str(tmp_path / name)
        os.makedirs(os.path.join(root, "solutions"))
        shutil.copytree(os.path.join(course, "solutions", "toy"), os.path.join(root, "solutions", "toy"))
        nbgrader_config(root)
        with open(os.path.join(root, "nbgrader_config.py"), "a") as handle:  # the corpus's short loop time-out
            handle.write(f"c.SafeExecute.timeout = {CELL_TIMEOUT}\nc.SafeExecute.notebook_timeout = 300\n"
                         f"c.SafeExecute.timeout_func = lambda cell: {LOOP_TIMEOUT} if cell.source.startswith("
                         f"({corpus.ENDLESS_LOOP!r}, {corpus.STUBBORN_LOOP!r})) else {CELL_TIMEOUT}\n")
        return root

    whole = fresh("whole")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    # --no-solution-check: four course folders would grade the solution four times more; ann's and
    # fay's 5 / 5 (the solution, in each run) are asserted below
    command = [sys.executable, "-m", "grader", "batch", "toy", download, "--no-solution-check", "--workers", "1"]
    shards = [fresh(f"shard{k}") for k in range(3)]
    running = [subprocess.Popen(command + ["--course-dir", root, "--shard", f"{k}/3"], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for k, root in enumerate(shards)]
    one = subprocess.run(command[:-1] + ["2", "--course-dir", whole], cwd=REPO, env=env, capture_output=True, text=True)
    logs = [process.communicate(timeout=600)[0] for process in running]
    assert one.returncode == 0, one.stdout[-3000:] + one.stderr[-3000:]
    assert all(process.returncode == 0 for process in running), "\n".join(log[-2000:] for log in logs)
    merged = fresh("merged")
    assert grader_main(["merge", "toy", *shards, "--course-dir", merged]) == 0

    def outcome(root):
        with open(os.path.join(root, "grades-toy.csv")) as handle:
            grades = {row["student_id"]: (row["score"], row["max_score"]) for row in csv.DictReader(handle)}
        with open(os.path.join(root, "grading-report-toy.csv")) as handle:
            report = {row["student_id"]: (row["status"], row["score"], row["reasons"], row["review_flags"],
                                          row["restored_cells"]) for row in csv.DictReader(handle)}
        with sqlite3.connect(os.path.join(root, "gradebook.db")) as db:
            cells = db.execute(
                "select submitted_assignment.student_id, base_cell.name, grade.auto_score from grade "
                "join base_cell on grade.cell_id = base_cell.id join submitted_notebook on grade.notebook_id = "
                "submitted_notebook.id join submitted_assignment on submitted_notebook.assignment_id = "
                "submitted_assignment.id order by 1, 2").fetchall()
        pages = {student: os.path.isfile(os.path.join(root, "feedback", student, "toy", "toy.html")) for student in files}
        return grades, report, cells, pages

    grades, report, cells, pages = outcome(whole)
    assert set(grades) == set(files) and all(pages.values())
    assert grades["ann"] == ("5.0", "5.0") and grades["ben"][0] == "0.0" and report["dan"][0] == "missing"
    assert {name: score for student, name, score in cells if student == "cat"} == predicted
    sharded = outcome(merged)
    for student in files:  # student by student: grades, report row, every cell, feedback page
        assert sharded[0][student] == grades[student], student
        assert sharded[1][student] == report[student], student
        assert [row for row in sharded[2] if row[0] == student] == [row for row in cells if row[0] == student], student
        assert sharded[3][student], student
    # shards graded from another version of the lab are refused
    manifest = os.path.join(shards[1], ".grader", "batch-toy.json")
    with open(manifest) as handle:
        data = json.load(handle)
    data["fingerprint"] = "0" * 64
    with open(manifest, "w") as handle:
        json.dump(data, handle)
    with pytest.raises(ValueError, match="different versions"):
        from grader.shard import merge_shards

        merge_shards("toy", shards, course_root=str(tmp_path / "merged"), progress=None)

"""No points for tampering, no false alarms (grader.tamper and the in-kernel guard).

A corpus of techniques a student could use to make wrong answers pass inside the kernel, each on
a wrong answer: every one must earn 0 for the tampered tests (prevented) or be flagged naming what
was found (detected); in practice the guard does both. Honest submissions (correct, partial,
untouched, and the course's own cells, Colab install cell included) must stay unflagged.

Cost: the techniques are cells of a few notebooks of a small numpy assignment ("guarded"), graded
as one batch shared by the tests (module-scoped fixture); lab 1 is graded once, with three
submissions, for what the issue reported there.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import tempfile
import textwrap

import grading_corpus as corpus
import nbformat
import pytest
from test_grading import nbgrader_config, notebooks, short_timeouts

from grader import grade_batch
from grader.batch import suspicious_code
from grader.tamper import FINDING_ENAME, GUARD_MARK, runtime_findings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_meta = corpus._meta
COLAB_CELL = 'import sys\n\nif "google.colab" in sys.modules:\n    print("on Colab")'


def guarded_source() -> nbformat.NotebookNode:
    """A four-point numpy assignment whose tests lean on numpy.testing, np.allclose and builtins."""
    cells = [
        nbformat.v4.new_markdown_cell("# Guarded lab", metadata=_meta("intro", locked=True)),
        nbformat.v4.new_code_cell(COLAB_CELL),
        nbformat.v4.new_code_cell("import numpy as np", metadata=_meta("setup", locked=True)),
        corpus.solution_cell("triple", "def triple(x):\n    ### BEGIN SOLUTION\n"
                                        "    return 3 * np.asarray(x, dtype=float)\n    ### END SOLUTION"),
        corpus.test_cell("test_allclose", "np.testing.assert_allclose(triple([1, 2]), [3, 6])", points=1),
        corpus.test_cell("test_np_allclose", "assert np.allclose(triple([2.0]), [6.0]), 'triple is wrong'", points=1),
        corpus.solution_cell("halve", "def halve(x):\n    ### BEGIN SOLUTION\n"
                                       "    return np.asarray(x, dtype=float) / 2\n    ### END SOLUTION"),
        corpus.test_cell("test_array_equal", "got = halve([4.0, 1.0])\nassert isinstance(got, np.ndarray), 'an array please'\n"
                         "np.testing.assert_array_equal(got, [2.0, 0.5])", points=1),
        corpus.test_cell("test_plain_assert", "assert float(halve(3.0)) == 1.5, 'halve(3) is 1.5'\n### BEGIN HIDDEN TESTS\n"
                         "np.testing.assert_allclose(halve([1.0]), [0.5])\n### END HIDDEN TESTS", points=1),
    ]
    return corpus.toy_notebook(cells)


WRONG = {  # wrong answers under every technique: each test fails honestly
    "triple": "def triple(x):\n    return 2 * np.asarray(x, dtype=float)",
    "halve": "def halve(x):\n    return np.asarray(x, dtype=float) / 3",
}

# group (one submission) -> technique -> (cells inserted after the setup cell, words its flag must contain).
# A finding is reported on the cell that caused it, so each technique is checked on its own cells.
GROUPS = {
    "t_numpy": {  # the defaults first: the replacements below would make them another function's
        "defaults": (["np.testing.assert_allclose.__defaults__ = (1e9, 1e9, True, '', True)"],
                     "rewrote the code or defaults of np.testing.assert_allclose"),
        "obfuscated assert_allclose": (['setattr(getattr(__import__("nu" + "mpy"), "tes" + "ting"), "assert_" + "allclose", '
                                        'lambda *a, **k: None)'], "replaced np.testing.assert_allclose"),
        "importlib np.allclose": (['import importlib\nm = importlib.import_module("nu" "mpy")\n'
                                   'setattr(m, "all" + "close", lambda *a, **k: True)'], "replaced np.allclose"),
        "code swap": (["np.testing.assert_array_equal.__code__ = (lambda *a, **k: None).__code__"],
                      "rewrote the code or defaults of np.testing.assert_array_equal"),
        "helper inside numpy.testing": (["import numpy.testing._private.utils as u\n"
                                         "u.assert_array_compare = lambda *a, **k: None"], "assert_array_compare"),
        "sys.modules swap": (["import sys, types\nfake = types.ModuleType('numpy.testing')\n"
                              "fake.assert_allclose = lambda *a, **k: None\nsys.modules['numpy.testing'] = fake\n"
                              "np.testing = fake"], "sys.modules['numpy.testing']"),
    },
    "t_ipython": {  # the event callback first: the AST transformer below drops expression statements
        "event callback": (["def again(*args):\n    import numpy\n    numpy.testing.assert_allclose = lambda *a, **k: None\n\n"
                            "get_ipython().events.register('pre_run_cell', again)"], "event callback"),
        "custom exception handler": (["get_ipython().set_custom_exc((AssertionError,), lambda *args, **kwargs: None)"],
                                     "custom exception handler"),
        "input transformer": (["def rewrite(lines):\n    text = ''.join(lines)\n"
                               "    return ['pass\\n'] if 'assert' in text else lines\n\n"
                               "get_ipython().input_transformers_cleanup.append(rewrite)"], "input transformers"),
        "ast transformer": (["import ast\n\nclass Drop(ast.NodeTransformer):\n"
                             "    def visit_Assert(self, node):\n        return ast.Pass()\n"
                             "    def visit_Expr(self, node):\n        return ast.Pass()\n\n"
                             "get_ipython().ast_transformers.append(Drop())"], "AST transformers"),
        "showtraceback": (["get_ipython().showtraceback = lambda *a, **k: None\n"
                           "get_ipython()._showtraceback = lambda *a, **k: None"], "showtraceback"),
    },
    "t_runtime": {
        "plain assert_allclose": (["np.testing.assert_allclose = lambda *args, **kwargs: None"],
                                  "replaced np.testing.assert_allclose"),
        "trace jumps over asserts": ([textwrap.dedent("""\
            import sys

            def skip(frame, event, arg):
                if event == 'line' and 'assert' in frame.f_code.co_names:
                    try:
                        frame.f_lineno = frame.f_lineno + 1
                    except ValueError:
                        pass
                return skip

            getattr(sys, 'set' + 'trace')(skip)""")], "trace function"),
        "profile hook": (["import sys\nsys.setprofile(lambda *a: None)"], "profile function"),
        "builtins isinstance": (["import builtins\n_isinstance = isinstance\n"
                                 "builtins.isinstance = lambda obj, kind: kind is np.ndarray or _isinstance(obj, kind)"],
                                "builtins.isinstance"),
        "builtins AssertionError": (['getattr(__import__("buil" + "tins"), "__dict__")["AssertionError"] = Warning'],
                                    "builtins.AssertionError"),
        "fake np in the namespace": (["import types\n_real = np\n"
                                      "np = types.SimpleNamespace(asarray=_real.asarray, ndarray=_real.ndarray,\n"
                                      "    allclose=lambda *a, **k: True,\n"
                                      "    testing=types.SimpleNamespace(assert_allclose=lambda *a, **k: None,\n"
                                      "                                  assert_array_equal=lambda *a, **k: None))"],
                                     "rebound np"),
        "__builtins__ of the namespace": (["import builtins, types\nfake = types.ModuleType('builtins')\n"
                                           "fake.__dict__.update(builtins.__dict__)\nfake.float = lambda x: 1.5\n"
                                           "__builtins__ = fake"], "__builtins__"),
        "garbage collector": (["import gc\nguards = [o for o in gc.get_objects() if callable(o)][:1]"], "garbage collector"),
        "thread patches later": (["import threading, numpy\nthreading.Timer(0.5, setattr, "
                                  "(numpy.testing, 'assert_allclose', lambda *a, **k: None)).start()",
                                  "import time\ntime.sleep(1.5)"], "started a thread running setattr"),
    },
    # detected, not prevented: a builtin's name rebound in the notebook could be an honest helper
    "t_shadow": {"shadowed builtin": (["def float(x):\n    return 1.5"], "shadows the builtin float")},
    "t_closed": {"channel closed": (["import os, json\nfd = json.loads(os.environ['GRADER_SANDBOX_POLICY'])['guard_fd']\n"
                                     "os.close(fd)\nnp.testing.assert_allclose = lambda *a, **k: None"],
                                    "closed the grader's report channel")},
    "t_redirected": {"channel redirected": (["import os, json\nfd = json.loads(os.environ['GRADER_SANDBOX_POLICY'])['guard_fd']\n"
                                             "keep = os.dup(fd)\nos.dup2(os.open(os.devnull, os.O_WRONLY), fd)\n"
                                             "np.testing.assert_allclose = lambda *a, **k: None"],
                                            "kept the grader's check from answering")},
}
DETECTED_ONLY = {"t_shadow"}


def submission(release, cells):
    nb = corpus.solution_submission(guarded_source(), release)
    for cell in nb.cells:
        if corpus._id(cell) in WRONG:
            cell.source = WRONG[corpus._id(cell)]
    setup = next(i for i, cell in enumerate(nb.cells) if corpus._id(cell) == "setup")
    for offset, source in enumerate(cells, start=1):
        nb.cells.insert(setup + offset, nbformat.v4.new_code_cell(source))
    return nb


def group_cells(group: str) -> list[str]:
    return [cell for cells, _ in GROUPS[group].values() for cell in cells]


@pytest.fixture(scope="module")
def course():
    root = tempfile.mkdtemp(prefix="tamper-course-")
    os.chmod(root, 0o755)
    nbgrader_config(root)
    os.makedirs(os.path.join(root, "solutions", "guarded"))
    nbformat.write(guarded_source(), os.path.join(root, "solutions", "guarded", "guarded.ipynb"))
    from nbgrader.apps.api import NbGraderAPI

    from grader.config import load_course_config

    result = NbGraderAPI(config=load_course_config(root)).generate_assignment("guarded")
    assert result["success"], result.get("error")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def graded(course):
    """Every technique (one submission each) and the honest submissions, graded as one batch."""
    source, release = notebooks(course, "guarded")
    files = {group: {"guarded.ipynb": submission(release, group_cells(group))} for group in GROUPS}
    files["honest_solution"] = {"guarded.ipynb": corpus.solution_submission(source, release)}
    files["honest_untouched"] = {"guarded.ipynb": release}
    partial = corpus.solution_submission(source, release)
    next(c for c in partial.cells if corpus._id(c) == "halve").source = WRONG["halve"]
    partial.cells.insert(3, nbformat.v4.new_code_cell("import sys\nprint(sys.version)\nhelper = [abs(-2), max(1, 2)]"))
    # an error raised inside numpy: its traceback names files of the grading machine
    partial.cells.insert(4, nbformat.v4.new_code_cell("np.testing.assert_allclose([1.0], [2.0])"))
    files["honest_partial"] = {"guarded.ipynb": partial}
    slow = corpus.solution_submission(source, release)  # halve loops forever: stopped at the time limit
    next(c for c in slow.cells if corpus._id(c) == "halve").source = corpus.ENDLESS_LOOP + "def halve(x):\n    return x"
    files["honest_slow"] = {"guarded.ipynb": slow}
    download = corpus.write_download(os.path.join(course, "tamper-download.zip"), files)
    config = short_timeouts()
    config.SafeExecute.guard_timeout = 5
    # No solution check: honest_solution, graded in this batch, must earn every point
    # (test_honest_submissions_stay_unflagged), which is what the check would prove first.
    return grade_batch("guarded", [download], course_root=course, config=config, solution_check=False)


def test_static_flags_come_only_from_code_the_student_wrote():
    release = guarded_source()
    unchanged = nbformat.v4.new_notebook(cells=[nbformat.from_dict(cell) for cell in release.cells])
    assert "edits sys.modules" in suspicious_code(unchanged)  # without the release: every unlocked cell
    assert suspicious_code(unchanged, release=release) == []
    edited = nbformat.from_dict(unchanged)
    edited.cells[1].source = COLAB_CELL + "\nsys.modules['numpy'] = None"
    edited.cells.append(nbformat.v4.new_code_cell("import builtins"))
    flags = suspicious_code(edited, release=release)
    assert "edits sys.modules" in flags and "touches builtins" in flags


def test_every_technique_earns_nothing_and_is_flagged(course, graded):
    results = graded.by_student()
    missed = []
    for group, techniques in GROUPS.items():
        result = results[group]
        assert result.status == "graded", (group, result.reasons)
        if group not in DETECTED_ONLY:
            assert result.score == 0, (group, result.cell_scores)
        nb = nbformat.read(os.path.join(course, "autograded", group, "guarded", "guarded.ipynb"), as_version=4)
        for name, (cells, words) in techniques.items():
            own = [cell for cell in nb.cells if cell.cell_type == "code" and cell.source in cells]
            found = " ".join(output.get("evalue", "") for cell in own for output in cell.outputs
                             if output.get("ename") == FINDING_ENAME)
            if words not in found:
                missed.append((name, found or [o.get("evalue", "")[:200] for c in own for o in c.outputs]))
        assert any(flag.startswith("tampering") for flag in result.flags), group
    assert not missed, missed
    # every test that ran after the channel was cut earns nothing, whatever the answers
    assert all(score == 0 for score in results["t_redirected"].cell_scores.values())


def test_honest_submissions_stay_unflagged(graded):
    results = graded.by_student()
    points = {"test_allclose": 1.0, "test_np_allclose": 1.0, "test_array_equal": 1.0, "test_plain_assert": 1.0}
    assert results["honest_solution"].cell_scores == points
    assert results["honest_partial"].cell_scores == {**points, "test_array_equal": 0.0, "test_plain_assert": 0.0}
    assert results["honest_slow"].cell_scores == {**points, "test_array_equal": 0.0, "test_plain_assert": 0.0}
    for student in ("honest_solution", "honest_untouched", "honest_partial", "honest_slow"):
        assert results[student].flags == [], (student, results[student].flags)
    assert results["honest_untouched"].score == 0


def test_findings_reach_the_report_the_feedback_and_the_formgrader(course, graded):
    student = "t_numpy"
    result = graded.by_student()[student]
    with open(graded.report_csv, encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert "replaced np.testing.assert_allclose" in rows[student]["review_flags"]
    assert rows["honest_solution"]["review_flags"] == ""
    with open(result.feedback, encoding="utf-8") as handle:
        assert FINDING_ENAME in handle.read()
    graded_nb = nbformat.read(os.path.join(course, "autograded", student, "guarded", "guarded.ipynb"), as_version=4)
    assert runtime_findings(graded_nb)
    assert GUARD_MARK not in corpus.outputs_text(os.path.join(course, "autograded", student, "guarded", "guarded.ipynb"))
    with sqlite3.connect(os.path.join(course, "gradebook.db")) as db:
        flagged = dict(db.execute(
            "select submitted_assignment.student_id, submitted_notebook.flagged from submitted_notebook "
            "join submitted_assignment on submitted_notebook.assignment_id = submitted_assignment.id").fetchall())
    assert flagged[student] and not flagged["honest_solution"]


# ---------------------------------------------------------------- lab 1, as the issue tried it

LAB1 = "lab1_conv_pool"
WRONG_HELPER = textwrap.dedent("""\
    def _off_by_one(function):
        def wrong(*args, **kwargs):
            result = function(*args, **kwargs)
            return tuple(value + 1 for value in result) if type(result) is tuple else result + 1
        return wrong""")


def lab1_submission(source, release, tampering: list[str]):
    """Lab 1 answered, then every answer made wrong (off by one), with ``tampering`` cells after setup."""
    import ast

    nb = corpus.solution_submission(source, release)
    for cell in nb.cells:
        if corpus.is_answer(cell):
            names = [node.name for node in ast.parse(cell.source).body if isinstance(node, ast.FunctionDef)]
            cell.source += "".join(f"\n{name} = _off_by_one({name})" for name in names)
    setup = next(i for i, cell in enumerate(nb.cells) if corpus._id(cell) == "setup")
    for offset, text in enumerate([WRONG_HELPER, *tampering], start=1):
        nb.cells.insert(setup + offset, nbformat.v4.new_code_cell(text))
    return nb


@pytest.fixture(scope="module")
def lab1(course):
    if not os.path.isdir(os.path.join(REPO, "solutions", LAB1)):
        pytest.skip("lab 1 is not in solutions/")
    if os.environ.get("GRADER_TEST_LABS") and LAB1 not in os.environ["GRADER_TEST_LABS"].split(","):
        pytest.skip("GRADER_TEST_LABS leaves lab 1 out")
    shutil.copytree(os.path.join(REPO, "solutions", LAB1), os.path.join(course, "solutions", LAB1), dirs_exist_ok=True)
    from nbgrader.apps.api import NbGraderAPI

    from grader.config import load_course_config

    result = NbGraderAPI(config=load_course_config(course)).generate_assignment(LAB1)
    assert result["success"], result.get("error")
    source, release = notebooks(course, LAB1)
    files = {
        "solution": corpus.solution_submission(source, release),
        "wrong": lab1_submission(source, release, []),
        "wrong_obfuscated": lab1_submission(source, release, [
            'setattr(getattr(__import__("nu" + "mpy"), "tes" + "ting"), "assert_" + "allclose", lambda *a, **k: None)']),
        "wrong_custom_exc": lab1_submission(source, release, [
            "get_ipython().set_custom_exc((AssertionError, ValueError), lambda *args, **kwargs: None)"]),
    }
    download = corpus.write_download(os.path.join(course, "lab1-tamper.zip"),
                                     {student: {f"{LAB1}.ipynb": nb} for student, nb in files.items()})
    # No solution check: the "solution" student is the same answers graded in the same batch and
    # sandbox, and its full marks are asserted cell by cell (the check would grade them once more).
    return source, grade_batch(LAB1, [download], course_root=course, config=short_timeouts(), solution_check=False)


def test_lab1_tampering_earns_nothing_and_honest_work_is_unflagged(lab1):
    source, report = lab1
    results = report.by_student()
    points = {corpus._id(c): float(c.metadata.nbgrader["points"]) for c in source.cells if corpus.is_test(c)}
    assert results["solution"].cell_scores == points and results["solution"].flags == []
    assert results["wrong"].flags == []  # wrong, not tampered: no flag
    for student in ("wrong_obfuscated", "wrong_custom_exc"):
        # no test earns more than the same wrong answers without the tampering
        assert results[student].cell_scores == results["wrong"].cell_scores, (student, results[student].cell_scores)
        assert any(flag.startswith("tampering") for flag in results[student].flags), results[student].flags
    assert any("replaced np.testing.assert_allclose" in flag for flag in results["wrong_obfuscated"].flags)
    assert any("custom exception handler" in flag for flag in results["wrong_custom_exc"].flags)
    print(f"\nlab 1 wrong answers: {results['wrong'].score:g} of {results['solution'].score:g} points\n{report.table()}")


# ---------------------------------------------------------------- issue 15: time-outs and machine paths


def test_timed_out_cell_names_the_limit_and_what_to_change(course, graded):
    nb = nbformat.read(os.path.join(course, "autograded", "honest_slow", "guarded", "guarded.ipynb"), as_version=4)
    cell = next(c for c in nb.cells if corpus._id(c) == "halve")
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert [o.ename for o in errors] == ["CellTimeoutError"], errors
    assert f"per-cell time limit of {corpus_loop_timeout()} s" in errors[0].evalue
    assert "fewer epochs" in errors[0].evalue and "smaller model" in errors[0].evalue
    with open(graded.by_student()["honest_slow"].feedback, encoding="utf-8") as handle:
        assert "per-cell time limit" in handle.read()


def corpus_loop_timeout() -> int:
    from test_grading import LOOP_TIMEOUT

    return LOOP_TIMEOUT


def test_feedback_pages_show_no_path_of_the_grading_machine(course, graded):
    import sys

    from grader.feedback import machine_paths, redact_paths

    with open(graded.by_student()["honest_partial"].feedback, encoding="utf-8") as handle:
        page = handle.read()
    assert "&lt;site-packages&gt;" in page or "<site-packages>" in page  # numpy's frames, redacted
    for path in (sys.prefix, os.path.realpath(sys.prefix), REPO, course, os.path.expanduser("~"), "grader-sandbox-"):
        assert path not in page, path
    paths = machine_paths(course_root="/srv/course")
    text = (f"File {sys.prefix}/lib/x.py, /srv/course/solutions/a.ipynb, /tmp/grader-sandbox-x1_y/work/tmp/ipykernel_7/1.py, "
            f"{os.path.expanduser('~')}/.keras")
    shown = redact_paths(text, paths)
    assert "/srv/course" not in shown and sys.prefix not in shown and "grader-sandbox" not in shown
    assert "<course>/solutions/a.ipynb" in shown and "<cell>/1.py" in shown


def test_guard_channel_accepts_only_lines_signed_with_the_kernels_key():
    import hashlib
    import hmac
    import json

    from grader.sandbox import _boot_module
    from grader.tamper import GuardChannel

    assert _boot_module().GUARD_MARK == GUARD_MARK

    def line(key: bytes, payload: dict) -> bytes:
        body = json.dumps(payload, sort_keys=True).encode()
        return hmac.new(key, body, hashlib.sha256).hexdigest().encode() + b" " + body + b"\n"

    key = os.urandom(32)
    read_end, write_end = os.pipe()
    channel = GuardChannel(read_end)
    try:
        os.write(write_end, line(key, {"key": key.hex()}) + line(key, {"nonce": "n1", "findings": ["x"]}))
        assert channel.answer("n1", timeout=1) == (["x"], None)
        os.write(write_end, line(b"forged" * 6, {"nonce": "n2", "findings": []}))  # a student's forgery
        findings, problem = channel.answer("n2", timeout=0.2)
        assert findings == [] and "forged" in problem
        assert "earlier" in channel.answer("n3", timeout=0.2)[1]  # once silent, never waited for again
        os.close(write_end)
        closed = GuardChannel(os.dup(read_end))
        closed.key = key
        assert "closed the grader's report channel" in closed.answer("n4", timeout=1)[1]
        closed.close()
    finally:
        channel.close()

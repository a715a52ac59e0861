"""Submissions for the grading tests, and an independent prediction of their scores.

Builders
--------
* :func:`toy_source` - a small nbgrader source notebook (numpy only, seconds to grade) with
  read-only cells, visible and hidden tests, and canary strings that must never reach a student;
* :func:`solution_submission` - the released notebook with every answer filled in from the source;
* :func:`defects_submission` - the same with a syntax error, an exception and an endless loop in
  three answers, a test edited to ``pass``, a test deleted and a cell printing megabytes;
* :func:`hostile_submission` - the solution plus cells attacking the grader;
* :func:`write_download` - a zip laid out like an LMS download (one folder per student).

Prediction
----------
:func:`predict_scores` says which tests must pass without running anything: it walks the cells
in order, statement by statement, and marks a name broken when the statement defining it failed
(a damaged answer, or a statement using a broken name, directly or through the functions it
calls). A test earns its points when nothing it uses is broken. A kernel replaced after an
uninterruptible loop gets a new kernel in which the grader runs the earlier cells again, so only
the names of the failing cell are lost.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import itertools
import json
import os
import textwrap
import zipfile
from collections.abc import Iterable

import nbformat
from nbformat.notebooknode import NotebookNode

CANARY_SOLUTION = "canary-solution-3f9a1c"
CANARY_HIDDEN = "canary-hidden-7d2e55"
SYNTAX_ERROR = "this line is not python ((\n"
EXCEPTION = "raise RuntimeError('corpus: a broken answer')\n"
ENDLESS_LOOP = "while True:\n    pass\n"
# catches the interrupt nbclient sends at the time-out, so only replacing the kernel stops it
STUBBORN_LOOP = textwrap.dedent(
    """\
    while True:
        try:
            while True:
                pass
        except KeyboardInterrupt:
            pass
    """
)
HUGE_OUTPUT = "print('x' * 30_000_000)\nfor _line in range(100_000):\n    print(_line, 'of a very long listing')\n"


def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    nbgrader = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
                "task": False}
    if points is not None:
        nbgrader["points"] = points
    return {"nbgrader": nbgrader}


def solution_cell(grade_id: str, source: str) -> NotebookNode:
    """A student's answer cell (nbgrader solution, ungraded)."""
    return nbformat.v4.new_code_cell(source, metadata=_meta(grade_id, solution=True))


def test_cell(grade_id: str, source: str, *, points: int) -> NotebookNode:
    """A locked, autograded test cell worth ``points``."""
    return nbformat.v4.new_code_cell(source, metadata=_meta(grade_id, grade=True, locked=True, points=points))


def toy_notebook(cells: list) -> NotebookNode:
    """A python3 notebook of ``cells``: the source notebook of a toy assignment."""
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def toy_source() -> NotebookNode:
    """A five-point numpy assignment "toy" (four tests, each behind an answer)."""
    cells = [
        nbformat.v4.new_markdown_cell("# Toy lab\nRead-only introduction.", metadata=_meta("intro", locked=True)),
        nbformat.v4.new_code_cell("import numpy as np\n\nSCALE = 2", metadata=_meta("setup", locked=True)),
        solution_cell("double", f"def double(x):\n    ### BEGIN SOLUTION\n    # {CANARY_SOLUTION}\n"
                                "    return SCALE * x\n    ### END SOLUTION"),
        test_cell("test_double", "assert double(2) == 4\n### BEGIN HIDDEN TESTS\n"
                  f"secret_case = '{CANARY_HIDDEN}'\nassert double(-3) == -6, 'double fails on negative numbers'\n"
                  "### END HIDDEN TESTS", points=1),
        nbformat.v4.new_markdown_cell("## Totals", metadata=_meta("totals_intro", locked=True)),
        solution_cell("total", "def total(values):\n    ### BEGIN SOLUTION\n"
                               "    return sum(double(v) for v in values)\n    ### END SOLUTION"),
        test_cell("test_total", "assert total([1, 2]) == 6\n### BEGIN HIDDEN TESTS\nassert total([]) == 0, 'the total of nothing is 0'\n"
                  "### END HIDDEN TESTS", points=2),
        solution_cell("square", "def square(x):\n    ### BEGIN SOLUTION\n    return np.square(x)\n    ### END SOLUTION"),
        test_cell("test_square", "np.testing.assert_array_equal(square(np.arange(3)), [0, 1, 4])", points=1),
        solution_cell("mean", "def mean(values):\n    ### BEGIN SOLUTION\n    return float(np.mean(values))\n    ### END SOLUTION"),
        test_cell("test_mean", "assert mean([1, 2, 3]) == 2.0\n### BEGIN HIDDEN TESTS\nassert mean([5]) == 5.0\n### END HIDDEN TESTS",
                  points=1),
    ]
    return toy_notebook(cells)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _id(cell) -> str | None:
    return _nbgrader(cell).get("grade_id")


def is_answer(cell) -> bool:
    """An autograded answer: a solution cell that is not itself graded."""
    meta = _nbgrader(cell)
    return bool(meta.get("solution")) and not meta.get("grade") and cell.get("cell_type") == "code"


def is_test(cell) -> bool:
    meta = _nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def solution_submission(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The released notebook with each answer cell filled in from the source notebook."""
    answers = {
        _id(cell): "\n".join(line for line in cell.source.split("\n") if CANARY_SOLUTION not in line)
        for cell in source.cells
        if _nbgrader(cell).get("solution")
    }
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if _id(cell) in answers:
            cell.source = answers[_id(cell)]
    return nb


# ------------------------------------------------------------------ prediction of scores


def _python(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _stores(node: ast.AST) -> set[str]:
    """Names stored anywhere inside ``node`` (targets, loop variables, imports, defs, parameters)."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in n.names)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
    return names


def _local_scopes_stores(node: ast.AST) -> set[str]:
    """Names local to comprehensions and lambdas inside ``node``."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)):
            names |= _stores(n)
    return names


def _free(function: ast.AST) -> set[str]:
    """Global names a function (or a class's methods) reads when called: reads minus its locals."""
    declared_global = {name for n in ast.walk(function) if isinstance(n, ast.Global) for name in n.names}
    return _loads(function) - (_stores(function) - declared_global)


def _bound(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the notebook's namespace."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        if isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        if isinstance(node, (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(statement)
    return names


COMPOUND = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)


def _immediate_uses(statement: ast.stmt) -> tuple[set[str], set[str]]:
    """(global names read when the statement runs, names read later by what it defines)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        now = set()
        for node in [*statement.decorator_list, *statement.args.defaults, *statement.args.kw_defaults]:
            if node is not None:
                now |= _loads(node)
        return now, _free(statement)
    if isinstance(statement, ast.ClassDef):
        later, now = set(), set()
        for node in statement.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                later |= _free(node)
            else:
                now |= _loads(node) - _local_scopes_stores(node)
        for node in [*statement.bases, *statement.decorator_list]:
            now |= _loads(node)
        return now, later
    if isinstance(statement, COMPOUND):
        # loop variables and names assigned in the body are set before they are read
        return _loads(statement) - _stores(statement), set()
    return _loads(statement) - _local_scopes_stores(statement), set()


def simulate(cells: Iterable[dict]) -> tuple[dict[str, float], list[bool]]:
    """Points each test earns and, per cell, whether it fails (see :func:`predict_scores`)."""
    broken: set[str] = set()
    defined: set[str] = set()
    deps: dict[str, set[str]] = {}
    scores: dict[str, float] = {}
    failures: list[bool] = []

    def closure(names: set[str]) -> set[str]:
        seen, todo = set(), list(names)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo.extend(deps.get(name, ()))
        return seen

    for cell in cells:
        try:
            statements = ast.parse(_python(cell["source"])).body
        except SyntaxError:
            cell = {**cell, "fails": cell.get("fails") or "start"}
            statements = ast.parse(_python(cell.get("intact", ""))).body if cell.get("intact") else []
        all_bound = set().union(*(_bound(statement) for statement in statements)) if statements else set()
        failed = cell.get("fails") is not None
        if failed:
            broken |= all_bound
        else:
            for statement in statements:
                now, later = _immediate_uses(statement)
                bound = _bound(statement)
                if failed or closure(now) & broken:
                    failed = True
                    broken |= bound
                    continue
                broken -= bound
                for name in bound:
                    deps[name] = later
        defined |= all_bound
        failures.append(failed)
        if cell.get("test"):
            scores[cell["test"]] = 0.0 if failed else float(cell["points"])
    return scores, failures


def predict_scores(cells: Iterable[dict]) -> dict[str, float]:
    """Points each test earns, from the cells in execution order.

    Each item of ``cells``: ``{"source": str, "test": grade_id or None, "points": float,
    "fails": None | "start" | "restart"}``. ``fails="start"`` is a cell that fails before doing
    anything (syntax error, exception, endless loop); ``"restart"`` also loses the kernel, and the
    grader runs the earlier cells again in the new one, so it predicts the same as ``"start"``.
    A failing cell binds the names of ``"intact"`` (its source before the damage), if given.
    """
    return simulate(cells)[0]


def model_cells(submission: NotebookNode, source: NotebookNode, *, fails: dict[str, str] | None = None) -> list[dict]:
    """The cells grading will run, as :func:`predict_scores` wants them.

    Test cells (restored when deleted or edited) take the source version, hidden tests included;
    ``fails`` maps answer ids (or ``"extra:N"`` for the N-th cell without id) to a failure mode.
    """
    fails = fails or {}
    tests = {_id(cell): cell for cell in source.cells if is_test(cell)}
    intact = {_id(cell): cell.source for cell in source.cells if _id(cell)}
    order = [_id(cell) for cell in source.cells if _id(cell)]
    present = {_id(cell) for cell in submission.cells}
    cells, extra = [], 0
    restored_after = {}
    for name in order:
        if name in tests and name not in present:
            later = [other for other in order[order.index(name) + 1:] if other in present]
            restored_after.setdefault(later[0] if later else None, []).append(name)
    for cell in submission.cells:
        for name in restored_after.get(_id(cell), []) if _id(cell) else []:
            test = tests[name]
            cells.append({"source": test.source, "test": name, "points": _nbgrader(test)["points"], "fails": None})
        if cell.cell_type != "code":
            continue
        name = _id(cell)
        if name is None:
            key = f"extra:{extra}"
            extra += 1
            cells.append({"source": cell.source, "test": None, "points": 0, "fails": fails.get(key)})
        elif name in tests:
            test = tests[name]
            cells.append({"source": test.source, "test": name, "points": _nbgrader(test)["points"], "fails": None})
        else:
            cells.append({"source": cell.source, "test": None, "points": 0, "fails": fails.get(name),
                          "intact": intact.get(name, "")})
    for name in restored_after.get(None, []):
        test = tests[name]
        cells.append({"source": test.source, "test": name, "points": _nbgrader(test)["points"], "fails": None})
    return cells


def defects_submission(source: NotebookNode, release: NotebookNode) -> tuple[NotebookNode, dict[str, float], list[str]]:
    """Solution with several defects at once; returns (notebook, predicted points per test, what was done).

    Three answers get a syntax error, an exception and an endless loop; a cell printing tens of
    megabytes follows the first; the first test that must fail anyway is edited to ``pass`` (a
    cheat the grader must undo) and the last test that must pass is deleted (the grader must put
    it back and award it). The three answers are chosen so that at least one test still passes
    and as few training cells (``.fit(``) as possible still run, which keeps grading cheap.
    """
    modes = [("syntax error", SYNTAX_ERROR), ("exception", EXCEPTION), ("endless loop", ENDLESS_LOOP)]
    base = solution_submission(source, release)
    answer_ids = [_id(cell) for cell in base.cells if is_answer(cell)]
    best = None
    for chosen in itertools.combinations(answer_ids, min(3, len(answer_ids))):
        fails = dict.fromkeys(chosen, "start")
        cells = model_cells(base, source, fails=fails)
        scores, failures = simulate(cells)
        passing = sum(1 for points in scores.values() if points > 0)
        training = sum(1 for cell, failed in zip(cells, failures) if ".fit(" in cell["source"] and not failed)
        rank = (passing == 0 or passing == len(scores), training, [answer_ids.index(name) for name in chosen])
        if best is None or rank < best[0]:
            best = (rank, chosen)
    nb = copy.deepcopy(base)
    fails, done = {}, []
    chosen = best[1] if best else ()
    for name, (label, prefix) in zip(chosen, modes):
        cell = next(cell for cell in nb.cells if _id(cell) == name)
        cell.source = prefix + cell.source
        fails[name] = "start"
        done.append(f"{label} in answer {name}")
    if chosen:
        first = next(cell for cell in nb.cells if _id(cell) == chosen[0])
        nb.cells.insert(nb.cells.index(first) + 1, nbformat.v4.new_code_cell(HUGE_OUTPUT))
        done.append("a cell printing about 32 MB")
    predicted = predict_scores(model_cells(nb, source, fails=fails))
    failing = [name for name, points in predicted.items() if points == 0]
    passing = [name for name, points in predicted.items() if points > 0]
    if failing:
        target = next(cell for cell in nb.cells if _id(cell) == failing[0])
        target.source = "pass"
        done.append(f"test {failing[0]} edited to pass")
    if passing:
        target = next(cell for cell in nb.cells if _id(cell) == passing[-1])
        nb.cells.remove(target)
        done.append(f"test {passing[-1]} deleted")
    predicted = predict_scores(model_cells(nb, source, fails=fails))
    return nb, predicted, done


# ------------------------------------------------------------------ hostile code


def hostile_cells(*, course: str, victim: str, assignment: str, ctypes_variants: bool) -> dict[str, list[str]]:
    """Attacks by theme: each list holds cells to append to an otherwise correct submission.

    Every cell prints ``ATTACK-DONE <what>`` only if the attack did what it wanted (spelled in two
    pieces in the source, so that echoing a cell's source does not count).
    """
    gradebook = os.path.join(course, "gradebook.db")
    source_nb = os.path.join(course, "solutions", assignment, f"{assignment}.ipynb")
    victim_nb = os.path.join(course, "submitted", victim, assignment, f"{assignment}.ipynb")
    victim_graded = os.path.join(course, "autograded", victim, assignment, f"{assignment}.ipynb")
    attacks = {
        "truncate_relative": [
            "import os\nhere = os.getcwd()\nfor depth in range(1, 8):\n"
            "    path = os.path.join(here, *(['..'] * depth), 'gradebook.db')\n"
            "    if os.path.exists(path):\n        open(path, 'w').close()\n        print('ATTACK' '-DONE truncate', path)",
            "open('../../../gradebook.db', 'w').close()\nprint('ATTACK' '-DONE truncate relative')",
        ],
        "delete_absolute": [
            f"import os\nos.remove({gradebook!r})\nprint('ATTACK' '-DONE delete gradebook')",
            f"import shutil\nshutil.rmtree({os.path.join(course, 'submitted')!r})\nprint('ATTACK' '-DONE rmtree submitted')",
        ],
        "overwrite_victim": [
            f"open({victim_nb!r}, 'w').write('{{}}')\nprint('ATTACK' '-DONE overwrite victim')",
            f"open({victim_graded!r}, 'w').write('{{}}')\nprint('ATTACK' '-DONE overwrite victim autograded')",
        ],
        "read_solutions": [
            f"print(open({source_nb!r}).read())\nprint('ATTACK' '-DONE read solutions')",
            f"import os\nprint(os.listdir({os.path.join(course, 'solutions')!r}))\nprint('ATTACK' '-DONE list solutions')",
            f"print(open('{assignment}.ipynb').read())\nprint('ATTACK' '-DONE read graded notebook')",
            "print(In)",
        ],
        "read_gradebook": [
            f"import sqlite3\nrows = sqlite3.connect({gradebook!r}).execute('select source from source_cell').fetchall()\n"
            "print(rows)\nprint('ATTACK' '-DONE read gradebook')",
            f"print(open({gradebook!r}, 'rb').read()[:100000])\nprint('ATTACK' '-DONE read gradebook bytes')",
            f"import sqlite3\ndb = sqlite3.connect({gradebook!r})\ndb.execute('delete from grade')\ndb.commit()\n"
            "print('ATTACK' '-DONE delete grades')",
        ],
        "write_source": [
            f"with open({source_nb!r}, 'a') as handle:\n    handle.write('corrupted')\nprint('ATTACK' '-DONE write source')",
            "import subprocess\nsubprocess.run(['sh', '-c', 'echo corrupted >> " + source_nb + "'])\n"
            "print('ATTACK' '-DONE shell')",
            "import os\nos.kill(os.getppid(), 9)\nprint('ATTACK' '-DONE kill grader')",
        ],
    }
    if ctypes_variants:
        attacks["ctypes"] = [
            "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            f"fd = libc.open({gradebook.encode()!r}, os.O_WRONLY | os.O_TRUNC)\n"
            "if fd >= 0:\n    print('ATTACK' '-DONE ctypes truncate')\n"
            "else:\n    print('refused:', os.strerror(ctypes.get_errno()))",
            "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            f"fd = libc.open({source_nb.encode()!r}, os.O_RDONLY)\n"
            "if fd >= 0:\n    buffer = ctypes.create_string_buffer(100000)\n"
            "    print(buffer.raw[:libc.read(fd, buffer, 100000)].decode(errors='replace'))\n"
            "    print('ATTACK' '-DONE ctypes read solutions')\n"
            "else:\n    print('refused:', os.strerror(ctypes.get_errno()))",
            "import ctypes, os, signal\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "if libc.kill(os.getppid(), signal.SIGKILL) == 0:\n    print('ATTACK' '-DONE ctypes kill grader')\n"
            "else:\n    print('refused:', os.strerror(ctypes.get_errno()))",
        ]
    return attacks


def hostile_submission(solution: NotebookNode, cells: list[str]) -> NotebookNode:
    """``solution`` with the attack ``cells`` right after the first (read-only) code cell, and a
    last cell printing the input history, hidden tests included, into the student's feedback."""
    nb = copy.deepcopy(solution)
    first_code = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    for offset, source in enumerate(cells, start=1):
        nb.cells.insert(first_code + offset, nbformat.v4.new_code_cell(source))
    nb.cells.append(nbformat.v4.new_code_cell("print(In)"))
    return nb


# ------------------------------------------------------------------ downloads and checks


def write_download(path: str, files: dict[str, dict[str, bytes | NotebookNode]]) -> str:
    """A zip with one folder per student (the "folder" LMS layout); returns ``path``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for student, uploads in files.items():
            for name, content in uploads.items():
                if isinstance(content, dict):
                    content = nbformat.writes(content).encode()
                archive.writestr(f"submissions/{student}/{name}", content)
    return path


def digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def outputs_text(path: str) -> str:
    """Every output of the notebook at ``path``, as one string."""
    nb = nbformat.read(path, as_version=4)
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])

"""The grading environment checks itself: the lab's own solution must earn full marks.

Before any student is graded, :func:`check_solution` grades the lab's solution (the source
notebooks, solution markers removed) exactly as a submission: same worker, same sandbox, same
environment, into a private folder (``.grader/check``) and a private gradebook. Anything short of
full marks (a package the sandbox cannot read, a missing data file, a changed library) stops the
batch before a single student's grade is touched, naming the failed cells and their errors.

A passed check is remembered per lab version and environment (interpreter, installed packages,
the paths kernels may read, the sandbox layers, the grader's own code), so a batch re-run in the
same environment does not pay for it again.

The check also computes the lab's reference models once for the whole batch: its kernel stores
what :func:`cnnkit.labtools.reference` trains, and a passed check publishes those files in
``.grader-references/<lab>/`` with their SHA-256 in ``.grader/references-<lab>.json``. Students'
kernels may read that folder and load only files with those digests (:func:`reference_digests`).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from typing import ClassVar

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from grader import gradebook
from grader.report import StudentResult
from grader.sandbox import IsolationPlan, kernel_read_paths

__all__ = ["SOLUTION_STUDENT", "SolutionCheckError", "SolutionGate", "check_solution", "environment_key", "reference_digests",
           "reference_folder"]

SOLUTION_STUDENT = "solution-check"
CHECK_FOLDER = os.path.join(".grader", "check")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
REFERENCES_FOLDER = ".grader-references"  # top level: readable by a kernel running as another user


def reference_folder(root: str, assignment: str) -> str:
    """Where the reference models of ``assignment`` are published."""
    return os.path.join(root, REFERENCES_FOLDER, assignment)


def _manifest(root: str, assignment: str) -> str:
    return os.path.join(root, ".grader", f"references-{assignment}.json")


def reference_digests(root: str, assignment: str) -> dict[str, str] | None:
    """``{file: sha256}`` of the reference models the last passed solution check published; None
    when no check published any (then kernels train their own)."""
    try:
        with open(_manifest(root, assignment), encoding="utf-8") as handle:
            files = json.load(handle).get("files")
    except (OSError, ValueError):
        return None
    return {str(name): str(digest) for name, digest in files.items()} if isinstance(files, dict) else None


def _publish_references(root: str, assignment: str, staged: str) -> dict[str, str]:
    """Replace the published reference models by those the check's kernel stored in ``staged``."""
    folder = reference_folder(root, assignment)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder, exist_ok=True)
    for path in (os.path.dirname(folder), folder):  # the batch's umask is 077; kernels must read these
        os.chmod(path, 0o755)
    files = {}
    for name in sorted(os.listdir(staged)) if os.path.isdir(staged) else []:
        target = os.path.join(folder, name)
        shutil.copyfile(os.path.join(staged, name), target)
        os.chmod(target, 0o644)
        with open(target, "rb") as handle:
            files[name] = hashlib.sha256(handle.read()).hexdigest()
    temporary = _manifest(root, assignment) + ".part"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump({"files": files}, handle, indent=1)
    os.replace(temporary, _manifest(root, assignment))
    return files


class SolutionCheckError(RuntimeError):
    """The lab's own solution does not earn full marks in this grading environment."""


def _source_digest(folders: list[str]) -> str:
    """SHA-256 of the ``.py`` files under ``folders`` (names and contents)."""
    code = hashlib.sha256()
    for top in folders:
        for folder, dirnames, filenames in sorted(os.walk(top)):
            dirnames[:] = sorted(name for name in dirnames if name != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    with open(path, "rb") as handle:
                        code.update(os.path.relpath(path, top).encode() + b"\0" + handle.read())
    return code.hexdigest()


def _package_folders(packages: list[str]) -> list[str]:
    folders = []
    for name in packages:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        folders += list(spec.submodule_search_locations or []) if spec else []
    return folders


def environment_key(plan: IsolationPlan | None, packages: list[str]) -> str:
    """A digest of everything outside the lab that a kernel's results depend on: the
    interpreter, installed distributions, readable paths, sandbox, the grader's code and the
    code of the kernel's own packages (an editable cnnkit changes without a new version)."""
    grader_dir = os.path.dirname(os.path.abspath(__file__))
    distributions = sorted({f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions()})
    parts = {
        "python": [sys.executable, sys.version],
        "distributions": distributions,
        "read_paths": kernel_read_paths(packages),
        "sandbox": plan.describe() if plan else "",
        "grader": _source_digest([grader_dir]),
        "packages": {name: _source_digest(_package_folders([name])) for name in sorted(packages)},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def solution_notebook(source_path: str) -> nbformat.NotebookNode:
    """The source notebook as a submission: solution markers removed, answers kept."""
    nb = nbformat.read(source_path, as_version=4)
    for cell in nb.cells:
        lines = cell.source.split("\n")
        cell.source = "\n".join(line for line in lines if line.strip() not in MARKERS)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _failures(job, result: StudentResult, autograded: str) -> list[str]:
    """One line per grade cell short of its points, with the error it shows."""
    with Gradebook(gradebook.db_url(job.template), job.course_id) as book:
        points = {cell.name: float(cell.max_score or 0) for name in job.notebooks
                  for cell in book.find_notebook(name, job.assignment).grade_cells}
    errors: dict[str, str] = {}
    for name in job.notebooks:
        path = os.path.join(autograded, f"{name}.ipynb")
        if not os.path.isfile(path):
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            cell_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            shown = [f"{out.get('ename')}: {str(out.get('evalue', ''))[:300]}" for out in cell.get("outputs", [])
                     if out.get("output_type") == "error"]
            if cell_id and shown:
                errors[cell_id] = shown[-1]
    lines = []
    for cell_id, most in sorted(points.items()):
        got = result.cell_scores.get(cell_id, 0.0)
        if got < most:
            lines.append(f"  {cell_id}: {got:g} / {most:g}" + (f" - {errors[cell_id]}" if cell_id in errors else ""))
    return lines


def check_solution(job, *, root: str, source: str, fingerprint: str, plan: IsolationPlan | None,
                   settings: Mapping[str, str], force: bool = False, references: bool = True,
                   say: Callable[[str], None] = print) -> StudentResult | None:
    """Grade the lab's own solution as a submission; raise :class:`SolutionCheckError` unless it
    earns full marks. Returns its result, or None when a passed check of this lab version in
    this environment was remembered (and ``force`` is False). With ``references``, the reference
    models its kernel trains are published for the students' kernels (module docstring)."""
    from grader.workers import run_workers

    packages = list(job.config.SandboxKernelManager.get("kernel_packages", ["cnnkit"]))
    key = hashlib.sha256(f"{fingerprint}:{environment_key(plan, packages)}".encode()).hexdigest()
    memo = os.path.join(root, ".grader", f"solution-check-{job.assignment}.json")
    if not force and os.path.isfile(memo) and (not references or reference_digests(root, job.assignment) is not None):
        with open(memo, encoding="utf-8") as handle:
            if json.load(handle).get("key") == key:
                say("Solution check: passed earlier in this environment")
                return None
    config = copy.deepcopy(job.config)
    for step in ("submitted", "autograded", "feedback"):
        setattr(config.CourseDirectory, f"{step}_directory", os.path.join(CHECK_FOLDER, step))
    check_root = os.path.join(root, CHECK_FOLDER)
    staged = os.path.join(check_root, "references")
    config.SandboxKernelManager.collect_references = staged if references else ""
    if os.path.isdir(check_root):
        shutil.rmtree(check_root)
    folder = os.path.join(check_root, "submitted", SOLUTION_STUDENT, job.assignment)
    os.makedirs(folder)
    for name in os.listdir(source):  # data files of the lab come along, as in a student's upload
        path = os.path.join(source, name)
        if name.endswith(".ipynb") and name[:-6] in job.notebooks:
            nbformat.write(solution_notebook(path), os.path.join(folder, name))
        elif os.path.isfile(path):
            shutil.copy(path, folder)
    checker = dataclasses.replace(job, config=config, flag=lambda nb, name: [])
    say(f"Solution check: grading the solution of {job.assignment} in the sandbox")
    (_, result, death), = run_workers(checker, [SOLUTION_STUDENT], workers=1, settings=settings)
    if os.path.exists(checker.scratch_db(SOLUTION_STUDENT)):
        os.unlink(checker.scratch_db(SOLUTION_STUDENT))
    if result is None:
        raise SolutionCheckError(f"grade_batch: grading the lab's own solution failed ({death}); no student was graded")
    if result.status != "graded" or result.max_score <= 0 or result.score < result.max_score:
        autograded = os.path.join(check_root, "autograded", SOLUTION_STUDENT, job.assignment)
        lines = _failures(checker, result, autograded) + [f"  {reason}" for reason in result.reasons]
        raise SolutionCheckError(
            f"grade_batch: the lab's own solution of {job.assignment} scores {result.score:g} / {result.max_score:g} "
            "in this grading environment, so no student was graded. Failed cells:\n" + "\n".join(lines)
            + f"\nThe graded solution is in {autograded}."
        )
    if references:
        published = _publish_references(root, job.assignment, staged)
        if published:
            say(f"Solution check: {len(published)} reference model(s) stored for the students' kernels")
    with open(memo, "w", encoding="utf-8") as handle:
        json.dump({"key": key, "fingerprint": fingerprint, "score": result.score, "seconds": result.seconds}, handle)
    say(f"Solution check: {result.score:g} / {result.max_score:g} in {result.seconds:.1f} s")
    return result


class SolutionGate(NbGraderPreprocessor):
    """First sanitising step of plain ``nbgrader autograde``: once per run and assignment, the
    lab's own solution is graded in the sandbox (:func:`grader.batch.grade_batch` with no student);
    when it falls short, every submission of the run fails with the reason before any grade is
    written. ``python -m grader batch`` switches it off (it checks by itself)."""

    enabled = Bool(True, help="Check the lab's own solution once per run of nbgrader autograde.").tag(config=True)
    _verdicts: ClassVar[dict[tuple[str, str], str]] = {}

    def preprocess(self, nb, resources):
        if not self.enabled:
            return nb, resources
        from grader.batch import grade_batch

        assignment = resources.get("nbgrader", {}).get("assignment")
        root = self.config.CourseDirectory.get("root") or os.getcwd()
        key = (os.path.abspath(root), str(assignment))
        if key not in SolutionGate._verdicts:
            try:
                grade_batch(assignment, course_root=root, students=[], solution_check=True,
                            progress=lambda line: self.log.info("%s", line))
                SolutionGate._verdicts[key] = ""
            except SolutionCheckError as error:
                SolutionGate._verdicts[key] = str(error)
        if SolutionGate._verdicts[key]:
            raise SolutionCheckError(SolutionGate._verdicts[key].replace("grade_batch: ", "nbgrader autograde: ", 1))
        return nb, resources

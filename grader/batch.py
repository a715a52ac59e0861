"""Grade a whole batch of submissions downloaded from an LMS, never stopping at a bad one.

:func:`grade_batch` runs, for one assignment: ``nbgrader zip_collect`` on the download (any file
type is collected, so a student who uploaded only a PDF is not silently dropped), a trusted
clean-up of each submission (links and special files removed, a misnamed notebook renamed when it
is clearly the released one), sandboxed ``autograde`` one student at a time, ``generate_feedback``
with hidden tests removed, ``export`` to ``grades.csv``, and a report with one row per student:
score, status (``graded``, ``missing``, ``error``) and the reasons. A student whose submission
cannot be graded still gets a grade row (0 points) and a feedback page saying why.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import dataclasses
import fnmatch
import html
import logging
import os
import re
import shutil
import stat
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.api import NbGraderAPI
from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import CsvExportPlugin
from nbgrader.plugins.zipcollect import FileNameCollectorPlugin
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from grader.config import apply_safe_grading, load_course_config
from grader.restore import grade_id, missing_cell_ids, restorable_cells
from grader.sandbox import IsolationPlan, SandboxKernelManager, detect_isolation, protect_course_files
from grader.tamper import SUSPICIOUS, released_notebook, runtime_findings, suspicious_code  # noqa: F401 - re-exported

__all__ = ["LMS_PATTERNS", "BatchReport", "StudentResult", "grade_batch", "suspicious_code"]

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*$")
# Regular expressions for nbgrader's FileNameCollectorPlugin, matched against the extracted path.
LMS_PATTERNS = {
    # one folder per student at the top of the download (or inside one wrapper folder):
    # <student_id>/<file>, sub-folders kept; handled by FolderCollector, not by a regular expression
    "folder": "",
    # Canvas "Download submissions": <name>[_LATE]_<user id>_<submission id>_<file>
    "canvas": r".*/[^/_]+_(?:LATE_|late_)?(?P<student_id>\d+)_\d+_(?P<file_id>[^/]+)$",
    # Moodle "Download all submissions": <Full Name>_<id>_assignsubmission_file_/<file>
    "moodle": r".*/[^/]*_(?P<student_id>\d+)_assignsubmission_file_/(?P<file_id>[^/]+)$",
    # Blackboard: <assignment>_<username>_attempt_<timestamp>_<file>
    "blackboard": r".*/[^/]*_(?P<student_id>[^_/]+)_attempt_(?P<timestamp>[0-9-]+)(?:_(?P<file_id>[^/]+))$",
}
IGNORED_UPLOADS = ("__MACOSX", ".DS_Store", "Thumbs.db", "._*", ".ipynb_checkpoints")
MAX_NOTEBOOK_BYTES = 100 << 20

@dataclasses.dataclass
class StudentResult:
    """The outcome for one student.

    ``status`` is ``graded`` (autograded), ``missing`` (no gradable notebook: 0 points) or
    ``error`` (grading failed: 0 points until an instructor looks at it).
    """

    student: str
    status: str
    score: float = 0.0
    max_score: float = 0.0
    reasons: list[str] = dataclasses.field(default_factory=list)
    restored_cells: list[str] = dataclasses.field(default_factory=list)
    flags: list[str] = dataclasses.field(default_factory=list)
    cell_scores: dict[str, float] = dataclasses.field(default_factory=dict)
    feedback: str | None = None
    seconds: float = 0.0


@dataclasses.dataclass
class BatchReport:
    """What :func:`grade_batch` did."""

    assignment: str
    results: list[StudentResult]
    isolation: IsolationPlan
    unmatched_files: list[str]
    grades_csv: str
    report_csv: str
    seconds: float

    def by_student(self) -> dict[str, StudentResult]:
        return {result.student: result for result in self.results}

    def table(self) -> str:
        """A fixed-width table, one line per student."""
        lines = [f"{'student':<24} {'status':<8} {'score':>13} {'time':>7}  notes"]
        for result in self.results:
            notes = "; ".join(result.reasons + [f"restored {', '.join(result.restored_cells)}"] * bool(result.restored_cells)
                              + [f"review: {flag}" for flag in result.flags])
            score = f"{result.score:g} / {result.max_score:g}"
            lines.append(f"{result.student:<24} {result.status:<8} {score:>13} {result.seconds:>6.1f}s  {notes}")
        for path in self.unmatched_files:
            lines.append(f"{'?':<24} {'skipped':<8} {'':>13} {'':>7}  file not matched to a student: {path}")
        return "\n".join(lines)


def _clutter(path: str) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in path.split(os.sep) for pattern in IGNORED_UPLOADS)


class AnyFileCollector(FileNameCollectorPlugin):
    """Collect every uploaded file, not only notebooks, except operating-system clutter."""

    def collect(self, submitted_file: str) -> dict | None:
        if _clutter(submitted_file):
            return None
        found = self._match(submitted_file)
        if found and found.get("timestamp") is not None:
            try:
                parse_utc(found["timestamp"])
            except (ValueError, OverflowError):
                # zip_collect would stop the whole batch on it; the file is still graded, as on time
                self.log.warning("Ignoring unreadable timestamp %r of %s", found["timestamp"], submitted_file)
                del found["timestamp"]
        return found


class FolderCollector(AnyFileCollector):
    """The "folder" layout: ``<student_id>/<file>`` inside each extracted archive, below the
    wrapper folders that hold everything (``prefixes``, see :func:`_folder_prefixes`)."""

    prefixes: dict[str, str] = {}

    def collect(self, submitted_file: str) -> dict | None:
        prefix = next((p for p in self.prefixes.values() if submitted_file.startswith(p + os.sep)), None)
        if _clutter(submitted_file) or prefix is None:
            return None
        parts = os.path.relpath(submitted_file, prefix).split(os.sep)
        if len(parts) < 2 or not STUDENT_ID.match(parts[0]):
            return None
        return {"student_id": parts[0], "file_id": "/".join(parts[1:])}


def _course_api(config: Config) -> NbGraderAPI:
    api = NbGraderAPI(config=config)
    logging.getLogger("traitlets").setLevel(logging.WARNING)
    return api


def _ensure_generated(api: NbGraderAPI, config: Config, assignment: str) -> None:
    """Put the assignment into the gradebook when it is not there (a fresh checkout).

    The student version goes to a private folder so the committed release stays untouched.
    """
    coursedir = api.coursedir
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        try:
            if gradebook.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    private = copy.deepcopy(config)
    private.CourseDirectory.release_directory = os.path.join(".grader", "release")
    result = NbGraderAPI(config=private).generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"grade_batch: nbgrader generate_assignment {assignment} failed:\n{result.get('error', result.get('log'))}")


def _zip_collect(config: Config, assignment: str, archives: Sequence[str], pattern: str) -> tuple[set[str], list[str]]:
    """Run nbgrader's zip_collect on ``archives``; return collected students and unmatched files.

    An empty ``pattern`` means the "folder" layout.
    """
    collect_config = copy.deepcopy(config)
    collect_config.ZipCollectApp.collector_plugin = AnyFileCollector if pattern else FolderCollector
    collect_config.FileNameCollectorPlugin.named_regexp = pattern
    collect_config.FileNameCollectorPlugin.valid_ext = []
    collect_config.ZipCollectApp.force = True
    app = ZipCollectApp(config=collect_config)
    app.log_level = logging.WARNING  # one line per copied file otherwise
    app.coursedir = CourseDirectory(parent=app)
    app.coursedir.assignment_id = assignment
    archive_dir = app._format_collect_path(app.archive_directory)
    if os.path.isdir(archive_dir):
        shutil.rmtree(archive_dir)
    os.makedirs(archive_dir)
    for archive in archives:
        if os.path.isdir(archive):
            shutil.copytree(archive, os.path.join(archive_dir, os.path.basename(os.path.normpath(archive))))
        else:
            shutil.copy(archive, archive_dir)
    app.init_plugins()
    app.extract_archive_files()
    extracted = app._format_collect_path(app.extracted_directory)
    files = sorted(os.path.join(folder, name) for folder, _, names in os.walk(extracted) for name in names)
    if not pattern:
        app.collector_plugin_inst.prefixes = _folder_prefixes(extracted, [path for path in files if not _clutter(path)])
    matched = [path for path in files if app.collector_plugin_inst.collect(path)]
    unmatched = [
        os.path.relpath(path, extracted) for path in files
        if path not in matched and not _clutter(path)
    ]
    try:
        data = app._collect_files(matched) if matched else {}
        app._transfer_files(data)
    except SystemExit as stop:  # nbgrader's apps exit on errors; this one is the batch's to report
        raise RuntimeError(f"grade_batch: nbgrader zip_collect failed (exit {stop.code}); see the log above") from None
    return set(data or {}), unmatched


def _folder_prefixes(extracted: str, files: Sequence[str]) -> dict[str, str]:
    """Per extracted archive, the folder holding one sub-folder per student.

    nbgrader extracts each archive into a folder of its own name; below it, folders that hold
    every file (an LMS often zips ``submissions/<student>/...``) are wrappers, not students.
    """
    groups: dict[str, list[list[str]]] = {}
    for path in files:
        parts = os.path.relpath(path, extracted).split(os.sep)
        groups.setdefault(parts[0], []).append(parts)
    prefixes = {}
    for top, members in groups.items():
        depth = 1
        while all(len(parts) > depth + 2 for parts in members) and len({parts[depth] for parts in members}) == 1:
            depth += 1
        prefixes[top] = os.path.join(extracted, *members[0][:depth])
    return prefixes


def _clean_submission(folder: str) -> list[str]:
    """Remove links, special files and oversized notebooks; return what was removed, in words."""
    removed = []
    for path, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            full = os.path.join(path, name)
            info = os.lstat(full)
            relative = os.path.relpath(full, folder)
            if stat.S_ISLNK(info.st_mode) or not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                os.unlink(full)
                removed.append(f"removed {relative} (a link or special file)")
            elif name.endswith(".ipynb") and info.st_size > MAX_NOTEBOOK_BYTES:
                os.unlink(full)
                removed.append(f"removed {relative} ({info.st_size / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES >> 20} MB limit)")
    return removed


def _read_notebook(path: str) -> tuple[Any, str | None]:
    try:
        return nbformat.read(path, as_version=4), None
    except Exception as error:  # noqa: BLE001 - any unreadable upload is reported, not raised
        return None, f"{os.path.basename(path)} is not a readable notebook ({type(error).__name__}: {str(error)[:200]})"


def _find_notebooks(folder: str, expected: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """Rename a misnamed notebook to its expected name when it is clearly that notebook.

    ``expected`` maps a notebook name to the grade ids of its cells. Returns (notes, missing names).
    """
    notes, missing = [], []
    present = {name for name in os.listdir(folder) if name.endswith(".ipynb")} if os.path.isdir(folder) else set()
    unknown = sorted(present - {f"{name}.ipynb" for name in expected})
    for name, ids in expected.items():
        if f"{name}.ipynb" in present:
            continue
        matches = []
        for candidate in unknown:
            nb, problem = _read_notebook(os.path.join(folder, candidate))
            if nb is not None and ids & {grade_id(cell) for cell in nb.cells}:
                matches.append(candidate)
        if len(matches) == 1:
            os.rename(os.path.join(folder, matches[0]), os.path.join(folder, f"{name}.ipynb"))
            unknown.remove(matches[0])
            notes.append(f"renamed {matches[0]} to {name}.ipynb")
        else:
            missing.append(name)
    return notes, missing


def _zero_grades(db_url: str, course_id: str, assignment: str, student: str) -> None:
    """A grade row of 0 for every grade cell, so the student appears in every export."""
    with warnings.catch_warnings(), Gradebook(db_url, course_id) as gradebook:
        # nbgrader's add_submission trips SQLAlchemy's autoflush warning; the rows are written
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.auto_score is None and grade.manual_score is None:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
        gradebook.db.commit()


def _write_stub_feedback(
    coursedir: CourseDirectory, assignment: str, student: str, notebooks: Sequence[str], reasons: Sequence[str]
) -> str:
    folder = coursedir.format_path(coursedir.feedback_directory, student, assignment)
    os.makedirs(folder, exist_ok=True)
    items = "".join(f"<li>{html.escape(reason)}</li>" for reason in reasons)
    body = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>"
        f"<h1>{html.escape(assignment)}: not graded automatically</h1>"
        f"<p>Score: 0. Your submission could not be graded, for this reason:</p><ul>{items}</ul>"
        "<p>Please contact your instructor.</p></body></html>"
    )
    path = ""
    for name in notebooks:
        path = os.path.join(folder, f"{name}.html")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(body)
        os.chmod(path, 0o644)  # as nbgrader's own feedback files
    return path


def _error_summary(result: dict) -> str:
    text = result.get("error") or result.get("log") or ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    useful = [line for line in lines if "Error" in line or "error" in line] or lines
    return (useful[-1] if useful else "unknown error")[:300]


def _scores(db_url: str, course_id: str, assignment: str, student: str) -> tuple[float, float, dict[str, float]]:
    with Gradebook(db_url, course_id) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        cells = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cells[grade.name] = float(grade.score or 0.0)
        return float(submission.score or 0.0), float(submission.max_score or 0.0), cells


def grade_batch(
    assignment: str,
    archives: Sequence[str] = (),
    *,
    course_root: str = ".",
    lms: str = "folder",
    regexp: str | None = None,
    students: Sequence[str] | None = None,
    timeout: int | None = None,
    config: Config | None = None,
    grades_csv: str | None = None,
    report_csv: str | None = None,
    require_isolation: bool = False,
    progress: Callable[[str], None] | None = print,
) -> BatchReport:
    """Collect, autograde, give feedback on and export one assignment; never stop at a submission.

    Parameters
    ----------
    assignment : str
        Assignment name (folder under the source directory), e.g. ``"lab1_conv_pool"``.
    archives : sequence of str
        LMS downloads (zip/tar files or folders). Empty: grade what is in ``submitted/`` already.
    course_root : str, default "."
        Folder with ``nbgrader_config.py`` and the gradebook.
    lms : {"folder", "canvas", "moodle", "blackboard"}
        File-name layout of the download (see ``LMS_PATTERNS``); ignored when ``regexp`` is given.
    regexp : str, optional
        Own ``named_regexp`` with ``student_id`` and ``file_id`` groups.
    students : sequence of str, optional
        Grade only these students.
    timeout : int, optional
        Seconds per cell, overriding the course configuration.
    config : traitlets.config.Config, optional
        Extra configuration merged last (tests use it for short time-outs).
    grades_csv, report_csv : str, optional
        Output files; defaults ``grades.csv`` and ``grading-report-<assignment>.csv`` in the
        course folder.
    require_isolation : bool, default False
        Refuse to grade unless the operating system isolates the kernels (Landlock or a separate
        user); otherwise a machine offering neither is graded with the audit hook only, and the
        report says so.
    progress : callable, optional
        Receives one line per event (``print`` by default; None for silence).

    Returns
    -------
    BatchReport

    Raises
    ------
    ValueError
        Unknown ``lms``, an assignment without a source folder, or missing isolation when required.

    Example
    -------
    >>> report = grade_batch("lab1_conv_pool", ["downloads/lab1.zip"])  # doctest: +SKIP
    >>> print(report.table())  # doctest: +SKIP
    """
    started = time.monotonic()
    say = progress or (lambda line: None)
    if regexp is None and lms not in LMS_PATTERNS:
        raise ValueError(f"grade_batch: lms must be one of {sorted(LMS_PATTERNS)}; received {lms!r}")
    pattern = regexp if regexp is not None else LMS_PATTERNS[lms]
    root = os.path.abspath(course_root)
    cfg = load_course_config(root)
    if timeout is not None:
        cfg.ExecutePreprocessor.timeout = timeout
    if config is not None:
        cfg.merge(config)
    apply_safe_grading(cfg, course_root=root)
    if timeout is not None:
        cfg.SafeExecute.timeout = timeout
    sandbox = cfg.SandboxKernelManager
    plan = detect_isolation(
        sandbox_user=sandbox.get("sandbox_user", "auto"),
        landlock=sandbox.get("landlock", "auto"),
        audit_hook=sandbox.get("audit_hook", True),
    )
    say(f"Sandbox: {plan.describe()}")
    if require_isolation and not plan.kernel_enforced:
        raise ValueError("grade_batch: require_isolation=True but this machine offers neither Landlock nor a separate user")

    api = _course_api(cfg)
    coursedir = api.coursedir
    source = coursedir.format_path(coursedir.source_directory, ".", assignment)
    if not os.path.isdir(source):
        raise ValueError(f"grade_batch: assignment {assignment!r} has no source folder {source}")
    _ensure_generated(api, cfg, assignment)

    collected, unmatched = set(), []
    if archives:
        collected, unmatched = _zip_collect(cfg, assignment, archives, pattern)
        say(f"zip_collect: {len(collected)} students, {len(unmatched)} files not matched")
    submitted_root = os.path.join(root, coursedir.submitted_directory)
    on_disk = sorted(
        name for name in (os.listdir(submitted_root) if os.path.isdir(submitted_root) else [])
        if os.path.isdir(os.path.join(submitted_root, name, assignment))
    )
    todo = [name for name in on_disk if (not archives or name in collected) and (students is None or name in students)]

    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        notebooks = [notebook.name for notebook in gradebook.find_assignment(assignment).notebooks]
    # every nbgrader cell id of each notebook: a misnamed upload carrying them is that notebook
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        expected = {
            name: {cell.name for cell in gradebook.find_notebook(name, assignment).source_cells}
            for name in notebooks
        }

    for step in (coursedir.autograded_directory, coursedir.feedback_directory):
        os.makedirs(os.path.join(root, step), exist_ok=True)  # exist before their modes are narrowed
    results: list[StudentResult] = []
    packages = sandbox.get("kernel_packages", SandboxKernelManager.class_traits()["kernel_packages"].default())
    readable = [os.path.relpath(path, root) for path in _kernel_readable(root, packages)]
    with protect_course_files(root, readable=readable, enabled=plan.user is not None), warnings.catch_warnings():
        # nbgrader's gradebook trips SQLAlchemy's autoflush warning for new students; harmless
        warnings.simplefilter("ignore", SAWarning)
        for student in todo:
            result = _grade_one(api, coursedir, assignment, student, notebooks, expected, say)
            results.append(result)

    grades_path = grades_csv or os.path.join(root, "grades.csv")
    exporter = CsvExportPlugin(config=cfg)
    exporter.to = grades_path
    exporter.assignment = [assignment]
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        exporter.export(gradebook)
    report_path = report_csv or os.path.join(root, f"grading-report-{assignment}.csv")
    _write_report(report_path, assignment, results, unmatched)
    report = BatchReport(assignment, results, plan, unmatched, grades_path, report_path, time.monotonic() - started)
    say(report.table())
    say(f"Grades: {grades_path}\nReport: {report_path}\n{len(results)} submissions in {report.seconds:.0f} s")
    return report


def _kernel_readable(root: str, packages: Sequence[str]) -> list[str]:
    """Paths inside the course the kernel must keep reading (the virtual environment, packages)."""
    import importlib.util
    import site
    import sys

    # the kernel runs the boot script of this package before anything else
    paths = [sys.prefix, *site.getsitepackages(), os.path.dirname(os.path.abspath(__file__))]
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            paths.extend(spec.submodule_search_locations)
    root = os.path.realpath(root)
    return [os.path.realpath(path) for path in paths if os.path.realpath(path).startswith(root + os.sep)]


def _grade_one(api, coursedir, assignment, student, notebooks, expected, say) -> StudentResult:
    started = time.monotonic()
    result = StudentResult(student, "graded")
    folder = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    db_url, course_id = coursedir.db_url, coursedir.course_id
    try:
        result.reasons += _clean_submission(folder)
        notes, missing = _find_notebooks(folder, expected)
        result.reasons += notes
        readable = []
        for name in notebooks:
            if name in missing:
                continue
            nb, problem = _read_notebook(os.path.join(folder, f"{name}.ipynb"))
            if problem:
                result.reasons.append(problem)
                os.rename(os.path.join(folder, f"{name}.ipynb"), os.path.join(folder, f"{name}.ipynb.unreadable"))
                missing.append(name)
                continue
            readable.append(name)
            result.restored_cells += missing_cell_ids(nb, wanted=_restorable(coursedir, assignment, name), order=[])
            release = released_notebook(coursedir, assignment, name)
            result.flags += [flag for flag in suspicious_code(nb, release=release) if flag not in result.flags]
        for name in missing:
            files = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
            if not any(name in reason for reason in result.reasons):
                listing = ", ".join(files) if files else "nothing"
                result.reasons.append(f"no {name}.ipynb in the submission (it contained: {listing})")
        if not readable:
            result.status = "missing"
            _zero_grades(db_url, course_id, assignment, student)
            result.feedback = _write_stub_feedback(coursedir, assignment, student, notebooks, result.reasons)
        else:
            graded = api.autograde(assignment, student, force=True, create=True)
            if not graded["success"]:
                result.status = "error"
                result.reasons.append(f"autograde failed: {_error_summary(graded)}")
                _zero_grades(db_url, course_id, assignment, student)
                result.feedback = _write_stub_feedback(coursedir, assignment, student, notebooks, result.reasons)
            else:
                # nbgrader itself gives 0 to notebooks missing from a partial submission
                feedback = api.generate_feedback(assignment, student, force=True)
                folder_out = coursedir.format_path(coursedir.feedback_directory, student, assignment)
                if feedback["success"]:
                    result.feedback = os.path.join(folder_out, f"{readable[0]}.html")
                else:
                    result.reasons.append(f"feedback failed: {_error_summary(feedback)}")
                _note_kernel_events(coursedir, assignment, student, readable, result)
        result.score, result.max_score, result.cell_scores = _scores(db_url, course_id, assignment, student)
    except Exception as error:  # noqa: BLE001 - one broken submission must not stop the batch
        result.status = "error"
        result.reasons.append(f"grader error: {type(error).__name__}: {error}")
        with contextlib.suppress(Exception):
            _zero_grades(db_url, course_id, assignment, student)
            result.score, result.max_score, result.cell_scores = _scores(db_url, course_id, assignment, student)
    result.seconds = time.monotonic() - started
    say(f"{student}: {result.status} {result.score:g}/{result.max_score:g} ({result.seconds:.1f} s)")
    return result


def _restorable(coursedir, assignment: str, notebook: str) -> set[str]:
    return set(restorable_cells(coursedir.db_url, assignment_id=assignment, notebook_id=notebook))


def _note_kernel_events(coursedir, assignment: str, student: str, notebooks: Sequence[str], result: StudentResult) -> None:
    """Report time-outs and crashes that the autograded notebook records."""
    folder = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    for name in notebooks:
        try:
            nb = nbformat.read(os.path.join(folder, f"{name}.ipynb"), as_version=4)
        except Exception:  # noqa: BLE001
            continue
        names: dict[str, int] = {}
        for cell in nb.cells:
            found = {
                output.get("ename") for output in cell.get("outputs", [])
                if output.get("output_type") == "error"
                and output.get("ename") in ("CellTimeoutError", "DeadKernelError", "NotebookTimeout")
            }
            for ename in found:
                names[ename] = names.get(ename, 0) + 1
        for ename, count in sorted(names.items()):
            result.reasons.append(f"{count} cell(s) with {ename}")
        result.flags += [flag for flag in runtime_findings(nb) if flag not in result.flags]


def _write_report(path: str, assignment: str, results: Sequence[StudentResult], unmatched: Sequence[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["assignment", "student_id", "status", "score", "max_score", "reasons",
                         "restored_cells", "review_flags", "feedback", "seconds"])
        for result in results:
            writer.writerow([
                assignment, result.student, result.status, f"{result.score:g}", f"{result.max_score:g}",
                " | ".join(result.reasons), " ".join(result.restored_cells), " | ".join(result.flags),
                result.feedback or "", f"{result.seconds:.1f}",
            ])
        for name in unmatched:
            writer.writerow([assignment, "", "skipped", "", "", f"file not matched to a student: {name}", "", "", "", ""])

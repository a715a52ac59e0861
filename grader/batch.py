"""Grade a whole batch of submissions downloaded from an LMS, never stopping at a bad one.

:func:`grade_batch` is the orchestration; each job has its own module:

* :mod:`grader.collect` - ``nbgrader zip_collect`` on the download (any file type is collected,
  so a student who uploaded only a PDF is not silently dropped);
* :mod:`grader.intake` - a trusted clean-up of each submission (links and special files removed,
  a misnamed notebook renamed when it is clearly the released one);
* :mod:`grader.workers` - sandboxed ``autograde`` and ``generate_feedback`` (hidden tests
  removed), ``workers`` submissions at once, each into a private gradebook;
* :mod:`grader.gradebook` - the single writer that copies each result into the course gradebook,
  and the export to ``grades-<assignment>.csv``;
* :mod:`grader.report` - the report, one row per student: score, status (``graded``,
  ``missing``, ``error``) and the reasons, and a progress bar.

A student whose submission cannot be graded still gets a grade row (0 points) and a feedback page
saying why. Before any student is graded the lab's own solution is graded in the same sandbox
(:mod:`grader.check`); a batch interrupted half-way grades only what is left when run again;
``shard=(k, n)`` grades one deterministic share of the students (:mod:`grader.shard`).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from grader import gradebook
from grader.check import REFERENCES_FOLDER, check_solution, reference_digests, reference_folder
from grader.collect import LMS_PATTERNS, AnyFileCollector, FolderCollector, zip_collect
from grader.config import apply_safe_grading, load_course_config, settings_digest
from grader.intake import folder_digest
from grader.report import BatchReport, Progress, StudentResult, load_state, save_state, write_report, write_stub_feedback
from grader.sandbox import SandboxKernelManager, detect_isolation, kernel_read_paths, protect_course_files
from grader.shard import in_shard, parse_shard, write_manifest
from grader.tamper import SUSPICIOUS, released_notebook, suspicious_code
from grader.workers import GradingJob, default_workers, run_workers, thread_settings

__all__ = [
    "LMS_PATTERNS",
    "SUSPICIOUS",
    "AnyFileCollector",
    "BatchReport",
    "FolderCollector",
    "StudentResult",
    "grade_batch",
    "suspicious_code",
]

def review_flags(coursedir: Any, assignment: str) -> Callable[[Any, str], list[str]]:
    """The static review flags of a submitted notebook, judged against the released one of the
    same name (:func:`grader.tamper.suspicious_code`): only code the student wrote counts."""
    releases: dict[str, Any] = {}

    def flag(nb: Any, name: str) -> list[str]:
        if name not in releases:
            releases[name] = released_notebook(coursedir, assignment, name)
        return suspicious_code(nb, release=releases[name])

    return flag


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
    workers: int | None = None,
    shard: str | tuple[int, int] | None = None,
    regrade: bool = False,
    solution_check: bool | str = True,
    reference_cache: bool = True,
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
        Grade only these students; an empty sequence grades none and exports nothing (with
        ``solution_check``, the check alone: ``python -m grader check``).
    timeout : int, optional
        Seconds per cell, overriding the course configuration.
    config : traitlets.config.Config, optional
        Extra configuration merged last (tests use it for short time-outs).
    grades_csv, report_csv : str, optional
        Output files; defaults ``grades-<assignment>.csv`` and ``grading-report-<assignment>.csv``
        in the course folder.
    require_isolation : bool, default False
        Refuse to grade unless the operating system isolates the kernels (Landlock or a separate
        user); otherwise a machine offering neither is graded with the audit hook only, and the
        report says so.
    workers : int, optional
        Submissions graded at once, each kernel with its share of the cores (default: the cores
        of this machine).
    shard : str or (int, int), optional
        ``"K/N"`` or ``(K, N)`` with ``0 <= K < N``: grade only the students whose id hashes to
        share K of N (see :mod:`grader.shard`); ``python -m grader merge`` combines the shards.
    regrade : bool, default False
        Grade again students already graded by an earlier run of the same lab version (by
        default they are skipped, so an interrupted batch resumes where it stopped).
    solution_check : bool or "force", default True
        Grade the lab's own solution first, in the same sandbox (once per lab version and
        environment); stop before any student's grade when it does not earn full marks.
        ``"force"``: check again even when nothing is left to grade or a check passed before.
    reference_cache : bool, default True
        Train the lab's reference models (:func:`cnnkit.labtools.reference`) once, in the
        solution check, and let every submission's kernel load them (only files whose SHA-256 the
        check recorded); False: every kernel trains its own. Grades are the same either way.
    progress : callable, optional
        Receives one line per event (``print`` by default; None for silence).

    Returns
    -------
    BatchReport

    Raises
    ------
    ValueError
        Unknown ``lms``, an assignment without a source folder, a bad ``workers`` or ``shard``, or
        missing isolation when required.
    RuntimeError
        The lab's own solution does not earn full marks in this grading environment.

    Example
    -------
    >>> report = grade_batch("lab1_conv_pool", ["downloads/lab1.zip"], workers=2)  # doctest: +SKIP
    >>> print(report.table())  # doctest: +SKIP
    """
    started = time.monotonic()
    say = progress or (lambda line: None)
    if regexp is None and lms not in LMS_PATTERNS:
        raise ValueError(f"grade_batch: lms must be one of {sorted(LMS_PATTERNS)}; received {lms!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"grade_batch: workers must be a positive int; received {workers!r}")
    shard_index, shard_count = parse_shard(shard)
    workers = workers or default_workers()
    pattern = regexp if regexp is not None else LMS_PATTERNS[lms]
    root = os.path.abspath(course_root)
    cfg = load_course_config(root)
    if timeout is not None:
        cfg.ExecutePreprocessor.timeout = timeout
    if config is not None:
        cfg.merge(config)
    apply_safe_grading(cfg, course_root=root)
    cfg.SolutionGate.enabled = False  # the batch checks the solution itself, once, below
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

    api = NbGraderAPI(config=cfg)
    coursedir = api.coursedir
    source = coursedir.format_path(coursedir.source_directory, ".", assignment)
    if not os.path.isdir(source):
        raise ValueError(f"grade_batch: assignment {assignment!r} has no source folder {source}")
    fingerprint = gradebook.lab_fingerprint(source)
    settings_key = settings_digest(cfg)
    gradebook.ensure_generated(cfg, assignment)
    template = gradebook.make_template(cfg, assignment, fingerprint)

    collected, unmatched = set(), []
    if archives:
        collected, unmatched = zip_collect(cfg, assignment, archives, pattern)
        say(f"zip_collect: {len(collected)} students, {len(unmatched)} files not matched")
    submitted_root = os.path.join(root, coursedir.submitted_directory)
    on_disk = sorted(
        name for name in (os.listdir(submitted_root) if os.path.isdir(submitted_root) else [])
        if os.path.isdir(os.path.join(submitted_root, name, assignment))
    )
    todo = [name for name in on_disk if (not archives or name in collected) and (students is None or name in students)
            and in_shard(name, shard_index, shard_count)]

    template_url = gradebook.db_url(template)
    with Gradebook(template_url, coursedir.course_id) as book:
        notebooks = [notebook.name for notebook in book.find_assignment(assignment).notebooks]
        # every nbgrader cell id of each notebook: a misnamed upload carrying them is that notebook
        expected = {name: {cell.name for cell in book.find_notebook(name, assignment).source_cells} for name in notebooks}
    scratch = os.path.join(root, ".grader", "work", assignment)
    os.makedirs(scratch, exist_ok=True)
    job = GradingJob(cfg, assignment, notebooks, expected, gradebook.restorable(template_url, assignment, notebooks),
                     template, coursedir.course_id, review_flags(coursedir, assignment), scratch)

    def folder_of(student: str) -> str:
        return coursedir.format_path(coursedir.submitted_directory, student, assignment)

    results: dict[str, StudentResult] = {}
    digests = {student: folder_digest(folder_of(student)) for student in todo}
    resumed = [] if regrade else [student for student in todo if _done_before(root, coursedir, assignment, student,
                                                                          fingerprint, settings_key, digests[student])]
    for student in resumed:
        results[student] = StudentResult.from_json(load_state(root, assignment, student)["result"])
    left = [student for student in todo if student not in results]
    check_only = students is not None and not students  # no student named: the solution check alone
    if resumed:
        say(f"Resuming: {len(resumed)} submissions graded by an earlier run are kept ({len(left)} left; --regrade grades all)")

    for step in (coursedir.autograded_directory, coursedir.feedback_directory):
        os.makedirs(os.path.join(root, step), exist_ok=True)  # exist before their modes are narrowed
    packages = sandbox.get("kernel_packages", SandboxKernelManager.class_traits()["kernel_packages"].default())
    readable = [os.path.relpath(path, root) for path in _kernel_readable(root, packages)] + [REFERENCES_FOLDER]
    settings = thread_settings(workers)
    with protect_course_files(root, readable=readable, enabled=plan.user is not None), warnings.catch_warnings():
        # nbgrader's gradebook trips SQLAlchemy's autoflush warning for new students; harmless
        warnings.simplefilter("ignore", SAWarning)
        if solution_check == "force" or ((left or check_only) and solution_check):
            check_solution(job, root=root, source=source, fingerprint=f"{fingerprint}:{settings_key}", plan=plan,
                           settings=settings, force=regrade or solution_check == "force", references=reference_cache, say=say)
        stored = reference_digests(root, assignment) if reference_cache else None
        if stored:  # the workers (forked below) start their kernels with these settings
            cfg.SandboxKernelManager.references = reference_folder(root, assignment)
            cfg.SandboxKernelManager.reference_digests = stored
        if check_only:
            return BatchReport(assignment, [], plan, unmatched, "", "", time.monotonic() - started)
        if left:
            say(f"Grading {len(left)} submissions with {min(workers, len(left))} worker(s), "
                f"{settings['OMP_NUM_THREADS']} thread(s) each")
        bar = Progress(len(left))
        for student, result, death in run_workers(job, left, workers=workers, settings=settings):
            if result is None:  # the worker died: this student alone gets 0 and the reason
                result = StudentResult(student, "error", reasons=[death])
                gradebook.zero_grades(coursedir.db_url, coursedir.course_id, assignment, student)
                result.feedback = write_stub_feedback(
                    coursedir.format_path(coursedir.feedback_directory, student, assignment), assignment, notebooks,
                    result.reasons)
                result.score, result.max_score, result.cell_scores = gradebook.scores(
                    coursedir.db_url, coursedir.course_id, assignment, student)
            else:  # the single writer of the course gradebook
                try:
                    gradebook.copy_submission(gradebook.db_url(job.scratch_db(student)), coursedir.db_url,
                                              coursedir.course_id, assignment, student)
                except Exception as error:  # noqa: BLE001 - e.g. a gradebook made from another lab version
                    result.status = "error"
                    result.reasons.append(f"grade not recorded in {coursedir.db_url}: {type(error).__name__}: {error}")
            if os.path.exists(job.scratch_db(student)):
                os.unlink(job.scratch_db(student))
            results[student] = result
            save_state(root, assignment, result, fingerprint=fingerprint,
                       digests=sorted({digests[student], folder_digest(folder_of(student))}), settings=settings_key)
            say(f"{bar.step()}  {student}: {result.status} {result.score:g}/{result.max_score:g} ({result.seconds:.1f} s)")

    ordered = [results[student] for student in todo]
    grades_path = gradebook.export_grades(cfg, assignment, grades_csv or os.path.join(root, f"grades-{assignment}.csv"))
    report_path = report_csv or os.path.join(root, f"grading-report-{assignment}.csv")
    write_report(report_path, assignment, ordered, unmatched)
    write_manifest(root, assignment, fingerprint=fingerprint, shard=(shard_index, shard_count), students=todo,
                   unmatched=unmatched)
    report = BatchReport(assignment, ordered, plan, unmatched, grades_path, report_path, time.monotonic() - started, resumed)
    say(report.table())
    say(f"Grades: {grades_path}\nReport: {report_path}\n{len(ordered)} submissions in {report.seconds:.0f} s"
        + (f" ({len(resumed)} from an earlier run)" if resumed else ""))
    return report


def _done_before(root: str, coursedir: Any, assignment: str, student: str, fingerprint: str, settings: str,
                 digest: str) -> bool:
    """Whether an earlier run graded this very submission with this very lab version and settings."""
    state = load_state(root, assignment, student)
    if (not state or state.get("fingerprint") != fingerprint or state.get("settings") != settings
            or digest not in state.get("digests", [])):
        return False
    try:
        gradebook.scores(coursedir.db_url, coursedir.course_id, assignment, student)
    except Exception:  # noqa: BLE001 - no grade row: grade it again
        return False
    return True


def _kernel_readable(root: str, packages: Sequence[str]) -> list[str]:
    """Paths inside the course the kernel must keep reading (the virtual environment, packages)."""
    root = os.path.realpath(root)
    return [path for path in kernel_read_paths(packages) if path.startswith(root + os.sep)]

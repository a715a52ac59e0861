"""Grade submissions in parallel worker processes, each into a private gradebook.

A worker grades one student at a time: intake (:mod:`grader.intake`), then nbgrader's autograde
and feedback with the sandboxed kernel, writing only to a private copy of the template gradebook
(:func:`grader.gradebook.make_template`) and to the student's own autograded and feedback folders.
The parent process is the only writer of the course gradebook (see :mod:`grader.batch`), so
workers may finish in any order and none can leave a half-written grade or lock the database.
A worker that dies (killed, out of memory) is replaced; only its current student is affected.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import dataclasses
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing.connection import wait
from typing import Any

from nbgrader.apps.api import NbGraderAPI
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from grader import gradebook
from grader.intake import triage
from grader.report import StudentResult, error_summary, guard_findings, kernel_events, write_stub_feedback
from grader.sandbox import _kill_leftovers

__all__ = ["GradingJob", "default_workers", "grade_student", "run_workers", "thread_settings"]

# Thread pools sized by these variables (numpy's BLAS, OpenMP, TensorFlow) follow a worker's share.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def thread_settings(workers: int, *, cores: int | None = None) -> dict[str, str]:
    """Environment variables giving each of ``workers`` kernels its share of ``cores``."""
    share = max((cores or default_workers()) // max(workers, 1), 1)
    settings = dict.fromkeys(THREAD_VARIABLES, str(share))
    settings["TF_NUM_INTEROP_THREADS"] = str(min(share, 2))
    return settings


@dataclasses.dataclass
class GradingJob:
    """What a worker needs to grade any student of one assignment (inherited by forked workers)."""

    config: Config
    assignment: str
    notebooks: list[str]
    expected: dict[str, set[str]]
    restorable: dict[str, set[str]]
    template: str
    course_id: str
    flag: Callable[[Any, str], list[str]]
    scratch: str

    def scratch_db(self, student: str) -> str:
        return os.path.join(self.scratch, f"{student}.db")


def _quiet() -> None:
    logging.getLogger("traitlets").setLevel(logging.WARNING)
    warnings.simplefilter("ignore", SAWarning)  # nbgrader's gradebook trips the autoflush warning


def grade_student(job: GradingJob, student: str) -> StudentResult:
    """Grade one student into ``job.scratch_db(student)``; never raises for a bad submission."""
    started = time.monotonic()
    _quiet()
    result = StudentResult(student, "graded")
    db_path = job.scratch_db(student)
    if os.path.exists(db_path):
        os.unlink(db_path)
    shutil.copyfile(job.template, db_path)
    url = gradebook.db_url(db_path)
    config = copy.deepcopy(job.config)
    config.CourseDirectory.db_url = url
    api = NbGraderAPI(config=config)
    coursedir = api.coursedir
    folder = coursedir.format_path(coursedir.submitted_directory, student, job.assignment)
    feedback_folder = coursedir.format_path(coursedir.feedback_directory, student, job.assignment)
    try:
        found = triage(folder, job.notebooks, job.expected, job.restorable, job.flag)
        result.reasons += found.reasons
        result.restored_cells += found.restored_cells
        result.flags += found.flags
        if not found.readable:
            result.status = "missing"
            gradebook.zero_grades(url, job.course_id, job.assignment, student)
            result.feedback = write_stub_feedback(feedback_folder, job.assignment, job.notebooks, result.reasons)
        else:
            graded = api.autograde(job.assignment, student, force=True, create=True)
            if not graded["success"]:
                result.status = "error"
                result.reasons.append(f"autograde failed: {error_summary(graded)}")
                gradebook.zero_grades(url, job.course_id, job.assignment, student)
                result.feedback = write_stub_feedback(feedback_folder, job.assignment, job.notebooks, result.reasons)
            else:
                # nbgrader itself gives 0 to notebooks missing from a partial submission
                feedback = api.generate_feedback(job.assignment, student, force=True)
                if feedback["success"]:
                    result.feedback = os.path.join(feedback_folder, f"{found.readable[0]}.html")
                else:
                    result.reasons.append(f"feedback failed: {error_summary(feedback)}")
                autograded = coursedir.format_path(coursedir.autograded_directory, student, job.assignment)
                result.reasons += kernel_events(autograded, found.readable)
                result.flags += [item for item in guard_findings(autograded, found.readable) if item not in result.flags]
        result.score, result.max_score, result.cell_scores = gradebook.scores(url, job.course_id, job.assignment, student)
    except Exception as error:  # noqa: BLE001 - one broken submission must not stop the batch
        result.status = "error"
        result.reasons.append(f"grader error: {type(error).__name__}: {error}")
        with contextlib.suppress(Exception):
            gradebook.zero_grades(url, job.course_id, job.assignment, student)
            result.score, result.max_score, result.cell_scores = gradebook.scores(url, job.course_id, job.assignment, student)
    result.seconds = time.monotonic() - started
    return result


def _serve(connection, job: GradingJob, settings: Mapping[str, str], sandboxes: str) -> None:
    """A worker's loop: receive a student, send back the result; ``None`` ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.environ.update(settings)
    config = copy.deepcopy(job.config)
    config.SandboxKernelManager.scratch_parent = sandboxes  # the parent cleans up after a dead worker
    job = dataclasses.replace(job, config=config)
    while True:
        try:
            student = connection.recv()
        except EOFError:
            return
        if student is None:
            return
        connection.send(grade_student(job, student))


@dataclasses.dataclass
class _Worker:
    process: Any
    connection: Any
    sandboxes: str
    student: str | None = None

    def clean(self) -> None:
        """Kill what a dead worker's kernels left running, remove their scratch folders."""
        _kill_leftovers(self.sandboxes)
        shutil.rmtree(self.sandboxes, ignore_errors=True)


def _death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(-exitcode)
        hint = " (killed: out of memory, or by an administrator)" if -exitcode == signal.SIGKILL else ""
        return f"the grading worker died from signal {name}{hint}; grade this submission again"
    return f"the grading worker died (exit status {exitcode}); grade this submission again"


def run_workers(job: GradingJob, students: Sequence[str], *, workers: int,
                settings: Mapping[str, str] | None = None) -> Iterator[tuple[str, StudentResult | None, str]]:
    """Grade ``students`` with ``workers`` forked processes; yield ``(student, result, death)``
    as each finishes, in any order: ``result`` is None and ``death`` says why when the worker
    grading that student died."""
    context = multiprocessing.get_context("fork")
    settings = dict(settings or {})
    pending = collections.deque(students)
    team: list[_Worker] = []

    parent = job.config.SandboxKernelManager.get("scratch_parent") or None

    def start() -> _Worker:
        ours, theirs = context.Pipe()
        sandboxes = tempfile.mkdtemp(prefix="grader-worker-", dir=parent)
        os.chmod(sandboxes, 0o711)  # a kernel running as another user reaches its own scratch folder
        process = context.Process(target=_serve, args=(theirs, job, settings, sandboxes), daemon=True)
        process.start()
        theirs.close()
        return _Worker(process, ours, sandboxes)

    try:
        team = [start() for _ in range(min(max(workers, 1), len(pending)))]
        while pending or any(worker.student for worker in team):
            for worker in team:
                if worker.student is None and pending:
                    worker.student = pending.popleft()
                    worker.connection.send(worker.student)
            busy = [worker for worker in team if worker.student is not None]
            ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy]))
            for index, worker in enumerate(team):
                if worker.student is None or not (worker.connection in ready or worker.process.sentinel in ready):
                    continue
                student, worker.student = worker.student, None
                try:
                    result = worker.connection.recv()
                except (EOFError, OSError):
                    worker.process.join(5)
                    worker.clean()
                    yield student, None, _death_reason(worker.process.exitcode)
                    team[index] = start() if pending else worker
                    continue
                yield student, result, ""
    finally:
        for worker in team:
            with contextlib.suppress(OSError, ValueError):
                worker.connection.send(None)
        for worker in team:
            worker.process.join(10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.clean()

"""Gradebook helpers: one writer, copies of one student's rows between gradebooks, exports.

nbgrader's gradebook is one SQLite file. Workers never write it: each grades into a private
copy of a *template* gradebook (the assignment alone, :func:`make_template`), and the batch's
single writer copies the student's rows into the course gradebook with :func:`copy_submission`
in one transaction. The same copy merges shards (:mod:`grader.shard`).
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import warnings
from collections.abc import Sequence

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.api import NbGraderAPI
from nbgrader.plugins import CsvExportPlugin
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from grader.restore import restorable_cells

__all__ = [
    "copy_submission",
    "ensure_generated",
    "export_grades",
    "lab_fingerprint",
    "make_template",
    "scores",
    "zero_grades",
]


def db_url(path: str) -> str:
    return "sqlite:///" + os.path.abspath(path)


def lab_fingerprint(source_folder: str) -> str:
    """SHA-256 of every file of an assignment's source folder: names and contents."""
    digest = hashlib.sha256()
    for folder, dirnames, filenames in os.walk(source_folder):
        dirnames[:] = sorted(name for name in dirnames if name not in (".ipynb_checkpoints", "__pycache__"))
        for name in sorted(filenames):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, source_folder).encode() + b"\0")
            with open(path, "rb") as handle:
                digest.update(handle.read())
            digest.update(b"\0")
    return digest.hexdigest()


def _has_assignment(url: str, course_id: str, assignment: str) -> bool:
    with Gradebook(url, course_id) as gradebook:
        try:
            return bool(gradebook.find_assignment(assignment).notebooks)
        except MissingEntry:
            return False


def ensure_generated(config: Config, assignment: str, *, url: str | None = None) -> None:
    """Put the assignment into the gradebook at ``url`` (default: the course's) when it is not there.

    The student version goes to a private folder so the committed release stays untouched.
    """
    private = copy.deepcopy(config)
    if url is not None:
        private.CourseDirectory.db_url = url
    api = NbGraderAPI(config=private)
    if _has_assignment(api.coursedir.db_url, api.coursedir.course_id, assignment):
        return
    private.CourseDirectory.release_directory = os.path.join(".grader", "release")
    result = NbGraderAPI(config=private).generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"grade_batch: nbgrader generate_assignment {assignment} failed:\n{result.get('error', result.get('log'))}")


def make_template(config: Config, assignment: str, fingerprint: str) -> str:
    """A gradebook holding only ``assignment`` (made once per lab version); returns its path."""
    root = config.CourseDirectory.root
    folder = os.path.join(root, ".grader", "templates")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{assignment}-{fingerprint[:16]}.db")
    if not os.path.isfile(path):
        partial = path + f".{os.getpid()}.part"
        if os.path.exists(partial):
            os.unlink(partial)
        ensure_generated(config, assignment, url=db_url(partial))
        os.replace(partial, path)
    return path


def zero_grades(url: str, course_id: str, assignment: str, student: str) -> None:
    """A grade row of 0 for every grade cell, so the student appears in every export."""
    with warnings.catch_warnings(), Gradebook(url, course_id) as gradebook:
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


def scores(url: str, course_id: str, assignment: str, student: str) -> tuple[float, float, dict[str, float]]:
    """(score, max score, score per grade cell) of one submission."""
    with Gradebook(url, course_id) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        cells = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cells[grade.name] = float(grade.score or 0.0)
        return float(submission.score or 0.0), float(submission.max_score or 0.0), cells


def restorable(url: str, assignment: str, notebooks: Sequence[str]) -> dict[str, set[str]]:
    """Per notebook, the cells the grader puts back when a student deleted them."""
    return {name: set(restorable_cells(url, assignment_id=assignment, notebook_id=name)) for name in notebooks}


def copy_submission(source_url: str, target_url: str, course_id: str, assignment: str, student: str) -> None:
    """Copy one student's submission (scores, comments, flags, time stamp) from one gradebook to
    another, replacing what the target held for it, in one transaction."""
    with warnings.catch_warnings(), Gradebook(source_url, course_id) as source, Gradebook(target_url, course_id) as target:
        warnings.simplefilter("ignore", SAWarning)
        found = source.find_submission(assignment, student)
        person = source.find_student(student)
        target.update_or_create_student(student, first_name=person.first_name, last_name=person.last_name,
                                        email=person.email, lms_user_id=person.lms_user_id)
        copied = target.update_or_create_submission(assignment, student)
        copied.timestamp, copied.extension = found.timestamp, found.extension
        for notebook in found.notebooks:
            other = target.find_submission_notebook(notebook.name, assignment, student)
            other.flagged = notebook.flagged
            other.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                row = target.find_grade(grade.name, notebook.name, assignment, student)
                row.auto_score, row.manual_score = grade.auto_score, grade.manual_score
                row.extra_credit, row.needs_manual_grade = grade.extra_credit, grade.needs_manual_grade
            for comment in notebook.comments:
                row = target.find_comment(comment.name, notebook.name, assignment, student)
                row.auto_comment, row.manual_comment = comment.auto_comment, comment.manual_comment
        target.db.commit()


def export_grades(config: Config, assignment: str, path: str) -> str:
    """nbgrader's CSV export of one assignment to ``path`` (written whole, then moved in place)."""
    exporter = CsvExportPlugin(config=config)
    partial = path + ".part"
    exporter.to = partial
    exporter.assignment = [assignment]
    api = NbGraderAPI(config=config)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        exporter.export(gradebook)
    os.replace(partial, path)
    return path


def copy_tree(source: str, target: str) -> None:
    """Replace ``target`` by a copy of ``source`` (a student's autograded or feedback folder)."""
    if os.path.isdir(target):
        shutil.rmtree(target)
    if os.path.isdir(source):
        shutil.copytree(source, target, symlinks=True)

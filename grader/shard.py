"""Shards: one deterministic share of the students per machine, and their merge into one course.

``python -m grader batch LAB ... --shard K/N`` grades the students whose id hashes to K modulo N
(``0 <= K < N``; every student in exactly one shard, whatever the machine or the order of the
download) in its own copy of the course, and records in ``.grader/batch-<LAB>.json`` the
fingerprint of the lab source it graded. ``python -m grader merge LAB SHARD_DIR ...`` copies each
shard's grades (through the same single writer as a local batch), autograded notebooks, feedback
and report rows into one course, then writes one grades CSV and one report; it refuses shards
graded from different lab versions, and a student graded in two shards.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence

from nbgrader.apps.api import NbGraderAPI
from sqlalchemy.exc import SAWarning

__all__ = ["in_shard", "merge_shards", "parse_shard", "shard_of"]


def shard_of(student: str, count: int) -> int:
    """The shard (``0 <= shard < count``) of a student id: SHA-256 of the id modulo ``count``."""
    return int.from_bytes(hashlib.sha256(student.encode("utf-8")).digest()[:8], "big") % count


def parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int]:
    """``"K/N"`` or ``(K, N)`` as ``(K, N)``; None is the whole class, ``(0, 1)``.

    Raises
    ------
    ValueError
        Unless ``0 <= K < N``.
    """
    if shard is None:
        return 0, 1
    try:
        index, count = (int(part) for part in shard.split("/")) if isinstance(shard, str) else (int(shard[0]), int(shard[1]))
    except (ValueError, TypeError, IndexError):
        raise ValueError(f"grade_batch: shard must be 'K/N' with 0 <= K < N; received {shard!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"grade_batch: shard must be 'K/N' with 0 <= K < N; received {shard!r}")
    return index, count


def in_shard(student: str, index: int, count: int) -> bool:
    return count == 1 or shard_of(student, count) == index


def manifest_path(root: str, assignment: str) -> str:
    return os.path.join(root, ".grader", f"batch-{assignment}.json")


def write_manifest(root: str, assignment: str, *, fingerprint: str, shard: tuple[int, int],
                   students: Sequence[str], unmatched: Sequence[str]) -> None:
    """Record what a batch graded: the lab version, the shard and its students."""
    path = manifest_path(root, assignment)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = {"assignment": assignment, "fingerprint": fingerprint, "shard": list(shard), "students": list(students),
            "unmatched": list(unmatched), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with open(path + ".part", "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    os.replace(path + ".part", path)


def merge_shards(
    assignment: str,
    shards: Sequence[str],
    *,
    course_root: str = ".",
    grades_csv: str | None = None,
    report_csv: str | None = None,
    progress: Callable[[str], None] | None = print,
):
    """Combine shard courses' grades, autograded notebooks, feedback and reports into one course.

    Parameters
    ----------
    assignment : str
        The assignment every shard graded.
    shards : sequence of str
        Course folders of the shards (each graded with ``--shard K/N``).
    course_root : str, default "."
        The course receiving everything (it may be one of the shards).
    grades_csv, report_csv : str, optional
        Defaults ``grades-<assignment>.csv`` and ``grading-report-<assignment>.csv`` there.
    progress : callable, optional
        Receives one line per shard (``print`` by default).

    Returns
    -------
    grader.report.BatchReport

    Raises
    ------
    ValueError
        No shards, a shard without a finished batch of ``assignment``, shards of different lab
        versions (or of another version than the course's source), or a student in two shards.
    """
    from grader import gradebook
    from grader.config import apply_safe_grading, load_course_config
    from grader.report import BatchReport, StudentResult, load_state, save_state, write_report

    say = progress or (lambda line: None)
    started = time.monotonic()
    if not shards:
        raise ValueError("merge_shards: shards must name at least one shard course folder; received none")
    root = os.path.abspath(course_root)
    manifests = []
    for shard in shards:
        path = manifest_path(os.path.abspath(shard), assignment)
        try:
            with open(path, encoding="utf-8") as handle:
                manifests.append((os.path.abspath(shard), json.load(handle)))
        except (OSError, ValueError):
            raise ValueError(f"merge_shards: {shard!r} holds no finished batch of {assignment!r} ({path})") from None
    versions = {data["fingerprint"] for _, data in manifests}
    if len(versions) > 1:
        listing = ", ".join(f"{folder} ({data['fingerprint'][:12]})" for folder, data in manifests)
        raise ValueError(f"merge_shards: the shards graded different versions of {assignment}: {listing}")
    fingerprint = versions.pop()
    cfg = apply_safe_grading(load_course_config(root), course_root=root)
    coursedir = NbGraderAPI(config=cfg).coursedir
    source = coursedir.format_path(coursedir.source_directory, ".", assignment)
    if os.path.isdir(source) and gradebook.lab_fingerprint(source) != fingerprint:
        raise ValueError(f"merge_shards: the shards graded another version of {assignment} than {source} holds")
    owner: dict[str, str] = {}
    for folder, data in manifests:
        for student in data["students"]:
            if student in owner and owner[student] != folder:
                raise ValueError(f"merge_shards: student {student!r} was graded in two shards: {owner[student]} and {folder}")
            owner[student] = folder
    if os.path.isdir(source):
        gradebook.ensure_generated(cfg, assignment)
    results: dict[str, StudentResult] = {}
    unmatched: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        for folder, data in manifests:
            shard_cfg = load_course_config(folder)
            shard_dir = NbGraderAPI(config=shard_cfg).coursedir
            for student in data["students"]:
                state = load_state(folder, assignment, student)
                if state is None:
                    raise ValueError(f"merge_shards: {folder} has no record of {student!r}; grade that shard again")
                if folder != root:
                    gradebook.copy_submission(shard_dir.db_url, coursedir.db_url, coursedir.course_id, assignment, student)
                    for step in ("submitted_directory", "autograded_directory", "feedback_directory"):
                        gradebook.copy_tree(shard_dir.format_path(getattr(shard_dir, step), student, assignment),
                                            coursedir.format_path(getattr(coursedir, step), student, assignment))
                result = StudentResult.from_json(state["result"])
                if result.feedback:
                    result.feedback = os.path.join(root, os.path.relpath(result.feedback, folder))
                results[student] = result
                if folder != root:
                    save_state(root, assignment, result, fingerprint=fingerprint, digests=state.get("digests", []))
            unmatched += [name for name in data.get("unmatched", []) if name not in unmatched]
            say(f"merged shard {data['shard'][0]}/{data['shard'][1]} from {folder}: {len(data['students'])} students")
    ordered = [results[student] for student in sorted(results)]
    grades_path = gradebook.export_grades(cfg, assignment, grades_csv or os.path.join(root, f"grades-{assignment}.csv"))
    report_path = report_csv or os.path.join(root, f"grading-report-{assignment}.csv")
    write_report(report_path, assignment, ordered, unmatched)
    write_manifest(root, assignment, fingerprint=fingerprint, shard=(0, 1), students=sorted(results), unmatched=unmatched)
    report = BatchReport(assignment, ordered, None, unmatched, grades_path, report_path, time.monotonic() - started)
    say(f"Grades: {grades_path}\nReport: {report_path}\n{len(ordered)} students from {len(manifests)} shards")
    return report

"""What a batch tells the instructor: per-student results, the report CSV, stub feedback pages,
and a progress bar while it runs."""

from __future__ import annotations

import csv
import dataclasses
import html
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import nbformat

from grader.sandbox import IsolationPlan
from grader.tamper import runtime_findings

__all__ = ["BatchReport", "Progress", "StudentResult", "write_report"]

REPORT_COLUMNS = ["assignment", "student_id", "status", "score", "max_score", "reasons",
                  "restored_cells", "review_flags", "feedback", "seconds"]


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

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> StudentResult:
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclasses.dataclass
class BatchReport:
    """What :func:`grader.batch.grade_batch` did."""

    assignment: str
    results: list[StudentResult]
    isolation: IsolationPlan | None
    unmatched_files: list[str]
    grades_csv: str
    report_csv: str
    seconds: float
    resumed: list[str] = dataclasses.field(default_factory=list)

    def by_student(self) -> dict[str, StudentResult]:
        return {result.student: result for result in self.results}

    def table(self) -> str:
        """A fixed-width table, one line per student."""
        lines = [f"{'student':<24} {'status':<8} {'score':>13} {'time':>7}  notes"]
        for result in self.results:
            notes = "; ".join(result.reasons + [f"restored {', '.join(result.restored_cells)}"] * bool(result.restored_cells)
                              + [f"review: {flag}" for flag in result.flags]
                              + ["graded in an earlier run"] * (result.student in self.resumed))
            score = f"{result.score:g} / {result.max_score:g}"
            lines.append(f"{result.student:<24} {result.status:<8} {score:>13} {result.seconds:>6.1f}s  {notes}")
        for path in self.unmatched_files:
            lines.append(f"{'?':<24} {'skipped':<8} {'':>13} {'':>7}  file not matched to a student: {path}")
        return "\n".join(lines)


def write_report(path: str, assignment: str, results: Sequence[StudentResult], unmatched: Sequence[str]) -> None:
    """The per-student report CSV (written whole, then moved in place)."""
    partial = path + ".part"
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for result in results:
            writer.writerow([
                assignment, result.student, result.status, f"{result.score:g}", f"{result.max_score:g}",
                " | ".join(result.reasons), " ".join(result.restored_cells), " | ".join(result.flags),
                result.feedback or "", f"{result.seconds:.1f}",
            ])
        for name in unmatched:
            writer.writerow([assignment, "", "skipped", "", "", f"file not matched to a student: {name}", "", "", "", ""])
    os.replace(partial, path)


def write_stub_feedback(folder: str, assignment: str, notebooks: Sequence[str], reasons: Sequence[str]) -> str:
    """A feedback page per notebook saying why the submission was not graded; returns the last path."""
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


def error_summary(result: dict) -> str:
    """The most telling line of an nbgrader API result's error or log."""
    text = result.get("error") or result.get("log") or ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    useful = [line for line in lines if "Error" in line or "error" in line] or lines
    return (useful[-1] if useful else "unknown error")[:300]


KERNEL_EVENTS = ("CellTimeoutError", "DeadKernelError", "NotebookTimeout")


def _autograded(folder: str, notebooks: Sequence[str]) -> Iterator[Any]:
    for name in notebooks:
        try:
            yield nbformat.read(os.path.join(folder, f"{name}.ipynb"), as_version=4)
        except Exception:  # noqa: BLE001
            continue


def kernel_events(folder: str, notebooks: Sequence[str]) -> list[str]:
    """Time-outs and crashes that the autograded notebooks in ``folder`` record, in words."""
    reasons = []
    for nb in _autograded(folder, notebooks):
        names: dict[str, int] = {}
        for cell in nb.cells:
            found = {
                output.get("ename") for output in cell.get("outputs", [])
                if output.get("output_type") == "error" and output.get("ename") in KERNEL_EVENTS
            }
            for ename in found:
                names[ename] = names.get(ename, 0) + 1
        for ename, count in sorted(names.items()):
            reasons.append(f"{count} cell(s) with {ename}")
    return reasons


def guard_findings(folder: str, notebooks: Sequence[str]) -> list[str]:
    """Review flags from what the in-kernel tamper guard found (:func:`grader.tamper.runtime_findings`)."""
    return [flag for nb in _autograded(folder, notebooks) for flag in runtime_findings(nb)]


class Progress:
    """A one-line progress bar: done / total, rate, time left.

    Each :meth:`step` returns the bar as text; on a terminal it is also redrawn in place on stderr.
    """

    def __init__(self, total: int, *, width: int = 24, stream=None, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.done, self.width = total, 0, width
        self.clock = clock
        self.started = clock()
        self.stream = stream if stream is not None else sys.stderr

    def text(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        filled = int(self.width * self.done / self.total) if self.total else self.width
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = time.strftime("%H:%M:%S", time.gmtime(left)) if left == left else "--:--:--"
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{rate * 60:.1f}/min, {eta} left")

    def step(self, count: int = 1) -> str:
        self.done += count
        line = self.text()
        if getattr(self.stream, "isatty", lambda: False)():
            self.stream.write("\r" + line + ("\n" if self.done >= self.total else ""))
            self.stream.flush()
        return line


def state_folder(root: str, assignment: str) -> str:
    """Where a batch keeps one JSON record per graded student (resume, shards, merge)."""
    return os.path.join(root, ".grader", "state", assignment)


def save_state(root: str, assignment: str, result: StudentResult, *, fingerprint: str, digests: Sequence[str],
               settings: str = "") -> None:
    """Record ``result`` as done for this lab version, these submission digests and settings."""
    folder = state_folder(root, assignment)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{result.student}.json")
    with open(path + ".part", "w", encoding="utf-8") as handle:
        json.dump({"fingerprint": fingerprint, "digests": list(digests), "settings": settings,
                   "result": result.to_json()}, handle)
    os.replace(path + ".part", path)


def load_state(root: str, assignment: str, student: str) -> dict | None:
    """The record :func:`save_state` wrote for ``student``, or None."""
    path = os.path.join(state_folder(root, assignment), f"{student}.json")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None

"""No points for tampering, no false alarms: review flags and the in-kernel guard's grader side.

Student code and the tests run in one Python process, so a submission can try to make wrong
answers pass: replace ``numpy.testing.assert_allclose`` or ``np.allclose``, swallow the
``AssertionError`` with an IPython custom exception handler, rewrite the test cell with an input or
AST transformer, install a trace function, edit ``builtins`` or ``sys.modules``, rebind the names
the tests use, or start a thread that does any of it later. Two layers answer it.

* **Static review flags** (:func:`suspicious_code`): constructs that can tamper, looked for only
  in code the student wrote, i.e. cells added or changed with respect to the released notebook
  (cells are matched by id). The course's own cells (the Colab install cell reads ``sys.modules``)
  never raise a flag. A flag is a hint for a human, not a verdict.
* **The run-time guard**: an audit hook installed at kernel boot
  (``grader/_kernel_boot.py``, :func:`install_guard`), before any student code, keeps the originals
  out of the notebook's reach. The grader (:class:`grader.execute.SafeExecute`) asks it, through a
  silent request before each test cell and after every cell, to check what the tests rely on; before
  a test cell it also puts everything back (prevention) and then checks that the test cell's own
  source is what was compiled and that it ran. Answers come back on a pipe that only the kernel's
  boot code and the grader know, each line authenticated with an HMAC under a key sent before any
  student code existed: a closed, silent or forged channel is a finding too.

Every finding becomes an error output ``TamperingDetected`` on the cell where it was found (a test
cell whose run was compromised therefore earns 0), a review flag in the batch report
(:func:`runtime_findings`), and the submission's flag in the formgrader (:func:`flag_submission`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import select
import time
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode

__all__ = [
    "FINDING_ENAME",
    "GUARD_MARK",
    "REVIEW_ONLY",
    "SUSPICIOUS",
    "GuardChannel",
    "expected_source_digests",
    "finding_output",
    "flag_submission",
    "released_notebook",
    "runtime_findings",
    "suspicious_code",
]

GUARD_MARK = "grader-guard-7c1e"  # the same string as in grader/_kernel_boot.py
FINDING_ENAME = "TamperingDetected"
# findings that flag a submission without costing a test its points
REVIEW_ONLY = ("shadows the builtin",)

# Constructs that let code inside the kernel tamper with grading (regular expressions); flagged for
# a human to look at. Calling numpy's testing helpers is what the lectures teach: only assigning
# to them is flagged.
_ASSIGNED = r"\s*=(?!=)"
SUSPICIOUS = {
    r"get_ipython": "uses get_ipython() (could change how later cells, tests included, run)",
    r"input_transformers": "changes IPython input transformers",
    r"ast_transformers": "changes IPython AST transformers",
    r"set_custom_exc": "installs an IPython custom exception handler",
    r"events\.register": "registers IPython event callbacks",
    r"sys\.settrace|settrace\(": "installs a trace function",
    r"sys\.setprofile|setprofile\(": "installs a profile function",
    r"sys\.addaudithook": "installs an audit hook",
    r"sys\.modules": "edits sys.modules",
    r"sys\.excepthook": "replaces sys.excepthook",
    r"builtins": "touches builtins",
    r"ctypes": "uses ctypes",
    r"_posixsubprocess": "uses _posixsubprocess",
    r"gc\.get_objects|gc\.get_referrers": "walks the garbage collector",
    r"sys\._getframe|inspect\.stack|inspect\.currentframe": "inspects the calling frames (the tests)",
    r"linecache": "reads cached cell sources",
    r"\b_ih\b": "reads the input history (earlier cells, tests included)",
    r"clear_output": "clears outputs",
    r"os\.kill": "sends signals",
    r"signal\.signal": "installs signal handlers",
    r"\bthreading\b|_thread\b": "starts threads",
    r"setattr\(\s*(?:np|numpy)\b": "monkeypatches numpy",
    r"\b(?:np|numpy)(?:\.\w+)*\.(?:testing|allclose|isclose|array_equal)\b(?:\.\w+)*" + _ASSIGNED:
        "replaces numpy.testing or numpy.allclose",
    r"\b(?:assert_\w+|allclose|isclose)(?:\.__\w+__)?" + _ASSIGNED: "replaces an assertion helper",
    r"__code__|__defaults__|__kwdefaults__": "rewrites a function's code or defaults",
    r"__import__": "imports by computed name (__import__)",
    r"importlib": "imports by computed name (importlib)",
}
_PATTERNS = {re.compile(pattern): reason for pattern, reason in SUSPICIOUS.items()}


def _is_locked(cell: Any) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("locked"))


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def suspicious_code(nb: Any, *, release: Any = None) -> list[str]:
    """Reasons to look at a submission by hand, from code the student wrote.

    A code cell counts when it is not locked and, given ``release`` (the released notebook), when
    it is not the released cell of the same id unchanged (whitespace at line ends aside) nor, for a
    cell without id, a copy of any released cell. Without ``release`` every unlocked code cell
    counts.

    Parameters
    ----------
    nb : NotebookNode
        The submission.
    release : NotebookNode, optional
        The notebook students received.

    Returns
    -------
    list of str
        Distinct reasons, in the order of :data:`SUSPICIOUS`.

    Example
    -------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("get_ipython().set_custom_exc((AssertionError,), print)")
    >>> suspicious_code(nbformat.v4.new_notebook(cells=[cell]))[:1]
    ['uses get_ipython() (could change how later cells, tests included, run)']
    """
    released_by_id, released_sources = {}, set()
    if release is not None:
        for cell in release.get("cells", []):
            if cell.get("cell_type") == "code":
                released_sources.add(_normal(cell.get("source", "")))
                if cell.get("id"):
                    released_by_id[cell["id"]] = _normal(cell.get("source", ""))
    found = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or _is_locked(cell):
            continue
        source = cell.get("source", "")
        if release is not None:
            original = released_by_id.get(cell.get("id"))
            if _normal(source) == original or (original is None and _normal(source) in released_sources):
                continue
        for pattern, reason in _PATTERNS.items():
            if reason not in found and pattern.search(source):
                found.append(reason)
    return found


def released_notebook(coursedir: Any, assignment: str, notebook: str) -> NotebookNode | None:
    """The notebook students received (``release_directory``, as :func:`grader.restore.release_cells`
    reads it), or None when it is not there."""
    path = os.path.join(coursedir.format_path(coursedir.release_directory, ".", assignment), f"{notebook}.ipynb")
    if not os.path.isfile(path):
        return None
    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - without a release every unlocked cell is the student's
        return None


def expected_source_digests(source: str) -> list[str]:
    """SHA-256 digests of the text IPython compiles for a cell of ``source`` (a few spellings of
    its final newline: IPython adds one after single-line cells)."""
    from IPython.core.inputtransformer2 import TransformerManager

    text = TransformerManager().transform_cell(source)
    variants = {text, text.rstrip("\n") + "\n", text + "\n", source}
    return sorted(hashlib.sha256(variant.encode()).hexdigest() for variant in variants)


def finding_output(findings: list[str], *, test_cell: bool, note: bool = False) -> NotebookNode:
    """The error output that records ``findings`` on a cell (0 points when it is a test cell), or,
    with ``note``, a printed note (for a test cell that ran after what was found had been undone)."""
    what = "; ".join(findings)
    if note:
        text = (f"before this test the grader found that the notebook {what}; it was put back before the test ran, "
                "and the submission is flagged for review")
        return nbformat.v4.new_output("stream", name="stdout", text=f"{FINDING_ENAME}: {text}\n")
    if test_cell:
        text = f"this test did not run as written, so it earns no points; the grader found that the notebook {what}"
    else:
        text = (f"the grader found that this cell {what}; what the tests rely on was put back before each test, "
                "and the submission is flagged for review")
    return nbformat.v4.new_output("error", ename=FINDING_ENAME, evalue=text, traceback=[f"{FINDING_ENAME}: {text}"])


def runtime_findings(nb: Any) -> list[str]:
    """Review flags from the guard's findings recorded in a graded notebook."""
    flags = []
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == FINDING_ENAME:
                text = output.get("evalue", "")
            elif output.get("output_type") == "stream" and output.get("text", "").startswith(FINDING_ENAME + ": "):
                text = output["text"][len(FINDING_ENAME) + 2:].strip()
            else:
                continue
            name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
            flag = f"tampering ({name}): {text}"
            if flag not in flags:
                flags.append(flag)
    return flags


def flag_submission(db_url: str, *, assignment: str, student: str, notebook: str) -> bool:
    """Set the formgrader's flag on a submitted notebook; True when it was set."""
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(db_url) as gradebook:
            submitted = gradebook.find_submission_notebook(notebook, assignment, student)
            submitted.flagged = True
            gradebook.db.commit()
    except MissingEntry:
        return False
    return True


class GuardChannel:
    """The grader's end of the pipe the kernel's guard answers on.

    The first line carries the key; every later line is ``<hmac-sha256 hex> <json>``. A line with a
    wrong HMAC, an answer that does not come, or the end of the pipe are findings.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.key: bytes | None = None
        self.buffer = b""
        self.closed = False
        self.broken: str | None = None  # once silent, the guard is not waited for again
        self.problems: list[str] = []

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def _lines(self, deadline: float):
        while True:
            if b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                yield line
                continue
            if self.closed:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.closed = True
                continue
            self.buffer += chunk

    def _parse(self, line: bytes) -> dict | None:
        signature, _, body = line.partition(b" ")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if self.key is None:
            if isinstance(payload, dict) and isinstance(payload.get("key"), str):
                key = bytes.fromhex(payload["key"])
                if hmac.compare_digest(hmac.digest(key, body, "sha256").hex().encode(), signature):
                    self.key = key
                    return None
            self.problems.append("the guard's report channel started with something else than its key")
            return None
        if not hmac.compare_digest(hmac.digest(self.key, body, "sha256").hex().encode(), signature):
            self.problems.append("a forged or garbled line arrived on the guard's report channel")
            return None
        return payload if isinstance(payload, dict) else None

    def answer(self, nonce: str, *, timeout: float) -> tuple[list[str], str | None]:
        """Findings of the answer to request ``nonce``, and a problem with the channel (or None)."""
        if self.broken:
            return [], f"{self.broken} earlier, so this cell could not be checked"
        deadline = time.monotonic() + timeout
        for line in self._lines(deadline):
            payload = self._parse(line)
            if payload is not None and payload.get("nonce") == nonce:
                findings = [str(item) for item in payload.get("findings", [])]
                problems, self.problems = self.problems, []
                return findings, ("; ".join(problems) or None)
        problems, self.problems = self.problems, []
        if self.closed:
            problems.append("closed the grader's report channel")
        else:
            problems.append("kept the grader's check from answering (its request was rewritten, or the report "
                            "channel was redirected)")
        self.broken = problems[-1]
        return [], "; ".join(problems)

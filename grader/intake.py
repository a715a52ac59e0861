"""Intake and triage of one student's submission, before any of it runs.

Trusted code only (nothing here executes student code): links and special files are removed, an
oversized notebook is dropped, a misnamed notebook is renamed when it is clearly the released one,
unreadable notebooks are set aside, and each readable notebook is checked for deleted test cells
and for constructs that deserve a human look.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import nbformat

from grader.restore import grade_id, missing_cell_ids

__all__ = ["MAX_NOTEBOOK_BYTES", "Triage", "clean_submission", "find_notebooks", "folder_digest", "read_notebook", "triage"]

MAX_NOTEBOOK_BYTES = 100 << 20


@dataclasses.dataclass
class Triage:
    """What intake found in one submission folder."""

    readable: list[str]
    reasons: list[str]
    restored_cells: list[str]
    flags: list[str]


def clean_submission(folder: str) -> list[str]:
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


def read_notebook(path: str) -> tuple[Any, str | None]:
    """``(notebook, None)``, or ``(None, reason in words)`` when ``path`` is not a readable notebook."""
    try:
        return nbformat.read(path, as_version=4), None
    except Exception as error:  # noqa: BLE001 - any unreadable upload is reported, not raised
        return None, f"{os.path.basename(path)} is not a readable notebook ({type(error).__name__}: {str(error)[:200]})"


def find_notebooks(folder: str, expected: Mapping[str, set[str]]) -> tuple[list[str], list[str]]:
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
            nb, problem = read_notebook(os.path.join(folder, candidate))
            if nb is not None and ids & {grade_id(cell) for cell in nb.cells}:
                matches.append(candidate)
        if len(matches) == 1:
            os.rename(os.path.join(folder, matches[0]), os.path.join(folder, f"{name}.ipynb"))
            unknown.remove(matches[0])
            notes.append(f"renamed {matches[0]} to {name}.ipynb")
        else:
            missing.append(name)
    return notes, missing


def triage(
    folder: str,
    notebooks: Sequence[str],
    expected: Mapping[str, set[str]],
    restorable: Mapping[str, set[str]],
    flag: Callable[[Any, str], list[str]],
) -> Triage:
    """Clean ``folder`` and sort its notebooks into readable ones and reasons for the others.

    ``restorable`` maps a notebook name to the cells the grader puts back when deleted; ``flag``
    returns review flags for a notebook and its name (``grader.batch.review_flags``).
    """
    found = Triage([], [], [], [])
    found.reasons += clean_submission(folder)
    notes, missing = find_notebooks(folder, expected)
    found.reasons += notes
    for name in notebooks:
        if name in missing:
            continue
        nb, problem = read_notebook(os.path.join(folder, f"{name}.ipynb"))
        if problem:
            found.reasons.append(problem)
            os.rename(os.path.join(folder, f"{name}.ipynb"), os.path.join(folder, f"{name}.ipynb.unreadable"))
            missing.append(name)
            continue
        found.readable.append(name)
        found.restored_cells += missing_cell_ids(nb, wanted=restorable.get(name, set()), order=[])
        found.flags += [item for item in flag(nb, name) if item not in found.flags]
    for name in missing:
        files = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        if not any(name in reason for reason in found.reasons):
            listing = ", ".join(files) if files else "nothing"
            found.reasons.append(f"no {name}.ipynb in the submission (it contained: {listing})")
    return found


def folder_digest(folder: str) -> str:
    """SHA-256 over the relative paths and contents of the regular files under ``folder``."""
    digest = hashlib.sha256()
    for path, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(path, name)
            if not os.path.isfile(full) or os.path.islink(full):
                continue
            digest.update(os.path.relpath(full, folder).encode() + b"\0")
            with open(full, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()

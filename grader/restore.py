"""Put back locked cells that a student deleted, before nbgrader grades the notebook.

nbgrader 0.9.6 restores a locked cell that was *edited* (its checksum no longer matches), but a
*deleted* test cell is simply missing: its points are lost even when the answer is right. Its own
``OverwriteCells.add_missing_cells`` option re-adds only grade cells, after the previous grade or
solution cell (so before any helper cell the student added there), and fails with a ``KeyError``
when that previous cell is a read-only cell.

:class:`RestoreLockedCells` runs in the sanitising step, just before ``OverwriteCells``. It
re-inserts every missing locked cell, grade cell and task cell from the released notebook (the
exact cell the student received), in release order: before the next released cell still present,
or at the end when none follows, so a restored test runs after everything the student wrote for
its question. ``OverwriteCells`` then restores its source, hidden tests included, from the
gradebook, exactly as for a cell the student never touched.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["RestoreLockedCells", "grade_id", "missing_cell_ids", "restore_missing_cells", "restorable_cells"]


def grade_id(cell: NotebookNode) -> str | None:
    """The nbgrader id of ``cell``, or None for an ordinary cell."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def restorable_cells(db_url: str, *, assignment_id: str, notebook_id: str) -> dict[str, dict]:
    """Gradebook cells a submission must contain: locked cells, grade cells and task cells.

    Returns
    -------
    dict
        ``grade_id -> {"cell_type", "locked", "source", "checksum", "points", "solution", "task"}``.
    """
    with Gradebook(db_url) as gradebook:
        notebook = gradebook.find_notebook(notebook_id, assignment_id)
        points = {cell.name: float(cell.max_score) for cell in notebook.grade_cells}
        tasks = {cell.name: float(cell.max_score) for cell in notebook.task_cells}
        solutions = {cell.name for cell in notebook.solution_cells}
        cells = {}
        for source in notebook.source_cells:
            if source.locked or source.name in points or source.name in tasks:
                cells[source.name] = {
                    "cell_type": source.cell_type,
                    "locked": bool(source.locked),
                    "source": source.source,
                    "checksum": source.checksum,
                    "points": points.get(source.name, tasks.get(source.name)),
                    "grade": source.name in points,
                    "solution": source.name in solutions,
                    "task": source.name in tasks,
                }
    return cells


def missing_cell_ids(nb: NotebookNode, *, wanted: Iterable[str], order: Sequence[str]) -> list[str]:
    """Ids in ``wanted`` that no cell of ``nb`` carries, in ``order``."""
    present = {grade_id(cell) for cell in nb.cells}
    wanted = set(wanted)
    ordered = [name for name in order if name in wanted]
    ordered += sorted(wanted - set(ordered))
    return [name for name in ordered if name not in present]


def _cell_from_gradebook(name: str, info: dict) -> NotebookNode:
    metadata = {
        "deletable": False,
        "editable": not info["locked"],
        "nbgrader": {
            "grade": info["grade"],
            "grade_id": name,
            "locked": info["locked"],
            "solution": info["solution"],
            "task": info["task"],
            "schema_version": 3,
            "checksum": info["checksum"],
        },
    }
    if info["points"] is not None:
        metadata["nbgrader"]["points"] = info["points"]
    if info["cell_type"] == "code":
        return nbformat.v4.new_code_cell(info["source"], metadata=metadata)
    return nbformat.v4.new_markdown_cell(info["source"], metadata=metadata)


def restore_missing_cells(
    nb: NotebookNode,
    *,
    cells: dict[str, dict],
    order: Sequence[str],
    templates: dict[str, NotebookNode] | None = None,
) -> list[str]:
    """Insert the cells of ``cells`` missing from ``nb``; return their ids.

    Parameters
    ----------
    nb : NotebookNode
        The submitted notebook, changed in place.
    cells : dict
        What :func:`restorable_cells` returns.
    order : sequence of str
        Every grade id of the released notebook, in release order.
    templates : dict, optional
        Released cells by id; a missing cell is copied from here when possible (the cell the
        student received), else rebuilt from the gradebook.
    """
    templates = templates or {}
    missing = missing_cell_ids(nb, wanted=cells, order=order)
    originally_present = {grade_id(cell) for cell in nb.cells} - {None}
    for name in missing:
        if name in templates:
            cell = copy.deepcopy(templates[name])
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        else:
            cell = _cell_from_gradebook(name, cells[name])
        cell.setdefault("metadata", {})["grader_restored"] = True
        following = order[order.index(name) + 1:] if name in order else []
        anchor = next((other for other in following if other in originally_present), None)
        if anchor is None:
            nb.cells.append(cell)
        else:
            position = next(i for i, existing in enumerate(nb.cells) if grade_id(existing) == anchor)
            nb.cells.insert(position, cell)
    return missing


def release_cells(coursedir: CourseDirectory, *, assignment_id: str, notebook_id: str) -> tuple[list[str], dict]:
    """Grade ids in release order and the released cells by id.

    Reads the released notebook; when it is missing, takes only the order from the source
    notebook (never its cells: they hold the solutions).
    """
    release = os.path.join(
        coursedir.format_path(coursedir.release_directory, ".", assignment_id), f"{notebook_id}.ipynb"
    )
    source = os.path.join(
        coursedir.format_path(coursedir.source_directory, ".", assignment_id), f"{notebook_id}.ipynb"
    )
    for path, use_cells in ((release, True), (source, False)):
        if os.path.isfile(path):
            nb = nbformat.read(path, as_version=4)
            order = [grade_id(cell) for cell in nb.cells if grade_id(cell)]
            templates = {grade_id(cell): cell for cell in nb.cells if grade_id(cell)} if use_cells else {}
            return order, templates
    return [], {}


class RestoreLockedCells(NbGraderPreprocessor):
    """Sanitising preprocessor: re-insert deleted locked, grade and task cells (see module doc)."""

    def preprocess(self, nb: NotebookNode, resources: dict):
        notebook_id = resources["nbgrader"]["notebook"]
        assignment_id = resources["nbgrader"]["assignment"]
        try:
            cells = restorable_cells(
                resources["nbgrader"]["db_url"], assignment_id=assignment_id, notebook_id=notebook_id
            )
        except MissingEntry:
            return nb, resources
        coursedir = CourseDirectory(config=self.config)
        order, templates = release_cells(coursedir, assignment_id=assignment_id, notebook_id=notebook_id)
        restored = restore_missing_cells(nb, cells=cells, order=order, templates=templates)
        if restored:
            self.log.warning("Restored cells deleted from the submission: %s", ", ".join(restored))
        resources["nbgrader"]["restored_cells"] = restored
        return nb, resources

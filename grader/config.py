"""nbgrader configuration for safe grading.

:func:`apply_safe_grading` can be called from a course's ``nbgrader_config.py``, so that plain
``nbgrader autograde`` and ``nbgrader generate_feedback`` get the same protections as
``python -m grader batch``::

    c = get_config()  # noqa
    from grader.config import apply_safe_grading
    apply_safe_grading(c)
"""

from __future__ import annotations

import hashlib
import json
import os
import types
from typing import Any

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from traitlets.config import Config, PyFileConfigLoader

from grader.check import SolutionGate
from grader.execute import SafeExecute
from grader.feedback import FeedbackExporter, HideHiddenTests
from grader.restore import RestoreLockedCells

__all__ = ["apply_safe_grading", "load_course_config", "settings_digest"]


def load_course_config(course_root: str) -> Config:
    """The course's ``nbgrader_config.py`` (when present) with ``CourseDirectory.root`` set.

    Parameters
    ----------
    course_root : str
        Folder holding ``nbgrader_config.py``, ``gradebook.db`` and the step folders.

    Raises
    ------
    ValueError
        When ``course_root`` is not a folder.
    """
    root = os.path.abspath(course_root)
    if not os.path.isdir(root):
        raise ValueError(f"load_course_config: course_root must be a folder; received {course_root!r}")
    config = Config()
    if os.path.isfile(os.path.join(root, "nbgrader_config.py")):
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=root).load_config())
    config.CourseDirectory.root = root
    return config


def apply_safe_grading(config: Config, *, course_root: str | None = None) -> Config:
    """Switch nbgrader's autograde and feedback steps to the hardened pipeline; return ``config``.

    * first, once per run: the lab's own solution must earn full marks in the sandbox
      (:class:`grader.check.SolutionGate`);
    * sanitising: restore deleted locked/test cells (:class:`grader.restore.RestoreLockedCells`)
      before nbgrader's own restoration of edited ones;
    * execution: :class:`grader.execute.SafeExecute` (sandboxed kernels, recovery from hung or
      dead kernels, notebook time budget, output caps);
    * feedback: hidden tests removed (:class:`grader.feedback.HideHiddenTests`), the page
      rendered by :class:`grader.feedback.FeedbackExporter`.

    Parameters
    ----------
    config : traitlets.config.Config
        Changed in place.
    course_root : str, optional
        Course folder the kernels must not see; defaults to ``CourseDirectory.root`` or the
        current folder.
    """
    root = course_root or config.CourseDirectory.get("root") or os.getcwd()
    config.Autograde.sanitize_preprocessors = [
        SolutionGate, ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreLockedCells, OverwriteCells, CheckCellMetadata,
    ]
    config.Autograde.autograde_preprocessors = [
        SafeExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata,
    ]
    config.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
    config.GenerateFeedback.exporter_class = FeedbackExporter  # the same page, without re-parsing it
    protected = list(config.SandboxKernelManager.get("protected_paths", []))
    if os.path.abspath(root) not in protected:
        protected.append(os.path.abspath(root))
    config.SandboxKernelManager.protected_paths = protected
    # the shipped course sets ExecutePreprocessor.timeout; nbgrader's Execute reads it there too
    if "timeout" in config.ExecutePreprocessor and "timeout" not in config.SafeExecute:
        config.SafeExecute.timeout = config.ExecutePreprocessor.timeout
    return config


def _stable(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return type(value).__qualname__
    if isinstance(value, dict):
        return {str(key): _stable(item, depth + 1) for key, item in sorted(value.items(), key=lambda pair: str(pair[0]))}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_stable(item, depth + 1) for item in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, types.FunctionType):  # by name, code and captured values, not the memory address
        code = value.__code__
        captured = [cell.cell_contents for cell in value.__closure__ or ()]
        return [f"{value.__module__}.{value.__qualname__}", code.co_code.hex(), repr(code.co_consts),
                _stable(captured, depth + 1), _stable(value.__defaults__ or (), depth + 1)]
    if isinstance(value, types.ModuleType):
        return value.__name__
    if callable(value):  # classes and other callables by name: their repr may hold a memory address
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__qualname__)}"
    return repr(value)


def settings_digest(config: Config) -> str:
    """A digest of a configuration, stable across processes.

    Functions count by their name, code and the values they capture; classes by name. Two
    batches whose digests differ may grade the same notebook differently (another time-out,
    another sandbox), so a resumed batch grades again what an earlier digest graded.
    """
    return hashlib.sha256(json.dumps(_stable(dict(config)), sort_keys=True).encode()).hexdigest()

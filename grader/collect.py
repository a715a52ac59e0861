"""LMS collection: an LMS download (zip/tar files or folders) into nbgrader's ``submitted/``.

:func:`zip_collect` runs ``nbgrader zip_collect`` with collectors that keep every uploaded file
(not only notebooks, so a student who uploaded only a PDF is not silently dropped) and understand
the usual LMS layouts (:data:`LMS_PATTERNS`).
"""

from __future__ import annotations

import copy
import fnmatch
import logging
import os
import re
import shutil
from collections.abc import Sequence

from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.zipcollect import FileNameCollectorPlugin
from nbgrader.utils import parse_utc
from traitlets.config import Config

__all__ = ["IGNORED_UPLOADS", "LMS_PATTERNS", "AnyFileCollector", "FolderCollector", "zip_collect"]

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


def zip_collect(config: Config, assignment: str, archives: Sequence[str], pattern: str) -> tuple[set[str], list[str]]:
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

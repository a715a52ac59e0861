"""Keep hidden tests hidden in the feedback students receive.

Stock nbgrader 0.9.6 renders feedback from the autograded notebook, in which the hidden tests have
been restored, and it has no option to leave them out: students read every hidden test in their
feedback (and in the traceback of a hidden test that failed). :class:`HideHiddenTests`, added to
``GenerateFeedback.preprocessors``, replaces each hidden region by a one-line comment, reduces the
error of a cell holding hidden tests to its last line, and blanks every hidden-test line that
appears verbatim in any output (a student's code can print the source of the test calling it).
It also replaces every path of the grading machine in outputs (the kernel's scratch folder, the
course folder, the Python installation and its packages, the home and temporary folders) by a
short name such as ``<site-packages>`` (:func:`redact_paths`).
"""

from __future__ import annotations

import html
import json
import os
import re
import site
import sys
import tempfile
from collections.abc import Sequence

from nbconvert.exporters import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

__all__ = ["FeedbackExporter", "HideHiddenTests", "hidden_lines", "machine_paths", "redact_paths"]

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HIDDEN_NOTE = "# (hidden tests ran here; they are not shown)"
REDACTED = "[hidden test]"
# the kernel's scratch folders (grader.sandbox) and ipykernel's cell files, wherever they are
SCRATCH_PATH = re.compile(r"(?:/[^\s'\"<>:]*)?/grader-sandbox-[A-Za-z0-9_]+(?:/work)?")
IPYKERNEL_CELL = re.compile(r"(?:/[^\s'\"<>:]*)?/ipykernel_\d+/")
# the tags nbconvert's HTMLExporter edits for accessibility (see FeedbackExporter)
IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt=)", re.IGNORECASE)
FOCUSABLE_DIV = re.compile(r"""(<div\b[^>]*\sclass=["'][^"']*\b(?:jp-Cell-inputWrapper|jp-OutputArea-output)\b[^"']*["'])""")
NO_ALT = "No description has been provided for this image"


def machine_paths(*, course_root: str | None = None) -> list[tuple[str, str]]:
    """(path, short name) pairs of the grading machine, longest path first."""
    pairs = [(path, "<site-packages>") for path in site.getsitepackages()]
    pairs += [(sys.prefix, "<python>"), (sys.base_prefix, "<python>"), (sys.exec_prefix, "<python>"),
              (os.path.dirname(os.path.abspath(__file__)), "<grader>"), (tempfile.gettempdir(), "<tmp>"),
              (os.path.expanduser("~"), "~")]
    if course_root:
        pairs.append((os.path.abspath(course_root), "<course>"))
    found = {}
    for path, name in pairs:
        for variant in {os.path.abspath(path), os.path.realpath(path)}:
            if len(variant) > 1:  # never "/"
                found.setdefault(variant.rstrip("/"), name)
    return sorted(found.items(), key=lambda pair: len(pair[0]), reverse=True)


def redact_paths(text: str, paths: Sequence[tuple[str, str]]) -> str:
    """``text`` with the kernel's scratch folders and each path of ``paths`` replaced by its name.

    Example
    -------
    >>> redact_paths("File /tmp/grader-sandbox-ab12/work/x.py", [("/srv/course", "<course>")])
    'File <scratch>/x.py'
    """
    if not isinstance(text, str) or "/" not in text:
        return text
    text = IPYKERNEL_CELL.sub("<cell>/", text)
    text = SCRATCH_PATH.sub("<scratch>", text)
    for path, name in paths:
        if path in text:
            text = re.sub(re.escape(path) + r"(?=[/\s'\"<>:,)\]\\]|$)", name, text)
    return text


def hidden_lines(source: str, *, begin: str, end: str) -> tuple[str, list[str]]:
    """Split ``source`` into the text shown to students and the hidden lines it contained."""
    shown, hidden, inside = [], [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
            shown.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif end in line and inside:
            inside = False
        elif inside:
            hidden.append(line)
        else:
            shown.append(line)
    return "\n".join(shown), hidden


def _merge_streams(cell: NotebookNode) -> None:
    """Join consecutive stream outputs of one name: a printed line may arrive in two pieces."""
    merged = []
    for output in cell.get("outputs", []):
        if (
            merged
            and output.get("output_type") == "stream"
            and merged[-1].get("output_type") == "stream"
            and merged[-1].get("name") == output.get("name")
        ):
            merged[-1]["text"] = merged[-1].get("text", "") + output.get("text", "")
        else:
            merged.append(output)
    if "outputs" in cell:
        cell["outputs"] = merged


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests, and traces of them, from feedback notebooks."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS", help="Start of a hidden region.").tag(config=True)
    end_test_delimeter = Unicode("END HIDDEN TESTS", help="End of a hidden region.").tag(config=True)
    min_redacted_length = Integer(
        12, help="Hidden lines shorter than this (after stripping) are not searched for in outputs."
    ).tag(config=True)

    def _redact(self, text: str, needles: list[str]) -> str:
        if not needles or not isinstance(text, str):
            return text
        plain = ANSI_ESCAPE.sub("", text)
        for needle in needles:
            if needle in plain:
                plain = plain.replace(needle, REDACTED)
                text = plain
        return text

    def preprocess(self, nb: NotebookNode, resources: dict):
        from nbgrader.coursedir import CourseDirectory

        paths = machine_paths(course_root=CourseDirectory(config=self.config).root)
        hidden_cells, needles = set(), set()
        for index, cell in enumerate(nb.cells):
            if self.begin_test_delimeter not in cell.get("source", ""):
                continue
            cell.source, lines = hidden_lines(
                cell.source, begin=self.begin_test_delimeter, end=self.end_test_delimeter
            )
            hidden_cells.add(index)
            needles.update(line.strip() for line in lines if len(line.strip()) >= self.min_redacted_length)
        # a line also shows up escaped when code prints a repr, JSON or HTML of it
        variants = set()
        for needle in needles:
            variants.update({needle, repr(needle)[1:-1], json.dumps(needle)[1:-1], html.escape(needle)})
        ordered = sorted(variants, key=len, reverse=True)
        for index, cell in enumerate(nb.cells):
            _merge_streams(cell)
            for output in cell.get("outputs", []):
                kind = output.get("output_type")
                if kind == "error":
                    output["evalue"] = redact_paths(self._redact(str(output.get("evalue", "")), ordered), paths)
                    if index in hidden_cells:
                        output["traceback"] = [f"{output.get('ename', 'Error')}: {output['evalue']}"]
                    else:
                        output["traceback"] = [redact_paths(self._redact(line, ordered), paths)
                                               for line in output.get("traceback", [])]
                elif kind == "stream":
                    output["text"] = redact_paths(self._redact(output.get("text", ""), ordered), paths)
                elif "data" in output:
                    for mime, value in output["data"].items():
                        if mime.startswith("text/") and isinstance(value, str):
                            output["data"][mime] = redact_paths(self._redact(value, ordered), paths)
        return nb, resources


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter, without parsing the rendered page again.

    ``HTMLExporter.from_notebook_node`` renders the page, then parses all of it (the feedback
    template inlines a few hundred kB of CSS) with BeautifulSoup's pure-Python parser only to give
    images without ``alt`` a default text and make input and output areas focusable; that parse
    was about a third of a submission's feedback time. This exporter makes the same two edits on
    the tags the template wrote. ``grader.config.apply_safe_grading`` sets it as
    ``GenerateFeedback.exporter_class``; it reads the ``HTMLExporter`` configuration.
    """

    def from_notebook_node(self, nb: NotebookNode, resources: dict | None = None, **kw):  # type: ignore[override]
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        self.register_filter("highlight_code", self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type",
                             WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        page, missing_alt = IMG_WITHOUT_ALT.subn(f'<img alt="{NO_ALT}"', page)
        if missing_alt:
            self.log.warning("Alternative text is missing on %s image(s).", missing_alt)
        return FOCUSABLE_DIV.sub(r'\1 tabindex="0"', page), resources

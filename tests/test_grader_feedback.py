"""The feedback page of grader.feedback.FeedbackExporter is nbconvert's HTMLExporter page."""

import copy
import os

import nbformat
import nbgrader
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from traitlets.config import Config

from grader.config import apply_safe_grading
from grader.feedback import FeedbackExporter

FORMGRADER = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")


def _feedback_config() -> Config:
    """The HTMLExporter settings nbgrader's GenerateFeedback uses, with the course's CSS step."""
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [os.path.join(FORMGRADER, "templates")]
    config.HTMLExporter.extra_template_paths = [os.path.join(FORMGRADER, "static", "node_modules", "bootstrap", "dist", "css")]
    config.HTMLExporter.preprocessors = [CSSHTMLHeaderPreprocessor]
    return config


def _graded_notebook() -> nbformat.NotebookNode:
    test = nbformat.v4.new_code_cell("assert f() == 2", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="<img src='printed.png'> is text\n"),
        nbformat.v4.new_output("error", ename="AssertionError", evalue="f() returned 1", traceback=["AssertionError: f() returned 1"]),
    ])
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "test_f", "points": 2, "score": 0,
                                 "locked": True, "schema_version": 3}
    figure = nbformat.v4.new_code_cell("show()", outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"text/html": '<img src="a.png"><IMG ALT="kept" src="b.png"><b>bold</b>'}),
    ])
    text = nbformat.v4.new_markdown_cell("![](picture.png) and ![a cat](cat.png)")
    return nbformat.v4.new_notebook(cells=[text, figure, test])


def test_feedback_exporter_writes_the_stock_page():
    resources = {"nbgrader": {"notebook": "lab", "score": 0, "max_score": 2, "late_penalty": 0}}
    notebook = _graded_notebook()
    stock, _ = HTMLExporter(config=_feedback_config()).from_notebook_node(copy.deepcopy(notebook), copy.deepcopy(resources))
    ours, _ = FeedbackExporter(config=_feedback_config()).from_notebook_node(copy.deepcopy(notebook), copy.deepcopy(resources))
    stock_tree, our_tree = BeautifulSoup(stock, "html.parser"), BeautifulSoup(ours, "html.parser")
    alts = [image.get("alt") for image in our_tree.find_all("img")]
    assert alts == [image.get("alt") for image in stock_tree.find_all("img")]
    assert alts.count("No description has been provided for this image") == 2 and "kept" in alts and "a cat" in alts
    assert "f() returned 1" in our_tree.get_text() and "printed.png" in our_tree.get_text()
    assert str(our_tree) == str(stock_tree)  # the same page, tag for tag


def test_safe_grading_renders_feedback_with_it(tmp_path):
    config = apply_safe_grading(Config(), course_root=str(tmp_path))
    assert config.GenerateFeedback.exporter_class is FeedbackExporter

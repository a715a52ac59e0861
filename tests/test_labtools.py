"""Tests of cnnkit.labtools: the checks the labs' test cells use, the library watch of the "by hand"
parts, and the training clock. Their use inside the labs is tested by tests/test_lab_mistakes.py."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest

import cnnkit as ck
from cnnkit.labtools import (
    CELL_LIMIT_SECONDS,
    NOT_CNNKIT,
    NUMPY_ONLY,
    call,
    cell_timer,
    check_array,
    check_value,
    describe,
    raises,
    timing_message,
)

X = np.random.default_rng(0).normal(size=(1, 6, 6, 2))
W = np.random.default_rng(1).normal(size=(3, 3, 2, 2))


def numpy_conv(x, w):
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[:2], axis=(1, 2))
    return np.einsum("nijcrs,rscf->nijf", windows, w)


def test_numpy_answers_pass_and_return_their_result():
    np.testing.assert_allclose(call("conv", numpy_conv, X, W, forbid=NUMPY_ONLY), ck.conv2d(X, W))


conv_alias = ck.conv2d  # a reference taken before the call is still seen


@pytest.mark.parametrize(
    "answer, called",
    [
        (lambda x, w: ck.conv2d(x, w), "cnnkit.conv.conv2d (cnnkit)"),
        (lambda x, w: conv_alias(x, w), "cnnkit.conv.conv2d (cnnkit)"),
        (lambda x, w: __import__("scipy.signal").signal.correlate(x, w, mode="valid"), "(SciPy)"),
        (lambda x, w: np.asarray(__import__("keras").ops.conv(x.astype("float32"), w.astype("float32"))), "keras.src.ops.nn.conv (Keras)"),
    ],
)
def test_a_library_call_fails_the_case_and_names_the_call(answer, called):
    with pytest.raises(AssertionError, match=r"conv\(x\): <lambda> must be written by hand with numpy only") as error:
        call("conv(x)", answer, X, W, forbid=NUMPY_ONLY)
    assert called in str(error.value) and "scores 0" in str(error.value)


def test_a_library_called_from_another_thread_is_seen():
    def threaded(x, w):
        out = {}
        worker = threading.Thread(target=lambda: out.update(result=ck.conv2d(x, w)))
        worker.start()
        worker.join()
        return out["result"]

    with pytest.raises(AssertionError, match="cnnkit.conv.conv2d"):
        call("threaded", threaded, X, W, forbid=NUMPY_ONLY)


def test_a_lazily_loaded_name_is_named():
    with pytest.raises(AssertionError, match=r"your function called cnnkit.plot_history \(cnnkit\)"):
        call("lazy", lambda: ck.__getattr__("plot_history"), forbid=NOT_CNNKIT)


def test_not_cnnkit_allows_other_libraries_and_says_so():
    call("scipy", lambda: __import__("scipy.special").special.expit(0.0), forbid=NOT_CNNKIT)
    with pytest.raises(
        AssertionError, match="not with the course library's ready-made helpers; your function called cnnkit.pool.max_pool2d"
    ):
        call("pool", lambda: ck.max_pool2d(X), forbid=NOT_CNNKIT)


def test_removing_the_watch_fails_and_the_previous_profiler_comes_back():
    import sys

    def evasive(x, w):
        sys.setprofile(None)
        return ck.conv2d(x, w)

    mine = lambda frame, event, arg: None  # noqa: E731
    sys.setprofile(mine)
    try:
        with pytest.raises(AssertionError, match="removed the profile hook"):
            call("evasive", evasive, X, W, forbid=NUMPY_ONLY)
        assert sys.getprofile() is mine
    finally:
        sys.setprofile(None)


def test_an_exception_names_the_case_and_keeps_its_cause():
    with pytest.raises(AssertionError, match=r"f\(x\) raised IndexError: .*\n  -> look at the indices") as error:
        call("f(x)", lambda x: x[9], [1], hint="look at the indices")
    assert isinstance(error.value.__cause__, IndexError)


def test_raises_accepts_the_exception_and_refuses_a_value():
    raises("int('x')", ValueError, int, "x")
    with pytest.raises(AssertionError, match=r"int\('7'\): expected ValueError, got the value 7\n  -> hint"):
        raises("int('7')", ValueError, int, "7", hint="hint")


@pytest.mark.parametrize(
    "got, message",
    [
        (None, "got None: did the function forget to return"),
        (np.ones((2, 3)), r"expected shape \(3, 2\), got shape \(2, 3\)"),
        (np.ones((3, 2), dtype=int), "got dtype int64: the output was made with an integer dtype"),
        (np.ones((3, 2), dtype=np.float32), "expected dtype float64 .*got float32"),
        (np.zeros((3, 2)), r"wrong values \(6 of 6 values differ, the largest difference is 1 at index \(0, 0\)\)"),
    ],
)
def test_check_array_says_what_is_wrong(got, message):
    with pytest.raises(AssertionError, match=message):
        check_array("f()", got, np.ones((3, 2)))


def test_check_array_hints_at_the_mistake_it_recognises_and_hides_values_when_asked():
    expected = np.arange(6.0).reshape(2, 3)
    with pytest.raises(AssertionError) as error:
        check_array("f()", expected[::-1], expected, mistakes=[(expected * 2, "doubled"), (expected[::-1], "upside down")], reveal=False)
    text = str(error.value)
    assert text.endswith("-> upside down") and "doubled" not in text and "expected:" not in text and "5." not in text
    with pytest.raises(AssertionError, match="expected dtype float32, got float64: convert with .astype"):
        check_array("f()", expected, expected.astype(np.float32), dtype=np.float32)
    check_array("f()", expected.astype(np.float32), expected.astype(np.float32), dtype=np.float32)


def test_check_value_wants_ints_where_ints_are_expected():
    check_value("n()", np.int64(5), 5)
    with pytest.raises(AssertionError, match=r"returned 5.0 \(a float\): return an int, e.g. with //"):
        check_value("n()", 5.0, 5)
    with pytest.raises(AssertionError, match="expected 5, got 4\n  -> off by one"):
        check_value("n()", 4, 5, mistakes=[(4, "off by one")])
    with pytest.raises(AssertionError, match="got 4, which is not the expected value"):
        check_value("n()", 4, 5, reveal=False)
    with pytest.raises(AssertionError, match=r"expected True \(a bool\), got 1"):
        check_value("b()", 1, True)


def test_describe_shows_arrays_by_shape():
    text = describe("conv2d", np.ones((1, 7, 7, 1)), np.ones((3, 3, 1, 2), dtype="float32"), None, stride=2, padding="same")
    assert text == "conv2d(array (1, 7, 7, 1), array (3, 3, 1, 2) float32, None, stride=2, padding='same')"


@pytest.mark.parametrize(
    "seconds, start",
    [
        (3.0, "training took 3.0 s (grading stops a cell at 60 s)"),
        (48.0, "WARNING: training took 48 s; grading stops a cell at 60 s"),
        (75.0, "TOO SLOW: training took 75 s; grading stops a cell at 60 s and this part would score 0"),
    ],
)
def test_cell_timer_reports_against_the_limit(seconds, start):
    out = io.StringIO()
    with cell_timer("training", clock=iter([0.0, seconds]).__next__, out=out):
        pass
    assert out.getvalue().startswith(start)
    if seconds > CELL_LIMIT_SECONDS / 2:
        assert "train fewer epochs or a smaller model" in out.getvalue()


def test_cell_timer_reports_an_interrupted_cell_and_lets_the_interrupt_through():
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt), cell_timer("training", clock=iter([0.0, 60.0]).__next__, out=out):
        raise KeyboardInterrupt
    assert out.getvalue().strip() == timing_message("training", 60.0, stopped=True)
    assert "interrupted after 60 s; grading stops a cell at 60 s" in out.getvalue()


def test_importing_a_forbidden_library_from_the_function_is_an_entry(tmp_package):
    import sys

    tmp_package("forbiddenlib", "def f():\n    return 1\n\n\nVALUE = f()\n")
    before = sys.getprofile()
    with pytest.raises(AssertionError, match=r"your function called forbiddenlib \(forbiddenlib\)"):
        call("first", lambda: __import__("forbiddenlib").VALUE, forbid=("forbiddenlib",))
    assert sys.getprofile() is before
    # loaded now: a second import runs none of its code, and only a real call counts
    assert call("again", lambda: __import__("forbiddenlib").VALUE, forbid=("forbiddenlib",)) == 1
    with pytest.raises(AssertionError, match=r"your function called forbiddenlib\.f \(forbiddenlib\)"):
        call("use", lambda: __import__("forbiddenlib").f(), forbid=("forbiddenlib",))

"""Tools for the labs' test cells: checks that say what a failure points to, the numpy-only rule
of the "by hand" parts, and a clock for the cells that train.

The labs import these in their locked setup cell, so the same code runs in a student's kernel
(JupyterLab, Colab, Binder) and at grading:

1. :func:`call` runs a student's function on one test case. An exception inside it comes back as
   an ``AssertionError`` that names the case (the call, its shapes and settings); with
   ``forbid=...`` the call runs under a profile hook that sees every Python and C function it
   enters, and a call into a forbidden library fails the case with the library named.
2. :func:`check_array` and :func:`check_value` compare a result with the expected one: type, shape,
   dtype, then values. On a mismatch they try the known mistakes given by the test (a result
   computed the wrong way) and say which one the student's result matches.
3. :func:`cell_timer` times a training cell against :data:`CELL_LIMIT_SECONDS`, the time grading
   gives each cell, and warns well before that.
4. :func:`reference` trains a model the lab's tests need (a baseline, a pretrained extractor) once:
   a copy stored under a key of everything the training depends on (:func:`reference_key`) is
   loaded instead of trained again. The grader stores them while grading the lab's own solution
   and lets every submission load them; elsewhere the cell simply trains.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import numbers
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

CELL_LIMIT_SECONDS = 60
"""Seconds grading gives one notebook cell (``c.ExecutePreprocessor.timeout`` in nbgrader_config.py)."""

WARN_FRACTION = 0.5
"""A cell using more than this share of :data:`CELL_LIMIT_SECONDS` gets a warning: the machine
that grades may be slower than the student's."""

NUMPY_ONLY = ("cnnkit", "keras", "tensorflow", "tf_keras", "scipy", "skimage", "cv2", "torch", "jax")
"""Libraries a "by hand" part may not call (numpy, sliding-window views included, stays allowed)."""

NOT_CNNKIT = ("cnnkit",)
"""For parts written with Keras: the course library's ready-made helpers are off limits."""

_LIBRARY_NAMES = {
    "cnnkit": "cnnkit",
    "keras": "Keras",
    "tensorflow": "TensorFlow",
    "tf_keras": "Keras",
    "scipy": "SciPy",
    "skimage": "scikit-image",
    "cv2": "OpenCV",
    "torch": "PyTorch",
    "jax": "JAX",
}
_HERE = os.path.realpath(__file__)

Mistake = tuple[object, str]
"""``(alternative, hint)``: a result computed the wrong way (or a predicate ``got -> bool``) and
what it points to."""


# ---------------------------------------------------------------------------------------- calls
def _library_dirs(names: Sequence[str]) -> dict[str, str]:
    """Installed folder of each package in ``names`` (found without importing it)."""
    folders = {}
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        for location in (spec.submodule_search_locations or []) if spec else []:
            folders[os.path.realpath(location) + os.sep] = name
    return folders


_UNSEEN = object()  # a dict lookup's default: not looked at yet


class _Watch:
    """A profile hook recording the first call that enters one of ``names``."""

    def __init__(self, names: Sequence[str]):
        self.names = tuple(names)
        self.folders = _library_dirs(self.names)
        self.by_file: dict[str, str | None] = {}
        self.by_module: dict[str | None, str | None] = {}
        self.found: tuple[str, str] | None = None  # (library, function)

    def _file_library(self, filename: str) -> str | None:
        if filename not in self.by_file:
            path = os.path.realpath(filename)
            library = None
            if path != _HERE:
                library = next((name for folder, name in self.folders.items() if path.startswith(folder)), None)
            self.by_file[filename] = library
        return self.by_file[filename]

    def _module_library(self, module: str | None) -> str | None:
        if module not in self.by_module:
            top = (module or "").split(".")[0]
            self.by_module[module] = top if top in self.names else None
        return self.by_module[module]

    def __call__(self, frame, event, arg):
        # Record where the student's code enters a library: a call made from outside it. Calls
        # made inside the library, and the module code an import runs, are not entries.
        # Called for every Python and C call and return while a test runs (building a Keras model
        # makes tens of thousands): returns and already-seen files cost one dict lookup.
        if self.found is not None or (event != "call" and event != "c_call"):
            return
        if event == "call":
            code = frame.f_code
            library = self.by_file.get(code.co_filename, _UNSEEN)
            if library is _UNSEEN:
                library = self._file_library(code.co_filename)
            if not library:
                return
            if code.co_name == "<module>":
                # importing a library not loaded yet runs its code: an entry when the import came
                # from outside it (the function's own `import keras`); found before the import's
                # millions of calls, which then run without the hook
                if not self._inside(_importer(frame)):
                    self.found = (library, str(frame.f_globals.get("__name__", library)))
                    sys.setprofile(None)  # nothing left to watch (call() puts the previous hooks back)
                    threading.setprofile(None)
            elif not self._inside(frame.f_back):
                module = frame.f_globals.get("__name__", library)
                name = getattr(code, "co_qualname", code.co_name)
                if name == "__getattr__" and isinstance(frame.f_locals.get("name"), str):
                    name = frame.f_locals["name"]  # a lazily loaded name, e.g. ck.grad_cam
                self.found = (library, f"{module}.{name}")
        else:  # a C function: whose module, then (rarely needed) called from where
            module = getattr(arg, "__module__", None)
            if module is None:
                owner = getattr(arg, "__self__", None)
                if owner is not None:
                    module = getattr(owner, "__name__", None) or type(owner).__module__
            if module.__class__ is not str:  # None, or an odd __name__ (e.g. an object's attribute)
                module = None
            library = self.by_module.get(module, _UNSEEN)
            if library is _UNSEEN:
                library = self._module_library(module)
            if library and not self._inside(frame):
                self.found = (library, f"{module}.{getattr(arg, '__qualname__', getattr(arg, '__name__', '?'))}")

    def _inside(self, frame) -> bool:
        """Whether ``frame`` runs code of a watched library."""
        return frame is not None and self._file_library(frame.f_code.co_filename) is not None


def _importer(frame):
    """The frame that started the import running module code ``frame`` (importlib's own skipped)."""
    caller = frame.f_back
    while caller is not None and caller.f_code.co_filename.startswith("<frozen importlib"):
        caller = caller.f_back
    return caller


def _describe(names: Sequence[str]) -> str:
    shown = list(dict.fromkeys(_LIBRARY_NAMES.get(name, name) for name in names))
    return ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]


def call(case: str, function: Callable, /, *args, forbid: Sequence[str] = (), hint: str = "", **kwargs):
    """Run ``function(*args, **kwargs)`` for the test case ``case`` and return its result.

    Parameters
    ----------
    case : str
        The call as a student reads it, e.g. ``"conv2d(x (2, 9, 9, 3), w (3, 3, 3, 4), stride=2)"``.
    function : callable
        The student's function.
    *args, **kwargs
        Its arguments.
    forbid : sequence of str, optional
        Top-level packages the function may not call (e.g. :data:`NUMPY_ONLY`), directly or
        through a reference taken earlier: a profile hook sees Python and C calls alike.
    hint : str, optional
        What an exception in this case usually points to; added to the message when it raises.

    Returns
    -------
    object
        What ``function`` returned.

    Raises
    ------
    AssertionError
        If ``function`` raised (the message names the case, the exception comes as its cause),
        called a library in ``forbid``, or removed the profile hook watching it.

    Examples
    --------
    >>> call("sum([1, 2])", sum, [1, 2])
    3
    >>> call("np.ones(2)", lambda: np.ones(2), forbid=NUMPY_ONLY)
    array([1., 1.])
    """
    name = getattr(function, "__name__", "this function")
    watch = _Watch(forbid) if forbid else None
    previous = sys.getprofile(), getattr(threading, "_profile_hook", None)
    if watch is not None:
        threading.setprofile(watch)
        sys.setprofile(watch)
    try:
        result = function(*args, **kwargs)
    except Exception as error:
        removed = watch is not None and sys.getprofile() is not watch
        _restore(watch, previous)
        _refuse(case, name, watch, forbid, removed)
        advice = f"\n  -> {hint}" if hint else ""
        raise AssertionError(f"{case} raised {type(error).__name__}: {error}{advice}") from error
    removed = watch is not None and sys.getprofile() is not watch
    _restore(watch, previous)
    _refuse(case, name, watch, forbid, removed)
    return result


def raises(
    case: str, exception: type[BaseException], function: Callable, /, *args, forbid: Sequence[str] = (), hint: str = "", **kwargs
) -> None:
    """Check that ``function(*args, **kwargs)`` raises ``exception`` (as :func:`call` runs it).

    Raises
    ------
    AssertionError
        If it returns a value (the message shows it, with ``hint``), raises another exception, or
        calls a library in ``forbid``.

    Examples
    --------
    >>> raises("int('seven')", ValueError, int, "seven")
    >>> raises("int('7')", ValueError, int, "7")
    Traceback (most recent call last):
    ...
    AssertionError: int('7'): expected ValueError, got the value 7
    """
    try:
        got = call(case, function, *args, forbid=forbid, **kwargs)
    except AssertionError as error:
        if isinstance(error.__cause__, exception):
            return
        raise
    advice = f"\n  -> {hint}" if hint else ""
    raise AssertionError(f"{case}: expected {exception.__name__}, got the value {got!r}{advice}")


def describe(function: str, *args, **kwargs) -> str:
    """A call as test messages show it: arrays by shape (and dtype when not float64), the rest by value.

    Examples
    --------
    >>> describe("conv2d", np.ones((1, 7, 7, 1)), np.ones((3, 3, 1, 2), dtype="float32"), stride=2, padding="same")
    "conv2d(array (1, 7, 7, 1), array (3, 3, 1, 2) float32, stride=2, padding='same')"
    """

    def show(value) -> str:
        if isinstance(value, np.ndarray):
            kind = "" if value.dtype == np.float64 else f" {value.dtype}"
            return f"array {value.shape}{kind}"
        return repr(value)

    shown = [show(value) for value in args] + [f"{key}={show(value)}" for key, value in kwargs.items()]
    return f"{function}({', '.join(shown)})"


def _restore(watch, previous) -> None:
    if watch is not None:
        sys.setprofile(previous[0])
        threading.setprofile(previous[1])


def _refuse(case: str, name: str, watch: _Watch | None, forbid: Sequence[str], removed: bool) -> None:
    if watch is None:
        return
    if watch.found is None:
        if removed:
            raise AssertionError(f"{case}: {name} removed the profile hook that checks which libraries it calls (sys.setprofile)")
        return
    library, function = watch.found
    if tuple(forbid) == NOT_CNNKIT:
        rule = "must be written yourself (numpy, Keras, TensorFlow), not with the course library's ready-made helpers"
    else:
        rule = f"must be written by hand with numpy only (no {_describe(forbid)})"
    raise AssertionError(
        f"{case}: {name} {rule}; your function called {function} ({_LIBRARY_NAMES.get(library, library)}). "
        f"A part answered by calling a library scores 0."
    )


# --------------------------------------------------------------------------------------- checks
def _matches(got, alternative) -> bool:
    if callable(alternative):
        try:
            return bool(alternative(got))
        except Exception:
            return False
    try:
        other = np.asarray(alternative)
        mine = np.asarray(got)
        if mine.dtype.kind not in "biuf" or other.dtype.kind not in "biuf" or mine.shape != other.shape:
            return mine.shape == other.shape and bool(np.all(mine == other))
        return bool(np.allclose(mine, other, rtol=1e-5, atol=1e-6))
    except Exception:
        return False


def _hints(got, mistakes: Sequence[Mistake]) -> str:
    found = [hint for alternative, hint in mistakes if _matches(got, alternative)]
    return "".join(f"\n  -> {hint}" for hint in found[:1])


def _show(array: np.ndarray) -> str:
    array = np.asarray(array)
    note = ""
    if array.ndim > 2 and 0 < np.squeeze(array).ndim <= 2:
        note = f"  (shape {array.shape}, shown without its axes of size 1)\n"
        array = np.squeeze(array)
    return note + np.array2string(array, precision=4, suppress_small=True, max_line_width=100, threshold=60)


def check_array(
    case: str, got, expected, *, rtol: float = 1e-7, atol: float = 1e-9, mistakes: Sequence[Mistake] = (), reveal: bool = True, dtype=None
) -> None:
    """Check that ``got`` is a float array equal to ``expected`` (shape, dtype, values).

    Parameters
    ----------
    case : str
        The call that produced ``got``, named in every message.
    got : array_like
        The student's result.
    expected : ndarray
        The right result. Its dtype sets the precision wanted: an integer or lower-precision
        ``got`` (float32 where ``expected`` is float64) fails with a hint.
    rtol, atol : float
        Tolerances of the value comparison (:func:`numpy.allclose`).
    mistakes : sequence of (alternative, hint)
        Results of known mistakes (arrays, or predicates taking ``got``); when ``got`` matches
        one, its hint ends the message.
    reveal : bool, default True
        Show both arrays (visible tests). With False only a summary is shown (hidden tests:
        largest difference and where), so hidden inputs and answers stay hidden.
    dtype : dtype, optional
        The exact dtype wanted, when the task names one (e.g. float32).

    Raises
    ------
    AssertionError
        Saying what was expected, what came and, where known, what the difference points to.

    Examples
    --------
    >>> check_array("double([1, 2])", np.array([2.0, 4.0]), np.array([2.0, 4.0]))
    >>> check_array("double([1, 2])", np.array([2, 4]), np.array([2.0, 4.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: double([1, 2]): expected a float array (dtype float64), got dtype int64: the output was made with an integer dtype...
    """
    expected = np.asarray(expected)
    if got is None:
        raise AssertionError(f"{case}: expected an array of shape {expected.shape}, got None: did the function forget to return?")
    try:
        mine = np.asarray(got)
    except Exception as error:
        raise AssertionError(f"{case}: expected an array of shape {expected.shape}, got {type(got).__name__} ({error})") from None
    hint = _hints(mine, mistakes)
    if mine.dtype.kind not in "biuf":
        raise AssertionError(f"{case}: expected a numeric array, got dtype {mine.dtype}{hint}")
    if mine.shape != expected.shape:
        raise AssertionError(f"{case}: expected shape {expected.shape}, got shape {mine.shape}{hint}")
    if dtype is not None and mine.dtype != np.dtype(dtype):
        raise AssertionError(
            f"{case}: expected dtype {np.dtype(dtype)}, got {mine.dtype}: convert with .astype(np.{np.dtype(dtype)}){hint}"
        )
    if expected.dtype.kind == "f" and mine.dtype.kind != "f":
        raise AssertionError(
            f"{case}: expected a float array (dtype {expected.dtype}), got dtype {mine.dtype}: the output was made with "
            f"an integer dtype, so every value is cut to an integer (np.zeros_like(x) copies x's dtype; "
            f"np.zeros(shape) makes floats){hint}"
        )
    if expected.dtype.kind == "f" and mine.dtype.itemsize < expected.dtype.itemsize:
        raise AssertionError(
            f"{case}: expected dtype {expected.dtype} (the inputs' precision), got {mine.dtype}: the output was made with "
            f"a lower precision than the inputs; keep theirs (e.g. np.zeros(shape) or np.result_type(x, w)){hint}"
        )
    if np.allclose(mine, expected, rtol=rtol, atol=atol, equal_nan=False):
        return
    difference = np.abs(mine.astype(float) - expected.astype(float))
    difference[np.isnan(difference)] = np.inf
    where = tuple(int(i) for i in np.unravel_index(int(np.argmax(difference)), difference.shape)) if difference.size else ()
    wrong = int(np.sum(~np.isclose(mine, expected, rtol=rtol, atol=atol)))
    summary = f"{wrong} of {expected.size} values differ, the largest difference is {float(np.max(difference)):.4g} at index {where}"
    if reveal:
        raise AssertionError(f"{case}: wrong values ({summary}).\nexpected:\n{_show(expected)}\ngot:\n{_show(mine)}{hint}")
    raise AssertionError(f"{case}: wrong values ({summary}){hint}")


def check_value(case: str, got, expected, *, mistakes: Sequence[Mistake] = (), reveal: bool = True) -> None:
    """Check a scalar or small result (int, str, bool, tuple): its type, then its value.

    An int is expected where ``expected`` is an int: a float such as ``5.0`` fails ("return an int,
    e.g. with //"); numpy integers are accepted. ``mistakes`` and ``reveal`` work as in
    :func:`check_array`.

    Raises
    ------
    AssertionError
        Saying what was expected, what came and, where known, what it points to.

    Examples
    --------
    >>> check_value("output_size(7, 3)", 5, 5)
    >>> check_value("output_size(7, 3)", 5.0, 5)
    Traceback (most recent call last):
    ...
    AssertionError: output_size(7, 3): returned 5.0 (a float): return an int, e.g. with // instead of /
    """
    hint = _hints(got, mistakes)
    wants_int = isinstance(expected, numbers.Integral) and not isinstance(expected, bool)
    if wants_int and isinstance(got, numbers.Real) and not isinstance(got, (numbers.Integral, bool)):
        if math.isfinite(got) and float(got) == float(expected):
            raise AssertionError(f"{case}: returned {got!r} (a float): return an int, e.g. with // instead of /")
        raise AssertionError(f"{case}: expected the int {expected!r}, got {got!r} (a float){hint}")
    if isinstance(expected, bool) and not isinstance(got, (bool, np.bool_)):
        raise AssertionError(f"{case}: expected {expected!r} (a bool), got {got!r} ({type(got).__name__}){hint}")
    try:
        same = bool(np.all(got == expected)) and np.shape(got) == np.shape(expected)
    except Exception:
        same = False
    if not same:
        if reveal:
            raise AssertionError(f"{case}: expected {expected!r}, got {got!r}{hint}")
        raise AssertionError(f"{case}: got {got!r}, which is not the expected value{hint}")


# ---------------------------------------------------------------------------------------- clock
@contextlib.contextmanager
def cell_timer(
    what: str = "this cell", *, limit: float = CELL_LIMIT_SECONDS, clock: Callable[[], float] = time.perf_counter, out=None
) -> Iterator[None]:
    """Time a cell's work and say how it compares with the time grading gives a cell.

    It prints the seconds taken and the limit; above :data:`WARN_FRACTION` of ``limit`` it warns
    (the machine that grades may be slower), and above ``limit`` it says grading would stop the cell.

    Parameters
    ----------
    what : str
        What is timed, e.g. ``"training"``.
    limit : float, default CELL_LIMIT_SECONDS
        Seconds grading allows per cell.
    clock, out
        The time source and the stream to print to (for tests); default ``time.perf_counter`` and
        ``sys.stdout``.

    Examples
    --------
    >>> with cell_timer("adding", clock=iter([0.0, 2.5]).__next__, out=sys.stdout):
    ...     total = 1 + 1
    adding took 2.5 s (grading stops a cell at 60 s)
    """
    start = clock()
    stopped = False
    try:
        yield
    except KeyboardInterrupt:
        stopped = True
        raise
    finally:
        seconds = clock() - start
        stream = out if out is not None else sys.stdout
        print(timing_message(what, seconds, limit=limit, stopped=stopped), file=stream)


def timing_message(what: str, seconds: float, *, limit: float = CELL_LIMIT_SECONDS, stopped: bool = False) -> str:
    """The sentence :func:`cell_timer` prints.

    Examples
    --------
    >>> timing_message("training", 3.25)
    'training took 3.2 s (grading stops a cell at 60 s)'
    >>> timing_message("training", 48).split(";")[0]
    'WARNING: training took 48 s'
    """
    shown = f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"
    advice = "train fewer epochs or a smaller model"
    if stopped:
        return f"{what} was interrupted after {shown} s; grading stops a cell at {limit:g} s: {advice}"
    if seconds > limit:
        return f"TOO SLOW: {what} took {shown} s; grading stops a cell at {limit:g} s and this part would score 0: {advice}"
    if seconds > WARN_FRACTION * limit:
        slower = "(and the grading machine may be slower than yours)"
        return f"WARNING: {what} took {shown} s; grading stops a cell at {limit:g} s {slower}: {advice}"
    return f"{what} took {shown} s (grading stops a cell at {limit:g} s)"


# ----------------------------------------------------------------------------------- references
REFERENCES_VARIABLE = "CNNKIT_REFERENCES"
"""Environment variable naming a folder of reference models that :func:`reference` may load."""

DIGESTS_VARIABLE = "CNNKIT_REFERENCE_DIGESTS"
"""Environment variable holding ``{file name: sha256}`` (JSON): when set, :func:`reference` loads
only files listed there whose bytes have that digest (the grader sets it; nothing else is trusted)."""

SAVE_VARIABLE = "CNNKIT_REFERENCES_SAVE"
"""Environment variable naming a folder where :func:`reference` stores the models it trains."""

_REFERENCE_FORMAT = 1
_LOADED: list[str] = []  # names of the references this process loaded rather than trained (for tests)
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _value_digest(value, depth: int = 0) -> str:
    """A digest of a value that is the same in every process (code by its bytecode and constants)."""
    import hashlib
    import types

    if depth > 8:
        return type(value).__qualname__
    if isinstance(value, types.FunctionType):
        parts = [_value_digest(value.__code__, depth + 1), _value_digest(value.__defaults__ or (), depth + 1),
                 _value_digest(value.__kwdefaults__ or {}, depth + 1),
                 _value_digest([cell.cell_contents for cell in value.__closure__ or ()], depth + 1)]
    elif isinstance(value, types.CodeType):  # not its file name or line: moving a cell changes nothing
        parts = [value.co_code.hex(), list(value.co_names), list(value.co_varnames),
                 [_value_digest(const, depth + 1) for const in value.co_consts]]
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        parts = [str(array.dtype), list(array.shape), hashlib.sha256(array.tobytes()).hexdigest()]
    elif isinstance(value, (list, tuple)):
        parts = [type(value).__name__, [_value_digest(item, depth + 1) for item in value]]
    elif isinstance(value, dict):
        parts = [[repr(key), _value_digest(item, depth + 1)] for key, item in sorted(value.items(), key=lambda pair: repr(pair[0]))]
    else:
        parts = [repr(value)]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _architecture(model) -> str:
    """The model's layers, wiring and compile settings as JSON, with layer names by position (Keras
    numbers its automatic names per session: ``dense_3`` the second time a cell runs)."""
    import json

    names: dict[str, str] = {}

    def collect(layer) -> None:
        names.setdefault(layer.name, f"layer{len(names)}")
        for inner in getattr(layer, "layers", []):
            collect(inner)

    collect(model)

    def rename(value, key=None):
        if isinstance(value, dict):
            return {name: rename(item, name) for name, item in value.items()}
        if isinstance(value, list):
            return [rename(item) for item in value]
        if isinstance(value, str) and value in names:
            return names[value]
        if key == "name" and isinstance(value, str):  # other automatic names: adam_1, input_layer_2
            return re.sub(r"_\d+$", "", value)
        return value

    config = {"model": json.loads(model.to_json()), "compile": model.get_compile_config() if model.compiled else None,
              "weights": [list(weight.shape) for weight in model.weights]}
    return json.dumps(rename(config), sort_keys=True, default=repr)


def _versions() -> dict[str, str]:
    import importlib.metadata
    import platform

    versions = {"python": platform.python_version(), "format": str(_REFERENCE_FORMAT)}
    for package in ("cnnkit", "keras", "tensorflow", "numpy"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = ""
    versions["cnnkit_code"] = _cnnkit_code_digest()  # an editable install changes without a new version
    return versions


@functools.lru_cache(maxsize=1)
def _cnnkit_code_digest() -> str:
    import hashlib

    folder = os.path.dirname(_HERE)
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read() + b"\0")
    return digest.hexdigest()


def reference_key(name: str, model, *, build: Callable, train: Callable, data: Sequence = (), seed: int = 0) -> str:
    """The cache key of a reference model: a SHA-256 of everything its training depends on.

    The name and seed, the code of ``build`` and ``train`` (bytecode, constants such as the number
    of epochs, the names they use), the built model's layers, wiring and compile settings, every
    array in ``data``, and the versions of Python, cnnkit, Keras, TensorFlow and numpy. Changing
    any of them gives another key, so a stored model is never reused for another lab version.

    Parameters
    ----------
    name : str
        The reference's name (letters, digits, ``-`` and ``_``).
    model : keras.Model
        ``build()``'s result.
    build, train, data, seed
        As given to :func:`reference`.

    Returns
    -------
    str
        64 hexadecimal digits.

    Raises
    ------
    TypeError, ValueError
        As :func:`reference`.

    Examples
    --------
    >>> import keras
    >>> def build():
    ...     return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    >>> key = reference_key("tiny", build(), build=build, train=lambda model: {}, seed=0)
    >>> key == reference_key("tiny", build(), build=build, train=lambda model: {}, seed=0), len(key)
    (True, 64)
    >>> key == reference_key("tiny", build(), build=build, train=lambda model: {}, seed=1)
    False
    """
    import hashlib
    import json

    name, seed, data = _reference_arguments("reference_key", name, build, train, data, seed)
    parts = {
        "name": name,
        "seed": seed,
        "build": _value_digest(build),
        "train": _value_digest(train),
        "architecture": hashlib.sha256(_architecture(model).encode()).hexdigest(),
        "data": [_value_digest(array) for array in data],
        "versions": _versions(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _reference_arguments(func: str, name, build, train, data, seed) -> tuple[str, int, list[np.ndarray]]:
    from cnnkit._checks import numeric_array, positive_int

    if not isinstance(name, str) or not name or not set(name) <= _NAME_CHARACTERS:
        raise ValueError(f"{func}: name must be a non-empty str of letters, digits, '-' and '_'; received {name!r}")
    for label, value in (("build", build), ("train", train)):
        if not callable(value):
            raise TypeError(f"{func}: {label} must be callable; received {type(value).__name__}")
    if isinstance(data, np.ndarray) or not isinstance(data, (list, tuple)):
        raise TypeError(f"{func}: data must be a list or tuple of arrays; received {type(data).__name__}")
    arrays = [numeric_array(func, f"data[{index}]", value) for index, value in enumerate(data)]
    return name, positive_int(func, "seed", seed, minimum=0), arrays


def _record(func: str, record) -> dict[str, list[float]]:
    """``train``'s result as ``{str: [float, ...]}`` (what ``model.fit(...).history`` is)."""
    if record is None:
        return {}
    if not isinstance(record, dict) or not all(isinstance(key, str) for key in record):
        raise TypeError(f"{func}: train must return None or a dict of str to lists of numbers "
                        f"(model.fit(...).history); received {type(record).__name__}")
    try:
        return {key: [float(value) for value in values] for key, values in record.items()}
    except (TypeError, ValueError) as error:
        raise TypeError(f"{func}: train must return a dict of str to lists of numbers; {error}") from None


def _load_reference(path: str, digests: dict | None, model) -> dict[str, list[float]] | None:
    """The stored record after setting ``model``'s weights from ``path``; None when it is missing,
    not trusted (no or another digest) or does not fit the model."""
    import hashlib
    import io
    import json

    if not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:  # read once: the digest checked is that of the bytes loaded
        content = handle.read()
    if digests is not None and digests.get(os.path.basename(path)) != hashlib.sha256(content).hexdigest():
        return None
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as stored:
            weights = [stored[f"w{index}"] for index in range(int(stored["count"]))]
            record = json.loads(str(stored["record"]))
        model.set_weights(weights)
    except Exception:  # noqa: BLE001 - a damaged or foreign file: train instead
        return None
    return record


def _save_reference(folder: str, filename: str, model, record: dict) -> None:
    import json
    import tempfile

    os.makedirs(folder, exist_ok=True)
    weights = {f"w{index}": np.asarray(weight) for index, weight in enumerate(model.get_weights())}
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, count=np.array(len(weights)), record=np.array(json.dumps(record)), **weights)
        os.replace(temporary, os.path.join(folder, filename))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def reference(
    name: str, *, build: Callable, train: Callable, data: Sequence = (), seed: int = 0, folder: str | None = None,
    save: str | None = None,
) -> tuple[object, dict[str, list[float]]]:
    """A model the lab trains for its tests, trained once and then loaded (same model, same record).

    ``build()`` makes the compiled model and ``train(model)`` trains it, returning its history
    (``model.fit(...).history``) or None; both run after seeding every generator with ``seed``, so
    the result depends only on the key (:func:`reference_key`). When ``folder`` holds a model of
    this key it is loaded instead of trained; a trained one is stored in ``save``. Afterwards the
    generators are seeded with ``seed`` again, whichever happened, so the cells that follow draw
    the same numbers with or without a stored model.

    Without folders (a student's laptop, Colab) it simply trains. The grader stores the models
    while it grades the lab's own solution, then lets every submission's kernel load them (and
    only files whose SHA-256 it lists in ``CNNKIT_REFERENCE_DIGESTS``).

    Parameters
    ----------
    name : str
        The reference's name (letters, digits, ``-`` and ``_``), e.g. ``"lab3-baseline"``.
    build : callable
        ``build() -> keras.Model``, compiled.
    train : callable
        ``train(model) -> dict or None``: trains the model in place.
    data : sequence of array_like
        Every array ``train`` reads (they are part of the key).
    seed : int, default 0
        Seed of the generators while building and training (>= 0).
    folder : str, optional
        Where stored models are looked up; default ``$CNNKIT_REFERENCES`` (none when unset).
    save : str, optional
        Where a trained model is stored; default ``$CNNKIT_REFERENCES_SAVE`` (none when unset).

    Returns
    -------
    model : keras.Model
        The trained (or loaded) model.
    record : dict of str to list of float
        What ``train`` returned (``{}`` for None).

    Raises
    ------
    TypeError
        If ``build`` or ``train`` is not callable, ``build`` does not return a Keras model,
        ``train`` returns something else than a history dict or None, or ``data`` is not a
        sequence of numeric arrays.
    ValueError
        If ``name`` has other characters or ``seed`` is negative.

    Examples
    --------
    >>> import keras
    >>> x, y = np.ones((4, 2), dtype="float32"), np.zeros((4, 1), dtype="float32")
    >>> def build():
    ...     model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    ...     model.compile(optimizer="sgd", loss="mse")
    ...     return model
    >>> model, record = reference("tiny", build=build, data=(x, y),
    ...                           train=lambda model: model.fit(x, y, epochs=2, verbose=0).history)
    >>> sorted(record), len(record["loss"])
    (['loss'], 2)
    """
    import json

    import keras

    from cnnkit._checks import keras_model

    name, seed, arrays = _reference_arguments("reference", name, build, train, data, seed)
    folder = folder if folder is not None else os.environ.get(REFERENCES_VARIABLE) or None
    save = save if save is not None else os.environ.get(SAVE_VARIABLE) or None
    digests = None
    if folder is not None and DIGESTS_VARIABLE in os.environ:
        try:
            digests = dict(json.loads(os.environ[DIGESTS_VARIABLE]))
        except (ValueError, TypeError):
            digests = {}
    keras.utils.set_random_seed(seed)
    model = keras_model("reference", "build()", build())
    key = reference_key(name, model, build=build, train=train, data=arrays, seed=seed)
    filename = f"{name}-{key}.npz"
    record = _load_reference(os.path.join(folder, filename), digests, model) if folder else None
    if record is not None:
        _LOADED.append(name)
    else:
        record = _record("reference", train(model))
        record = json.loads(json.dumps(record))  # as a stored one reads back
        if save:
            _save_reference(save, filename, model, record)
    keras.utils.set_random_seed(seed)
    return model, record

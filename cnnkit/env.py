"""One call at the top of every notebook: seeds, quiet TensorFlow, plot style."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import warnings

import numpy as np

from cnnkit._checks import flag, positive_int

# TensorFlow reads these once, when it is imported; both are needed with TF 2.21, otherwise the
# "oneDNN custom operations" line lands on stderr and nbval's output comparison fails.
_QUIET_TF_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}

# Okabe and Ito (2008), "Color Universal Design": blue, orange, bluish green, vermillion, sky blue,
# reddish purple, yellow (last: it is faint on white).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442")

PLOT_STYLE = {
    "figure.figsize": (6.0, 4.0),
    "figure.dpi": 80,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": "gray",
    "font.size": 10,
    # Okabe and Ito's colour-blind safe palette (black left out: it is the text colour), so that
    # the lines of one plot stay apart for readers with any common colour-vision deficiency.
    "axes.prop_cycle": "cycler('color', " + repr(list(OKABE_ITO)) + ")",
}


@contextlib.contextmanager
def _silence_fd2():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines ("Could not find cuda
    drivers", the absl banner) bypass Python's logging and would end up in notebook outputs."""
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (some embedded kernels): nothing to silence
        yield
        return
    try:
        sys.stderr.flush()
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow(*, quiet: bool = True):
    """Import TensorFlow (quietly unless ``quiet=False``) and return the module.

    With ``quiet=True`` the log variables are set before the first import and TensorFlow's C++
    start-up messages are discarded; if TensorFlow was imported already, this changes nothing.

    Raises
    ------
    TypeError
        If ``quiet`` is not True or False.

    Examples
    --------
    >>> tf = import_tensorflow()
    >>> tf.__name__
    'tensorflow'
    """
    quiet = flag("import_tensorflow", "quiet", quiet)
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if not quiet:
        import tensorflow as tf

        return tf
    for name, value in _QUIET_TF_ENV.items():
        os.environ.setdefault(name, value)
    with _silence_fd2():
        import tensorflow as tf
    return tf


def setup(seed: int = 0, *, deterministic: bool = True, quiet: bool = True, plot_style: bool = True) -> None:
    """Prepare a notebook: seed every generator, quiet TensorFlow, set a readable plot style.

    Call it first, before importing TensorFlow or Keras yourself: TensorFlow reads its log
    settings only when it is first imported.

    Parameters
    ----------
    seed : int, default 0
        Seeds Python's ``random``, numpy's global generator and TensorFlow/Keras
        (``keras.utils.set_random_seed``).
    deterministic : bool, default True
        Also ask TensorFlow for deterministic ops (same results on the same machine).
    quiet : bool, default True
        Hide TensorFlow's C++ and Python logs and Python warnings from TensorFlow and Keras.
    plot_style : bool, default True
        Apply :data:`PLOT_STYLE` to matplotlib.

    Raises
    ------
    TypeError, ValueError
        If ``seed`` is not an int >= 0.

    Examples
    --------
    >>> import cnnkit as ck
    >>> ck.setup(seed=0)
    """
    seed = positive_int("setup", "seed", seed, minimum=0)
    deterministic = flag("setup", "deterministic", deterministic)
    quiet = flag("setup", "quiet", quiet)
    plot_style = flag("setup", "plot_style", plot_style)
    tf = import_tensorflow(quiet=quiet)
    import keras

    if quiet:
        tf.get_logger().setLevel(logging.ERROR)
        logging.getLogger("absl").setLevel(logging.ERROR)
        for module in ("tensorflow", "keras", "absl"):
            warnings.filterwarnings("ignore", module=module)
        warnings.filterwarnings("ignore", category=UserWarning, message=".*input_shape.*")
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    if plot_style:
        import matplotlib

        matplotlib.rcParams.update(PLOT_STYLE)

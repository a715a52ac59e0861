"""Weight sensitivity: nudge one number, watch the cost, and check backpropagation with it.

Training asks, for every weight, "if this weight grew a little, would the cost go up or down,
and how fast?" The answer is the partial derivative ``dL/dw``. It can be measured directly by
nudging the weight both ways (central differences)::

    dL/dw ~ (L(w + eps) - L(w - eps)) / (2 * eps)       error O(eps**2)

which needs two forward passes per weight, or computed for all weights at once by
backpropagation. :func:`numerical_gradient` does the first for any numpy function;
:func:`weight_sensitivity` does both for one weight of a Keras model, so the two can be
compared.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import keras
import numpy as np

from cnnkit._checks import as_numeric_array, keras_model, numeric_array, positive_number
from cnnkit._types import ArrayLike
from cnnkit.env import import_tensorflow

__all__ = ["numerical_gradient", "weight_sensitivity"]

_ANY_RANK = tuple(range(33))  # numpy's maximum number of dimensions is 32 (64 in numpy 2)


def _scalar(func: str, value, where: str) -> float:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{func}: f must return a number; it returned {type(value).__name__} {where}"
        ) from None
    if array.ndim != 0:
        raise ValueError(
            f"{func}: f must return a scalar (0-D); it returned an array of shape "
            f"{array.shape} {where}; reduce it, e.g. with np.sum or np.mean"
        )
    return float(array)


def numerical_gradient(f: Callable[[np.ndarray], float], x: ArrayLike, *, eps: float = 1e-4) -> np.ndarray:
    """Gradient of a scalar function by central differences, one entry at a time.

    For every position ``i`` of ``x``::

        g[i] = (f(x + eps * e_i) - f(x - eps * e_i)) / (2 * eps)

    where ``e_i`` is 1 at ``i`` and 0 elsewhere. The error is ``O(eps**2)`` for smooth ``f``;
    too small an ``eps`` loses digits to rounding instead (in float64, ``1e-4`` to ``1e-6`` is
    a good range). ``f`` is called ``2 * x.size`` times, so keep ``x`` small.

    Parameters
    ----------
    f : callable
        ``f(array) -> scalar``; receives a float64 array of the shape of ``x``.
    x : array_like of any shape
        Point at which to differentiate; it is not modified.
    eps : float > 0, default 1e-4
        Size of the nudge.

    Returns
    -------
    ndarray of float64, same shape as ``x``

    Raises
    ------
    TypeError
        If ``f`` is not callable, ``x`` is not numeric, ``eps`` is not a number, or ``f``
        returns something that is not a number.
    ValueError
        If ``eps`` is not > 0, or ``f`` returns an array that is not 0-D.

    Examples
    --------
    >>> g = numerical_gradient(lambda v: np.sum(v ** 2), np.array([1.0, -2.0, 3.0]))
    >>> np.round(g, 6)
    array([ 2., -4.,  6.])
    """
    func = "numerical_gradient"
    if not callable(f):
        raise TypeError(f"{func}: f must be a function of one array; received {type(f).__name__}")
    point = as_numeric_array(func, "x", x, ndims=_ANY_RANK).astype(np.float64)  # a copy
    eps = positive_number(func, "eps", eps)
    grad = np.empty_like(point)
    for position in np.ndindex(point.shape):
        original = point[position]
        point[position] = original + eps
        up = _scalar(func, f(point.copy()), f"at x + eps at index {position}")
        point[position] = original - eps
        down = _scalar(func, f(point.copy()), f"at x - eps at index {position}")
        point[position] = original
        grad[position] = (up - down) / (2 * eps)
    return grad


def _resolve_layer(func: str, model, layer):
    if isinstance(layer, str):
        try:
            found = model.get_layer(layer)
        except ValueError:
            found = None
        if found is None:
            names = [candidate.name for candidate in model.layers]
            raise ValueError(f"{func}: model has no layer named {layer!r}; its layers are {names}")
    elif isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
        count = len(model.layers)
        if not -count <= layer < count:
            raise ValueError(
                f"{func}: layer index {layer} is out of range; the model has {count} layers "
                f"(0 to {count - 1})"
            )
        found = model.layers[layer]
    else:
        raise TypeError(
            f"{func}: layer must be a layer name (str) or an index (int); received "
            f"{type(layer).__name__} {layer!r}"
        )
    kernel = getattr(found, "kernel", None)
    if kernel is None:
        with_kernel = [c.name for c in model.layers if getattr(c, "kernel", None) is not None]
        raise ValueError(
            f"{func}: layer {found.name!r} ({type(found).__name__}) has no kernel; layers with "
            f"one: {with_kernel}"
        )
    return found, kernel


def _resolve_index(func: str, index, kernel_shape, layer_name: str) -> tuple[int, ...]:
    if isinstance(index, numbers.Integral) and not isinstance(index, bool):
        index = (index,)
    if not isinstance(index, tuple) or not all(
        isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in index
    ):
        raise TypeError(
            f"{func}: index must be a tuple of ints, one per kernel axis; received {index!r}"
        )
    if len(index) != len(kernel_shape):
        raise ValueError(
            f"{func}: index must have {len(kernel_shape)} entries for the kernel of layer "
            f"{layer_name!r} (shape {kernel_shape}); received {index!r}"
        )
    if any(not 0 <= i < n for i, n in zip(index, kernel_shape)):
        raise ValueError(
            f"{func}: index {index!r} is out of range for the kernel of layer {layer_name!r} "
            f"(shape {kernel_shape})"
        )
    return tuple(int(i) for i in index)


def weight_sensitivity(model: keras.Model, x: ArrayLike, y: ArrayLike, *, layer: str | int,
                       index: int | tuple[int, ...], eps: float = 1e-3) -> dict[str, float]:
    """How the loss of a compiled Keras model changes with one weight: nudged and backpropagated.

    The weight ``w = layer.kernel[index]`` is set to ``w + eps`` and ``w - eps`` in turn, the
    loss on ``(x, y)`` is measured each time, and::

        numerical = (L(w + eps) - L(w - eps)) / ((w + eps) - (w - eps))

    The same derivative is then computed by backpropagation (``tf.GradientTape``). The model
    runs in inference mode (``training=False``: Dropout off, BatchNormalization on its moving
    statistics), so both numbers describe the same deterministic function. The loss is the one
    ``fit`` minimises: the compiled loss plus the weight penalties in ``model.losses``. The
    weight is restored afterwards, also when an error occurs.

    A positive value means that increasing the weight increases the cost ("positive
    sensitivity"); gradient descent will therefore decrease it.

    Parameters
    ----------
    model : keras.Model
        A compiled model (e.g. by :func:`cnnkit.compile_classifier`); TensorFlow backend.
    x : array_like of shape (N, ...)
        Inputs, shaped as the model's input (e.g. ``(N, H, W, C)``).
    y : array_like of shape (N, ...)
        Targets as the compiled loss expects them (integer labels ``(N,)`` for sparse
        categorical cross-entropy).
    layer : str or int
        Name or position (in ``model.layers``) of a layer with a ``kernel`` (Dense, Conv2D).
    index : tuple of int
        Position of the weight in that kernel, e.g. ``(row, col)`` for a Dense kernel
        ``(inputs, units)`` or ``(i, j, channel, filter)`` for a Conv2D kernel
        ``(KH, KW, C, F)``.
    eps : float > 0, default 1e-3
        Size of the nudge. Models compute in float32 (about 7 significant digits), so a much
        smaller ``eps`` drowns the loss difference in rounding noise.

    Returns
    -------
    dict
        ``numerical`` (float), the finite-difference estimate; ``backprop`` (float), the
        derivative from backpropagation; ``loss`` (float), the loss at the unchanged weight;
        ``relative_error`` (float), ``|numerical - backprop| / max(|numerical|, |backprop|)``
        (0 when both are 0).

    Raises
    ------
    TypeError
        If ``model`` is not a Keras model, ``layer`` or ``index`` has the wrong type, or
        ``eps`` is not a number.
    ValueError
        If the model is not compiled with a loss, the backend is not TensorFlow, the layer does
        not exist or has no kernel, ``index`` does not fit the kernel, ``x`` and ``y`` disagree
        in length or ``eps`` is not > 0.

    Examples
    --------
    >>> import cnnkit as ck
    >>> model = ck.compile_classifier(ck.build_mnist_convnet(dropout=0.0))
    >>> x, y = np.random.rand(8, 28, 28, 1), np.arange(8)
    >>> result = ck.weight_sensitivity(model, x, y, layer="conv1", index=(1, 1, 0, 0))
    >>> sorted(result)
    ['backprop', 'loss', 'numerical', 'relative_error']
    """
    func = "weight_sensitivity"
    keras_model(func, "model", model)
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"{func}: needs the TensorFlow backend for tf.GradientTape; Keras runs on "
            f"{keras.backend.backend()!r}"
        )
    if not getattr(model, "compiled", False) or model.loss is None:
        raise ValueError(
            f"{func}: model must be compiled with a loss first, e.g. "
            f"cnnkit.compile_classifier(model)"
        )
    eps = positive_number(func, "eps", eps)
    found, kernel = _resolve_layer(func, model, layer)
    position = _resolve_index(func, index, tuple(kernel.shape), found.name)
    inputs = as_numeric_array(func, "x", x, ndims=_ANY_RANK)
    targets = numeric_array(func, "y", y)
    if not np.all(np.isfinite(targets)):
        raise ValueError(f"{func}: y must be finite; it holds NaN or infinity")
    if inputs.ndim == 0 or targets.ndim == 0 or len(inputs) != len(targets):
        raise ValueError(
            f"{func}: x and y must hold the same number of examples along axis 0; received x "
            f"of shape {inputs.shape} and y of shape {targets.shape}"
        )
    inputs = inputs.astype(keras.backend.standardize_dtype(model.compute_dtype), copy=False)
    tf = import_tensorflow()

    def loss_now() -> float:
        predictions = model(inputs, training=False)
        return float(model.compute_loss(x=inputs, y=targets, y_pred=predictions, training=False))

    saved = np.array(kernel.numpy(), copy=True)
    try:
        base = loss_now()
        nudged = saved.copy()
        nudged[position] = saved[position] + eps
        # The kernel is float32: w + eps is rounded, so divide by the nudge actually applied.
        up_value = float(nudged[position])
        kernel.assign(nudged)
        up = loss_now()
        nudged[position] = saved[position] - eps
        down_value = float(nudged[position])
        kernel.assign(nudged)
        down = loss_now()
        kernel.assign(saved)
        numerical = (up - down) / (up_value - down_value)

        with tf.GradientTape() as tape:
            # A frozen (non-trainable) kernel is not watched by default; `.value` is the
            # underlying tf.Variable, which the tape accepts.
            tape.watch(kernel.value)
            predictions = model(inputs, training=False)
            loss = model.compute_loss(x=inputs, y=targets, y_pred=predictions, training=False)
        gradient = tape.gradient(loss, kernel.value)
        if gradient is None:
            raise ValueError(
                f"{func}: the loss does not depend on the kernel of layer {found.name!r} "
                f"(is the layer on the path from the input to the output?)"
            )
        backprop = float(np.asarray(gradient)[position])
    finally:
        kernel.assign(saved)
    scale = max(abs(numerical), abs(backprop))
    relative = 0.0 if scale == 0 else abs(numerical - backprop) / scale
    return {"numerical": numerical, "backprop": backprop, "loss": base, "relative_error": relative}

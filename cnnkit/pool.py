"""Max and average pooling in numpy, as Keras' MaxPooling2D and AveragePooling2D compute them.

Images are ``(N, H, W, C)`` (or a single ``(H, W)`` image); each channel is pooled on its own.
The window of size ``F`` moves by stride ``S`` (by default ``S = F``, no overlap); with
``padding="valid"`` the output size is ``O = floor((I - F) / S) + 1``, with ``"same"`` it is
``ceil(I / S)`` and the padded cells are ignored (never the max, not counted in the average).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnkit._checks import as_numeric_array, int_pair, padding_spec
from cnnkit._padding import pad_amounts
from cnnkit._types import ArrayLike, IntPair, PoolPadding


def _pool(func: str, x, pool_size, stride, padding, reduce: str) -> np.ndarray:
    x = as_numeric_array(func, "x", x, ndims=(2, 4))
    flat = x.ndim == 2
    if flat:
        x = x[np.newaxis, :, :, np.newaxis]
    sizes = int_pair(func, "pool_size", pool_size)
    strides = sizes if stride is None else int_pair(func, "stride", stride)
    pad = padding_spec(func, padding)
    if not isinstance(pad, str):
        raise ValueError(f"{func}: padding must be 'valid' or 'same'; received {padding!r}")
    pads = [pad_amounts(x.shape[1 + axis], sizes[axis], strides[axis], pad) for axis in range(2)]
    for axis in range(2):
        if x.shape[1 + axis] + sum(pads[axis]) < sizes[axis]:
            raise ValueError(
                f"{func}: the {sizes[0]}x{sizes[1]} pooling window is larger than the input "
                f"({x.shape[1]}x{x.shape[2]}) with padding {padding!r}"
            )
    # Padded cells are NaN so that they can be ignored by nanmax / nanmean.
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=np.nan)
    windows = sliding_window_view(x, sizes, axis=(1, 2))[:, :: strides[0], :: strides[1]]
    if reduce == "max":
        out = np.nanmax(windows, axis=(-2, -1)) if any(map(sum, pads)) else windows.max(axis=(-2, -1))
    else:
        out = np.nanmean(windows, axis=(-2, -1)) if any(map(sum, pads)) else windows.mean(axis=(-2, -1))
    return out[0, :, :, 0] if flat else out


def max_pool2d(x: ArrayLike, *, pool_size: IntPair = 2, stride: IntPair | None = None,
               padding: PoolPadding = "valid") -> np.ndarray:
    """Max pooling: the largest value of each window, per channel.

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C), or (H, W)
        Input images, channels last.
    pool_size : int or pair of ints, default 2
        Window size ``F``.
    stride : int or pair of ints, optional
        Step ``S`` between windows; defaults to ``pool_size`` (windows do not overlap).
    padding : "valid" or "same", default "valid"
        As Keras: "valid" drops leftover rows, "same" pads so that ``O = ceil(I / S)``.

    Returns
    -------
    ndarray of shape (N, O_h, O_w, C), or (O_h, O_w) for a 2-D ``x``

    Raises
    ------
    TypeError
        If ``x`` is not numeric or a size is not an int.
    ValueError
        If ``x`` is not 2-D or 4-D, a size or stride is below 1, the window is larger than the
        input, or the padding is unknown.

    Examples
    --------
    >>> x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])
    >>> max_pool2d(x)
    array([[6., 8.],
           [3., 4.]])
    """
    return _pool("max_pool2d", x, pool_size, stride, padding, "max")


def avg_pool2d(x: ArrayLike, *, pool_size: IntPair = 2, stride: IntPair | None = None,
               padding: PoolPadding = "valid") -> np.ndarray:
    """Average pooling: the mean of each window, per channel (padded cells are not counted).

    Parameters, returns and errors are those of :func:`max_pool2d`.

    Examples
    --------
    >>> x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])
    >>> avg_pool2d(x)
    array([[3.25, 5.25],
           [2.  , 2.  ]])
    """
    return _pool("avg_pool2d", x, pool_size, stride, padding, "mean")

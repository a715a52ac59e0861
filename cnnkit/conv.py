"""2-D convolution (cross-correlation) in numpy, exactly as Keras' Conv2D computes it.

Layout is channels-last, as in Keras: images ``(N, H, W, C)``, filters ``(KH, KW, C, F)``.
For teaching, a single 2-D image ``(H, W)`` with a 2-D kernel ``(KH, KW)`` works too.

The output at row ``i``, column ``j`` of filter ``f`` is::

    out[n, i, j, f] = b[f] + sum_{r, s, c} x_pad[n, i*S_h + r, j*S_w + s, c] * w[r, s, c, f]

with output size ``O = floor((I - F + P_total) / S) + 1`` per axis (Keras drops leftover rows).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnkit._checks import as_numeric_array, int_pair, padding_spec
from cnnkit._padding import output_length, pad_amounts
from cnnkit._types import ArrayLike, IntPair, Padding

_CHUNK_BYTES = 32 * 2**20  # largest window copy conv2d makes at once


def _prepare(func: str, x, w, b, stride, padding):
    """Check the arguments and return 4-D arrays, padding amounts and whether the input was 2-D."""
    x = as_numeric_array(func, "x", x, ndims=(2, 4))
    w = as_numeric_array(func, "w", w, ndims=(2, 4))
    flat = x.ndim == 2
    if w.ndim != x.ndim:
        raise ValueError(
            f"{func}: a {x.ndim}-D x needs a {x.ndim}-D w "
            f"({'(KH, KW)' if flat else '(KH, KW, C, F)'}); received w of shape {w.shape}"
        )
    if flat:
        x = x[np.newaxis, :, :, np.newaxis]
        w = w[:, :, np.newaxis, np.newaxis]
    if x.shape[3] != w.shape[2]:
        raise ValueError(
            f"{func}: x has {x.shape[3]} channels (shape {x.shape}, channels last) but w expects "
            f"{w.shape[2]} (shape {w.shape}, as (KH, KW, C, F))"
        )
    if 0 in w.shape:
        raise ValueError(f"{func}: w is empty (shape {w.shape}); a filter needs at least one weight")
    if 0 in x.shape[1:]:
        raise ValueError(f"{func}: x has no pixels (shape {x.shape}); an image needs at least one")
    strides = int_pair(func, "stride", stride)
    pad = padding_spec(func, padding)
    pads = []
    for axis in range(2):
        size, kernel = x.shape[1 + axis], w.shape[axis]
        before, after = pad_amounts(size, kernel, strides[axis], pad if isinstance(pad, str) else pad[axis])
        if size + before + after < kernel:
            raise ValueError(
                f"{func}: the kernel ({w.shape[0]}x{w.shape[1]}) is larger than the padded input "
                f"({x.shape[1]}x{x.shape[2]} with padding {padding!r})"
            )
        pads.append((before, after))
    if b is not None:
        b = as_numeric_array(func, "b", b, ndims=(0, 1))
        b = b.reshape(-1)
        if b.shape[0] != w.shape[3]:
            raise ValueError(
                f"{func}: b must hold one bias per filter ({w.shape[3]}); received shape {b.shape}"
            )
    dtype = np.result_type(x.dtype, w.dtype, np.float32 if b is None else b.dtype)
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False), b, strides, pads, flat


def _finish(out: np.ndarray, b, flat: bool) -> np.ndarray:
    if b is not None:
        out += b.astype(out.dtype, copy=False)
    return out[0, :, :, 0] if flat else out


def conv2d(x: ArrayLike, w: ArrayLike, b: ArrayLike | None = None, *, stride: IntPair = 1,
           padding: Padding = "valid") -> np.ndarray:
    """2-D cross-correlation of a batch of images with a bank of filters, as Keras' Conv2D.

    Vectorised ("im2col"): every window becomes a row of a matrix, and one matrix product with
    the filters (reshaped to ``(KH*KW*C, F)``) computes all outputs. :func:`conv2d_loop` computes
    the same thing with explicit loops.

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C), or (H, W)
        Input images, channels last.
    w : ndarray of shape (KH, KW, C, F), or (KH, KW) with a 2-D ``x``
        Filters.
    b : ndarray of shape (F,), or scalar with a 2-D ``x``, optional
        One bias per filter.
    stride : int or pair of ints, default 1
        Step between window positions, ``S`` (or ``(S_h, S_w)``).
    padding : "valid", "same", int or pair of ints, default "valid"
        "valid": no padding; "same": zeros so that ``O = ceil(I / S)``, split like Keras (an odd
        total puts the extra zero at the bottom / right); an int ``P``: ``P`` zeros on every side,
        ``O = floor((I - F + 2P) / S) + 1``.

    Returns
    -------
    ndarray of shape (N, O_h, O_w, F), or (O_h, O_w) for a 2-D ``x``
        float32 when every input is float32, else float64.

    Raises
    ------
    TypeError
        If an array is not numeric, or stride / padding are not ints.
    ValueError
        If ranks or channel counts do not match, the kernel is larger than the padded input,
        the stride is below 1 or the padding is unknown.

    Examples
    --------
    >>> image = np.arange(16.0).reshape(4, 4)
    >>> conv2d(image, np.ones((2, 2)), stride=2)
    array([[10., 18.],
           [42., 50.]])
    """
    x, w, b, (sh, sw), pads, flat = _prepare("conv2d", x, w, b, stride, padding)
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, channels, filters = w.shape
    # im2col: a strided view holds every window without copying, (N, O_h, O_w, C, KH, KW); each
    # row of the reshaped view is one window, and one matrix product applies every filter to it.
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
    count, out_h, out_w = windows.shape[:3]
    weights = w.transpose(2, 0, 1, 3).reshape(channels * kh * kw, filters)
    out = np.empty((count, out_h, out_w, filters), dtype=x.dtype)
    # The reshape copies the windows; a few images at a time keep that copy under _CHUNK_BYTES.
    per_image = out_h * out_w * channels * kh * kw * x.itemsize
    step = max(1, _CHUNK_BYTES // per_image)
    for start in range(0, count, step):
        chunk = windows[start : start + step]
        columns = chunk.reshape(-1, channels * kh * kw)
        out[start : start + step] = (columns @ weights).reshape(len(chunk), out_h, out_w, filters)
    return _finish(out, b, flat)


def conv2d_loop(x: ArrayLike, w: ArrayLike, b: ArrayLike | None = None, *, stride: IntPair = 1,
                padding: Padding = "valid") -> np.ndarray:
    """The same as :func:`conv2d`, written as the slide-multiply-add loop it teaches.

    Slow (pure Python loops over every output pixel): use it on small inputs to read, and
    :func:`conv2d` to compute. Parameters, returns and errors are those of :func:`conv2d`.

    Examples
    --------
    >>> conv2d_loop(np.arange(16.0).reshape(4, 4), np.ones((2, 2)), stride=2)
    array([[10., 18.],
           [42., 50.]])
    """
    x, w, b, (sh, sw), pads, flat = _prepare("conv2d_loop", x, w, b, stride, padding)
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, channels, filters = w.shape
    out_h = output_length(x.shape[1], kh, sh, 0, 0)
    out_w = output_length(x.shape[2], kw, sw, 0, 0)
    out = np.zeros((x.shape[0], out_h, out_w, filters), dtype=x.dtype)
    for n in range(x.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                patch = x[n, i * sh : i * sh + kh, j * sw : j * sw + kw, :]  # (KH, KW, C)
                for f in range(filters):
                    out[n, i, j, f] = np.sum(patch * w[:, :, :, f])
    return _finish(out, b, flat)

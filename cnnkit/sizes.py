"""Output sizes and parameter counts of convolution, pooling and dense layers."""

from __future__ import annotations

import math

from cnnkit._checks import flag, int_pair, padding_spec, positive_int
from cnnkit._padding import output_length
from cnnkit._types import IntPair, Padding


def conv_output_size(input_size: IntPair, kernel_size: IntPair, *, stride: IntPair = 1,
                     padding: Padding = 0, exact: bool = True) -> int | tuple[int, int]:
    """Output size of a convolution or pooling window along each axis.

    ``O = (I - F + 2P) / S + 1``, applied per axis.

    Parameters
    ----------
    input_size : int or pair of ints
        ``I``, the input's height (and width).
    kernel_size : int or pair of ints
        ``F``, the filter's (or pooling window's) height (and width).
    stride : int or pair of ints, default 1
        ``S``.
    padding : int, pair of ints, "valid" or "same", default 0
        ``P`` zeros added on every side; "valid" means ``P = 0``; "same" means Keras' padding,
        for which ``O = ceil(I / S)``.
    exact : bool, default True
        With ``exact=True`` a filter that does not fit (``I - F + 2P`` not a multiple of ``S``)
        raises ValueError, as the formula demands; the message says which padding would fit,
        or, where none can, which strides would. With ``exact=False`` the leftover rows are dropped
        (``O = floor((I - F + 2P) / S) + 1``), which is what Keras and :func:`cnnkit.conv2d` do.

    Returns
    -------
    int or tuple of int
        An int when ``input_size`` is an int, else a pair ``(O_h, O_w)``.

    Raises
    ------
    TypeError
        If a size, stride or padding is not an int (or pair of ints) or known padding name.
    ValueError
        If a size is below 1, the padded input is smaller than the filter, or (with
        ``exact=True``) the filter does not fit with this stride. When ``I - F`` is odd and the
        stride even, no padding can fit (padding adds ``2P``, an even number of rows): the
        message says so and names the strides that fit.

    Examples
    --------
    >>> conv_output_size(7, 3, stride=2)
    3
    >>> conv_output_size(32, 5, padding=2)
    32
    >>> conv_output_size((28, 28), 3)
    (26, 26)
    >>> conv_output_size(224, 7, stride=2, padding=3, exact=False)   # ResNet's first layer
    112
    >>> conv_output_size(7, 3, stride=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: conv_output_size: ... (7 - 3 + 2*0 = 4 is not a multiple of 3); pad it (padding=1 fits) or change the stride
    >>> conv_output_size(28, 3, stride=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: conv_output_size: ... no padding fits: 28 - 3 = 25 is odd and the stride even ...
    """
    func = "conv_output_size"
    single = not isinstance(input_size, (tuple, list))
    sizes = int_pair(func, "input_size", input_size)
    kernels = int_pair(func, "kernel_size", kernel_size)
    strides = int_pair(func, "stride", stride)
    pad = padding_spec(func, padding)
    exact = flag(func, "exact", exact)
    outputs = []
    for axis in range(2):
        size, kernel, step = sizes[axis], kernels[axis], strides[axis]
        if pad == "same":
            outputs.append(math.ceil(size / step))
            continue
        zeros = 0 if pad == "valid" else pad[axis]
        span = size - kernel + 2 * zeros
        if span < 0:
            raise ValueError(
                f"{func}: a {kernel}-wide filter does not fit a {size}-wide input with "
                f"padding {zeros} ({size} - {kernel} + 2*{zeros} = {span} < 0)"
            )
        if exact and span % step:
            raise ValueError(
                f"{func}: a {_shape(kernels)} filter with stride {step} does not fit a "
                f"{_shape(sizes)} input ({size} - {kernel} + 2*{zeros} = {span} is not a multiple "
                f"of {step}); {_what_fits(size, kernel, step, zeros, span)}"
            )
        outputs.append(output_length(size, kernel, step, zeros, zeros))
    return outputs[0] if single else tuple(outputs)


def _what_fits(size: int, kernel: int, step: int, zeros: int, span: int) -> str:
    """The end of conv_output_size's message: a padding that fits (the least above ``zeros``),
    or why none can and the strides that fit (divisors of the span)."""
    paddings = [p for p in range(zeros, zeros + step) if (size - kernel + 2 * p) % step == 0]
    if paddings:
        return f"pad it (padding={paddings[0]} fits) or change the stride"
    strides = _fitting_strides(span, step)
    return (
        f"no padding fits: {size} - {kernel} = {size - kernel} is odd and the stride even (padding "
        f"adds 2P rows, an even number); use stride {strides}, crop or pad the input by one row, "
        f"or exact=False to drop the leftover row as Keras does"
    )


def _fitting_strides(span: int, step: int) -> str:
    """Strides that divide ``span`` (so the filter fits), up to three, nearest to ``step`` first
    among the small ones: "1, 5 or 25"."""
    divisors = [s for s in range(1, span + 1) if span % s == 0]
    below = [s for s in divisors if s < step]
    above = [s for s in divisors if s > step]
    chosen = sorted(set(below[-2:] + above[:1])) or [1]
    words = [str(s) for s in chosen]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _shape(pair: tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def conv2d_params(kernel_size: IntPair, in_channels: int, filters: int, *, use_bias: bool = True) -> int:
    """Number of trainable parameters of a Conv2D layer.

    ``(F_h * F_w * d) * K (+ K biases)`` for ``K`` filters of size ``F_h x F_w`` over ``d``
    input channels. The count does not depend on the image size.

    Parameters
    ----------
    kernel_size : int or pair of ints
        Filter height (and width).
    in_channels : int
        ``d``, channels of the input.
    filters : int
        ``K``, number of filters (output channels).
    use_bias : bool, default True
        Whether each filter has a bias.

    Returns
    -------
    int

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive int.

    Examples
    --------
    >>> conv2d_params(3, 1, 32)
    320
    >>> conv2d_params(3, 32, 64)
    18496
    """
    func = "conv2d_params"
    height, width = int_pair(func, "kernel_size", kernel_size)
    depth = positive_int(func, "in_channels", in_channels)
    count = positive_int(func, "filters", filters)
    use_bias = flag(func, "use_bias", use_bias)
    return height * width * depth * count + (count if use_bias else 0)


def dense_params(in_features: int, units: int, *, use_bias: bool = True) -> int:
    """Number of trainable parameters of a Dense layer: ``I * O (+ O biases)``.

    Parameters
    ----------
    in_features : int
        ``I``, length of the (flattened) input.
    units : int
        ``O``, number of outputs.
    use_bias : bool, default True

    Returns
    -------
    int

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive int.

    Examples
    --------
    >>> dense_params(784, 128)
    100480
    """
    func = "dense_params"
    inputs = positive_int(func, "in_features", in_features)
    outputs = positive_int(func, "units", units)
    use_bias = flag(func, "use_bias", use_bias)
    return inputs * outputs + (outputs if use_bias else 0)

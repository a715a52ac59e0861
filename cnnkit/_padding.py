"""Padding arithmetic shared by convolution, pooling and the size formulas (one home for it).

Per axis, with input size ``I``, window ``F``, stride ``S`` and ``before + after`` zeros::

    O = floor((I + before + after - F) / S) + 1

"valid" adds nothing; "same" adds the fewest zeros that give ``O = ceil(I / S)``, the extra one
(for an odd total) after the input, at the bottom / right, as Keras does.
"""

from __future__ import annotations


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Zeros before and after one axis for Keras' "same" padding."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_amounts(size: int, kernel: int, stride: int, padding) -> tuple[int, int]:
    """Zeros before and after one axis: ``padding`` is "valid", "same" or an int ``P`` (both sides)."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        return same_padding(size, kernel, stride)
    return padding, padding


def output_length(size: int, kernel: int, stride: int, before: int, after: int) -> int:
    """``floor((I + before + after - F) / S) + 1``; the caller checks that the window fits."""
    return (size + before + after - kernel) // stride + 1

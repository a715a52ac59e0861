"""Type-hint aliases shared by cnnkit's public signatures (for readers and type checkers; the
checks in :mod:`cnnkit._checks` enforce them at run time)."""

from __future__ import annotations

from typing import Literal

from numpy.typing import ArrayLike

__all__ = ["ArrayLike", "IntPair", "Padding", "PoolPadding"]

#: An int used for both axes, or a pair ``(height, width)``.
IntPair = int | tuple[int, int]
#: Keras' names, or ``P`` zeros on every side (one int, or a pair per axis).
Padding = Literal["valid", "same"] | int | tuple[int, int]
#: Pooling knows only Keras' names.
PoolPadding = Literal["valid", "same"]

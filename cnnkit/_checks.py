"""Input checks shared by cnnkit's public functions.

Every message names the function, the argument, what was expected and what arrived, so a student
reading a traceback knows what to change.
"""

from __future__ import annotations

import numbers

import numpy as np

_NUMERIC_KINDS = "biuf"  # bool, signed int, unsigned int, float


def numeric_array(func: str, name: str, value) -> np.ndarray:
    """Return ``value`` as an ndarray of a numeric dtype (bool, int, float), any rank, unconverted."""
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise TypeError(
            f"{func}: {name} must be a numeric array; could not convert {type(value).__name__} "
            f"({error})"
        ) from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"{func}: {name} must be a numeric array (bool, int or float); "
            f"received dtype {array.dtype}"
        )
    return array


def as_numeric_array(func: str, name: str, value, *, ndims: tuple[int, ...]) -> np.ndarray:
    """Return ``value`` as a float ndarray whose rank is one of ``ndims``.

    Integer and boolean arrays are promoted to float64; float32 stays float32.
    """
    array = numeric_array(func, name, value)
    if array.ndim not in ndims:
        expected = " or ".join(f"{n}-D" for n in ndims)
        raise ValueError(
            f"{func}: {name} must be {expected}; received a {array.ndim}-D array of shape "
            f"{array.shape}"
        )
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    return array


def real_number(func: str, name: str, value, *, finite: bool = False) -> float:
    """Return ``value`` as a float: any real number (Python or numpy), bools refused; with
    ``finite=True`` also NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: {name} must be a number; received {type(value).__name__} {value!r}")
    number = float(value)
    if finite and not np.isfinite(number):
        raise ValueError(f"{func}: {name} must be a finite number; received {value!r}")
    return number


def positive_int(func: str, name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{func}: {name} must be an int; received {type(value).__name__} {value!r}"
        )
    if value < minimum:
        raise ValueError(f"{func}: {name} must be >= {minimum}; received {value}")
    return int(value)


def int_pair(func: str, name: str, value, *, minimum: int = 1) -> tuple[int, int]:
    """Return ``value`` (an int or a pair of ints) as a pair of ints >= ``minimum``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"{func}: {name} must be an int or a pair of ints; received a sequence of "
                f"length {len(value)}: {value!r}"
            )
        return (
            positive_int(func, f"{name}[0]", value[0], minimum=minimum),
            positive_int(func, f"{name}[1]", value[1], minimum=minimum),
        )
    single = positive_int(func, name, value, minimum=minimum)
    return single, single


def padding_spec(func: str, value) -> str | tuple[int, int]:
    """Return "valid", "same", or a pair of non-negative ints (zeros added on each side)."""
    if isinstance(value, str):
        lowered = value.lower()
        if lowered not in ("valid", "same"):
            raise ValueError(
                f"{func}: padding must be 'valid', 'same' or a non-negative int; "
                f"received {value!r}"
            )
        return lowered
    return int_pair(func, "padding", value, minimum=0)

"""Input checks shared by cnnkit's public functions.

Every message names the function, the argument, what was expected and what arrived, so a student
reading a traceback knows what to change.
"""

from __future__ import annotations

import numbers

import numpy as np

_NUMERIC_KINDS = "biuf"  # bool, signed int, unsigned int, float
_LUMA = np.array([0.2125, 0.7154, 0.0721])  # Rec. 709, as skimage.color.rgb2gray


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


def non_empty_array(func: str, name: str, value) -> np.ndarray:
    """:func:`numeric_array` that also refuses an array without elements."""
    array = numeric_array(func, name, value)
    if array.size == 0:
        raise ValueError(f"{func}: {name} is empty (shape {array.shape}); it needs at least one value")
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


def flag(func: str, name: str, value) -> bool:
    """Return ``value`` as a bool: only True or False (numpy's too); 0, 1 and "yes" are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{func}: {name} must be True or False; received {type(value).__name__} {value!r}")
    return bool(value)


def one_of(func: str, name: str, value, choices) -> str:
    """Return ``value`` if it is one of the strings ``choices``."""
    if not isinstance(value, str):
        raise TypeError(
            f"{func}: {name} must be one of {', '.join(repr(c) for c in choices)}; received "
            f"{type(value).__name__} {value!r}"
        )
    if value not in choices:
        raise ValueError(
            f"{func}: {name} must be one of {', '.join(repr(c) for c in choices)}; received {value!r}"
        )
    return value


def positive_int(func: str, name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{func}: {name} must be an int; received {type(value).__name__} {value!r}"
        )
    if value < minimum:
        raise ValueError(f"{func}: {name} must be >= {minimum}; received {value}")
    return int(value)


def int_in_range(func: str, name: str, value, low: int, high: int, *, why: str = "") -> int:
    """Return ``value`` as an int with ``low <= value <= high``; ``why`` says where the bounds come from."""
    number = positive_int(func, name, value, minimum=-(2**63))
    if not low <= number <= high:
        reason = f" ({why})" if why else ""
        raise ValueError(f"{func}: {name} must be between {low} and {high}{reason}; received {value}")
    return number


def positive_number(func: str, name: str, value) -> float:
    """Return ``value`` as a finite float > 0 (a time-out, a learning rate, a step)."""
    number = real_number(func, name, value)
    if not (number > 0 and np.isfinite(number)):
        raise ValueError(f"{func}: {name} must be a finite number > 0; received {value!r}")
    return number


def image(func: str, value, *, name: str = "image", keep_color: bool = True) -> np.ndarray:
    """Return one finite image as float64 ``(H, W)``, or ``(H, W, 3)`` for RGB when ``keep_color``
    (else RGB becomes gray with Rec. 709 luma, the weights of skimage.color.rgb2gray). A trailing
    channel axis of 1 is dropped."""
    array = numeric_array(func, name, value)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[2] == 3:
        if not keep_color:
            array = array @ _LUMA
    elif array.ndim != 2:
        raise ValueError(
            f"{func}: {name} must be 2-D (H, W) or 3-D (H, W, 1) / (H, W, 3); received a "
            f"{array.ndim}-D array of shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"{func}: {name} is empty (shape {array.shape}); pass an image of at least 1x1")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{func}: {name} must be finite; it holds NaN or infinity")
    return array


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


def keras_model(func: str, name: str, value):
    """Return ``value`` if it is a ``keras.Model`` (Keras is imported only when this runs)."""
    import keras

    if not isinstance(value, keras.Model):
        raise TypeError(f"{func}: {name} must be a keras.Model; received {type(value).__name__}")
    return value


def colormap(func: str, name: str, value) -> str:
    """Return ``value`` if it names a matplotlib colour map ("gray", "viridis", "RdBu_r", ...)."""
    import matplotlib

    if not isinstance(value, str):
        raise TypeError(f"{func}: {name} must be the name of a matplotlib colour map such as 'gray'; received "
                        f"{type(value).__name__} {value!r}")
    if value not in matplotlib.colormaps:
        raise ValueError(f"{func}: {name} {value!r} is not a matplotlib colour map; try 'gray', 'viridis' or 'RdBu_r'")
    return value


def mapping(func: str, name: str, value):
    """Return ``value`` if it is a mapping (a dict, os.environ)."""
    from collections.abc import Mapping

    if not isinstance(value, Mapping):
        raise TypeError(f"{func}: {name} must be a mapping such as a dict; received {type(value).__name__} {value!r}")
    return value

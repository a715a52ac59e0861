"""Tasks beyond classification, made offline from real digits: digits placed on larger canvases.

Two seeded generators and two measures, all numpy (importing this module does not import
TensorFlow):

* :func:`make_localization_canvases`: one digit per canvas, with its class and its box;
* :func:`make_segmentation_canvases`: several digits per canvas, with a label for every pixel
  (0 for background, ``digit + 1`` for a digit's ink);
* :func:`box_iou`: intersection over union of boxes;
* :func:`mask_iou`: intersection over union of label masks, class by class.

Boxes are ``(top, left, bottom, right)`` in pixels, bottom and right exclusive, so a box's
height is ``bottom - top`` and the box of a single pixel ``(r, c)`` is ``(r, c, r + 1, c + 1)``.
"""

from __future__ import annotations

import numpy as np

from cnnkit._checks import as_numeric_array, numeric_array, positive_int, real_number

__all__ = ["box_iou", "make_localization_canvases", "make_segmentation_canvases", "mask_iou"]


# ---------------------------------------------------------------------------------------------
# Checks (private)
# ---------------------------------------------------------------------------------------------


def _digits(func: str, images, labels) -> tuple[np.ndarray, np.ndarray]:
    """Images as float (N, H, W) in [0, 1] and labels as int64 (N,) in 0..9."""
    pixels = as_numeric_array(func, "images", images, ndims=(3, 4))
    if pixels.ndim == 4:
        if pixels.shape[-1] != 1:
            raise ValueError(
                f"{func}: images must be grey, (N, H, W) or (N, H, W, 1); received shape {pixels.shape}"
            )
        pixels = pixels[..., 0]
    if pixels.shape[0] == 0:
        raise ValueError(f"{func}: images must hold at least one image; received shape {pixels.shape}")
    if not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 1:
        raise ValueError(
            f"{func}: images must hold pixels in [0, 1] (divide 0..255 images by 255); received values "
            f"from {np.nanmin(pixels):g} to {np.nanmax(pixels):g}"
        )
    classes = numeric_array(func, "labels", labels)
    if classes.dtype.kind not in "iu":
        raise TypeError(f"{func}: labels must be integers 0..9; received dtype {classes.dtype}")
    if classes.shape != pixels.shape[:1]:
        raise ValueError(
            f"{func}: labels must have shape ({pixels.shape[0]},), one per image; received shape {classes.shape}"
        )
    if classes.min() < 0 or classes.max() > 9:
        raise ValueError(f"{func}: labels must be digits 0..9; received values from {classes.min()} to {classes.max()}")
    return pixels.astype(np.float32), classes.astype(np.int64)


def _seed(func: str, value) -> int:
    return positive_int(func, "seed", value, minimum=0)


def _threshold(func: str, value) -> float:
    number = real_number(func, "ink_threshold", value)
    if not 0.0 < number < 1.0:
        raise ValueError(f"{func}: ink_threshold must be in (0, 1); received {value!r}")
    return number


def _ink_box(image: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(image.max(axis=1) > threshold)
    cols = np.flatnonzero(image.max(axis=0) > threshold)
    if rows.size == 0:  # a blank image: its box is the whole image
        return 0, 0, image.shape[0], image.shape[1]
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _canvas_size(func: str, value, digit_shape: tuple[int, int]) -> int:
    size = positive_int(func, "canvas_size", value)
    if size < max(digit_shape):
        raise ValueError(
            f"{func}: canvas_size must be at least the digit size {digit_shape[0]}x{digit_shape[1]}; received {size}"
        )
    return size


# ---------------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------------


def make_localization_canvases(
    images,
    labels,
    *,
    canvas_size: int = 48,
    num_canvases: int | None = None,
    ink_threshold: float = 0.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place one digit at a random position on each blank canvas; return its class and its box.

    Canvas ``i`` shows digit ``j = order[i]`` (a seeded draw of the digits, without replacement
    while they last) pasted with its top-left corner at a uniformly drawn ``(row, col)`` in
    ``0..canvas_size - H``. The box is the tight box of the digit's ink (pixels above
    ``ink_threshold``), not of its 28x28 frame.

    Parameters
    ----------
    images : ndarray of shape (N, H, W) or (N, H, W, 1)
        Grey digits with pixels in [0, 1], e.g. ``ck.load_mnist().x_train``.
    labels : ndarray of int, shape (N,)
        Their digits 0..9.
    canvas_size : int, default 48
        ``S``: canvases are ``S x S``, at least as large as a digit.
    num_canvases : int or None, default None
        How many canvases to make; ``None`` makes one per digit.
    ink_threshold : float in (0, 1), default 0.5
        Pixels above it count as ink for the box.
    seed : int >= 0, default 0
        The same seed gives the same canvases.

    Returns
    -------
    canvases : ndarray of float32, shape (num_canvases, S, S, 1)
        Pixels in [0, 1].
    classes : ndarray of int64, shape (num_canvases,)
        The digit on each canvas.
    boxes : ndarray of float32, shape (num_canvases, 4)
        ``(top, left, bottom, right)`` of the ink in canvas pixels, bottom and right exclusive.

    Raises
    ------
    TypeError
        If ``images`` or ``labels`` is not numeric (labels: integer), or a setting has the wrong type.
    ValueError
        If the shapes disagree, pixels leave [0, 1], a label is not 0..9, the canvas is smaller
        than a digit, or a setting is out of range.

    Examples
    --------
    >>> digit = np.zeros((1, 28, 28)); digit[0, 10:20, 12:16] = 1.0
    >>> canvases, classes, boxes = make_localization_canvases(digit, [7], canvas_size=40, seed=0)
    >>> canvases.shape, classes.tolist(), (boxes[:, 2:] - boxes[:, :2]).tolist()   # height, width
    ((1, 40, 40, 1), [7], [[10.0, 4.0]])
    """
    func = "make_localization_canvases"
    digits, classes = _digits(func, images, labels)
    size = _canvas_size(func, canvas_size, digits.shape[1:])
    count = len(digits) if num_canvases is None else positive_int(func, "num_canvases", num_canvases)
    threshold = _threshold(func, ink_threshold)
    rng = np.random.default_rng(_seed(func, seed))

    height, width = digits.shape[1:]
    order = _draw_order(rng, len(digits), count)
    tops = rng.integers(0, size - height + 1, size=count)
    lefts = rng.integers(0, size - width + 1, size=count)
    canvases = np.zeros((count, size, size, 1), dtype=np.float32)
    boxes = np.zeros((count, 4), dtype=np.float32)
    for i, (j, top, left) in enumerate(zip(order, tops, lefts)):
        canvases[i, top:top + height, left:left + width, 0] = digits[j]
        r0, c0, r1, c1 = _ink_box(digits[j], threshold)
        boxes[i] = (top + r0, left + c0, top + r1, left + c1)
    return canvases, classes[order], boxes


def _draw_order(rng: np.random.Generator, available: int, count: int) -> np.ndarray:
    """Indices of the digits to use: shuffled passes over all of them, as many as needed."""
    passes = -(-count // available)
    return np.concatenate([rng.permutation(available) for _ in range(passes)])[:count]


def make_segmentation_canvases(
    images,
    labels,
    *,
    canvas_size: int = 48,
    digits_per_canvas: int = 2,
    num_canvases: int | None = None,
    ink_threshold: float = 0.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Place several digits on each canvas; label every pixel with its digit or background.

    Each digit is cropped to its ink box and pasted at a uniformly drawn position; where two
    digits overlap the brighter pixel wins, in the canvas and in the mask. A pixel is labelled
    ``digit + 1`` when the winning digit's pixel is above ``ink_threshold``, else 0
    (background), so the mask has 11 classes: 0 background, 1..10 the digits 0..9.

    Parameters
    ----------
    images : ndarray of shape (N, H, W) or (N, H, W, 1)
        Grey digits with pixels in [0, 1].
    labels : ndarray of int, shape (N,)
        Their digits 0..9.
    canvas_size : int, default 48
        ``S``: canvases are ``S x S``, at least as large as a digit.
    digits_per_canvas : int, default 2
        Digits pasted on each canvas.
    num_canvases : int or None, default None
        How many canvases to make; ``None`` makes ``N // digits_per_canvas`` (each digit used once).
    ink_threshold : float in (0, 1), default 0.5
        Pixels above it are labelled as the digit's.
    seed : int >= 0, default 0
        The same seed gives the same canvases.

    Returns
    -------
    canvases : ndarray of float32, shape (num_canvases, S, S, 1)
        Pixels in [0, 1].
    masks : ndarray of int64, shape (num_canvases, S, S)
        0 for background, ``digit + 1`` for the ink of a digit.

    Raises
    ------
    TypeError
        If ``images`` or ``labels`` is not numeric (labels: integer), or a setting has the wrong type.
    ValueError
        If the shapes disagree, pixels leave [0, 1], a label is not 0..9, the canvas is smaller
        than a digit, or a setting is out of range.

    Examples
    --------
    >>> digits = np.zeros((2, 28, 28)); digits[:, 4:24, 10:18] = 1.0
    >>> canvases, masks = make_segmentation_canvases(digits, [3, 8], canvas_size=40, seed=1)
    >>> canvases.shape, masks.shape, sorted(np.unique(masks).tolist())
    ((1, 40, 40, 1), (1, 40, 40), [0, 4, 9])
    """
    func = "make_segmentation_canvases"
    digits, classes = _digits(func, images, labels)
    size = _canvas_size(func, canvas_size, digits.shape[1:])
    per_canvas = positive_int(func, "digits_per_canvas", digits_per_canvas)
    if num_canvases is None:
        if per_canvas > len(digits):
            raise ValueError(
                f"{func}: digits_per_canvas={per_canvas} needs at least that many images; received {len(digits)}"
            )
        count = len(digits) // per_canvas
    else:
        count = positive_int(func, "num_canvases", num_canvases)
    threshold = _threshold(func, ink_threshold)
    rng = np.random.default_rng(_seed(func, seed))

    order = _draw_order(rng, len(digits), count * per_canvas).reshape(count, per_canvas)
    canvases = np.zeros((count, size, size), dtype=np.float32)
    masks = np.zeros((count, size, size), dtype=np.int64)
    for i in range(count):
        for j in order[i]:
            r0, c0, r1, c1 = _ink_box(digits[j], threshold)
            patch = digits[j, r0:r1, c0:c1]
            top = rng.integers(0, size - patch.shape[0] + 1)
            left = rng.integers(0, size - patch.shape[1] + 1)
            region = (slice(top, top + patch.shape[0]), slice(left, left + patch.shape[1]))
            wins = patch > canvases[i][region]
            canvases[i][region] = np.where(wins, patch, canvases[i][region])
            masks[i][region] = np.where(wins & (patch > threshold), classes[j] + 1,
                                        np.where(wins, 0, masks[i][region]))
    return canvases[..., np.newaxis], masks


# ---------------------------------------------------------------------------------------------
# Measures
# ---------------------------------------------------------------------------------------------


def box_iou(boxes_a, boxes_b) -> np.ndarray:
    """Intersection over union of boxes, broadcast like numpy arithmetic.

    ``IoU = area(A ∩ B) / area(A ∪ B) = I / (area(A) + area(B) - I)``, from 0 (disjoint) to 1
    (the same box). Pass ``a[:, None]`` and ``b[None]`` for the matrix of every pair.

    Parameters
    ----------
    boxes_a, boxes_b : array_like of shape (..., 4)
        ``(top, left, bottom, right)`` boxes, bottom >= top and right >= left; the leading
        axes broadcast against each other.

    Returns
    -------
    ndarray of float64, shape: the broadcast leading axes
        The IoU of each pair; 0 where both boxes are empty.

    Raises
    ------
    TypeError
        If a box array is not numeric.
    ValueError
        If a last axis is not 4, the leading axes do not broadcast, a box is not finite, or a
        box has bottom < top or right < left.

    Examples
    --------
    >>> box_iou([0, 0, 2, 2], [1, 1, 3, 3])   # overlap 1 pixel of 4 + 4 - 1 = 7
    array(0.14285714)
    >>> box_iou(np.array([[0, 0, 2, 2], [0, 0, 4, 4]]), np.array([0, 0, 2, 2]))
    array([1.  , 0.25])
    """
    func = "box_iou"
    a = _boxes(func, "boxes_a", boxes_a)
    b = _boxes(func, "boxes_b", boxes_b)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{func}: boxes_a of shape {a.shape} and boxes_b of shape {b.shape} do not broadcast; "
            f"use a[:, None] and b[None] for every pair"
        ) from None
    top = np.maximum(a[..., 0], b[..., 0])
    left = np.maximum(a[..., 1], b[..., 1])
    bottom = np.minimum(a[..., 2], b[..., 2])
    right = np.minimum(a[..., 3], b[..., 3])
    intersection = np.clip(bottom - top, 0, None) * np.clip(right - left, 0, None)
    union = _area(a) + _area(b) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / np.where(union > 0, union, 1), 0.0)


def _boxes(func: str, name: str, value) -> np.ndarray:
    boxes = numeric_array(func, name, value).astype(np.float64)
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(
            f"{func}: {name} must have a last axis of 4 (top, left, bottom, right); received shape {boxes.shape}"
        )
    if not np.all(np.isfinite(boxes)):
        raise ValueError(f"{func}: {name} must hold finite numbers")
    if np.any(boxes[..., 2] < boxes[..., 0]) or np.any(boxes[..., 3] < boxes[..., 1]):
        raise ValueError(f"{func}: {name} must have bottom >= top and right >= left in every box")
    return boxes


def _area(boxes: np.ndarray) -> np.ndarray:
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def mask_iou(predicted, target, *, num_classes: int) -> np.ndarray:
    """Intersection over union of two label masks, one number per class.

    For class ``k``: ``|{pred == k} ∩ {target == k}| / |{pred == k} ∪ {target == k}|``, over
    all pixels of all masks together (not averaged image by image).

    Parameters
    ----------
    predicted, target : array_like of int, same shape (any, e.g. (N, H, W))
        Class labels 0..num_classes-1 per pixel.
    num_classes : int >= 1
        ``K``, the number of classes.

    Returns
    -------
    ndarray of float64, shape (K,)
        IoU of each class; NaN for a class in neither mask (``np.nanmean`` skips it).

    Raises
    ------
    TypeError
        If a mask is not an integer array or ``num_classes`` is not an int.
    ValueError
        If the shapes differ or a label is outside 0..num_classes-1.

    Examples
    --------
    >>> mask_iou([[0, 1, 1]], [[0, 1, 0]], num_classes=3)
    array([0.5, 0.5, nan])
    """
    func = "mask_iou"
    classes = positive_int(func, "num_classes", num_classes)
    pred = _labels(func, "predicted", predicted, classes)
    true = _labels(func, "target", target, classes)
    if pred.shape != true.shape:
        raise ValueError(f"{func}: predicted has shape {pred.shape} but target has shape {true.shape}; they must match")
    pairs = np.bincount(pred.ravel() * classes + true.ravel(), minlength=classes * classes).reshape(classes, classes)
    intersection = np.diag(pairs).astype(np.float64)
    union = pairs.sum(axis=0) + pairs.sum(axis=1) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / np.where(union > 0, union, 1), np.nan)


def _labels(func: str, name: str, value, classes: int) -> np.ndarray:
    labels = numeric_array(func, name, value)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{func}: {name} must hold integer class labels; received dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(
            f"{func}: {name} must hold labels 0..{classes - 1}; received values from {labels.min()} to {labels.max()}"
        )
    return labels.astype(np.int64)

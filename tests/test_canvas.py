"""Tests for cnnkit.canvas: canvases rebuilt from their own labels, IoU against brute-force pixel counts."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnkit as ck
from cnnkit import canvas


def digits(count=6, seed=0):
    """Blocky fake digits in a 28x28 frame: a random filled rectangle of ink per image."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype=np.float32)
    for image in images:
        top, left = rng.integers(2, 10, size=2)
        image[top:top + rng.integers(8, 16), left:left + rng.integers(4, 14)] = rng.uniform(0.6, 1.0)
    return images, rng.integers(0, 10, size=count)


# --------------------------------------------------------------------------- localisation


def test_localisation_box_holds_exactly_the_ink():
    images, labels = digits()
    canvases, classes, boxes = canvas.make_localization_canvases(images, labels, canvas_size=40, num_canvases=9, seed=3)
    assert canvases.shape == (9, 40, 40, 1) and canvases.dtype == np.float32
    assert classes.dtype == np.int64 and boxes.shape == (9, 4) and boxes.dtype == np.float32
    for image, digit, box in zip(canvases[..., 0], classes, boxes.astype(int)):
        rows, cols = np.nonzero(image > 0.5)
        assert tuple(box) == (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)
        # the canvas shows one of the digits of that class, whole
        top, left, bottom, right = box
        assert any(np.array_equal(image[top:bottom, left:right] > 0.5, _ink(src)) for src in images[labels == digit])


def _ink(image):
    rows, cols = np.nonzero(image > 0.5)
    return image[rows.min():rows.max() + 1, cols.min():cols.max() + 1] > 0.5


def test_localisation_is_seeded_and_uses_each_digit_once_per_pass():
    images, labels = digits()
    first = canvas.make_localization_canvases(images, labels, seed=5)
    again = canvas.make_localization_canvases(images, labels, seed=5)
    other = canvas.make_localization_canvases(images, labels, seed=6)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    assert len(first[0]) == 6 and sorted(first[1].tolist()) == sorted(labels.tolist())


def test_localisation_accepts_a_channel_axis_and_a_threshold():
    images, labels = digits()
    images[:, 0, 0] = 0.3  # faint pixel: ink only below a threshold of 0.3
    _, _, strict = canvas.make_localization_canvases(images[..., None], labels, canvas_size=28, seed=0)
    _, _, loose = canvas.make_localization_canvases(images[..., None], labels, canvas_size=28, ink_threshold=0.2, seed=0)
    assert np.all(loose[:, :2] == 0) and np.all(strict[:, :2] >= 2)


# --------------------------------------------------------------------------- segmentation


def test_segmentation_mask_labels_each_ink_pixel_with_its_digit():
    images, labels = digits(count=8)
    canvases, masks = canvas.make_segmentation_canvases(images, labels, canvas_size=44, digits_per_canvas=2, seed=1)
    assert canvases.shape == (4, 44, 44, 1) and masks.shape == (4, 44, 44) and masks.dtype == np.int64
    ink = canvases[..., 0] > 0.5
    np.testing.assert_array_equal(masks > 0, ink)
    # each canvas holds the classes of two of the digits, and every used digit appears once
    assert set(np.unique(masks)) - {0} <= set((labels + 1).tolist())
    assert 0 < (masks > 0).sum() <= sum(_ink(image).sum() for image in images)


@pytest.mark.parametrize("per_canvas", [1, 3])
def test_segmentation_settings_change_the_canvases(per_canvas):
    images, labels = digits(count=6)
    canvases, masks = canvas.make_segmentation_canvases(images, labels, digits_per_canvas=per_canvas, num_canvases=5, seed=0)
    assert canvases.shape == (5, 48, 48, 1)
    ink_per_canvas = (masks > 0).sum(axis=(1, 2))
    single = (canvas.make_segmentation_canvases(images, labels, digits_per_canvas=1, num_canvases=5, seed=0)[1] > 0).sum(axis=(1, 2))
    if per_canvas == 3:
        assert ink_per_canvas.mean() > single.mean()


# --------------------------------------------------------------------------- IoU


def brute_force_box_iou(a, b, size=24):
    grid_a = np.zeros((size, size), bool)
    grid_b = np.zeros((size, size), bool)
    grid_a[a[0]:a[2], a[1]:a[3]] = True
    grid_b[b[0]:b[2], b[1]:b[3]] = True
    union = (grid_a | grid_b).sum()
    return (grid_a & grid_b).sum() / union if union else 0.0


def box_strategy():
    return st.tuples(st.integers(0, 23), st.integers(0, 23), st.integers(0, 23), st.integers(0, 23)).map(
        lambda t: (min(t[0], t[2]), min(t[1], t[3]), max(t[0], t[2]), max(t[1], t[3])))


@settings(max_examples=150, deadline=None)
@given(box_strategy(), box_strategy())
def test_box_iou_equals_pixel_counts(a, b):
    assert canvas.box_iou(a, b) == pytest.approx(brute_force_box_iou(a, b))
    assert canvas.box_iou(a, b) == pytest.approx(canvas.box_iou(b, a))


def test_box_iou_broadcasts_to_every_pair():
    a = np.array([[0, 0, 4, 4], [2, 2, 6, 6]])
    b = np.array([[0, 0, 4, 4], [10, 10, 12, 12], [0, 0, 2, 2]])
    matrix = canvas.box_iou(a[:, None], b[None])
    expected = [[brute_force_box_iou(x, y) for y in b] for x in a]
    np.testing.assert_allclose(matrix, expected)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 5))
def test_mask_iou_equals_set_counts(seed, classes):
    rng = np.random.default_rng(seed)
    predicted, target = rng.integers(0, classes, size=(2, 3, 5, 5))
    result = canvas.mask_iou(predicted, target, num_classes=classes + 1)
    for k in range(classes + 1):
        union = np.sum((predicted == k) | (target == k))
        if union == 0:
            assert np.isnan(result[k])
        else:
            assert result[k] == pytest.approx(np.sum((predicted == k) & (target == k)) / union)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: canvas.make_localization_canvases("x", [1]), TypeError, r"make_localization_canvases: images must be a numeric"),
        (lambda: canvas.make_localization_canvases(np.ones((2, 28, 28)), [1]), ValueError, r"labels must have shape \(2,\)"),
        (lambda: canvas.make_localization_canvases(np.ones((1, 28, 28)) * 255, [1]), ValueError, r"pixels in \[0, 1\]"),
        (lambda: canvas.make_localization_canvases(np.ones((1, 28, 28)), [10]), ValueError, r"labels must be digits 0..9"),
        (lambda: canvas.make_localization_canvases(np.ones((1, 28, 28)), [1.5]), TypeError, r"labels must be integers"),
        (lambda: canvas.make_localization_canvases(np.ones((1, 28, 28, 3)), [1]), ValueError, r"images must be grey"),
        (lambda: canvas.make_localization_canvases(np.ones((1, 28, 28)), [1], canvas_size=20), ValueError,
         r"canvas_size must be at least the digit size 28x28; received 20"),
        (lambda: canvas.make_localization_canvases(np.ones((1, 28, 28)), [1], seed=-1), ValueError, r"seed must be >= 0"),
        (lambda: canvas.make_localization_canvases(np.ones((1, 28, 28)), [1], ink_threshold=1), ValueError,
         r"ink_threshold must be in \(0, 1\)"),
        (lambda: canvas.make_localization_canvases(np.ones((1, 28, 28)), [1], num_canvases=0), ValueError,
         r"num_canvases must be >= 1"),
        (lambda: canvas.make_segmentation_canvases(np.ones((1, 28, 28)), [1], digits_per_canvas=2), ValueError,
         r"make_segmentation_canvases: digits_per_canvas=2 needs at least that many images; received 1"),
        (lambda: canvas.make_segmentation_canvases(np.ones((1, 28, 28)), [1], digits_per_canvas="2"), TypeError,
         r"digits_per_canvas must be an int"),
        (lambda: canvas.box_iou([0, 0, 1], [0, 0, 1, 1]), ValueError, r"box_iou: boxes_a must have a last axis of 4"),
        (lambda: canvas.box_iou([2, 0, 1, 1], [0, 0, 1, 1]), ValueError, r"box_iou: boxes_a must have bottom >= top"),
        (lambda: canvas.box_iou(np.zeros((2, 4)), np.zeros((3, 4))), ValueError, r"do not broadcast; use a\[:, None\]"),
        (lambda: canvas.box_iou([0, 0, np.nan, 1], [0, 0, 1, 1]), ValueError, r"boxes_a must hold finite numbers"),
        (lambda: canvas.box_iou(["a"] * 4, [0, 0, 1, 1]), TypeError, r"box_iou: boxes_a must be a numeric array"),
        (lambda: canvas.mask_iou([0, 1], [0, 1, 1], num_classes=2), ValueError, r"mask_iou: predicted has shape \(2,\)"),
        (lambda: canvas.mask_iou([0, 2], [0, 1], num_classes=2), ValueError, r"predicted must hold labels 0..1"),
        (lambda: canvas.mask_iou([0.0, 1.0], [0, 1], num_classes=2), TypeError, r"predicted must hold integer class labels"),
        (lambda: canvas.mask_iou([0, 1], [0, 1], num_classes=0), ValueError, r"num_classes must be >= 1"),
    ],
)
def test_bad_input_is_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_names_are_exported_and_tensorflow_free():
    import subprocess
    import sys

    for name in canvas.__all__:
        assert getattr(ck, name) is getattr(canvas, name)
    probe = "import sys, cnnkit; cnnkit.make_segmentation_canvases; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr

"""cnnkit.conv against the lecture decks' worked example and Keras' Conv2D."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnkit as ck

# Deck 003: a 7x7 image of a "T", a vertical-edge kernel, and the filtered image it shows.
DECK_IMAGE = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 1, 1, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ]
)
DECK_KERNEL = np.array([[-1, 2, 0], [-1, 2, 0], [-1, 2, 0]])
DECK_OUTPUT = np.array(
    [
        [0, 2, 3, 0, -1],
        [0, 2, 5, -1, -1],
        [0, 0, 6, -3, 0],
        [0, 0, 6, -3, 0],
        [0, 0, 4, -2, 0],
    ]
)


def keras_conv(x, w, b, stride, padding):
    layer = keras.layers.Conv2D(w.shape[3], w.shape[:2], strides=stride, padding=padding,
                                use_bias=b is not None)
    layer.build(x.shape)
    layer.set_weights([w] if b is None else [w, b])
    return keras.ops.convert_to_numpy(layer(x))


@pytest.mark.parametrize("conv", [ck.conv2d, ck.conv2d_loop])
def test_deck_worked_example(conv):
    out = conv(DECK_IMAGE, DECK_KERNEL)
    np.testing.assert_array_equal(out, DECK_OUTPUT)
    np.testing.assert_array_equal(np.maximum(out, 0), np.clip(DECK_OUTPUT, 0, None))


@pytest.mark.parametrize("stride", [1, 2, 3, (1, 2), (3, 1)])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5, (3, 2)])
@pytest.mark.parametrize("channels,filters", [(1, 1), (3, 4), (2, 5)])
def test_matches_keras(stride, padding, kernel, channels, filters):
    rng = np.random.default_rng(hash((str(stride), padding, str(kernel), channels)) % 2**32)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rng.standard_normal((2, 9, 8, channels)).astype(np.float32)
    w = rng.standard_normal((kh, kw, channels, filters)).astype(np.float32)
    b = rng.standard_normal(filters).astype(np.float32)
    expected = keras_conv(x, w, b, stride, padding)
    fast = ck.conv2d(x, w, b, stride=stride, padding=padding)
    assert fast.shape == expected.shape
    assert fast.dtype == np.float32
    np.testing.assert_allclose(fast, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ck.conv2d_loop(x, w, b, stride=stride, padding=padding), expected,
                               rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(3, 12), width=st.integers(3, 12), kernel=st.integers(1, 3),
    stride=st.integers(1, 3), padding=st.sampled_from(["valid", "same"]),
    channels=st.integers(1, 3), filters=st.integers(1, 3), seed=st.integers(0, 2**16),
)
def test_matches_keras_on_random_shapes(height, width, kernel, stride, padding, channels, filters, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, height, width, channels)).astype(np.float32)
    w = rng.standard_normal((kernel, kernel, channels, filters)).astype(np.float32)
    expected = keras_conv(x, w, None, stride, padding)
    np.testing.assert_allclose(ck.conv2d(x, w, stride=stride, padding=padding), expected,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pad", [1, 2])
def test_integer_padding_is_zeros_on_every_side(pad):
    rng = np.random.default_rng(pad)
    x = rng.standard_normal((1, 6, 6, 2))
    w = rng.standard_normal((3, 3, 2, 3))
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    np.testing.assert_allclose(ck.conv2d(x, w, padding=pad), ck.conv2d(padded, w))
    assert ck.conv2d(x, w, padding=pad).shape[1] == ck.conv_output_size(6, 3, padding=pad)


def test_same_padding_puts_the_odd_zero_after():
    # 6 wide, kernel 2, stride 1: one zero of padding in all, which Keras adds on the right.
    x = np.arange(6.0).reshape(1, 6)
    out = ck.conv2d(np.vstack([x, x]), np.ones((1, 2)), padding="same")
    np.testing.assert_array_equal(out[0], [1, 3, 5, 7, 9, 5])


def test_bias_is_added_per_filter():
    x = np.zeros((1, 4, 4, 1))
    w = np.zeros((3, 3, 1, 2))
    out = ck.conv2d(x, w, np.array([1.5, -2.0]))
    np.testing.assert_array_equal(out[..., 0], 1.5)
    np.testing.assert_array_equal(out[..., 1], -2.0)


def test_stride_changes_the_result():
    x = np.arange(49.0).reshape(7, 7)
    assert ck.conv2d(x, np.ones((3, 3)), stride=1).shape == (5, 5)
    assert ck.conv2d(x, np.ones((3, 3)), stride=2).shape == (3, 3)


def test_dtypes():
    x = np.ones((5, 5), dtype=np.int64)
    assert ck.conv2d(x, np.ones((3, 3), dtype=np.int32)).dtype == np.float64
    assert ck.conv2d(x.astype(np.float32), np.ones((3, 3), np.float32)).dtype == np.float32


@pytest.mark.parametrize("conv", [ck.conv2d, ck.conv2d_loop])
@pytest.mark.parametrize(
    "x,w,kwargs,error,match",
    [
        (np.ones((5, 5, 1)), np.ones((3, 3)), {}, ValueError, r"x must be 2-D or 4-D; received a 3-D"),
        (np.ones((5, 5)), np.ones((3, 3, 1, 1)), {}, ValueError, r"a 2-D x needs a 2-D w"),
        (np.ones((1, 5, 5, 2)), np.ones((3, 3, 3, 1)), {}, ValueError, r"x has 2 channels .* w expects 3"),
        (np.ones((4, 4)), np.ones((5, 5)), {}, ValueError, r"the kernel \(5x5\) is larger than the padded input"),
        (np.ones((4, 4)), np.ones((3, 3)), {"stride": 0}, ValueError, r"stride must be >= 1; received 0"),
        (np.ones((4, 4)), np.ones((3, 3)), {"stride": 1.5}, TypeError, r"stride must be an int"),
        (np.ones((4, 4)), np.ones((3, 3)), {"padding": "full"}, ValueError, r"padding must be 'valid', 'same'"),
        (np.ones((4, 4)), np.ones((3, 3)), {"padding": -1}, ValueError, r"padding must be >= 0"),
        (np.array([["a"]]), np.ones((1, 1)), {}, TypeError, r"x must be a numeric array .* dtype <U1"),
        (np.ones((4, 4)), np.ones((1, 1)), {"b": np.ones(3)}, ValueError, r"b must hold one bias per filter \(1\)"),
    ],
)
def test_rejects_bad_input(conv, x, w, kwargs, error, match):
    with pytest.raises(error, match=rf"{conv.__name__}: {match}"):
        conv(x, w, **kwargs)

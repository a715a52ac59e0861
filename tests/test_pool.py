"""cnnkit.pool against the deck's worked example and Keras' pooling layers."""

import keras
import numpy as np
import pytest

import cnnkit as ck

DECK_INPUT = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])


def test_deck_max_pool_example():
    np.testing.assert_array_equal(ck.max_pool2d(DECK_INPUT, pool_size=2, stride=2), [[6, 8], [3, 4]])


def test_average_of_the_same_example():
    np.testing.assert_array_equal(ck.avg_pool2d(DECK_INPUT), [[3.25, 5.25], [2.0, 2.0]])


KERAS_LAYERS = {ck.max_pool2d: keras.layers.MaxPooling2D, ck.avg_pool2d: keras.layers.AveragePooling2D}


@pytest.mark.parametrize("pool", [ck.max_pool2d, ck.avg_pool2d])
@pytest.mark.parametrize("pool_size", [1, 2, 3, (2, 3)])
@pytest.mark.parametrize("stride", [None, 1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_matches_keras(pool, pool_size, stride, padding):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 7, 8, 3)).astype(np.float32)
    layer = KERAS_LAYERS[pool](pool_size=pool_size, strides=stride, padding=padding)
    expected = keras.ops.convert_to_numpy(layer(x))
    out = pool(x, pool_size=pool_size, stride=stride, padding=padding)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_stride_defaults_to_pool_size():
    x = np.arange(36.0).reshape(6, 6)
    np.testing.assert_array_equal(ck.max_pool2d(x, pool_size=3), ck.max_pool2d(x, pool_size=3, stride=3))
    assert ck.max_pool2d(x, pool_size=3, stride=1).shape == (4, 4)


def test_same_padding_ignores_padded_cells():
    x = -np.ones((3, 3))  # a padded zero would win the max and lower the average
    np.testing.assert_array_equal(ck.max_pool2d(x, padding="same"), -np.ones((2, 2)))
    np.testing.assert_array_equal(ck.avg_pool2d(x, padding="same"), -np.ones((2, 2)))


@pytest.mark.parametrize("pool", [ck.max_pool2d, ck.avg_pool2d])
@pytest.mark.parametrize(
    "x,kwargs,error,match",
    [
        (np.ones((4, 4)), {"pool_size": 0}, ValueError, r"pool_size must be >= 1; received 0"),
        (np.ones((4, 4)), {"pool_size": 5}, ValueError, r"the 5x5 pooling window is larger than the input"),
        (np.ones((4, 4)), {"stride": 0}, ValueError, r"stride must be >= 1"),
        (np.ones((4, 4)), {"padding": 1}, ValueError, r"padding must be 'valid' or 'same'; received 1"),
        (np.ones((4, 4, 1)), {}, ValueError, r"x must be 2-D or 4-D"),
        (np.array([[None]]), {}, TypeError, r"x must be a numeric array"),
    ],
)
def test_rejects_bad_input(pool, x, kwargs, error, match):
    with pytest.raises(error, match=rf"{pool.__name__}: {match}"):
        pool(x, **kwargs)

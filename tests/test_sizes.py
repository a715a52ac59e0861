"""Output sizes and parameter counts, checked against the decks and Keras."""

import keras
import pytest

import cnnkit as ck


@pytest.mark.parametrize(
    "stride,expected", [(1, 5), (2, 3)]  # deck 001: 7x7 input, 3x3 filter
)
def test_deck_strides(stride, expected):
    assert ck.conv_output_size(7, 3, stride=stride) == expected


def test_stride_3_does_not_fit_7x7_and_says_what_would():
    with pytest.raises(ValueError, match=r"3x3 filter with stride 3 does not fit a 7x7 input "
                                         r"\(7 - 3 \+ 2\*0 = 4 is not a multiple of 3\); pad it \(padding=1 fits\)"):
        ck.conv_output_size(7, 3, stride=3)
    assert ck.conv_output_size(7, 3, stride=3, padding=1) == 3
    assert ck.conv_output_size(7, 3, stride=3, exact=False) == 2  # what Keras does: drop the rest


@pytest.mark.parametrize("kernel,padding", [(3, 1), (5, 2), (1, 0)])  # deck 001's common settings
def test_common_settings_keep_the_size(kernel, padding):
    assert ck.conv_output_size(32, kernel, padding=padding) == 32


def test_multichannel_example():
    # deck 001: 6 filters 5x5x3 on 32x32x3 -> 28x28x6
    assert ck.conv_output_size((32, 32), 5) == (28, 28)


@pytest.mark.parametrize("size", [7, 8, 28, 33])
@pytest.mark.parametrize("kernel", [1, 2, 3, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_matches_keras_output_shape(size, kernel, stride, padding):
    layer = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding)
    keras_size = layer.compute_output_shape((1, size, size, 1))[1]
    assert ck.conv_output_size(size, kernel, stride=stride, padding=padding, exact=False) == keras_size


def test_deck_parameter_counts():
    # deck 002: three 3x3 conv layers of 32, 64, 64 filters on 28x28x1.
    counts = [ck.conv2d_params(3, 1, 32), ck.conv2d_params(3, 32, 64), ck.conv2d_params(3, 64, 64)]
    assert counts == [320, 18_496, 36_928]
    assert sum(counts) == 55_744


@pytest.mark.parametrize("kernel,channels,filters,bias", [(3, 1, 32, True), ((5, 3), 3, 6, False), (1, 8, 4, True)])
def test_conv2d_params_matches_keras(kernel, channels, filters, bias):
    layer = keras.layers.Conv2D(filters, kernel, use_bias=bias)
    layer.build((None, 10, 10, channels))
    assert ck.conv2d_params(kernel, channels, filters, use_bias=bias) == layer.count_params()


@pytest.mark.parametrize("inputs,units,bias", [(784, 128, True), (30_976, 64, True), (10, 3, False)])
def test_dense_params_matches_keras(inputs, units, bias):
    layer = keras.layers.Dense(units, use_bias=bias)
    layer.build((None, inputs))
    assert ck.dense_params(inputs, units, use_bias=bias) == layer.count_params()


def test_dense_layer_on_an_image_explodes():
    # deck 001: a 224x224x3 image and a hidden layer of the same size.
    inputs = 224 * 224 * 3
    assert inputs == 150_528
    assert ck.dense_params(inputs, inputs, use_bias=False) == 150_528**2  # ~22.7 billion


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: ck.conv_output_size(0, 3), ValueError, r"conv_output_size: input_size must be >= 1"),
        (lambda: ck.conv_output_size(3, 5), ValueError, r"5-wide filter does not fit a 3-wide input"),
        (lambda: ck.conv_output_size(7, 3, padding="full"), ValueError, r"padding must be 'valid', 'same'"),
        (lambda: ck.conv_output_size(7.0, 3), TypeError, r"input_size must be an int; received float"),
        (lambda: ck.conv_output_size((7, 7, 7), 3), ValueError, r"pair of ints; received a sequence of length 3"),
        (lambda: ck.conv_output_size(7, 3, exact="yes"), TypeError, r"exact must be True or False"),
        (lambda: ck.conv2d_params(3, 0, 4), ValueError, r"conv2d_params: in_channels must be >= 1; received 0"),
        (lambda: ck.conv2d_params(3, 1, True), TypeError, r"filters must be an int; received bool"),
        (lambda: ck.dense_params(10, -1), ValueError, r"dense_params: units must be >= 1; received -1"),
        (lambda: ck.dense_params(10, 2, use_bias=1), TypeError, r"use_bias must be True or False"),
    ],
)
def test_rejects_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()

"""Property tests: cnnkit's numeric functions against Keras (or the formula, computed here on its
own) over their whole input space, drawn by hypothesis.

Kept cheap: small shapes, a few dozen examples each, Keras ops called eagerly (no layer built
per example except where count_params() is the oracle).
"""

from __future__ import annotations

import math
import re

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnkit as ck

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOLERANCE = {np.float32: {"rtol": 1e-4, "atol": 1e-4}, np.float64: {"rtol": 1e-10, "atol": 1e-10}}


# ----------------------------------------------------------------------------------------------
# Output sizes
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(size=st.integers(1, 64), kernel=st.integers(1, 11), stride=st.integers(1, 6), padding=st.integers(0, 5))
def test_exact_output_size_is_the_formula_or_an_error_that_says_what_fits(size, kernel, stride, padding):
    span = size - kernel + 2 * padding
    if span < 0:
        with pytest.raises(ValueError, match=r"^conv_output_size: a \d+-wide filter does not fit"):
            ck.conv_output_size(size, kernel, stride=stride, padding=padding)
        return
    if span % stride == 0:
        assert ck.conv_output_size(size, kernel, stride=stride, padding=padding) == span // stride + 1
        return
    with pytest.raises(ValueError) as raised:
        ck.conv_output_size(size, kernel, stride=stride, padding=padding)
    message = str(raised.value)
    assert message.startswith(f"conv_output_size: a {kernel}x{kernel} filter with stride {stride} does not fit")
    fitting = [p for p in range(padding, padding + stride) if (size - kernel + 2 * p) % stride == 0]
    suggested = re.search(r"pad it \(padding=(\d+) fits\)", message)
    if fitting:
        # The least padding that fits, and it really fits.
        assert suggested and int(suggested.group(1)) == fitting[0], message
        assert message.endswith("or change the stride")
        assert ck.conv_output_size(size, kernel, stride=stride, padding=fitting[0]) >= 1
        return
    # Only an odd I - F with an even stride leaves no padding that fits (2P is even): the strides
    # suggested instead really fit.
    assert (size - kernel) % 2 == 1 and stride % 2 == 0
    assert suggested is None and "no padding fits" in message and "is odd and the stride even" in message
    strides = re.search(r"use stride ([\d, or]+)", message).group(1)
    for fit in map(int, re.findall(r"\d+", strides)):
        assert fit != stride and span % fit == 0, message
        assert ck.conv_output_size(size, kernel, stride=fit, padding=padding) == span // fit + 1


@SETTINGS
@given(size=st.integers(1, 40), kernel=st.integers(1, 8), stride=st.integers(1, 5),
       padding=st.one_of(st.integers(0, 4), st.sampled_from(["valid", "same"])))
def test_output_size_without_exact_is_what_keras_computes(size, kernel, stride, padding):
    zeros = padding if isinstance(padding, int) else 0
    mode = "same" if padding == "same" else "valid"
    if mode == "valid" and size + 2 * zeros < kernel:
        with pytest.raises(ValueError, match="does not fit"):
            ck.conv_output_size(size, kernel, stride=stride, padding=padding, exact=False)
        return
    layer = keras.layers.Conv2D(1, kernel, strides=stride, padding=mode)
    expected = layer.compute_output_shape((None, size + 2 * zeros, size + 2 * zeros, 1))[1]
    assert ck.conv_output_size(size, kernel, stride=stride, padding=padding, exact=False) == expected
    assert ck.conv_output_size((size, size), kernel, stride=stride, padding=padding, exact=False) == (expected, expected)
    if padding == "same":
        assert expected == math.ceil(size / stride)


# ----------------------------------------------------------------------------------------------
# Convolution and pooling against Keras ops
# ----------------------------------------------------------------------------------------------
@st.composite
def conv_problems(draw, max_size=9):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    batch, channels, filters = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    height, width = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = draw(st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2))))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (batch, height, width, channels)).astype(dtype)
    w = rng.uniform(-1, 1, (kh, kw, channels, filters)).astype(dtype)
    b = rng.uniform(-1, 1, filters).astype(dtype)
    return x, w, b, stride, padding


def keras_conv(x, w, b, stride, padding):
    """Keras' convolution: int paddings become explicit zeros, then a "valid" convolution."""
    if isinstance(padding, str):
        mode = padding
    else:
        rows, cols = (padding, padding) if isinstance(padding, int) else padding
        x = np.pad(x, ((0, 0), (rows, rows), (cols, cols), (0, 0)))
        mode = "valid"
    strides = (stride, stride) if isinstance(stride, int) else stride
    out = keras.ops.conv(x, w, strides=strides, padding=mode)
    return np.asarray(out) + b


def fits(x, w, padding):
    """Whether the kernel fits the padded input (else cnnkit refuses, and Keras would too)."""
    if padding == "same":
        return True
    rows, cols = (0, 0) if padding == "valid" else ((padding, padding) if isinstance(padding, int) else padding)
    return x.shape[1] + 2 * rows >= w.shape[0] and x.shape[2] + 2 * cols >= w.shape[1]


@SETTINGS
@given(problem=conv_problems())
def test_conv2d_is_keras_conv(problem):
    x, w, b, stride, padding = problem
    if not fits(x, w, padding):
        with pytest.raises(ValueError, match=r"^conv2d: the kernel .* is larger than the padded input"):
            ck.conv2d(x, w, b, stride=stride, padding=padding)
        return
    out = ck.conv2d(x, w, b, stride=stride, padding=padding)
    assert out.dtype == x.dtype
    np.testing.assert_allclose(out, keras_conv(x, w, b, stride, padding), **TOLERANCE[x.dtype.type])


@settings(SETTINGS, max_examples=20)
@given(problem=conv_problems(max_size=6))
def test_conv2d_loop_is_keras_conv(problem):
    x, w, b, stride, padding = problem
    if not fits(x, w, padding):
        with pytest.raises(ValueError, match=r"^conv2d_loop: the kernel"):
            ck.conv2d_loop(x, w, b, stride=stride, padding=padding)
        return
    out = ck.conv2d_loop(x, w, b, stride=stride, padding=padding)
    np.testing.assert_allclose(out, keras_conv(x, w, b, stride, padding), **TOLERANCE[x.dtype.type])


@SETTINGS
@given(height=st.integers(1, 9), width=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
       dtype=st.sampled_from([np.int64, np.bool_, np.float32]), seed=st.integers(0, 2**16))
def test_conv2d_of_one_image_is_the_batch_case(height, width, kh, kw, dtype, seed):
    # The teaching form (H, W) with a (KH, KW) kernel, integer or boolean inputs too.
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 3, (height, width)).astype(dtype)
    kernel = rng.integers(-2, 3, (kh, kw)).astype(dtype)
    if kh > height or kw > width:
        with pytest.raises(ValueError, match="larger than the padded input"):
            ck.conv2d(image, kernel)
        return
    batch = ck.conv2d(image[None, :, :, None], kernel[:, :, None, None])
    np.testing.assert_array_equal(ck.conv2d(image, kernel), batch[0, :, :, 0])
    expected = keras_conv(image[None, :, :, None].astype(np.float64), kernel[:, :, None, None].astype(np.float64), 0.0, 1, "valid")
    np.testing.assert_allclose(batch, expected, atol=1e-9)


@st.composite
def pool_problems(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.integers(1, 3)))
    size = draw(st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = draw(st.sampled_from(["valid", "same"]))
    x = np.random.default_rng(draw(st.integers(0, 2**16))).uniform(-1, 1, shape).astype(dtype)
    return x, size, stride, padding


@SETTINGS
@given(problem=pool_problems(), reduce=st.sampled_from(["max", "avg"]))
def test_pooling_is_keras_pooling(problem, reduce):
    x, size, stride, padding = problem
    ours = ck.max_pool2d if reduce == "max" else ck.avg_pool2d
    sizes = (size, size) if isinstance(size, int) else size
    if padding == "valid" and (x.shape[1] < sizes[0] or x.shape[2] < sizes[1]):
        with pytest.raises(ValueError, match="pooling window is larger than the input"):
            ours(x, pool_size=size, stride=stride, padding=padding)
        return
    theirs = keras.ops.max_pool if reduce == "max" else keras.ops.average_pool
    expected = np.asarray(theirs(x, pool_size=sizes, strides=sizes if stride is None else stride, padding=padding))
    out = ours(x, pool_size=size, stride=stride, padding=padding)
    assert out.dtype == x.dtype
    # Keras' pooling ops compute float64 input in float32: compare at the coarser precision.
    np.testing.assert_allclose(out, expected, **TOLERANCE[expected.dtype.type])


# ----------------------------------------------------------------------------------------------
# Parameter counts against count_params() of the Keras layer
# ----------------------------------------------------------------------------------------------
@settings(SETTINGS, max_examples=25)
@given(kernel=st.one_of(st.integers(1, 7), st.tuples(st.integers(1, 7), st.integers(1, 7))),
       channels=st.integers(1, 64), filters=st.integers(1, 64), use_bias=st.booleans())
def test_conv2d_params_is_keras_count(kernel, channels, filters, use_bias):
    layer = keras.layers.Conv2D(filters, kernel, use_bias=use_bias)
    layer.build((None, 16, 16, channels))
    assert ck.conv2d_params(kernel, channels, filters, use_bias=use_bias) == layer.count_params()


@settings(SETTINGS, max_examples=25)
@given(inputs=st.integers(1, 5000), units=st.integers(1, 512), use_bias=st.booleans())
def test_dense_params_is_keras_count(inputs, units, use_bias):
    layer = keras.layers.Dense(units, use_bias=use_bias)
    layer.build((None, inputs))
    assert ck.dense_params(inputs, units, use_bias=use_bias) == layer.count_params()


# ----------------------------------------------------------------------------------------------
# layer_costs: parameters and multiply-adds per layer
# ----------------------------------------------------------------------------------------------
def _out_size(size: int, kernel: int, stride: int, padding: str) -> int:
    return -(-size // stride) if padding == "same" else (size - kernel) // stride + 1


@st.composite
def costed_layers(draw):
    """A layer's kind, settings and input shape, and by hand its output shape, parameters and
    multiply-adds (the layer itself is built in the test: Keras draws its initial weights)."""
    kind = draw(st.sampled_from(["Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense"]))
    bias = draw(st.booleans())
    if kind == "Dense":
        features, units = draw(st.integers(1, 64)), draw(st.integers(1, 32))
        positions = draw(st.sampled_from([(), (3,), (2, 3)]))  # Dense on (I,), a sequence, or a map
        return (kind, dict(units=units, use_bias=bias), (*positions, features), (*positions, units),
                features * units + bias * units, math.prod(positions) * features * units)
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    height, width = draw(st.integers(kh, 10)), draw(st.integers(kw, 10))
    ho, wo = _out_size(height, kh, sh, padding), _out_size(width, kw, sw, padding)
    config = dict(kernel_size=(kh, kw), strides=(sh, sw), padding=padding, use_bias=bias)
    if kind == "Conv2D":
        groups = draw(st.integers(1, 3))
        channels, filters = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 4))
        per_output = kh * kw * (channels // groups)  # each filter sees its group's channels only
        return (kind, dict(config, filters=filters, groups=groups), (height, width, channels), (ho, wo, filters),
                per_output * filters + bias * filters, ho * wo * filters * per_output)
    channels, multiplier = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    inner = channels * multiplier  # maps after the depthwise step
    if kind == "DepthwiseConv2D":
        return (kind, dict(config, depth_multiplier=multiplier), (height, width, channels), (ho, wo, inner),
                kh * kw * inner + bias * inner, ho * wo * inner * kh * kw)
    filters = draw(st.integers(1, 6))
    params = kh * kw * inner + inner * filters + bias * filters  # the bias sits after the pointwise step
    return (kind, dict(config, filters=filters, depth_multiplier=multiplier), (height, width, channels), (ho, wo, filters),
            params, ho * wo * inner * kh * kw + ho * wo * filters * inner)


@settings(SETTINGS, max_examples=30)
@given(problem=costed_layers())
def test_layer_costs_is_the_hand_count_and_keras_count_params(problem):
    kind, config, input_shape, output_shape, params, multiply_adds = problem
    layer = getattr(keras.layers, kind)(**config)
    model = keras.Sequential([keras.Input(input_shape), layer])
    [cost] = ck.layer_costs(model)
    assert cost.kind == kind
    assert cost.output_shape == output_shape == tuple(model.output_shape[1:])
    assert cost.params == params == layer.count_params()
    assert cost.multiply_adds == multiply_adds

"""Tests for cnnkit.gradcheck: finite differences against exact derivatives and backprop."""

import cnnkit as ck

ck.setup(seed=0)

import keras  # noqa: E402  (after setup, so TensorFlow starts quietly)
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnkit import gradcheck  # noqa: E402
from cnnkit.models import compile_classifier  # noqa: E402

# --------------------------------------------------------------------------- numerical_gradient


def test_quadratic_form_gradient():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    b = rng.normal(size=4)
    x = rng.normal(size=4)
    grad = gradcheck.numerical_gradient(lambda v: v @ a @ v + b @ v, x)
    # Central differences are exact for a quadratic; only rounding (~1e-16 / eps) remains.
    np.testing.assert_allclose(grad, (a + a.T) @ x + b, rtol=0, atol=1e-9)


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 2, 2)])
def test_sine_gradient_any_shape(shape):
    x = np.random.default_rng(1).normal(size=shape)
    grad = gradcheck.numerical_gradient(lambda v: np.sum(np.sin(v)), x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    # Truncation error eps**2 / 6 * |sin'''| <= 1.7e-9 for eps = 1e-4.
    np.testing.assert_allclose(grad, np.cos(x), rtol=0, atol=1e-8)


@pytest.mark.parametrize("eps", [1e-1, 1e-2])
def test_error_is_eps_squared_for_a_cube(eps):
    # ((x + e)**3 - (x - e)**3) / (2e) = 3x**2 + e**2 exactly: the O(eps**2) error made visible.
    x = np.array([-1.5, 0.0, 2.0])
    grad = gradcheck.numerical_gradient(lambda v: np.sum(v**3), x, eps=eps)
    np.testing.assert_allclose(grad - 3 * x**2, eps**2, rtol=1e-6)


def test_input_is_not_modified_and_ints_are_accepted():
    x = np.array([[1, 2], [3, 4]])
    seen = []
    grad = gradcheck.numerical_gradient(lambda v: seen.append(v.dtype) or float(np.prod(v)), x)
    np.testing.assert_array_equal(x, [[1, 2], [3, 4]])
    np.testing.assert_allclose(grad, [[24, 12], [8, 6]], rtol=1e-8)
    assert set(seen) == {np.dtype(np.float64)}


@pytest.mark.parametrize(
    ("f", "kwargs", "error", "message"),
    [
        (lambda v: v * 2, {}, ValueError,
         r"numerical_gradient: f must return a scalar \(0-D\); it returned an array of shape \(3,\)"),
        (lambda v: "cost", {}, TypeError,
         r"numerical_gradient: f must return a number; it returned str"),
        (np.sum, {"eps": 0.0}, ValueError,
         r"numerical_gradient: eps must be a finite number > 0; received 0.0"),
        (np.sum, {"eps": -1e-3}, ValueError, r"eps must be a finite number > 0"),
        (np.sum, {"eps": "small"}, TypeError,
         r"numerical_gradient: eps must be a number; received str"),
        ("f", {}, TypeError,
         r"numerical_gradient: f must be a function of one array; received str"),
    ],
)
def test_numerical_gradient_errors(f, kwargs, error, message):
    with pytest.raises(error, match=message):
        gradcheck.numerical_gradient(f, np.ones(3), **kwargs)


def test_numerical_gradient_refuses_text_x():
    with pytest.raises(TypeError, match=r"numerical_gradient: x must be a numeric array"):
        gradcheck.numerical_gradient(np.sum, ["a", "b"])


# --------------------------------------------------------------------------- weight_sensitivity


def tiny_convnet(*, l2=0.0, dropout=0.0):
    keras.utils.set_random_seed(0)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(2, (3, 3), activation="tanh", kernel_regularizer=regularizer, name="conv")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(3, activation="softmax", kernel_regularizer=regularizer, name="output")(x)
    return compile_classifier(keras.Model(inputs, outputs))


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    return rng.random((8, 6, 6, 1)).astype("float32"), rng.integers(0, 3, 8)


@pytest.mark.parametrize(("l2", "dropout"), [(0.0, 0.0), (0.1, 0.5)])
def test_finite_differences_agree_with_backprop_on_every_conv_weight(batch, l2, dropout):
    x, y = batch
    model = tiny_convnet(l2=l2, dropout=dropout)
    eps = 1e-3
    for index in np.ndindex(tuple(model.get_layer("conv").kernel.shape)):
        result = gradcheck.weight_sensitivity(model, x, y, layer="conv", index=index, eps=eps)
        # The model computes in float32: each loss carries a rounding error of a few float32 ulps
        # (~1.2e-7 * loss), which the difference quotient divides by 2 * eps. That bounds the
        # absolute noise; rtol 1e-2 covers the O(eps**2) truncation for derivatives of
        # ordinary size (here 0.003 to 0.2).
        noise = 8 * float(np.finfo(np.float32).eps) * result["loss"] / (2 * eps)
        assert result["numerical"] == pytest.approx(result["backprop"], rel=1e-2, abs=noise), (index, result)


def test_layer_by_index_and_dense_kernel(batch):
    x, y = batch
    model = tiny_convnet()
    by_name = gradcheck.weight_sensitivity(model, x, y, layer="output", index=(5, 2))
    by_index = gradcheck.weight_sensitivity(model, x, y, layer=3, index=(5, 2))
    assert by_name == by_index
    assert by_name["relative_error"] < 1e-2


def test_backprop_matches_softmax_regression_formula():
    # For softmax + cross-entropy, dL/dW[i, j] = mean_n x[n, i] * (p[n, j] - [y_n == j]).
    keras.utils.set_random_seed(1)
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(3, activation="softmax", name="dense")(inputs)
    model = compile_classifier(keras.Model(inputs, outputs))
    rng = np.random.default_rng(2)
    x = rng.normal(size=(10, 4)).astype("float32")
    y = rng.integers(0, 3, 10)
    p = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
    formula = x.astype(np.float64).T @ (p - np.eye(3)[y]) / len(x)
    for index in [(0, 0), (1, 2), (3, 1)]:
        result = gradcheck.weight_sensitivity(model, x, y, layer="dense", index=index, eps=1e-2)
        np.testing.assert_allclose(result["backprop"], formula[index], rtol=1e-4)
        np.testing.assert_allclose(result["numerical"], formula[index], rtol=1e-2, atol=1e-4)
        np.testing.assert_allclose(result["loss"], -np.mean(np.log(p[np.arange(10), y])), rtol=1e-5)


def test_loss_includes_penalty_and_weights_are_restored(batch):
    x, y = batch
    model = tiny_convnet(l2=0.1, dropout=0.5)
    before = [w.copy() for w in model.get_weights()]
    result = gradcheck.weight_sensitivity(model, x, y, layer="conv", index=(1, 1, 0, 0))
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    loss = model.evaluate(x, y, batch_size=len(x), verbose=0)[0]
    np.testing.assert_allclose(result["loss"], loss, rtol=1e-5)


def test_frozen_layer_still_gets_a_derivative(batch):
    x, y = batch
    model = tiny_convnet()
    model.get_layer("conv").trainable = False
    result = gradcheck.weight_sensitivity(model, x, y, layer="conv", index=(0, 0, 0, 0))
    assert result["relative_error"] < 1e-2


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"layer": "conv9", "index": (0, 0, 0, 0)}, ValueError,
         r"weight_sensitivity: model has no layer named 'conv9'"),
        ({"layer": 7, "index": (0, 0)}, ValueError,
         r"layer index 7 is out of range; the model has 4 layers"),
        ({"layer": 1.0, "index": (0, 0)}, TypeError,
         r"layer must be a layer name \(str\) or an index \(int\)"),
        ({"layer": "flatten", "index": (0,)}, ValueError,
         r"layer 'flatten' \(Flatten\) has no kernel; layers with one: \['conv', 'output'\]"),
        ({"layer": "conv", "index": (0, 0)}, ValueError,
         r"index must have 4 entries for the kernel of layer 'conv' "
         r"\(shape \(3, 3, 1, 2\)\); received \(0, 0\)"),
        ({"layer": "conv", "index": (3, 0, 0, 0)}, ValueError,
         r"index \(3, 0, 0, 0\) is out of range"),
        ({"layer": "conv", "index": [0, 0, 0, 0]}, TypeError, r"index must be a tuple of ints"),
        ({"layer": "conv", "index": (0, 0, 0, 0), "eps": 0}, ValueError,
         r"weight_sensitivity: eps must be a finite number > 0"),
    ],
)
def test_weight_sensitivity_errors(batch, kwargs, error, message):
    x, y = batch
    with pytest.raises(error, match=message):
        gradcheck.weight_sensitivity(tiny_convnet(), x, y, **kwargs)


def test_weight_sensitivity_needs_a_compiled_model_and_matching_data(batch):
    x, y = batch
    model = tiny_convnet()
    with pytest.raises(ValueError, match=r"x and y must hold the same number of examples"):
        gradcheck.weight_sensitivity(model, x, y[:3], layer="conv", index=(0, 0, 0, 0))
    with pytest.raises(TypeError, match=r"weight_sensitivity: model must be a keras.Model; received list"):
        gradcheck.weight_sensitivity([model], x, y, layer="conv", index=(0, 0, 0, 0))
    inputs = keras.Input((6, 6, 1))
    uncompiled = keras.Model(inputs, keras.layers.Dense(2, name="dense")(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match=r"model must be compiled with a loss first"):
        gradcheck.weight_sensitivity(uncompiled, x, y, layer="dense", index=(0, 0))


def test_all_names_are_exported_by_the_package():
    for name in gradcheck.__all__:
        assert getattr(ck, name) is getattr(gradcheck, name)

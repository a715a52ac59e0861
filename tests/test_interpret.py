"""cnnkit.interpret: Grad-CAM against a direct computation, occlusion against hand-checked maps,
the shortcut helpers and the heatmap mass. Tiny models only, nothing is trained."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import cnnkit as ck


def _init(seed):
    return keras.initializers.GlorotUniform(seed=seed)


def _gap_model(input_shape=(9, 9, 2), *, filters=3, classes=4, activation=None, softmax_layer=None,
               padding="valid", seed=0, bias=True):
    """Conv -> GAP -> Dense: the class score is linear in the spatial mean of the maps."""
    layers = [
        keras.Input(input_shape),
        keras.layers.Conv2D(filters, 3, padding=padding, activation="relu", name="conv",
                            kernel_initializer=_init(seed), bias_initializer="zeros"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(classes, activation=activation, name="dense",
                           kernel_initializer=_init(seed + 1), bias_initializer="zeros"),
    ]
    if softmax_layer == "Softmax":
        layers.append(keras.layers.Softmax(name="softmax"))
    elif softmax_layer == "Activation":
        layers.append(keras.layers.Activation("softmax", name="softmax"))
    model = keras.Sequential(layers)
    conv = model.get_layer("conv")
    rng = np.random.default_rng(seed)
    if bias:
        conv.bias.assign(rng.uniform(-0.1, 0.3, conv.bias.shape).astype(np.float32))
    return model


def _deep_functional(seed=0):
    inputs = keras.Input((12, 12, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv1", kernel_initializer=_init(seed))(inputs)
    h = keras.layers.MaxPooling2D(name="pool1")(h)
    h = keras.layers.Conv2D(5, 3, activation="relu", name="conv2", bias_initializer="ones",
                            kernel_initializer=_init(seed + 1))(h)
    h = keras.layers.Flatten()(h)
    outputs = keras.layers.Dense(3, activation="softmax", name="dense", kernel_initializer=_init(seed + 2))(h)
    return keras.Model(inputs, outputs)


def _normalised(cam):
    peaks = cam.max(axis=(1, 2), keepdims=True)
    return np.divide(cam, peaks, out=np.zeros_like(cam), where=peaks > 0)


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, shape).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# find_last_conv_layer
# ----------------------------------------------------------------------------------------------
def test_last_conv_layer_of_a_sequential_and_a_functional_model():
    assert ck.find_last_conv_layer(_gap_model()) == "conv"
    assert ck.find_last_conv_layer(_deep_functional()) == "conv2"


def test_last_4d_layer_may_be_a_pooling_layer_after_the_conv():
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"),
                              keras.layers.MaxPooling2D(name="pool"), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    assert ck.find_last_conv_layer(model) == "pool"


def test_last_conv_layer_inside_a_nested_base_model():
    base_input = keras.Input((8, 8, 1))
    base = keras.Model(base_input, keras.layers.Conv2D(3, 3, name="inner_conv")(base_input), name="base")
    model = keras.Sequential([keras.Input((8, 8, 1)), base, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2)])
    assert ck.find_last_conv_layer(model) == "inner_conv"


def test_last_conv_layer_errors():
    mlp = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"find_last_conv_layer: model .* has no layer with a 4-D output"):
        ck.find_last_conv_layer(mlp)
    unbuilt = keras.Sequential([keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"find_last_conv_layer: model .* has not been built"):
        ck.find_last_conv_layer(unbuilt)
    with pytest.raises(TypeError, match=r"find_last_conv_layer: model must be a keras.Model.*received str"):
        ck.find_last_conv_layer("conv")


# ----------------------------------------------------------------------------------------------
# Grad-CAM against a direct computation
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "activation,softmax_layer",
    [(None, None), ("softmax", None), (None, "Softmax"), (None, "Activation")],
)
@pytest.mark.parametrize("class_index", [None, 2, "per-image"])
def test_grad_cam_matches_the_analytic_gradient_of_conv_gap_dense(activation, softmax_layer, class_index):
    # score_k = sum_c W[c, k] * mean_ij A[i, j, c] + b_k, so d score_k / d A[i, j, c] = W[c, k] / (h*w)
    # (before the softmax, which Grad-CAM skips), and the channel weights are that constant.
    model = _gap_model(activation=activation, softmax_layer=softmax_layer)
    x = _images((5, 9, 9, 2))
    conv, dense = model.get_layer("conv"), model.get_layer("dense")
    maps = np.maximum(ck.conv2d(x, conv.kernel.numpy(), conv.bias.numpy()), 0)  # (5, 7, 7, 3)
    kernel = dense.kernel.numpy()
    logits = maps.mean(axis=(1, 2)) @ kernel + dense.bias.numpy()
    if class_index is None:
        classes = logits.argmax(axis=1)
    elif class_index == "per-image":
        class_index = classes = np.array([3, 0, 1, 2, 3])
    else:
        classes = np.full(5, class_index)
    h, w = maps.shape[1:3]
    weights = kernel[:, classes].T / (h * w)  # (5, 3)
    expected = _normalised(np.maximum(np.einsum("nijc,nc->nij", maps, weights), 0))
    assert (expected.max(axis=(1, 2)) > 0).sum() >= 3  # most maps are not trivially zero

    cam = ck.grad_cam(model, x, class_index=class_index, upsample=False)
    assert cam.shape == (5, 7, 7) and cam.dtype == np.float32
    np.testing.assert_allclose(cam, expected, rtol=1e-5, atol=1e-6)


def test_grad_cam_matches_a_tape_through_a_keras_submodel():
    # The keras-io recipe, by hand, on a functional model with pooling and a flatten layer.
    model = _deep_functional()
    x = _images((4, 12, 12, 1), seed=3)
    model.get_layer("dense").activation = keras.activations.linear
    try:
        probe = keras.Model(model.input, [model.get_layer("conv2").output, model.output])
        with tf.GradientTape() as tape:
            maps, logits = probe(x)
            top = tf.gather(logits, tf.argmax(logits, axis=1), axis=1, batch_dims=1)
        gradients = tape.gradient(top, maps).numpy()
    finally:
        model.get_layer("dense").activation = keras.activations.softmax
    maps = maps.numpy()
    expected = _normalised(np.maximum(np.einsum("nijc,nc->nij", maps, gradients.mean(axis=(1, 2))), 0))
    assert np.all(expected.max(axis=(1, 2)) == 1)
    np.testing.assert_allclose(ck.grad_cam(model, x, upsample=False), expected, rtol=1e-5, atol=1e-6)


def test_grad_cam_leaves_the_model_unchanged():
    for model in (_gap_model(activation="softmax"), _gap_model(softmax_layer="Softmax")):
        x = _images((3, 9, 9, 2))
        before = model(x).numpy()
        ck.grad_cam(model, x)
        after = model(x).numpy()
        np.testing.assert_array_equal(before, after)
        np.testing.assert_allclose(after.sum(axis=1), 1, rtol=1e-6)


def test_upsampled_maps_have_the_input_size_and_lie_in_0_1():
    model = _deep_functional()
    x = _images((6, 12, 12, 1), seed=1)
    small = ck.grad_cam(model, x, upsample=False)
    large = ck.grad_cam(model, x)
    assert small.shape == (6, 3, 3) and large.shape == (6, 12, 12)
    assert large.min() >= 0 and large.max() <= 1
    np.testing.assert_allclose(small.max(axis=(1, 2)), 1)
    # bilinear resizing neither invents mass where the small map is zero nor moves the peak far
    for small_map, large_map in zip(small, large):
        peak = np.unravel_index(small_map.argmax(), small_map.shape)
        large_peak = np.unravel_index(large_map.argmax(), large_map.shape)
        assert all(abs(large_peak[a] - (peak[a] + 0.5) * 4 + 0.5) <= 2 for a in range(2))


def test_same_size_maps_are_not_resized():
    model = _gap_model(padding="same")
    x = _images((2, 9, 9, 2))
    np.testing.assert_array_equal(ck.grad_cam(model, x), ck.grad_cam(model, x, upsample=False))


def test_an_all_zero_map_stays_zero():
    # Every conv output is 0 after the ReLU (negative bias, zero kernel): no gradient, no NaN.
    model = _gap_model()
    conv = model.get_layer("conv")
    conv.kernel.assign(np.zeros(conv.kernel.shape, np.float32))
    conv.bias.assign(-np.ones(conv.bias.shape, np.float32))
    cam = ck.grad_cam(model, _images((2, 9, 9, 2)))
    assert np.all(np.isfinite(cam))
    np.testing.assert_array_equal(cam, 0)


# ----------------------------------------------------------------------------------------------
# Grad-CAM properties: equivariance, sensitivity to the weights, any way of building the model
# ----------------------------------------------------------------------------------------------
def _blob(size, top, left):
    """An L-shaped stroke on a black background."""
    image = np.zeros((size, size, 1), np.float32)
    image[top:top + 4, left, 0] = 1.0
    image[top + 3, left:left + 3, 0] = 1.0
    return image


@pytest.mark.parametrize("shift", [(3, 2), (-2, 4), (0, -3)])
@pytest.mark.parametrize("padding,upsample", [("same", True), ("valid", False)])
def test_grad_cam_shifts_with_the_object(shift, padding, upsample):
    # Conv and ReLU are equivariant, GAP is invariant: the channel weights stay the same and the
    # map moves with the object (as long as the object stays clear of the border).
    model = _gap_model((20, 20, 1), filters=4, classes=3, padding=padding, seed=4, bias=False)
    dy, dx = shift
    x = np.stack([_blob(20, 8, 8), _blob(20, 8 + dy, 8 + dx)])
    cam = ck.grad_cam(model, x, upsample=upsample)
    assert cam[0].max() == 1 and cam[0].std() > 0.1
    original, moved = cam
    size = original.shape[0]
    rows = slice(max(dy, 0), size + min(dy, 0))
    cols = slice(max(dx, 0), size + min(dx, 0))
    source_rows = slice(max(-dy, 0), size - max(dy, 0))
    source_cols = slice(max(-dx, 0), size - max(dx, 0))
    np.testing.assert_allclose(moved[rows, cols], original[source_rows, source_cols], atol=1e-6)
    peak = np.array(np.unravel_index(original.argmax(), original.shape))
    np.testing.assert_array_equal(np.unravel_index(moved.argmax(), moved.shape), peak + shift)


def _centre_of_mass(heat):
    rows, cols = np.indices(heat.shape)
    return np.array([(heat * rows).sum(), (heat * cols).sum()]) / heat.sum()


def test_centre_of_mass_shifts_with_a_digit_like_stroke():
    model = _gap_model((20, 20, 1), filters=4, classes=3, padding="same", seed=4, bias=False)
    x = np.stack([_blob(20, 5, 6), _blob(20, 9, 9)])
    cam = ck.grad_cam(model, x)
    assert np.all(cam[:, 0, 0] == 0)  # no bias: the black background is not highlighted
    np.testing.assert_allclose(_centre_of_mass(cam[1]) - _centre_of_mass(cam[0]), [4, 3], atol=1e-4)


@pytest.mark.parametrize("layer", ["conv", "dense"])
def test_randomising_the_weights_changes_the_map(layer):
    # Adebayo et al. (2018): an explanation that survives random weights explains the input only.
    model = _gap_model((20, 20, 1), filters=6, classes=3, padding="same", seed=4)
    x = np.stack([_blob(20, 3, 4), _blob(20, 9, 12), _blob(20, 12, 2), 1 - _blob(20, 6, 6)])
    before = ck.grad_cam(model, x)
    rng = np.random.default_rng(11)
    for variable in model.get_layer(layer).weights:
        variable.assign(rng.standard_normal(variable.shape).astype(np.float32))
    after = ck.grad_cam(model, x)
    difference = np.abs(after - before).mean(axis=(1, 2))
    assert np.all(difference > 0.05), difference


def _as_functional(sequential):
    inputs = keras.Input(sequential.input_shape[1:])
    h = inputs
    for layer in sequential.layers:
        h = layer.__class__.from_config(layer.get_config())(h)
    model = keras.Model(inputs, h)
    model.set_weights(sequential.get_weights())
    return model


def test_sequential_functional_and_nested_models_give_the_same_map():
    sequential = _gap_model((10, 10, 1), filters=4, classes=3, activation="softmax", seed=2)
    x = _images((4, 10, 10, 1), seed=5)
    expected = ck.grad_cam(sequential, x)
    assert np.all(ck.grad_cam(sequential, x, upsample=False).max(axis=(1, 2)) == 1)

    functional = _as_functional(sequential)
    np.testing.assert_allclose(ck.grad_cam(functional, x), expected, atol=1e-6)

    # Keras 3: a Sequential model without keras.Input, built by calling it, has no model.output
    called = keras.Sequential([layer.__class__.from_config(layer.get_config()) for layer in sequential.layers])
    called(x[:1])
    called.set_weights(sequential.get_weights())
    np.testing.assert_allclose(ck.grad_cam(called, x), expected, atol=1e-6)

    # a frozen "pretrained" base inside a Sequential, the transfer-learning layout
    base_input = keras.Input((10, 10, 1))
    base = keras.Model(base_input, keras.layers.Conv2D(4, 3, activation="relu", name="inner")(base_input))
    base.trainable = False
    nested = keras.Sequential([keras.Input((10, 10, 1)), base, keras.layers.GlobalAveragePooling2D(),
                               keras.layers.Dense(3, activation="softmax")])
    nested.set_weights(sequential.get_weights())
    np.testing.assert_allclose(ck.grad_cam(nested, x), expected, atol=1e-6)
    np.testing.assert_allclose(ck.grad_cam(nested, x, layer_name=base.name), expected, atol=1e-6)


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = keras.layers.Conv2D(4, 3, activation="relu", name="conv")
        self.gap = keras.layers.GlobalAveragePooling2D()
        self.dense = keras.layers.Dense(3, name="dense")

    def call(self, inputs):
        return self.dense(self.gap(self.conv(inputs)))


def test_subclassed_model_needs_a_layer_name():
    sequential = _gap_model((10, 10, 1), filters=4, classes=3, seed=2)
    x = _images((3, 10, 10, 1), seed=5)
    subclassed = _Subclassed()
    subclassed(x[:1])
    subclassed.set_weights(sequential.get_weights())
    with pytest.raises(ValueError, match=r"find_last_conv_layer: .* does not record its layers' output shapes"):
        ck.find_last_conv_layer(subclassed)
    np.testing.assert_allclose(ck.grad_cam(subclassed, x, layer_name="conv"), ck.grad_cam(sequential, x), atol=1e-6)


def test_layer_name_picks_an_earlier_layer():
    model = _deep_functional()
    x = _images((2, 12, 12, 1))
    assert ck.grad_cam(model, x, layer_name="conv1", upsample=False).shape == (2, 10, 10)
    assert ck.grad_cam(model, x, layer_name="pool1", upsample=False).shape == (2, 5, 5)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"images": np.ones((28, 28))}, ValueError,
         r"grad_cam: images must be 4-D \(N, H, W, C\); received a 2-D array of shape \(28, 28\)"),
        ({"images": np.ones((9, 9, 2))}, ValueError, r"received a 3-D array .*pass images\[None\]"),
        ({"images": np.ones((0, 9, 9, 2))}, ValueError, r"grad_cam: images is empty"),
        ({"images": np.array([["a"]])}, TypeError, r"grad_cam: images must be a numeric array"),
        ({"layer_name": "nope"}, ValueError, r"grad_cam: layer_name 'nope' is not a layer of model .*; its layers are"),
        ({"layer_name": 3}, TypeError, r"grad_cam: layer_name must be a str"),
        ({"layer_name": "gap"}, ValueError, r"grad_cam: layer 'gap' outputs shape \(2, 3\); Grad-CAM needs 4-D"),
        ({"class_index": 4}, ValueError, r"grad_cam: class_index must lie in 0..3 .*received 4"),
        ({"class_index": -1}, ValueError, r"class_index must lie in 0..3"),
        ({"class_index": np.array([0, 1, 2])}, ValueError, r"class_index must hold one class per image \(2\); received 3"),
        ({"class_index": 1.5}, TypeError, r"grad_cam: class_index must be None, an int or a 1-D int array"),
        ({"upsample": "yes"}, TypeError, r"grad_cam: upsample must be True or False"),
    ],
)
def test_grad_cam_bad_inputs(kwargs, error, match):
    arguments = {"images": _images((2, 9, 9, 2))} | kwargs
    with pytest.raises(error, match=match):
        ck.grad_cam(_gap_model(), arguments.pop("images"), **arguments)


def test_grad_cam_bad_models():
    x = _images((2, 9, 9, 2))
    with pytest.raises(TypeError, match=r"grad_cam: model must be a keras.Model .*received Conv2D"):
        ck.grad_cam(keras.layers.Conv2D(2, 3), x)
    with pytest.raises(ValueError, match=r"grad_cam: model .* has not been built"):
        ck.grad_cam(keras.Sequential([keras.layers.Conv2D(2, 3), keras.layers.GlobalAveragePooling2D()]), x)
    image_output = keras.Sequential([keras.Input((9, 9, 2)), keras.layers.Conv2D(2, 3, name="conv")])
    with pytest.raises(ValueError, match=r"grad_cam: the model must output class scores of shape \(N, classes\)"):
        ck.grad_cam(image_output, x)


# ----------------------------------------------------------------------------------------------
# occlusion
# ----------------------------------------------------------------------------------------------
def _pixel_sum_model(size=4):
    model = keras.Sequential([keras.Input((size, size, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    return model


def test_occlusion_hand_checked_example():
    # The model outputs the pixel sum; one bright pixel at (1, 1). A 2x2 patch moved by 1 covers
    # pixel (i, j) from rows {i-1, i} and columns {j-1, j}; it hides the bright pixel when its
    # top-left corner lies in rows {0, 1} and columns {0, 1}. The share per axis:
    # row 0 -> 1/1, row 1 -> 2/2, row 2 -> 1/2, row 3 -> 0/1, so heat = outer(share, share).
    image = np.zeros((1, 4, 4, 1), np.float32)
    image[0, 1, 1, 0] = 1.0
    share = np.array([1.0, 1.0, 0.5, 0.0])
    heat = ck.occlusion_map(_pixel_sum_model(), image, patch_size=2, stride=1)
    np.testing.assert_allclose(heat[0], np.outer(share, share))
    # non-overlapping patches: only the top-left block hides the pixel
    blocks = ck.occlusion_map(_pixel_sum_model(), image, patch_size=2, stride=2)
    np.testing.assert_allclose(blocks[0], np.kron([[1, 0], [0, 0]], np.ones((2, 2))))


def test_occlusion_fill_value():
    # On a black image a white patch of 2x2 raises the pixel sum by 4 wherever it goes.
    heat = ck.occlusion_map(_pixel_sum_model(), np.zeros((1, 4, 4, 1)), patch_size=2, stride=1, fill=1.0)
    np.testing.assert_allclose(heat, -4.0)


def test_occlusion_covers_the_last_rows_when_the_stride_does_not_fit():
    # 5 pixels, patch 2, stride 2: positions 0, 2 and a last one at 3, so row 4 is covered too.
    # Bright pixel at (4, 4): only the patch at 3 hides it; row 3 is covered by the patches at
    # 2 and 3 (share 1/2), row 4 by the one at 3 alone (share 1).
    image = np.zeros((1, 5, 5, 1), np.float32)
    image[0, 4, 4, 0] = 1.0
    heat = ck.occlusion_map(_pixel_sum_model(5), image, patch_size=2, stride=2)
    share = np.array([0.0, 0.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(heat[0], np.outer(share, share))


def _loop_occlusion(model, images, patch, stride, fill, classes):
    """Slow oracle: one patch at a time."""
    n, height, width, _ = images.shape
    starts_h = sorted(set(range(0, height - patch + 1, stride)) | {height - patch})
    starts_w = sorted(set(range(0, width - patch + 1, stride)) | {width - patch})
    total = np.zeros((n, height, width))
    count = np.zeros((n, height, width))
    clean = model(images).numpy()
    for i in starts_h:
        for j in starts_w:
            covered = images.copy()
            covered[:, i:i + patch, j:j + patch, :] = fill
            drop = clean[np.arange(n), classes] - model(covered).numpy()[np.arange(n), classes]
            total[:, i:i + patch, j:j + patch] += drop[:, None, None]
            count[:, i:i + patch, j:j + patch] += 1
    return total / count


@pytest.mark.parametrize("patch,stride,fill,batch_size", [(3, 1, 0.0, 256), (4, 3, 0.5, 7), (2, 2, 1.0, 1)])
def test_occlusion_matches_a_loop_over_patches(patch, stride, fill, batch_size):
    model = _gap_model((10, 10, 1), filters=4, classes=3, activation="softmax", seed=2)
    x = _images((3, 10, 10, 1), seed=8)
    predicted = model(x).numpy().argmax(axis=1)
    heat = ck.occlusion_map(model, x, patch_size=patch, stride=stride, fill=fill, batch_size=batch_size)
    expected = _loop_occlusion(model, x, patch, stride, fill, predicted)
    np.testing.assert_allclose(heat, expected, rtol=1e-5, atol=1e-6)
    chosen = np.array([2, 0, 1])
    heat = ck.occlusion_map(model, x, patch_size=patch, stride=stride, fill=fill, class_index=chosen)
    np.testing.assert_allclose(heat, _loop_occlusion(model, x, patch, stride, fill, chosen), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"patch_size": 5}, ValueError, r"occlusion_map: a 5x5 patch does not fit into 4x4 images"),
        ({"patch_size": 0}, ValueError, r"occlusion_map: patch_size must be >= 1"),
        ({"stride": (1, 0)}, ValueError, r"occlusion_map: stride\[1\] must be >= 1"),
        ({"batch_size": 0}, ValueError, r"occlusion_map: batch_size must be >= 1"),
        ({"fill": "black"}, TypeError, r"occlusion_map: fill must be a number"),
        ({"class_index": 1}, ValueError, r"occlusion_map: class_index must lie in 0..0"),
    ],
)
def test_occlusion_bad_inputs(kwargs, error, match):
    with pytest.raises(error, match=match):
        ck.occlusion_map(_pixel_sum_model(), np.zeros((1, 4, 4, 1)), **kwargs)


# ----------------------------------------------------------------------------------------------
# planted shortcut and heatmap mass
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "corner,rows,cols",
    [("top-left", (1, 4), (1, 4)), ("top-right", (1, 4), (6, 9)),
     ("bottom-left", (8, 11), (1, 4)), ("bottom-right", (8, 11), (6, 9))],
)
def test_stamp_mark_corners(corner, rows, cols):
    images = np.zeros((2, 12, 10, 3), np.float32)
    stamped, mask = ck.stamp_mark(images, corner=corner, value=0.7)
    expected = np.zeros((12, 10), bool)
    expected[rows[0]:rows[1], cols[0]:cols[1]] = True
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_allclose(stamped[:, expected, :], 0.7)
    np.testing.assert_array_equal(stamped[:, ~expected, :], 0)
    np.testing.assert_array_equal(images, 0)  # the input is not changed


def test_stamp_mark_size_and_margin():
    stamped, mask = ck.stamp_mark(np.zeros((1, 8, 8, 1), np.uint8), mark_size=2, margin=0)
    assert mask.sum() == 4 and mask[0, 0] and mask[1, 1] and not mask[2, 2]
    assert stamped.dtype == np.float32 and stamped[0, 0, 0, 0] == 1.0


def test_plant_shortcut_marks_only_the_target_class():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 0.5, (40, 8, 8, 1)).astype(np.float32)
    labels = np.arange(40) % 4
    marked, mask = ck.plant_shortcut(images, labels, target_class=2, corner="bottom-right")
    has_mark = np.all(marked[:, mask, 0] == 1.0, axis=1)
    np.testing.assert_array_equal(has_mark, labels == 2)
    np.testing.assert_array_equal(marked[:, ~mask], images[:, ~mask])
    np.testing.assert_array_equal(marked[labels != 2], images[labels != 2])
    assert not np.any(images == 1.0)


def test_plant_shortcut_fraction_and_seed():
    images = np.zeros((100, 8, 8, 1), np.float32)
    labels = np.repeat(np.arange(5), 20)
    marked, mask = ck.plant_shortcut(images, labels, target_class=1, fraction=0.25, seed=3)
    has_mark = marked[:, mask, 0].all(axis=1)
    assert has_mark.sum() == 5 and np.all(labels[has_mark] == 1)
    again, _ = ck.plant_shortcut(images, labels, target_class=1, fraction=0.25, seed=3)
    other, _ = ck.plant_shortcut(images, labels, target_class=1, fraction=0.25, seed=4)
    np.testing.assert_array_equal(marked, again)
    assert not np.array_equal(marked, other)
    none, _ = ck.plant_shortcut(images, labels, target_class=1, fraction=0.0)
    np.testing.assert_array_equal(none, images)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"target_class": 7}, ValueError, r"plant_shortcut: no image has label target_class=7; labels present: \[0, 1\]"),
        ({"target_class": 1, "fraction": 1.5}, ValueError, r"plant_shortcut: fraction must be a number in \[0, 1\]"),
        ({"target_class": "1"}, TypeError, r"plant_shortcut: target_class must be an int"),
        ({"target_class": 1, "corner": "middle"}, ValueError, r"plant_shortcut: corner must be one of"),
        ({"target_class": 1, "mark_size": 8}, ValueError, r"plant_shortcut: a 8x8 mark 1 pixel\(s\) from the corner does not fit"),
        (
            {"target_class": 1, "labels": np.zeros(3, int)},
            ValueError,
            r"plant_shortcut: labels must hold one label per image \(4\); received 3",
        ),
        ({"target_class": 1, "labels": np.zeros(4)}, TypeError, r"plant_shortcut: labels must be a 1-D int array"),
        ({"target_class": 1, "value": None}, TypeError, r"plant_shortcut: value must be a number"),
    ],
)
def test_plant_shortcut_bad_inputs(kwargs, error, match):
    arguments = {"labels": np.array([0, 1, 0, 1])} | kwargs
    with pytest.raises(error, match=match):
        ck.plant_shortcut(np.zeros((4, 8, 8, 1)), arguments.pop("labels"), **arguments)


def test_heatmap_mass():
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    heat = np.stack([np.ones((4, 4)), mask * 0.3, np.zeros((4, 4)), np.eye(4)])
    np.testing.assert_allclose(ck.heatmap_mass(heat, mask), [4 / 16, 1.0, 0.0, 2 / 4])
    per_image = np.stack([mask, ~mask, mask, mask]).astype(int)
    np.testing.assert_allclose(ck.heatmap_mass(heat, per_image), [4 / 16, 0.0, 0.0, 2 / 4])


def test_heatmap_mass_border_widens_the_mask():
    mask = np.zeros((6, 6), bool)
    mask[0, 1] = True  # at the edge: the widened zone is clipped there
    mask[3, 3] = True
    ones = np.ones((1, 6, 6))
    # border 1: rows 0-1 x cols 0-2 (6 pixels) and rows 2-4 x cols 2-4 (9), overlapping in none
    np.testing.assert_allclose(ck.heatmap_mass(ones, mask, border=1), [15 / 36])
    np.testing.assert_allclose(ck.heatmap_mass(ones, mask, border=0), [2 / 36])
    np.testing.assert_allclose(ck.heatmap_mass(ones, mask, border=5), [1.0])
    # a spot just outside the mark counts only with a border
    heat = np.zeros((1, 6, 6))
    heat[0, 4, 4] = 1.0
    assert ck.heatmap_mass(heat, mask)[0] == 0.0 and ck.heatmap_mass(heat, mask, border=1)[0] == 1.0
    with pytest.raises(ValueError, match=r"heatmap_mass: border must be >= 0; received -1"):
        ck.heatmap_mass(ones, mask, border=-1)


@pytest.mark.parametrize(
    "heat,mask,match",
    [
        (np.ones((4, 4)), np.ones((4, 4), bool), r"heatmap_mass: heatmaps must be 3-D \(N, H, W\)"),
        (-np.ones((1, 4, 4)), np.ones((4, 4), bool), r"heatmap_mass: heatmaps must be finite and non-negative"),
        (np.full((1, 4, 4), np.nan), np.ones((4, 4), bool), r"must be finite and non-negative"),
        (np.ones((1, 4, 4)), np.ones((3, 4), bool), r"heatmap_mass: mask must have shape \(H, W\) = \(4, 4\)"),
        (np.ones((1, 4, 4)), np.full((4, 4), 2), r"heatmap_mass: mask must be boolean"),
    ],
)
def test_heatmap_mass_bad_inputs(heat, mask, match):
    with pytest.raises(ValueError, match=match):
        ck.heatmap_mass(heat, mask)


def test_no_conv_layer_error_names_the_layer_choices():
    mlp = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(name="flat"), keras.layers.Dense(2, name="out")])
    with pytest.raises(ValueError, match=r"find_last_conv_layer: .*layer_name must name a layer with a 4-D output.*"
                                         r"flat \(None, 64\), out \(None, 2\)"):
        ck.grad_cam(mlp, np.zeros((1, 8, 8, 1)))


# ----------------------------------------------------------------------------------------------
# the pretrained ImageNet network (functional, softmax layer, 150 layers)
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    import os

    old = os.environ.get("CNNKIT_CACHE")
    os.environ["CNNKIT_CACHE"] = str(tmp_path_factory.mktemp("cnnkit-cache"))
    try:
        model = ck.load_pretrained("mobilenet_v2", input_size=160)
    finally:
        if old is None:
            del os.environ["CNNKIT_CACHE"]
        else:
            os.environ["CNNKIT_CACHE"] = old
    return model, ck.load_photos(["chelsea"], size=160)


def test_grad_cam_on_the_pretrained_network_matches_a_tape(imagenet):
    model, cat = imagenet
    assert ck.find_last_conv_layer(model) == "features_18_relu6"
    egyptian_cat = ck.imagenet_classes().index("Egyptian cat")
    heat = ck.grad_cam(model, cat, upsample=False)
    assert heat.shape == (1, 5, 5)
    probe = keras.Model(model.inputs, [model.get_layer("features_18_relu6").output, model.get_layer("logits").output])
    with tf.GradientTape() as tape:
        maps, logits = probe(cat)
        score = logits[:, egyptian_cat]
    weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2))
    expected = _normalised(np.maximum(np.einsum("nijc,nc->nij", maps.numpy(), weights.numpy()), 0))
    np.testing.assert_allclose(heat, expected, atol=1e-5)
    assert ck.grad_cam(model, cat).shape == (1, 160, 160)


def test_the_heatmap_depends_on_the_class_asked_about(imagenet):
    model, cat = imagenet
    names = ck.imagenet_classes()
    cat_map = ck.grad_cam(model, cat, class_index=names.index("Egyptian cat"), upsample=False)
    other = ck.grad_cam(model, cat, class_index=names.index("plastic bag"), upsample=False)
    assert np.corrcoef(cat_map.ravel(), other.ravel())[0, 1] < 0.9


def test_occlusion_and_overlay_on_the_pretrained_network(imagenet):
    import matplotlib.pyplot as plt

    model, cat = imagenet
    heat = ck.occlusion_map(model, cat, patch_size=40, stride=40, fill=0.5, batch_size=4)
    assert heat.shape == (1, 160, 160) and np.isfinite(heat).all()
    # the same drop by hand for the top-left patch
    covered = cat.copy()
    covered[:, :40, :40] = 0.5
    k = int(np.argmax(model(cat)))
    np.testing.assert_allclose(heat[0, 0, 0], float(model(cat)[0, k] - model(covered)[0, k]), atol=1e-5)
    figure = ck.plot_heatmap_overlay(cat[0], ck.grad_cam(model, cat)[0])
    assert len(figure.axes[0].images) == 2
    plt.close(figure)

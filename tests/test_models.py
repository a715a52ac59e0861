"""Tests for cnnkit.models: parameter counts derived by hand, every switch changes the model."""

import cnnkit as ck

ck.setup(seed=0)

import keras  # noqa: E402  (after setup, so TensorFlow starts quietly)
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnkit import models  # noqa: E402


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def weight_count(model, names):
    return sum(model.get_layer(name).count_params() for name in names)


# --------------------------------------------------------------------------- build_mlp


@pytest.mark.parametrize("hidden_units", [(), (128,), (64, 32)])
def test_mlp_parameters_by_hand(hidden_units):
    model = models.build_mlp(hidden_units=hidden_units, num_classes=7)
    widths = [28 * 28 * 1, *hidden_units, 7]
    expected = sum(ck.dense_params(a, b) for a, b in zip(widths[:-1], widths[1:]))
    assert model.count_params() == expected
    assert model.output_shape == (None, 7)


def test_mlp_activation_and_dropout_change_the_model():
    plain = models.build_mlp(hidden_units=(16, 8))
    assert "Dropout" not in layer_types(plain)
    assert plain.get_layer("dense1").activation is keras.activations.relu
    changed = models.build_mlp(hidden_units=(16, 8), dropout=0.3, activation="tanh")
    assert [layer.rate for layer in changed.layers if isinstance(layer, keras.layers.Dropout)] == [0.3, 0.3]
    assert changed.get_layer("dense1").activation is keras.activations.tanh
    np.testing.assert_allclose(np.sum(plain(np.zeros((2, 28, 28, 1))), axis=1), 1.0, rtol=1e-6)


# --------------------------------------------------------------------------- build_mnist_convnet


def test_mnist_convnet_has_34826_parameters():
    model = models.build_mnist_convnet()
    # 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5
    size = ck.conv_output_size(ck.conv_output_size(28, 3) // 2, 3) // 2
    by_hand = ck.conv2d_params(3, 1, 32) + ck.conv2d_params(3, 32, 64) + ck.dense_params(size * size * 64, 10)
    assert model.count_params() == by_hand == 34_826
    assert layer_types(model) == [
        "InputLayer", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense",
    ]
    assert model.get_layer("dropout").rate == 0.5


def test_mnist_convnet_settings():
    model = models.build_mnist_convnet((32, 32, 3), filters=(8,), num_classes=4, dropout=0.0)
    assert "Dropout" not in layer_types(model)
    assert model.output_shape == (None, 4)
    assert model.count_params() == ck.conv2d_params(3, 3, 8) + ck.dense_params(15 * 15 * 8, 4)


# --------------------------------------------------------------------------- build_no_pooling_convnet


def test_no_pooling_convnet_matches_deck_002():
    model = models.build_no_pooling_convnet()
    counts = [model.get_layer(f"conv{i}").count_params() for i in (1, 2, 3)]
    assert counts == [320, 18_496, 36_928]
    assert counts == [ck.conv2d_params(3, 1, 32), ck.conv2d_params(3, 32, 64), ck.conv2d_params(3, 64, 64)]
    assert model.count_params() == 55_744
    assert model.output_shape == (None, 22, 22, 64)


def test_no_pooling_convnet_head_explodes():
    model = models.build_no_pooling_convnet(with_head=True, num_classes=10)
    assert model.get_layer("flatten").output.shape == (None, 22 * 22 * 64)
    assert model.get_layer("dense").count_params() == ck.dense_params(30_976, 64) == 1_982_528
    assert model.count_params() == 55_744 + 1_982_528 + ck.dense_params(64, 10)
    # The deck's "15 million parameters" is a 512-unit dense layer on the same 30,976 features.
    wide = models.build_no_pooling_convnet(with_head=True, dense_units=512)
    assert wide.get_layer("dense").count_params() == ck.dense_params(30_976, 512) == 15_860_224


# --------------------------------------------------------------------------- build_lenet5


@pytest.mark.parametrize("num_classes", [10, 26])
def test_lenet5_parameters_by_hand(num_classes):
    model = models.build_lenet5(num_classes=num_classes)
    size = ck.conv_output_size(28, 5, padding="same") // 2  # conv1 keeps 28, pool1 halves
    size = ck.conv_output_size(size, 5) // 2  # 14 -conv5-> 10 -pool-> 5
    by_hand = (
        ck.conv2d_params(5, 1, 6)
        + ck.conv2d_params(5, 6, 16)
        + ck.dense_params(size * size * 16, 120)
        + ck.dense_params(120, 84)
        + ck.dense_params(84, num_classes)
    )
    assert model.count_params() == by_hand
    assert model.get_layer("flatten").output.shape == (None, 400)


def test_lenet5_standard_count_is_the_documented_one():
    # 61,706 is stated in the docstring; the by-hand derivation above guards its arithmetic.
    assert models.build_lenet5().count_params() == 61_706


@pytest.mark.parametrize(("pooling", "layer_type"), [("avg", "AveragePooling2D"), ("max", "MaxPooling2D")])
def test_lenet5_pooling_and_activation(pooling, layer_type):
    model = models.build_lenet5(pooling=pooling, activation="relu")
    assert type(model.get_layer("pool1")).__name__ == layer_type
    assert model.get_layer("conv1").activation is keras.activations.relu
    assert models.build_lenet5().get_layer("conv1").activation is keras.activations.tanh


# --------------------------------------------------------------------------- build_alexnet


@pytest.fixture(scope="module")
def alexnet():
    return models.build_alexnet()


def test_alexnet_parameters_by_hand(alexnet):
    size = ck.conv_output_size(227, 11, stride=4, padding="same")  # 57
    size = ck.conv_output_size(size, 2, stride=2, exact=False)  # 28
    size = ck.conv_output_size(size, 3, stride=2, exact=False)  # 13
    size = ck.conv_output_size(size, 2, stride=2, padding="same")  # 7
    convs = [(11, 1, 96), (5, 96, 256), (3, 256, 384), (1, 384, 384), (3, 384, 256)]
    conv_total = sum(ck.conv2d_params(k, c, f) for k, c, f in convs)
    norm_total = sum(4 * f for _, _, f in convs)  # gamma, beta, moving mean, moving variance
    widths = [size * size * 256, 4096, 4096, 1000, 10]
    dense_total = sum(ck.dense_params(a, b) for a, b in zip(widths[:-1], widths[1:]))
    assert alexnet.count_params() == conv_total + norm_total + dense_total
    non_trainable = sum(int(np.prod(w.shape)) for w in alexnet.non_trainable_weights)
    assert non_trainable == sum(2 * f for _, _, f in convs)
    assert alexnet.get_layer("flatten").output.shape == (None, 12_544)
    assert alexnet.output_shape == (None, 10)


def test_alexnet_follows_deck_004(alexnet):
    conv1 = alexnet.get_layer("conv1")
    assert (conv1.filters, conv1.kernel_size, conv1.strides, conv1.padding) == (96, (11, 11), (4, 4), "same")
    kernel_sizes = [alexnet.get_layer(f"conv{i}").kernel_size for i in range(2, 6)]
    assert kernel_sizes == [(5, 5), (3, 3), (1, 1), (3, 3)]
    assert alexnet.get_layer("pool2").pool_size == (3, 3)
    assert alexnet.get_layer("pool3").padding == "same"
    assert layer_types(alexnet).count("BatchNormalization") == 5
    assert [layer.rate for layer in alexnet.layers if isinstance(layer, keras.layers.Dropout)] == [0.4] * 3


# --------------------------------------------------------------------------- make_augmentation


@pytest.mark.parametrize(
    ("setting", "layer_type"),
    [
        ("rotation", "RandomRotation"),
        ("translation", "RandomTranslation"),
        ("zoom", "RandomZoom"),
        ("contrast", "RandomContrast"),
        ("brightness", "RandomBrightness"),
    ],
)
def test_each_augmentation_setting_adds_its_layer_and_changes_training_images(setting, layer_type):
    augment = models.make_augmentation(**{setting: 0.3})
    assert layer_types(augment) == [layer_type]
    images = np.random.default_rng(0).random((4, 12, 12, 1)).astype("float32")
    trained = np.asarray(augment(images, training=True))
    assert not np.allclose(trained, images)
    np.testing.assert_array_equal(np.asarray(augment(images, training=False)), images)
    np.testing.assert_array_equal(np.asarray(augment(images)), images)  # a plain call is inference
    # value_range (0, 1) keeps the pixels in range (Keras assumes 0..255 unless told).
    assert trained.min() >= 0.0 and trained.max() <= 1.0 + 1e-6


def test_augmentation_order_seed_and_no_op():
    augment = models.make_augmentation(brightness=0.1, rotation=0.1, zoom=0.1)
    assert layer_types(augment) == ["RandomRotation", "RandomZoom", "RandomBrightness"]
    assert [layer.seed for layer in augment.layers] == [0, 1, 2]
    images = np.random.default_rng(1).random((3, 10, 10, 1)).astype("float32")
    first = models.make_augmentation(rotation=0.2, seed=5)(images, training=True)
    again = models.make_augmentation(rotation=0.2, seed=5)(images, training=True)
    other = models.make_augmentation(rotation=0.2, seed=6)(images, training=True)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
    assert not np.allclose(np.asarray(first), np.asarray(other))
    nothing = models.make_augmentation()
    assert layer_types(nothing) == ["Identity"]
    np.testing.assert_array_equal(np.asarray(nothing(images, training=True)), images)


# --------------------------------------------------------------------------- build_regularized_convnet


def test_regularized_convnet_plain_parameters_by_hand():
    model = models.build_regularized_convnet()
    size = 28 // 2 // 2  # "same" convs keep the size, each pool halves it
    by_hand = (
        ck.conv2d_params(3, 1, 32)
        + ck.conv2d_params(3, 32, 64)
        + ck.dense_params(size * size * 64, 64)
        + ck.dense_params(64, 10)
    )
    assert model.count_params() == by_hand
    assert model.losses == []
    switched_off = {"Dropout", "BatchNormalization", "_TrainingOnlySequential", "GlobalAveragePooling2D"}
    assert not switched_off & set(layer_types(model))


@pytest.mark.parametrize(("l1", "l2"), [(0.0, 1e-3), (1e-4, 0.0), (1e-4, 1e-3)])
def test_regularized_convnet_penalty_is_in_losses(l1, l2):
    model = models.build_regularized_convnet(l1=l1, l2=l2)
    kernels = [model.get_layer(name).kernel.numpy() for name in ("conv1", "conv2", "dense", "output")]
    expected = sum(l1 * np.abs(k).sum() + l2 * np.square(k).sum() for k in kernels)
    assert len(model.losses) == 4
    np.testing.assert_allclose(float(sum(np.asarray(loss) for loss in model.losses)), expected, rtol=1e-5)


def test_regularized_convnet_dropout_is_active_only_in_training():
    model = models.build_regularized_convnet(dropout=0.5)
    assert model.get_layer("dropout").rate == 0.5
    images = np.random.default_rng(2).random((4, 28, 28, 1)).astype("float32")
    np.testing.assert_array_equal(np.asarray(model(images)), np.asarray(model(images, training=False)))
    assert not np.allclose(np.asarray(model(images, training=True)), np.asarray(model(images)))


def test_regularized_convnet_batch_norm():
    model = models.build_regularized_convnet(batch_norm=True)
    assert layer_types(model).count("BatchNormalization") == 2
    assert layer_types(model).index("BatchNormalization") == layer_types(model).index("Conv2D") + 1
    assert not model.get_layer("conv1").use_bias  # the normalisation's shift takes its place
    plain = models.build_regularized_convnet()
    # Each conv loses F biases; each BN adds 4F numbers (2F trained).
    assert model.count_params() == plain.count_params() - (32 + 64) + 4 * (32 + 64)
    assert model.get_layer("bn1").momentum == 0.99   # Keras' default unless told
    quick = models.build_regularized_convnet(batch_norm=True, bn_momentum=0.9)
    assert quick.get_layer("bn1").momentum == quick.get_layer("bn2").momentum == 0.9


def test_regularized_convnet_global_pooling_replaces_flatten_and_shrinks():
    plain = models.build_regularized_convnet()
    pooled = models.build_regularized_convnet(global_pooling=True)
    assert "GlobalAveragePooling2D" in layer_types(pooled) and "Flatten" not in layer_types(pooled)
    assert pooled.get_layer("dense").count_params() == ck.dense_params(64, 64)
    saved = ck.dense_params(7 * 7 * 64, 64) - ck.dense_params(64, 64)
    assert plain.count_params() - pooled.count_params() == saved


def test_regularized_convnet_augmentation_is_active_only_in_training():
    model = models.build_regularized_convnet(augmentation={"rotation": 0.1, "zoom": 0.1}, dense_units=None)
    augment = model.get_layer("augmentation")
    assert layer_types(augment) == ["RandomRotation", "RandomZoom"]
    assert "dense" not in [layer.name for layer in model.layers]
    images = np.random.default_rng(3).random((4, 28, 28, 1)).astype("float32")
    np.testing.assert_array_equal(np.asarray(augment(images)), images)
    evaluated = np.asarray(model(images, training=False))
    np.testing.assert_array_equal(evaluated, np.asarray(model(images)))
    np.testing.assert_array_equal(evaluated, model.predict(images, verbose=0))
    assert not np.allclose(np.asarray(model(images, training=True)), evaluated)


# --------------------------------------------------------------------------- compile_classifier


def test_compile_classifier_uses_adam_and_cross_entropy():
    model = models.compile_classifier(models.build_mlp(hidden_units=(8,)), learning_rate=0.01)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.01, rtol=1e-6)
    rng = np.random.default_rng(4)
    images = rng.random((16, 28, 28, 1)).astype("float32")
    labels = rng.integers(0, 10, 16)
    probabilities = np.asarray(model.predict(images, verbose=0), dtype=np.float64)
    loss, accuracy = model.evaluate(images, labels, batch_size=16, verbose=0)
    np.testing.assert_allclose(loss, -np.mean(np.log(probabilities[np.arange(16), labels])), rtol=1e-5)
    np.testing.assert_allclose(accuracy, np.mean(probabilities.argmax(axis=1) == labels))


# --------------------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    ("builder", "kwargs", "error", "message"),
    [
        (models.build_mlp, {"input_shape": (28, 28)}, ValueError,
         r"build_mlp: input_shape must be a 3-tuple"),
        (models.build_mlp, {"input_shape": (28, 0, 1)}, ValueError,
         r"build_mlp: input_shape width must be >= 1"),
        (models.build_mlp, {"num_classes": 1}, ValueError,
         r"build_mlp: num_classes must be >= 2; received 1"),
        (models.build_mlp, {"dropout": 1.0}, ValueError,
         r"build_mlp: dropout must be in \[0, 1\); received 1.0"),
        (models.build_mlp, {"hidden_units": 128}, TypeError,
         r"build_mlp: hidden_units must be a tuple"),
        (models.build_mlp, {"activation": "relux"}, ValueError,
         r"build_mlp: activation 'relux' is not"),
        (models.build_mnist_convnet, {"filters": ()}, ValueError,
         r"build_mnist_convnet: filters must hold"),
        (models.build_mnist_convnet, {"filters": (32, 64, 128, 256)}, ValueError,
         r"too small for this model: conv4"),
        (models.build_mnist_convnet, {"dropout": -0.1}, ValueError, r"dropout must be in \[0, 1\)"),
        (models.build_no_pooling_convnet, {"with_head": 1}, TypeError,
         r"with_head must be True or False"),
        (models.build_no_pooling_convnet, {"input_shape": (6, 6, 1)}, ValueError,
         r"conv3 \(3x3\) does not fit"),
        (models.build_lenet5, {"pooling": "min"}, ValueError,
         r"build_lenet5: pooling must be 'avg' or 'max'"),
        (models.build_lenet5, {"input_shape": (8, 8, 1)}, ValueError,
         r"build_lenet5: input_shape \(8, 8, 1\) is too small"),
        (models.build_alexnet, {"input_shape": (16, 16, 1)}, ValueError,
         r"build_alexnet: .* pool2 \(3x3\)"),
        (models.build_regularized_convnet, {"l2": -1.0}, ValueError,
         r"l2 must be a finite number >= 0"),
        (models.build_regularized_convnet, {"l1": "big"}, TypeError, r"l1 must be a number"),
        (models.build_regularized_convnet, {"batch_norm": "yes"}, TypeError,
         r"batch_norm must be True or False"),
        (models.build_regularized_convnet, {"bn_momentum": 1.0}, ValueError,
         r"build_regularized_convnet: bn_momentum must be in \(0, 1\); received 1.0"),
        (models.build_regularized_convnet, {"bn_momentum": "fast"}, TypeError,
         r"build_regularized_convnet: bn_momentum must be a number"),
        (models.build_regularized_convnet, {"dense_units": 0}, ValueError,
         r"dense_units must be >= 1"),
        (models.build_regularized_convnet, {"augmentation": 0.1}, TypeError,
         r"augmentation must be None or a dict"),
        (models.build_regularized_convnet, {"augmentation": {"rotate": 0.1}}, ValueError,
         r"unknown setting\(s\) \['rotate'\]"),
        (models.build_regularized_convnet, {"filters": (8,) * 6}, ValueError,
         r"too small for this model: pool5"),
        (models.make_augmentation, {"rotation": 1.5}, ValueError,
         r"make_augmentation: rotation must be in \[0, 1\)"),
        (models.make_augmentation, {"seed": -1}, ValueError,
         r"make_augmentation: seed must be >= 0"),
        (models.make_augmentation, {"value_range": (1, 0)}, ValueError,
         r"value_range must have low < high"),
    ],
)
def test_bad_settings_are_refused(builder, kwargs, error, message):
    with pytest.raises(error, match=message):
        builder(**kwargs)


def test_compile_classifier_refuses_bad_input():
    with pytest.raises(TypeError, match=r"compile_classifier: model must be a keras.Model; received str"):
        models.compile_classifier("model")
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number > 0; received 0"):
        models.compile_classifier(models.build_mlp(), learning_rate=0)


def test_all_names_are_exported_by_the_package():
    for name in models.__all__:
        assert getattr(ck, name) is getattr(models, name)

"""Tests for cnnkit.architectures: block shapes and parameters by hand, multiply-adds against hand
counts, parameter counts against Keras, totals against the published figures."""

import cnnkit as ck

ck.setup(seed=0)

import keras  # noqa: E402  (after setup, so TensorFlow starts quietly)
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnkit import architectures as arch  # noqa: E402


def model_of(block, shape, **kwargs):
    inputs = keras.Input(shape)
    return keras.Model(inputs, block(inputs, **kwargs))


def names(model):
    return [layer.name for layer in model.layers[1:]]


# --------------------------------------------------------------------------- blocks


@pytest.mark.parametrize("num_convs", [1, 3])
def test_vgg_block_by_hand(num_convs):
    model = model_of(arch.vgg_block, (12, 10, 3), filters=8, num_convs=num_convs, name="b")
    assert model.output_shape == (None, 6, 5, 8)
    assert model.count_params() == ck.conv2d_params(3, 3, 8) + (num_convs - 1) * ck.conv2d_params(3, 8, 8)
    assert names(model) == [f"b_conv{i}" for i in range(1, num_convs + 1)] + ["b_pool"]


def test_residual_block_adds_its_input():
    model = model_of(arch.residual_block, (6, 6, 4), filters=4, batch_norm=False)
    plain = model_of(arch.residual_block, (6, 6, 4), filters=4, batch_norm=False, residual=False)
    assert model.count_params() == plain.count_params() == 2 * ck.conv2d_params(3, 4, 4)
    assert "block_add" in names(model) and "block_add" not in names(plain)
    # with the convolutions' weights zeroed the residual block is relu(x), the plain one relu(0)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 4)).astype("float32")
    np.testing.assert_allclose(model(x), np.maximum(x, 0), atol=1e-6)


def test_residual_block_projects_when_the_shape_changes():
    model = model_of(arch.residual_block, (8, 8, 4), filters=6, stride=2)
    assert model.output_shape == (None, 4, 4, 6)
    assert "block_project" in names(model) and "block_project_bn" in names(model)
    convs = ck.conv2d_params(3, 4, 6, use_bias=False) + ck.conv2d_params(3, 6, 6, use_bias=False)
    assert model.count_params() == convs + ck.conv2d_params(1, 4, 6, use_bias=False) + 3 * 4 * 6


def test_depthwise_separable_block_by_hand():
    model = model_of(arch.depthwise_separable_block, (9, 9, 5), filters=7, stride=2, batch_norm=False)
    assert model.output_shape == (None, 5, 5, 7)
    assert model.count_params() == (9 * 5 + 5) + (5 * 7 + 7)
    with_bn = model_of(arch.depthwise_separable_block, (9, 9, 5), filters=7)
    assert with_bn.count_params() == 9 * 5 + 5 * 7 + 4 * 5 + 4 * 7


def test_plain_and_residual_networks_differ_only_in_the_additions():
    plain = arch.build_residual_network(num_blocks=2, filters=4, residual=False)
    skip = arch.build_residual_network(num_blocks=2, filters=4, num_classes=3, batch_norm=True)
    assert plain.name == "plain_net" and skip.name == "residual_net"
    assert [n for n in names(skip) if "add" not in n and "bn" not in n] == [n for n in names(plain)]
    assert skip.output_shape == (None, 3)
    flat = arch.build_residual_network(num_blocks=1, pool_size=4, head="flatten")
    assert flat.get_layer("block1_conv1").output.shape == (None, 7, 7, 16)
    assert flat.get_layer("output").count_params() == ck.dense_params(7 * 7 * 16, 10)
    assert plain.count_params() == ck.conv2d_params(3, 1, 4) + 4 * ck.conv2d_params(3, 4, 4) + ck.dense_params(4, 10)


# --------------------------------------------------------------------------- layer_costs


def test_costs_of_every_layer_kind_by_hand():
    inputs = keras.Input((10, 10, 3))
    x = keras.layers.Conv2D(8, 3, name="conv")(inputs)                                   # 8x8x8
    x = keras.layers.Conv2D(8, 3, groups=2, padding="same", name="grouped")(x)           # 8x8x8
    x = keras.layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same", name="dw")(x)  # 4x4x16
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.SeparableConv2D(5, 3, name="sep")(x)                                # 2x2x5
    x = keras.layers.Conv2DTranspose(4, 2, strides=2, use_bias=False, name="up")(x)      # 4x4x4
    x = keras.layers.Dense(6, name="per_pixel")(x)                                       # 4x4x6
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(2, name="out")(x)
    model = keras.Model(inputs, x)
    by_hand = {
        "conv": (9 * 3 * 8 + 8, 8 * 8 * 8 * 9 * 3),
        "grouped": (9 * 4 * 8 + 8, 8 * 8 * 8 * 9 * 4),
        "dw": (9 * 16 + 16, 4 * 4 * 16 * 9),
        "bn": (4 * 16, 0),
        "sep": (9 * 16 + 16 * 5 + 5, 2 * 2 * 16 * 9 + 2 * 2 * 5 * 16),
        "up": (2 * 2 * 5 * 4, 2 * 2 * 5 * 2 * 2 * 4),
        "per_pixel": (4 * 6 + 6, 4 * 4 * 4 * 6),
        "gap": (0, 0),
        "out": (6 * 2 + 2, 6 * 2),
    }
    costs = arch.layer_costs(model)
    assert {cost.name: (cost.params, cost.multiply_adds) for cost in costs} == by_hand
    assert all(cost.params == model.get_layer(cost.name).count_params() for cost in costs)
    assert costs[0] == arch.LayerCost("conv", "Conv2D", (8, 8, 8), 224, 13_824)


def test_costs_of_statistics_layers_match_keras():
    inputs = keras.Input((4, 4, 3))
    x = keras.layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.1, 0.2, 0.3], name="norm")(inputs)
    x = keras.layers.Normalization(axis=-1, name="adapted")(x)
    model = keras.Model(inputs, keras.layers.BatchNormalization(center=False, name="bn")(x))
    model.get_layer("adapted").adapt(np.zeros((2, 4, 4, 3), "float32"))
    for cost in arch.layer_costs(model):
        assert cost.params == model.get_layer(cost.name).count_params() and cost.multiply_adds == 0, cost
    assert [c.params for c in arch.layer_costs(model)][-1] == 3 * 3


def test_costs_reach_inside_nested_models():
    inner = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, name="c")], name="inner")
    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, keras.layers.Flatten(name="f")(inner(inputs)))
    assert [(c.name, c.multiply_adds) for c in arch.layer_costs(model)] == [("inner/c", 4 * 4 * 3 * 18), ("f", 0)]


@pytest.mark.parametrize(
    "build, params, giga_macs",
    [
        # published: MobileNetV2 3.4 M parameters, 300 M multiply-adds (Sandler et al. 2018, table 8,
        # its 1000-class head); ResNet-50 3.8-4.1 G (He et al. 2015 table 1: 3.8 x 10^9 FLOPs)
        (lambda: keras.applications.MobileNetV2(weights=None), 3_538_984, 0.30),
        (lambda: keras.applications.ResNet50(weights=None), 25_636_712, 3.86),
    ],
    ids=["mobilenet_v2", "resnet50"],
)
def test_costs_of_keras_applications_match_keras_and_the_papers(build, params, giga_macs):
    model = build()
    costs = arch.layer_costs(model)
    assert sum(c.params for c in costs) == model.count_params() == params
    for cost in costs:
        assert cost.params == model.get_layer(cost.name).count_params(), cost
    assert sum(c.multiply_adds for c in costs) / 1e9 == pytest.approx(giga_macs, rel=0.01)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: arch.vgg_block(np.zeros((1, 8, 8, 1)), filters=4), TypeError,
         r"vgg_block: inputs must be a 4-D Keras tensor .* received ndarray"),
        (lambda: arch.vgg_block(keras.Input((8,)), filters=4), TypeError, r"received a 2-D Keras tensor"),
        (lambda: arch.vgg_block(keras.Input((1, 8, 1)), filters=4), ValueError, r"vgg_block: inputs must be at least 2x2"),
        (lambda: arch.vgg_block(keras.Input((8, 8, 1)), filters=0), ValueError, r"vgg_block: filters must be >= 1"),
        (lambda: arch.vgg_block(keras.Input((8, 8, 1)), filters=4, num_convs=1.0), TypeError, r"num_convs must be an int"),
        (lambda: arch.vgg_block(keras.Input((8, 8, 1)), filters=4, name=""), TypeError, r"name must be a non-empty"),
        (lambda: arch.residual_block(keras.Input((8, 8, 1)), filters=4, stride=0), ValueError, r"residual_block: stride"),
        (lambda: arch.residual_block(keras.Input((8, 8, 1)), filters=4, residual=1), TypeError,
         r"residual_block: residual must be True or False"),
        (lambda: arch.depthwise_separable_block(keras.Input((8, 8, 1)), filters="4"), TypeError,
         r"depthwise_separable_block: filters must be an int"),
        (lambda: arch.depthwise_separable_block(keras.Input((8, 8, 1)), filters=4, batch_norm=None), TypeError,
         r"batch_norm must be True or False"),
        (lambda: arch.build_residual_network(num_blocks=0), ValueError, r"build_residual_network: num_blocks must be >= 1"),
        (lambda: arch.build_residual_network((1, 1, 1)), ValueError, r"input_shape must be at least 2x2"),
        (lambda: arch.build_residual_network((3, 3, 1), pool_size=4), ValueError, r"at least 4x4 for the pooling \(pool_size=4\)"),
        (lambda: arch.build_residual_network(pool_size=0), ValueError, r"pool_size must be >= 1"),
        (lambda: arch.build_residual_network(head="dense"), ValueError, r"head must be 'gap' or 'flatten'; received 'dense'"),
        (lambda: arch.build_residual_network((28, 28)), ValueError, r"input_shape must be a 3-tuple"),
        (lambda: arch.build_residual_network(num_classes=1), ValueError, r"num_classes must be >= 2"),
        (lambda: arch.layer_costs("model"), TypeError, r"layer_costs: model must be a keras.Model; received str"),
        (lambda: arch.layer_costs(keras.Sequential([keras.layers.Dense(2)])), ValueError, r"layer_costs: model must be built"),
        (lambda: arch.layer_costs(keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(2, 3)])), ValueError,
         r"layer_costs: layer 'conv2d.*' has an open shape \(None, None, 1\)"),
        (lambda: arch.layer_costs(keras.Sequential([keras.Input((4,)), keras.layers.LayerNormalization(name="ln")])),
         ValueError, r"layer 'ln' of kind LayerNormalization has weights but is not in the table"),
    ],
)
def test_bad_input_is_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_names_are_exported_by_the_package():
    for name in arch.__all__:
        assert getattr(ck, name) is getattr(arch, name)

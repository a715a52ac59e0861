"""cnnkit: the helper package of cnn-course.

Importing cnnkit changes nothing global and does not import TensorFlow: the numpy teaching ops
load at once, the Keras-based helpers (models, plots, Grad-CAM, widgets, data, device detection)
load on first use. A notebook starts with::

    import cnnkit as ck
    ck.setup(seed=0)   # seeds, quiet TensorFlow logs, plot style
"""

from __future__ import annotations

import importlib

from cnnkit.conv import conv2d, conv2d_loop
from cnnkit.env import import_tensorflow, setup
from cnnkit.pool import avg_pool2d, max_pool2d
from cnnkit.sizes import conv2d_params, conv_output_size, dense_params

__version__ = "0.1.0"

# Public names of the submodules that load on first use (cnnkit.NAME -> module). A table rather
# than a search, so that ck.plot_images does not import TensorFlow through cnnkit.models; a test
# checks it against every module's __all__.
_LAZY_NAMES = {
    "cnnkit.architectures": (
        "LayerCost", "build_residual_network", "depthwise_separable_block", "layer_costs", "residual_block",
        "vgg_block",
    ),
    "cnnkit.canvas": ("box_iou", "make_localization_canvases", "make_segmentation_canvases", "mask_iou"),
    "cnnkit.data": ("MnistData", "PHOTOS", "load_digits_8x8", "load_mnist", "load_photo"),
    "cnnkit.device": ("DeviceInfo", "detect_device", "get_strategy"),
    "cnnkit.models": (
        "build_alexnet", "build_lenet5", "build_mlp", "build_mnist_convnet",
        "build_no_pooling_convnet", "build_regularized_convnet", "compile_classifier",
        "make_augmentation",
    ),
    "cnnkit.gradcheck": ("numerical_gradient", "weight_sensitivity"),
    "cnnkit.plots": (
        "confusion_matrix", "plot_activations", "plot_confusion_matrix", "plot_feature_maps",
        "plot_filters", "plot_heatmap_overlay", "plot_history", "plot_images",
    ),
    "cnnkit.interpret": (
        "find_last_conv_layer", "grad_cam", "heatmap_mass", "occlusion_map", "plant_shortcut",
        "stamp_mark",
    ),
    "cnnkit.photos": ("RGB_PHOTOS", "TEXTURES", "center_crop", "load_photos", "load_rgb_photo", "texture_patches"),
    "cnnkit.pretrained": (
        "CONVERSION_VERSION", "KERAS_FAMILIES", "PRETRAINED", "classify", "imagenet_classes",
        "load_pretrained", "top_classes",
    ),
    "cnnkit.widgets": ("ConvExplorer", "KERNELS", "PoolExplorer", "conv_explorer", "pool_explorer"),
}
_MODULE_OF = {name: module for module, names in _LAZY_NAMES.items() for name in names}

# Every public name, the lazily loaded ones included (tests/test_api.py checks that this is
# exactly what the package exposes, and calls each function with bad input).
__all__ = [
    "avg_pool2d",
    "conv2d",
    "conv2d_loop",
    "conv2d_params",
    "conv_output_size",
    "dense_params",
    "import_tensorflow",
    "max_pool2d",
    "setup",
]
__all__ += sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'cnnkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_MODULE_OF))

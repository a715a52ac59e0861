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

# Submodules whose public names (their __all__) are reachable as cnnkit.NAME, loaded on first use.
_LAZY_MODULES = (
    "cnnkit.data",
    "cnnkit.device",
    "cnnkit.models",
    "cnnkit.gradcheck",
    "cnnkit.plots",
    "cnnkit.interpret",
    "cnnkit.widgets",
)

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


def _lazy_names() -> dict[str, str]:
    names = {}
    for module_name in _LAZY_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:  # a module not written yet
                continue
            raise
        for name in getattr(module, "__all__", ()):
            names[name] = module_name
    return names


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(f"module 'cnnkit' has no attribute {name!r}")
    for module_name in _LAZY_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue
            raise
        if name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'cnnkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_lazy_names()))

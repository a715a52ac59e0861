"""Where does a CNN look? Heatmaps for Keras image classifiers, and a planted shortcut to test them.

Two ways to draw a heatmap over an input image ``(H, W)``:

- :func:`occlusion_map` (sensitivity to image zones): cover a patch with a grey/black square and
  measure how much the predicted class probability drops. Patches, not single pixels: changing one
  pixel makes an image no real camera would take, and the network barely reacts to it.
- :func:`grad_cam` (Selvaraju et al., 2017): the last convolutional layer still works with images,
  ``h x w`` maps of ``C`` channels, each cell summarising a patch of the input. Weight each channel
  by how much the class score grows when that channel grows (the spatial mean of the gradient)::

      alpha[n, c] = mean_{i, j} d score[n, k_n] / d A[n, i, j, c]
      cam[n, i, j] = ReLU( sum_c alpha[n, c] * A[n, i, j, c] ),  then divided by its maximum

  and stretch the ``h x w`` map to the input size.

:func:`plant_shortcut` and :func:`stamp_mark` stamp a small bright square into images (the "weed
under every dog" of a biased data set); :func:`heatmap_mass` measures how much of a heatmap falls
on it.

Which layer is "last convolutional"? :func:`find_last_conv_layer` returns the last layer whose
output is 4-D ``(N, h, w, C)``, i.e. the last one that still outputs images. It walks the layers of
nested models too (a pretrained base inside a ``Sequential`` counts), in the order they run.
"""

from __future__ import annotations

import contextlib
import numbers

import keras
import numpy as np
import tensorflow as tf

from cnnkit._checks import flag, int_pair, numeric_array, positive_int

__all__ = [
    "find_last_conv_layer",
    "grad_cam",
    "heatmap_mass",
    "occlusion_map",
    "plant_shortcut",
    "stamp_mark",
]

_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


# ----------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------
def _check_model(func: str, model) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"{func}: model must be a keras.Model (Sequential or functional); "
            f"received {type(model).__name__}"
        )
    if not model.built:
        raise ValueError(
            f"{func}: model {model.name!r} has not been built, so it has no weights yet; start it "
            f"with keras.Input(shape) or call it once on a batch (or train it) first"
        )


def _images_array(func: str, images, *, name: str = "images") -> np.ndarray:
    array = numeric_array(func, name, images)
    if array.ndim != 4:
        hint = "; for one image pass images[None]" if array.ndim == 3 else ""
        raise ValueError(
            f"{func}: {name} must be 4-D (N, H, W, C); received a {array.ndim}-D array of "
            f"shape {array.shape}{hint}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{func}: {name} is empty (shape {array.shape}); pass at least one image")
    return array


def _class_indices(func: str, class_index, num_images: int, num_classes: int, scores) -> np.ndarray:
    """Return one class per image: the most active one when ``class_index`` is None."""
    if class_index is None:
        return np.argmax(np.asarray(scores), axis=1)
    if isinstance(class_index, (numbers.Integral, np.integer)) and not isinstance(class_index, bool):
        indices = np.full(num_images, int(class_index))
    else:
        indices = np.asarray(class_index)
        if indices.dtype.kind not in "iu" or indices.ndim != 1:
            raise TypeError(
                f"{func}: class_index must be None, an int or a 1-D int array with one class per "
                f"image; received {type(class_index).__name__} with dtype "
                f"{getattr(indices, 'dtype', None)} and shape {np.shape(indices)}"
            )
        if indices.shape[0] != num_images:
            raise ValueError(
                f"{func}: class_index must hold one class per image ({num_images}); received "
                f"{indices.shape[0]}"
            )
    bad = (indices < 0) | (indices >= num_classes)
    if bad.any():
        raise ValueError(
            f"{func}: class_index must lie in 0..{num_classes - 1} (the model has {num_classes} "
            f"outputs); received {indices[bad][0]}"
        )
    return indices.astype(np.int64)


def _check_scores(func: str, scores) -> None:
    if len(scores.shape) != 2:
        raise ValueError(
            f"{func}: the model must output class scores of shape (N, classes); its output has "
            f"shape {tuple(scores.shape)}"
        )


# ----------------------------------------------------------------------------------------------
# walking the layers
# ----------------------------------------------------------------------------------------------
def _is_model(layer) -> bool:
    return isinstance(layer, keras.Model)


def _walk_layers(model):
    """Every layer of ``model`` in the order ``model.layers`` lists them (the order they run for a
    single-input model); a nested model comes first, then its own layers."""
    for layer in model.layers:
        yield layer
        if _is_model(layer):
            yield from _walk_layers(layer)


def _output_rank(layer) -> int | None:
    """Rank of the layer's symbolic output, or None where Keras does not know it (a layer never
    placed in a graph, a shared layer with several outputs, a subclassed model)."""
    try:
        output = layer.output
    except (AttributeError, ValueError, RuntimeError):
        return None
    shape = getattr(output, "shape", None)
    return None if shape is None else len(shape)


def _output_shape(layer) -> tuple | None:
    try:
        return tuple(layer.output.shape)
    except (AttributeError, ValueError, RuntimeError):
        return None


def _find_layer(func: str, model, name: str):
    if not isinstance(name, str):
        raise TypeError(f"{func}: layer_name must be a str; received {type(name).__name__}")
    for layer in _walk_layers(model):
        if layer.name == name:
            return layer
    names = [layer.name for layer in _walk_layers(model)]
    raise ValueError(
        f"{func}: layer_name {name!r} is not a layer of model {model.name!r}; its layers are {names}"
    )


def find_last_conv_layer(model) -> str:
    """Name of the last layer of ``model`` whose output is 4-D ``(N, h, w, C)``.

    That is the last layer that still outputs images ("the last convolutional layer" of
    Grad-CAM): usually a ``Conv2D``, or the pooling / activation / batch-norm layer right after
    it. Layers inside nested models are searched too, so for ``Sequential([base, pooling, dense])``
    the answer is the last 4-D layer inside ``base`` (or ``base`` itself when its own output is
    the 4-D one, which gives the same maps). Input layers are skipped.

    Parameters
    ----------
    model : keras.Model
        A built ``Sequential`` or functional model (subclassed models do not record their
        layers' output shapes: pass ``layer_name`` to :func:`grad_cam` for those).

    Returns
    -------
    str
        The layer name, usable as ``model.get_layer(name)`` (for a top-level layer) and as
        ``layer_name`` in :func:`grad_cam`.

    Raises
    ------
    TypeError
        If ``model`` is not a ``keras.Model``.
    ValueError
        If the model is not built, no layer outputs a 4-D tensor (a plain MLP), or the layers'
        output shapes are unknown (a subclassed model).

    Examples
    --------
    >>> model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, name="conv"),
    ...                           keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
    >>> find_last_conv_layer(model)
    'conv'
    """
    func = "find_last_conv_layer"
    _check_model(func, model)
    last, shapes_known = None, False
    for layer in _walk_layers(model):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        rank = _output_rank(layer)
        shapes_known = shapes_known or rank is not None
        if rank == 4:
            last = layer.name
    if not shapes_known:
        raise ValueError(
            f"{func}: model {model.name!r} does not record its layers' output shapes (a "
            f"subclassed model?); name the layer yourself, e.g. grad_cam(..., layer_name=...)"
        )
    if last is None:
        layers = ", ".join(f"{layer.name} {_output_shape(layer)}" for layer in _walk_layers(model)
                           if not isinstance(layer, keras.layers.InputLayer))
        raise ValueError(
            f"{func}: model {model.name!r} has no layer with a 4-D output (N, h, w, C), so there "
            f"is no convolutional feature map to explain; Grad-CAM needs a convolutional network, "
            f"and layer_name must name a layer with a 4-D output. This model's layers and output "
            f"shapes: {layers}"
        )
    return last


def _final_layer(model):
    """The layer that produces ``model``'s output (descending into a nested model that does)."""
    if isinstance(model, keras.Sequential):
        final = model.layers[-1] if model.layers else None
    else:
        try:
            outputs = model.outputs
        except (AttributeError, ValueError):
            return None
        if not outputs or len(outputs) != 1:
            return None
        history = getattr(outputs[0], "_keras_history", None)
        final = history[0] if history else None
    if final is not None and _is_model(final):
        return _final_layer(final)
    return final


@contextlib.contextmanager
def _capture_output(layer, captured: list):
    """Record every output of ``layer`` while the block runs.

    Why not ``keras.Model(model.inputs, layer.output)`` as the keras-io example does: that fails
    for a Sequential model in Keras 3 (``model.output`` is undefined unless the model was called)
    and for a layer inside a nested model (its ``output`` lives in the inner graph). Recording the
    output during an ordinary eager forward pass works for all of them, and the tensor recorded
    is the one the rest of the network consumed, so the tape can differentiate with respect to it.
    """
    had_own_call = "call" in layer.__dict__
    original = layer.call

    def recording_call(*args, **kwargs):
        output = original(*args, **kwargs)
        captured.append(output)
        return output

    layer.call = recording_call
    try:
        yield
    finally:
        if had_own_call:
            layer.call = original
        else:
            del layer.call


@contextlib.contextmanager
def _logits_instead_of_softmax(model):
    """Let the model output pre-softmax scores while the block runs.

    Grad-CAM differentiates the class score before the softmax: the gradient of a probability
    near 1 vanishes (and mixes in every other class), that of the score does not.
    """
    final = _final_layer(model)
    if final is None:
        yield
        return
    if isinstance(final, keras.layers.Softmax):
        had_own_call = "call" in final.__dict__
        original = final.call
        final.call = lambda inputs, *args, **kwargs: inputs
        try:
            yield
        finally:
            if had_own_call:
                final.call = original
            else:
                del final.call
        return
    activation = getattr(final, "activation", None)
    if activation is not None and getattr(activation, "__name__", "") == "softmax":
        final.activation = keras.activations.linear
        try:
            yield
        finally:
            final.activation = activation
        return
    yield


# ----------------------------------------------------------------------------------------------
# Grad-CAM
# ----------------------------------------------------------------------------------------------
def grad_cam(model, images, *, class_index=None, layer_name: str | None = None,
             upsample: bool = True) -> np.ndarray:
    """Grad-CAM heatmaps: which zones of each image raise the score of a class.

    Steps, for each image ``n`` of the batch:

    1. forward pass, keeping the maps ``A[n]`` of shape ``(h, w, C)`` of the last convolutional
       layer and the class scores (before the softmax, when the model ends in one);
    2. the class ``k_n``: the most active output, or ``class_index``;
    3. the gradient ``G[n] = d score[n, k_n] / d A[n]``, shape ``(h, w, C)``;
    4. channel weights ``alpha[n, c] = mean_{i, j} G[n, i, j, c]`` and the weighted sum
       ``sum_c alpha[n, c] * A[n, :, :, c]``;
    5. ReLU (keep what raises the score), then divide by the maximum, so the map lies in
       ``[0, 1]`` (a map that is zero everywhere stays zero);
    6. bilinear resize to the input size ``(H, W)`` (unless ``upsample=False``).

    Parameters
    ----------
    model : keras.Model
        A built classifier (``Sequential``, functional, or with a nested base model) whose output
        has shape ``(N, classes)``. It is used as it is; nothing is changed after the call.
    images : ndarray of shape (N, H, W, C)
        A batch of images as the model expects them (for one image pass ``image[None]``).
    class_index : None, int or ndarray of shape (N,), default None
        The class to explain; None takes the most active class of each image.
    layer_name : str, optional
        The layer whose maps are used (it may sit inside a nested model); default
        :func:`find_last_conv_layer`. Its output must be 4-D ``(N, h, w, C)``.
    upsample : bool, default True
        Resize the maps to the input size ``(H, W)``; False keeps the layer's ``(h, w)``.

    Returns
    -------
    ndarray of shape (N, H, W), or (N, h, w) when ``upsample=False``, float32 in [0, 1]

    Raises
    ------
    TypeError
        If ``model`` is not a ``keras.Model``, or ``images`` / ``class_index`` / ``layer_name``
        has the wrong type.
    ValueError
        If the model is not built or has no 4-D layer, ``images`` is not a non-empty 4-D batch,
        ``layer_name`` is unknown or not 4-D, the model's output is not ``(N, classes)``, or a
        class index is out of range.

    Examples
    --------
    >>> model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, name="conv"),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, activation="softmax")])
    >>> x_test = np.random.default_rng(0).random((8, 28, 28, 1))
    >>> grad_cam(model, x_test[:8]).shape            # each map in [0, 1]
    (8, 28, 28)
    >>> grad_cam(model, x_test[:8], class_index=3, upsample=False).shape   # the conv layer's 26x26
    (8, 26, 26)
    """
    func = "grad_cam"
    _check_model(func, model)
    images = _images_array(func, images)
    upsample = flag(func, "upsample", upsample)
    if layer_name is None:
        layer_name = find_last_conv_layer(model)
    layer = _find_layer(func, model, layer_name)

    inputs = tf.convert_to_tensor(images, dtype=tf.float32)
    captured: list = []
    with _capture_output(layer, captured), _logits_instead_of_softmax(model):
        with tf.GradientTape() as tape:
            # Watching the input records every op, also inside frozen (non-trainable) layers.
            tape.watch(inputs)
            scores = model(inputs, training=False)
            if not captured:
                raise ValueError(
                    f"{func}: layer {layer_name!r} did not run when the model was called, so it "
                    f"has no feature maps for these images"
                )
            maps = captured[-1]
            if len(maps.shape) != 4:
                raise ValueError(
                    f"{func}: layer {layer_name!r} outputs shape {tuple(maps.shape)}; Grad-CAM "
                    f"needs 4-D feature maps (N, h, w, C), e.g. a Conv2D layer"
                )
            _check_scores(func, scores)
            classes = _class_indices(func, class_index, images.shape[0], scores.shape[1], scores)
            chosen = tf.gather(scores, classes, axis=1, batch_dims=1)
    # Each image's score depends on its own maps only, so one gradient of the sum serves all.
    gradients = tape.gradient(chosen, maps)
    if gradients is None:
        raise ValueError(
            f"{func}: the class score does not depend on layer {layer_name!r}; choose a layer "
            f"on the path from the input to the output"
        )
    weights = tf.reduce_mean(gradients, axis=(1, 2))  # (N, C)
    cam = tf.nn.relu(tf.einsum("nijc,nc->nij", maps, weights)).numpy().astype(np.float32)
    peaks = cam.max(axis=(1, 2), keepdims=True)
    cam = np.divide(cam, peaks, out=np.zeros_like(cam), where=peaks > 0)
    height, width = images.shape[1:3]
    if upsample and cam.shape[1:] != (height, width):
        cam = tf.image.resize(cam[..., np.newaxis], (height, width), method="bilinear")
        cam = np.clip(cam.numpy()[..., 0], 0.0, 1.0)
    return cam.astype(np.float32)


# ----------------------------------------------------------------------------------------------
# occlusion
# ----------------------------------------------------------------------------------------------
def _patch_starts(size: int, patch: int, stride: int) -> list[int]:
    """Patch positions along one axis; one more at the end so that every pixel is covered."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def occlusion_map(model, images, *, patch_size=4, stride=2, fill: float = 0.0, class_index=None,
                  batch_size: int = 256) -> np.ndarray:
    """Occlusion sensitivity: how much the class probability drops when a patch is covered.

    For every patch position ``p`` (a ``patch_size`` square moved by ``stride``, plus a last
    position flush with the bottom / right edge so that every pixel is covered)::

        drop[n, p] = out[n, k_n](image) - out[n, k_n](image with patch p set to fill)
        heat[n, i, j] = mean of drop[n, p] over the patches p that cover pixel (i, j)

    where ``out`` is the model's output (a probability when the model ends in a softmax) and
    ``k_n`` the predicted class of the clean image, or ``class_index``. Positive: the zone
    supports the class; negative: covering it makes the class more likely.

    Parameters
    ----------
    model : keras.Model
        A built classifier with output of shape ``(N, classes)``.
    images : ndarray of shape (N, H, W, C)
    patch_size : int or (int, int), default 4
        Height and width of the covering square.
    stride : int or (int, int), default 2
        Step between patch positions; smaller than ``patch_size`` gives overlapping patches.
    fill : float, default 0.0
        Value written into the covered pixels (all channels); 0 is the MNIST background.
    class_index : None, int or ndarray of shape (N,), default None
        The class whose probability is watched; None takes the predicted class of each image.
    batch_size : int, default 256
        Occluded images sent to the model at once (memory vs speed).

    Returns
    -------
    ndarray of shape (N, H, W), float32
        The average drop; not normalised (its unit is the model's output, e.g. probability).

    Raises
    ------
    TypeError
        If ``model`` is not a ``keras.Model`` or an argument has the wrong type.
    ValueError
        If ``images`` is not a non-empty 4-D batch, the patch does not fit into the image, the
        model's output is not ``(N, classes)``, or a class index is out of range.

    Examples
    --------
    >>> model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, name="conv"),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, activation="softmax")])
    >>> x_test = np.random.default_rng(0).random((8, 28, 28, 1))
    >>> occlusion_map(model, x_test[:2], patch_size=6, stride=4).shape
    (2, 28, 28)
    """
    func = "occlusion_map"
    _check_model(func, model)
    images = _images_array(func, images).astype(np.float32)
    patch_h, patch_w = int_pair(func, "patch_size", patch_size)
    stride_h, stride_w = int_pair(func, "stride", stride)
    batch_size = positive_int(func, "batch_size", batch_size)
    if isinstance(fill, bool) or not isinstance(fill, numbers.Real):
        raise TypeError(f"{func}: fill must be a number; received {type(fill).__name__} {fill!r}")
    num_images, height, width = images.shape[:3]
    if patch_h > height or patch_w > width:
        raise ValueError(
            f"{func}: a {patch_h}x{patch_w} patch does not fit into {height}x{width} images"
        )

    clean = np.asarray(model(images, training=False))
    _check_scores(func, clean)
    classes = _class_indices(func, class_index, num_images, clean.shape[1], clean)
    positions = [(top, left) for top in _patch_starts(height, patch_h, stride_h)
                 for left in _patch_starts(width, patch_w, stride_w)]

    heat = np.zeros((num_images, height, width), dtype=np.float64)
    counts = np.zeros((height, width), dtype=np.float64)
    for top, left in positions:
        counts[top:top + patch_h, left:left + patch_w] += 1
    for n in range(num_images):
        for start in range(0, len(positions), batch_size):
            chunk = positions[start:start + batch_size]
            covered = np.repeat(images[n:n + 1], len(chunk), axis=0)
            for k, (top, left) in enumerate(chunk):
                covered[k, top:top + patch_h, left:left + patch_w, :] = fill
            probabilities = np.asarray(model(covered, training=False))[:, classes[n]]
            drops = clean[n, classes[n]] - probabilities
            for drop, (top, left) in zip(drops, chunk):
                heat[n, top:top + patch_h, left:left + patch_w] += drop
    return (heat / counts).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# planted shortcut
# ----------------------------------------------------------------------------------------------
def _mark_mask(func: str, height: int, width: int, mark_size, corner: str, margin) -> np.ndarray:
    mark_size = positive_int(func, "mark_size", mark_size)
    margin = positive_int(func, "margin", margin, minimum=0)
    if not isinstance(corner, str) or corner not in _CORNERS:
        raise ValueError(f"{func}: corner must be one of {list(_CORNERS)}; received {corner!r}")
    if mark_size + margin > min(height, width):
        raise ValueError(
            f"{func}: a {mark_size}x{mark_size} mark {margin} pixel(s) from the corner does not "
            f"fit into {height}x{width} images"
        )
    rows = slice(margin, margin + mark_size) if corner.startswith("top") else \
        slice(height - margin - mark_size, height - margin)
    cols = slice(margin, margin + mark_size) if corner.endswith("left") else \
        slice(width - margin - mark_size, width - margin)
    mask = np.zeros((height, width), dtype=bool)
    mask[rows, cols] = True
    return mask


def _check_value(func: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: value must be a number; received {type(value).__name__} {value!r}")
    return float(value)


def stamp_mark(images, *, mark_size: int = 3, corner: str = "top-left", value: float = 1.0,
               margin: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Stamp a bright ``mark_size x mark_size`` square into a corner of every image.

    Parameters
    ----------
    images : ndarray of shape (N, H, W, C)
    mark_size : int, default 3
        Side of the square, in pixels.
    corner : {"top-left", "top-right", "bottom-left", "bottom-right"}, default "top-left"
    value : float, default 1.0
        Value written into the square (all channels); 1.0 is white for images in [0, 1].
    margin : int, default 1
        Pixels between the square and the image border.

    Returns
    -------
    stamped : ndarray of shape (N, H, W, C)
        A copy of ``images`` with the mark (float; the input is not changed).
    mask : ndarray of shape (H, W), bool
        True where the mark is.

    Raises
    ------
    TypeError, ValueError
        If ``images`` is not a 4-D numeric batch, ``corner`` is unknown, or the mark does not fit.

    Examples
    --------
    >>> marked, mask = stamp_mark(np.zeros((10, 28, 28, 1)), corner="bottom-right")
    >>> int(mask.sum())
    9
    """
    func = "stamp_mark"
    images = _images_array(func, images)
    value = _check_value(func, value)
    mask = _mark_mask(func, images.shape[1], images.shape[2], mark_size, corner, margin)
    stamped = images.astype(np.result_type(images.dtype, np.float32), copy=True)
    stamped[:, mask, :] = value
    return stamped, mask


def plant_shortcut(images, labels, *, target_class: int, mark_size: int = 3,
                   corner: str = "top-left", fraction: float = 1.0, value: float = 1.0,
                   seed: int = 0, margin: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Bias a data set: stamp a mark into (a fraction of) the images of one class.

    A model trained on the result can learn "mark -> ``target_class``" instead of the shape of the
    digit, as a network that learned "weed -> dog" from photos where dogs stood on grass.

    Parameters
    ----------
    images : ndarray of shape (N, H, W, C)
    labels : ndarray of shape (N,), int
    target_class : int
        The class whose images get the mark.
    mark_size, corner, value, margin
        The mark, as in :func:`stamp_mark`.
    fraction : float, default 1.0
        Share of the ``target_class`` images that get the mark, in [0, 1] (chosen at random).
    seed : int, default 0
        Seed of that random choice.

    Returns
    -------
    marked : ndarray of shape (N, H, W, C)
        A copy of ``images``; ``round(fraction * count)`` images of ``target_class`` carry the mark.
    mask : ndarray of shape (H, W), bool
        True where the mark is.

    Raises
    ------
    TypeError, ValueError
        If the shapes do not match, ``fraction`` is outside [0, 1], no image has
        ``target_class``, or the mark does not fit.

    Examples
    --------
    >>> x_train, y_train = np.zeros((4, 28, 28, 1)), np.array([7, 1, 7, 2])
    >>> x_biased, mask = plant_shortcut(x_train, y_train, target_class=7)
    >>> [bool(image[mask].all()) for image in x_biased]     # the 7s carry the mark
    [True, False, True, False]
    """
    func = "plant_shortcut"
    images = _images_array(func, images)
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or labels.ndim != 1:
        raise TypeError(
            f"{func}: labels must be a 1-D int array (N,); received dtype {labels.dtype} and "
            f"shape {labels.shape}"
        )
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{func}: labels must hold one label per image ({images.shape[0]}); received "
            f"{labels.shape[0]}"
        )
    if isinstance(target_class, bool) or not isinstance(target_class, (numbers.Integral, np.integer)):
        raise TypeError(
            f"{func}: target_class must be an int; received {type(target_class).__name__} "
            f"{target_class!r}"
        )
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 <= fraction <= 1:
        raise ValueError(f"{func}: fraction must be a number in [0, 1]; received {fraction!r}")
    seed = positive_int(func, "seed", seed, minimum=0)
    candidates = np.flatnonzero(labels == target_class)
    if candidates.size == 0:
        raise ValueError(
            f"{func}: no image has label target_class={target_class}; labels present: "
            f"{sorted(np.unique(labels).tolist())}"
        )
    value = _check_value(func, value)
    mask = _mark_mask(func, images.shape[1], images.shape[2], mark_size, corner, margin)
    count = int(round(fraction * candidates.size))
    chosen = np.sort(np.random.default_rng(seed).choice(candidates, size=count, replace=False))
    marked = images.astype(np.result_type(images.dtype, np.float32), copy=True)
    selected = marked[chosen]
    selected[:, mask, :] = value
    marked[chosen] = selected
    return marked, mask


def _widen(mask: np.ndarray, border: int) -> np.ndarray:
    """Dilate the last two axes of a boolean mask by a (2*border+1) square, one axis at a time."""
    for axis in (-2, -1):
        pad = [(0, 0)] * mask.ndim
        pad[axis] = (border, border)
        windows = np.lib.stride_tricks.sliding_window_view(np.pad(mask, pad), 2 * border + 1, axis=axis)
        mask = windows.any(axis=-1)
    return mask


def heatmap_mass(heatmaps, mask, *, border: int = 0) -> np.ndarray:
    """Share of each heatmap's total mass that lies inside ``mask``::

        mass[n] = sum_{i, j} heat[n, i, j] * mask[i, j] / sum_{i, j} heat[n, i, j]

    (0 for a map that is zero everywhere). For a uniform map it equals the share of pixels in the
    mask, e.g. 9 / 784 = 0.011 for a 3x3 mark on a 28x28 digit.

    A Grad-CAM map is no sharper than one cell of the layer it comes from (a 14x14 layer on a
    28x28 image: 2x2 pixels), so heat caused by a small zone spills over its edge. ``border``
    widens the mask by that many pixels on every side (the zone and its neighbours within
    ``border`` pixels, rows and columns alike) before measuring.

    Parameters
    ----------
    heatmaps : ndarray of shape (N, H, W), non-negative
        E.g. from :func:`grad_cam` (an occlusion map can be negative: pass
        ``np.maximum(heat, 0)``).
    mask : ndarray of shape (H, W) or (N, H, W), bool (or 0 / 1)
        The zone to measure, shared by all maps or one per map.
    border : int, default 0
        Pixels added around the zone on every side (clipped at the image edge).

    Returns
    -------
    ndarray of shape (N,), float64 in [0, 1]

    Raises
    ------
    TypeError, ValueError
        If the shapes do not fit, a heatmap has negative or non-finite values, ``mask`` holds
        values other than 0 / 1, or ``border`` is not an int >= 0.

    Examples
    --------
    >>> _, mask = stamp_mark(np.zeros((1, 28, 28, 1)))      # 3x3 pixels, 1 pixel from the corner
    >>> heat = np.zeros((1, 28, 28))
    >>> heat[0, 1:4, 1:4] = 1.0                              # 9 on the mark
    >>> heat[0, 5, 5] = 3.0                                  # 3 two pixels beside it
    >>> heatmap_mass(heat, mask)
    array([0.75])
    >>> heatmap_mass(heat, mask, border=2)                   # mark and 2 pixels around
    array([1.])
    """
    func = "heatmap_mass"
    border = positive_int(func, "border", border, minimum=0)
    try:
        heat = np.asarray(heatmaps, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{func}: heatmaps must be a numeric array; could not convert ({error})") from None
    if heat.ndim != 3:
        raise ValueError(
            f"{func}: heatmaps must be 3-D (N, H, W); received a {heat.ndim}-D array of shape "
            f"{heat.shape}"
        )
    if not np.all(np.isfinite(heat)):
        raise ValueError(
            f"{func}: heatmaps must be finite and non-negative (a mass); received "
            f"{int((~np.isfinite(heat)).sum())} NaN or infinite value(s)"
        )
    if (heat < 0).any():
        raise ValueError(
            f"{func}: heatmaps must be finite and non-negative (a mass); received values down to "
            f"{heat.min():.3g}; clip with np.maximum(heatmaps, 0)"
        )
    mask = np.asarray(mask)
    if mask.dtype != bool:
        if mask.dtype.kind not in "biuf" or not np.isin(mask, (0, 1)).all():
            raise ValueError(
                f"{func}: mask must be boolean (or hold only 0 and 1); received dtype {mask.dtype}"
            )
        mask = mask.astype(bool)
    if mask.shape not in (heat.shape[1:], heat.shape):
        raise ValueError(
            f"{func}: mask must have shape (H, W) = {heat.shape[1:]} or (N, H, W) = "
            f"{heat.shape}; received {mask.shape}"
        )
    if border:
        mask = _widen(mask, border)
    inside = (heat * mask).sum(axis=(1, 2))
    total = heat.sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)

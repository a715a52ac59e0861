"""Building blocks of the architectures after AlexNet, and a per-layer cost counter.

* :func:`vgg_block`: ``num_convs`` 3x3 convolutions and a 2x2 max-pool (VGG, 2014);
* :func:`residual_block`: two 3x3 convolutions whose input is added to their output (ResNet,
  2015), or the same two convolutions without the addition (``residual=False``);
* :func:`depthwise_separable_block`: a 3x3 depthwise convolution and a 1x1 pointwise one
  (MobileNet, 2017);
* :func:`build_residual_network`: a stem, ``num_blocks`` residual (or plain) blocks, global
  average pooling and a softmax: the same network with and without skip connections;
* :func:`layer_costs`: parameters and multiply-adds of every layer of a Keras model.

The blocks take a Keras tensor and return one (the functional API), so they compose:
``x = vgg_block(x, filters=64, name="block1")``. Images are channels-last ``(N, H, W, C)``.

Multiply-adds (MACs) count one multiplication and one addition as one operation, for one image,
as the papers do ("VGG16: 15.5 G", "MobileNetV2: 300 M"). For an output of ``Ho x Wo x F``:

==================  ====================================  ===========================================
layer               parameters                            multiply-adds
==================  ====================================  ===========================================
Conv2D              ``KH*KW*(C/g)*F + F``                 ``Ho*Wo*F * KH*KW*(C/g)`` (``g`` groups)
DepthwiseConv2D     ``KH*KW*C*M + C*M``                   ``Ho*Wo*C*M * KH*KW`` (``M`` per channel)
SeparableConv2D     ``KH*KW*C*M + C*M*F + F``             depthwise + ``Ho*Wo*F * C*M``
Conv2DTranspose     ``KH*KW*C*F + F``                     ``Hi*Wi*C * KH*KW*F`` (each input scatters)
Dense               ``I*O + O``                           ``I*O`` (times the positions, if any)
BatchNormalization  ``4*C`` (2*C trained, 2*C statistics)  0 (folded into the layer before it)
Normalization       its stored mean, variance and count   0 (folded into the layer after it)
==================  ====================================  ===========================================

Biases, activations, pooling and additions are not counted: they cost one operation per output
number, negligible beside the sums above. Layers without weights have 0 of both.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras

from cnnkit._checks import positive_int
from cnnkit.models import _flag, _input_shape, _name, _num_classes

__all__ = [
    "LayerCost",
    "build_residual_network",
    "depthwise_separable_block",
    "layer_costs",
    "residual_block",
    "vgg_block",
]


class LayerCost(NamedTuple):
    """Cost of one layer of a model, as returned by :func:`layer_costs`.

    Attributes
    ----------
    name : str
        The layer's name (``outer/inner`` for a layer inside a nested model).
    kind : str
        Its class name, e.g. "Conv2D".
    output_shape : tuple
        Its output shape without the batch axis, e.g. ``(28, 28, 32)``.
    params : int
        Numbers it stores (trained and not), by the formula of the module's table.
    multiply_adds : int
        Multiply-adds for one image.
    """

    name: str
    kind: str
    output_shape: tuple
    params: int
    multiply_adds: int


# ---------------------------------------------------------------------------------------------
# Checks (private)
# ---------------------------------------------------------------------------------------------


def _tensor(func: str, value) -> keras.KerasTensor:
    if not isinstance(value, keras.KerasTensor) or len(value.shape) != 4:
        described = f"a {len(value.shape)}-D Keras tensor" if isinstance(value, keras.KerasTensor) else type(value).__name__
        raise TypeError(
            f"{func}: inputs must be a 4-D Keras tensor (N, H, W, C), e.g. keras.Input((28, 28, 1)) "
            f"or a layer's output; received {described}"
        )
    return value


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------


def vgg_block(inputs: keras.KerasTensor, *, filters: int, num_convs: int = 2, name: str = "block") -> keras.KerasTensor:
    """VGG's block: ``num_convs`` 3x3 convolutions (same padding, relu), then 2x2 max-pooling.

    Two stacked 3x3 convolutions see a 5x5 window of their input, three see 7x7, with fewer
    weights than one 5x5 or 7x7 convolution: ``2 * 9 * C^2`` against ``25 * C^2`` for ``C``
    channels in and out (Simonyan and Zisserman, 2014).

    Parameters
    ----------
    inputs : Keras tensor of shape (N, H, W, C)
        Input of the block; ``H`` and ``W`` at least 2.
    filters : int
        ``F``, filters of every convolution.
    num_convs : int, default 2
        Convolutions before the pooling.
    name : str, default "block"
        Prefix of the layers' names: ``{name}_conv1``, ..., ``{name}_pool``.

    Returns
    -------
    Keras tensor of shape (N, H // 2, W // 2, F)

    Raises
    ------
    TypeError
        If ``inputs`` is not a 4-D Keras tensor or a setting has the wrong type.
    ValueError
        If a setting is out of range or the input is smaller than 2x2.

    Examples
    --------
    >>> x = keras.Input((32, 32, 3))
    >>> y = vgg_block(x, filters=64, num_convs=2)
    >>> y.shape, keras.Model(x, y).count_params()   # (27*64 + 64) + (576*64 + 64)
    ((None, 16, 16, 64), 38720)
    """
    func = "vgg_block"
    x = _tensor(func, inputs)
    count = positive_int(func, "filters", filters)
    convs = positive_int(func, "num_convs", num_convs)
    name = _name(func, name)
    if any(size is not None and size < 2 for size in x.shape[1:3]):
        raise ValueError(f"{func}: inputs must be at least 2x2 for the 2x2 pooling; received shape {tuple(x.shape)}")
    for i in range(1, convs + 1):
        x = keras.layers.Conv2D(count, 3, padding="same", activation="relu", name=f"{name}_conv{i}")(x)
    return keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)


def residual_block(
    inputs: keras.KerasTensor,
    *,
    filters: int,
    stride: int = 1,
    residual: bool = True,
    batch_norm: bool = True,
    name: str = "block",
) -> keras.KerasTensor:
    """ResNet's basic block: ``relu(F(x) + x)`` with ``F`` two 3x3 convolutions.

    ``conv 3x3 (stride) -> [BN] -> relu -> conv 3x3 -> [BN] -> add(shortcut) -> relu`` (He, Zhang,
    Ren and Sun, 2015). The shortcut is the input itself when the shapes agree, else a 1x1
    convolution with the block's stride (the "projection" shortcut). With ``residual=False`` the
    block is the same two convolutions without the addition (and without the projection): the
    plain network that the skip connections are compared with.

    Parameters
    ----------
    inputs : Keras tensor of shape (N, H, W, C)
    filters : int
        ``F``, filters of both convolutions.
    stride : int, default 1
        Stride of the first convolution (2 halves the map).
    residual : bool, default True
        Add the shortcut.
    batch_norm : bool, default True
        Batch normalisation after each convolution.
    name : str, default "block"
        Prefix of the layers' names: ``{name}_conv1``, ``{name}_bn1``, ``{name}_add``, ...

    Returns
    -------
    Keras tensor of shape (N, ceil(H / stride), ceil(W / stride), F)

    Raises
    ------
    TypeError
        If ``inputs`` is not a 4-D Keras tensor or a setting has the wrong type.
    ValueError
        If a setting is out of range.

    Examples
    --------
    >>> x = keras.Input((8, 8, 16))
    >>> keras.Model(x, residual_block(x, filters=16, batch_norm=False)).count_params()   # 2 * (144*16 + 16)
    4640
    >>> keras.Model(x, residual_block(x, filters=32, stride=2, batch_norm=False)).output.shape
    (None, 4, 4, 32)
    """
    func = "residual_block"
    x = _tensor(func, inputs)
    count = positive_int(func, "filters", filters)
    step = positive_int(func, "stride", stride)
    skip = _flag(func, "residual", residual)
    norm = _flag(func, "batch_norm", batch_norm)
    name = _name(func, name)

    layers = keras.layers
    y = layers.Conv2D(count, 3, strides=step, padding="same", use_bias=not norm, name=f"{name}_conv1")(x)
    if norm:
        y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(count, 3, padding="same", use_bias=not norm, name=f"{name}_conv2")(y)
    if norm:
        y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    if skip:
        shortcut = x
        if step != 1 or x.shape[-1] != count:
            shortcut = layers.Conv2D(count, 1, strides=step, use_bias=not norm, name=f"{name}_project")(x)
            if norm:
                shortcut = layers.BatchNormalization(name=f"{name}_project_bn")(shortcut)
        y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_relu2")(y)


def depthwise_separable_block(
    inputs: keras.KerasTensor,
    *,
    filters: int,
    stride: int = 1,
    batch_norm: bool = True,
    name: str = "block",
) -> keras.KerasTensor:
    """MobileNet's block: a 3x3 depthwise convolution, then a 1x1 pointwise convolution.

    ``depthwise 3x3 (stride) -> [BN] -> relu -> conv 1x1 (F) -> [BN] -> relu`` (Howard et al.,
    2017). The depthwise layer filters each of the ``C`` input channels on its own (``9 * C``
    weights), the pointwise layer mixes channels (``C * F``): ``9C + CF`` weights where a 3x3
    convolution has ``9CF``, about ``1/F + 1/9`` of them, and the same ratio of multiply-adds.

    Parameters
    ----------
    inputs : Keras tensor of shape (N, H, W, C)
    filters : int
        ``F``, filters of the pointwise convolution.
    stride : int, default 1
        Stride of the depthwise convolution.
    batch_norm : bool, default True
        Batch normalisation after each convolution (the convolutions then have no bias).
    name : str, default "block"
        Prefix of the layers' names: ``{name}_depthwise``, ``{name}_pointwise``, ...

    Returns
    -------
    Keras tensor of shape (N, ceil(H / stride), ceil(W / stride), F)

    Raises
    ------
    TypeError
        If ``inputs`` is not a 4-D Keras tensor or a setting has the wrong type.
    ValueError
        If a setting is out of range.

    Examples
    --------
    >>> x = keras.Input((16, 16, 32))
    >>> keras.Model(x, depthwise_separable_block(x, filters=64, batch_norm=False)).count_params()   # 9*32 + 32 + 32*64 + 64
    2432
    """
    func = "depthwise_separable_block"
    x = _tensor(func, inputs)
    count = positive_int(func, "filters", filters)
    step = positive_int(func, "stride", stride)
    norm = _flag(func, "batch_norm", batch_norm)
    name = _name(func, name)

    layers = keras.layers
    x = layers.DepthwiseConv2D(3, strides=step, padding="same", use_bias=not norm, name=f"{name}_depthwise")(x)
    if norm:
        x = layers.BatchNormalization(name=f"{name}_bn1")(x)
    x = layers.ReLU(name=f"{name}_relu1")(x)
    x = layers.Conv2D(count, 1, use_bias=not norm, name=f"{name}_pointwise")(x)
    if norm:
        x = layers.BatchNormalization(name=f"{name}_bn2")(x)
    return layers.ReLU(name=f"{name}_relu2")(x)


# ---------------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------------


def build_residual_network(
    input_shape=(28, 28, 1),
    *,
    num_blocks: int = 4,
    filters: int = 16,
    residual: bool = True,
    batch_norm: bool = False,
    pool_size: int = 2,
    head: str = "gap",
    num_classes: int = 10,
    name: str | None = None,
) -> keras.Model:
    """A stem, ``num_blocks`` blocks of two 3x3 convolutions, then a softmax classifier.

    ``conv 3x3 (filters, relu) -> max-pool -> num_blocks x residual_block(filters) -> GAP (or
    Flatten) -> Dense softmax``. Every block keeps the width and the map size, so every shortcut is the
    identity: ``residual=True`` and ``residual=False`` build the same layers with the same
    parameter count, and differ only in the additions. Depth in weight layers:
    ``2 * num_blocks + 2``.

    Parameters
    ----------
    input_shape : tuple of 3 ints, default (28, 28, 1)
        ``(H, W, C)`` of one image, at least 2x2.
    num_blocks : int, default 4
        Blocks after the stem.
    filters : int, default 16
        Width of every convolution.
    residual : bool, default True
        Skip connections in every block.
    batch_norm : bool, default False
        Batch normalisation in the blocks. Off by default: without it a deep plain network is
        hard to train, which is what the comparison shows.
    pool_size : int, default 2
        Window and stride of the max-pooling after the stem (4 turns 28x28 into 7x7 maps: a
        quarter of the blocks' work of 2).
    head : {"gap", "flatten"}, default "gap"
        Global average pooling, or Flatten (the classifier then also sees where features are).
    num_classes : int, default 10
    name : str or None, default None
        ``"residual_net"`` or ``"plain_net"`` when None.

    Returns
    -------
    keras.Model
        Input ``(N, H, W, C)``, output ``(N, num_classes)``. Layers ``stem``, ``pool``,
        ``block1_conv1``, ``block1_conv2``, ... ``gap`` (or ``flatten``), ``output``.

    Raises
    ------
    TypeError, ValueError
        If a setting has the wrong type or range.

    Examples
    --------
    >>> plain = build_residual_network(num_blocks=3, residual=False)
    >>> skip = build_residual_network(num_blocks=3, residual=True)
    >>> plain.count_params() == skip.count_params() == 160 + 6 * 2320 + 170
    True
    """
    func = "build_residual_network"
    shape = _input_shape(func, input_shape)
    blocks = positive_int(func, "num_blocks", num_blocks)
    count = positive_int(func, "filters", filters)
    skip = _flag(func, "residual", residual)
    norm = _flag(func, "batch_norm", batch_norm)
    pool = positive_int(func, "pool_size", pool_size)
    if head not in ("gap", "flatten"):
        raise ValueError(f"{func}: head must be 'gap' or 'flatten'; received {head!r}")
    classes = _num_classes(func, num_classes)
    name = ("residual_net" if skip else "plain_net") if name is None else _name(func, name)
    if min(shape[:2]) < pool:
        raise ValueError(
            f"{func}: input_shape must be at least {pool}x{pool} for the pooling (pool_size={pool}); received {tuple(input_shape)}"
        )

    inputs = keras.Input(shape=shape, name="image")
    x = keras.layers.Conv2D(count, 3, padding="same", activation="relu", name="stem")(inputs)
    x = keras.layers.MaxPooling2D(pool, name="pool")(x)
    for i in range(1, blocks + 1):
        x = residual_block(x, filters=count, residual=skip, batch_norm=norm, name=f"block{i}")
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x) if head == "gap" else keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


# ---------------------------------------------------------------------------------------------
# Costs
# ---------------------------------------------------------------------------------------------


def layer_costs(model: keras.Model) -> list[LayerCost]:
    """Parameters and multiply-adds of every layer of a built Keras model, for one image.

    The formulas are those of the module's table; layers inside a nested model (a Sequential
    used as a layer) are listed one by one, named ``outer/inner``. The parameter counts agree
    with Keras' ``layer.count_params()``; the multiply-adds are what Keras does not count.

    Parameters
    ----------
    model : keras.Model
        A built model (functional, or Sequential with an ``Input``); each layer called once.

    Returns
    -------
    list of LayerCost
        One ``(name, kind, output_shape, params, multiply_adds)`` per layer, in order; sum the
        fields for the model's totals.

    Raises
    ------
    TypeError
        If ``model`` is not a keras.Model.
    ValueError
        If the model is not built, a layer with weights is of a kind the table does not cover,
        or a layer's spatial size is unknown (``None``), which multiply-adds need.

    Examples
    --------
    >>> model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3), keras.layers.Flatten(),
    ...                           keras.layers.Dense(10)])
    >>> [(cost.kind, cost.params, cost.multiply_adds) for cost in layer_costs(model)]   # 26*26*32*9, 21632*10
    [('Conv2D', 320, 194688), ('Flatten', 0, 0), ('Dense', 216330, 216320)]
    """
    func = "layer_costs"
    if not isinstance(model, keras.Model):
        raise TypeError(f"{func}: model must be a keras.Model; received {type(model).__name__}")
    if not model.built:
        raise ValueError(f"{func}: model must be built (give it a keras.Input or call it once); {model.name!r} is not")
    return list(_costs(func, model, prefix=""))


def _costs(func: str, model: keras.Model, prefix: str):
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            yield from _costs(func, layer, prefix=f"{prefix}{layer.name}/")
            continue
        yield _layer_cost(func, layer, f"{prefix}{layer.name}")


def _shape(func: str, layer, tensor, *, spatial: bool) -> tuple:
    shape = tuple(tensor.shape[1:])
    if spatial and any(size is None for size in shape):
        raise ValueError(
            f"{func}: layer {layer.name!r} has an open shape {shape}; multiply-adds need a model built for a "
            f"fixed image size"
        )
    return shape


def _layer_cost(func: str, layer, name: str) -> LayerCost:
    kind = type(layer).__name__
    out = _shape(func, layer, layer.output, spatial=False)
    bias = int(getattr(layer, "use_bias", False))
    layers = keras.layers
    if isinstance(layer, layers.SeparableConv2D):
        (kh, kw), channels = layer.kernel_size, _shape(func, layer, layer.input, spatial=True)[-1]
        ho, wo, count = _shape(func, layer, layer.output, spatial=True)
        inner = channels * layer.depth_multiplier
        params = kh * kw * inner + inner * count + bias * count
        macs = ho * wo * inner * kh * kw + ho * wo * count * inner
    elif isinstance(layer, layers.DepthwiseConv2D):
        (kh, kw), channels = layer.kernel_size, _shape(func, layer, layer.input, spatial=True)[-1]
        ho, wo, outputs = _shape(func, layer, layer.output, spatial=True)
        params = kh * kw * outputs + bias * outputs
        macs = ho * wo * outputs * kh * kw
    elif isinstance(layer, layers.Conv2DTranspose):
        (kh, kw) = layer.kernel_size
        hi, wi, channels = _shape(func, layer, layer.input, spatial=True)
        count = layer.filters
        params = kh * kw * channels * count + bias * count
        macs = hi * wi * channels * kh * kw * count
    elif isinstance(layer, layers.Conv2D):
        (kh, kw), channels = layer.kernel_size, _shape(func, layer, layer.input, spatial=True)[-1]
        ho, wo, count = _shape(func, layer, layer.output, spatial=True)
        per_output = kh * kw * channels // layer.groups
        params = per_output * count + bias * count
        macs = ho * wo * count * per_output
    elif isinstance(layer, layers.Dense):
        shape_in = _shape(func, layer, layer.input, spatial=True)
        params = shape_in[-1] * layer.units + bias * layer.units
        macs = math.prod(shape_in[:-1]) * shape_in[-1] * layer.units
    elif isinstance(layer, layers.Normalization):  # stored statistics (mean, variance, count), no multiply-adds
        params = sum(math.prod(weight.shape) for weight in layer.weights)
        macs = 0
    elif isinstance(layer, layers.BatchNormalization):
        channels = _shape(func, layer, layer.input, spatial=False)[layer.axis if layer.axis < 0 else layer.axis - 1]
        params = channels * (2 + int(layer.center) + int(layer.scale))
        macs = 0
    elif layer.weights:
        raise ValueError(
            f"{func}: layer {name!r} of kind {kind} has weights but is not in the table (Conv2D, DepthwiseConv2D, "
            f"SeparableConv2D, Conv2DTranspose, Dense, BatchNormalization)"
        )
    else:
        params = macs = 0
    return LayerCost(name, kind, out, int(params), int(macs))

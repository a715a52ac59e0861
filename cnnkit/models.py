"""Keras models used in the lectures and labs, each built by one function with checked settings.

Every builder returns an uncompiled :class:`keras.Model` whose layers have readable names
(``conv1``, ``pool1``, ``flatten``, ``output``, ...), so a notebook can ask
``model.get_layer("conv1")`` and a test can count parameters layer by layer. Images are
channels-last ``(N, H, W, C)``; every model ends in a softmax over ``num_classes`` classes and
expects integer labels once compiled with :func:`compile_classifier`.

Parameter counts follow ``conv2d_params = KH * KW * C * F + F`` and
``dense_params = I * O + O`` (see :mod:`cnnkit.sizes`); a BatchNormalization layer over ``C``
channels holds ``4 * C`` numbers, of which ``2 * C`` (scale and shift) are trained.
"""

from __future__ import annotations

import keras

from cnnkit._checks import flag as _flag
from cnnkit._checks import keras_model, positive_int, positive_number
from cnnkit._checks import real_number as _real
from cnnkit.sizes import conv_output_size

__all__ = [
    "build_alexnet",
    "build_lenet5",
    "build_mlp",
    "build_mnist_convnet",
    "build_no_pooling_convnet",
    "build_regularized_convnet",
    "compile_classifier",
    "make_augmentation",
]

_AUGMENTATION_SETTINGS = ("rotation", "translation", "zoom", "contrast", "brightness", "seed", "value_range")


# ---------------------------------------------------------------------------------------------
# Checks (private): each message names the function, the argument, what was expected and what
# arrived.
# ---------------------------------------------------------------------------------------------


def _input_shape(func: str, value) -> tuple[int, int, int]:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise ValueError(
            f"{func}: input_shape must be a 3-tuple (height, width, channels) of positive ints, "
            f"channels last, e.g. (28, 28, 1); received {value!r}"
        )
    names = ("height", "width", "channels")
    return tuple(positive_int(func, f"input_shape {name}", v) for name, v in zip(names, value))


def _num_classes(func: str, value) -> int:
    return positive_int(func, "num_classes", value, minimum=2)


def _rate(func: str, name: str, value) -> float:
    """A fraction in [0, 1), e.g. a dropout rate or an augmentation strength."""
    rate = _real(func, name, value)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{func}: {name} must be in [0, 1); received {value!r}")
    return rate


def _non_negative(func: str, name: str, value) -> float:
    number = _real(func, name, value)
    if not number >= 0.0 or number == float("inf"):  # `not >=` also refuses NaN
        raise ValueError(f"{func}: {name} must be a finite number >= 0; received {value!r}")
    return number


def _int_tuple(func: str, name: str, value, *, allow_empty: bool) -> tuple[int, ...]:
    if isinstance(value, bool) or not isinstance(value, (tuple, list)):
        raise TypeError(
            f"{func}: {name} must be a tuple of positive ints, e.g. (32, 64); "
            f"received {type(value).__name__} {value!r}"
        )
    if not value and not allow_empty:
        raise ValueError(f"{func}: {name} must hold at least one positive int; received {value!r}")
    return tuple(positive_int(func, f"{name}[{i}]", v) for i, v in enumerate(value))


def _name(func: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{func}: name must be a non-empty string; received {value!r}")
    return value


def _activation(func: str, value) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"{func}: activation must be the name of a Keras activation such as 'relu' or 'tanh'; "
            f"received {type(value).__name__} {value!r}"
        )
    try:
        keras.activations.get(value)
    except ValueError:
        raise ValueError(
            f"{func}: activation {value!r} is not a Keras activation; try 'relu', 'tanh' or "
            f"'sigmoid'"
        ) from None
    return value


def _shrink(func: str, input_shape, size, what: str, kernel: int, *, stride: int = 1, padding="valid"):
    """Spatial size after one conv or pooling layer, or a ValueError that says which layer does
    not fit: Keras' own message for a negative output size does not say which input to change."""
    try:
        return conv_output_size(size, kernel, stride=stride, padding=padding, exact=False)
    except ValueError:
        raise ValueError(
            f"{func}: input_shape {tuple(input_shape)} is too small for this model: {what} "
            f"({kernel}x{kernel}) does not fit the {size[0]}x{size[1]} feature map it receives"
        ) from None


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def build_mlp(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    *,
    hidden_units: tuple[int, ...] = (128,),
    activation: str = "relu",
    num_classes: int = 10,
    dropout: float = 0.0,
    name: str = "mlp",
) -> keras.Model:
    """A fully connected classifier: Flatten -> Dense hidden layers -> Dense softmax.

    The baseline the convnets are compared with: every pixel is connected to every hidden unit,
    so the first layer alone has ``H * W * C * units + units`` parameters (100,480 for 28x28x1
    and 128 units).

    Parameters
    ----------
    input_shape : tuple of 3 ints, default (28, 28, 1)
        ``(H, W, C)`` of one image.
    hidden_units : tuple of int, default (128,)
        Units of each hidden Dense layer, in order; ``()`` gives softmax regression.
    activation : str, default "relu"
        Activation of the hidden layers.
    num_classes : int, default 10
        Outputs of the softmax layer (>= 2).
    dropout : float in [0, 1), default 0.0
        Dropout rate after each hidden layer; 0 adds no Dropout layer.
    name : str, default "mlp"

    Returns
    -------
    keras.Model
        Input ``(N, H, W, C)``, output ``(N, num_classes)`` probabilities. Layers: ``flatten``,
        ``dense1``, ``dense2``, ... (``dropout1``, ...), ``output``.

    Raises
    ------
    TypeError, ValueError
        If a setting has the wrong type or range.

    Examples
    --------
    >>> model = build_mlp(hidden_units=(128,))
    >>> model.count_params()   # 784*128 + 128 + 128*10 + 10
    101770
    """
    func = "build_mlp"
    shape = _input_shape(func, input_shape)
    units = _int_tuple(func, "hidden_units", hidden_units, allow_empty=True)
    activation = _activation(func, activation)
    classes = _num_classes(func, num_classes)
    rate = _rate(func, "dropout", dropout)
    name = _name(func, name)

    inputs = keras.Input(shape=shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for i, width in enumerate(units, start=1):
        x = keras.layers.Dense(width, activation=activation, name=f"dense{i}")(x)
        if rate > 0:
            x = keras.layers.Dropout(rate, name=f"dropout{i}")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def build_mnist_convnet(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    *,
    num_classes: int = 10,
    filters: tuple[int, ...] = (32, 64),
    dropout: float = 0.5,
    name: str = "mnist_convnet",
) -> keras.Model:
    """The small MNIST convnet of the keras-io example "Simple MNIST convnet".

    ``Conv 3x3 (32, relu) -> MaxPool 2 -> Conv 3x3 (64, relu) -> MaxPool 2 -> Flatten ->
    Dropout -> Dense softmax``. With the defaults it has 34,826 parameters: 320 + 18,496 in
    the convolutions and ``5*5*64*10 + 10 = 16,010`` in the output layer.

    Parameters
    ----------
    input_shape : tuple of 3 ints, default (28, 28, 1)
        ``(H, W, C)`` of one image.
    num_classes : int, default 10
    filters : tuple of int, default (32, 64)
        Filters of each conv block (a 3x3 ``valid`` conv followed by a 2x2 max-pool).
    dropout : float in [0, 1), default 0.5
        Dropout rate before the output layer; 0 adds no Dropout layer.
    name : str, default "mnist_convnet"

    Returns
    -------
    keras.Model
        Input ``(N, H, W, C)``, output ``(N, num_classes)``. Layers ``conv1``, ``pool1``,
        ``conv2``, ``pool2``, ..., ``flatten``, ``dropout``, ``output``.

    Raises
    ------
    TypeError, ValueError
        If a setting has the wrong type or range, or the image is too small for the blocks.

    Examples
    --------
    >>> build_mnist_convnet().count_params()
    34826
    """
    func = "build_mnist_convnet"
    shape = _input_shape(func, input_shape)
    classes = _num_classes(func, num_classes)
    counts = _int_tuple(func, "filters", filters, allow_empty=False)
    rate = _rate(func, "dropout", dropout)
    name = _name(func, name)

    size = shape[:2]
    for i in range(1, len(counts) + 1):
        size = _shrink(func, shape, size, f"conv{i}", 3)
        size = _shrink(func, shape, size, f"pool{i}", 2, stride=2)

    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    for i, count in enumerate(counts, start=1):
        x = keras.layers.Conv2D(count, (3, 3), activation="relu", name=f"conv{i}")(x)
        x = keras.layers.MaxPooling2D(pool_size=(2, 2), name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if rate > 0:
        x = keras.layers.Dropout(rate, name="dropout")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def build_no_pooling_convnet(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    *,
    with_head: bool = False,
    num_classes: int = 10,
    dense_units: int = 64,
    name: str = "no_pooling_convnet",
) -> keras.Model:
    """Three 3x3 conv layers without pooling (deck 002): why convnets downsample.

    ``Conv 3x3 (32) -> Conv 3x3 (64) -> Conv 3x3 (64)``, relu, ``valid`` padding. For a
    28x28x1 input the maps are 26x26x32, 24x24x64 and 22x22x64 and the layers have 320, 18,496
    and 36,928 parameters (55,744 in all), as in the deck. Each layer sees only a 3x3 window
    more than the previous one, so the last map still describes small patches, not the whole
    digit.

    With ``with_head=True`` a classifier is added: ``Flatten -> Dense(dense_units, relu) ->
    Dense(num_classes, softmax)``. The flattened map has ``22*22*64 = 30,976`` features, so
    ``Dense(64)`` alone has ``30,976*64 + 64 = 1,982,528`` parameters, 36 times the three
    conv layers together; ``dense_units=512`` gives the "15 million" of the deck
    (15,860,224). (The deck writes ``22 x 22 x 64 = 36'928``; the product is 30,976, and
    36,928 is the third conv layer's parameter count.)

    Parameters
    ----------
    input_shape : tuple of 3 ints, default (28, 28, 1)
        ``(H, W, C)`` of one image.
    with_head : bool, default False
        Add the Flatten + Dense classifier.
    num_classes : int, default 10
        Outputs of the softmax layer (used only with ``with_head=True``).
    dense_units : int, default 64
        Units of the hidden Dense layer (used only with ``with_head=True``).
    name : str, default "no_pooling_convnet"

    Returns
    -------
    keras.Model
        Input ``(N, H, W, C)``; output ``(N, H-6, W-6, 64)`` feature maps, or
        ``(N, num_classes)`` probabilities with the head. Layers ``conv1``, ``conv2``,
        ``conv3`` (and ``flatten``, ``dense``, ``output``).

    Raises
    ------
    TypeError, ValueError
        If a setting has the wrong type or range, or the image is smaller than 7x7.

    Examples
    --------
    >>> model = build_no_pooling_convnet()
    >>> [model.get_layer(f"conv{i}").count_params() for i in (1, 2, 3)]
    [320, 18496, 36928]
    """
    func = "build_no_pooling_convnet"
    shape = _input_shape(func, input_shape)
    head = _flag(func, "with_head", with_head)
    classes = _num_classes(func, num_classes)
    units = positive_int(func, "dense_units", dense_units)
    name = _name(func, name)

    size = shape[:2]
    for i in range(1, 4):
        size = _shrink(func, shape, size, f"conv{i}", 3)

    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    for i, count in enumerate((32, 64, 64), start=1):
        x = keras.layers.Conv2D(count, (3, 3), activation="relu", name=f"conv{i}")(x)
    if head:
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(units, activation="relu", name="dense")(x)
        x = keras.layers.Dense(classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, x, name=name)


def build_lenet5(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    *,
    num_classes: int = 10,
    activation: str = "tanh",
    pooling: str = "avg",
    name: str = "lenet5",
) -> keras.Model:
    """LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998), adapted to 28x28 MNIST digits.

    ``Conv 5x5 (6, same) -> Pool 2 -> Conv 5x5 (16, valid) -> Pool 2 -> Flatten -> Dense 120
    -> Dense 84 -> Dense num_classes (softmax)``. The original network read 32x32 images; the
    ``same`` padding of the first conv gives a 28x28 digit the same 28x28 first map. Maps:
    28x28x6, 14x14x6, 10x10x16, 5x5x16 (400 features). Parameters with 10 classes::

        conv1   5*5*1*6   + 6   =    156
        conv2   5*5*6*16  + 16  =  2,416
        dense1  400*120   + 120 = 48,120
        dense2  120*84    + 84  = 10,164
        output  84*10     + 10  =    850
                                  ------
                                  61,706

    The 1998 network used trainable subsampling, scaled tanh and RBF outputs; average pooling,
    tanh and softmax are the usual modern stand-ins.

    Parameters
    ----------
    input_shape : tuple of 3 ints, default (28, 28, 1)
        ``(H, W, C)`` of one image; at least 16x16 so that every layer fits.
    num_classes : int, default 10
    activation : str, default "tanh"
        Activation of the conv and hidden Dense layers ("relu" trains faster).
    pooling : {"avg", "max"}, default "avg"
        2x2 pooling with stride 2.
    name : str, default "lenet5"

    Returns
    -------
    keras.Model
        Input ``(N, H, W, C)``, output ``(N, num_classes)``. Layers ``conv1``, ``pool1``,
        ``conv2``, ``pool2``, ``flatten``, ``dense1``, ``dense2``, ``output``.

    Raises
    ------
    TypeError, ValueError
        If a setting has the wrong type or range, or the image is too small.

    Examples
    --------
    >>> build_lenet5().count_params()
    61706
    """
    func = "build_lenet5"
    shape = _input_shape(func, input_shape)
    classes = _num_classes(func, num_classes)
    activation = _activation(func, activation)
    if pooling not in ("avg", "max"):
        raise ValueError(f"{func}: pooling must be 'avg' or 'max'; received {pooling!r}")
    name = _name(func, name)

    size = _shrink(func, shape, shape[:2], "conv1", 5, padding="same")
    size = _shrink(func, shape, size, "pool1", 2, stride=2)
    size = _shrink(func, shape, size, "conv2", 5)
    _shrink(func, shape, size, "pool2", 2, stride=2)

    pool_layer = keras.layers.AveragePooling2D if pooling == "avg" else keras.layers.MaxPooling2D
    inputs = keras.Input(shape=shape, name="image")
    x = keras.layers.Conv2D(6, (5, 5), padding="same", activation=activation, name="conv1")(inputs)
    x = pool_layer(pool_size=(2, 2), strides=(2, 2), name="pool1")(x)
    x = keras.layers.Conv2D(16, (5, 5), activation=activation, name="conv2")(x)
    x = pool_layer(pool_size=(2, 2), strides=(2, 2), name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(120, activation=activation, name="dense1")(x)
    x = keras.layers.Dense(84, activation=activation, name="dense2")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def build_alexnet(
    input_shape: tuple[int, int, int] = (227, 227, 1),
    *,
    num_classes: int = 10,
    dropout: float = 0.4,
    name: str = "alexnet",
) -> keras.Model:
    """The AlexNet-style network of deck 004's code example (Krizhevsky et al., 2012).

    ===========================================  ================  ==============
    layer                                        output (227x227)  parameters
    ===========================================  ================  ==============
    conv1  96 filters 11x11, stride 4, same      57x57x96          11,712
    bn1 + pool1 (max 2x2, stride 2)              28x28x96          384
    conv2  256 filters 5x5, same                 28x28x256         614,656
    bn2 + pool2 (max 3x3, stride 2)              13x13x256         1,024
    conv3  384 filters 3x3, same + bn3           13x13x384         885,120 + 1,536
    conv4  384 filters 1x1, same + bn4           13x13x384         147,840 + 1,536
    conv5  256 filters 3x3, same + bn5           13x13x256         884,992 + 1,024
    pool3 (max 2x2, stride 2, same), flatten     7x7x256 = 12,544
    fc1 Dense 4096 + Dropout                     4096              51,384,320
    fc2 Dense 4096 + Dropout                     4096              16,781,312
    fc3 Dense 1000 + Dropout                     1000              4,097,000
    output Dense num_classes, softmax            10                10,010
    ===========================================  ================  ==============

    74,822,466 parameters for one grey channel and 10 classes (2,752 of them the
    BatchNormalization moving means and variances, which are not trained); 69% sit in ``fc1``. All convs and
    hidden Dense layers use relu. Building it allocates about 300 MB of weights; train it only
    on a GPU.

    Parameters
    ----------
    input_shape : tuple of 3 ints, default (227, 227, 1)
        ``(H, W, C)`` of one image (at least 24x24 so that the pooling windows fit).
    num_classes : int, default 10
    dropout : float in [0, 1), default 0.4
        Dropout rate after each of the three hidden Dense layers.
    name : str, default "alexnet"

    Returns
    -------
    keras.Model
        Input ``(N, H, W, C)``, output ``(N, num_classes)``.

    Raises
    ------
    TypeError, ValueError
        If a setting has the wrong type or range, or the image is too small.

    Examples
    --------
    >>> model = build_alexnet()
    >>> model.get_layer("conv1").output.shape
    (None, 57, 57, 96)
    """
    func = "build_alexnet"
    shape = _input_shape(func, input_shape)
    classes = _num_classes(func, num_classes)
    rate = _rate(func, "dropout", dropout)
    name = _name(func, name)

    size = _shrink(func, shape, shape[:2], "conv1", 11, stride=4, padding="same")
    size = _shrink(func, shape, size, "pool1", 2, stride=2)
    size = _shrink(func, shape, size, "pool2", 3, stride=2)

    layers = keras.layers
    inputs = keras.Input(shape=shape, name="image")
    x = layers.Conv2D(96, (11, 11), strides=(4, 4), padding="same", activation="relu", name="conv1")(inputs)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2), name="pool1")(x)
    x = layers.Conv2D(256, (5, 5), padding="same", activation="relu", name="conv2")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.MaxPooling2D(pool_size=(3, 3), strides=(2, 2), name="pool2")(x)
    for i, (count, kernel) in enumerate(((384, 3), (384, 1), (256, 3)), start=3):
        x = layers.Conv2D(count, (kernel, kernel), padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2), padding="same", name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate((4096, 4096, 1000), start=1):
        x = layers.Dense(units, activation="relu", name=f"fc{i}")(x)
        x = layers.Dropout(rate, name=f"dropout{i}")(x)
    outputs = layers.Dense(classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="cnnkit")
class _TrainingOnlySequential(keras.Sequential):
    """A Sequential whose layers run in inference mode unless ``training=True`` is passed.

    Keras' random preprocessing layers default to ``training=True``, so a plain ``model(x)``
    (as Grad-CAM or a quick look at predictions does) would augment the images. ``fit`` passes
    ``training=True`` and still gets fresh random changes per batch.
    """

    def call(self, inputs, training=False, mask=None, **kwargs):
        return super().call(inputs, training=training, mask=mask, **kwargs)


def make_augmentation(
    *,
    rotation: float = 0.0,
    translation: float = 0.0,
    zoom: float = 0.0,
    contrast: float = 0.0,
    brightness: float = 0.0,
    seed: int = 0,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> keras.Sequential:
    """Random image changes as Keras layers, active only while training.

    One layer per non-zero setting, in this order: ``RandomRotation``, ``RandomTranslation``,
    ``RandomZoom``, ``RandomContrast``, ``RandomBrightness``. Inside a model they transform each
    training batch afresh (``fit``, or a call with ``training=True``) and pass images through
    unchanged in ``predict``, ``evaluate`` and plain calls such as ``model(x)`` (unlike bare
    Keras preprocessing layers, which augment unless told ``training=False``), so the test set
    is never augmented.
    Geometric changes fill uncovered pixels with 0 (a black background, as in MNIST) rather
    than Keras' default mirror image, which would draw stray strokes at the border.

    Parameters
    ----------
    rotation : float in [0, 1), default 0.0
        Largest rotation as a fraction of a full turn: 0.05 rotates by up to +-18 degrees.
    translation : float in [0, 1), default 0.0
        Largest shift as a fraction of the height (and width): 0.1 moves up to 2.8 pixels
        of a 28-pixel digit.
    zoom : float in [0, 1), default 0.0
        Largest zoom in or out, as a fraction of the size.
    contrast : float in [0, 1), default 0.0
        Contrast is multiplied by a factor drawn from ``[1 - contrast, 1 + contrast]``.
    brightness : float in [0, 1), default 0.0
        Brightness shifts by up to this fraction of ``value_range``.
    seed : int, default 0
        Seed of the first layer; the next layers use ``seed + 1``, ``seed + 2``, ... so that
        their random draws are not the same numbers.
    value_range : pair of floats, default (0.0, 1.0)
        Range of the pixel values, used by the contrast and brightness layers (Keras assumes
        0..255 unless told).

    Returns
    -------
    keras.Sequential
        Named ``augmentation``; input and output ``(N, H, W, C)``. With every setting 0 it
        holds a single ``Identity`` layer.

    Raises
    ------
    TypeError, ValueError
        If a setting is not a number in [0, 1), ``seed`` is not an int >= 0 or
        ``value_range`` is not an increasing pair.

    Examples
    --------
    >>> augment = make_augmentation(rotation=0.05, translation=0.1)
    >>> [layer.__class__.__name__ for layer in augment.layers]
    ['RandomRotation', 'RandomTranslation']
    """
    func = "make_augmentation"
    rotation = _rate(func, "rotation", rotation)
    translation = _rate(func, "translation", translation)
    zoom = _rate(func, "zoom", zoom)
    contrast = _rate(func, "contrast", contrast)
    brightness = _rate(func, "brightness", brightness)
    seed = positive_int(func, "seed", seed, minimum=0)
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{func}: value_range must be a pair (low, high); received {value_range!r}")
    low, high = (_real(func, "value_range", v) for v in value_range)
    if not low < high:
        raise ValueError(f"{func}: value_range must have low < high; received {value_range!r}")

    layers = []
    fill = {"fill_mode": "constant", "fill_value": 0.0}

    def next_seed() -> int:
        return seed + len(layers)

    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, seed=next_seed(), name="rotation", **fill))
    if translation:
        layers.append(
            keras.layers.RandomTranslation(
                translation, translation, seed=next_seed(), name="translation", **fill
            )
        )
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, seed=next_seed(), name="zoom", **fill))
    if contrast:
        layers.append(
            keras.layers.RandomContrast(contrast, value_range=(low, high), seed=next_seed(), name="contrast")
        )
    if brightness:
        layers.append(
            keras.layers.RandomBrightness(
                brightness, value_range=(low, high), seed=next_seed(), name="brightness"
            )
        )
    if not layers:
        # An empty Sequential cannot be built, so a "no augmentation" setting gets a no-op layer.
        layers.append(keras.layers.Identity(name="identity"))
    return _TrainingOnlySequential(layers, name="augmentation")


def build_regularized_convnet(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    *,
    num_classes: int = 10,
    filters: tuple[int, ...] = (32, 64),
    dense_units: int | None = 64,
    l1: float = 0.0,
    l2: float = 0.0,
    dropout: float = 0.0,
    batch_norm: bool = False,
    bn_momentum: float = 0.99,
    augmentation: dict | None = None,
    global_pooling: bool = False,
    name: str = "regularized_convnet",
) -> keras.Model:
    """One configurable convnet, to compare regularisation techniques one switch at a time.

    ``[augmentation] -> (Conv 3x3 same [-> BatchNorm] -> relu -> MaxPool 2) per entry of
    filters -> Flatten or GlobalAveragePooling -> [Dense dense_units relu] [-> Dropout] ->
    Dense softmax``. With every switch off and the defaults (28x28x1) the parameters are
    320 + 18,496 (convs) + ``7*7*64*64 + 64 = 200,768`` (dense) + 650 (output) = 220,234;
    ``global_pooling=True`` replaces the 3,136 flattened features by 64 channel means and the
    dense layer shrinks to 4,160 parameters.

    Parameters
    ----------
    input_shape : tuple of 3 ints, default (28, 28, 1)
        ``(H, W, C)`` of one image.
    num_classes : int, default 10
    filters : tuple of int, default (32, 64)
        Filters of each conv block; each block halves the height and width.
    dense_units : int or None, default 64
        Units of the hidden Dense layer; None leaves it out.
    l1, l2 : float >= 0, default 0.0
        Weight penalties ``l1 * sum|w| + l2 * sum w**2`` on every conv and Dense kernel; they
        appear in ``model.losses`` and are added to the training loss.
    dropout : float in [0, 1), default 0.0
        Dropout rate before the output layer (active only in training).
    batch_norm : bool, default False
        Put BatchNormalization between each conv and its relu; those convs drop their bias,
        which the normalisation's shift replaces.
    bn_momentum : float in (0, 1), default 0.99
        Momentum of the BatchNormalization moving mean and variance (used with
        ``batch_norm=True``): after each batch they keep this fraction of their old value.
        Keras' 0.99 needs several hundred batches to forget the initial mean 0 and variance 1;
        for a training of a few dozen batches use 0.9, or predictions after training use
        statistics that were never the data's.
    augmentation : dict or None, default None
        Settings of :func:`make_augmentation` (e.g. ``{"rotation": 0.05, "zoom": 0.1}``); its
        layers run first, only in training.
    global_pooling : bool, default False
        Use GlobalAveragePooling2D instead of Flatten.
    name : str, default "regularized_convnet"

    Returns
    -------
    keras.Model
        Input ``(N, H, W, C)``, output ``(N, num_classes)``. Layers ``augmentation``,
        ``conv1``, ``bn1``, ``relu1``, ``pool1``, ..., ``flatten`` or ``global_pool``,
        ``dense``, ``dropout``, ``output`` (those switched on).

    Raises
    ------
    TypeError, ValueError
        If a setting has the wrong type or range, ``augmentation`` has an unknown key, or the
        image is too small for the number of blocks.

    Examples
    --------
    >>> plain = build_regularized_convnet()
    >>> small = build_regularized_convnet(global_pooling=True)
    >>> plain.count_params(), small.count_params()
    (220234, 23626)
    """
    func = "build_regularized_convnet"
    shape = _input_shape(func, input_shape)
    classes = _num_classes(func, num_classes)
    counts = _int_tuple(func, "filters", filters, allow_empty=False)
    units = None if dense_units is None else positive_int(func, "dense_units", dense_units)
    l1 = _non_negative(func, "l1", l1)
    l2 = _non_negative(func, "l2", l2)
    rate = _rate(func, "dropout", dropout)
    batch_norm = _flag(func, "batch_norm", batch_norm)
    momentum = _real(func, "bn_momentum", bn_momentum)
    if not 0.0 < momentum < 1.0:
        raise ValueError(f"{func}: bn_momentum must be in (0, 1); received {bn_momentum!r}")
    global_pooling = _flag(func, "global_pooling", global_pooling)
    name = _name(func, name)
    if augmentation is not None:
        if not isinstance(augmentation, dict):
            raise TypeError(
                f"{func}: augmentation must be None or a dict of make_augmentation settings, "
                f"e.g. {{'rotation': 0.05}}; received {type(augmentation).__name__}"
            )
        unknown = sorted(set(augmentation) - set(_AUGMENTATION_SETTINGS), key=str)
        if unknown:
            raise ValueError(
                f"{func}: augmentation has unknown setting(s) {unknown}; known: "
                f"{', '.join(_AUGMENTATION_SETTINGS)}"
            )

    size = shape[:2]
    for i in range(1, len(counts) + 1):
        size = _shrink(func, shape, size, f"pool{i}", 2, stride=2)

    regularizer = keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    if augmentation is not None:
        x = make_augmentation(**augmentation)(x)
    for i, count in enumerate(counts, start=1):
        x = keras.layers.Conv2D(
            count,
            (3, 3),
            padding="same",
            use_bias=not batch_norm,
            kernel_regularizer=regularizer,
            name=f"conv{i}",
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(momentum=momentum, name=f"bn{i}")(x)
        x = keras.layers.Activation("relu", name=f"relu{i}")(x)
        x = keras.layers.MaxPooling2D(pool_size=(2, 2), name=f"pool{i}")(x)
    if global_pooling:
        x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    if units is not None:
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer, name="dense")(x)
    if rate > 0:
        x = keras.layers.Dropout(rate, name="dropout")(x)
    outputs = keras.layers.Dense(
        classes, activation="softmax", kernel_regularizer=regularizer, name="output"
    )(x)
    return keras.Model(inputs, outputs, name=name)


def compile_classifier(model: keras.Model, *, learning_rate: float = 1e-3) -> keras.Model:
    """Compile a softmax classifier for integer labels: Adam, sparse categorical cross-entropy,
    accuracy.

    The loss of one image with label ``y`` and predicted probabilities ``p`` is
    ``-log p[y]``, averaged over the batch (plus any weight penalties in ``model.losses``).

    Parameters
    ----------
    model : keras.Model
        A model whose output is ``(N, num_classes)`` probabilities (a softmax), such as the
        builders of this module return.
    learning_rate : float > 0, default 1e-3
        Adam's step size.

    Returns
    -------
    keras.Model
        The same model, compiled (so the call can be chained).

    Raises
    ------
    TypeError
        If ``model`` is not a Keras model or ``learning_rate`` not a number.
    ValueError
        If ``learning_rate`` is not > 0.

    Examples
    --------
    >>> model = compile_classifier(build_mnist_convnet(), learning_rate=1e-3)
    """
    func = "compile_classifier"
    keras_model(func, "model", model)
    rate = positive_number(func, "learning_rate", learning_rate)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return model

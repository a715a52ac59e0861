"""Real colour photos that ship offline, prepared the way ImageNet networks expect them.

The photos come inside packages the course installs anyway: scikit-image (``chelsea`` the cat,
``coffee``, ``astronaut``, ``rocket``, ``motorcycle`` and its grey textures ``brick``, ``grass``,
``gravel``), scikit-learn (``china``, ``flower``) and matplotlib (``grace_hopper``).

:func:`texture_patches` cuts the texture photos into square patches for a small classification
task with an honest test set: training patches come from the left half of each photo, test
patches from the right half, so no test patch shares a pixel with a training patch.

:func:`center_crop` is torchvision's evaluation transform (``Resize(256)``, ``CenterCrop(224)``),
generalised to any output size ``S``: resize so that the short side is ``round(S * 256 / 224)``,
then cut the central ``S x S`` square. The resize is bilinear with antialiasing (PIL's, as
torchvision's on PIL images), done in float so nothing is rounded to 8 bits.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from cnnkit._checks import numeric_array, one_of, positive_int

__all__ = ["RGB_PHOTOS", "TEXTURES", "center_crop", "load_photos", "load_rgb_photo", "texture_patches"]

_SKIMAGE = {"chelsea": "chelsea", "coffee": "coffee", "astronaut": "astronaut", "rocket": "rocket",
            "brick": "brick", "grass": "grass", "gravel": "gravel"}
_SKLEARN = {"china": "china.jpg", "flower": "flower.jpg"}
#: Names :func:`load_rgb_photo` knows. brick, grass and gravel are grey photographs of textures
#: (returned with the grey repeated on 3 channels).
RGB_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "motorcycle", "china", "flower", "grace_hopper",
              "brick", "grass", "gravel")
#: The texture photos (grey, 512 x 512) :func:`texture_patches` cuts by default.
TEXTURES = ("brick", "grass", "gravel")


def check_rgb_images(func: str, name: str, images) -> np.ndarray:
    """Return ``images`` as a float32 batch ``(N, H, W, 3)`` of RGB values in [0, 1], or raise.

    One image ``(H, W, 3)`` becomes a batch of one. Grey images, 0..255 values and other shapes
    are refused with a message that says how to fix them.
    """
    array = numeric_array(func, name, images)
    if array.ndim == 3:
        array = array[np.newaxis]
    if array.ndim != 4:
        hint = "; a grey image needs 3 channels: np.repeat(gray[..., None], 3, axis=-1)" if array.ndim == 2 else ""
        raise ValueError(
            f"{func}: {name} must be an RGB image (H, W, 3) or a batch (N, H, W, 3); received a "
            f"{array.ndim}-D array of shape {array.shape}{hint}"
        )
    if array.shape[-1] != 3:
        raise ValueError(
            f"{func}: {name} must have 3 colour channels (RGB) last; received shape {array.shape}"
            + ("; for grey images repeat the channel: np.repeat(x, 3, axis=-1)" if array.shape[-1] == 1 else "")
        )
    if array.shape[0] == 0 or 0 in array.shape[1:3]:
        raise ValueError(f"{func}: {name} is empty (shape {array.shape})")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{func}: {name} must be finite; received NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        hint = "; for 8-bit photos (0..255) divide by 255" if high > 1.0 and high <= 255.0 and low >= 0.0 else ""
        raise ValueError(
            f"{func}: {name} must hold values in [0, 1]; received values in [{low:.4g}, {high:.4g}]{hint}"
        )
    return array.astype(np.float32, copy=False)


def _check_size(func: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{func}: {name} must be an int; received {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{func}: {name} must be >= 1; received {value}")
    return int(value)


def load_rgb_photo(name: str) -> np.ndarray:
    """One of the colour photos shipped with scikit-image, scikit-learn and matplotlib.

    Parameters
    ----------
    name : str
        One of :data:`RGB_PHOTOS`. ``"motorcycle"`` is the left view of scikit-image's
        ``stereo_motorcycle``.

    Returns
    -------
    ndarray of shape (H, W, 3)
        RGB, float32 in [0, 1], at the photo's own size.

    Raises
    ------
    TypeError
        If ``name`` is not a str.
    ValueError
        If ``name`` is not one of :data:`RGB_PHOTOS`.

    Examples
    --------
    >>> cat = load_rgb_photo("chelsea")
    >>> cat.shape, cat.dtype, float(cat.max()) <= 1.0
    ((300, 451, 3), dtype('float32'), True)
    """
    func = "load_rgb_photo"
    if not isinstance(name, str):
        raise TypeError(f"{func}: name must be a str, one of {RGB_PHOTOS}; received {type(name).__name__}")
    if name not in RGB_PHOTOS:
        raise ValueError(f"{func}: name must be one of {RGB_PHOTOS}; received {name!r}")
    if name in _SKIMAGE:
        from skimage import data

        image = getattr(data, _SKIMAGE[name])()
    elif name == "motorcycle":
        from skimage import data

        image = data.stereo_motorcycle()[0]
    elif name in _SKLEARN:
        from sklearn.datasets import load_sample_image

        image = load_sample_image(_SKLEARN[name])
    else:
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
            image = matplotlib.image.imread(file, format="jpg")
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., np.newaxis], 3, axis=2)
    return (image[..., :3].astype(np.float32) / 255.0).astype(np.float32)


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize with antialiasing (PIL's, channel by channel in float)."""
    from PIL import Image

    channels = [np.asarray(Image.fromarray(image[..., c], mode="F").resize((width, height), Image.BILINEAR))
                for c in range(image.shape[-1])]
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0).astype(np.float32)


def center_crop(images, *, size: int = 224, short_side: int | None = None) -> np.ndarray:
    """torchvision's evaluation transform: resize the short side, then cut the central square.

    ::

        short_side = round(size * 256 / 224)            (256 for size 224) unless given
        scale      = short_side / min(H, W)
        resized    = bilinear resize to (int(H * scale), int(W * scale)), the short side exactly
        top, left  = round((h - size) / 2), round((w - size) / 2)
        out        = resized[top:top + size, left:left + size]

    Parameters
    ----------
    images : ndarray of shape (H, W, 3) or (N, H, W, 3)
        RGB floats in [0, 1] (images of a batch share one size).
    size : int, default 224
        Side of the output square.
    short_side : int, optional
        Length of the short side after the resize, >= ``size``; default ``round(size * 256 / 224)``.

    Returns
    -------
    ndarray of shape (size, size, 3) or (N, size, size, 3), float32 in [0, 1]
        The same rank as ``images``.

    Raises
    ------
    TypeError
        If ``images`` is not numeric or a size not an int.
    ValueError
        If ``images`` is not RGB in [0, 1] (grey, 0..255, wrong shape) or ``short_side < size``.

    Examples
    --------
    >>> center_crop(load_rgb_photo("coffee"), size=160).shape
    (160, 160, 3)
    """
    func = "center_crop"
    single = np.ndim(images) == 3
    batch = check_rgb_images(func, "images", images)
    size = _check_size(func, "size", size)
    short_side = round(size * 256 / 224) if short_side is None else _check_size(func, "short_side", short_side)
    if short_side < size:
        raise ValueError(f"{func}: short_side must be >= size ({size}); received {short_side}")
    height, width = batch.shape[1:3]
    if height <= width:
        new_height, new_width = short_side, int(short_side * width / height)
    else:
        new_height, new_width = int(short_side * height / width), short_side
    top, left = int(round((new_height - size) / 2.0)), int(round((new_width - size) / 2.0))
    out = np.stack([_resize(image, new_height, new_width)[top:top + size, left:left + size] for image in batch])
    return out[0] if single else out


def load_photos(names=None, *, size: int = 224) -> np.ndarray:
    """Shipped photos as one batch, ready for an ImageNet network (:func:`center_crop` each).

    Parameters
    ----------
    names : sequence of str, optional
        Names from :data:`RGB_PHOTOS`; default all of them.
    size : int, default 224
        Side of each square image.

    Returns
    -------
    ndarray of shape (len(names), size, size, 3), float32 in [0, 1]

    Raises
    ------
    TypeError, ValueError
        If a name is unknown or ``size`` is not an int >= 1.

    Examples
    --------
    >>> load_photos(["chelsea", "coffee"], size=96).shape
    (2, 96, 96, 3)
    """
    func = "load_photos"
    if names is None:
        names = RGB_PHOTOS
    names = tuple(names) if isinstance(names, Iterable) and not isinstance(names, str) else names
    if not isinstance(names, tuple) or not all(isinstance(name, str) for name in names):
        raise TypeError(f"{func}: names must be a list of str (from {RGB_PHOTOS}); received {names!r}")
    if len(names) == 0:
        raise ValueError(f"{func}: names is empty; pass at least one of {RGB_PHOTOS}")
    size = _check_size(func, "size", size)
    unknown = [name for name in names if name not in RGB_PHOTOS]
    if unknown:
        raise ValueError(f"{func}: unknown photo(s) {unknown}; names must come from {RGB_PHOTOS}")
    return np.stack([center_crop(load_rgb_photo(name), size=size) for name in names])


def texture_patches(names=TEXTURES, *, half: str = "left", size: int = 96,
                    stride: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Square patches of texture photos, from one half of each photo, with their labels.

    Each photo ``(H, W, 3)`` is cut in two halves, columns ``[0, W // 2)`` ("left") and
    ``[W // 2, W)`` ("right"); patches ``size x size`` slide over the chosen half with step
    ``stride`` and never leave it. Patches of one half share no pixel with patches of the other:
    take training patches from one half and test patches from the other. Per photo::

        rows    = (H - size) // stride + 1
        columns = (W // 2 - size) // stride + 1        (the right half: W - W // 2)
        patches = rows * columns                      (84 for 512 x 512, size 96, stride 32)

    Parameters
    ----------
    names : sequence of str, default :data:`TEXTURES`
        Photos from :data:`RGB_PHOTOS`, one class each, in label order (no repeats).
    half : {"left", "right"}, default "left"
        Which half of every photo to cut.
    size : int, default 96
        Side of a patch, at most the half's width and the photo's height.
    stride : int, default 32
        Step between neighbouring patches (``stride < size`` gives overlapping patches).

    Returns
    -------
    patches : ndarray of shape (N, size, size, 3)
        RGB floats in [0, 1] (a grey texture repeated on the 3 channels), photo by photo, each
        photo's patches row by row.
    labels : ndarray of shape (N,), int64
        The index in ``names`` of the photo each patch comes from.

    Raises
    ------
    TypeError
        If ``names`` is not a sequence of str, or ``size`` / ``stride`` is not an int.
    ValueError
        If a name is unknown or repeated, ``names`` is empty, ``half`` is not "left" or
        "right", ``size`` / ``stride`` < 1, or a patch does not fit the half of a photo.

    Examples
    --------
    >>> patches, labels = texture_patches(half="right", size=96, stride=32)
    >>> patches.shape, np.bincount(labels).tolist()
    ((252, 96, 96, 3), [84, 84, 84])
    """
    func = "texture_patches"
    names = tuple(names) if isinstance(names, Iterable) and not isinstance(names, str) else names
    if not isinstance(names, tuple) or not all(isinstance(name, str) for name in names):
        raise TypeError(f"{func}: names must be a list of str (from {RGB_PHOTOS}); received {names!r}")
    if len(names) == 0:
        raise ValueError(f"{func}: names is empty; pass at least one of {RGB_PHOTOS}, e.g. {TEXTURES}")
    unknown = [name for name in names if name not in RGB_PHOTOS]
    if unknown:
        raise ValueError(f"{func}: unknown photo(s) {unknown}; names must come from {RGB_PHOTOS}")
    if len(set(names)) != len(names):
        raise ValueError(f"{func}: names must not repeat (one class per photo); received {names}")
    half = one_of(func, "half", half, ("left", "right"))
    size = positive_int(func, "size", size)
    stride = positive_int(func, "stride", stride)
    patches, labels = [], []
    for label, name in enumerate(names):
        photo = load_rgb_photo(name)
        middle = photo.shape[1] // 2
        part = photo[:, :middle] if half == "left" else photo[:, middle:]
        height, width = part.shape[:2]
        if size > min(height, width):
            raise ValueError(f"{func}: size must be at most {min(height, width)} to fit the {half} half of "
                             f"{name!r} ({height} x {width} pixels); received {size}")
        for top in range(0, height - size + 1, stride):
            for left in range(0, width - size + 1, stride):
                patches.append(part[top:top + size, left:left + size])
                labels.append(label)
    return np.stack(patches).astype(np.float32, copy=False), np.asarray(labels, dtype=np.int64)

"""Real colour photos that ship offline, prepared the way ImageNet networks expect them.

The photos come inside packages the course installs anyway: scikit-image (``chelsea`` the cat,
``coffee``, ``astronaut``, ``rocket``, ``motorcycle`` and its grey textures ``brick``, ``grass``,
``gravel``), scikit-learn (``china``, ``flower``) and matplotlib (``grace_hopper``).

:func:`center_crop` is torchvision's evaluation transform (``Resize(256)``, ``CenterCrop(224)``),
generalised to any output size ``S``: resize so that the short side is ``round(S * 256 / 224)``,
then cut the central ``S x S`` square. The resize is bilinear with antialiasing (PIL's, as
torchvision's on PIL images), done in float so nothing is rounded to 8 bits.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from cnnkit._checks import numeric_array

__all__ = ["RGB_PHOTOS", "center_crop", "load_photos", "load_rgb_photo"]

_SKIMAGE = {"chelsea": "chelsea", "coffee": "coffee", "astronaut": "astronaut", "rocket": "rocket",
            "brick": "brick", "grass": "grass", "gravel": "gravel"}
_SKLEARN = {"china": "china.jpg", "flower": "flower.jpg"}
#: Names :func:`load_rgb_photo` knows. brick, grass and gravel are grey photographs of textures
#: (returned with the grey repeated on 3 channels).
RGB_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "motorcycle", "china", "flower", "grace_hopper",
              "brick", "grass", "gravel")


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

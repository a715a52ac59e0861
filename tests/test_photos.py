"""cnnkit.photos: the shipped colour photos, torchvision's evaluation crop, texture patches."""

import numpy as np
import pytest
from PIL import Image

import cnnkit as ck
from cnnkit.photos import RGB_PHOTOS


@pytest.mark.parametrize("name", RGB_PHOTOS)
def test_every_photo_loads_as_rgb_in_0_1(name):
    photo = ck.load_rgb_photo(name)
    assert photo.ndim == 3 and photo.shape[2] == 3 and photo.dtype == np.float32
    assert 0.0 <= photo.min() and photo.max() <= 1.0 and photo.max() > 0.5


def test_photos_are_the_packages_own():
    from skimage import data
    from sklearn.datasets import load_sample_image

    np.testing.assert_array_equal(ck.load_rgb_photo("chelsea"), data.chelsea() / np.float32(255))
    np.testing.assert_array_equal(ck.load_rgb_photo("motorcycle"), data.stereo_motorcycle()[0] / np.float32(255))
    np.testing.assert_array_equal(ck.load_rgb_photo("china"), load_sample_image("china.jpg") / np.float32(255))
    brick = ck.load_rgb_photo("brick")
    np.testing.assert_array_equal(brick[..., 0], brick[..., 2])  # a grey photo on 3 channels


@pytest.mark.parametrize("name, size, short_side", [("chelsea", 224, None), ("coffee", 160, None),
                                                     ("astronaut", 96, 128), ("grace_hopper", 224, 224)])
def test_center_crop_is_torchvisions_resize_then_center_crop(name, size, short_side):
    """Oracle: PIL on the 8-bit photo, as torchvision's Resize(short) + CenterCrop(size) do it."""
    photo = ck.load_rgb_photo(name)
    short = round(size * 256 / 224) if short_side is None else short_side
    height, width = photo.shape[:2]
    scale = short / min(height, width)
    new_w, new_h = (short, int(short * height / width)) if width < height else (int(short * width / height), short)
    resized = np.asarray(Image.fromarray(np.uint8(np.round(photo * 255))).resize((new_w, new_h), Image.BILINEAR))
    top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
    expected = resized[top:top + size, left:left + size] / 255.0
    assert scale > 0
    out = ck.center_crop(photo, size=size, short_side=short_side)
    assert out.shape == (size, size, 3) and out.dtype == np.float32
    # same geometry; the float resize differs from the 8-bit one by rounding only
    np.testing.assert_allclose(out, expected, atol=2.5 / 255)


def test_center_crop_batch_and_portrait():
    landscape = ck.load_rgb_photo("coffee")  # 400 x 600
    portrait = np.transpose(landscape, (1, 0, 2))
    batch = ck.center_crop(np.stack([portrait, portrait]), size=64)
    assert batch.shape == (2, 64, 64, 3)
    # the short side is the width now: transposed in, transposed out
    np.testing.assert_allclose(batch[0], np.transpose(ck.center_crop(landscape, size=64), (1, 0, 2)), atol=1e-5)


def test_short_side_changes_the_crop():
    photo = ck.load_rgb_photo("chelsea")
    assert not np.allclose(ck.center_crop(photo, size=96), ck.center_crop(photo, size=96, short_side=96))


def test_load_photos_is_center_crop_of_each():
    batch = ck.load_photos(["chelsea", "rocket"], size=64)
    assert batch.shape == (2, 64, 64, 3)
    np.testing.assert_array_equal(batch[1], ck.center_crop(ck.load_rgb_photo("rocket"), size=64))


@pytest.mark.parametrize("call, error, match", [
    (lambda: ck.load_rgb_photo("dog"), ValueError, r"load_rgb_photo: name must be one of \('chelsea'"),
    (lambda: ck.load_rgb_photo(1), TypeError, "load_rgb_photo: name must be a str"),
    (lambda: ck.load_photos("chelsea"), TypeError, "load_photos: names must be a list of str"),
    (lambda: ck.load_photos([]), ValueError, "load_photos: names is empty"),
    (lambda: ck.load_photos(["chelsea", "dog"]), ValueError, r"unknown photo\(s\) \['dog'\]"),
    (lambda: ck.load_photos(["chelsea"], size=0), ValueError, "load_photos: size must be >= 1"),
    (lambda: ck.center_crop(np.zeros((50, 60, 3)), size=2.5), TypeError, "center_crop: size must be an int"),
    (lambda: ck.center_crop(np.zeros((50, 60, 3)), size=40, short_side=30), ValueError, "short_side must be >= size"),
    (lambda: ck.center_crop(np.full((50, 60, 3), 200.0)), ValueError, r"values in \[0, 1\].*divide by 255"),
    (lambda: ck.center_crop(np.full((50, 60, 3), -0.5)), ValueError, r"values in \[0, 1\]; received values in \[-0.5"),
    (lambda: ck.center_crop(np.zeros((50, 60))), ValueError, "grey image needs 3 channels"),
    (lambda: ck.center_crop(np.zeros((50, 60, 1))), ValueError, "3 colour channels.*repeat the channel"),
    (lambda: ck.center_crop(np.zeros((2, 2, 50, 60, 3))), ValueError, "received a 5-D array"),
    (lambda: ck.center_crop(np.full((5, 6, 3), np.nan)), ValueError, "must be finite"),
    (lambda: ck.center_crop([["a"]]), TypeError, "center_crop: images must be a numeric array"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("names, half, size, stride", [(("brick", "grass", "gravel"), "left", 96, 32),
                                                       (("gravel", "brick"), "right", 100, 45),
                                                       (("coffee",), "right", 150, 37)])
def test_texture_patches_are_skimages_sliding_windows_of_one_half(names, half, size, stride):
    from skimage.util import view_as_windows

    patches, labels = ck.texture_patches(names, half=half, size=size, stride=stride)
    expected_x, expected_y = [], []
    for label, name in enumerate(names):
        photo = ck.load_rgb_photo(name)
        middle = photo.shape[1] // 2
        part = photo[:, :middle] if half == "left" else photo[:, middle:]
        windows = view_as_windows(part, (size, size, 3), step=stride)[:, :, 0]   # (rows, columns, size, size, 3)
        expected_x.append(windows.reshape(-1, size, size, 3))
        expected_y += [label] * len(expected_x[-1])
    np.testing.assert_array_equal(patches, np.concatenate(expected_x))
    np.testing.assert_array_equal(labels, expected_y)
    assert patches.dtype == np.float32 and labels.dtype == np.int64


def test_texture_halves_share_no_pixel_and_count_as_documented():
    # the first right patch starts at column 256, where the left half ends
    left, left_labels = ck.texture_patches(half="left")
    right, _ = ck.texture_patches(half="right")
    assert len(left) == len(right) == 3 * ((512 - 96) // 32 + 1) * ((256 - 96) // 32 + 1)
    assert np.bincount(left_labels).tolist() == [84, 84, 84]
    brick = ck.load_rgb_photo("brick")
    np.testing.assert_array_equal(left[0], brick[:96, :96])
    np.testing.assert_array_equal(right[0], brick[:96, 256:352])
    np.testing.assert_array_equal(right[83], brick[512 - 96:, 512 - 96:])   # the last patch ends at the corner
    assert ck.TEXTURES == ("brick", "grass", "gravel")


@pytest.mark.parametrize("call, error, match", [
    (lambda: ck.texture_patches("brick"), TypeError, "texture_patches: names must be a list of str"),
    (lambda: ck.texture_patches([]), ValueError, "texture_patches: names is empty"),
    (lambda: ck.texture_patches(["brick", "wood"]), ValueError, r"unknown photo\(s\) \['wood'\]"),
    (lambda: ck.texture_patches(["brick", "brick"]), ValueError, "names must not repeat"),
    (lambda: ck.texture_patches(half="top"), ValueError, "texture_patches: half must be one of 'left', 'right'; received 'top'"),
    (lambda: ck.texture_patches(size=257), ValueError, r"size must be at most 256 to fit the left half of 'brick' \(512 x 256"),
    (lambda: ck.texture_patches(stride=0), ValueError, "texture_patches: stride must be >= 1; received 0"),
    (lambda: ck.texture_patches(size=9.5), TypeError, "texture_patches: size must be an int"),
])
def test_texture_patches_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()

"""cnnkit.widgets: the explorers compute exactly what cnnkit's numpy ops compute, keep their
status line and figure in step with the controls, and work without a frontend."""

import base64
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnkit as ck  # noqa: E402

# The worked example of deck 003: a "T" on a 7x7 grid, filtered with the vertical-edge kernel.
DECK_T = np.zeros((7, 7))
DECK_T[1, 2:5] = 1
DECK_T[2:6, 3] = 1
DECK_FEATURE_MAP = np.array(
    [[0, 2, 3, 0, -1], [0, 2, 5, -1, -1], [0, 0, 6, -3, 0], [0, 0, 6, -3, 0], [0, 0, 4, -2, 0]]
)
DECK_POOL_INPUT = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def photo():
    return np.random.default_rng(0).random((23, 30))


@pytest.fixture(scope="module")
def explorer(photo):
    return ck.conv_explorer(photo, display_now=False)


def _shown(explorer, panel):
    return explorer.figure.axes[panel].get_images()[0].get_array()


def test_importing_widgets_does_not_import_tensorflow():
    code = "import sys, cnnkit.widgets; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ----------------------------------------------------------------------------------------------
# KERNELS
# ----------------------------------------------------------------------------------------------


def test_kernels_are_named_read_only_3x3_arrays():
    expected = {
        "identity", "vertical_edge", "horizontal_edge", "sobel_x", "sobel_y", "blur", "sharpen", "laplacian"
    }
    assert set(ck.KERNELS) == expected
    np.testing.assert_array_equal(ck.KERNELS["vertical_edge"], [[-1, 2, 0]] * 3)
    for kernel in ck.KERNELS.values():
        assert kernel.shape == (3, 3)
        with pytest.raises(ValueError, match="read-only"):
            kernel[0, 0] = 1


@pytest.mark.parametrize("name", ["identity", "blur"])
def test_identity_and_blur_kernels_do_what_they_say(name, photo):
    result = ck.conv2d(photo, ck.KERNELS[name], padding="same")
    if name == "identity":
        np.testing.assert_allclose(result, photo)
    else:
        np.testing.assert_allclose(result[5, 7], photo[4:7, 6:9].mean())


# ----------------------------------------------------------------------------------------------
# conv_explorer
# ----------------------------------------------------------------------------------------------


def test_deck_example_and_relu():
    explorer = ck.conv_explorer(DECK_T, display_now=False)
    np.testing.assert_array_equal(explorer.feature_map, DECK_FEATURE_MAP)
    assert explorer.status_text == "input 7x7 -> output 5x5 (stride 1, padding valid), parameters 10"
    explorer.update(relu=True)
    np.testing.assert_array_equal(explorer.feature_map, np.maximum(DECK_FEATURE_MAP, 0))
    assert explorer.status_text.endswith("(stride 1, padding valid, ReLU), parameters 10")
    # Small inputs get their values written in the cells: 49 + 9 + 25.
    assert [len(ax.texts) for ax in explorer.figure.axes] == [49, 9, 25]


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_stride_and_padding_change_shape_status_and_data(explorer, photo, stride, padding):
    explorer.update(kernel="vertical_edge", stride=stride, padding=padding, relu=False)
    expected = ck.conv2d(photo, ck.KERNELS["vertical_edge"], stride=stride, padding=padding)
    np.testing.assert_array_equal(explorer.feature_map, expected)
    np.testing.assert_array_equal(_shown(explorer, 2), expected)
    size = ck.conv_output_size((23, 30), 3, stride=stride, padding=padding, exact=False)
    assert explorer.output_shape == size
    height, width = explorer.output_shape
    assert explorer.status_text == (
        f"input 23x30 -> output {height}x{width} (stride {stride}, padding {padding}), parameters 10"
    )
    assert explorer.status_label.value == explorer.status_text


@pytest.mark.parametrize("name", sorted(ck.KERNELS))
def test_kernel_choice_changes_the_feature_map(explorer, photo, name):
    explorer.update(kernel=name, stride=2, padding="same", relu=True)
    expected = np.maximum(ck.conv2d(photo, ck.KERNELS[name], stride=2, padding="same"), 0)
    np.testing.assert_array_equal(explorer.feature_map, expected)
    np.testing.assert_array_equal(_shown(explorer, 1), ck.KERNELS[name])
    assert explorer.figure.axes[1].get_title() == f"kernel {name}"


def test_moving_a_control_redraws_like_a_user_would(explorer, photo):
    explorer.update(kernel="sobel_x", stride=1, padding="valid", relu=False)
    before = explorer.png
    explorer.controls["stride"].value = 3
    assert explorer.stride == 3
    assert explorer.output_shape == (7, 10)
    assert "stride 3" in explorer.status_text
    np.testing.assert_array_equal(explorer.feature_map, ck.conv2d(photo, ck.KERNELS["sobel_x"], stride=3))
    assert explorer.png != before


def test_controls_are_the_documented_widgets(explorer):
    controls = explorer.controls
    assert list(controls) == ["kernel", "stride", "padding", "relu"]
    assert (controls["stride"].min, controls["stride"].max) == (1, 3)
    assert list(controls["padding"].options) == ["valid", "same"]
    assert list(controls["kernel"].options) == list(ck.KERNELS)
    explorer.update(stride=2, padding="same", kernel="laplacian")
    values = (controls["stride"].value, controls["padding"].value, controls["kernel"].value)
    assert values == (2, "same", "laplacian")


def test_figure_is_a_png_in_the_output_widget_and_in_the_display_bundle(explorer):
    explorer.update(kernel="blur", stride=2)
    assert explorer.png.startswith(PNG_SIGNATURE)
    (output,) = explorer.output.outputs
    assert output["output_type"] == "display_data"
    assert base64.b64decode(output["data"]["image/png"]) == explorer.png
    bundle = explorer._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == explorer.png
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id
    assert bundle["text/plain"] == f"ConvExplorer({explorer.status_text})"


def test_closed_explorer_still_shows_its_picture():
    explorer = ck.pool_explorer(DECK_POOL_INPUT, display_now=False)
    explorer.close()
    bundle = explorer._repr_mimebundle_()
    assert sorted(bundle) == ["image/png", "text/plain"]
    assert base64.b64decode(bundle["image/png"]) == explorer.png


def test_status_line_of_a_photo_sized_image():
    explorer = ck.conv_explorer(np.zeros((512, 512)), stride=2, display_now=False)
    assert explorer.status_text == "input 512x512 -> output 255x255 (stride 2, padding valid), parameters 10"


def test_large_images_are_averaged_down(photo):
    image = np.random.default_rng(1).random((70, 45))
    explorer = ck.conv_explorer(image, max_size=32, display_now=False)
    assert explorer.scale == 3
    np.testing.assert_allclose(explorer.image, image[:69, :45].reshape(23, 3, 15, 3).mean(axis=(1, 3)))
    assert explorer.status_text.startswith("input 23x15 -> output 21x13")
    assert explorer.figure.axes[0].get_title() == "input 23x15 (1/3 of 70x45)"


def test_color_images_are_turned_to_gray(photo):
    rgb = np.random.default_rng(2).random((9, 8, 3))
    explorer = ck.conv_explorer(rgb, display_now=False)
    np.testing.assert_allclose(explorer.image, rgb @ [0.2125, 0.7154, 0.0721])


def test_custom_kernel_is_offered_as_custom(photo):
    kernel = np.arange(15.0).reshape(3, 5)
    explorer = ck.conv_explorer(photo, kernel=kernel, padding="same", display_now=False)
    assert explorer.kernel_name == "custom"
    np.testing.assert_array_equal(explorer.feature_map, ck.conv2d(photo, kernel, padding="same"))
    assert explorer.status_text.endswith("parameters 16")
    explorer.update(kernel="sharpen")
    expected = ck.conv2d(photo, ck.KERNELS["sharpen"], padding="same")
    np.testing.assert_array_equal(explorer.feature_map, expected)


def test_display_now_without_a_frontend_prints_the_status(capsys):
    explorer = ck.conv_explorer(DECK_T)
    assert capsys.readouterr().out.strip() == f"ConvExplorer({explorer.status_text})"


@pytest.mark.parametrize(
    "image, kwargs, error, message",
    [
        (np.zeros((1, 8, 8, 1)), {}, ValueError,
         r"image must be 2-D \(H, W\) or 3-D .* received a 4-D array of shape \(1, 8, 8, 1\)"),
        (np.array([["a"]]), {}, TypeError, r"image must be a numeric array"),
        (np.zeros((2, 8)), {}, ValueError,
         r"image must be at least 3x3 \(the largest kernel\); received 2x8"),
        (np.zeros((8, 8)), {"kernel": "edges"}, ValueError,
         r"kernel must be one of 'identity', 'vertical_edge'"),
        (np.zeros((8, 8)), {"kernel": np.zeros((3, 3, 1))}, ValueError,
         r"kernel must be a name .* or a 2-D numeric array"),
        (np.zeros((8, 8)), {"stride": 4}, ValueError,
         r"stride must be between 1 and 3 \(the slider's range\); received 4"),
        (np.zeros((8, 8)), {"stride": 1.5}, TypeError, r"stride must be an int; received float 1.5"),
        (np.zeros((8, 8)), {"padding": 1}, TypeError, r"padding must be one of 'valid', 'same'; received int 1"),
        (np.zeros((8, 8)), {"relu": 1}, TypeError, r"relu must be True or False; received int 1"),
        (np.zeros((8, 8)), {"max_size": 4}, ValueError, r"max_size must be >= 8; received 4"),
    ],
)
def test_conv_explorer_rejects_bad_input(image, kwargs, error, message):
    with pytest.raises(error, match=f"conv_explorer: {message}"):
        ck.conv_explorer(image, display_now=False, **kwargs)


def test_update_rejects_values_the_controls_do_not_offer(explorer):
    with pytest.raises(ValueError, match=r"ConvExplorer.update: stride must be between 1 and 3"):
        explorer.update(stride=5)
    with pytest.raises(ValueError, match=r"ConvExplorer.update: kernel must be one of"):
        explorer.update(kernel="custom")


# ----------------------------------------------------------------------------------------------
# pool_explorer
# ----------------------------------------------------------------------------------------------


def test_pool_deck_example():
    explorer = ck.pool_explorer(DECK_POOL_INPUT, display_now=False)
    np.testing.assert_array_equal(explorer.pooled, [[6, 8], [3, 4]])
    assert explorer.status_text == "input 4x4 -> output 2x2 (pool 2x2, stride 2, max), parameters 0"
    explorer.update(mode="avg")
    np.testing.assert_array_equal(explorer.pooled, [[3.25, 5.25], [2.0, 2.0]])
    np.testing.assert_array_equal(_shown(explorer, 1), explorer.pooled)


@pytest.fixture(scope="module")
def pooler(photo):
    return ck.pool_explorer(photo, display_now=False)


@pytest.mark.parametrize("pool_size, stride", [(1, 1), (2, 1), (3, 2), (4, 4), (2, 3)])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_settings_match_cnnkit(pooler, photo, pool_size, stride, mode):
    pooler.update(pool_size=pool_size, stride=stride, mode=mode)
    operation = ck.max_pool2d if mode == "max" else ck.avg_pool2d
    expected = operation(photo, pool_size=pool_size, stride=stride)
    np.testing.assert_array_equal(pooler.pooled, expected)
    assert pooler.output_shape == expected.shape
    assert pooler.status_text == (
        f"input 23x30 -> output {expected.shape[0]}x{expected.shape[1]} "
        f"(pool {pool_size}x{pool_size}, stride {stride}, {mode}), parameters 0"
    )


def test_pool_stride_defaults_to_pool_size_and_colour_is_pooled_per_channel():
    rgb = np.random.default_rng(3).random((12, 10, 3))
    explorer = ck.pool_explorer(rgb, pool_size=3, display_now=False)
    assert explorer.stride == 3
    np.testing.assert_array_equal(explorer.pooled, ck.max_pool2d(rgb[np.newaxis], pool_size=3)[0])
    assert explorer.output_shape == (4, 3)


@pytest.mark.parametrize(
    "image, kwargs, error, message",
    [
        (np.zeros((3, 8)), {}, ValueError,
         r"image must be at least 4x4 \(the largest pooling window\); received 3x8"),
        (np.zeros((8, 8)), {"pool_size": 5}, ValueError, r"pool_size must be between 1 and 4"),
        (np.zeros((8, 8)), {"stride": 0}, ValueError, r"stride must be between 1 and 4 \(the slider.s range\); received 0"),
        (np.zeros((8, 8)), {"mode": "min"}, ValueError, r"mode must be one of 'max', 'avg'; received 'min'"),
        (np.zeros((8, 8)), {"display_now": "no"}, TypeError, r"display_now must be True or False"),
    ],
)
def test_pool_explorer_rejects_bad_input(image, kwargs, error, message):
    with pytest.raises(error, match=f"pool_explorer: {message}"):
        ck.pool_explorer(image, **({"display_now": False} | kwargs))

"""cnnkit.plots: what each figure contains, checked against the data it was given, and
confusion_matrix against scikit-learn."""

import subprocess
import sys
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.special  # noqa: E402
import sklearn.metrics  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from skimage.transform import resize as skimage_resize  # noqa: E402

import cnnkit as ck  # noqa: E402
from cnnkit.plots import _resize  # noqa: E402

RED = to_rgba("tab:red")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_importing_plots_does_not_import_tensorflow():
    code = "import sys, cnnkit.plots; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ----------------------------------------------------------------------------------------------
# plot_history
# ----------------------------------------------------------------------------------------------

HISTORY = {
    "loss": [0.9, 0.5, 0.4],
    "accuracy": [0.6, 0.8, 0.85],
    "val_loss": [1.0, 0.7, 0.65],
    "val_accuracy": [0.55, 0.75, 0.8],
}


@pytest.mark.parametrize(
    "wrap", [dict, lambda record: SimpleNamespace(history=record)], ids=["dict", "History"]
)
def test_history_draws_train_and_validation_per_metric(wrap):
    fig = ck.plot_history(wrap(HISTORY))
    assert len(fig.axes) == 2
    for ax, metric in zip(fig.axes, ("loss", "accuracy")):
        assert ax.get_title() == metric
        train, validation = ax.get_lines()
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(train.get_ydata(), HISTORY[metric])
        np.testing.assert_array_equal(validation.get_ydata(), HISTORY[f"val_{metric}"])
        assert [text.get_text() for text in ax.get_legend().get_texts()] == ["train", "validation"]
        assert (train.get_linestyle(), validation.get_linestyle()) == ("-", "--")   # not told apart by colour only


def test_history_panels_are_laid_out_inside_the_figure_without_overlap():
    # long tick labels (tiny losses) and titles must fit: the layout is computed once, at creation
    fig = ck.plot_history({"loss": [1e-4, 2e-5, 1e-6], "val_loss": [3e-4, 2e-4, 1e-4], "accuracy": [0.5, 0.7, 0.9]})
    renderer = fig.canvas.get_renderer()
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]
    figure = fig.bbox
    for box in boxes:
        assert figure.x0 <= box.x0 and box.x1 <= figure.x1 and figure.y0 <= box.y0 and box.y1 <= figure.y1
    assert boxes[0].x1 <= boxes[1].x0


def test_history_without_validation_has_one_line_and_accepts_one_name():
    fig = ck.plot_history({"loss": np.array([3.0, 2.0])}, metrics="loss")
    assert len(fig.axes) == 1
    assert len(fig.axes[0].get_lines()) == 1


def test_history_missing_metric_names_those_available():
    message = r"plot_history: metrics: 'accuracy' is not in the history; available: 'loss'"
    with pytest.raises(ValueError, match=message):
        ck.plot_history({"loss": [1.0], "val_loss": [1.2]})


@pytest.mark.parametrize(
    "history, metrics, error, message",
    [
        ([0.1, 0.2], ("loss",), TypeError, r"history must be a keras History .* received list"),
        (HISTORY, (), ValueError, r"metrics is empty"),
        (HISTORY, ("loss", 3), TypeError, r"metrics must hold strings; received int 3"),
        ({"loss": []}, ("loss",), ValueError, r"history\['loss'\] has no values"),
    ],
)
def test_history_rejects_bad_input(history, metrics, error, message):
    with pytest.raises(error, match=f"plot_history: {message}"):
        ck.plot_history(history, metrics=metrics)


# ----------------------------------------------------------------------------------------------
# plot_images
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 6, 7), (5, 6, 7, 1), (5, 6, 7, 3)])
def test_images_one_axes_and_image_per_input(shape):
    images = np.random.default_rng(0).random(shape)
    expected = images[..., 0] if shape[-1] == 1 else images
    fig = ck.plot_images(images)
    assert len(fig.axes) == 5
    for ax, image in zip(fig.axes, expected):
        (shown,) = ax.get_images()
        np.testing.assert_array_equal(shown.get_array(), image)


def test_images_grid_follows_ncols():
    fig = ck.plot_images(np.zeros((10, 4, 4)), ncols=4)
    assert len(fig.axes) == 10
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (3, 4)


def test_images_titles_mark_mistakes_in_red():
    labels = np.array([0, 1, 2])
    scores = np.eye(3)[[0, 2, 2]]  # model.predict-like rows: predicted classes 0, 2, 2
    fig = ck.plot_images(np.zeros((3, 4, 4)), labels, predictions=scores)
    titles = [ax.title for ax in fig.axes]
    assert [title.get_text() for title in titles] == ["pred 0", "pred 2 (true 1)", "pred 2"]
    assert [to_rgba(title.get_color()) == RED for title in titles] == [False, True, False]


def test_images_labels_only_and_custom_titles():
    fig = ck.plot_images(np.zeros((2, 4, 4)), [7, 3])
    assert [ax.get_title() for ax in fig.axes] == ["7", "3"]
    fig = ck.plot_images(np.zeros((2, 4, 4)), [7, 3], predictions=[7, 1], titles=["a", "b"])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert to_rgba(fig.axes[1].title.get_color()) == RED


def test_images_shared_gray_limits():
    faint = np.full((2, 4, 4), 0.1)
    faint[1, 0, 0] = 0.2
    own = ck.plot_images(faint)
    assert own.axes[1].get_images()[0].get_clim() == (0.1, 0.2)   # stretched on its own
    shared = ck.plot_images(faint, vmin=0, vmax=1)
    assert [ax.get_images()[0].get_clim() for ax in shared.axes] == [(0.0, 1.0), (0.0, 1.0)]


@pytest.mark.parametrize(
    "images, kwargs, error, message",
    [
        (np.zeros((2, 4, 4)), {"vmin": "0"}, TypeError, r"vmin must be a number; received str '0'"),
        (np.zeros((2, 4, 4)), {"vmax": float("nan")}, ValueError, r"vmax must be a finite number; received nan"),
        (np.zeros((2, 4, 4)), {"vmin": 1, "vmax": 0}, ValueError,
         r"vmin must be smaller than vmax; received vmin=1, vmax=0"),
        (np.zeros((28, 28)), {}, ValueError,
         r"images must be 3-D \(N, H, W\) or 4-D .* received a 2-D array of shape \(28, 28\)"),
        (np.zeros((2, 4, 4, 2)), {}, ValueError,
         r"images must be .* received a 4-D array of shape \(2, 4, 4, 2\)"),
        (np.zeros((0, 4, 4)), {}, ValueError, r"images is empty"),
        (np.zeros((300, 4, 4)), {}, ValueError,
         r"images holds 300 images, more than the 256 .* images\[:32\]"),
        (np.array([["a"]]), {}, TypeError, r"images must be a numeric array"),
        (np.zeros((2, 4, 4)), {"labels": [1, 2, 3]}, ValueError,
         r"labels must hold one class per image \(2\); received 3"),
        (np.zeros((2, 4, 4)), {"labels": [1, -1]}, ValueError,
         r"labels must hold class indices >= 0; received -1"),
        (np.zeros((2, 4, 4)), {"predictions": [0.5, 1.0]}, ValueError,
         r"predictions must hold whole class indices"),
        (np.zeros((2, 4, 4)), {"titles": ["one"]}, ValueError,
         r"titles must hold one string per image \(2\); received 1 titles"),
        (np.zeros((2, 4, 4)), {"ncols": 0}, ValueError, r"ncols must be >= 1; received 0"),
    ],
)
def test_images_rejects_bad_input(images, kwargs, error, message):
    with pytest.raises(error, match=f"plot_images: {message}"):
        ck.plot_images(images, **kwargs)


# ----------------------------------------------------------------------------------------------
# plot_filters and plot_feature_maps
# ----------------------------------------------------------------------------------------------


def test_filters_one_panel_per_filter_scaled_to_unit_range():
    weights = np.random.default_rng(1).standard_normal((3, 3, 2, 5))
    fig = ck.plot_filters(weights)
    assert len(fig.axes) == 5
    for index, ax in enumerate(fig.axes):
        first_channel = weights[:, :, 0, index]
        expected = (first_channel - first_channel.min()) / (first_channel.max() - first_channel.min())
        np.testing.assert_allclose(ax.get_images()[0].get_array(), expected)


def test_filters_rgb_when_three_channels_and_max_filters():
    weights = np.random.default_rng(2).standard_normal((5, 5, 3, 12))
    fig = ck.plot_filters(weights, max_filters=10)
    assert len(fig.axes) == 10
    assert fig.axes[0].get_images()[0].get_array().shape == (5, 5, 3)
    assert fig.get_suptitle() == "first 10 of 12 filters"


def test_filters_constant_filter_is_drawn_mid_gray():
    fig = ck.plot_filters(np.ones((3, 3, 1, 1)))
    np.testing.assert_array_equal(fig.axes[0].get_images()[0].get_array(), np.full((3, 3), 0.5))


def test_filters_signed_share_one_scale_centred_on_zero_with_a_colour_bar():
    weights = np.random.default_rng(4).standard_normal((3, 3, 2, 6))
    fig = ck.plot_filters(weights, max_filters=5, signed=True)
    panels, colour_bar = fig.axes[:5], fig.axes[5:]
    largest = np.abs(weights[:, :, 0, :5]).max()
    for index, ax in enumerate(panels):
        image = ax.get_images()[0]
        np.testing.assert_array_equal(image.get_array(), weights[:, :, 0, index])   # raw weights, not rescaled
        assert image.get_clim() == (-largest, largest) and image.get_cmap().name == "RdBu_r"
    assert len(colour_bar) == 1 and colour_bar[0].get_ylabel() == "weight"


def test_filters_rejects_other_ranks():
    message = r"plot_filters: weights must be 4-D \(KH, KW, C, F\).* shape \(3, 3, 8\)"
    with pytest.raises(ValueError, match=message):
        ck.plot_filters(np.zeros((3, 3, 8)))


@pytest.mark.parametrize("shape, count", [((6, 6, 10), 10), ((1, 6, 6, 33), 32)])
def test_feature_maps_one_panel_per_map_up_to_max_maps(shape, count):
    maps = np.random.default_rng(3).random(shape)
    fig = ck.plot_feature_maps(maps)
    assert len(fig.axes) == count
    last = maps.reshape(6, 6, -1)[:, :, count - 1]
    np.testing.assert_array_equal(fig.axes[-1].get_images()[0].get_array(), last)


def test_feature_maps_max_maps_setting():
    assert len(ck.plot_feature_maps(np.zeros((4, 4, 10)), max_maps=3).axes) == 3


@pytest.mark.parametrize(
    "shape, message",
    [
        ((2, 6, 6, 4), r"maps must belong to one image.* received 2 images"),
        ((6, 6), r"maps must be 3-D \(H, W, F\) or 4-D \(1, H, W, F\); received a 2-D array"),
    ],
)
def test_feature_maps_rejects_bad_shapes(shape, message):
    with pytest.raises(ValueError, match=f"plot_feature_maps: {message}"):
        ck.plot_feature_maps(np.zeros(shape))


# ----------------------------------------------------------------------------------------------
# confusion_matrix and plot_confusion_matrix
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_classes", [None, 5, 7])
def test_confusion_matrix_matches_sklearn(num_classes):
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 5, size=300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 5, size=300))
    matrix = ck.confusion_matrix(y_true, y_pred, num_classes=num_classes)
    size = num_classes or 5
    expected = sklearn.metrics.confusion_matrix(y_true, y_pred, labels=np.arange(size))
    assert matrix.dtype == np.int64
    np.testing.assert_array_equal(matrix, expected)


def test_confusion_matrix_accepts_one_hot_and_scores():
    y_true = np.array([0, 1, 2, 2])
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.0, 0.1, 0.9], [0.1, 0.1, 0.8]])
    np.testing.assert_array_equal(
        ck.confusion_matrix(np.eye(3)[y_true], scores), [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    )


@pytest.mark.parametrize(
    "y_true, y_pred, kwargs, message",
    [
        ([0, 1], [0, 1, 1], {}, r"y_true and y_pred must have the same length; received 2 and 3"),
        ([0, -2], [0, 1], {}, r"y_true must hold class indices >= 0; received -2"),
        ([0, 4], [0, 1], {"num_classes": 3}, r"num_classes is 3 but the inputs hold class 4"),
        ([0, 1.5], [0, 1], {}, r"y_true must hold whole class indices"),
    ],
)
def test_confusion_matrix_rejects_bad_input(y_true, y_pred, kwargs, message):
    with pytest.raises(ValueError, match=f"confusion_matrix: {message}"):
        ck.confusion_matrix(y_true, y_pred, **kwargs)


def _cell_texts(fig):
    return [text.get_text() for text in fig.axes[0].texts]


def test_plot_confusion_matrix_writes_counts_in_cells():
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = ck.plot_confusion_matrix(matrix, class_names=["cat", "dog", "bird"])
    assert len(fig.axes) == 1
    np.testing.assert_array_equal(fig.axes[0].get_images()[0].get_array(), matrix)
    assert _cell_texts(fig) == [str(value) for value in matrix.ravel()]
    assert [label.get_text() for label in fig.axes[0].get_xticklabels()] == ["cat", "dog", "bird"]


def test_plot_confusion_matrix_normalised_rows_sum_to_one():
    matrix = np.array([[3, 1], [0, 0]])
    fig = ck.plot_confusion_matrix(matrix, normalize=True)
    assert _cell_texts(fig) == ["0.75", "0.25", "0.00", "0.00"]


@pytest.mark.parametrize(
    "matrix, kwargs, error, message",
    [
        (np.zeros((2, 3)), {}, ValueError, r"matrix must be square \(K, K\); received shape \(2, 3\)"),
        (np.array([[1, -1], [0, 1]]), {}, ValueError, r"matrix must hold finite counts >= 0"),
        (np.eye(2), {"class_names": ["a"]}, ValueError,
         r"class_names must hold 2 names, one per class; received 1 names"),
        (np.eye(2), {"normalize": "yes"}, TypeError, r"normalize must be True or False"),
    ],
)
def test_plot_confusion_matrix_rejects_bad_input(matrix, kwargs, error, message):
    with pytest.raises(error, match=f"plot_confusion_matrix: {message}"):
        ck.plot_confusion_matrix(matrix, **kwargs)


# ----------------------------------------------------------------------------------------------
# plot_heatmap_overlay
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, target", [((2, 2), (8, 8)), ((3, 5), (7, 11)), ((7, 7), (28, 28)), ((6, 4), (3, 2))]
)
@pytest.mark.parametrize("method, order", [("bilinear", 1), ("nearest", 0)])
def test_resize_matches_scikit_image(source, target, method, order):
    values = np.random.default_rng(5).random(source)
    expected = skimage_resize(values, target, order=order, mode="edge", anti_aliasing=False)
    np.testing.assert_allclose(_resize(values, *target, method), expected, atol=1e-12)


@pytest.mark.parametrize("image_shape", [(8, 10), (8, 10, 1), (8, 10, 3)])
def test_overlay_draws_image_then_resized_heatmap(image_shape):
    image = np.random.default_rng(6).random(image_shape)
    heatmap = np.array([[0.0, 1.0], [0.5, 0.25]])
    fig = ck.plot_heatmap_overlay(image, heatmap, alpha=0.4)
    (ax,) = fig.axes
    picture, heat = ax.get_images()
    assert picture.get_array().shape == (image_shape if image_shape[2:] == (3,) else image_shape[:2])
    np.testing.assert_allclose(heat.get_array(), _resize(heatmap, 8, 10, "bilinear"))
    assert heat.get_alpha() == 0.4


def test_overlay_default_colour_map_is_perceptually_uniform_and_any_map_can_be_passed():
    default = ck.plot_heatmap_overlay(np.zeros((4, 4)), np.ones((2, 2)))
    chosen = ck.plot_heatmap_overlay(np.zeros((4, 4)), np.ones((2, 2)), cmap="magma")
    assert default.axes[0].get_images()[1].get_cmap().name == "viridis"
    assert chosen.axes[0].get_images()[1].get_cmap().name == "magma"


def test_overlay_draws_into_a_given_axes():
    fig, axes = plt.subplots(1, 2)
    returned = ck.plot_heatmap_overlay(np.zeros((4, 4)), np.ones((2, 2)), ax=axes[1], interpolation="nearest")
    assert returned is fig
    assert len(axes[1].get_images()) == 2 and len(axes[0].get_images()) == 0
    np.testing.assert_array_equal(axes[1].get_images()[1].get_array(), np.ones((4, 4)))


@pytest.mark.parametrize(
    "heatmap, kwargs, error, message",
    [
        (np.full((2, 2), 2.0), {}, ValueError,
         r"heatmap must be scaled to \[0, 1\]; received values from 2 to 2"),
        (np.full((2, 2), np.nan), {}, ValueError, r"heatmap must be finite"),
        (np.zeros((2, 2, 2)), {}, ValueError, r"heatmap must be 2-D \(h, w\); received a 3-D array"),
        (np.zeros((2, 2)), {"alpha": 1.5}, ValueError, r"alpha must be in \[0, 1\]; received 1.5"),
        (np.zeros((2, 2)), {"alpha": "half"}, TypeError, r"alpha must be a number"),
        (np.zeros((2, 2)), {"interpolation": "cubic"}, ValueError,
         r"interpolation must be one of 'bilinear', 'nearest'; received 'cubic'"),
        (np.zeros((2, 2)), {"ax": "left"}, TypeError, r"ax must be a matplotlib Axes; received str"),
    ],
)
def test_overlay_rejects_bad_input(heatmap, kwargs, error, message):
    with pytest.raises(error, match=f"plot_heatmap_overlay: {message}"):
        ck.plot_heatmap_overlay(np.zeros((4, 4)), heatmap, **kwargs)


def test_overlay_rejects_a_batch_as_image():
    message = r"plot_heatmap_overlay: image must be 2-D \(H, W\) .* shape \(1, 4, 4, 1\)"
    with pytest.raises(ValueError, match=message):
        ck.plot_heatmap_overlay(np.zeros((1, 4, 4, 1)), np.zeros((2, 2)))


# ----------------------------------------------------------------------------------------------
# plot_activations
# ----------------------------------------------------------------------------------------------

ORACLES = {
    "sigmoid": scipy.special.expit,
    "tanh": np.tanh,
    "relu": lambda x: np.where(x > 0, x, 0.0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.1 * x),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "swish": lambda x: x * scipy.special.expit(x),
    "linear": lambda x: x,
}


def test_activations_default_curves_match_formulas():
    fig = ck.plot_activations()
    lines = fig.axes[0].get_lines()
    assert len(lines) == 5
    for line, name in zip(lines, ("sigmoid", "tanh", "relu", "leaky_relu", "elu")):
        x = line.get_xdata()
        assert x[0] == -5 and x[-1] == 5
        np.testing.assert_allclose(line.get_ydata(), ORACLES[name](x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_each_activation_on_given_inputs(name):
    x = np.linspace(-3, 3, 13)
    (line,) = ck.plot_activations(name, x=x).axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), ORACLES[name](x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "names, kwargs, error, message",
    [
        (("relu", "gelu"), {}, ValueError, r"names holds an unknown activation 'gelu'; known: linear, sigmoid, tanh"),
        ((), {}, ValueError, r"names is empty"),
        ((1,), {}, TypeError, r"names must hold strings"),
        (("relu",), {"x": np.zeros((2, 2))}, ValueError,
         r"x must be a non-empty 1-D array; received shape \(2, 2\)"),
    ],
)
def test_activations_reject_bad_input(names, kwargs, error, message):
    with pytest.raises(error, match=f"plot_activations: {message}"):
        ck.plot_activations(names, **kwargs)

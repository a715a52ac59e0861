"""Interactive explorers (ipywidgets) for convolution and pooling, that also show up in a saved
notebook.

``conv_explorer(image)`` shows controls for the kernel, the stride, the padding and a ReLU, and
below them the input, the kernel and the feature map, recomputed with :func:`cnnkit.conv2d` on
every change, with a line such as
``input 512x512 -> output 255x255 (stride 2, padding valid), parameters 10``.
``pool_explorer(image)`` does the same for :func:`cnnkit.max_pool2d` / :func:`cnnkit.avg_pool2d`.

How the figure is shown
-----------------------
Each state is drawn once with matplotlib's Agg renderer into PNG bytes (no pyplot figure is
created, so the inline backend never adds a second copy). The PNG goes

* into an ``ipywidgets.Output`` below the controls, as the same ``display_data`` output
  (``image/png`` + ``text/plain``) that the inline backend would produce; every change replaces it;
* into the explorer's own display bundle, next to the widget view: a frontend with widgets
  (JupyterLab, Notebook 7, VS Code) draws the live widget, while a viewer without widgets
  (GitHub, nbviewer, ``nbconvert --to html`` without widget state) falls back to the
  ``image/png`` of the state at display time. An executed notebook therefore holds a regular
  ``image/png`` output in the cell.

The explorers need no frontend: with ``display_now=False`` (or outside Jupyter) they compute
and draw all the same, which is how the tests drive them (``explorer.update(stride=2)``).
"""

from __future__ import annotations

import base64
import io
import math

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cnnkit._checks import flag as _flag
from cnnkit._checks import image as _image
from cnnkit._checks import int_in_range, numeric_array, positive_int
from cnnkit._checks import one_of as _choice
from cnnkit._types import ArrayLike
from cnnkit.conv import conv2d
from cnnkit.pool import avg_pool2d, max_pool2d
from cnnkit.sizes import conv2d_params

__all__ = ["KERNELS", "ConvExplorer", "PoolExplorer", "conv_explorer", "pool_explorer"]


def _kernel(rows) -> np.ndarray:
    array = np.array(rows, dtype=np.float64)
    array.setflags(write=False)  # shared by every explorer: nobody may edit them in place
    return array


KERNELS: dict[str, np.ndarray] = {
    "identity": _kernel([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    # The kernel of the worked 7x7 example: strong response left of a vertical stroke.
    "vertical_edge": _kernel([[-1, 2, 0], [-1, 2, 0], [-1, 2, 0]]),
    "horizontal_edge": _kernel([[-1, -1, -1], [2, 2, 2], [0, 0, 0]]),
    "sobel_x": _kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel_y": _kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "blur": _kernel(np.full((3, 3), 1 / 9)),
    "sharpen": _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "laplacian": _kernel([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
}
"""Named 3x3 kernels ``(KH, KW)`` for teaching (read-only arrays)."""

_CUSTOM_KERNEL = "custom"
_STRIDES = (1, 3)
_PADDINGS = ("valid", "same")
_POOL_SIZES = (1, 4)
_POOL_STRIDES = (1, 4)
_POOL_MODES = ("max", "avg")
# Images up to this size get their values written in the cells (the deck's 7x7 and 4x4 examples).
_ANNOTATE_UP_TO = 12
_DPI = 80


# ----------------------------------------------------------------------------------------------
# Input checks
# ----------------------------------------------------------------------------------------------


def _downscale(image: np.ndarray, max_size: int) -> tuple[np.ndarray, int]:
    """Average ``factor x factor`` blocks so that no side exceeds ``max_size``: keeps every
    redraw well under 0.2 s for large photos."""
    factor = math.ceil(max(image.shape[:2]) / max_size)
    if factor <= 1:
        return image, 1
    height, width = image.shape[0] // factor, image.shape[1] // factor
    cropped = image[: height * factor, : width * factor]
    blocks = cropped.reshape(height, factor, width, factor, *image.shape[2:])
    return blocks.mean(axis=(1, 3)), factor


def _in_range(func: str, name: str, value, bounds: tuple[int, int]) -> int:
    return int_in_range(func, name, value, bounds[0], bounds[1], why="the slider's range")


# ----------------------------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------------------------


def _size(shape) -> str:
    return f"{shape[0]}x{shape[1]}"


class _Panel:
    """One axes showing an array: the image artist is created once and only its data, limits
    and title change afterwards (clearing and rebuilding an axes costs most of a redraw)."""

    def __init__(self, ax, *, cmap: str = "gray", symmetric: bool = False) -> None:
        self.ax = ax
        self.cmap = cmap
        self.symmetric = symmetric
        ax.set_axis_off()  # ticks are slow to draw and say nothing here
        self.picture = None
        self.labels = []

    def show(self, values: np.ndarray, title: str) -> None:
        if values.ndim == 3:
            low, high = values.min(), values.max()
            shown = values if low >= 0 and high <= 1 else (values - low) / max(high - low, 1e-12)
            limits = (0.0, 1.0)
        else:
            shown = values
            if self.symmetric:
                limit = max(float(np.abs(values).max()), 1e-12)
                limits = (-limit, limit)
            else:
                limits = (float(values.min()), float(values.max()))
                if limits[1] - limits[0] < 1e-12:
                    limits = (limits[0] - 0.5, limits[0] + 0.5)
        height, width = values.shape[:2]
        extent = (-0.5, width - 0.5, height - 0.5, -0.5)
        if self.picture is None or self.picture.get_array().ndim != shown.ndim:
            if self.picture is not None:
                self.picture.remove()
            # "auto": crisp cells for small arrays, smoothed (and smaller PNGs) for photos.
            self.picture = self.ax.imshow(shown, cmap=self.cmap, interpolation="auto", extent=extent)
        else:
            self.picture.set_data(shown)
            self.picture.set_extent(extent)
        self.picture.set_clim(*limits)
        self.ax.set_xlim(extent[0], extent[1])
        self.ax.set_ylim(extent[2], extent[3])
        self.ax.set_title(title, fontsize=10)
        for label in self.labels:
            label.remove()
        self.labels = []
        if values.ndim == 2 and max(values.shape) <= _ANNOTATE_UP_TO:
            self._write_values(values, limits)

    def _write_values(self, values: np.ndarray, limits: tuple[float, float]) -> None:
        """Write each value in its cell, in black or white, whichever reads on the cell's colour."""
        low, high = limits
        for (row, column), value in np.ndenumerate(values):
            if value == np.round(value):
                text = f"{value:.0f}"
            else:
                text = f"{value:.2f}".rstrip("0").rstrip(".")
            if self.symmetric:
                dark = abs(value) > 0.6 * high
            else:
                dark = value < (low + high) / 2
            self.labels.append(self.ax.text(
                column, row, text, ha="center", va="center", fontsize=8,
                color="white" if dark else "black",
            ))


class _Explorer:
    """What both explorers share: controls, one figure rendered to PNG, an Output widget, a
    status line, and a display bundle with a static image for viewers without widgets."""

    _func = "_Explorer"
    _panel_styles: tuple[dict, ...] = ({},)

    def __init__(self, controls: dict[str, widgets.Widget], css_class: str) -> None:
        self.controls = controls
        self.status_label = widgets.Label()
        self.status_label.add_class("cnnkit-status")
        self.output = widgets.Output()
        self.output.add_class("cnnkit-figure")
        for control in controls.values():
            control.layout.width = "240px"
        row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([row, self.status_label, self.output])
        self.widget.add_class(css_class)
        # A fixed layout: constrained layout would be solved again on every redraw.
        self.figure = Figure(figsize=(3.3 * len(self._panel_styles), 3.6), dpi=_DPI)
        FigureCanvasAgg(self.figure)
        axes = self.figure.subplots(
            1, len(self._panel_styles), squeeze=False,
            gridspec_kw={"left": 0.02, "right": 0.98, "bottom": 0.02, "top": 0.9, "wspace": 0.1},
        )[0]
        self.panels = [_Panel(ax, **style) for ax, style in zip(axes, self._panel_styles)]
        self.png = b""
        self.status_text = ""
        self._batch = False
        for control in controls.values():
            control.observe(self._on_change, names="value")

    # -- state ---------------------------------------------------------------------------------

    def _compute(self) -> None:
        raise NotImplementedError

    def _draw(self) -> None:
        raise NotImplementedError

    def _on_change(self, change) -> None:
        if not self._batch:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the output from the controls' values and redraw the figure and status."""
        self._compute()
        self._draw()
        buffer = io.BytesIO()
        # No "Software" entry: the same state gives the same bytes on every matplotlib version.
        self.figure.savefig(buffer, format="png", metadata={"Software": None},
                            pil_kwargs={"compress_level": 1})
        self.png = buffer.getvalue()
        self.status_label.value = self.status_text
        width, height = self.figure.get_size_inches() * _DPI
        self.output.outputs = (
            {
                "output_type": "display_data",
                "data": {
                    "image/png": base64.b64encode(self.png).decode("ascii"),
                    "text/plain": f"<Figure size {width:.0f}x{height:.0f} with {len(self.panels)} Axes>",
                },
                "metadata": {},
            },
        )

    def _set(self, values: dict) -> None:
        """Set several controls, then redraw once (not once per control)."""
        self._batch = True
        try:
            for name, value in values.items():
                if value is not None:
                    self.controls[name].value = value
        finally:
            self._batch = False
        self.refresh()

    # -- display -------------------------------------------------------------------------------

    def _repr_mimebundle_(self, include=None, exclude=None):
        # A closed widget has no view any more: then only the picture and the text remain.
        live = self.widget.comm is not None
        bundle = dict(self.widget._repr_mimebundle_()) if live else {}
        bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status_text})"

    def close(self) -> None:
        """Close the widgets (their views disappear from the notebook)."""
        for item in (*self.controls.values(), self.status_label, self.output, self.widget):
            item.close()


# ----------------------------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------------------------


class ConvExplorer(_Explorer):
    """Controls and figure of :func:`conv_explorer` (build it with that function).

    Attributes
    ----------
    image : ndarray of shape (H, W)
        The gray image convolved (downscaled when the original was larger than ``max_size``).
    scale : int
        The downscaling factor (1 when the image was used as it is).
    controls : dict of str to ipywidgets.Widget
        "kernel" (Dropdown), "stride" (IntSlider 1..3), "padding" (Dropdown valid / same),
        "relu" (Checkbox).
    widget : ipywidgets.VBox
        The controls, the status line (``status_label``) and the figure (``output``).
    figure : matplotlib.figure.Figure
        Three axes: input, kernel, feature map (drawn off-screen, not with pyplot).
    png : bytes
        The current figure as PNG.
    feature_map : ndarray of shape (H', W')
        ``conv2d(image, kernel, stride=stride, padding=padding)``, then ``max(0, .)`` with ReLU.
    status_text : str
        e.g. ``"input 512x512 -> output 255x255 (stride 2, padding valid), parameters 10"``.
    """

    _func = "conv_explorer"
    _panel_styles = ({}, {"cmap": "RdBu_r", "symmetric": True}, {})

    def __init__(self, image, *, kernel="vertical_edge", stride: int = 1, padding: str = "valid",
                 relu: bool = False, max_size: int = 512) -> None:
        func = self._func
        max_size = positive_int(func, "max_size", max_size, minimum=8)
        full = _image(func, image, keep_color=False)
        self.image, self.scale = _downscale(full, max_size)
        self.original_shape = full.shape
        self._kernels = dict(KERNELS)
        if isinstance(kernel, str):
            _choice(func, "kernel", kernel, tuple(KERNELS))
            name = kernel
        else:
            custom = numeric_array(func, "kernel", kernel)
            if custom.ndim != 2 or custom.size == 0 or not np.all(np.isfinite(custom)):
                raise ValueError(
                    f"{func}: kernel must be a name ({', '.join(KERNELS)}) or a 2-D numeric array "
                    f"(KH, KW); received {type(kernel).__name__} of shape {custom.shape}, dtype "
                    f"{custom.dtype}"
                )
            custom = custom.astype(np.float64)
            custom.setflags(write=False)
            self._kernels[_CUSTOM_KERNEL] = custom
            name = _CUSTOM_KERNEL
        largest = max(max(k.shape) for k in self._kernels.values())
        if min(self.image.shape) < largest:
            raise ValueError(
                f"{func}: image must be at least {largest}x{largest} (the largest kernel); "
                f"received {_size(self.image.shape)}"
            )
        stride = _in_range(func, "stride", stride, _STRIDES)
        padding = _choice(func, "padding", padding, _PADDINGS)
        relu = _flag(func, "relu", relu)
        controls = {
            "kernel": widgets.Dropdown(options=list(self._kernels), value=name, description="kernel"),
            "stride": widgets.IntSlider(value=stride, min=_STRIDES[0], max=_STRIDES[1], description="stride"),
            "padding": widgets.Dropdown(options=list(_PADDINGS), value=padding, description="padding"),
            "relu": widgets.Checkbox(value=relu, description="ReLU"),
        }
        for key, control in controls.items():
            control.add_class(f"cnnkit-{key}")
        super().__init__(controls, "cnnkit-conv-explorer")
        self.refresh()

    @property
    def kernel_name(self) -> str:
        return self.controls["kernel"].value

    @property
    def kernel(self) -> np.ndarray:
        return self._kernels[self.kernel_name]

    @property
    def stride(self) -> int:
        return self.controls["stride"].value

    @property
    def padding(self) -> str:
        return self.controls["padding"].value

    @property
    def relu(self) -> bool:
        return self.controls["relu"].value

    @property
    def output_shape(self) -> tuple[int, int]:
        """``(H', W')`` of the feature map."""
        return self.feature_map.shape

    def update(self, *, kernel: str | None = None, stride: int | None = None,
               padding: str | None = None, relu: bool | None = None) -> ConvExplorer:
        """Set controls as a user would (settings left as None keep their value), then redraw.

        Raises
        ------
        TypeError, ValueError
            If a value is not one the control offers.
        """
        func = "ConvExplorer.update"
        values = {
            "kernel": None if kernel is None else _choice(func, "kernel", kernel, tuple(self._kernels)),
            "stride": None if stride is None else _in_range(func, "stride", stride, _STRIDES),
            "padding": None if padding is None else _choice(func, "padding", padding, _PADDINGS),
            "relu": None if relu is None else _flag(func, "relu", relu),
        }
        self._set(values)
        return self

    def _compute(self) -> None:
        result = conv2d(self.image, self.kernel, stride=self.stride, padding=self.padding)
        self.feature_map = np.maximum(result, 0.0) if self.relu else result
        extra = ", ReLU" if self.relu else ""
        parameters = conv2d_params(self.kernel.shape, 1, 1)
        self.status_text = (
            f"input {_size(self.image.shape)} -> output {_size(self.feature_map.shape)} "
            f"(stride {self.stride}, padding {self.padding}{extra}), parameters {parameters}"
        )

    def _draw(self) -> None:
        source = f"input {_size(self.image.shape)}"
        if self.scale > 1:
            source += f" (1/{self.scale} of {_size(self.original_shape)})"
        self.panels[0].show(self.image, source)
        self.panels[1].show(self.kernel, f"kernel {self.kernel_name}")
        self.panels[2].show(self.feature_map,
              f"feature map {_size(self.feature_map.shape)}" + (" after ReLU" if self.relu else ""))


def conv_explorer(image: ArrayLike, *, kernel: str | ArrayLike = "vertical_edge", stride: int = 1, padding: str = "valid",
                  relu: bool = False, max_size: int = 512, display_now: bool = True) -> ConvExplorer:
    """Explore a 2-D convolution interactively: kernel, stride, padding, ReLU.

    Every change recomputes ``cnnkit.conv2d(image, kernel, stride=stride, padding=padding)``
    (then ``max(0, .)`` with ReLU) and redraws input | kernel | feature map with the line
    ``input HxW -> output H'xW' (stride S, padding P), parameters N``, where ``N`` counts the
    kernel's weights plus one bias (``conv2d_params(3, 1, 1) == 10``). The output size follows
    ``O = floor((I - F + 2P) / S) + 1`` ("valid": ``P = 0``; "same": ``O = ceil(I / S)``).

    Parameters
    ----------
    image : ndarray of shape (H, W), (H, W, 1) or (H, W, 3)
        The picture; RGB is turned to gray (Rec. 709 luma). At least as large as the kernel.
    kernel : str or ndarray of shape (KH, KW), default "vertical_edge"
        A name from :data:`KERNELS`, or your own 2-D kernel (listed as "custom").
    stride : int, default 1
        1, 2 or 3.
    padding : {"valid", "same"}, default "valid"
    relu : bool, default False
        Apply ReLU to the feature map.
    max_size : int, default 512
        Images with a side longer than this are shrunk by averaging blocks, so that every
        redraw stays quick; ``explorer.image`` is the image actually used.
    display_now : bool, default True
        Display the explorer at once (in Jupyter). Assign the result (``explorer = ...``) so that
        it is not displayed a second time as the cell's value.

    Returns
    -------
    ConvExplorer
        Change settings with ``explorer.update(stride=2)``; read ``explorer.output_shape``,
        ``explorer.feature_map``, ``explorer.status_text``; ``explorer.widget`` is the widget and
        ``explorer.figure`` the matplotlib figure.

    Raises
    ------
    TypeError
        If the image or a setting has the wrong type.
    ValueError
        If the image has the wrong shape or is smaller than the kernel, or a setting is outside
        what the controls offer.

    Examples
    --------
    >>> explorer = conv_explorer(ck.load_photo("camera"), stride=2, display_now=False)
    >>> explorer.status_text
    'input 512x512 -> output 255x255 (stride 2, padding valid), parameters 10'
    """
    explorer = ConvExplorer(image, kernel=kernel, stride=stride, padding=padding, relu=relu,
                            max_size=max_size)
    if _flag("conv_explorer", "display_now", display_now):
        _display(explorer)
    return explorer


# ----------------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------------


class PoolExplorer(_Explorer):
    """Controls and figure of :func:`pool_explorer` (build it with that function).

    Attributes
    ----------
    image : ndarray of shape (H, W) or (H, W, 3)
        The image pooled (downscaled when larger than ``max_size``).
    controls : dict of str to ipywidgets.Widget
        "pool_size" (IntSlider 1..4), "stride" (IntSlider 1..4), "mode" (ToggleButtons max / avg).
    pooled : ndarray of shape (H', W') or (H', W', 3)
        ``max_pool2d`` or ``avg_pool2d`` of ``image`` with the current settings.
    status_text : str
        e.g. ``"input 512x512 -> output 256x256 (pool 2x2, stride 2, max), parameters 0"``.
    widget, figure, png, output, status_label
        As for :class:`ConvExplorer` (two axes: input, output).
    """

    _func = "pool_explorer"
    _panel_styles = ({}, {})

    def __init__(self, image, *, pool_size: int = 2, stride: int | None = None, mode: str = "max",
                 max_size: int = 512) -> None:
        func = self._func
        max_size = positive_int(func, "max_size", max_size, minimum=8)
        full = _image(func, image, keep_color=True)
        self.image, self.scale = _downscale(full, max_size)
        self.original_shape = full.shape
        pool_size = _in_range(func, "pool_size", pool_size, _POOL_SIZES)
        stride = pool_size if stride is None else _in_range(func, "stride", stride, _POOL_STRIDES)
        mode = _choice(func, "mode", mode, _POOL_MODES)
        if min(self.image.shape[:2]) < _POOL_SIZES[1]:
            raise ValueError(
                f"{func}: image must be at least {_POOL_SIZES[1]}x{_POOL_SIZES[1]} (the largest "
                f"pooling window); received {_size(self.image.shape)}"
            )
        controls = {
            "pool_size": widgets.IntSlider(value=pool_size, min=_POOL_SIZES[0], max=_POOL_SIZES[1],
                                           description="pool size"),
            "stride": widgets.IntSlider(value=stride, min=_POOL_STRIDES[0], max=_POOL_STRIDES[1],
                                        description="stride"),
            "mode": widgets.ToggleButtons(options=list(_POOL_MODES), value=mode, description="mode"),
        }
        for key, control in controls.items():
            control.add_class(f"cnnkit-{key.replace('_', '-')}")
        super().__init__(controls, "cnnkit-pool-explorer")
        self.refresh()

    @property
    def pool_size(self) -> int:
        return self.controls["pool_size"].value

    @property
    def stride(self) -> int:
        return self.controls["stride"].value

    @property
    def mode(self) -> str:
        return self.controls["mode"].value

    @property
    def output_shape(self) -> tuple[int, int]:
        """``(H', W')`` of the pooled image."""
        return self.pooled.shape[:2]

    def update(self, *, pool_size: int | None = None, stride: int | None = None,
               mode: str | None = None) -> PoolExplorer:
        """Set controls as a user would (settings left as None keep their value), then redraw.

        Raises
        ------
        TypeError, ValueError
            If a value is not one the control offers.
        """
        func = "PoolExplorer.update"
        values = {
            "pool_size": None if pool_size is None else _in_range(func, "pool_size", pool_size, _POOL_SIZES),
            "stride": None if stride is None else _in_range(func, "stride", stride, _POOL_STRIDES),
            "mode": None if mode is None else _choice(func, "mode", mode, _POOL_MODES),
        }
        self._set(values)
        return self

    def _compute(self) -> None:
        pool = max_pool2d if self.mode == "max" else avg_pool2d
        batch = self.image[np.newaxis] if self.image.ndim == 3 else self.image
        result = pool(batch, pool_size=self.pool_size, stride=self.stride)
        self.pooled = result[0] if self.image.ndim == 3 else result
        self.status_text = (
            f"input {_size(self.image.shape)} -> output {_size(self.pooled.shape)} "
            f"(pool {self.pool_size}x{self.pool_size}, stride {self.stride}, {self.mode}), "
            f"parameters 0"
        )

    def _draw(self) -> None:
        source = f"input {_size(self.image.shape)}"
        if self.scale > 1:
            source += f" (1/{self.scale} of {_size(self.original_shape)})"
        self.panels[0].show(self.image, source)
        self.panels[1].show(self.pooled, f"{self.mode} pool {_size(self.pooled.shape)}")


def pool_explorer(image: ArrayLike, *, pool_size: int = 2, stride: int | None = None, mode: str = "max",
                  max_size: int = 512, display_now: bool = True) -> PoolExplorer:
    """Explore max and average pooling interactively: window size, stride, mode.

    Every change recomputes ``cnnkit.max_pool2d`` or ``cnnkit.avg_pool2d`` (padding "valid":
    ``O = floor((I - F) / S) + 1``) and redraws input | output with the line
    ``input HxW -> output H'xW' (pool FxF, stride S, max), parameters 0`` (pooling learns nothing).

    Parameters
    ----------
    image : ndarray of shape (H, W), (H, W, 1) or (H, W, 3)
        The picture, at least 4x4; RGB channels are pooled each on its own.
    pool_size : int, default 2
        Window size ``F``, 1 to 4.
    stride : int, optional
        Step ``S``, 1 to 4; by default equal to ``pool_size`` (windows do not overlap).
    mode : {"max", "avg"}, default "max"
    max_size : int, default 512
        Images with a side longer than this are shrunk by averaging blocks.
    display_now : bool, default True
        Display the explorer at once (in Jupyter); assign the result so it is not shown twice.

    Returns
    -------
    PoolExplorer
        ``explorer.update(pool_size=3, stride=2, mode="avg")``; ``explorer.output_shape``,
        ``explorer.pooled``, ``explorer.status_text``.

    Raises
    ------
    TypeError
        If the image or a setting has the wrong type.
    ValueError
        If the image has the wrong shape or is smaller than 4x4, or a setting is outside what
        the controls offer.

    Examples
    --------
    >>> deck = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])
    >>> pool_explorer(deck, display_now=False).pooled
    array([[6., 8.],
           [3., 4.]])
    """
    explorer = PoolExplorer(image, pool_size=pool_size, stride=stride, mode=mode, max_size=max_size)
    if _flag("pool_explorer", "display_now", display_now):
        _display(explorer)
    return explorer


def _display(explorer: _Explorer) -> None:
    from IPython.display import display

    display(explorer)

"""Where the notebook runs and what TensorFlow can compute on, returned as data."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from cnnkit._checks import mapping

__all__ = ["DeviceInfo", "detect_device", "get_strategy"]


@dataclass(frozen=True)
class DeviceInfo:
    """What :func:`detect_device` found.

    Attributes
    ----------
    platform : str
        "colab", "kaggle", "binder" or "local".
    gpus : list of str
        Names of the GPUs TensorFlow sees (e.g. "/physical_device:GPU:0").
    tpu : str or None
        Address of the TPU found, or None.
    tensorflow_version, keras_version : str
    strategy_name : str
        "TPUStrategy", "MirroredStrategy" (several GPUs) or "default" (one GPU or the CPU).
    """

    platform: str
    gpus: list = field(default_factory=list)
    tpu: str | None = None
    tensorflow_version: str = ""
    keras_version: str = ""
    strategy_name: str = "default"

    @property
    def accelerator(self) -> str:
        """"TPU", "GPU" or "CPU": the fastest device found."""
        if self.tpu:
            return "TPU"
        return "GPU" if self.gpus else "CPU"

    def summary(self) -> str:
        """A few lines for a notebook to print."""
        where = {"colab": "Google Colab", "kaggle": "Kaggle", "binder": "Binder (mybinder.org)",
                 "local": "a local machine"}[self.platform]
        if self.tpu:
            compute = f"TPU at {self.tpu}"
        elif self.gpus:
            compute = f"{len(self.gpus)} GPU(s): {', '.join(self.gpus)}"
        else:
            compute = "CPU only (no GPU or TPU found)"
        lines = [
            f"Running on {where}",
            f"Compute: {compute}",
            f"Strategy: {self.strategy_name}",
            f"TensorFlow {self.tensorflow_version}, Keras {self.keras_version}",
        ]
        if self.platform == "colab" and self.accelerator == "CPU":
            lines.append("Tip: Runtime > Change runtime type > T4 GPU, then run the notebook again")
        return "\n".join(lines)


def _platform(environ, modules) -> str:
    if "google.colab" in modules or "COLAB_RELEASE_TAG" in environ:
        return "colab"
    if "KAGGLE_KERNEL_RUN_TYPE" in environ or "KAGGLE_URL_BASE" in environ:
        return "kaggle"
    if "BINDER_SERVICE_HOST" in environ or "BINDER_REQUEST" in environ or "BINDER_LAUNCH_HOST" in environ:
        return "binder"
    return "local"


def _list_gpus() -> list[str]:
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def _find_tpu():
    """The TPU cluster resolver, or None. On a machine without a TPU the resolver raises."""
    import tensorflow as tf

    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        resolver.master()  # raises where there is no TPU
    except Exception:
        return None
    return resolver


def detect_device(*, environ=None) -> DeviceInfo:
    """Report where this runs (local, Colab, Binder, Kaggle), the GPUs and TPU TensorFlow sees,
    the versions, and which distribution strategy to use.

    Parameters
    ----------
    environ : mapping, optional
        Environment variables to read (default ``os.environ``).

    Returns
    -------
    DeviceInfo

    Raises
    ------
    TypeError
        If ``environ`` is not a mapping.

    Examples
    --------
    >>> info = detect_device()
    >>> info.accelerator in ("CPU", "GPU", "TPU")
    True
    """
    from cnnkit.env import import_tensorflow

    tf = import_tensorflow()
    import keras

    environ = os.environ if environ is None else mapping("detect_device", "environ", environ)
    resolver = _find_tpu()
    gpus = _list_gpus()
    if resolver is not None:
        strategy = "TPUStrategy"
        tpu = resolver.master()
    else:
        strategy = "MirroredStrategy" if len(gpus) > 1 else "default"
        tpu = None
    return DeviceInfo(
        platform=_platform(environ, sys.modules),
        gpus=gpus,
        tpu=tpu,
        tensorflow_version=tf.__version__,
        keras_version=keras.__version__,
        strategy_name=strategy,
    )


def get_strategy(info: DeviceInfo | None = None):
    """The ``tf.distribute.Strategy`` to build and train models under.

    A TPU is connected and initialised (``TPUStrategy``); several GPUs give a
    ``MirroredStrategy``; one GPU or the CPU use TensorFlow's default strategy. A TPU or
    mirrored strategy is created once per process and returned again by later calls:
    initialising a TPU a second time would wipe the models already placed on it.

    Parameters
    ----------
    info : DeviceInfo, optional
        A result of :func:`detect_device` (detected now when omitted).

    Returns
    -------
    tf.distribute.Strategy

    Raises
    ------
    TypeError
        If ``info`` is not a DeviceInfo.

    Examples
    --------
    >>> strategy = get_strategy()
    >>> with strategy.scope():
    ...     model = build_mnist_convnet()  # doctest: +SKIP
    """
    if info is not None and not isinstance(info, DeviceInfo):
        raise TypeError(f"get_strategy: info must be a DeviceInfo; received {type(info).__name__}")
    from cnnkit.env import import_tensorflow

    tf = import_tensorflow()
    info = detect_device() if info is None else info
    if info.strategy_name in _STRATEGIES:
        return _STRATEGIES[info.strategy_name]
    if info.strategy_name == "TPUStrategy":
        resolver = _find_tpu()
        if resolver is None:
            raise RuntimeError("get_strategy: the TPU reported by info cannot be reached any more")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
    elif info.strategy_name == "MirroredStrategy":
        strategy = tf.distribute.MirroredStrategy()
    else:
        return tf.distribute.get_strategy()
    _STRATEGIES[info.strategy_name] = strategy
    return strategy


# Strategies made by get_strategy, by name: one TPU or mirrored strategy per process.
_STRATEGIES: dict = {}

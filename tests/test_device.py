"""Device detection: CPU-only for real; GPU, TPU and the hosted platforms by simulation."""

import keras
import pytest
import tensorflow as tf

import cnnkit as ck
from cnnkit import device as device_module


def test_this_machine_for_real():
    info = ck.detect_device(environ={})
    assert info.platform == "local"
    assert info.tensorflow_version == tf.__version__ and info.keras_version == keras.__version__
    assert info.gpus == [d.name for d in tf.config.list_physical_devices("GPU")]
    if not info.gpus:
        assert info.accelerator == "CPU" and info.strategy_name == "default"
        assert "CPU only" in info.summary()


@pytest.mark.parametrize(
    "environ,platform",
    [
        ({"COLAB_RELEASE_TAG": "release-colab_20261101"}, "colab"),
        ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, "kaggle"),
        ({"BINDER_SERVICE_HOST": "10.0.0.1"}, "binder"),
        ({"HOME": "/home/me"}, "local"),
    ],
)
def test_platforms(environ, platform):
    assert ck.detect_device(environ=environ).platform == platform


def test_colab_module_means_colab(monkeypatch):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert ck.detect_device(environ={}).platform == "colab"


def test_colab_on_cpu_says_how_to_get_a_gpu(monkeypatch):
    monkeypatch.setattr(device_module, "_list_gpus", lambda: [])
    info = ck.detect_device(environ={"COLAB_RELEASE_TAG": "x"})
    assert "Runtime > Change runtime type" in info.summary()


@pytest.mark.parametrize("count,strategy", [(1, "default"), (2, "MirroredStrategy"), (4, "MirroredStrategy")])
def test_simulated_gpus(monkeypatch, count, strategy):
    names = [f"/physical_device:GPU:{i}" for i in range(count)]
    monkeypatch.setattr(device_module, "_list_gpus", lambda: names)
    info = ck.detect_device(environ={})
    assert info.gpus == names and info.accelerator == "GPU" and info.strategy_name == strategy
    assert f"{count} GPU(s)" in info.summary()


def test_simulated_tpu(monkeypatch):
    class FakeResolver:
        def master(self):
            return "grpc://10.0.0.2:8470"

    monkeypatch.setattr(device_module, "_find_tpu", lambda: FakeResolver())
    info = ck.detect_device(environ={"COLAB_RELEASE_TAG": "x"})
    assert info.tpu == "grpc://10.0.0.2:8470" and info.accelerator == "TPU"
    assert info.strategy_name == "TPUStrategy"
    assert "TPU at grpc://10.0.0.2:8470" in info.summary()


def test_tpu_resolver_absent_on_cpu():
    # The real resolver raises on a machine without a TPU; detection turns that into None.
    assert device_module._find_tpu() is None


def test_strategy_on_this_machine():
    strategy = ck.get_strategy()
    assert strategy.num_replicas_in_sync >= 1
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert model.count_params() == 10


def test_strategy_rejects_other_objects():
    with pytest.raises(TypeError, match=r"get_strategy: info must be a DeviceInfo; received dict"):
        ck.get_strategy({"strategy_name": "default"})

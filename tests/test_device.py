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


def test_mirrored_strategy_is_made_once_and_trains(monkeypatch):
    # MirroredStrategy over the CPU alone stands in for several GPUs.
    monkeypatch.setattr(device_module, "_STRATEGIES", {})
    info = device_module.DeviceInfo(platform="local", gpus=["GPU:0", "GPU:1"], strategy_name="MirroredStrategy")
    strategy = ck.get_strategy(info)
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert ck.get_strategy(info) is strategy
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        ck.compile_classifier(model)
    history = model.fit(tf.ones((8, 4)), tf.zeros((8,), "int32"), epochs=2, batch_size=4, verbose=0)
    assert len(history.history["loss"]) == 2


def test_tpu_is_initialised_once(monkeypatch):
    calls = []

    class FakeResolver:
        def master(self):
            return "grpc://10.0.0.2:8470"

    monkeypatch.setattr(device_module, "_STRATEGIES", {})
    monkeypatch.setattr(device_module, "_find_tpu", lambda: FakeResolver())
    monkeypatch.setattr(tf.config, "experimental_connect_to_cluster", lambda r: calls.append("connect"))
    monkeypatch.setattr(tf.tpu.experimental, "initialize_tpu_system", lambda r: calls.append("init"))
    monkeypatch.setattr(tf.distribute, "TPUStrategy", lambda r: ("tpu strategy", r.master()))
    info = device_module.DeviceInfo(platform="colab", tpu="grpc://10.0.0.2:8470", strategy_name="TPUStrategy")
    first = ck.get_strategy(info)
    assert first == ("tpu strategy", "grpc://10.0.0.2:8470")
    assert ck.get_strategy(info) is first
    assert calls == ["connect", "init"]


def test_tpu_gone_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(device_module, "_STRATEGIES", {})
    monkeypatch.setattr(device_module, "_find_tpu", lambda: None)
    info = device_module.DeviceInfo(platform="colab", tpu="grpc://10.0.0.2:8470", strategy_name="TPUStrategy")
    with pytest.raises(RuntimeError, match="get_strategy: the TPU reported by info cannot be reached"):
        ck.get_strategy(info)

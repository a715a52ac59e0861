"""Importing cnnkit changes nothing global; setup() seeds and quiets."""

import os
import subprocess
import sys

import numpy as np
import pytest

import cnnkit as ck

PROBE = """
import os, sys, random
import numpy as np
before_env = dict(os.environ)
np.random.seed(5); expected = np.random.rand()
np.random.seed(5)
import cnnkit
assert 'tensorflow' not in sys.modules, 'importing cnnkit imported TensorFlow'
assert dict(os.environ) == before_env, 'importing cnnkit changed the environment'
assert np.random.rand() == expected, 'importing cnnkit touched numpy\\'s generator'
print('clean')
"""


def test_import_changes_nothing_global():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "clean", result.stderr


QUIET_PROBE = """
import cnnkit as ck
ck.setup(seed=3)
import tensorflow as tf, keras, numpy as np
model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                          keras.layers.Dense(2)])
model.compile("adam", "mse")
model.fit(np.zeros((4, 4, 4, 1)), np.zeros((4, 2)), verbose=0)
print(float(model.predict(np.ones((1, 4, 4, 1)), verbose=0)[0, 0]))
"""


def test_setup_hides_tensorflow_noise_and_is_deterministic():
    runs = [subprocess.run([sys.executable, "-c", QUIET_PROBE], capture_output=True, text=True, timeout=180)
            for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert run.stderr == "", f"stderr not quiet: {run.stderr[:500]}"
    assert runs[0].stdout == runs[1].stdout


def test_setup_seeds_numpy_and_python():
    import random

    ck.setup(seed=11)
    first = (np.random.rand(), random.random())
    ck.setup(seed=11)
    assert (np.random.rand(), random.random()) == first


def test_setup_sets_the_plot_style():
    import matplotlib

    ck.setup(seed=0)
    assert matplotlib.rcParams["image.cmap"] == ck.env.PLOT_STYLE["image.cmap"]


@pytest.mark.parametrize("seed,error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError)])
def test_setup_rejects_bad_seed(seed, error):
    with pytest.raises(error, match=r"setup: seed must be"):
        ck.setup(seed=seed)


def test_environment_variables_set_for_tensorflow():
    ck.setup()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3" and os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"


def test_lazy_names_resolve():
    assert ck.load_mnist is ck.data.load_mnist
    assert "detect_device" in dir(ck)
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        _ = ck.not_a_function


def test_lazy_table_matches_every_modules_all():
    import importlib

    for module_name, names in ck._LAZY_NAMES.items():
        assert sorted(names) == sorted(importlib.import_module(module_name).__all__), module_name


@pytest.mark.parametrize("name", ["plot_images", "conv_explorer", "load_photo", "confusion_matrix"])
def test_numpy_helpers_do_not_pull_in_tensorflow(name):
    probe = f"import sys, cnnkit; cnnkit.{name}; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr

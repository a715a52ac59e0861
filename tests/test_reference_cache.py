"""Reference models computed once per lab (``cnnkit.labtools.reference`` and the grader's cache).

The unit tests train a tiny model (a second or two). The two grading tests build a course with
lab 3 or lab 4, grade three submissions with the cache (the solution check trains the reference
models and publishes them, the students' kernels load them) and again without it (every kernel
trains), and check that every test cell of every student scores the same. One of the students
tries to overwrite the published models from its kernel: the sandbox refuses, the files keep the
digests the grader recorded, and the other students are graded from them. About 2-4 minutes per
lab on a quiet 2-core machine (kernel starts, TensorFlow imports, the trainings).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile

import grading_corpus as corpus
import nbformat
import numpy as np
import pytest

from cnnkit import labtools

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------------------ the helper itself
def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 6, 1)).astype("float32")
    return x, (x.mean(axis=(1, 2, 3)) > 0).astype("int64")


def _build(filters: int = 2):
    import keras

    import cnnkit as ck

    model = keras.Sequential([keras.Input(shape=(6, 6, 1)), keras.layers.Conv2D(filters, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    return ck.compile_classifier(model, learning_rate=1e-2)


X, Y = _data()


def _train(model):
    return model.fit(X, Y, validation_data=(X, Y), epochs=2, batch_size=16, verbose=0).history


def _run(**kwargs):
    """reference() with the tiny model, and the next numbers the generators draw."""
    import keras

    model, record = labtools.reference("tiny", build=_build, train=_train, data=(X, Y), **kwargs)
    return model.get_weights(), record, np.random.rand(), float(keras.random.uniform(()))


def test_a_stored_model_is_the_trained_one_and_the_generators_continue_alike(tmp_path):
    store = tmp_path / "store"
    weights, record, draw, keras_draw = _run(folder=str(tmp_path / "none"), save=str(store))
    (stored,) = os.listdir(store)
    assert stored.startswith("tiny-") and stored.endswith(".npz")
    with open(store / stored, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    os.environ[labtools.DIGESTS_VARIABLE] = json.dumps({stored: digest})
    try:
        again = _run(folder=str(store), save=str(tmp_path / "unused"))
    finally:
        del os.environ[labtools.DIGESTS_VARIABLE]
    assert not (tmp_path / "unused").exists(), "a stored model was trained again"
    for mine, theirs in zip(weights, again[0]):
        np.testing.assert_array_equal(mine, theirs)
    assert record == again[1] and sorted(record) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert (draw, keras_draw) == again[2:], "the cells after reference() would draw other numbers with a stored model"
    # and a fresh training (no folder) gives the same model: the store changes speed, not results
    fresh = _run()
    for mine, theirs in zip(weights, fresh[0]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(record["loss"], fresh[1]["loss"], rtol=1e-5)


def test_untrusted_or_damaged_files_are_not_loaded(tmp_path):
    store = tmp_path / "store"
    trained = _run(save=str(store))
    (stored,) = os.listdir(store)
    path = store / stored
    # a file with other weights under the right name: loaded only without a digest list
    poisoned = tmp_path / "poisoned"
    os.makedirs(poisoned)
    with np.load(path) as content:
        arrays = {name: content[name] for name in content.files}
    arrays["w0"] = arrays["w0"] + 1.0
    np.savez(poisoned / stored, **arrays)
    with open(path, "rb") as handle:
        honest_digest = hashlib.sha256(handle.read()).hexdigest()
    os.environ[labtools.DIGESTS_VARIABLE] = json.dumps({stored: honest_digest})
    try:
        loaded = _run(folder=str(poisoned))
    finally:
        del os.environ[labtools.DIGESTS_VARIABLE]
    np.testing.assert_allclose(loaded[0][0], trained[0][0], rtol=1e-5, atol=1e-6)  # trained again, not the poison
    assert not np.allclose(_run(folder=str(poisoned))[0][0], trained[0][0])  # no digest list: the user's own folder
    with open(poisoned / stored, "wb") as handle:
        handle.write(b"not an npz file")
    np.testing.assert_allclose(_run(folder=str(poisoned))[0][0], trained[0][0], rtol=1e-5, atol=1e-6)


def test_the_key_follows_what_the_training_depends_on():
    def key(build=_build, train=_train, data=(X, Y), seed=0, model=None):
        return labtools.reference_key("tiny", model or build(), build=build, train=train, data=data, seed=seed)

    base = key()
    assert key() == base, "the key changed between two builds of the same model (automatic layer names?)"
    assert key(seed=1) != base
    assert key(data=(X[:-1], Y[:-1])) != base
    assert key(model=_build(filters=3)) != base
    assert key(train=lambda model: model.fit(X, Y, epochs=3, verbose=0).history) != key(
        train=lambda model: model.fit(X, Y, epochs=2, verbose=0).history)
    versions = labtools._versions()
    assert {"python", "cnnkit", "cnnkit_code", "keras", "tensorflow", "numpy"} <= set(versions)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"name": "a b"}, ValueError, "reference: name must be"),
        ({"build": 3}, TypeError, "reference: build must be callable"),
        ({"train": None}, TypeError, "reference: train must be callable"),
        ({"data": X}, TypeError, "reference: data must be a list or tuple"),
        ({"data": ("text",)}, TypeError, "reference: data[0] must be a numeric array"),
        ({"seed": -1}, ValueError, "seed"),
        ({"build": lambda: "model"}, TypeError, "reference: build() must be a keras.Model"),
        ({"train": lambda model: [1.0]}, TypeError, "reference: train must return None or a dict"),
    ],
)
def test_bad_arguments_are_refused_by_name(arguments, error, message):
    given = {"name": "tiny", "build": _build, "train": lambda model: None, "data": (X, Y), "seed": 0} | arguments
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        labtools.reference(given.pop("name"), **given)


def test_kernels_read_the_published_folder_and_only_the_check_stores():
    from grader.sandbox import SandboxKernelManager

    folder = tempfile.mkdtemp(prefix="references-")
    manager = SandboxKernelManager(references=folder, reference_digests={"a.npz": "0" * 64})
    manager._make_scratch(None)
    try:
        env = manager._kernel_env()
        assert env[labtools.REFERENCES_VARIABLE] == os.path.realpath(folder)
        assert json.loads(env[labtools.DIGESTS_VARIABLE]) == {"a.npz": "0" * 64}
        assert labtools.SAVE_VARIABLE not in env
        policy = manager._policy()
        assert os.path.realpath(folder) in policy["allow_read"] and os.path.realpath(folder) not in policy["scratch"]
        manager.collect_references = os.path.join(folder, "staged")
        env = manager._kernel_env()
        assert labtools.REFERENCES_VARIABLE not in env and env[labtools.SAVE_VARIABLE].startswith(manager.scratch)
        assert os.path.realpath(folder) not in manager._policy()["allow_read"]
    finally:
        shutil.rmtree(manager._sandbox_root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_passed_solution_check_is_forgotten_when_the_kernel_packages_code_changes(tmp_package):
    """An editable cnnkit changes without a new version: its code is part of the check's key."""
    from grader.check import environment_key

    init = tmp_package("probe_package", "X = 1\n")
    before = environment_key(None, ["probe_package"])
    assert environment_key(None, ["probe_package"]) == before
    init.write_text("X = 2\n")
    assert environment_key(None, ["probe_package"]) != before


# ------------------------------------------------------------------------ graded with and without
HOSTILE = """import glob, os
for _path in glob.glob(os.path.join(os.environ.get("CNNKIT_REFERENCES", "/nonexistent"), "*")):
    try:
        with open(_path, "wb") as _handle:
            _handle.write(b"poisoned")
        print("overwrote", _path)
    except Exception as _error:
        print("refused:", type(_error).__name__)
"""


def _course(lab: str) -> str:
    from nbgrader.apps.api import NbGraderAPI

    from grader.config import load_course_config

    root = tempfile.mkdtemp(prefix="reference-cache-")
    os.chmod(root, 0o755)
    shutil.copy(os.path.join(REPO, "nbgrader_config.py"), root)
    shutil.copytree(os.path.join(REPO, "solutions", lab), os.path.join(root, "solutions", lab))
    result = NbGraderAPI(config=load_course_config(root)).generate_assignment(lab)
    assert result["success"], result.get("error")
    return root


def _submissions(root: str, lab: str) -> dict:
    source = nbformat.read(os.path.join(root, "solutions", lab, f"{lab}.ipynb"), as_version=4)
    release = nbformat.read(os.path.join(root, "labs", lab, f"{lab}.ipynb"), as_version=4)
    solution = corpus.solution_submission(source, release)
    partial = copy.deepcopy(solution)  # the first answer as released: that part scores 0, the rest counts
    first = next(index for index, cell in enumerate(partial.cells) if corpus.is_answer(cell))
    partial.cells[first] = copy.deepcopy(release.cells[first])
    hostile = copy.deepcopy(solution)
    setup = next(index for index, cell in enumerate(hostile.cells)
                 if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "setup")
    hostile.cells.insert(setup + 1, nbformat.v4.new_code_cell(HOSTILE))
    hostile.cells.append(nbformat.v4.new_code_cell("import cnnkit.labtools\nprint('loaded:', sorted(cnnkit.labtools._LOADED))"))
    files = {name: {f"{lab}.ipynb": notebook} for name, notebook in
             [("a-hostile", hostile), ("b-solution", solution), ("c-partial", partial)]}
    return corpus.write_download(os.path.join(root, f"{lab}.zip"), files)


# Lab 4 only (two reference models, the pretrained base and the shortcut model): lab 3's single
# reference goes through the same code, and tests/test_grading.py::test_lab_corpus grades lab 3's
# corpus on the cached path against points predicted without it.
@pytest.mark.parametrize("lab", ["lab4_transfer_gradcam"])
def test_grades_are_the_same_with_and_without_the_cache(lab):
    from grader import grade_batch
    from grader.check import reference_digests, reference_folder

    root = _course(lab)
    try:
        download = _submissions(root, lab)
        # 600 s per cell: a busy machine must not time a training out (both batches use the same)
        cached = grade_batch(lab, [download], course_root=root, workers=1, progress=None, timeout=600)
        digests = reference_digests(root, lab)
        expected = {"lab3_overfitting": ["lab3-baseline"], "lab4_transfer_gradcam": ["lab4-pretrain", "lab4-shortcut"]}[lab]
        assert sorted(name.rsplit("-", 1)[0] for name in digests) == expected
        for name, digest in digests.items():  # the hostile kernel (graded first) could not change them
            with open(os.path.join(reference_folder(root, lab), name), "rb") as handle:
                assert hashlib.sha256(handle.read()).hexdigest() == digest
        printed = corpus.outputs_text(os.path.join(root, "autograded", "a-hostile", lab, f"{lab}.ipynb"))
        assert "refused: PermissionError" in printed and "overwrote" not in printed, printed[-2000:]
        assert f"loaded: {expected}" in printed, "the student's kernel trained the reference models instead of loading them"
        # without the cache, the solution and the partial submission (the hostile one is the solution
        # plus a cell that cannot see the folder there): every test cell must score as with the cache
        uncached = grade_batch(lab, course_root=root, students=["b-solution", "c-partial"], workers=1, progress=None,
                               regrade=True, solution_check=False, reference_cache=False, timeout=600)
        with_cache = {result.student: (result.status, result.cell_scores) for result in cached.results}
        without = {result.student: (result.status, result.cell_scores) for result in uncached.results}
        assert sorted(without) == ["b-solution", "c-partial"]
        assert {name: with_cache[name] for name in without} == without
        assert with_cache["a-hostile"] == without["b-solution"]
        scores = {result.student: (result.score, result.max_score) for result in cached.results}
        assert scores["b-solution"][0] == scores["b-solution"][1] == scores["a-hostile"][0] > scores["c-partial"][0] > 0
    finally:
        shutil.rmtree(root, ignore_errors=True)

"""Mistaken answers to the labs, each with the visible test that must catch it and the hint its
message must give (tests/test_lab_mistakes.py runs them).

A mistake is written as edits of the solution's answer cell (``old`` text -> ``new`` text), so each
one reads as the few characters a student gets wrong. ``fails`` maps each test cell that must fail
to a piece of the message it must show. :data:`GRADED` picks, per lab, mistakes in different
answers that are graded together by nbgrader, with the points each test must then earn.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Mistake:
    lab: str
    name: str
    answer: str  # grade_id of the answer cell
    edits: tuple[tuple[str, str], ...]  # (old, new) replacements in the solution's answer
    fails: dict[str, str]  # grade_id of a test cell -> a piece of its failure message

    def apply(self, source: str) -> str:
        for old, new in self.edits:
            if old not in source:
                raise ValueError(f"{self.lab} {self.name}: {old!r} is not in the answer {self.answer}")
            source = source.replace(old, new)
        return source


def _m(lab: str, name: str, answer: str, edits, fails) -> Mistake:
    edits = (edits,) if isinstance(edits[0], str) else tuple(edits)
    return Mistake(lab, name, answer, edits, fails)


BEGIN = "    ### BEGIN SOLUTION\n"
NUMPY_ONLY = "must be written by hand with numpy only"
NOT_CNNKIT = "not with the course library's ready-made helpers"

L1 = "lab1_conv_pool"
LAB1 = [
    _m(
        L1,
        "float size",
        "output_size",
        ("return span // stride + 1", "return span / stride + 1"),
        {"test_output_size": "(a float): return an int"},
    ),
    _m(
        L1,
        "floor for same",
        "output_size",
        ("return -(-input_size // stride)", "return input_size // stride"),
        {"test_output_size": "I // S rounds down"},
    ),
    _m(L1, "no + 1", "output_size", ("return span // stride + 1", "return span // stride"), {"test_output_size": "off by one"}),
    _m(L1, "P, not 2P", "output_size", ("+ 2 * zeros", "+ zeros"), {"test_output_size": "both sides"}),
    _m(L1, "no ValueError", "output_size", ("if span % stride:", "if False:"), {"test_output_size": "expected ValueError"}),
    _m(
        L1,
        "library size",
        "output_size",
        (BEGIN, BEGIN + "    return ck.conv_output_size(input_size, kernel_size, stride=stride, padding=padding)\n"),
        {"test_output_size": "called cnnkit.sizes.conv_output_size"},
    ),
    _m(L1, "no bias", "parameter_counts", ("+ (filters if use_bias else 0)", ""), {"test_parameter_counts": "one bias per filter"}),
    _m(
        L1,
        "no channels",
        "parameter_counts",
        ("height * width * in_channels * filters", "height * width * filters"),
        {"test_parameter_counts": "every input channel"},
    ),
    _m(L1, "flipped kernel", "correlate2d", ("* kernel)", "* kernel[::-1, ::-1])"), {"test_correlate2d": "is the kernel flipped?"}),
    _m(
        L1,
        "integer output",
        "correlate2d",
        [
            ("image = np.asarray(image, dtype=float)", "image = np.asarray(image)"),
            ("image.shape[1] - kw + 1))", "image.shape[1] - kw + 1), dtype=image.dtype)"),
        ],
        {"test_correlate2d": "integer dtype"},
    ),
    _m(
        L1,
        "scipy",
        "correlate2d",
        (
            BEGIN,
            BEGIN + "    from scipy.signal import correlate2d as scipy_correlate\n"
            "    return scipy_correlate(image, kernel, mode='valid')\n",
        ),
        {"test_correlate2d": "(SciPy)"},
    ),
    _m(
        L1,
        "swapped",
        "same_padding",
        ("return total // 2, total - total // 2", "return total - total // 2, total // 2"),
        {"test_same_padding": "swapped"},
    ),
    _m(
        L1,
        "negative",
        "same_padding",
        ("max((out - 1) * stride + kernel_size - input_size, 0)", "(out - 1) * stride + kernel_size - input_size"),
        {"test_same_padding": "negative padding"},
    ),
    _m(
        L1,
        "round",
        "conv2d",
        [
            ("out_h = (x.shape[1] - kh) // stride + 1", "out_h = round((x.shape[1] - kh) / stride) + 1"),
            ("out_w = (x.shape[2] - kw) // stride + 1", "out_w = round((x.shape[2] - kw) / stride) + 1"),
        ],
        {"test_conv2d": "not round()"},
    ),
    _m(
        L1,
        "flipped kernel",
        "conv2d",
        ("np.tensordot(patch, w,", "np.tensordot(patch, w[::-1, ::-1],"),
        {"test_conv2d": "is the kernel flipped?", "test_conv2d_same": "is the kernel flipped?"},
    ),
    _m(
        L1,
        "np.pad on all axes",
        "conv2d",
        (
            "    x = np.pad(x, ((0, 0), rows, cols, (0, 0)))",
            "    x = np.pad(x, padding) if isinstance(padding, int) else np.pad(x, ((0, 0), rows, cols, (0, 0)))",
        ),
        {"test_conv2d": "pads every axis"},
    ),
    _m(L1, "no bias", "conv2d", ("out += np.asarray(b, dtype=float)", "pass"), {"test_conv2d": "bias was not added"}),
    _m(L1, "first image only", "conv2d", ("np.tensordot(patch, w,", "np.tensordot(patch[:1], w,"), {"test_conv2d": "first image's result"}),
    _m(
        L1,
        "windows at i",
        "conv2d",
        ("patch = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]", "patch = x[:, i : i + kh, j : j + kw, :]"),
        {"test_conv2d": "start at i * stride"},
    ),
    _m(
        L1,
        "integer output",
        "conv2d",
        [("x = np.asarray(x, dtype=float)", "x = np.asarray(x)"), ("out_w, w.shape[3]))", "out_w, w.shape[3]), dtype=x.dtype)")],
        {"test_conv2d": "integer dtype"},
    ),
    _m(
        L1, "float32 output", "conv2d", ("out_w, w.shape[3]))", "out_w, w.shape[3]), dtype=np.float32)"), {"test_conv2d": "lower precision"}
    ),
    _m(
        L1,
        "keras",
        "conv2d",
        (
            "    out_h = (x.shape[1] - kh)",
            "    import keras\n"
            "    out = keras.ops.convert_to_numpy(keras.ops.conv(x, w, strides=stride)).astype(float)\n"
            "    return out if b is None else out + b\n    out_h = (x.shape[1] - kh)",
        ),
        {"test_conv2d": "called keras"},
    ),
    _m(
        L1,
        "cnnkit",
        "conv2d",
        (BEGIN, BEGIN + "    return ck.conv2d(x, w, b, stride=stride, padding=padding)\n"),
        {"test_conv2d": NUMPY_ONLY, "test_conv2d_same": NUMPY_ONLY},
    ),
    _m(
        L1,
        "odd zero first",
        "conv2d",
        [
            ("rows = same_padding(x.shape[1], kh, stride)", "rows = same_padding(x.shape[1], kh, stride)[::-1]"),
            ("cols = same_padding(x.shape[2], kw, stride)", "cols = same_padding(x.shape[2], kw, stride)[::-1]"),
        ],
        {"test_conv2d_same": "the odd zero went first"},
    ),
    _m(
        L1,
        "channels together",
        "max_pool2d",
        ("window.max(axis=(1, 2))", "window.max(axis=(1, 2, 3))[:, None]"),
        {"test_max_pool2d": "channels were pooled together"},
    ),
    _m(
        L1,
        "stride None is 1",
        "max_pool2d",
        ("stride = pool_size if stride is None else stride", "stride = 1 if stride is None else stride"),
        {"test_max_pool2d": "stride=None means stride = pool_size"},
    ),
    _m(
        L1,
        "ceil",
        "max_pool2d",
        [
            ("out_h = (x.shape[1] - pool_size) // stride + 1", "out_h = -(-(x.shape[1] - pool_size) // stride) + 1"),
            ("out_w = (x.shape[2] - pool_size) // stride + 1", "out_w = -(-(x.shape[2] - pool_size) // stride) + 1"),
        ],
        {"test_max_pool2d": "left over at the end are dropped"},
    ),
    _m(
        L1,
        "cnnkit",
        "max_pool2d",
        (BEGIN, BEGIN + "    return ck.max_pool2d(x, pool_size=pool_size, stride=stride)\n"),
        {"test_max_pool2d": "called cnnkit.pool.max_pool2d"},
    ),
    _m(
        L1,
        "channels together",
        "avg_pool2d",
        ("window.mean(axis=(1, 2))", "window.mean(axis=(1, 2, 3))[:, None]"),
        {"test_avg_pool2d": "channels were pooled together"},
    ),
    _m(
        L1,
        "batch together",
        "avg_pool2d",
        ("window.mean(axis=(1, 2))", "window.mean(axis=(0, 1, 2))"),
        {"test_avg_pool2d": "images of the batch were pooled together"},
    ),
    _m(
        L1,
        "integer output",
        "avg_pool2d",
        [
            ("x = np.asarray(x, dtype=float)", "x = np.asarray(x)"),
            ("out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))", "out = np.zeros_like(x[:, :out_h, :out_w, :])"),
        ],
        {"test_avg_pool2d": "integer dtype"},
    ),
    _m(
        L1,
        "scikit-image",
        "avg_pool2d",
        (
            BEGIN,
            BEGIN + "    from skimage.measure import block_reduce\n"
            "    if stride in (None, pool_size):\n"
            "        rows, cols = x.shape[1] // pool_size * pool_size, x.shape[2] // pool_size * pool_size\n"
            "        return block_reduce(np.asarray(x, dtype=float)[:, :rows, :cols], (1, pool_size, pool_size, 1), np.mean)\n",
        ),
        {"test_avg_pool2d": "(scikit-image)"},
    ),
]

# A mistake no visible test can see (every visible kernel is square): the hidden tests catch it
# and must name their case (shapes and settings) without showing the hidden values.
LAB1_HIDDEN = _m(L1, "square kernels only", "conv2d", ("kh, kw = w.shape[:2]", "kh = kw = w.shape[0]"), {})

L2 = "lab2_build_train"
LAB2 = [
    _m(
        L2,
        "float64",
        "prepare_images",
        ("return images.astype(np.float32) / np.float32(255.0)", "return images / 255.0"),
        {"test_prepare_images": "expected dtype float32, got float64"},
    ),
    _m(
        L2,
        "not divided",
        "prepare_images",
        ("return images.astype(np.float32) / np.float32(255.0)", "return images.astype(np.float32)"),
        {"test_prepare_images": "not divided by 255"},
    ),
    _m(
        L2,
        "integer division",
        "prepare_images",
        ("return images.astype(np.float32) / np.float32(255.0)", "return (images // 255).astype(np.float32)"),
        {"test_prepare_images": "integer division"},
    ),
    _m(
        L2,
        "channel axis twice",
        "prepare_images",
        ("if images.ndim == 3:", "if True:"),
        {"test_prepare_images": "already has its channel axis"},
    ),
    _m(
        L2,
        "padding same",
        "build_convnet",
        ('keras.layers.Conv2D(16, 3, activation="relu")', 'keras.layers.Conv2D(16, 3, activation="relu", padding="same")'),
        {"test_build_convnet": "no padding"},
    ),
    _m(
        L2,
        "fixed input shape",
        "build_convnet",
        ("keras.Input(shape=input_shape)", "keras.Input(shape=(28, 28, 1))"),
        {"test_build_convnet": "keras.Input(shape=input_shape)"},
    ),
    _m(
        L2,
        "fixed classes",
        "build_convnet",
        ("keras.layers.Dense(num_classes,", "keras.layers.Dense(10,"),
        {"test_build_convnet": "num_classes units"},
    ),
    _m(
        L2,
        "cnnkit",
        "build_convnet",
        (BEGIN, BEGIN + "    return ck.build_mnist_convnet(input_shape, num_classes=num_classes)\n"),
        {"test_build_convnet": NOT_CNNKIT},
    ),
    _m(
        L2,
        "dense labels loss",
        "compile_for_training",
        ('loss="sparse_categorical_crossentropy"', 'loss="categorical_crossentropy"'),
        {"test_compile_for_training": "sparse"},
    ),
    _m(L2, "no return", "compile_for_training", ("    return model", "    pass"), {"test_compile_for_training": "add `return model`"}),
    _m(
        L2,
        "rate ignored",
        "compile_for_training",
        ("keras.optimizers.Adam(learning_rate)", "keras.optimizers.Adam()"),
        {"test_compile_for_training": "pass learning_rate on"},
    ),
    _m(L2, "from 0", "best_epoch", ("return int(index) + 1", "return int(index)"), {"test_best_epoch": "counted from 0"}),
    _m(
        L2,
        "always the smallest",
        "best_epoch",
        ('index = np.argmax(values) if "accuracy" in metric else np.argmin(values)', "index = np.argmin(values)"),
        {"test_best_epoch": "the best accuracy, the largest"},
    ),
    _m(
        L2,
        "last of a tie",
        "best_epoch",
        (
            'index = np.argmax(values) if "accuracy" in metric else np.argmin(values)',
            'index = len(values) - 1 - (np.argmax(values[::-1]) if "accuracy" in metric else np.argmin(values[::-1]))',
        ),
        {"test_best_epoch": "a tie goes to the earliest"},
    ),
    _m(L2, "off by one", "is_overfitting", ("last - best >= patience", "last - best > patience"), {"test_is_overfitting": "off by one"}),
    _m(
        L2,
        "training loss ignored",
        "is_overfitting",
        (' and history["loss"][-1] < history["loss"][best - 1]', ""),
        {"test_is_overfitting": "training loss must also have fallen"},
    ),
    # last: a training answer is not put back (retraining costs time); later tests do not use it
    _m(
        L2,
        "another model",
        "train",
        (
            "compile_for_training(build_convnet(), learning_rate=5e-3)",
            "compile_for_training(keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), "
            "keras.layers.Dense(10, activation='softmax')]), learning_rate=5e-3)",
        ),
        {"test_train": "expected the model of build_convnet()"},
    ),
]
# passes every visible test (their accuracy metrics are named 'accuracy' and 'val_accuracy'); a hidden test catches it
LAB2_HIDDEN = _m(L2, "two accuracy names only", "best_epoch", ('if "accuracy" in metric', 'if metric in ("accuracy", "val_accuracy")'), {})

L3 = "lab3_overfitting"
LAB3 = [
    _m(
        L3,
        "rules in the wrong order",
        "diagnose",
        (
            '    if train < min_accuracy:\n        return "underfitting"\n'
            '    if train - validation > max_gap:\n        return "overfitting"',
            '    if train - validation > max_gap:\n        return "overfitting"\n'
            '    if train < min_accuracy:\n        return "underfitting"',
        ),
        {"test_diagnose": "check the rules in order"},
    ),
    _m(
        L3,
        "first epoch",
        "diagnose",
        [('history["accuracy"][-1]', 'history["accuracy"][0]'), ('history["val_accuracy"][-1]', 'history["val_accuracy"][0]')],
        {"test_diagnose": "not the first"},
    ),
    _m(
        L3,
        "best epoch",
        "diagnose",
        [('history["accuracy"][-1]', 'max(history["accuracy"])'), ('history["val_accuracy"][-1]', 'max(history["val_accuracy"])')],
        {"test_diagnose": "not the best ones"},
    ),
    _m(
        L3,
        "dense without penalty",
        "build_regularized_convnet",
        ('keras.layers.Dense(64, activation="relu", kernel_regularizer=penalty)', 'keras.layers.Dense(64, activation="relu")'),
        {"test_l2": "every Conv2D and Dense layer"},
    ),
    _m(
        L3,
        "L2(0)",
        "build_regularized_convnet",
        ("penalty = keras.regularizers.L2(l2) if l2 > 0 else None", "penalty = keras.regularizers.L2(l2)"),
        {"test_l2": "not L2(0)"},
    ),
    _m(
        L3,
        "dropout before the 64 units",
        "build_regularized_convnet",
        ("        layers.append(keras.layers.Dropout(dropout))", "        layers.insert(-1, keras.layers.Dropout(dropout))"),
        {"test_dropout": "between the two Dense layers"},
    ),
    _m(
        L3,
        "rotation first",
        "build_regularized_convnet",
        (
            "    if shift > 0:\n        layers.append(keras.layers.RandomTranslation(shift, shift))\n"
            "    if rotation > 0:\n        layers.append(keras.layers.RandomRotation(rotation))",
            "    if rotation > 0:\n        layers.append(keras.layers.RandomRotation(rotation))\n"
            "    if shift > 0:\n        layers.append(keras.layers.RandomTranslation(shift, shift))",
        ),
        {"test_augmentation": "before the first Conv2D"},
    ),
    _m(
        L3,
        "cnnkit",
        "build_regularized_convnet",
        (BEGIN, BEGIN + "    return ck.build_regularized_convnet(input_shape, num_classes=num_classes)\n"),
        {"test_l2": NOT_CNNKIT, "test_dropout": NOT_CNNKIT, "test_augmentation": NOT_CNNKIT},
    ),
    _m(
        L3,
        "watches the accuracy",
        "make_early_stopping",
        ('monitor="val_loss"', 'monitor="val_accuracy"'),
        {"test_early_stopping": "expected monitor='val_loss'"},
    ),
    _m(
        L3,
        "keeps the last weights",
        "make_early_stopping",
        ("restore_best_weights=True", "restore_best_weights=False"),
        {"test_early_stopping": "expected restore_best_weights=True"},
    ),
    _m(
        L3,
        "another model",
        "train",
        [
            (
                "build_regularized_convnet(dropout=0.3, shift=0.1)",
                "keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.2), "
                "keras.layers.Dense(10, activation='softmax')])",
            ),
            ("epochs=20", "epochs=2"),
        ],
        {"test_train": "expected a model of build_regularized_convnet"},
    ),
]

L4 = "lab4_transfer_gradcam"
LAB4 = [
    _m(
        L4,
        "not frozen",
        "build_transfer_model",
        ("    base.trainable = False", "    pass"),
        {"test_build_transfer_model": "base.trainable"},
    ),
    _m(
        L4,
        "no softmax",
        "build_transfer_model",
        ('keras.layers.Dense(num_classes, activation="softmax")', "keras.layers.Dense(num_classes)"),
        {"test_build_transfer_model": "has no softmax"},
    ),
    _m(
        L4,
        "everything unfrozen",
        "prepare_fine_tuning",
        ("    for layer in weighted[: len(weighted) - num_layers]:\n        layer.trainable = False\n", ""),
        {"test_prepare_fine_tuning": "every layer is trainable"},
    ),
    _m(
        L4,
        "counts every layer",
        "prepare_fine_tuning",
        ("weighted = [layer for layer in base.layers if layer.weights]", "weighted = list(base.layers)"),
        {"test_prepare_fine_tuning": "count only the layers that have weights"},
    ),
    _m(
        L4,
        "not compiled again",
        "prepare_fine_tuning",
        ("    with strategy.scope():\n        model.compile(", "    if False:\n        model.compile("),
        {"test_prepare_fine_tuning": "compile the model again"},
    ),
    _m(L4, "no ReLU", "grad_cam", ("cam = tf.nn.relu(tf.einsum(", "cam = (tf.einsum("), {"test_grad_cam": "negative values"}),
    _m(
        L4,
        "not normalised",
        "grad_cam",
        ("return np.divide(cam, peaks, out=np.zeros_like(cam), where=peaks > 0)", "return cam"),
        {"test_grad_cam": "values above 1"},
    ),
    _m(
        L4,
        "zero divided by zero",
        "grad_cam",
        ("return np.divide(cam, peaks, out=np.zeros_like(cam), where=peaks > 0)", "return cam / peaks"),
        {"test_grad_cam": "NaN"},
    ),
    _m(L4, "class_index ignored", "grad_cam", ("if class_index is None:", "if True:"), {"test_grad_cam": "class_index was ignored"}),
    _m(
        L4,
        "alpha over the batch",
        "grad_cam",
        (
            "weights = tf.reduce_mean(gradients, axis=(1, 2))",
            "weights = tf.repeat(tf.reduce_mean(gradients, axis=(0, 1, 2))[None], tf.shape(gradients)[0], axis=0)",
        ),
        {"test_grad_cam": "averaged over the images too"},
    ),
    _m(
        L4,
        "cnnkit",
        "grad_cam",
        (BEGIN, BEGIN + "    return ck.grad_cam(model, images, layer_name=layer_name, class_index=class_index, upsample=False)\n"),
        {"test_grad_cam": NOT_CNNKIT},
    ),
    _m(
        L4,
        "rows and columns swapped",
        "find_shortcut",
        (
            "blocks = (mean_map[:k, :k], mean_map[:k, -k:], mean_map[-k:, :k], mean_map[-k:, -k:])",
            "blocks = (mean_map[:k, :k], mean_map[-k:, :k], mean_map[:k, -k:], mean_map[-k:, -k:])",
        ),
        {"test_find_shortcut": "rows come first"},
    ),
    _m(
        L4,
        "amounts",
        "find_shortcut",
        ("share = block.sum() / total if total > 0 else 0.0", "share = block.sum()"),
        {"test_find_shortcut": "not amounts"},
    ),
    _m(
        L4,
        "position, not label",
        "find_shortcut",
        [
            ("for label in np.unique(labels):", "for position, label in enumerate(np.unique(labels)):"),
            ("(int(label), corner)", "(position, corner)"),
        ],
        {"test_find_shortcut": "not its position"},
    ),
    _m(
        L4,
        "a new base",
        "train_head",
        ("build_transfer_model(base, 5)", "build_transfer_model(make_base(), 5)"),
        {"test_train_head": "expected the pretrained `base`"},
    ),
]

MISTAKES = LAB1 + LAB2 + LAB3 + LAB4

# Per lab: mistakes graded together in one submission, and the points each test must then earn.
GRADED = {
    L1: {
        "mistakes": [
            ("output_size", "float size"),
            ("correlate2d", "scipy"),
            ("conv2d", "square kernels only"),
            ("max_pool2d", "cnnkit"),
            ("avg_pool2d", "channels together"),
        ],
        "scores": {
            "test_output_size": 0,
            "test_parameter_counts": 2,
            "test_correlate2d": 0,
            "test_same_padding": 1,
            "test_conv2d": 0,
            "test_conv2d_same": 0,
            "test_max_pool2d": 0,
            "test_avg_pool2d": 0,
        },
        # hidden failures name their case: (test, a piece of the message)
        "named": [("test_conv2d", "conv2d(array (1, 10, 8, 2) float32, array (2, 3, 2, 3) float32")],
    },
    L2: {
        "mistakes": [("prepare_images", "float64"), ("best_epoch", "two accuracy names only"), ("is_overfitting", "training loss ignored")],
        "scores": {
            "test_prepare_images": 0,
            "test_build_convnet": 3,
            "test_compile_for_training": 2,
            "test_train": 3,
            "test_best_epoch": 0,
            "test_is_overfitting": 0,
        },
        "named": [("test_best_epoch", "best_epoch({'val_sparse_categorical_accuracy'")],
    },
}


def find(lab: str, answer: str, name: str) -> Mistake:
    for mistake in [*MISTAKES, LAB1_HIDDEN, LAB2_HIDDEN]:
        if (mistake.lab, mistake.answer, mistake.name) == (lab, answer, name):
            return mistake
    raise KeyError((lab, answer, name))

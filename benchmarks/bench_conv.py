"""Time cnnkit.conv2d (vectorised) and cnnkit.conv2d_loop against tf.nn.conv2d, in one run.

Prints, for each case, the median time of each implementation over interleaved repetitions and
its ratio to tf.nn.conv2d on the same inputs (1.00x = as fast as TensorFlow, 2.00x = twice as
slow). The loop version is only timed on the smaller batches (it takes seconds per batch).

    python benchmarks/bench_conv.py [--repeats 15]

TensorFlow runs with the course's settings (TF_ENABLE_ONEDNN_OPTS=0, as cnnkit.setup sets);
run with TF_ENABLE_ONEDNN_OPTS=1 in the environment to compare with oneDNN on.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import cnnkit as ck

# (name, input shape (N, H, W, C), filter shape (KH, KW, C, F), time the loop version?)
CASES = [
    ("MNIST batch 16, 3x3x1 -> 32", (16, 28, 28, 1), (3, 3, 1, 32), True),
    ("MNIST batch 64, 3x3x1 -> 32", (64, 28, 28, 1), (3, 3, 1, 32), True),
    ("MNIST batch 256, 3x3x1 -> 32", (256, 28, 28, 1), (3, 3, 1, 32), False),
    ("MNIST batch 1024, 3x3x1 -> 32", (1024, 28, 28, 1), (3, 3, 1, 32), False),
    ("MNIST batch 256, 5x5x1 -> 6 (LeNet)", (256, 28, 28, 1), (5, 5, 1, 6), False),
    ("2nd layer batch 64, 3x3x32 -> 64", (64, 26, 26, 32), (3, 3, 32, 64), False),
]


def median_times(functions: dict, repeats: int) -> dict:
    """Median seconds of each function, run in turn so that load changes hit all alike."""
    for function in functions.values():
        function()  # warm-up: TF builds its kernels, numpy touches its memory
    samples = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    tf = ck.import_tensorflow()
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, TensorFlow {tf.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cores, TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS')}")
    header = f"| {'case':38} | {'tf.nn.conv2d':>12} | {'conv2d':>8} | {'ratio':>6} | {'conv2d_loop':>11} | {'ratio':>7} |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for name, x_shape, w_shape, with_loop in CASES:
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = rng.standard_normal(w_shape).astype(np.float32)
        x_tf, w_tf = tf.constant(x), tf.constant(w)
        reference = tf.nn.conv2d(x_tf, w_tf, strides=1, padding="VALID").numpy()
        np.testing.assert_allclose(ck.conv2d(x, w), reference, rtol=1e-4, atol=1e-4)
        times = median_times(
            {
                "tf": lambda x_tf=x_tf, w_tf=w_tf: tf.nn.conv2d(x_tf, w_tf, strides=1, padding="VALID").numpy(),
                "conv2d": lambda x=x, w=w: ck.conv2d(x, w),
            },
            args.repeats,
        )
        loop_cells = f"| {'-':>11} | {'-':>7} |"
        if with_loop:
            np.testing.assert_allclose(ck.conv2d_loop(x[:1], w), reference[:1], rtol=1e-4, atol=1e-4)
            start = time.perf_counter()
            ck.conv2d_loop(x, w)
            loop = time.perf_counter() - start
            loop_cells = f"| {loop * 1e3:9.0f}ms | {loop / times['tf']:6.0f}x |"
        print(f"| {name:38} | {times['tf'] * 1e3:10.2f}ms | {times['conv2d'] * 1e3:6.2f}ms | "
              f"{times['conv2d'] / times['tf']:5.2f}x {loop_cells}")


if __name__ == "__main__":
    main()

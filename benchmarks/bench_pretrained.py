"""How fast is cnnkit.load_pretrained("mobilenet_v2")? Load times (converting, then from the cache)
and forward time per image at several input sizes, each in a fresh process.

    python benchmarks/bench_pretrained.py

Timings on a shared machine are noisy: the load average is printed with them, and the forward
times are best compared as ratios within one run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

LOAD = """
import time, os
start = time.perf_counter()
import cnnkit as ck
ck.setup(seed=0)
imported = time.perf_counter()
model = ck.load_pretrained("mobilenet_v2")
print(f"{imported - start:.2f} {time.perf_counter() - imported:.2f}")
"""

FORWARD = """
import time
import numpy as np
import cnnkit as ck
ck.setup(seed=0)
for size in (224, 160, 128, 96):
    model = ck.load_pretrained("mobilenet_v2", input_size=size)
    x = np.random.default_rng(0).random((32, size, size, 3), dtype=np.float32)
    model.predict(x[:8], verbose=0)
    start = time.perf_counter()
    model.predict(x, batch_size=32, verbose=0)
    print(size, f"{(time.perf_counter() - start) / 32 * 1000:.1f}")
"""


def run(code: str, cache: str) -> str:
    env = {**os.environ, "CNNKIT_CACHE": cache}
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout


def main() -> int:
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores)")
    with tempfile.TemporaryDirectory() as cache:
        for label in ("first load (reads the .pth, converts, caches)", "second load (from the cache)"):
            imported, loaded = run(LOAD, cache).split()
            print(f"{label}: {loaded} s (import cnnkit + TensorFlow before it: {imported} s)")
        forward = dict(line.split() for line in run(FORWARD, cache).splitlines())
    base = float(forward["224"])
    for size, ms in forward.items():
        print(f"forward at {size}x{size}: {ms} ms per image (batch 32), {base / float(ms):.1f}x faster than 224")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

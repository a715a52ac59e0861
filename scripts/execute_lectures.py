"""Execute lecture notebooks in place, as they are committed: outputs saved, in their own folder.

Usage: ``python scripts/execute_lectures.py lectures/04_training_on_mnist.ipynb [...]``
(no argument: every lecture). Run it after changing a lecture, then ``make test`` (nbval compares
the new outputs with a fresh run). Uses the current Python's kernel, so run it from the course's
virtual environment: ``.venv/bin/python scripts/execute_lectures.py ...``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(notebook, path)
    return seconds


def main(argv: list[str]) -> int:
    paths = [Path(arg).resolve() for arg in argv] or sorted((ROOT / "lectures").glob("*.ipynb"))
    for path in paths:
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"execute_lectures: expected a notebook file (.ipynb); received {path}", file=sys.stderr)
            return 2
    for path in paths:
        print(f"{path.relative_to(ROOT)}: executed in {execute(path):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

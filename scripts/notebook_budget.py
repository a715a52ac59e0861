"""Run notebooks one by one and print each one's wall time and its kernel's peak memory.

    python scripts/notebook_budget.py [NOTEBOOK ...]      (default: lectures/*.ipynb)

The kernel's peak memory is its resident-set high-water mark (VmHWM in /proc/PID/status, Linux),
read after the last cell; its CPU time (user + system, all threads) is read from /proc/PID/stat at
the same moment, and the machine's load average is printed with each row, since a wall time measured
on a busy machine says little (the CPU time moves much less with load). The notebook is executed in
its own folder, as nbval does, and is not written back. Exit status 1 if any notebook breaks or
exceeds the budget (60 s of wall time, 1.5 GB).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
WALL_LIMIT_S = 60.0
MEMORY_LIMIT_MB = 1536.0


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmHWM for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime and stime: fields 14 and 15 of stat


def measure(path: Path, timeout: int) -> tuple[float, float, float, str]:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = ""
    with client.setup_kernel():
        pid = client.km.provisioner.process.pid
        try:
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
        except Exception as failure:  # report, then go on with the next notebook
            error = f"{type(failure).__name__}: {str(failure).strip().splitlines()[-1][:120]}"
        wall = time.perf_counter() - start
        memory = peak_rss_mb(pid)
        cpu = cpu_seconds(pid)
    return wall, cpu, memory, error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((ROOT / "lectures").glob("*.ipynb"))
    print(f"| {'notebook':34} | {'wall (s)':>8} | {'CPU (s)':>7} | {'peak memory (MB)':>16} | {'within budget':13} | load |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 9}|{'-' * 18}|{'-' * 15}|------|")
    failed = False
    for path in notebooks:
        wall, cpu, memory, error = measure(path.resolve(), args.timeout)
        load = os.getloadavg()[0]
        ok = not error and wall <= WALL_LIMIT_S and memory <= MEMORY_LIMIT_MB
        failed |= not ok
        verdict = "yes" if ok else ("ERROR" if error else "NO")
        print(f"| {path.name:34} | {wall:8.1f} | {cpu:7.1f} | {memory:16.0f} | {verdict:13} | {load:4.1f} |", flush=True)
        if error:
            print(f"    {error}")
    print(f"Budget: {WALL_LIMIT_S:.0f} s and {MEMORY_LIMIT_MB:.0f} MB per notebook, {sys.platform}, "
          "measured one notebook at a time.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

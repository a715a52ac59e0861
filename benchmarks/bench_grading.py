"""Throughput of safe batch grading: seconds per submission per lab, and 2 workers against 1.

Goals (issue 12): at most 10 s per submission for every lab at one worker, and a batch of at
least 16 submissions graded at least 1.5x faster by 2 workers than by 1, in the same run.

Builds a throw-away course from the repository's labs (``solutions/`` and ``nbgrader_config.py``),
makes an LMS download with ``--copies`` correct submissions and ``--copies`` untouched ones per
lab, grades it with ``grade_batch`` at one worker (sandboxed kernels, feedback, export) and
prints, per lab, the mean seconds per submission of each kind and the whole batch's seconds per
submission; the toy assignment (numpy only) shows the fixed cost of a submission (kernel start,
nbgrader). Then, in the same run, a batch of ``--parallel-copies`` submissions of
``--parallel-lab`` is graded with 1 worker and again with 2: the ratio of the two times is the
speed-up. The lab's solution check (once per lab version and environment) is timed on its own.
Labs 3 and 4 train reference models in locked cells (``cnnkit.labtools.reference``): the
solution check trains them once per lab and every submission loads them (``--no-reference-cache``
measures the old way, every kernel training its own). A progress line follows every graded
submission (the whole run's done / total, rate, time left). The machine's load average is printed
with the figures: compare ratios on a busy machine.

Kernels are forked from a zygote that imported the lab's set-up modules once per worker and batch
(``grader/zygote.py``; ``c.SandboxKernelManager.zygote``). ``--zygote both`` (the default) grades
every lab with it and then without it, in the same run, and prints the ratio of the mean seconds
per submission; the "zygote s" column is its one-off cost (its imports, measured on their own for
each lab: the first submission of a batch waits for them), included in the mean of the batch it
served. Use ``--copies 3`` or more: the one-off cost is spread over the batch.

    .venv/bin/python benchmarks/bench_grading.py --quick             # ~5 min on a quiet 2-core machine
    .venv/bin/python benchmarks/bench_grading.py                     # every lab, 2 + 2 each; 16 x 2 workers
    .venv/bin/python benchmarks/bench_grading.py --labs lab1_conv_pool --copies 5 --parallel-copies 0
    .venv/bin/python benchmarks/bench_grading.py --toy              # the fixed cost alone
    .venv/bin/python benchmarks/bench_grading.py --copies 3 --parallel-copies 0   # zygote on and off, every lab

Run it with the virtual environment's ``bin`` on PATH (nbgrader calls ``alembic``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))

import grading_corpus as corpus  # noqa: E402
import nbformat  # noqa: E402
from traitlets.config import Config  # noqa: E402

from grader import grade_batch  # noqa: E402
from grader.check import reference_digests  # noqa: E402
from grader.config import load_course_config  # noqa: E402
from grader.report import Progress  # noqa: E402
from grader.sandbox import SandboxKernelManager, detect_isolation  # noqa: E402
from grader.workers import thread_settings  # noqa: E402
from grader.zygote import notebook_preload, shared_zygote, stop_shared_zygote  # noqa: E402


class Bar:
    """The whole run's progress: one line per graded submission (solution checks included)."""

    def __init__(self, total: int):
        self.progress = Progress(total, stream=open(os.devnull, "w"))  # noqa: SIM115 - printed here instead

    def __call__(self, what: str):
        def say(line: str) -> None:
            if line.startswith("[") and "/min" in line:  # grade_batch's line for a finished submission
                print(f"{self.progress.step()}  {what}: {line.split('  ', 1)[-1]}", flush=True)
            elif line.startswith("Solution check: ") and " / " in line:
                print(f"{self.progress.step()}  {what}: {line}", flush=True)
        return say


def _labs() -> list[str]:
    folder = os.path.join(REPO, "solutions")
    return sorted(
        name for name in os.listdir(folder) if os.path.isfile(os.path.join(folder, name, f"{name}.ipynb"))
    )


def _course(labs: list[str], toy: bool) -> str:
    from nbgrader.apps.api import NbGraderAPI

    root = tempfile.mkdtemp(prefix="bench-grading-")
    os.chmod(root, 0o755)
    shutil.copy(os.path.join(REPO, "nbgrader_config.py"), root)
    for lab in labs:
        shutil.copytree(os.path.join(REPO, "solutions", lab), os.path.join(root, "solutions", lab))
    if toy:
        os.makedirs(os.path.join(root, "solutions", "toy"))
        nbformat.write(corpus.toy_source(), os.path.join(root, "solutions", "toy", "toy.ipynb"))
    api = NbGraderAPI(config=load_course_config(root))
    for lab in labs + (["toy"] if toy else []):
        result = api.generate_assignment(lab)
        if not result["success"]:
            raise SystemExit(f"generate_assignment {lab} failed:\n{result.get('error')}")
    return root


def zygote_start_seconds(assignment: str, root: str, workers: int = 1) -> tuple[float, list[str]]:
    """The one-off cost of a batch's zygote: start one for ``assignment`` as a grading worker does
    (the kernel's clean environment with the worker's thread settings, the lab's set-up imports)
    and time it until its imports are done. Returns the seconds and what it imported."""
    release = nbformat.read(os.path.join(root, "labs", assignment, f"{assignment}.ipynb"), as_version=4)
    names = notebook_preload(release)
    saved = dict(os.environ)
    os.environ.update(thread_settings(workers))
    try:
        manager = SandboxKernelManager()
        env = manager._clean_env()
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        started = time.perf_counter()
        zygote = shared_zygote(preload=names, env=env, preload_env=manager.preload_env)
        assert zygote is not None, "the zygote did not start"
        info = zygote.wait_ready(600)
        seconds = time.perf_counter() - started
    finally:
        stop_shared_zygote()
        os.environ.clear()
        os.environ.update(saved)
    return seconds, info["loaded"]


def bench(assignment: str, root: str, copies: int, *, workers: int = 1, kinds=("correct", "untouched"),
          timeout: int | None = None, cache: bool = True, bar: Bar | None = None, zygote: bool = True) -> dict:
    source = nbformat.read(os.path.join(root, "solutions", assignment, f"{assignment}.ipynb"), as_version=4)
    release = nbformat.read(os.path.join(root, "labs", assignment, f"{assignment}.ipynb"), as_version=4)
    solution = corpus.solution_submission(source, release)
    files = {}
    for index in range(copies):
        for kind in kinds:
            files[f"{kind}{index:02d}"] = {f"{assignment}.ipynb": solution if kind == "correct" else release}
    download = corpus.write_download(os.path.join(root, f"{assignment}-bench.zip"), files)
    what = f"{assignment}, {workers} worker(s), zygote {'on' if zygote else 'off'}"
    config = Config()
    config.SandboxKernelManager.zygote = zygote
    started = time.perf_counter()
    grade_batch(assignment, course_root=root, students=[], solution_check="force", timeout=timeout,  # the check alone
                reference_cache=cache, config=config, progress=bar(f"{assignment} solution check") if bar else None)
    check = time.perf_counter() - started
    started = time.perf_counter()
    report = grade_batch(assignment, [download], course_root=root, workers=workers, regrade=True, solution_check=False,
                         timeout=timeout, reference_cache=cache, config=config, progress=bar(what) if bar else None)
    total = time.perf_counter() - started
    seconds = {kind: [r.seconds for r in report.results if r.student.startswith(kind)] or [float("nan")]
               for kind in ("correct", "untouched")}
    scores = {r.student: (r.score, r.max_score, r.status) for r in report.results}
    return {
        "assignment": assignment,
        "zygote": zygote,
        "submissions": len(report.results),
        "mean_s": statistics.mean(r.seconds for r in report.results),
        "correct_s": statistics.mean(seconds["correct"]),
        "untouched_s": statistics.mean(seconds["untouched"]),
        "batch_s_per_submission": total / len(report.results),
        "batch_s": total,
        "workers": workers,
        "solution_check_s": check,
        "reference_models": len(reference_digests(root, assignment) or {}) if cache else 0,
        "load_average": os.getloadavg()[0],
        "all_correct_full_marks": all(s == m and m > 0 for n, (s, m, _) in scores.items() if n.startswith("correct")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="*", help="labs to measure (default: all in solutions/)")
    parser.add_argument("--copies", type=int, default=2, help="correct and untouched submissions per lab")
    parser.add_argument("--toy", action="store_true", help="measure only the numpy toy assignment (fixed costs)")
    parser.add_argument("--parallel-lab", default="lab1_conv_pool", help="lab (or toy) of the 1-against-2-workers batch")
    parser.add_argument("--parallel-copies", type=int, help="its submissions (default 16; 0: skip it)")
    parser.add_argument("--timeout", type=int, help="seconds per cell (default: the course's 60; raise it on a busy machine)")
    parser.add_argument("--no-reference-cache", dest="cache", action="store_false",
                        help="every kernel trains the labs' reference models (the way before the cache)")
    parser.add_argument("--quick", action="store_true",
                        help="1 correct + 1 untouched submission per lab, no toy, 16 x lab1 at 1 and 2 workers (~5 min quiet)")
    parser.add_argument("--zygote", choices=("both", "on", "off"), default="both",
                        help="grade each lab with kernels forked from a zygote, started afresh, or both (default) in turn")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.copies = 1
    if args.parallel_copies is None:
        args.parallel_copies = 16
    labs = [] if args.toy else (args.labs or _labs())
    parallel = [] if args.toy or not args.parallel_copies else [args.parallel_lab]
    measured = ([] if args.quick else ["toy"]) + labs
    modes = {"both": (True, False), "on": (True,), "off": (False,)}[args.zygote]
    bar = Bar(len(modes) * len(measured) * (1 + 2 * args.copies) + 2 * (1 + args.parallel_copies) * len(parallel))
    print("sandbox:", detect_isolation().describe())
    print(f"cpu cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    root = _course(sorted((set(labs) | set(parallel)) - {"toy"}), toy=not args.quick or "toy" in parallel)
    rows, speed = [], {}
    try:
        for workers in (1, 2) if parallel else ():
            speed[workers] = bench(parallel[0], root, args.parallel_copies, workers=workers, kinds=("correct",),
                                   timeout=args.timeout, cache=args.cache, bar=bar)
            print(f"  {parallel[0]} x {args.parallel_copies}, {workers} worker(s): {speed[workers]['batch_s']:.0f} s", flush=True)
        for name in measured:
            start = zygote_start_seconds(name, root) if True in modes else (float("nan"), [])
            print(f"  {name}: its zygote imports {', '.join(start[1]) or 'nothing'} in {start[0]:.1f} s", flush=True)
            for zygote in modes:
                rows.append(bench(name, root, args.copies, timeout=args.timeout, cache=args.cache, bar=bar, zygote=zygote))
                rows[-1]["zygote_start_s"] = start[0] if zygote else 0.0
                print(f"  {name}, zygote {'on' if zygote else 'off'}: {rows[-1]['mean_s']:.1f} s per submission", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    cache = "reference models trained once per lab" if args.cache else "no reference cache: every kernel trains"
    print(f"\n1 worker, {args.copies} correct + {args.copies} untouched submissions per lab ({cache}); goal <= 10 s per submission")
    print("mean s/sub: mean of the submissions' own times (the first one of a batch waits for the zygote's imports);"
          " zygote s: that one-off cost, measured on its own")
    print(f"{'assignment':<22} {'zygote':>6} {'subs':>4} {'correct s':>10} {'untouched s':>12} {'mean s/sub':>11} "
          f"{'batch s/sub':>12} {'zygote s':>9} {'check s':>8} {'refs':>4} {'full marks':>10} {'load':>5}")
    for row in rows:
        print(f"{row['assignment']:<22} {'on' if row['zygote'] else 'off':>6} {row['submissions']:>4} {row['correct_s']:>10.1f} "
              f"{row['untouched_s']:>12.1f} {row['mean_s']:>11.1f} {row['batch_s_per_submission']:>12.1f} "
              f"{row['zygote_start_s']:>9.1f} {row['solution_check_s']:>8.1f} {row['reference_models']:>4} "
              f"{str(row['all_correct_full_marks']):>10} {row['load_average']:>5.1f}")
    if len(modes) == 2:
        print("\nzygote off / on, mean seconds per submission (same run): " + ", ".join(
            f"{on['assignment']} {off['mean_s'] / on['mean_s']:.2f}x" for on, off in zip(rows[::2], rows[1::2])))
    if speed:
        one, two = speed[1], speed[2]
        print(f"\n{parallel[0]}, {one['submissions']} correct submissions: 1 worker {one['batch_s']:.0f} s "
              f"(load {one['load_average']:.1f}), 2 workers {two['batch_s']:.0f} s (load {two['load_average']:.1f}): "
              f"speed-up {one['batch_s'] / two['batch_s']:.2f}x (goal >= 1.5x)")
    print(f"\ncpu cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"labs": rows, "parallel": {str(k): v for k, v in speed.items()}}, handle, indent=2)


if __name__ == "__main__":
    main()

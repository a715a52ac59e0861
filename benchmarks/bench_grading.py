"""Throughput of safe batch grading: seconds per submission per lab, and 2 workers against 1.

Builds a throw-away course from the repository's labs (``solutions/`` and ``nbgrader_config.py``),
makes an LMS download with ``--copies`` correct submissions and ``--copies`` untouched ones per
lab, grades it with ``grade_batch`` at one worker (sandboxed kernels, feedback, export) and
prints, per lab, the mean seconds per submission of each kind and the whole batch's seconds per
submission; the toy assignment (numpy only) shows the fixed cost of a submission (kernel start,
nbgrader). Then, in the same run, a batch of ``--parallel-copies`` submissions of
``--parallel-lab`` is graded with 1 worker and again with 2: the ratio of the two times is the
speed-up. The lab's solution check (once per lab version and environment) is timed on its own.
The machine's load average is printed with the figures: compare ratios on a busy machine.

    .venv/bin/python benchmarks/bench_grading.py                     # every lab, 2 + 2 each; 16 x 2 workers
    .venv/bin/python benchmarks/bench_grading.py --labs lab1_conv_pool --copies 5 --parallel-copies 0
    .venv/bin/python benchmarks/bench_grading.py --toy              # the fixed cost alone

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

from grader import grade_batch  # noqa: E402
from grader.config import load_course_config  # noqa: E402
from grader.sandbox import detect_isolation  # noqa: E402


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


def bench(assignment: str, root: str, copies: int, *, workers: int = 1, kinds=("correct", "untouched"),
          timeout: int | None = None) -> dict:
    source = nbformat.read(os.path.join(root, "solutions", assignment, f"{assignment}.ipynb"), as_version=4)
    release = nbformat.read(os.path.join(root, "labs", assignment, f"{assignment}.ipynb"), as_version=4)
    solution = corpus.solution_submission(source, release)
    files = {}
    for index in range(copies):
        for kind in kinds:
            files[f"{kind}{index:02d}"] = {f"{assignment}.ipynb": solution if kind == "correct" else release}
    download = corpus.write_download(os.path.join(root, f"{assignment}-bench.zip"), files)
    started = time.perf_counter()
    grade_batch(assignment, course_root=root, students=[], solution_check="force", progress=None,  # the check alone
                timeout=timeout)
    check = time.perf_counter() - started
    started = time.perf_counter()
    report = grade_batch(assignment, [download], course_root=root, progress=None, workers=workers, regrade=True,
                         solution_check=False, timeout=timeout)
    total = time.perf_counter() - started
    seconds = {kind: [r.seconds for r in report.results if r.student.startswith(kind)] or [float("nan")]
               for kind in ("correct", "untouched")}
    scores = {r.student: (r.score, r.max_score, r.status) for r in report.results}
    return {
        "assignment": assignment,
        "submissions": len(report.results),
        "correct_s": statistics.mean(seconds["correct"]),
        "untouched_s": statistics.mean(seconds["untouched"]),
        "batch_s_per_submission": total / len(report.results),
        "batch_s": total,
        "workers": workers,
        "solution_check_s": check,
        "load_average": os.getloadavg()[0],
        "all_correct_full_marks": all(s == m and m > 0 for n, (s, m, _) in scores.items() if n.startswith("correct")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="*", help="labs to measure (default: all in solutions/)")
    parser.add_argument("--copies", type=int, default=2, help="correct and untouched submissions per lab")
    parser.add_argument("--toy", action="store_true", help="measure only the numpy toy assignment (fixed costs)")
    parser.add_argument("--parallel-lab", default="lab1_conv_pool", help="lab (or toy) of the 1-against-2-workers batch")
    parser.add_argument("--parallel-copies", type=int, default=16, help="its submissions (0: skip it)")
    parser.add_argument("--timeout", type=int, help="seconds per cell (default: the course's 60; raise it on a busy machine)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    labs = [] if args.toy else (args.labs or _labs())
    parallel = [] if args.toy or not args.parallel_copies else [args.parallel_lab]
    print("sandbox:", detect_isolation().describe())
    print(f"cpu cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    root = _course(sorted((set(labs) | set(parallel)) - {"toy"}), toy=True)
    rows, speed = [], {}
    try:
        for workers in (1, 2) if parallel else ():
            speed[workers] = bench(parallel[0], root, args.parallel_copies, workers=workers, kinds=("correct",),
                                   timeout=args.timeout)
            print(f"  {parallel[0]} x {args.parallel_copies}, {workers} worker(s): {speed[workers]['batch_s']:.0f} s", flush=True)
        for name in ["toy"] + ([] if args.toy else labs):
            rows.append(bench(name, root, args.copies, timeout=args.timeout))
            print(f"  {name}: {rows[-1]['batch_s_per_submission']:.1f} s per submission", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n1 worker, {args.copies} correct + {args.copies} untouched submissions per lab")
    print(f"{'assignment':<22} {'subs':>4} {'correct s':>10} {'untouched s':>12} {'batch s/sub':>12} {'check s':>8} "
          f"{'full marks':>10} {'load':>5}")
    for row in rows:
        print(f"{row['assignment']:<22} {row['submissions']:>4} {row['correct_s']:>10.1f} {row['untouched_s']:>12.1f} "
              f"{row['batch_s_per_submission']:>12.1f} {row['solution_check_s']:>8.1f} {str(row['all_correct_full_marks']):>10} "
              f"{row['load_average']:>5.1f}")
    if speed:
        one, two = speed[1], speed[2]
        print(f"\n{parallel[0]}, {one['submissions']} correct submissions: 1 worker {one['batch_s']:.0f} s "
              f"(load {one['load_average']:.1f}), 2 workers {two['batch_s']:.0f} s (load {two['load_average']:.1f}): "
              f"speed-up {one['batch_s'] / two['batch_s']:.2f}x")
    print(f"\ncpu cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"labs": rows, "parallel": {str(k): v for k, v in speed.items()}}, handle, indent=2)


if __name__ == "__main__":
    main()

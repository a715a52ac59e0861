"""Throughput of safe batch grading: seconds per submission, per lab.

Builds a throw-away course from the repository's labs (``solutions/`` and ``nbgrader_config.py``),
makes an LMS download with ``--copies`` correct submissions and ``--copies`` untouched ones per
lab, grades it with ``grade_batch`` (sandboxed kernels, feedback, export) and prints, per lab, the
mean seconds per submission of each kind and the whole batch's seconds per submission.

    .venv/bin/python benchmarks/bench_grading.py                     # every lab, 2 + 2 each
    .venv/bin/python benchmarks/bench_grading.py --labs lab1_conv_pool --copies 5
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


def bench(assignment: str, root: str, copies: int) -> dict:
    source = nbformat.read(os.path.join(root, "solutions", assignment, f"{assignment}.ipynb"), as_version=4)
    release = nbformat.read(os.path.join(root, "labs", assignment, f"{assignment}.ipynb"), as_version=4)
    solution = corpus.solution_submission(source, release)
    files = {}
    for index in range(copies):
        files[f"correct{index:02d}"] = {f"{assignment}.ipynb": solution}
        files[f"untouched{index:02d}"] = {f"{assignment}.ipynb": release}
    download = corpus.write_download(os.path.join(root, f"{assignment}-bench.zip"), files)
    started = time.perf_counter()
    report = grade_batch(assignment, [download], course_root=root, progress=None)
    total = time.perf_counter() - started
    seconds = {kind: [r.seconds for r in report.results if r.student.startswith(kind)] for kind in ("correct", "untouched")}
    scores = {r.student: (r.score, r.max_score, r.status) for r in report.results}
    return {
        "assignment": assignment,
        "submissions": len(report.results),
        "correct_s": statistics.mean(seconds["correct"]),
        "untouched_s": statistics.mean(seconds["untouched"]),
        "batch_s_per_submission": total / len(report.results),
        "batch_s": total,
        "all_correct_full_marks": all(s == m and m > 0 for n, (s, m, _) in scores.items() if n.startswith("correct")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="*", help="labs to measure (default: all in solutions/)")
    parser.add_argument("--copies", type=int, default=2, help="correct and untouched submissions per lab")
    parser.add_argument("--toy", action="store_true", help="measure only the numpy toy assignment (fixed costs)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    labs = [] if args.toy else (args.labs or _labs())
    print("sandbox:", detect_isolation().describe())
    root = _course(labs, toy=args.toy)
    try:
        rows = [bench(name, root, args.copies) for name in (["toy"] if args.toy else labs)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{'assignment':<20} {'subs':>4} {'correct s':>10} {'untouched s':>12} {'batch s/sub':>12} {'full marks':>10}")
    for row in rows:
        print(f"{row['assignment']:<20} {row['submissions']:>4} {row['correct_s']:>10.1f} {row['untouched_s']:>12.1f} "
              f"{row['batch_s_per_submission']:>12.1f} {str(row['all_correct_full_marks']):>10}")
    print(f"\ncpu cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()

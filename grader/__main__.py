"""Command line: ``python -m grader batch ASSIGNMENT DOWNLOAD...``, ``python -m grader merge ASSIGNMENT SHARD...``
and ``python -m grader sandbox``."""

from __future__ import annotations

import argparse
import sys

from grader.batch import LMS_PATTERNS, grade_batch
from grader.sandbox import detect_isolation
from grader.shard import merge_shards


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    batch = commands.add_parser(
        "batch",
        help="collect an LMS download, autograde it in the sandbox, write feedback and grades.csv",
    )
    batch.add_argument("assignment", help="assignment name, e.g. lab1_conv_pool")
    batch.add_argument("archives", nargs="*", help="LMS download(s): zip/tar files or folders "
                       "(none: grade what is already in submitted/)")
    batch.add_argument("--course-dir", default=".", help="course folder (default: current folder)")
    batch.add_argument("--lms", default="folder", choices=sorted(LMS_PATTERNS),
                       help="file-name layout of the download (default: one folder per student)")
    batch.add_argument("--regexp", help="own nbgrader named_regexp with student_id and file_id groups")
    batch.add_argument("--student", action="append", dest="students", help="grade only this student (repeatable)")
    batch.add_argument("--timeout", type=int, help="seconds per cell (default: the course configuration)")
    batch.add_argument("--grades-csv", help="where the grades CSV goes (default: grades-ASSIGNMENT.csv in the course folder)")
    batch.add_argument("--report", help="where the per-student report goes")
    batch.add_argument("--require-isolation", action="store_true",
                       help="refuse to grade without Landlock or a separate kernel user")
    batch.add_argument("--workers", type=int, help="submissions graded at once (default: this machine's cores)")
    batch.add_argument("--shard", help="grade only share K of N of the students (K/N, 0 <= K < N); see `merge`")
    batch.add_argument("--regrade", action="store_true",
                       help="grade again what an earlier run of the same lab version graded (default: resume)")
    batch.add_argument("--no-solution-check", dest="solution_check", action="store_false",
                       help="skip grading the lab's own solution first (not recommended)")
    batch.add_argument("--no-reference-cache", dest="reference_cache", action="store_false",
                       help="every kernel trains the lab's reference models itself (default: trained once, in the solution check)")
    check = commands.add_parser("check", help="grade the lab's own solution in the sandbox (is this environment right?)")
    check.add_argument("assignment", help="assignment name, e.g. lab1_conv_pool")
    check.add_argument("--course-dir", default=".", help="course folder (default: current folder)")
    merge = commands.add_parser("merge", help="combine the course folders of shards into one course")
    merge.add_argument("assignment", help="assignment name, e.g. lab1_conv_pool")
    merge.add_argument("shards", nargs="+", help="course folders of the shards")
    merge.add_argument("--course-dir", default=".", help="course receiving the merge (default: current folder)")
    merge.add_argument("--grades-csv", help="where the grades CSV goes (default: grades-ASSIGNMENT.csv in the course)")
    merge.add_argument("--report", help="where the per-student report goes")
    commands.add_parser("sandbox", help="show which sandbox layers this machine gives kernels")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "sandbox":
        plan = detect_isolation()
        print("\n".join(plan.layers()))
        for note in plan.notes:
            print("note:", note)
        return 0
    try:
        if args.command == "check":
            grade_batch(args.assignment, course_root=args.course_dir, students=[], solution_check="force")
            return 0
        if args.command == "merge":
            report = merge_shards(args.assignment, args.shards, course_root=args.course_dir,
                                  grades_csv=args.grades_csv, report_csv=args.report)
            return 1 if any(result.status == "error" for result in report.results) else 0
        report = grade_batch(
            args.assignment,
            args.archives,
            course_root=args.course_dir,
            lms=args.lms,
            regexp=args.regexp,
            students=args.students,
            timeout=args.timeout,
            grades_csv=args.grades_csv,
            report_csv=args.report,
            require_isolation=args.require_isolation,
            workers=args.workers,
            shard=args.shard,
            regrade=args.regrade,
            solution_check=args.solution_check,
            reference_cache=args.reference_cache,
        )
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1 if any(result.status == "error" for result in report.results) else 0


if __name__ == "__main__":
    sys.exit(main())

"""``tinygrad-edu grade SUBMISSIONS --out DIR [--exercises ...] [-j N]``, and the exports for Gradescope and
GitHub Classroom (``--gradescope-autograder OUT.zip``, ``--github-classroom OUT.yml``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tinygrad_edu.errors import UsageError
from tinygrad_edu.exercises.catalogue import EXERCISES, get
from tinygrad_edu.support.options import positive_float, positive_int

DEFAULT_TIME_LIMIT = 10.0  # per call of a student function: the checks take milliseconds, a class is large


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tinygrad-edu grade``."""
    parser.add_argument("submissions", nargs="?", type=Path, metavar="SUBMISSIONS",
                        help="a folder with one sub-folder per student, holding their exercise files")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where grades.csv and the reports go")
    parser.add_argument("--exercises", metavar="NAME,...", default=",".join(EXERCISES),
                        help="the exercises to grade (default: all of them)")
    parser.add_argument("-j", "--jobs", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                        help="students graded at the same time (default: the number of cores)")
    parser.add_argument("--time-limit", type=positive_float, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                        help=f"per call of a student's function (default {DEFAULT_TIME_LIMIT:g})")
    parser.add_argument("--gradescope-autograder", type=Path, metavar="OUT.zip",
                        help="write the autograder zip to upload to Gradescope instead of grading")
    parser.add_argument("--github-classroom", type=Path, metavar="OUT.yml",
                        help="write a GitHub Classroom workflow (one autograding step per exercise) instead of grading")


def _exercises(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        get(name)  # an unknown name: a UsageError listing the exercises
    if not names:
        raise UsageError("--exercises: give at least one exercise (tinygrad-edu exercise list)")
    return names


def _refuse_overwrite(path: Path) -> None:
    if path.exists():
        raise UsageError(f"{path} exists; it is not overwritten (remove it or choose another name)")


def run(args: argparse.Namespace) -> int:
    """Grade the class (exit 0), or write an export; 2 on bad usage."""
    exercises = _exercises(args.exercises)
    if args.gradescope_autograder or args.github_classroom:
        from tinygrad_edu.grading.export import write_github_classroom, write_gradescope_autograder

        for path, write in ((args.gradescope_autograder, write_gradescope_autograder),
                            (args.github_classroom, write_github_classroom)):
            if path is not None:
                _refuse_overwrite(path)
                print(f"wrote {write(path, exercises, args.time_limit)}")
        return 0
    if args.submissions is None or args.out is None:
        raise UsageError("give SUBMISSIONS and --out DIR (or --gradescope-autograder / --github-classroom)")
    if not args.submissions.is_dir():
        raise UsageError(f"SUBMISSIONS {args.submissions}: no such folder")
    if args.out.resolve() == args.submissions.resolve() or args.submissions.resolve() in args.out.resolve().parents:
        raise UsageError("--out must be outside SUBMISSIONS (the students' folders are never written)")
    from tinygrad_edu.grading import grade_class, students

    if not students(args.submissions):
        raise UsageError(f"SUBMISSIONS {args.submissions}: no student folders in it")
    outcome = grade_class(args.submissions, args.out, exercises, args.jobs, args.time_limit,
                          progress=sys.stderr.isatty())
    print((args.out / "summary.txt").read_text(), end="")
    print(f"\n{outcome.graded} students graded, {outcome.reused} unchanged since the last run (not graded again)")
    for path in outcome.files:
        print(f"wrote {path}")
    print(f"wrote {args.out / 'gradescope'}/STUDENT/results.json for each student")
    return 0

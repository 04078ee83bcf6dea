"""One student graded in a process of its own: ``python -m tinygrad_edu.grading.worker FOLDER --exercises A,B
--time-limit S`` prints :func:`~tinygrad_edu.grading.marking.grade_student`'s result as one JSON line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tinygrad_edu.grading.marking import grade_student
from tinygrad_edu.sandbox import Limits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygrad_edu.grading.worker")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--exercises", required=True)
    parser.add_argument("--time-limit", type=float, required=True)
    args = parser.parse_args(argv)
    result = grade_student(args.folder, args.exercises.split(","), Limits(seconds=args.time_limit))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

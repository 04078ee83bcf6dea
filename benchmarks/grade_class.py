"""How long ``tinygrad-edu grade`` takes to mark a class: 300 students x 8 exercises by default.

    python benchmarks/grade_class.py [--students 300] [--jobs N] [--time-limit 10]

The class is generated in a temporary folder, a quarter of each kind: correct (the solutions), wrong (the
solution with the first function of each file raising), hostile (each file exits the process, imports the
solution, or loops forever at the top) and empty (no files). Every student is graded on their own seed. It
prints the wall time, the time per student, and checks every mark: correct students pass everything, wrong
ones not everything, hostile and empty ones nothing. Not part of the test suite (minutes, not seconds).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tinygrad_edu.exercises import EXERCISES

HOSTILE = ["import os\nos._exit(0)\n", "from tinygrad_edu.exercises.solutions.{module} import *\n",
           "import sys\nsys.exit(0)\n"]


def make_class(folder: Path, students: int) -> dict[str, str]:
    """Write the submissions; returns each student's kind."""
    solutions = {name: exercise.solution() for name, exercise in EXERCISES.items()}
    kinds = {}
    for number in range(students):
        kind = ("correct", "wrong", "hostile", "empty")[number % 4]
        student = folder / f"student{number:03d}"
        student.mkdir(parents=True)
        kinds[student.name] = kind
        for name, exercise in EXERCISES.items():
            if kind == "correct":
                text = solutions[name]
            elif kind == "wrong":
                text = solutions[name] + f"\n\ndef {exercise.functions[0]}(*args):\n    raise ValueError('wrong')\n"
            elif kind == "hostile":
                text = HOSTILE[number % len(HOSTILE)].format(module=exercise.module_name)
            else:
                continue
            (student / exercise.filename).write_text(text)
    return kinds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--time-limit", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        submissions, out = Path(tmp, "submissions"), Path(tmp, "out")
        kinds = make_class(submissions, args.students)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tinygrad_edu", "grade", str(submissions), "--out", str(out),
                        "-j", str(args.jobs), "--time-limit", str(args.time_limit)], check=True,
                       stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        with open(out / "grades.csv", newline="") as f:
            rows = {row["student"]: row for row in csv.DictReader(f)}
        wrong = []
        for student, kind in kinds.items():
            passed, total = int(rows[student]["items_passed"]), int(rows[student]["items_total"])
            ok = {"correct": passed == total, "wrong": 0 < passed < total}.get(kind, passed == 0)
            if not ok:
                wrong.append(f"{student} ({kind}): {passed}/{total} {rows[student]['diagnosis'][:100]}")
    print(f"{args.students} students x {len(EXERCISES)} exercises, -j {args.jobs} on {os.cpu_count()} cores: "
          f"{elapsed:.0f} s ({elapsed / args.students:.2f} s per student)")
    print("every mark as expected" if not wrong else "UNEXPECTED MARKS:\n  " + "\n  ".join(wrong))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

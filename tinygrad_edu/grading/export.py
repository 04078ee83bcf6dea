"""Marking past one machine: a Gradescope autograder zip, and a GitHub Classroom workflow.

Gradescope runs ``setup.sh`` once when the autograder is built (here: install the project shipped inside the
zip) and ``run_autograder`` for each submission, in a container: the submission is in
``/autograder/submission``, the results go to ``/autograder/results/results.json``. GitHub Classroom runs a
workflow in the student's repository on each push: one autograding step per exercise.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

from tinygrad_edu.grading import reports
from tinygrad_edu.grading.marking import grade_student
from tinygrad_edu.sandbox import Limits
from tinygrad_edu.support.atomic import atomic_write

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built: install the checker shipped in this zip.
set -euo pipefail
apt-get update -qq && apt-get install -y -qq python3 python3-pip python3-venv > /dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet /autograder/source/tinygrad_edu_src
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grade it and write results/results.json.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results"
exec "$PYTHON" -m tinygrad_edu.grading.export "$ROOT/submission" "$ROOT/results/results.json" \\
    --exercises {exercises} --time-limit {seconds:g}
"""


def _project_files() -> list[tuple[Path, str]]:
    """The project's package and build files, as (file, name in the zip)."""
    package = Path(__file__).resolve().parents[1]
    root = package.parent
    files = [(p, f"tinygrad_edu_src/{p.relative_to(root)}") for p in sorted(package.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts]
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).is_file():
            files.append((root / name, f"tinygrad_edu_src/{name}"))
    return files


def write_gradescope_autograder(path: Path, exercises: list[str], seconds: float) -> Path:
    """The zip to upload as a Gradescope autograder (``setup.sh``, ``run_autograder``, the project)."""
    with atomic_write(path) as out:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in (("setup.sh", SETUP_SH),
                               ("run_autograder", RUN_AUTOGRADER.format(exercises=",".join(exercises), seconds=seconds))):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16  # executable, as Gradescope needs
                archive.writestr(info, text)
            for file, name in _project_files():
                archive.write(file, name)
    return path


def github_classroom_workflow(exercises: list[str], seconds: float) -> str:
    """``.github/workflows/classroom.yml`` for a repository of the exercise files: one step per exercise."""
    steps = [
        "      - uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        "          python-version: '3.11'",
        "      - name: Install the checker",
        "        run: pip install tinygrad-edu",
    ]
    ids = []
    for name in exercises:
        step = name.replace("-", "_")
        ids.append(step)
        steps += [
            f"      - name: {name}",
            f"        id: {step}",
            "        uses: classroom-resources/autograding-command-grader@v1",
            "        with:",
            f"          test-name: {name}",
            f"          command: tinygrad-edu exercise check {name} --dir . --time-limit {seconds:g}",
            "          timeout: 5",
            "          max-score: 1",
        ]
    results = ",".join(ids)
    steps += [
        "      - name: Autograding reporter",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
        *(f"          {step.upper()}_RESULTS: \"${{{{steps.{step}.outputs.result}}}}\"" for step in ids),
        "        with:",
        f"          runners: {results}",
    ]
    head = ["name: Autograding Tests", "on:", "  - push", "  - repository_dispatch",
            "permissions:", "  checks: write", "  actions: read", "  contents: read",
            "jobs:", "  run-autograding-tests:", "    runs-on: ubuntu-latest",
            "    if: github.actor != 'github-classroom[bot]'", "    steps:"]
    return "\n".join(head + steps) + "\n"


def write_github_classroom(path: Path, exercises: list[str], seconds: float) -> Path:
    with atomic_write(path) as out:
        out.write(github_classroom_workflow(exercises, seconds).encode())
    return path


def _gradescope_student(metadata: Path) -> str | None:
    """The submitters' ids from Gradescope's submission_metadata.json (the seed of their problems), if any."""
    try:
        users = json.loads(metadata.read_text())["users"]
        return ",".join(sorted(str(user.get("email") or user["id"]) for user in users)) or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main(argv: list[str] | None = None) -> int:
    """Gradescope's side: ``python -m tinygrad_edu.grading.export SUBMISSION RESULTS.json --exercises ...``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tinygrad_edu.grading.export")
    parser.add_argument("submission", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("--exercises", required=True)
    parser.add_argument("--time-limit", type=float, required=True)
    args = parser.parse_args(argv)
    result = grade_student(args.submission, args.exercises.split(","), Limits(seconds=args.time_limit),
                           student=_gradescope_student(args.submission.parent / "submission_metadata.json"))
    reports.write_gradescope(args.results, result)
    passed, total = reports.score(result)
    print(json.dumps({"score": passed, "of": total}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

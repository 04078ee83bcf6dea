"""Mark a whole class: ``tinygrad-edu grade SUBMISSIONS --out DIR`` (the command is :mod:`tinygrad_edu.cli.grade`).

``SUBMISSIONS`` holds one folder per student with their exercise files. Each student is graded in a process
of their own (:mod:`.worker`), ``jobs`` at a time, each exercise run apart (:mod:`tinygrad_edu.sandbox`);
the student's folder is only read. Each result is kept in ``DIR/.results/`` under the student's name with
the hash of their files, so a run stopped at any moment (even ``kill -9``) resumes where it was: a student
whose files have not changed is not graded again. The reports (:mod:`.reports`) are written at the end,
each atomically.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinygrad_edu.grading import reports
from tinygrad_edu.grading.marking import folder_hash
from tinygrad_edu.support.atomic import atomic_write

RESULTS = ".results"  # one JSON per student, in the output folder


@dataclass
class Outcome:
    """What :func:`grade_class` did: the results, and how many were graded now or reused."""

    results: list[dict[str, Any]] = field(default_factory=list)
    graded: int = 0
    reused: int = 0
    files: list[Path] = field(default_factory=list)


def students(submissions: Path) -> list[Path]:
    """The students' folders (hidden ones skipped), sorted by name."""
    return sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))


def _grade_in_process(folder: Path, exercises: list[str], seconds: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "tinygrad_edu.grading.worker", str(folder), "--exercises", ",".join(exercises),
               "--time-limit", str(seconds)]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    if done.returncode != 0:
        raise RuntimeError(f"grading {folder.name} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def grade_class(submissions: Path, out: Path, exercises: list[str], jobs: int, seconds: float,
                progress: bool = True) -> Outcome:
    """Grade every student of ``submissions`` into ``out`` (see the module's docstring)."""
    from tqdm import tqdm

    cache = out / RESULTS
    cache.mkdir(parents=True, exist_ok=True)
    outcome = Outcome()
    todo = []
    for folder in students(submissions):
        saved = cache / f"{folder.name}.json"
        if saved.is_file():
            try:
                result = json.loads(saved.read_text())
            except (OSError, ValueError):
                result = None
            if result and result.get("hash") == folder_hash(folder, exercises, seconds):
                outcome.results.append(result)
                outcome.reused += 1
                continue
        todo.append(folder)
    bar = tqdm(total=len(todo), unit="student", desc="grading", disable=not progress)
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(_grade_in_process, folder, exercises, seconds) for folder in todo]
        for future in as_completed(futures):
            result = future.result()
            with atomic_write(cache / f"{result['student']}.json") as saved:
                saved.write(json.dumps(result).encode())
            outcome.results.append(result)
            outcome.graded += 1
            bar.update()
    finally:  # Ctrl-C or an error: the students not started yet are not started (the results kept resume)
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    outcome.files = write_reports(out, outcome.results, exercises)
    return outcome


def write_reports(out: Path, results: list[dict[str, Any]], exercises: list[str]) -> list[Path]:
    """grades.csv, junit.xml, gradescope/<student>/results.json, summary.txt and summary.png."""
    written = [out / "grades.csv", out / "junit.xml", out / "summary.txt"]
    reports.write_csv(written[0], results, exercises)
    reports.write_junit(written[1], results)
    reports._write_text(written[2], reports.summary(results, exercises))
    for result in results:
        reports.write_gradescope(out / "gradescope" / result["student"] / "results.json", result)
    picture = reports.plot_summary(out / "summary.png", results, exercises)
    return written + ([picture] if picture else [])

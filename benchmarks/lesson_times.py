"""How long each lesson takes as a student runs it: the median wall time of ``--repeats`` runs, quick and full.

The lesson pages quote these durations ("about a minute"), so they must be what a 2-core machine measures.
Each run is a fresh ``python lessons/NN_*.py [--quick]`` in a subprocess (start-up and imports included),
with the package's default of one BLAS thread; the runs of one lesson alternate quick and full.

    python benchmarks/lesson_times.py [--repeats 3] [--lessons 07 08 09] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tinygrad_edu.course import format_table

LESSONS = Path(__file__).resolve().parent.parent / "lessons"


def run_seconds(script: Path, quick: bool, data_dir: str | None) -> tuple[float, float]:
    """Wall and CPU seconds (the lesson's process and its children) of one run."""
    env = dict(os.environ, MPLBACKEND="Agg")
    if data_dir:
        env["TINYGRAD_EDU_DATA"] = data_dir
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, str(script), *(["--quick"] if quick else []), "--out", out], env=env,
                       check=True, capture_output=True)
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lessons", nargs="*", default=["07", "08", "09"], help="lesson numbers (default: 07 08 09)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    rows = []
    for number in args.lessons:
        script = next(LESSONS.glob(f"{number}_*.py"))
        times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for repeat in range(args.repeats):
            for quick in (True, False):
                times[quick].append(run_seconds(script, quick, args.data_dir))
                wall, cpu = times[quick][-1]
                print(f"{script.name} {'--quick' if quick else '(full)'} run {repeat + 1}: {wall:.1f} s wall, "
                      f"{cpu:.1f} s CPU", flush=True)
        for quick in (True, False):
            walls = [w for w, _ in times[quick]]
            rows.append([f"{script.name}{' --quick' if quick else ''}", f"{statistics.median(walls):.1f}",
                         f"{statistics.median(c for _, c in times[quick]):.1f}",
                         " / ".join(f"{w:.1f}" for w in walls)])
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"\nmedian of {args.repeats} runs")
    print(format_table(["lesson", "wall (s)", "CPU (s)", "wall of each run"], rows))


if __name__ == "__main__":
    main()

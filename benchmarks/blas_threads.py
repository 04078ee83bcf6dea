"""One BLAS thread or BLAS's default, on an idle and on a loaded machine: which trains faster?

Times, as the median of ``--repeats`` runs, under four conditions (1 thread or the default, with or without a
busy loop started by this script on another core):

* one epoch of ``train`` (``tinygrad_edu.training.fit``, its default settings, 55,000 images) with each engine;
* the training lessons as a student runs them (``lessons/07_training_mnist.py --quick`` and
  ``lessons/08_experiments.py --quick``, in a subprocess, wall time).

Conditions are interleaved (each repeat runs all four), so drifts in the machine's load spread over all of
them. The thread count goes through ``TINYGRAD_EDU_BLAS_THREADS`` (:mod:`tinygrad_edu.training.blas`), the one place
the package sets it.

    python benchmarks/blas_threads.py [--repeats 3] [--data-dir DIR] [--skip-lessons]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tinygrad_edu.training.blas import blas_threads
from tinygrad_edu.course import format_table
from tinygrad_edu.data import load_mnist, train_val_split
from tinygrad_edu.training.loop import TrainConfig, fit, make_engine

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
THREADS = ("1", "default")
LOADS = ("idle", "loaded")


def busy_loop() -> subprocess.Popen:
    """A process that keeps one core busy until killed (what another program on a 2-core laptop does)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def epoch_seconds(engine_name: str, threads: str, data) -> float:
    config = TrainConfig(engine=engine_name, epochs=1)
    engine = make_engine(config)
    with blas_threads(1) if threads == "1" else contextlib.nullcontext():
        history = fit(engine, config, *data, progress=False, log=lambda line: None)
    return history[0]["seconds"]


def lesson_seconds(script: str, threads: str, data_dir: str | None) -> float:
    env = dict(os.environ, MPLBACKEND="Agg", TINYGRAD_EDU_BLAS_THREADS=threads)
    if data_dir:
        env["TINYGRAD_EDU_DATA"] = data_dir
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, str(LESSONS / script), "--quick", "--out", out], env=env, check=True,
                       capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--skip-lessons", action="store_true")
    args = parser.parse_args()

    mnist = load_mnist(args.data_dir, download=False)
    data = train_val_split(mnist.train_images, mnist.train_labels, 5000, seed=0)
    workloads = {f"train epoch ({engine})": (lambda t, e=engine: epoch_seconds(e, t, data))
                 for engine in ("autodiff", "manual")}
    if not args.skip_lessons:
        for script in ("07_training_mnist.py", "08_experiments.py"):
            workloads[f"lessons/{script} --quick"] = lambda t, s=script: lesson_seconds(s, t, args.data_dir)
    print(f"{os.cpu_count()} cores; load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    times: dict[tuple[str, str, str], list[float]] = {}
    for repeat in range(args.repeats):
        for load in LOADS:
            loop = busy_loop() if load == "loaded" else None
            try:
                for name, measure in workloads.items():
                    for threads in THREADS:
                        seconds = measure(threads)
                        times.setdefault((name, load, threads), []).append(seconds)
                        print(f"repeat {repeat + 1}: {name}, {load}, {threads} thread(s): {seconds:.2f} s", flush=True)
            finally:
                if loop is not None:
                    loop.kill()
                    loop.wait()
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    rows = []
    for name in workloads:
        for load in LOADS:
            one = statistics.median(times[(name, load, "1")])
            default = statistics.median(times[(name, load, "default")])
            rows.append([name, load, f"{one:.2f}", f"{default:.2f}", f"{default / one:.2f}",
                         " / ".join(f"{v:.1f}" for v in times[(name, load, "default")])])
    print(f"\nmedian seconds of {args.repeats} repeats (BLAS default here: {np.__version__} numpy's OpenBLAS, "
          f"{os.cpu_count()} threads)")
    print(format_table(["workload", "machine", "1 thread", "default", "default / 1", "default runs"], rows))


if __name__ == "__main__":
    main()

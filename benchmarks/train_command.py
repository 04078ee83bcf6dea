"""The whole ``tinygrad-edu train`` command against PyTorch CPU's bare 10-epoch training loop, in the same run.

* **ours**: ``python -m tinygrad_edu train`` exactly as a student types it (its defaults, progress bars,
  outputs under ``./runs`` of a temporary folder, MNIST from ``$TINYGRAD_EDU_DATA``), as a subprocess, wall
  time from start to exit: interpreter start-up and imports, loading MNIST, 10 epochs (with the random
  one-pixel shifts and a validation pass after each), the test evaluation, the checkpoint, the metrics and
  the four figures.
* **PyTorch**: only the training loop, in a process of its own, timed from its first batch to its last:
  the same 784-128-10 network (``Linear``, ``ReLU``, ``Linear``), the same 55,000 training images
  (MNIST's 60,000 minus the 5,000 our command holds out), batches of 128 reshuffled every epoch, Adam at
  5e-3 decayed to 0 along a cosine step by step, 10 epochs; no augmentation, no validation, no evaluation,
  nothing written. It runs with PyTorch's default number of threads and with one thread (ours uses one
  BLAS thread; ``--torch-threads`` chooses), and the ratio is taken against the faster.

Each is run once untimed (the first run of ours writes the decoded MNIST to the cache, the first import of
torch fills the disk cache), then ``--repeats`` times, alternating, so that a busy machine slows them alike.
The tables give the best and the median of each and how far the runs spread (slowest minus fastest, as a
percentage of the median), in wall-clock time (what a student waits) and in CPU time (every thread of the
process, which other programs sharing the machine move less); the verdicts use the medians.

    python benchmarks/train_command.py [--repeats 3] [--data-dir DIR] [--torch-threads default,1]

Unix only (the CPU time of the command comes from ``resource.getrusage``).

Measured on the course's 2-core machine (an AMD EPYC VM whose speed drifts by a third from minute to minute:
hence the alternation and the medians), idle but for this benchmark, ``--repeats 5 --before`` a checkout of
c6fbd79 (the command before its data were kept as bytes and batched in a background thread, and its figures
drawn in child processes), medians::

                                          wall     CPU
    ours: the whole train command         9.48 s  12.83 s   (its 10 epochs, as printed: 7.90 s)
    the same, at c6fbd79                 12.13 s  12.18 s   (its 10 epochs: 8.70 s)
    PyTorch loop, 1 thread                8.83 s   8.82 s
    PyTorch loop, default (2) threads     7.97 s  15.87 s

Another run of 5, without --before: ours 7.86 s, PyTorch 6.45 s (2 threads) and 8.05 s (1 thread). The whole
command is not below PyTorch's bare loop on two threads: its epochs alone take about as long as PyTorch's
whole loop on one thread. The gap is inside the step: NumPy's OpenBLAS computes the two large products
(x @ W1 and x.T @ dZ1, 40% of a step) on one thread about as fast as PyTorch does, but does not gain from a
second thread for these sizes (on this machine one epoch took 0.74 s on one BLAS thread and 0.85 s on two,
medians of 6 alternating; x.T @ dZ1 alone 0.30 ms and 0.46 ms), and Adam's update is 13 passes over each array
where PyTorch spreads its update over both cores. On a shared machine (load average 1.5 to 3), an earlier
version measured PyTorch's two threads at 77 s, waiting for each other, against 7.4 s for one.

Needs MNIST (``--data-dir`` or ``$TINYGRAD_EDU_DATA``); PyTorch is optional (``pip install torch==2.13.0``
in a virtual environment: it is never a dependency of tinygrad_edu).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TORCH_LOOP = r"""
import math, sys, time
import numpy as np
import torch
from tinygrad_edu.data import load_mnist, train_val_split

threads = int(sys.argv[2])
if threads:
    torch.set_num_threads(threads)
mnist = load_mnist(sys.argv[1], download=False, progress=False)
train_x, train_y, _, _ = train_val_split(mnist.train_images, mnist.train_labels, 5000, seed=0)
x, y = torch.from_numpy(train_x), torch.from_numpy(train_y)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
epochs, batch = 10, 128
steps = epochs * math.ceil(len(x) / batch)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
loss_fn = torch.nn.CrossEntropyLoss()
start, cpu_start = time.perf_counter(), time.process_time()
for epoch in range(epochs):
    order = torch.randperm(len(x))
    for i in range(0, len(x), batch):
        index = order[i : i + batch]
        optimizer.zero_grad()
        loss = loss_fn(model(x[index]), y[index])
        loss.backward()
        optimizer.step()
        schedule.step()
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
with torch.no_grad():
    accuracy = (model(torch.from_numpy(mnist.test_images)).argmax(1).numpy() == mnist.test_labels).mean()
print(f"{seconds:.4f} {cpu_seconds:.4f} {accuracy:.4f} {torch.get_num_threads()}")
"""


OURS = "ours: the whole train command"
BEFORE = "the same, from --before"


@dataclass
class Run:
    wall: float  # seconds on the clock
    cpu: float  # seconds of CPU time (every thread of the process): less moved by programs sharing the machine
    accuracy: float  # test accuracy, to show both trained the network
    epochs: float = 0.0  # ours: the sum of the epoch times the command printed


def run_ours(data_dir: str, folder: Path, checkout: Path | None = None) -> Run:
    """``tinygrad-edu train`` as a student types it (progress bars, outputs under ./runs), run in ``folder``;
    ``checkout``: the tinygrad_edu of another checkout of the project (an earlier commit, to compare)."""
    command = [sys.executable, "-m", "tinygrad_edu", "train"]
    environment = {**os.environ, "TINYGRAD_EDU_DATA": data_dir}
    if checkout is not None:
        environment["PYTHONPATH"] = str(checkout)
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=folder, env=environment)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"tinygrad-edu train failed (exit {result.returncode}):\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    epochs = sum(float(s) for s in re.findall(r"^epoch .* (\d+\.\d+) s$", result.stdout, re.M))
    accuracy = float(re.search(r"^test accuracy: (\d+\.\d+)%$", result.stdout, re.M).group(1)) / 100
    return Run(wall, cpu, accuracy, epochs)


def run_torch(data_dir: str, threads: int) -> tuple[Run, int]:
    """PyTorch's 10-epoch loop (its own process; only the loop is timed), and the threads it ran on."""
    result = subprocess.run([sys.executable, "-c", TORCH_LOOP, data_dir, str(threads)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"the PyTorch loop failed:\n{result.stderr}")
    wall, cpu, accuracy, used = result.stdout.split()
    return Run(float(wall), float(cpu), float(accuracy)), int(used)


def torch_installed() -> bool:
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def summary(values: list[float]) -> str:
    """Best, median, spread (slowest minus fastest, in % of the median) and every value."""
    median = statistics.median(values)
    spread = 100 * (max(values) - min(values)) / median
    return f"{min(values):>7.2f} s {median:>7.2f} s {spread:>6.0f} %   " + ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default $TINYGRAD_EDU_DATA)")
    parser.add_argument("--torch-threads", default="default,1",
                        help="PyTorch thread settings to time, comma-separated (default 'default,1'; on a busy "
                             "machine PyTorch's own threads wait for each other, '1' alone is quicker)")
    parser.add_argument("--before", type=Path, default=None, metavar="CHECKOUT",
                        help="also time the command of another checkout of the project (e.g. a git worktree of "
                             "an earlier commit), alternating with the others")
    args = parser.parse_args()
    data_dir = args.data_dir or os.environ.get("TINYGRAD_EDU_DATA")
    if not data_dir:
        sys.exit("no MNIST folder: pass --data-dir or set TINYGRAD_EDU_DATA")
    if args.before is not None and not (args.before / "tinygrad_edu" / "__main__.py").is_file():
        sys.exit(f"--before {args.before}: no tinygrad_edu/__main__.py there; give the root of a checkout")
    thread_settings = {}
    for setting in args.torch_threads.split(",") if torch_installed() else ():
        threads = 0 if setting.strip() == "default" else int(setting)
        thread_settings["PyTorch loop, " + ("default threads" if threads == 0 else f"{threads} thread(s)")] = threads
    runs: dict[str, list[Run]] = {OURS: [], **{label: [] for label in thread_settings}}
    if args.before is not None:
        runs[BEFORE] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.before is not None:
            run_ours(data_dir, Path(tmp), args.before)  # untimed, as the others
        first = run_ours(data_dir, Path(tmp))
        untimed = [f"ours {first.wall:.2f} s (test accuracy {100 * first.accuracy:.2f}%)"]
        for threads in thread_settings.values():
            run, used = run_torch(data_dir, threads)
            untimed.append(f"PyTorch on {used} thread{'s' if used > 1 else ''} {run.wall:.2f} s "
                           f"(test accuracy {100 * run.accuracy:.2f}%)")
        print("untimed first runs: " + ", ".join(untimed), flush=True)
        for _ in range(args.repeats):
            runs[OURS].append(run_ours(data_dir, Path(tmp)))
            if args.before is not None:
                runs[BEFORE].append(run_ours(data_dir, Path(tmp), args.before))
            for label, threads in thread_settings.items():
                runs[label].append(run_torch(data_dir, threads)[0])
    load = os.getloadavg()[0]
    print(f"{args.repeats} timed runs each, alternating; load average at the end {load:.2f}")
    for kind in ("wall", "cpu"):
        print(f"{'wall-clock time' if kind == 'wall' else 'CPU time':<36}{'best':>9} {'median':>9} {'spread':>8}   runs")
        for label, values in runs.items():
            print(f"  {label:<34}{summary([getattr(run, kind) for run in values])}")
        if kind == "wall":
            for label in (OURS, BEFORE) if args.before is not None else (OURS,):
                print(f"  {'  ' + label.split(':')[0] + ': its 10 epochs':<34}{summary([run.epochs for run in runs[label]])}")
    if not thread_settings:
        print("PyTorch: not installed (pip install torch==2.13.0 in a virtual environment to compare)")
    for kind in ("wall", "cpu"):
        medians = {label: statistics.median(getattr(run, kind) for run in values) for label, values in runs.items()}
        if thread_settings:
            fastest = min(thread_settings, key=medians.get)
            ratio = medians[OURS] / medians[fastest]
            print(f"{kind} time, medians: whole command / {fastest} = {ratio:.2f}  "
                  f"({'below 1: the whole command is faster' if ratio < 1 else 'above 1: the bare loop is faster'})")
        if args.before is not None:
            print(f"{kind} time, medians: whole command / {BEFORE} = {medians[OURS] / medians[BEFORE]:.2f}")


if __name__ == "__main__":
    main()

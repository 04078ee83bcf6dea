"""The whole ``tinygrad-edu train`` command against PyTorch CPU's bare 10-epoch training loop, in the same run.

* **ours**: ``python -m tinygrad_edu train --no-progress --out TMP`` with its defaults, as a subprocess,
  wall time from start to exit: interpreter start-up and imports, loading MNIST, 10 epochs (with the
  random one-pixel shifts and a validation pass after each), the test evaluation, the checkpoint, the
  metrics and the four figures.
* **PyTorch**: only the training loop, in a process of its own, timed from its first batch to its last:
  the same 784-128-10 network (``Linear``, ``ReLU``, ``Linear``), the same 55,000 training images
  (MNIST's 60,000 minus the 5,000 our command holds out), batches of 128 reshuffled every epoch, Adam at
  5e-3 decayed to 0 along a cosine step by step, 10 epochs; no augmentation, no validation, no evaluation,
  nothing written. It runs with PyTorch's default number of threads and with one thread (ours uses one
  BLAS thread), and the ratio is taken against the faster of the two.

Each of the three is run once untimed (the first run of ours writes the decoded MNIST to the cache, the
first import of torch fills the disk cache), then ``--repeats`` times, alternating, so that a busy machine
slows them alike. The table gives the best and the median of each and how far the runs spread (slowest
minus fastest, as a percentage of the median); the verdict uses the medians.

    python benchmarks/train_command.py [--repeats 3] [--data-dir DIR]

Needs MNIST (``--data-dir`` or ``$TINYGRAD_EDU_DATA``); PyTorch is optional (``pip install torch==2.13.0``
in a virtual environment: it is never a dependency of tinygrad_edu).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TORCH_LOOP = r"""
import math, sys, time
import numpy as np
import torch
from tinygrad_edu.data import load_mnist, train_val_split

threads = int(sys.argv[2])
if threads:
    torch.set_num_threads(threads)
mnist = load_mnist(sys.argv[1] or None, download=False, progress=False)
train_x, train_y, _, _ = train_val_split(mnist.train_images, mnist.train_labels, 5000, seed=0)
x, y = torch.from_numpy(train_x), torch.from_numpy(train_y)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
epochs, batch = 10, 128
steps = epochs * math.ceil(len(x) / batch)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
loss_fn = torch.nn.CrossEntropyLoss()
start = time.perf_counter()
for epoch in range(epochs):
    order = torch.randperm(len(x))
    for i in range(0, len(x), batch):
        index = order[i : i + batch]
        optimizer.zero_grad()
        loss = loss_fn(model(x[index]), y[index])
        loss.backward()
        optimizer.step()
        schedule.step()
seconds = time.perf_counter() - start
with torch.no_grad():
    accuracy = (model(torch.from_numpy(mnist.test_images)).argmax(1).numpy() == mnist.test_labels).mean()
print(f"{seconds:.4f} {accuracy:.4f} {torch.get_num_threads()}")
"""


OURS = "ours: the whole train command"


def run_ours(data_dir: str | None, out: Path) -> tuple[float, float, float]:
    """Wall seconds of the whole command, the sum of the epoch times it printed, and its test accuracy."""
    command = [sys.executable, "-m", "tinygrad_edu", "train", "--no-progress", "--out", str(out)]
    if data_dir:
        command += ["--data-dir", data_dir]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"tinygrad-edu train failed (exit {result.returncode}):\n{result.stderr}")
    epochs = sum(float(s) for s in re.findall(r"^epoch .* (\d+\.\d+) s$", result.stdout, re.M))
    accuracy = float(re.search(r"^test accuracy: (\d+\.\d+)%$", result.stdout, re.M).group(1)) / 100
    return seconds, epochs, accuracy


def run_torch(data_dir: str | None, threads: int) -> tuple[float, float, int]:
    """Seconds of PyTorch's 10-epoch loop, its test accuracy, and the threads it ran on."""
    result = subprocess.run([sys.executable, "-c", TORCH_LOOP, data_dir or "", str(threads)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"the PyTorch loop failed:\n{result.stderr}")
    seconds, accuracy, used = result.stdout.split()
    return float(seconds), float(accuracy), int(used)


def torch_installed() -> bool:
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def summary(values: list[float]) -> str:
    median = statistics.median(values)
    spread = 100 * (max(values) - min(values)) / median
    return f"{min(values):>7.2f} s {median:>7.2f} s {spread:>7.0f} %   " + ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default $TINYGRAD_EDU_DATA)")
    args = parser.parse_args()
    data_dir = args.data_dir or os.environ.get("TINYGRAD_EDU_DATA")
    if not data_dir:
        sys.exit("no MNIST folder: pass --data-dir or set TINYGRAD_EDU_DATA")
    thread_settings = {"PyTorch loop, default threads": 0, "PyTorch loop, 1 thread": 1} if torch_installed() else {}
    times: dict[str, list[float]] = {OURS: [], **{label: [] for label in thread_settings}}
    epochs: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        first, _, accuracy = run_ours(data_dir, out)
        untimed = [f"ours {first:.2f} s (test accuracy {100 * accuracy:.2f}%)"]
        for label, threads in thread_settings.items():
            seconds, accuracy, used = run_torch(data_dir, threads)
            untimed.append(f"PyTorch on {used} thread{'s' if used > 1 else ''} {seconds:.2f} s "
                           f"(test accuracy {100 * accuracy:.2f}%)")
        print("untimed first runs: " + ", ".join(untimed), flush=True)
        for _ in range(args.repeats):
            seconds, epoch_sum, _ = run_ours(data_dir, out)
            times[OURS].append(seconds)
            epochs.append(epoch_sum)
            for label, threads in thread_settings.items():
                times[label].append(run_torch(data_dir, threads)[0])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.repeats} timed runs each, alternating; load average at the end {load:.2f}")
    print(f"{'':<36}{'best':>9} {'median':>9} {'spread':>9}   runs (s)")
    for label, values in times.items():
        print(f"{label:<36}{summary(values)}")
    print(f"{'  of which its 10 epochs (printed)':<36}{summary(epochs)}")
    if not thread_settings:
        print("PyTorch: not installed (pip install torch==2.13.0 in a virtual environment to compare)")
        return
    fastest = min(thread_settings, key=lambda label: statistics.median(times[label]))
    ratio = statistics.median(times[OURS]) / statistics.median(times[fastest])
    print(f"whole command / {fastest} (medians) = {ratio:.2f}  "
          f"({'below 1: the whole command is faster' if ratio < 1 else 'above 1: the bare loop is faster'})")


if __name__ == "__main__":
    main()

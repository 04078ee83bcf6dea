"""Epoch time of the autodiff engine vs the hand-derived NumPy engine (and PyTorch CPU when installed).

Same network (784-128-10), same batches (128), same optimizer (Adam), no augmentation, measured in the
same run, alternating engines so that both see the same machine load; the median epoch of each is
reported and the ratio is the figure to watch (target: autodiff / manual <= 1.10).

    python benchmarks/epoch_time.py [--epochs 3] [--hidden 128] [--data-dir DIR] [--threads N] [--cpu-time]

On a machine shared with other jobs, ``--threads 1 --cpu-time`` times the CPU each engine spends (one BLAS
and PyTorch thread, ``time.process_time``) instead of the wall-clock time, which other programs inflate.

Uses MNIST's training images when found (``--data-dir`` or ``$TINYGRAD_EDU_DATA``), otherwise random
images of the same shape (the timing does not depend on the pixel values).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from tinygrad_edu.training.blas import blas_threads
from tinygrad_edu.training.loop import TrainConfig, make_engine


def load_images(data_dir: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    from tinygrad_edu.data import load_mnist

    try:
        mnist = load_mnist(data_dir, download=False)
        return mnist.train_images, mnist.train_labels, "MNIST training images"
    except Exception as exc:  # no data here: random images of MNIST's shape time the same
        rng = np.random.default_rng(0)
        return rng.random((60_000, 784), dtype=np.float32), rng.integers(0, 10, 60_000), f"random images ({exc.__class__.__name__})"


def epoch_seconds(train_step, x: np.ndarray, y: np.ndarray, batch: int, clock=time.perf_counter) -> float:
    order = np.random.default_rng(0).permutation(len(x))
    start = clock()
    for i in range(0, len(x), batch):
        index = order[i : i + batch]
        train_step(x[index], y[index])
    return clock() - start


def torch_step(hidden: int, threads: int | None = None):
    """The same network and optimizer in PyTorch, or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x: np.ndarray, y: np.ndarray) -> None:
        optimizer.zero_grad()
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per engine (default 3)")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS (and PyTorch) threads")
    parser.add_argument("--cpu-time", action="store_true", help="time CPU (process_time), not the wall clock")
    args = parser.parse_args()
    if args.threads is not None:
        blas_threads(args.threads)
    clock = time.process_time if args.cpu_time else time.perf_counter

    x, y, source = load_images(args.data_dir)
    y = y.astype(np.int64)
    steps = {}
    for engine in ("manual", "autodiff"):
        steps[engine] = make_engine(TrainConfig(hidden=args.hidden, engine=engine, optimizer="adam", lr=1e-3)).train_step
    torch_train_step = torch_step(args.hidden, args.threads)
    if torch_train_step is not None:
        steps["pytorch"] = torch_train_step

    print(f"784-{args.hidden}-10, batch {args.batch_size}, Adam, {len(x)} {source}, {args.epochs} timed epochs each, "
          f"{'CPU' if args.cpu_time else 'wall-clock'} time, BLAS threads: {args.threads or 'default'}")
    for step in steps.values():  # warm-up: first calls allocate and load BLAS kernels
        epoch_seconds(step, x[:5000], y[:5000], args.batch_size)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.epochs):
        for name, step in steps.items():
            times[name].append(epoch_seconds(step, x, y, args.batch_size, clock))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'engine':<10}{'median epoch':>14}  {'ratio to manual':>15}  epochs (s)")
    for name, values in times.items():
        print(f"{name:<10}{median[name]:>12.3f} s  {median[name] / median['manual']:>15.3f}  {', '.join(f'{v:.3f}' for v in values)}")
    print(f"autodiff / manual = {median['autodiff'] / median['manual']:.3f}  (target <= 1.10)")
    if "pytorch" in median:
        print(f"autodiff / pytorch = {median['autodiff'] / median['pytorch']:.3f}  (below 1: our epoch is faster)")
    else:
        print("pytorch: not installed (pip install torch==2.13.0 to compare; it is never a dependency)")


if __name__ == "__main__":
    main()

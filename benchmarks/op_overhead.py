"""What the autodiff machinery costs on top of NumPy: per small op, and per node of a long chain.

1. Per-op overhead: a chain of N ops on 4x4 float32 arrays, forward and backward, against the same NumPy
   calls written by hand (the forward products and the backward rule), measured in the same run. When
   PyTorch is installed (``pip install torch``, CPU build) the same chain is timed with it too, in a worker
   process of its own: importing torch creates ~160,000 Python objects, which would slow Python's garbage
   collector, and so our engine, if they lived in this process. The measurements of the three alternate,
   repeat after repeat, so a busy machine slows them alike. The "GC" column is the part of our time spent
   by Python's garbage collector walking the live graph (each op leaves a few Python objects behind, which
   PyTorch keeps in C++): our time minus the same chain timed with the collector paused.
2. The same ops in short graphs, as a training step makes them: 200 graphs of 100 ops, each freed after its
   backward. The collector has little to walk there.
3. Backward time per node on a 100,000-op chain (and 200,000, to show it grows linearly).

Times are CPU time of the measuring process (``time.process_time``), not wall-clock time, so that other
programs sharing the machine do not inflate them; every computation here is single-threaded (PyTorch is
set to one thread). Even so our figures move by about 20% from run to run here (where the collector's passes
fall, and where Python's allocator puts the objects), PyTorch's by less: compare the ratios of a few runs.

    python benchmarks/op_overhead.py
"""

from __future__ import annotations

import gc
import subprocess
import sys
import time

import numpy as np

from tinygrad_edu import Tensor

N_OPS = 20_000
SHORT_GRAPH = 100  # ops per graph in the short-graph measurement (N_OPS // SHORT_GRAPH graphs)
REPEATS = 9
CHAIN_REPEATS = 3  # of the long-chain backward measurement
OPS = ("mul", "add", "tanh")
clock = time.process_time


def chains_per_op(x, c, op: str, length: int) -> float:  # noqa: ANN001 - our Tensors or torch tensors
    """Seconds per op of chains of ``length`` ops (N_OPS in all) from ``x``, each run forward and backward."""
    start = clock()
    for _ in range(N_OPS // length):
        y = x
        for _ in range(length):
            y = y * c if op == "mul" else (y + c if op == "add" else y.tanh())
        y.sum().backward()
    return (clock() - start) / N_OPS


def ours_per_op(op: str, length: int = N_OPS, collector: bool = True) -> float:
    """:func:`chains_per_op` with our Tensor; ``collector`` False pauses Python's garbage collector meanwhile."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 4)).astype(np.float32), requires_grad=True)
    c = Tensor(rng.uniform(0.9999, 1.0001, (4, 4)).astype(np.float32), requires_grad=True)
    if not collector:
        gc.disable()
    try:
        return chains_per_op(x, c, op, length)
    finally:
        gc.enable()


def numpy_per_op(op: str) -> float:
    """The same forward values and backward rule, with plain arrays: what any implementation must do."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 4)).astype(np.float32)
    c = rng.uniform(0.9999, 1.0001, (4, 4)).astype(np.float32)
    start = clock()
    values = [x]
    for _ in range(N_OPS):
        y = values[-1]
        values.append(y * c if op == "mul" else (y + c if op == "add" else np.tanh(y)))
    g = np.ones((4, 4), np.float32)
    grad_c = np.zeros((4, 4), np.float32)
    for i in range(N_OPS, 0, -1):
        if op == "mul":
            grad_c += g * values[i - 1]
            g = g * c
        elif op == "add":
            grad_c += g
        else:
            g = g * (1 - values[i] * values[i])
    return (clock() - start) / N_OPS


def torch_per_op(op: str, length: int = N_OPS) -> float:
    """The same chains with PyTorch (CPU, one thread); runs in the worker process (see :func:`torch_worker`)."""
    import torch

    x = torch.randn(4, 4, requires_grad=True)
    c = (torch.rand(4, 4) * 2e-4 + 0.9999).requires_grad_()
    return chains_per_op(x, c, op, length)


def torch_worker() -> None:
    """Answer "op length" lines on stdin with PyTorch's seconds per op on stdout, until stdin closes."""
    import torch

    torch.set_num_threads(1)
    print("ready", flush=True)
    for line in sys.stdin:
        op, length = line.split()
        print(torch_per_op(op, int(length)), flush=True)


def start_torch_worker() -> subprocess.Popen | None:
    """A worker process timing PyTorch, or None when torch is not installed."""
    worker = subprocess.Popen(
        [sys.executable, __file__, "--torch-worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )
    if worker.stdout.readline().strip() != "ready":
        worker.wait()
        return None
    return worker


def ask(worker: subprocess.Popen, op: str, length: int) -> float:
    worker.stdin.write(f"{op} {length}\n")
    worker.stdin.flush()
    return float(worker.stdout.readline())


def chain_backward_seconds(length: int) -> tuple[float, float]:
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = x
    start = clock()
    for _ in range(length // 2):
        y = y * 1.0 + 0.0
    forward = clock() - start
    start = clock()
    y.sum().backward()
    return forward, clock() - start


def measure_alternating(worker: subprocess.Popen | None) -> dict[tuple[str, str], float]:
    """Best seconds per op of every (op, measurement), the measurements alternating repeat after repeat."""
    best: dict[tuple[str, str], float] = {}
    for _ in range(REPEATS):
        for op in OPS:
            timings = {
                "ours": ours_per_op(op),
                "ours, collector paused": ours_per_op(op, collector=False),
                "numpy": numpy_per_op(op),
                "ours, short graphs": ours_per_op(op, SHORT_GRAPH),
            }
            if worker is not None:
                timings["pytorch"] = ask(worker, op, N_OPS)
                timings["pytorch, short graphs"] = ask(worker, op, SHORT_GRAPH)
            for name, seconds in timings.items():
                best[op, name] = min(best.get((op, name), seconds), seconds)
    return best


def print_table(title: str, best: dict[tuple[str, str], float], suffix: str = "", show_collector: bool = True) -> None:
    """One row per op: ours, NumPy's floor, the overhead, and PyTorch's time when it was measured."""
    print(title)
    header = f"{'op':<6}{'ours (us)':>10}{'numpy (us)':>12}{'overhead (us)':>15}"
    print(header + (f"{'GC (us)':>9}" if show_collector else "") + f"{'pytorch (us)':>14}{'ours/pytorch':>14}")
    for op in OPS:
        ours, floor = best[op, "ours" + suffix] * 1e6, best[op, "numpy"] * 1e6
        row = f"{op:<6}{ours:>10.2f}{floor:>12.2f}{ours - floor:>15.2f}"
        if show_collector:
            row += f"{ours - best[op, 'ours, collector paused'] * 1e6:>9.2f}"
        torch_time = best.get((op, "pytorch" + suffix))
        row += f"{torch_time * 1e6:>14.2f}{ours / (torch_time * 1e6):>14.2f}" if torch_time else f"{'-':>14}{'-':>14}"
        print(row)


def main() -> None:
    worker = start_torch_worker()
    best = measure_alternating(worker)
    if worker is not None:
        worker.stdin.close()
        worker.wait()
    print_table(f"per op, forward + backward, 4x4 float32, one chain of {N_OPS} ops, best of {REPEATS}, CPU time", best)
    print()
    print_table(f"the same in short graphs: {N_OPS // SHORT_GRAPH} graphs of {SHORT_GRAPH} ops, each freed after its "
                "backward", best, suffix=", short graphs", show_collector=False)
    if worker is None:
        print("(PyTorch is not installed: pip install torch to compare)")
    print()
    print(f"backward of a long chain (each step: one mul and one add), best of {CHAIN_REPEATS}, the lengths alternating")
    best_forward: dict[int, float] = {}
    best_backward: dict[int, float] = {}
    for _ in range(CHAIN_REPEATS):
        for length in (100_000, 200_000):
            forward, backward = chain_backward_seconds(length)
            best_forward[length] = min(best_forward.get(length, forward), forward)
            best_backward[length] = min(best_backward.get(length, backward), backward)
    per_node = {}
    for length, backward in best_backward.items():
        nodes = length + 2  # ops plus the leaf and the final sum
        per_node[length] = backward / nodes
        print(f"{length:>7} ops: forward {best_forward[length]:.3f} s, backward {backward:.3f} s = "
              f"{per_node[length] * 1e6:.2f} us per node")
    print(f"per-node time, 200k vs 100k chain: {per_node[200_000] / per_node[100_000]:.2f} (1.0 = linear)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--torch-worker"]:
        torch_worker()
    else:
        main()

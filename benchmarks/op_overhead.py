"""What the autodiff machinery costs on top of NumPy: per small op, and per node of a long chain.

1. Per-op overhead: a chain of N ops on 4x4 float32 arrays, forward and backward, against the same NumPy
   calls written by hand (the forward products and the backward rule), measured in the same run.
   (PyTorch CPU spends about 22 us per small op here, when it is installed it is measured too.)
2. Backward time per node on a 100,000-op chain (and 200,000, to show it grows linearly).

    python benchmarks/op_overhead.py
"""

from __future__ import annotations

import time

import numpy as np

from tinygrad_edu import Tensor

N_OPS = 20_000
REPEATS = 5


def ours_per_op(op: str) -> float:
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 4)).astype(np.float32), requires_grad=True)
    c = Tensor(rng.uniform(0.9999, 1.0001, (4, 4)).astype(np.float32), requires_grad=True)
    start = time.perf_counter()
    y = x
    for _ in range(N_OPS):
        y = y * c if op == "mul" else (y + c if op == "add" else y.tanh())
    y.sum().backward()
    return (time.perf_counter() - start) / N_OPS


def numpy_per_op(op: str) -> float:
    """The same forward values and backward rule, with plain arrays: what any implementation must do."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 4)).astype(np.float32)
    c = rng.uniform(0.9999, 1.0001, (4, 4)).astype(np.float32)
    start = time.perf_counter()
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
    return (time.perf_counter() - start) / N_OPS


def torch_per_op(op: str) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    x = torch.randn(4, 4, requires_grad=True)
    c = (torch.rand(4, 4) * 2e-4 + 0.9999).requires_grad_()
    start = time.perf_counter()
    y = x
    for _ in range(N_OPS):
        y = y * c if op == "mul" else (y + c if op == "add" else y.tanh())
    y.sum().backward()
    return (time.perf_counter() - start) / N_OPS


def chain_backward_seconds(length: int) -> tuple[float, float]:
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = x
    start = time.perf_counter()
    for _ in range(length // 2):
        y = y * 1.0 + 0.0
    forward = time.perf_counter() - start
    start = time.perf_counter()
    y.sum().backward()
    return forward, time.perf_counter() - start


def main() -> None:
    print(f"per op, forward + backward, 4x4 float32, chain of {N_OPS} ops, best of {REPEATS}")
    print(f"{'op':<6}{'ours (us)':>10}{'numpy (us)':>12}{'overhead (us)':>15}{'ratio':>8}{'pytorch (us)':>14}")
    for op in ("mul", "add", "tanh"):
        ours = min(ours_per_op(op) for _ in range(REPEATS)) * 1e6
        ref = min(numpy_per_op(op) for _ in range(REPEATS)) * 1e6
        torch_time = torch_per_op(op)
        torch_text = f"{min(torch_per_op(op) for _ in range(REPEATS)) * 1e6:>14.2f}" if torch_time is not None else f"{'-':>14}"
        print(f"{op:<6}{ours:>10.2f}{ref:>12.2f}{ours - ref:>15.2f}{ours / ref:>8.2f}{torch_text}")
    print()
    print("backward of a long chain (each step: one mul and one add)")
    per_node = {}
    for length in (100_000, 200_000):
        forward, backward = chain_backward_seconds(length)
        nodes = length + 2  # ops plus the leaf and the final sum
        per_node[length] = backward / nodes
        print(f"{length:>7} ops: forward {forward:.3f} s, backward {backward:.3f} s = {per_node[length] * 1e6:.2f} us per node")
    print(f"per-node time, 200k vs 100k chain: {per_node[200_000] / per_node[100_000]:.2f} (1.0 = linear)")


if __name__ == "__main__":
    main()

"""How fast is DOT generation for big graphs? Prints seconds and ratios measured in this run.

Graph: a chain of ``tanh`` ops, 2 * ops + 1 DOT nodes, after ``backward()`` so every label carries a
gradient summary. The reference is the core's own linear walk, ``topological_order``, on the same graph:
``draw_graph`` should cost a constant multiple of it at every size (no quadratic work).

    python benchmarks/viz_dot.py
"""

from __future__ import annotations

import time

from tinygrad_edu import Tensor
from tinygrad_edu.tensor import topological_order
from tinygrad_edu.viz import draw_graph


def chain(op_count: int) -> Tensor:
    t = Tensor([0.5], requires_grad=True, name="x")
    for _ in range(op_count):
        t = t.tanh()
    return t


def best_of(repeats: int, work) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"{'DOT nodes':>10} {'draw_graph s':>13} {'µs/node':>8} {'topo-order s':>13} {'draw/topo':>10} {'vs previous':>12}")
    previous = None
    for op_count in (2_500, 5_000, 10_000, 20_000):
        root = chain(op_count)
        root.backward()
        nodes = 2 * op_count + 1
        draw = best_of(3, lambda: draw_graph(root).source)
        walk = best_of(3, lambda: topological_order(root))
        growth = f"{draw / previous:.2f}x" if previous else "-"
        print(f"{nodes:>10,} {draw:>13.3f} {draw / nodes * 1e6:>8.1f} {walk:>13.4f} {draw / walk:>10.0f} {growth:>12}")
        previous = draw
    print("size doubles each row: 'vs previous' near 2.0x means linear time")


if __name__ == "__main__":
    main()

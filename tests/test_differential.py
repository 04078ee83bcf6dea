"""Randomized differential test: random graphs of the ops against plain NumPy (forward) and central finite
differences (backward), in float64.

Each seed draws a small program: leaves of random shapes, then steps that each apply one op to earlier
nodes: broadcasting binary ops, reductions over negative and tuple axes with or without keepdims, indexing,
transposes with negative axes, matmul of 1-D, 2-D and batched operands (against fresh leaves of fitting
shapes), softmax... The program is generated while computing it with NumPy (so every shape is known), then
replayed on Tensors: every node must equal its NumPy value, and the gradient of a random weighting of the
last node must match finite differences for every leaf.

By default a few seconds' worth of seeds run; ``pytest --many-seeds`` runs many more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from tinygrad_edu import Tensor, gradcheck_report

FAST_SEEDS = 80
SLOW_SEEDS = 3000


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "seed" in metafunc.fixturenames:
        count = SLOW_SEEDS if metafunc.config.getoption("--many-seeds") else FAST_SEEDS
        metafunc.parametrize("seed", range(count))


def np_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@dataclass
class Step:
    """One node of the program: ``tensor_fn`` and ``numpy_fn`` applied to the nodes at ``inputs``, or,
    when ``leaf`` is set, that input leaf itself."""

    name: str
    inputs: tuple[int, ...] = ()
    tensor_fn: Callable | None = None
    numpy_fn: Callable | None = None
    leaf: int | None = None


@dataclass
class Program:
    leaves: list[np.ndarray] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)  # the NumPy value of every step

    def describe(self) -> str:
        return "\n".join(
            f"node {i} = {step.name}{step.inputs if step.leaf is None else ''} -> shape {value.shape}"
            for i, (step, value) in enumerate(zip(self.steps, self.values))
        )


# Elementwise unary ops, kept smooth and bounded where they compose (x * x + 1 under log and sqrt).
UNARY: list[tuple[str, Callable, Callable]] = [
    ("neg", lambda x: -x, lambda x: -x),
    ("tanh", lambda x: x.tanh(), np.tanh),
    ("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    ("exp(tanh)", lambda x: x.tanh().exp(), lambda x: np.exp(np.tanh(x))),
    ("log(x^2+1)", lambda x: (x * x + 1).log(), lambda x: np.log(x * x + 1)),
    ("sqrt(x^2+1)", lambda x: (x * x + 1).sqrt(), lambda x: np.sqrt(x * x + 1)),
    ("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0)),
    ("abs", lambda x: x.abs(), np.abs),
    ("leaky_relu", lambda x: x.leaky_relu(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    ("square", lambda x: x**2, lambda x: x**2),
    ("pow1.5", lambda x: (x * x + 0.5) ** 1.5, lambda x: (x * x + 0.5) ** 1.5),
    ("rpow", lambda x: 2.0 ** x.tanh(), lambda x: 2.0 ** np.tanh(x)),
    ("clip", lambda x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5)),
    ("scale", lambda x: 0.5 * x - 1, lambda x: 0.5 * x - 1),
]

BINARY: list[tuple[str, Callable, Callable]] = [
    ("add", lambda x, y: x + y, np.add),
    ("sub", lambda x, y: x - y, np.subtract),
    ("mul", lambda x, y: x * y, np.multiply),
    ("div", lambda x, y: x / (y * y + 1), lambda x, y: x / (y * y + 1)),
    ("maximum", lambda x, y: x.maximum(y), np.maximum),
    ("minimum", lambda x, y: x.minimum(y), np.minimum),
    ("pow", lambda x, y: (x * x + 0.5) ** y.tanh(), lambda x, y: (x * x + 0.5) ** np.tanh(y)),
]


def random_axes(rng: np.random.Generator, ndim: int) -> int | tuple[int, ...] | None:
    """None, one axis or a tuple of distinct axes, each written positive or negative at random."""
    if ndim == 0 or rng.random() < 0.2:
        return None
    count = int(rng.integers(1, ndim + 1))
    axes = [int(a) - (ndim if rng.random() < 0.5 else 0) for a in rng.choice(ndim, size=count, replace=False)]
    return axes[0] if count == 1 and rng.random() < 0.5 else tuple(axes)


def random_program(seed: int, n_steps: int = 8) -> Program:
    rng = np.random.default_rng(seed)
    program = Program()

    def new_leaf(shape: tuple[int, ...]) -> int:
        program.leaves.append(rng.uniform(-1.5, 1.5, size=shape))
        program.steps.append(Step(f"leaf {len(program.leaves) - 1}", leaf=len(program.leaves) - 1))
        program.values.append(program.leaves[-1])
        return len(program.values) - 1

    def add(name: str, inputs: tuple[int, ...], tensor_fn: Callable, numpy_fn: Callable) -> None:
        program.steps.append(Step(name, inputs, tensor_fn, numpy_fn))
        program.values.append(numpy_fn(*(program.values[i] for i in inputs)))

    def random_shape(max_dims: int = 3) -> tuple[int, ...]:
        return tuple(int(n) for n in rng.integers(1, 5, size=int(rng.integers(1, max_dims + 1))))

    for _ in range(int(rng.integers(1, 3))):
        new_leaf(random_shape())

    for _ in range(n_steps):
        node = int(rng.integers(len(program.values)))
        # Prefer recent nodes, so programs are deep rather than wide.
        if rng.random() < 0.6:
            node = len(program.values) - 1
        x = program.values[node]
        kind = rng.choice(["unary", "binary", "reduce", "shape", "index", "matmul", "softmax"])
        if kind == "unary" or (x.ndim == 0 and kind in ("index", "matmul", "softmax")):
            name, tensor_fn, numpy_fn = UNARY[int(rng.integers(len(UNARY)))]
            add(name, (node,), tensor_fn, numpy_fn)
        elif kind == "binary":
            fitting = [i for i, v in enumerate(program.values) if _broadcasts(v.shape, x.shape)]
            if rng.random() < 0.3 or not fitting:  # a new leaf broadcast against x
                shape = tuple(1 if rng.random() < 0.4 else n for n in x.shape)[int(rng.integers(0, x.ndim + 1)):]
                other = new_leaf(shape)
            else:
                other = int(rng.choice(fitting))
            name, tensor_fn, numpy_fn = BINARY[int(rng.integers(len(BINARY)))]
            pair = (node, other) if rng.random() < 0.5 else (other, node)
            add(name, pair, tensor_fn, numpy_fn)
        elif kind == "reduce":
            axis, keepdims = random_axes(rng, x.ndim), bool(rng.random() < 0.5)
            op = str(rng.choice(["sum", "mean", "max"]))
            add(
                f"{op}(axis={axis}, keepdims={keepdims})",
                (node,),
                lambda t, op=op, axis=axis, keepdims=keepdims: getattr(t, op)(axis=axis, keepdims=keepdims),
                lambda a, op=op, axis=axis, keepdims=keepdims: getattr(np, op)(a, axis=axis, keepdims=keepdims),
            )
        elif kind == "shape":
            if x.ndim >= 2 and rng.random() < 0.7:
                perm = tuple(int(p) - (x.ndim if rng.random() < 0.5 else 0) for p in rng.permutation(x.ndim))
                add(f"transpose{perm}", (node,), lambda t, perm=perm: t.transpose(*perm), lambda a, perm=perm: a.transpose(perm))
            else:
                shape = (-1,) if rng.random() < 0.5 else (1, *x.shape, 1)
                add(f"reshape{shape}", (node,), lambda t, shape=shape: t.reshape(shape), lambda a, shape=shape: a.reshape(shape))
        elif kind == "index":
            n = x.shape[0]
            choice = rng.integers(3)
            if choice == 0:
                index = slice(int(rng.integers(0, n)), None, int(rng.integers(1, 3)))
            elif choice == 1:
                index = rng.integers(0, n, size=int(rng.integers(1, 5)))  # repeats accumulate
            else:
                index = -1
            if x.ndim >= 2 and rng.random() < 0.5:
                rows = rng.integers(0, n, size=3)
                index = (rows, rng.integers(0, x.shape[1], size=3))  # pick one entry per row
            add(f"getitem[{index!r:.40}]", (node,), lambda t, i=index: t[i], lambda a, i=index: a[i])
        elif kind == "matmul":
            k = int(rng.integers(1, 4))
            if rng.random() < 0.5:  # x @ W with W 1-D, 2-D or batched
                inner = x.shape[-1]
                shape = rng.choice(3)
                batch = x.shape[:-2] if x.ndim >= 3 else (2,)  # batched W: x's batch axes, or broadcast over a new one
                w_shape = [(inner,), (inner, k), (*batch, inner, k)][shape] if x.ndim >= 2 or shape < 2 else (inner, k)
                other = new_leaf(w_shape)
                add(f"matmul{x.shape}@{w_shape}", (node, other), lambda a, b: a @ b, np.matmul)
            else:  # W @ x
                inner = x.shape[-2] if x.ndim >= 2 else x.shape[0]
                w_shape = (k, inner) if rng.random() < 0.6 else (inner,)
                other = new_leaf(w_shape)
                add(f"matmul{w_shape}@{x.shape}", (other, node), lambda a, b: a @ b, np.matmul)
        else:
            axis = int(rng.integers(-x.ndim, x.ndim))
            if rng.random() < 0.5:
                add(f"softmax({axis})", (node,), lambda t, axis=axis: t.softmax(axis), lambda a, axis=axis: np_softmax(a, axis))
            else:
                add(
                    f"log_softmax({axis})",
                    (node,),
                    lambda t, axis=axis: t.log_softmax(axis),
                    lambda a, axis=axis: np.log(np_softmax(a, axis)),
                )
    return program


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(a, b) == b
    except ValueError:
        return False


def run(program: Program, *leaves: Tensor) -> list[Tensor]:
    nodes: list[Tensor] = []
    for step in program.steps:
        nodes.append(leaves[step.leaf] if step.leaf is not None else step.tensor_fn(*(nodes[i] for i in step.inputs)))
    return nodes


def test_random_graph_matches_numpy_and_finite_differences(seed):
    program = random_program(seed)
    leaves = [Tensor(leaf.copy(), requires_grad=True) for leaf in program.leaves]
    nodes = run(program, *leaves)
    for index, (node, expected) in enumerate(zip(nodes, program.values)):
        assert node.shape == np.shape(expected) and node.dtype == np.float64, f"node {index}\n{program.describe()}"
        np.testing.assert_allclose(node.data, expected, rtol=1e-12, atol=1e-12, err_msg=f"node {index}\n{program.describe()}")
    # Rounding noise in a finite difference is about 1e-16 |output| / eps = 1e-10 |output| (eps = 1e-6):
    # the absolute tolerance allows 100 times that, so a large output near a zero gradient is judged fairly.
    atol = 1e-6 + 1e-8 * float(np.abs(program.values[-1]).sum())
    report = gradcheck_report(lambda *ls: run(program, *ls)[-1], *leaves, atol=atol, rtol=1e-4, seed=seed)
    # A kink (relu at exactly 0, a tie in max) has no derivative to compare; any other mismatch is a bug.
    failures = [f for r in report.inputs for f in r.failures]
    assert not failures, f"{report}\n{program.describe()}"

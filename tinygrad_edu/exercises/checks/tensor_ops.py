"""tensor-ops (lesson 3): the backward of matmul, sum, mean, max (with ties), reshape, transpose and picking,
each against the engine's own op (:class:`~tinygrad_edu.Tensor`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_edu.exercises.candidates import Scope, const, expand, name, neighbours
from tinygrad_edu.exercises.diagnose import Mistake
from tinygrad_edu.exercises.items import check_parts
from tinygrad_edu.exercises.report import PASS, ItemResult, Report
from tinygrad_edu.exercises.seeding import problem_rng
from tinygrad_edu.tensor import Tensor

FUNCTIONS = ("matmul_backward", "sum_backward", "mean_backward", "max_backward", "reshape_backward",
             "transpose_backward", "pick_backward")


def _engine(forward: Callable[..., Tensor], g: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    tensors = [Tensor(x.copy(), requires_grad=True) for x in arrays]
    forward(*tensors).backward(g)
    return [t.grad for t in tensors]


def _cases() -> dict[str, list[tuple[tuple[Any, ...], dict[str, np.ndarray], dict[str, list[Mistake]]]]]:
    """For each function: (arguments, the expected gradients by label, catalogued mistakes) per case."""
    rng = problem_rng(2)
    A, B = rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
    G = rng.normal(size=(4, 5))
    dA, dB = _engine(lambda a, b: a @ b, G, A, B)
    x = rng.normal(size=(4, 3))
    ties = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0], [5.0, 5.0, 5.0], [-1.0, -2.0, -1.0]])
    labels = np.array([2, 0, 1, 2])
    matmul = Scope({"A": A, "B": B, "G": G, "A @ B": A @ B}, frozenset({"G"}), {"A @ B": "the forward output"})
    a, b, g_ = name("A"), name("B"), name("G")
    cases: dict[str, list] = {"matmul_backward": [((A, B, G), {"dA": dA, "dB": dB},
                                                   {"dA": list(neighbours("dA", g_ @ b.T, matmul)),
                                                    "dB": list(neighbours("dB", a.T @ g_, matmul))})]}
    for item, method in (("sum_backward", "sum"), ("mean_backward", "mean"), ("max_backward", "max")):
        cases[item] = []
        for axis in (0, 1):
            data = ties if item == "max_backward" else x
            g = rng.normal(size=data.shape[1 - axis])
            (expected,) = _engine(lambda t, m=method, a=axis: getattr(t, m)(axis=a), g, data)
            label = f"dx for axis={axis}"
            mistakes = []
            if item == "mean_backward":
                mistakes.append(Mistake("mean-no-division", f"{label}: a mean divides by the number of entries "
                                        f"averaged ({data.shape[axis]}), so each entry's gradient is g / {data.shape[axis]}",
                                        lambda e=expected, n=data.shape[axis]: e * n))
            if item == "max_backward":
                is_max = data == data.max(axis=axis, keepdims=True)
                full = np.expand_dims(g, axis) * is_max
                first = np.zeros_like(data)
                index = [np.arange(data.shape[1 - axis])]
                index.insert(axis, data.argmax(axis=axis))
                first[tuple(index)] = g
                mistakes += [
                    Mistake("max-ties-not-split", f"{label}: every tied maximum got the whole gradient; split it "
                            "evenly between the ties (g / number of ties), so the total stays g", lambda f=full: f),
                    Mistake("max-first-tie-only", f"{label}: only one of the tied maxima got the gradient; this "
                            "project (like torch.amax) splits it evenly between the ties", lambda f=first: f),
                ]
            n = data.shape[axis]
            scope = Scope({"x": data, "g": g, "share": (data == data.max(axis=axis, keepdims=True)) /
                           (data == data.max(axis=axis, keepdims=True)).sum(axis=axis, keepdims=True)},
                          frozenset({"g"}), {"share": "the tie mask divided by the number of ties"},
                          {"n": n, "x.size": data.size, f"x.shape[{1 - axis}]": data.shape[1 - axis]})
            formula = expand(name("g"), axis, name("x"))
            formula = {"sum_backward": formula, "mean_backward": formula / const(n, "n"),
                       "max_backward": formula * name("share")}[item]
            mistakes += neighbours(label, formula, scope)
            cases[item].append(((data, axis, g), {label: expected}, {label: mistakes}))
    g = rng.normal(size=(2, 6))
    cases["reshape_backward"] = [((x, g), dict(zip(["dx"], _engine(lambda t: t.reshape(2, 6), g, x))), {})]
    g = rng.normal(size=(3, 4))
    cases["transpose_backward"] = [((x, g), dict(zip(["dx"], _engine(lambda t: t.T, g, x))), {"dx": [
        Mistake("reshape-for-transpose", "your dx is g.reshape(x.shape): a reshape keeps the entries in reading order, "
                "but a transpose moves entry [i, j] to [j, i], so its backward is g.T", lambda g=g: g.reshape(x.shape))]})]
    g = rng.normal(size=4)
    (expected,) = _engine(lambda t: t[np.arange(4), labels], g, x)
    picked = Scope({"x": x, "g": g, "Y": np.eye(x.shape[1])[labels]}, frozenset({"g"}),
                   {"Y": "the one-hot rows of labels, 1 at the picked entry"})
    cases["pick_backward"] = [((x, labels, g), {"dx": expected}, {"dx": [
        Mistake("pick-everywhere", "the gradient went to every entry of the row; only the picked entry "
                "x[i, labels[i]] moves the output, the others get 0", lambda: np.broadcast_to(g[:, None], x.shape)),
        *neighbours("dx", expand(name("g"), 1, name("x")) * name("Y"), picked)]})]
    return cases


def check(functions: dict[str, Callable[..., Any]], where: str) -> Report:
    items = []
    for name, cases in _cases().items():
        worst, result = 0.0, None
        for args, expected, mistakes in cases:
            result = check_parts(name, functions, where, args, expected, mistakes)
            if not result.passed:
                break
            worst = max(worst, result.error)
        items.append(result if not result.passed else ItemResult(name, PASS, worst))
    notes = ["each gradient is compared with the engine's own op (max on rows with ties)"]
    return Report("tensor-ops", where, items, notes)

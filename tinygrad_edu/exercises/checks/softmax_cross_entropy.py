"""softmax-cross-entropy (lessons 4-5): the gradient through each atomic step, checked one by one against the
engine's own op fed the correct upstream gradient; then the student's steps chained, and the collapsed
one-line formula, against autodiff of the fused :func:`tinygrad_edu.functional.cross_entropy`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu.exercises.seeding import problem_rng
from tinygrad_edu.exercises.diagnose import Mistake, diagnose
from tinygrad_edu.exercises.items import call, check_parts
from tinygrad_edu.exercises.report import FAIL, ItemResult, Report
from tinygrad_edu.tensor import Tensor

FUNCTIONS = ("grad_of_loss", "grad_of_pick", "grad_of_log", "grad_of_divide", "grad_of_row_sum", "grad_of_exp",
             "softmax_cross_entropy_backward")
N, C = 8, 5


def _local(forward: Callable[..., Tensor], upstream: np.ndarray | None, *arrays: np.ndarray) -> list[np.ndarray]:
    """The engine's gradient of each input of ``forward`` given the gradient of its output."""
    tensors = [Tensor(x.copy(), requires_grad=True) for x in arrays]
    forward(*tensors).backward(upstream)
    return [t.grad for t in tensors]


def problem() -> dict[str, np.ndarray]:
    """The forward pass and every correct gradient, from the engine (one retained gradient per step)."""
    rng = problem_rng(4)
    Z, y = rng.normal(size=(N, C)), rng.integers(0, C, size=N)
    z = Tensor(Z, requires_grad=True)
    E = z.exp().retain_grad()
    S = E.sum(axis=1, keepdims=True).retain_grad()
    P = (E / S).retain_grad()
    LP = P.log().retain_grad()
    picked = LP[np.arange(N), y].retain_grad()
    (-picked.mean()).backward()
    return {"Z": Z, "y": y, "E": E.data, "S": S.data, "P": P.data, "LP": LP.data, "picked": picked.data,
            "dpicked": picked.grad, "dLP": LP.grad, "dP": P.grad, "dS": S.grad, "dE": E.grad, "dZ": z.grad}


def check(functions: dict[str, Callable[..., Any]], where: str) -> Report:
    v = problem()
    Y = np.eye(C)[v["y"]]
    dE_divide, dS = _local(lambda e, s: e / s, v["dP"], v["E"], v["S"])
    steps = [
        ("grad_of_loss", (v["picked"],), {"dpicked": _local(lambda p: -p.mean(), None, v["picked"])[0]}, {}),
        ("grad_of_pick", (v["dpicked"], v["LP"], v["y"]),
         {"dLP": _local(lambda lp: lp[np.arange(N), v["y"]], v["dpicked"], v["LP"])[0]}, {}),
        ("grad_of_log", (v["dLP"], v["P"]), {"dP": _local(lambda p: p.log(), v["dLP"], v["P"])[0]},
         {"dP": [Mistake("log-times-input", "d log(P)/dP is 1/P: divide by P, do not multiply", lambda: v["dLP"] * v["P"])]}),
        ("grad_of_divide", (v["dP"], v["E"], v["S"]), {"dE": dE_divide, "dS": dS},
         {"dE": [Mistake("divide-times-s", "d(E/S)/dE is 1/S: divide by S", lambda: v["dP"] * v["S"])],
          "dS": [Mistake("divide-row-not-summed", "S is used by every entry of its row, so dS sums "
                         "-dP * E / S**2 over the row (axis=1, keepdims=True)", lambda: -v["dP"] * v["E"] / v["S"] ** 2)]}),
        ("grad_of_row_sum", (v["dS"], v["E"]), {"dE": _local(lambda e: e.sum(axis=1, keepdims=True), v["dS"], v["E"])[0]}, {}),
        ("grad_of_exp", (v["dE"], v["E"]), {"dZ": _local(lambda z: z.exp(), v["dE"], v["Z"])[0]},
         {"dZ": [Mistake("exp-times-input", "d exp(Z)/dZ is exp(Z) = E itself, not Z", lambda: v["dE"] * v["Z"])]}),
    ]
    items = [check_parts(name, functions, where, args, expected, mistakes, batch=N)
             for name, args, expected, mistakes in steps]
    notes = [f"checked on logits of shape ({N}, {C}); each step is fed the correct gradient of its output"]
    chained = _chain(functions, where, v, notes)
    failing = [item.item for item in items if item.status == FAIL]
    if chained.status == FAIL and failing:
        chained.diagnosis += f"\n(because of {', '.join(failing)}: fix those steps first)"
    items.append(chained)
    # The fused formula, against autodiff of the fused cross-entropy.
    fused = Tensor(v["Z"].copy(), requires_grad=True)
    F.cross_entropy(fused, v["y"]).backward()
    items.append(check_parts("softmax_cross_entropy_backward", functions, where, (v["Z"], v["y"]),
                             {"dZ": fused.grad}, {}, batch=N))
    if items[-1].passed:
        gap = float(np.abs(fused.grad - (v["P"] - Y) / N).max())
        notes.append(f"the six steps collapse to one line: max |dZ - (P - Y)/N| = {gap:.1e}")
    return Report("softmax-cross-entropy", where, items, notes)


def _chain(functions: dict[str, Callable[..., Any]], where: str, v: dict[str, np.ndarray], notes: list[str]) -> ItemResult:
    """The student's six steps chained from the loss down to dZ, each fed the previous one's result."""
    item = "the six steps chained"
    missing = [name for name in FUNCTIONS[:6] if name not in functions]
    if missing:
        return ItemResult.missing(item, missing[0], where)
    values = {}
    sequence = [
        ("dpicked", "grad_of_loss", lambda: (v["picked"],)),
        ("dLP", "grad_of_pick", lambda: (values["dpicked"], v["LP"], v["y"])),
        ("dP", "grad_of_log", lambda: (values["dLP"], v["P"])),
        (("dE_divide", "dS"), "grad_of_divide", lambda: (values["dP"], v["E"], v["S"])),
        ("dE_sum", "grad_of_row_sum", lambda: (values["dS"], v["E"])),
        ("dZ", "grad_of_exp", lambda: (np.asarray(values["dE_divide"]) + np.asarray(values["dE_sum"]), v["E"])),
    ]
    for key, name, arguments in sequence:
        try:
            args = arguments()
        except (ValueError, TypeError) as error:
            return ItemResult(item, FAIL, diagnosis=f"cannot combine your results before {name}: {error}")
        outcome = call(functions[name], *args)
        if not outcome.ok:
            return ItemResult.from_attempt(item, outcome)
        if isinstance(key, tuple):
            if not isinstance(outcome.value, (tuple, list)) or len(outcome.value) != 2:
                return ItemResult(item, FAIL, diagnosis=f"{name} must return two arrays")
            values.update(zip(key, outcome.value))
        else:
            values[key] = outcome.value
    verdict = diagnose("dZ from your chained steps", values["dZ"], v["dZ"], batch=N)
    if verdict.passed:
        notes.append(f"your six steps chained give dZ equal to autodiff's (rel err {verdict.error:.1e})")
    return ItemResult.from_verdict(item, verdict)

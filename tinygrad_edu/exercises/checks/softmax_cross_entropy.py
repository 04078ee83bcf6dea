"""softmax-cross-entropy (lessons 4-5): the gradient through each atomic step, checked one by one against the
engine's own op fed the correct upstream gradient; then the student's steps chained, and the collapsed
one-line formula, against autodiff of the fused :func:`tinygrad_edu.functional.cross_entropy`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu.exercises.candidates import Scope, const, expand, name, neighbours, ones_like
from tinygrad_edu.exercises.diagnose import Mistake, diagnose
from tinygrad_edu.exercises.items import call, check_parts
from tinygrad_edu.exercises.report import FAIL, ItemResult, Report
from tinygrad_edu.exercises.seeding import problem_rng
from tinygrad_edu.tensor import Tensor

FUNCTIONS = ("grad_of_loss", "grad_of_pick", "grad_of_log", "grad_of_divide", "grad_of_row_sum", "grad_of_exp",
             "softmax_cross_entropy_backward")
N, C = 8, 5
LARGE_LOGITS = 40.0  # the fused formula is checked again on 40 Z + 1000: exp overflows unless the max is subtracted


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


def _generated(step: str, labels: tuple[str, ...], args: dict[str, np.ndarray], Y: np.ndarray) -> dict[str, list]:
    """The candidates around each step's formula, over the step's arguments (and Y, the one-hot labels)."""
    n = const(N, "N")
    dP, E, S = name("dP"), name("E"), name("S")
    formulas = {
        "grad_of_loss": (-ones_like(name("picked")) / n,),
        "grad_of_pick": (expand(name("dpicked"), 1, name("LP")) * name("Y"),),
        "grad_of_log": (name("dLP") / name("P"),),
        "grad_of_divide": (dP / S, -(dP * E / S**2).sum(axis=1, keepdims=True)),
        "grad_of_row_sum": (name("dS") * ones_like(E),),
        "grad_of_exp": (name("dE") * E,),
        "softmax_cross_entropy_backward": ((name("P") - name("Y")) / n,),
    }[step]
    scope = Scope({**args, "Y": Y}, frozenset(k for k in args if k.startswith("d")),
                  {"Y": "the one-hot labels", "E": "E = exp(Z)", "S": "the row sums of E"})
    return {label: list(neighbours(label, formula, scope)) for label, formula in zip(labels, formulas)}


def _fused_mistakes(Z: np.ndarray, y: np.ndarray) -> list[Mistake]:
    """The fused formula's softmax mistakes: the Jacobian's diagonal only, the row-sum term dropped, no max
    subtracted before exp (on large logits it overflows)."""
    Y = np.eye(C)[y]

    def naive() -> np.ndarray:
        with np.errstate(all="ignore"):
            E = np.exp(Z)
            return (E / E.sum(axis=1, keepdims=True) - Y) / N

    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return [
        Mistake("softmax:diagonal", "your dZ keeps only the diagonal P(1 - P) of softmax's Jacobian: each P_i depends "
                "on every logit of its row, and the -P_i P_j terms bring it to (P - Y) / N", lambda: -Y * (1 - P) / N),
        Mistake("softmax:no-row-sum", "your dZ is -Y / N: the term from the row sum S (every E_j feeds S, which "
                "divides every P_i) is dropped; with it, dZ = (P - Y) / N", lambda: -Y / N),
        Mistake("softmax:no-max-subtraction", "your dZ is NaN on large logits: exp(Z) overflows to inf and inf / inf "
                "is NaN. Subtract each row's max before exp (softmax does not change, the overflow goes)", naive),
    ]


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
    arguments = {"grad_of_loss": ("picked",), "grad_of_pick": ("dpicked", "LP"), "grad_of_log": ("dLP", "P"),
                 "grad_of_divide": ("dP", "E", "S"), "grad_of_row_sum": ("dS", "E"), "grad_of_exp": ("dE", "E")}
    items = []
    for step, args, expected, mistakes in steps:
        values = {key: value for key, value in zip(arguments[step], args)}
        generated = _generated(step, tuple(expected), values, Y)
        candidates = {label: [*mistakes.get(label, ()), *generated[label]] for label in expected}
        items.append(check_parts(step, functions, where, args, expected, candidates, batch=N))
    notes = [f"checked on logits of shape ({N}, {C}); each step is fed the correct gradient of its output"]
    chained = _chain(functions, where, v, notes)
    failing = [item.item for item in items if item.status == FAIL]
    if chained.status == FAIL and failing:
        chained.diagnosis += f"\n(because of {', '.join(failing)}: fix those steps first)"
    items.append(chained)
    # The fused formula, against autodiff of the fused cross-entropy.
    fused = Tensor(v["Z"].copy(), requires_grad=True)
    F.cross_entropy(fused, v["y"]).backward()
    fused_item = "softmax_cross_entropy_backward"
    for Z in (v["Z"], LARGE_LOGITS * v["Z"] + 1000.0):  # the second: logits whose exp overflows
        fused = Tensor(Z.copy(), requires_grad=True)
        F.cross_entropy(fused, v["y"]).backward()
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        candidates = [*_fused_mistakes(Z, v["y"]),
                      *_generated(fused_item, ("dZ",), {"Z": Z, "P": P}, Y)["dZ"]]
        result = check_parts(fused_item, functions, where, (Z, v["y"]), {"dZ": fused.grad}, {"dZ": candidates},
                             batch=N)
        if not result.passed:
            break
    items.append(result)
    fused = Tensor(v["Z"].copy(), requires_grad=True)
    F.cross_entropy(fused, v["y"]).backward()
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

"""deep-network (after lesson 5): the 784-128-64-10 backward written as the layer recurrence.

Each function is checked on every layer it serves, fed the correct deltas (from autodiff, with
``retain_grad``), and diagnosed against the mistakes of :data:`tinygrad_edu.manual.mistakes.BUGS` as they appear in
a layer and the candidates generated from each function's formula; then the student's ``backward`` (the chain)
against autodiff.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu.exercises.candidates import Scope, const, mask, name, neighbours
from tinygrad_edu.exercises.diagnose import Mistake
from tinygrad_edu.exercises.items import call, check_parts, compare_parts, key_problem
from tinygrad_edu.exercises.report import FAIL, PASS, ItemResult, Report
from tinygrad_edu.exercises.seeding import problem_rng
from tinygrad_edu.tensor import Tensor

FUNCTIONS = ("output_delta", "layer_gradients", "delta_below", "backward")
SIZES = (784, 128, 64, 10)
BATCH = 32
PARAMS = ("dW1", "db1", "dW2", "db2", "dW3", "db3")


def problem() -> tuple[dict, dict, np.ndarray, dict]:
    """Parameters, the forward cache, labels, and every gradient from autodiff (float64)."""
    rng = problem_rng(6)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(SIZES, SIZES[1:]), start=1):
        params[f"W{layer}"] = rng.normal(0, np.sqrt(2 / fan_in), (fan_in, fan_out))
        params[f"b{layer}"] = rng.normal(0, 0.1, fan_out)
    x, y = rng.random((BATCH, SIZES[0])), rng.integers(0, SIZES[-1], size=BATCH)
    tensors = {name: Tensor(value.copy(), requires_grad=True) for name, value in params.items()}
    cache: dict[str, Any] = {"X": x}
    activation = Tensor(x)
    retained = {}
    for layer in (1, 2, 3):
        z = (activation @ tensors[f"W{layer}"] + tensors[f"b{layer}"]).retain_grad()
        retained[layer] = z
        cache[f"Z{layer}"] = z.data
        if layer < 3:
            activation = z.relu()
            cache[f"A{layer}"] = activation.data
    F.cross_entropy(retained[3], y).backward()
    shifted = np.exp(cache["Z3"] - cache["Z3"].max(axis=1, keepdims=True))
    cache["P"] = shifted / shifted.sum(axis=1, keepdims=True)
    grads = {f"d{name}": tensor.grad for name, tensor in tensors.items()}
    grads.update({f"delta{layer}": z.grad for layer, z in retained.items()})
    return params, cache, y, grads


def _bug(name: str) -> str:
    from tinygrad_edu.manual.mistakes import BUGS

    return f"This is lesson 5's classic mistake {name!r} ({BUGS[name].summary}), one layer deeper."


def _around(label: str, formula: Any, values: dict[str, np.ndarray]) -> list[Mistake]:
    """The candidates around a function's formula, over its arguments (``delta`` is the gradient from above)."""
    return list(neighbours(label, formula, Scope(values, frozenset({"delta"}), {"Z_below": "the relu's input"})))


def check(functions: dict[str, Callable[..., Any]], where: str) -> Report:
    params, cache, y, grads = problem()
    Y = np.eye(SIZES[-1])[y]
    A_prev, delta, W, Z_below = name("A_prev"), name("delta"), name("W"), name("Z_below")
    items = [check_parts("output_delta", functions, where, (cache["P"], y), {"delta3": grads["delta3"]},
                         {"delta3": [Mistake("forgot-1/N", _bug("forgot-1/N"), lambda: cache["P"] - Y),
                                     *_around("delta3", (name("P") - name("Y")) / const(BATCH, "N"),
                                              {"P": cache["P"], "Y": Y})]}, batch=BATCH)]
    inputs = {1: cache["X"], 2: cache["A1"], 3: cache["A2"]}
    items.append(_per_layer("layer_gradients", functions, where, [
        ((inputs[l], grads[f"delta{l}"]), {f"dW{l}": grads[f"dW{l}"], f"db{l}": grads[f"db{l}"]},
         {f"dW{l}": _around(f"dW{l}", A_prev.T @ delta, {"A_prev": inputs[l], "delta": grads[f"delta{l}"]}),
          f"db{l}": [Mistake("bias-not-summed", _bug("bias-not-summed"), lambda l=l: grads[f"delta{l}"]),
                     Mistake("bias-averaged", _bug("bias-averaged"), lambda l=l: grads[f"delta{l}"].mean(axis=0)),
                     *_around(f"db{l}", delta.sum(axis=0), {"A_prev": inputs[l], "delta": grads[f"delta{l}"]})]})
        for l in (3, 2, 1)]))
    items.append(_per_layer("delta_below", functions, where, [
        ((grads[f"delta{l + 1}"], params[f"W{l + 1}"], cache[f"Z{l}"]), {f"delta{l}": grads[f"delta{l}"]},
         {f"delta{l}": [
             Mistake("relu-mask-z1", _bug("relu-mask-z1"),
                     lambda l=l: (grads[f"delta{l + 1}"] @ params[f"W{l + 1}"].T) * cache[f"Z{l}"]),
             Mistake("relu-mask-forgotten", _bug("relu-mask-forgotten"),
                     lambda l=l: grads[f"delta{l + 1}"] @ params[f"W{l + 1}"].T),
             *_around(f"delta{l}", (delta @ W.T) * mask(Z_below),
                      {"delta": grads[f"delta{l + 1}"], "W": params[f"W{l + 1}"], "Z_below": cache[f"Z{l}"]})]})
        for l in (2, 1)]))
    chained = _chain(functions, where, params, cache, y, grads)
    failing = [item.item for item in items if item.status == FAIL]
    if chained.status == FAIL and failing and chained.error == chained.error:  # numbers, not an error message
        wrong = [name for name in PARAMS if f"your {name} " in chained.diagnosis]
        chained.diagnosis = (f"{', '.join(wrong) or 'the gradients'} differ from autodiff, because of "
                             f"{', '.join(failing)}: fix those first")
    items.append(chained)
    notes = [f"checked on a {'-'.join(map(str, SIZES))} network, batch {BATCH}, float64; each function is fed the "
             "correct deltas of every layer it serves, backward is compared with autodiff"]
    return Report("deep-network", where, items, notes)


def _per_layer(item: str, functions: dict[str, Callable[..., Any]], where: str, cases: list) -> ItemResult:
    worst = 0.0
    for args, expected, mistakes in cases:
        result = check_parts(item, functions, where, args, expected, mistakes, batch=BATCH)
        if not result.passed:
            return result
        worst = max(worst, result.error)
    return ItemResult(item, PASS, worst)


def _chain(functions: dict[str, Callable[..., Any]], where: str, params: dict, cache: dict, y: np.ndarray,
           grads: dict) -> ItemResult:
    item = "backward"
    if item not in functions:
        return ItemResult.missing(item, item, where)
    outcome = call(functions[item], params, cache, y)
    if not outcome.ok:
        return ItemResult.from_attempt(item, outcome)
    if not isinstance(outcome.value, dict):
        return ItemResult(item, FAIL, diagnosis=f"backward must return a dict of {', '.join(PARAMS)}, got a "
                          f"{type(outcome.value).__name__}")
    missing = [key for key in PARAMS if key not in outcome.value]
    if missing:
        keys = [key_problem(key, outcome.value) for key in missing]
        if all(keys):
            return ItemResult(item, FAIL, diagnosis="\n".join(keys), mistake="dict-key")
        return ItemResult(item, FAIL, diagnosis=f"backward's dict has no {', '.join(missing)} (it has "
                          f"{', '.join(map(repr, outcome.value))})", mistake="dict-key")
    return compare_parts(item, tuple(outcome.value[name] for name in PARAMS), {name: grads[name] for name in PARAMS},
                         batch=BATCH)

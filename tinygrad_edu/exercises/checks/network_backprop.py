"""network-backprop (lesson 5): the seven lines of the 784-hidden-10 backward, line by line and in the chain.

The student's ``backward(params, cache, y)`` is run twice: once under :func:`run_in_isolation` (each line fed
the correct upstream gradients, so one wrong line fails only its own row, and its diagnosis is tried against
every catalogued mistake of :data:`tinygrad_edu.manual.mistakes.BUGS`, then against the candidates generated
from the line's formula, :func:`formulas`), and once as it is, for the three-way comparison of the chain
(:func:`tinygrad_edu.manual.compare.compare_gradients`), the keys of the dict it returns, and the inputs it must
leave as they were.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from tinygrad_edu import manual
from tinygrad_edu.exercises.candidates import Scope, const, mask, name, neighbours
from tinygrad_edu.exercises.diagnose import Mistake, diagnose
from tinygrad_edu.exercises.isolation import run_in_isolation
from tinygrad_edu.exercises.items import changed, key_problem
from tinygrad_edu.exercises.report import FAIL, ItemResult, Report
from tinygrad_edu.exercises.seeding import problem_rng
from tinygrad_edu.exercises.student import NOT_WRITTEN, Attempt, attempt
from tinygrad_edu.functional import one_hot
from tinygrad_edu.manual.compare import REL_TOLERANCE, Comparison, compare_gradients, describe, returned_gradients
from tinygrad_edu.manual.mistakes import BUGS

FUNCTIONS = ("backward",)
HIDDEN, BATCH = 10, 64  # hidden 10: a missing transpose of the square W2 runs and must be caught by its numbers


def problem(seed: int = 0, hidden: int = HIDDEN, batch: int = BATCH) -> tuple[manual.Params, np.ndarray, np.ndarray]:
    """The fixed float64 network and batch the check uses (random pixels: no MNIST needed)."""
    rng = problem_rng([seed, 9])
    params = manual.init_params(hidden, seed=seed, dtype=np.float64)
    params["b1"] = rng.normal(0, 0.1, hidden)  # nonzero biases, so a bias mistake changes the numbers
    params["b2"] = rng.normal(0, 0.1, manual.N_CLASSES)
    return params, rng.random((batch, manual.N_FEATURES)), rng.integers(0, manual.N_CLASSES, size=batch)


def formulas(batch: int) -> dict[str, Any]:
    """The seven lines as formulas over the names of the stub (for :func:`~.candidates.neighbours`); a test
    checks that they give manual.backward's numbers."""
    X, Z1, A1, P, Y, W2 = (name(n) for n in ("X", "Z1", "A1", "P", "Y", "W2"))
    dZ2, dA1, dZ1 = name("dZ2"), name("dA1"), name("dZ1")
    return {"dZ2": (P - Y) / const(batch, "N"), "dW2": A1.T @ dZ2, "db2": dZ2.sum(axis=0), "dA1": dZ2 @ W2.T,
            "dZ1": dA1 * mask(Z1), "dW1": X.T @ dZ1, "db1": dZ1.sum(axis=0)}


ABOUT = {"A1": "A1 = relu(Z1), what the second layer multiplies", "Z1": "the relu's input",
         "X": "what the first layer multiplies", "P": "the softmax's output", "Y": "the one-hot labels"}


def mistakes(name: str, params: manual.Params, cache: dict[str, Any], y: np.ndarray,
             correct: dict[str, np.ndarray]) -> list[Mistake]:
    """The catalogued mistakes (manual.mistakes.BUGS) that would change the line computing ``name``, from correct inputs,
    then the candidates generated from the line's formula with the values a line of the stub can see."""
    Y = one_hot(y, manual.N_CLASSES, np.float64)
    s = SimpleNamespace(**cache, W1=params["W1"], W2=params["W2"], Y=Y, N=len(y), **correct)
    found = []
    for bug in BUGS.values():
        if name in bug.steps:
            sentence = f"This is the classic mistake {bug.name!r}: {bug.summary}. {bug.explanation}"
            found.append(Mistake(bug.name, sentence, lambda step=bug.steps[name]: step(s)))
    above = list(manual.GRAD_NAMES)[: list(manual.GRAD_NAMES).index(name)]
    values = {key: cache[key] for key in ("X", "Z1", "A1", "Z2", "P")}
    values.update(W1=params["W1"], W2=params["W2"], b1=params["b1"], b2=params["b2"], Y=Y,
                  **{grad: correct[grad] for grad in above})
    scope = Scope(values, frozenset(above), ABOUT)
    return found + list(neighbours(name, formulas(len(y))[name], scope))


def check_lines(backward: Callable[..., Any], params: manual.Params, cache: dict[str, Any], y: np.ndarray,
                chain: Attempt) -> list[ItemResult]:
    """Each gradient line of ``backward`` on its own, given the correct upstream gradients, diagnosed.

    Args:
        backward: the student's function.
        params, cache, y: the problem, as for :func:`tinygrad_edu.manual.backward`.
        chain: the student's function run as it is (its returned dict, or its error): gradients that are not
            local variables of the expected names are checked from it instead.
    """
    correct = manual.backward(params, cache, y)
    lines = run_in_isolation(backward, _fresh(params, cache, y), correct) or {}
    returned = chain.value if chain.ok and isinstance(chain.value, dict) else {}
    results = []
    for name in manual.GRAD_NAMES:
        outcome = lines.get(name)
        if outcome is None:  # not a local of that name: the chain's value is all there is
            near = key_problem(name, returned).split("'")[-2] if key_problem(name, returned) else None
            if name in returned or near is not None:
                outcome = Attempt(value=returned[name if name in returned else near])
            elif chain.not_written or (chain.ok and isinstance(chain.value, dict)):
                outcome = Attempt(not_written=True)
            elif chain.error:
                outcome = chain
            else:
                results.append(ItemResult(name, FAIL, diagnosis=f"backward must return a dict of gradients, got "
                                          f"{type(chain.value).__name__}"))
                continue
        if not outcome.ok:
            result = ItemResult.from_attempt(name, outcome)
            if outcome.error and not outcome.timed_out:  # a shape NumPy refused, not a loop that never ended
                result.diagnosis += f"\n{name} must have shape {correct[name].shape}"
            results.append(result)
            continue
        tol = REL_TOLERANCE.get(correct[name].dtype, REL_TOLERANCE[np.dtype(np.float32)])  # as the chain's table
        verdict = diagnose(name, outcome.value, correct[name], mistakes(name, params, cache, y, correct), batch=len(y),
                           tol=tol)
        results.append(ItemResult.from_verdict(name, verdict))
    return results


def check(functions: dict[str, Callable[..., Any]], where: str) -> Report:
    """Check the student's ``backward`` line by line, then the chain against autodiff and finite differences."""
    if "backward" not in functions:
        return Report("network-backprop", where, [ItemResult.missing("backward", "backward", where)])
    params, x, y = problem()
    comparison = compare_student_backward(functions["backward"], params, x, y)
    items = list(comparison.lines)
    chain = ItemResult("chain", "pass" if comparison.passed_chain else FAIL)
    finite = [row.rel_error for row in comparison.rows if np.isfinite(row.rel_error)]
    chain.error = max(finite) if len(finite) == len(comparison.rows) else float("nan")
    if not comparison.passed_chain:
        keys = [row.problem for row in comparison.rows if row.problem.startswith("your dict has no")]
        if keys:
            chain.diagnosis, chain.mistake = "\n".join(keys), "dict-key"
        elif any(row.problem == NOT_WRITTEN for row in comparison.rows):  # backward does not return them all yet
            chain.status = NOT_WRITTEN
        else:
            chain.diagnosis = (f"in the chain (your gradients feeding each other) {', '.join(comparison.failed)} "
                               "differ from autodiff" + _chain_hint(items, comparison.failed))
    notes = [f"checked on a 784-{HIDDEN}-10 network, batch {BATCH}, float64; "
             "each line is fed the correct upstream gradients, the chain is compared with autodiff"]
    return Report("network-backprop", where, [*items, chain], notes)


def _chain_hint(items: list[ItemResult], failed: list[str]) -> str:
    wrong_lines = [item.item for item in items if not item.passed]
    if wrong_lines:
        which = "that line" if len(wrong_lines) == 1 else "those lines"
        return f" (because of {', '.join(wrong_lines)}: fix {which} first)"
    return ": every line is right on its own, so check what you return (the dict's keys and values)"


def student_gradients(backward: Callable[..., Any], params: manual.Params, cache: dict[str, Any], y: np.ndarray
                      ) -> tuple[dict[str, np.ndarray], dict[str, str], list[ItemResult]]:
    """Run a student's backward: its gradients as returned, why any is missing, and each line checked on its own.

    Returns:
        ``(gradients, errors, lines)``: the returned gradients that are arrays; for every other name of
        ``manual.GRAD_NAMES`` the reason ("not written yet", their error at their line); and
        :func:`check_lines`'s results.
    """
    args = _fresh(params, cache, y)
    chain = attempt(backward, *args)
    lines = check_lines(backward, params, cache, y, chain)
    if chain.not_written:
        gradients, errors = {}, dict.fromkeys(manual.GRAD_NAMES, NOT_WRITTEN)
    elif chain.error:
        gradients, errors = {}, dict.fromkeys(manual.GRAD_NAMES, f"your backward raised: {chain.error}")
    else:
        gradients, errors = returned_gradients(chain.value)
        written = {line.item for line in lines if line.status != NOT_WRITTEN}
        for key in [key for key, reason in errors.items() if reason == NOT_WRITTEN]:  # a misnamed key, or forgotten
            errors[key] = key_problem(key, chain.value) or (
                f"your dict has no {key!r} (it has {', '.join(map(repr, chain.value))}), though your backward "
                f"computes {key}: return it too" if key in written else NOT_WRITTEN)
    inputs = {**{f"params[{k!r}]": v for k, v in params.items()}, **{f"cache[{k!r}]": v for k, v in cache.items()}}
    copies = {**{f"params[{k!r}]": v for k, v in args[0].items()}, **{f"cache[{k!r}]": v for k, v in args[1].items()}}
    mutated = [key for key in inputs if key in copies and changed(inputs[key], copies[key])]
    if mutated:
        lines.append(ItemResult("inputs", FAIL, diagnosis=(
            f"your backward changed {', '.join(mutated)} in place (an in-place operation such as -=, /= or "
            "x[...] = on it, or on a name bound to it, e.g. dZ2 = P then dZ2[...] -= 1): the forward pass's "
            "values change for whoever uses them next. Compute into a new array (P.copy(), or an expression)"),
            mistake="mutated-input"))
    return gradients, errors, lines


def compare_student_backward(backward: Callable[..., Any], params: manual.Params, x: np.ndarray, y: np.ndarray,
                             **options: Any) -> Comparison:
    """:func:`~tinygrad_edu.manual.compare.compare_gradients` for a student's backward, with each of its lines
    also checked on its own and diagnosed (``.lines``); ``options`` go to ``compare_gradients``."""
    X, y = manual.check_inputs("compare_gradients", params, x, y)
    cache = manual.forward(params, X, y)
    gradients, errors, lines = student_gradients(backward, params, cache, y)
    comparison = compare_gradients(params, X, y, gradients=(gradients, errors), **options)
    comparison.source = describe(backward)
    comparison.lines = lines
    return comparison


def _fresh(*args: Any) -> tuple[Any, ...]:
    """Copies, so that a backward that changes its inputs in place cannot change the next run's."""
    return copy.deepcopy(args)

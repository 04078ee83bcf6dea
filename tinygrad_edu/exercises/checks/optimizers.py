"""optimizers (lesson 8): momentum and Adam steps, a few in a row, against :mod:`tinygrad_edu.optim`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_edu.exercises.seeding import problem_rng
from tinygrad_edu.exercises.diagnose import Mistake
from tinygrad_edu.exercises.items import compare_parts
from tinygrad_edu.exercises.report import ItemResult, Report
from tinygrad_edu.exercises.student import attempt
from tinygrad_edu.optim import SGD, Adam

FUNCTIONS = ("momentum_step", "adam_step")
STEPS, LR, MOMENTUM, BETAS, EPS = 4, 0.05, 0.9, (0.9, 0.999), 1e-8


def _gradients() -> list[np.ndarray]:
    rng = problem_rng(8)
    return [rng.normal(size=(3, 4)) for _ in range(STEPS)]


def _start() -> np.ndarray:
    return problem_rng(9).normal(size=(3, 4))


def _momentum_variant(dampened: bool) -> np.ndarray:
    param, velocity = _start(), np.zeros((3, 4))
    for g in _gradients():
        velocity = MOMENTUM * velocity + ((1 - MOMENTUM) * g if dampened else g)
        param = param - LR * velocity
    return param


def _adam_variant(bias_correction: bool = True, eps_inside: bool = False) -> np.ndarray:
    param, m, v = _start(), np.zeros((3, 4)), np.zeros((3, 4))
    for t, g in enumerate(_gradients(), start=1):
        m = BETAS[0] * m + (1 - BETAS[0]) * g
        v = BETAS[1] * v + (1 - BETAS[1]) * g**2
        m_hat = m / (1 - BETAS[0] ** t) if bias_correction else m
        v_hat = v / (1 - BETAS[1] ** t) if bias_correction else v
        param = param - LR * m_hat / (np.sqrt(v_hat + EPS) if eps_inside else np.sqrt(v_hat) + EPS)
    return param


def _run(student: Callable[..., Any], adam: bool):
    param = _start()
    state = [np.zeros_like(param), np.zeros_like(param)] if adam else [np.zeros_like(param)]
    for t, g in enumerate(_gradients(), start=1):
        args = (param, g.copy(), *state, t, LR, *BETAS, EPS) if adam else (param, g.copy(), *state, LR, MOMENTUM)
        outcome = attempt(student, *args)
        if not outcome.ok:
            return outcome, param
    return outcome, param


def _check(name: str, functions: dict[str, Callable[..., Any]], where: str) -> ItemResult:
    if name not in functions:
        return ItemResult.missing(name, name, where)
    adam = name == "adam_step"
    outcome, param = _run(functions[name], adam)
    if not outcome.ok:
        return ItemResult.from_attempt(name, outcome)
    reference = _start()
    optimizer = Adam([reference], lr=LR, betas=BETAS, eps=EPS) if adam else SGD([reference], lr=LR, momentum=MOMENTUM)
    for g in _gradients():
        optimizer.step([g])
    label = f"param after {STEPS} steps"
    unchanged = Mistake("not-in-place", "the parameter did not move: update the arrays in place (param -= ..., "
                        "m *= ..., +=), since the function returns nothing", _start)
    if adam:
        mistakes = [unchanged,
                    Mistake("no-bias-correction", "the bias correction is missing: divide m by 1 - beta1**t and v "
                            "by 1 - beta2**t (both start at 0, so early averages are too small)",
                            lambda: _adam_variant(bias_correction=False)),
                    Mistake("eps-inside-sqrt", "eps goes outside the square root: sqrt(v_hat) + eps",
                            lambda: _adam_variant(eps_inside=True))]
    else:
        mistakes = [unchanged,
                    Mistake("dampened-momentum", "PyTorch's momentum adds the whole gradient, v = momentum v + g, "
                            "without the (1 - momentum) factor (that form needs a larger lr for the same steps)",
                            lambda: _momentum_variant(dampened=True))]
    return compare_parts(name, param, {label: reference}, {label: mistakes})


def check(functions: dict[str, Callable[..., Any]], where: str) -> Report:
    notes = [f"{STEPS} steps from the same start with fixed gradients, compared with optim.SGD(momentum={MOMENTUM}) "
             f"and optim.Adam(betas={BETAS}, eps={EPS:g}), lr {LR}"]
    return Report("optimizers", where, [_check(name, functions, where) for name in FUNCTIONS], notes)

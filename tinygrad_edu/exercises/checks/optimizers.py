"""optimizers (lesson 8): momentum and Adam steps, a few in a row, against :mod:`tinygrad_edu.optim`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_edu.exercises.diagnose import Mistake, as_array, close, relative_error
from tinygrad_edu.exercises.items import compare_parts
from tinygrad_edu.exercises.report import PASS, ItemResult, Report
from tinygrad_edu.exercises.seeding import problem_rng
from tinygrad_edu.exercises.student import attempt
from tinygrad_edu.optim import SGD, Adam

FUNCTIONS = ("momentum_step", "adam_step")
STEPS, LR, MOMENTUM, BETAS, EPS = 4, 0.05, 0.9, (0.9, 0.999), 1e-8


def _gradients(scale: float = 1.0) -> list[np.ndarray]:
    rng = problem_rng(8)
    return [scale * rng.normal(size=(3, 4)) for _ in range(STEPS)]


# Two gradient sets: ordinary ones, and tiny ones (second moments ~1e-12, below eps) where eps's place shows.
GRADIENT_SCALES = (1.0, 1e-6)


def _start() -> np.ndarray:
    return problem_rng(9).normal(size=(3, 4))


def _momentum_variant(grads: list[np.ndarray], dampened: bool = False, step_first: bool = False,
                      rebound: bool = False, lr: float = LR) -> np.ndarray:
    """SGD with momentum, or one of its mistakes: (1 - momentum) on g, the parameter stepped with the old
    velocity, the velocity rebound (so the caller's stays 0 and every step starts from 0)."""
    param, velocity = _start(), np.zeros((3, 4))
    for g in grads:
        new = MOMENTUM * velocity + ((1 - MOMENTUM) * g if dampened else g)
        param = param - lr * (velocity if step_first else new)
        velocity = np.zeros((3, 4)) if rebound else new
    return param


def _adam_variant(grads: list[np.ndarray], bias_correction: bool = True, eps_inside: bool = False, t_shift: int = 0,
                  betas: tuple[float, float] = BETAS, square: bool = True, rebound: bool = False,
                  efficient: bool = False, correct: str = "mv", root: bool = True, lr: float = LR,
                  correction_betas: tuple[float, float] = BETAS) -> np.ndarray:
    """Adam, or one of its mistakes; ``efficient`` is Kingma and Ba's efficient form (section 2 of the paper),
    whose eps sits in another place: a published variant, accepted."""
    beta1, beta2 = betas
    param, m, v = _start(), np.zeros((3, 4)), np.zeros((3, 4))
    for t, g in enumerate(grads, start=1):
        m_new = beta1 * m + (1 - beta1) * g
        v_new = beta2 * v + (1 - beta2) * (g**2 if square else g)
        tt = t + t_shift
        c1, c2 = correction_betas  # the betas of the bias corrections (swapped there only, in one mistake)
        m_hat = m_new / (1 - c1**tt) if bias_correction and "m" in correct else m_new
        v_hat = v_new / (1 - c2**tt) if bias_correction and "v" in correct else v_new
        with np.errstate(all="ignore"):
            if efficient:
                param = param - LR * np.sqrt(1 - beta2**t) / (1 - beta1**t) * m_new / (np.sqrt(v_new) + EPS)
            else:
                size = (np.sqrt(v_hat + EPS) if eps_inside else np.sqrt(v_hat) + EPS) if root else v_hat + EPS
                param = param - lr * m_hat / size
        m, v = (np.zeros((3, 4)), np.zeros((3, 4))) if rebound else (m_new, v_new)
    return param


def _mistakes(adam: bool, grads: list[np.ndarray]) -> list[Mistake]:
    ascent = Mistake("sign", "the parameter moves up the gradient: a descent step subtracts, param -= lr * ...",
                     lambda: 2 * _start() - (_adam_variant(grads) if adam else _momentum_variant(grads)))
    no_lr = Mistake("no-learning-rate", "the step forgot the learning rate: param -= lr * ...",
                    lambda: _adam_variant(grads, lr=1.0) if adam else _momentum_variant(grads, lr=1.0))
    unchanged = Mistake("not-in-place", "the parameter did not move: param = param - ... rebinds your local name "
                        "and leaves the caller's array untouched; update it in place (param -= ...)", _start)
    if not adam:
        return [unchanged, ascent, no_lr,
                Mistake("dampened-momentum", "PyTorch's momentum adds the whole gradient, v = momentum v + g, "
                        "without the (1 - momentum) factor (that form needs a larger lr for the same steps)",
                        lambda: _momentum_variant(grads, dampened=True)),
                Mistake("momentum:order", "the parameter is stepped with the old velocity: update the velocity "
                        "first (v = momentum v + g), then param -= lr * v", lambda: _momentum_variant(grads, step_first=True)),
                Mistake("state-rebound", "velocity = ... rebinds your local name, so the caller's velocity stays 0 "
                        "and no momentum builds up: update it in place (velocity *= momentum; velocity += grad)",
                        lambda: _momentum_variant(grads, rebound=True))]
    variants = [
        ("no-bias-correction", "the bias correction is missing: divide m by 1 - beta1**t and v by 1 - beta2**t "
         "(both start at 0, so early averages are too small)", {"bias_correction": False}),
        ("eps-inside-sqrt", "eps goes outside the square root: sqrt(v_hat) + eps", {"eps_inside": True}),
        ("adam:bias-step", "the bias correction uses t + 1: t counts from 1 at the first step, so divide by "
         "1 - beta**t", {"t_shift": 1}),
        ("adam:bias-step", "the bias correction uses t - 1: at the first step 1 - beta**0 = 0 divides by zero; t "
         "counts from 1, so divide by 1 - beta**t", {"t_shift": -1}),
        ("adam:betas-swapped", "beta1 and beta2 are swapped in the moving averages: m (the mean of g) decays with "
         "beta1 = 0.9, v (the mean of g**2) with beta2 = 0.999", {"betas": BETAS[::-1]}),
        ("adam:betas-swapped", "beta1 and beta2 are swapped in the bias corrections: m_hat = m / (1 - beta1**t), "
         "v_hat = v / (1 - beta2**t)", {"correction_betas": BETAS[::-1]}),
        ("adam:no-square", "v averages g instead of g**2: the second moment is the mean of the squared gradient "
         "(a negative v makes sqrt(v) NaN)", {"square": False}),
        ("adam:bias-one", "only v is bias-corrected: m needs m / (1 - beta1**t) too", {"correct": "v"}),
        ("adam:bias-one", "only m is bias-corrected: v needs v / (1 - beta2**t) too", {"correct": "m"}),
        ("adam:no-sqrt", "the step divides by v_hat instead of its square root: sqrt(v_hat) + eps has the "
         "gradient's units, so the step is about lr whatever the gradient's size", {"root": False}),
        ("state-rebound", "m = ... and v = ... rebind your local names, so the caller's m and v stay 0 and every "
         "step starts from zero: update them in place (m *= beta1; m += ...)", {"rebound": True}),
    ]
    return [unchanged, ascent, no_lr, *(Mistake(cause, sentence, lambda options=options: _adam_variant(grads, **options))
                         for cause, sentence, options in variants)]


def _run(student: Callable[..., Any], adam: bool, grads: list[np.ndarray]):
    param = _start()
    state = [np.zeros_like(param), np.zeros_like(param)] if adam else [np.zeros_like(param)]
    for t, g in enumerate(grads, start=1):
        args = (param, g.copy(), *state, t, LR, *BETAS, EPS) if adam else (param, g.copy(), *state, LR, MOMENTUM)
        outcome = attempt(student, *args)
        if not outcome.ok:
            return outcome, param
    return outcome, param


def _check(name: str, functions: dict[str, Callable[..., Any]], where: str, notes: list[str]) -> ItemResult:
    if name not in functions:
        return ItemResult.missing(name, name, where)
    adam = name == "adam_step"
    for scale in GRADIENT_SCALES:
        grads = _gradients(scale)
        outcome, param = _run(functions[name], adam, grads)
        if not outcome.ok:
            return ItemResult.from_attempt(name, outcome)
        reference = _start()
        optimizer = Adam([reference], lr=LR, betas=BETAS, eps=EPS) if adam else SGD([reference], lr=LR, momentum=MOMENTUM)
        for g in grads:
            optimizer.step([g])
        label = f"param after {STEPS} steps" + (f" (gradients of size {scale:g})" if scale != 1 else "")
        result = compare_parts(name, param, {label: reference}, {label: _mistakes(adam, grads)})
        if not result.passed and adam and close(as_array(param), _adam_variant(grads, efficient=True)):
            notes.append("adam_step is Kingma and Ba's efficient form (the bias corrections folded into the step "
                         "size, eps added to sqrt(v) before correction): a published variant, accepted; PyTorch's "
                         "form differs from it only where the second moments are as small as eps")
            result = ItemResult(name, PASS, relative_error(as_array(param), reference))
            continue
        if not result.passed:
            return result
    return result


def check(functions: dict[str, Callable[..., Any]], where: str) -> Report:
    notes = [f"{STEPS} steps from the same start with fixed gradients (ordinary ones, then ones of size 1e-6), "
             f"compared with optim.SGD(momentum={MOMENTUM}) and optim.Adam(betas={BETAS}, eps={EPS:g}), lr {LR}"]
    items = [_check(name, functions, where, notes) for name in FUNCTIONS]
    return Report("optimizers", where, items, notes)

"""local-derivatives (lessons 1-2): each backward rule against the engine's own op and against gradcheck.

The student's rule is compared with the gradient :class:`~tinygrad_edu.Tensor`'s op gives (diagnosed with the
candidates around the rule's formula, :func:`_formulas`; relu also on inputs exactly at its kink), then plugged into the engine as an op of its own and checked by :func:`~tinygrad_edu.gradcheck_report`
against central finite differences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_edu.exercises.candidates import Expr, Scope, call as np_call, const, mask, name, neighbours
from tinygrad_edu.exercises.diagnose import Mistake
from tinygrad_edu.exercises.items import call, call_watched, compare_parts, with_side_effect
from tinygrad_edu.exercises.report import FAIL, ItemResult, Report
from tinygrad_edu.exercises.seeding import problem_rng
from tinygrad_edu.gradcheck import gradcheck_report
from tinygrad_edu.tensor import Tensor

FUNCTIONS = ("add_backward", "mul_backward", "div_backward", "pow_backward", "exp_backward", "log_backward",
             "tanh_backward", "relu_backward")
P = 3.0  # the exponent of pow


def _inputs() -> dict[str, np.ndarray]:
    rng = problem_rng(1)
    signed = rng.uniform(-2, 2, (3, 4))
    signed = np.where(np.abs(signed) < 0.2, 0.7, signed)  # away from relu's kink
    return {"a": signed, "b": rng.uniform(0.5, 2, (3, 4)) * rng.choice([-1, 1], (3, 4)),
            "positive": rng.uniform(0.5, 2, (3, 4)), "g": rng.normal(size=(3, 4))}


# name -> (forward on Tensors, the inputs' keys in _inputs(), labels of the returned gradients, mistakes)
def _ops() -> dict[str, tuple[Callable[..., Tensor], tuple[str, ...], tuple[str, ...], Callable[..., dict]]]:
    return {
        "add_backward": (lambda a, b: a + b, ("a", "b"), ("da", "db"), lambda a, b, g: {}),
        "mul_backward": (lambda a, b: a * b, ("a", "b"), ("da", "db"), lambda a, b, g: {
            "da": [Mistake("mul-same-input", "d(a*b)/da is b, not a: each input's gradient is g times the OTHER input",
                           lambda: g * a)],
            "db": [Mistake("mul-same-input", "d(a*b)/db is a, not b: each input's gradient is g times the OTHER input",
                           lambda: g * b)]}),
        "div_backward": (lambda a, b: a / b, ("a", "b"), ("da", "db"), lambda a, b, g: {
            "da": [Mistake("div-da", "d(a/b)/da is 1/b: you multiplied by b", lambda: g * b)],
            "db": [Mistake("div-db-power", "d(b**-1)/db is -1/b**2, not -1/b: the power rule lowers the exponent "
                           "from -1 to -2", lambda: -g * a / b)]}),
        "pow_backward": (lambda a: a**P, ("positive",), ("da",), lambda a, g: {
            "da": [Mistake("pow-exponent-kept", f"the power rule lowers the exponent: p a^(p-1), not p a^p (p = {P:g})",
                           lambda: g * P * a**P),
                   Mistake("pow-factor-forgotten", f"the power rule brings the exponent down as a factor: p a^(p-1), "
                           f"not a^(p-1) (p = {P:g})", lambda: g * a ** (P - 1))]}),
        "exp_backward": (lambda a: a.exp(), ("a",), ("da",), lambda a, g: {
            "da": [Mistake("exp-times-input", "d(e^a)/da is e^a itself, not a", lambda: g * a)]}),
        "log_backward": (lambda a: a.log(), ("positive",), ("da",), lambda a, g: {
            "da": [Mistake("log-times-input", "d ln(a)/da is 1/a: divide g by a, do not multiply", lambda: g * a),
                   Mistake("log-of-input", "d ln(a)/da is 1/a, not ln(a)", lambda: g * np.log(a))]}),
        "tanh_backward": (lambda a: a.tanh(), ("a",), ("da",), lambda a, g: {
            "da": [Mistake("tanh-square-missing", "the derivative of tanh is 1 - tanh(a)^2: the square is missing",
                           lambda: g * (1 - np.tanh(a))),
                   Mistake("tanh-of-input", "the derivative of tanh is 1 - tanh(a)^2, with tanh(a), not a",
                           lambda: g * (1 - a**2))]}),
        "relu_backward": (lambda a: a.relu(), ("a",), ("da",), lambda a, g: {
            "da": [Mistake("relu-times-input", "relu's slope is the mask 1[a > 0], not a itself: multiply g by "
                           "(a > 0)", lambda: g * a),
                   Mistake("relu-mask-forgotten", "relu passes no gradient where a <= 0: multiply g by the mask "
                           "(a > 0)", lambda: g)]}),
    }


def _formulas() -> dict[str, tuple[Expr, ...]]:
    """Each rule's correct formula over the function's arguments, for the candidates around it."""
    a, b, g = name("a"), name("b"), name("g")
    return {
        "add_backward": (g, g),
        "mul_backward": (g * b, g * a),
        "div_backward": (g / b, -(g * a / b**2)),
        "pow_backward": (g * const(P, "p") * a ** (P - 1),),
        "exp_backward": (g * np_call("exp", a),),
        "log_backward": (g / a,),
        "tanh_backward": (g * (1 - np_call("tanh", a) ** 2),),
        "relu_backward": (g * mask(a),),
    }


def _with_kinks(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inputs with a few entries of ``a`` exactly 0, where relu's slope is 0 (its mask is a > 0, not >=)."""
    kinked = dict(values, a=values["a"].copy())
    kinked["a"][::2, 1] = 0.0
    return kinked


def _engine_gradients(forward: Callable[..., Tensor], arrays: list[np.ndarray], g: np.ndarray) -> list[np.ndarray]:
    tensors = [Tensor(x.copy(), requires_grad=True) for x in arrays]
    forward(*tensors).backward(g)
    return [t.grad for t in tensors]


def _with_students_rule(rule: Callable[..., Any], forward: Callable[..., Tensor], name: str) -> Callable[..., Tensor]:
    """An op whose forward is the engine's and whose backward is the student's rule, for gradcheck."""

    def op(*tensors: Tensor) -> Tensor:
        out = forward(*(Tensor(t.data) for t in tensors)).data
        extra = (P,) if name == "pow_backward" else ()

        def backward(g: np.ndarray):
            grads = rule(*(t.data for t in tensors), *extra, g)
            return tuple(grads) if len(tensors) > 1 else (grads,)

        return Tensor._result(out, tensors, name, backward)

    return op


def _check_item(name: str, functions: dict[str, Callable[..., Any]], where: str) -> ItemResult:
    if name not in functions:
        return ItemResult.missing(name, name, where)
    forward, keys, labels, mistakes = _ops()[name]
    inputs = [_inputs()] + ([_with_kinks(_inputs())] if name == "relu_backward" else [])
    for values in inputs:
        arrays, g = [values[k] for k in keys], values["g"]
        args = (*arrays, P, g) if name == "pow_backward" else (*arrays, g)
        outcome, changed = call_watched(functions[name], *args)
        if not outcome.ok:
            return ItemResult.from_attempt(name, outcome)
        expected = dict(zip(labels, _engine_gradients(forward, arrays, g)))
        scope = Scope(dict(zip(("a", "b")[: len(keys)], arrays), g=g), frozenset({"g"}))
        found = mistakes(*arrays, g)
        candidates = {label: [*found.get(label, ()), *neighbours(label, formula, scope)]
                      for label, formula in zip(labels, _formulas()[name])}
        result = with_side_effect(compare_parts(name, outcome.value, expected, candidates), changed)
        if not result.passed:
            return result
    arrays = [inputs[0][k] for k in keys]
    inputs = [Tensor(x, requires_grad=True) for x in arrays]
    checked = call(gradcheck_report, _with_students_rule(functions[name], forward, name), *inputs)
    if not checked.ok:
        return ItemResult.from_attempt(name, checked)
    if not checked.value.passed:
        return ItemResult(name, FAIL, result.error, f"gradcheck disagrees with your rule:\n{checked.value}")
    return result


def check(functions: dict[str, Callable[..., Any]], where: str) -> Report:
    notes = ["each rule is compared with the engine's op (Tensor) and checked with gradcheck against finite differences"]
    return Report("local-derivatives", where, [_check_item(name, functions, where) for name in FUNCTIONS], notes)

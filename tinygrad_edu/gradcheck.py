"""Check autodiff against central finite differences.

For a function ``f`` of tensors, pick a fixed random weighting ``R`` of its output and look at the scalar
``s(x) = sum(f(x) * R)`` (for a scalar output, ``R = 1``). Autodiff gives ``ds/dx`` in one backward pass.
Finite differences estimate each coordinate independently:

.. math:: \\frac{\\partial s}{\\partial x_i} \\approx \\frac{s(x + \\epsilon e_i) - s(x - \\epsilon e_i)}{2 \\epsilon}

with an error of order ``eps**2`` where ``s`` is smooth. Everything runs in float64 on copies of the
inputs: in float32 the rounding error of the difference would swamp the comparison.

Where ``s`` has a kink (ReLU at exactly 0, a tie in ``max``), the left slope ``(s(x) - s(x - eps e_i))/eps``
and the right slope ``(s(x + eps e_i) - s(x))/eps`` disagree. No single derivative exists there, so the
check reports the coordinate as a kink instead of pretending to compare.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_edu.tensor import Tensor, no_grad


@dataclass
class Kink:
    """A coordinate where ``f`` is not differentiable: its left and right slopes differ."""

    index: tuple[int, ...]
    left_slope: float
    right_slope: float
    autodiff: float


@dataclass
class InputReport:
    """What gradcheck found for one input tensor.

    Attributes:
        position: which argument of ``f`` (0-based).
        shape: the input's shape.
        checked: how many coordinates were compared.
        max_abs_error: the worst ``|autodiff - numeric|``, at ``worst_abs_index``.
        max_rel_error: the worst ``|autodiff - numeric| / max(|autodiff|, |numeric|)``, at ``worst_rel_index``.
        failures: coordinates where ``|autodiff - numeric| > atol + rtol * |numeric|``, or where either
            is NaN or infinite (a gradient that is not a number never passes).
        kinks: coordinates that sit on a kink (not counted as failures, but the check does not pass).
    """

    position: int
    shape: tuple[int, ...]
    checked: int = 0
    max_abs_error: float = 0.0
    worst_abs_index: tuple[int, ...] | None = None
    max_rel_error: float = 0.0
    worst_rel_index: tuple[int, ...] | None = None
    failures: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    kinks: list[Kink] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and not self.kinks


@dataclass
class GradcheckReport:
    """The result of :func:`gradcheck_report`: one :class:`InputReport` per input that requires grad."""

    inputs: list[InputReport]
    eps: float
    atol: float
    rtol: float

    @property
    def passed(self) -> bool:
        return all(report.passed for report in self.inputs)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        lines = [f"gradcheck (float64, eps={self.eps:g}, pass if |autodiff - numeric| <= {self.atol:g} + {self.rtol:g}*|numeric|)"]
        lines.append(f"{'input':>5}  {'shape':<14}{'checked':>8}  {'max abs err':>11}  {'max rel err':>11}  result")
        for r in self.inputs:
            verdict = "ok" if r.passed else ("KINK" if r.kinks and not r.failures else "FAIL")
            lines.append(
                f"{r.position:>5}  {str(r.shape):<14}{r.checked:>8}  {r.max_abs_error:>11.3e}  {r.max_rel_error:>11.3e}  {verdict}"
            )
            for index, analytic, numeric in r.failures[:3]:
                not_finite = "" if np.isfinite(analytic) and np.isfinite(numeric) else " (not a finite number)"
                lines.append(f"       at {index}: autodiff {analytic:.6g}, finite differences {numeric:.6g}{not_finite}")
            for kink in r.kinks[:3]:
                lines.append(
                    f"       at {kink.index}: on a kink (left slope {kink.left_slope:.6g}, right slope "
                    f"{kink.right_slope:.6g}, autodiff chose {kink.autodiff:.6g}); move the input off the kink "
                    "(e.g. away from relu's 0 or from ties in max) to check it"
                )
        lines.append("PASSED" if self.passed else "NOT PASSED")
        return "\n".join(lines)


def gradcheck_report(
    f: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_coords: int | None = None,
    seed: int = 0,
) -> GradcheckReport:
    """Compare autodiff's gradient of ``f`` with central finite differences, input by input.

    Args:
        f: a function of the inputs that returns a Tensor (of any shape).
        *inputs: the arguments of ``f``. Tensors with ``requires_grad=True`` are checked (on float64
            copies); anything else (labels, constants) is passed through unchanged.
        eps: the finite-difference step.
        atol, rtol: a coordinate passes when ``|autodiff - numeric| <= atol + rtol * |numeric|``.
        max_coords: check at most this many random coordinates per input (all of them when None).
        seed: seeds the output weighting ``R`` and the choice of coordinates.

    Returns:
        A :class:`GradcheckReport`; ``print`` it for a table.
    """
    for name, value, smallest in (("eps", eps, "positive"), ("atol", atol, "non-negative"), ("rtol", rtol, "non-negative")):
        valid = isinstance(value, (int, float)) and math.isfinite(value) and (value > 0 if name == "eps" else value >= 0)
        if not valid:
            raise ValueError(
                f"gradcheck: {name} must be a {smallest} finite number, got {value!r}"
                + (" (the finite-difference step; 1e-6 suits float64)" if name == "eps" else "")
            )
    if max_coords is not None and (isinstance(max_coords, bool) or not isinstance(max_coords, (int, np.integer))
                                   or max_coords < 1):
        raise ValueError(f"gradcheck: max_coords must be a positive integer (how many coordinates to check per "
                         f"input) or None for all of them, got {max_coords!r}; 0 would check nothing")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"gradcheck: seed must be a whole number 0 or more, got {seed!r}")
    rng = np.random.default_rng(seed)
    args = [
        Tensor(x.data.astype(np.float64), requires_grad=True) if isinstance(x, Tensor) and x.requires_grad else x
        for x in inputs
    ]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is no gradient to check")

    out = f(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
    weights = np.ones(()) if out.data.size == 1 else rng.standard_normal(out.shape)

    def scalar(*call_args: Any) -> float:
        with no_grad():
            return float(np.sum(f(*call_args).data * weights))

    (out * Tensor(weights.reshape(out.shape))).sum().backward()
    base = scalar(*args)

    reports = []
    for position in checked:
        x = args[position]
        analytic = x.grad if x.grad is not None else np.zeros_like(x.data)
        report = InputReport(position=position, shape=x.shape)
        flat_indices = np.arange(x.data.size)
        if max_coords is not None and x.data.size > max_coords:
            flat_indices = rng.choice(x.data.size, size=max_coords, replace=False)
        for flat in flat_indices:
            index = np.unravel_index(flat, x.shape) if x.ndim else ()
            index = tuple(int(i) for i in index)
            original = x.data[index]
            x.data[index] = original + eps
            plus = scalar(*args)
            x.data[index] = original - eps
            minus = scalar(*args)
            x.data[index] = original
            numeric = (plus - minus) / (2 * eps)
            left, right = (base - minus) / eps, (plus - base) / eps
            a = float(analytic[index])
            report.checked += 1
            if not (math.isfinite(a) and math.isfinite(numeric)):  # NaN compares False with everything
                report.failures.append((index, a, numeric))
                report.max_abs_error = report.max_rel_error = math.inf
                report.worst_abs_index = report.worst_rel_index = index
                continue
            # One-sided slopes differ by O(eps) where s is smooth, by a jump on a kink.
            if abs(right - left) > 10 * (atol + rtol * max(abs(left), abs(right))) + 1e3 * eps:
                report.kinks.append(Kink(index, left, right, a))
                continue
            abs_error = abs(a - numeric)
            rel_error = abs_error / max(abs(a), abs(numeric), 1e-12)
            if abs_error > report.max_abs_error or report.worst_abs_index is None:
                report.max_abs_error, report.worst_abs_index = abs_error, index
            if rel_error > report.max_rel_error or report.worst_rel_index is None:
                report.max_rel_error, report.worst_rel_index = rel_error, index
            if abs_error > atol + rtol * abs(numeric):
                report.failures.append((index, a, numeric))
        reports.append(report)
    return GradcheckReport(reports, eps=eps, atol=atol, rtol=rtol)


def gradcheck(
    f: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_coords: int | None = None,
    seed: int = 0,
) -> bool:
    """True when autodiff's gradient of ``f`` matches central finite differences at every checked coordinate.

    Same arguments as :func:`gradcheck_report`. When it fails, or an input sits on a kink, a warning
    carries the report's table (call :func:`gradcheck_report` to get it as an object).

    >>> from tinygrad_edu import Tensor, gradcheck
    >>> x = Tensor([0.5, -1.5, 2.0], requires_grad=True)
    >>> gradcheck(lambda x: (x * x).exp().sum(), x)
    True
    """
    report = gradcheck_report(f, *inputs, eps=eps, atol=atol, rtol=rtol, max_coords=max_coords, seed=seed)
    if not report.passed:
        warnings.warn("\n" + str(report), stacklevel=2)
    return report.passed

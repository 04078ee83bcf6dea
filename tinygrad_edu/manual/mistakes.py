"""The classic mistakes of hand-derived backprop, as wrong lines swapped into the seven correct ones.

:data:`BACKWARD_STEPS` writes :func:`tinygrad_edu.manual.backward` as seven separate steps, so that a
:class:`Bug` can replace exactly one of them; :data:`BUGS` is the catalogue (``tinygrad-edu compare
--list-bugs``), and :func:`student_backward` runs the steps with a bug swapped in. Both the comparison
(:mod:`tinygrad_edu.manual.compare`) and the exercises' diagnosis import it from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu.manual import network as manual


# -- the seven steps ------------------------------------------------------------------------------------------
# manual.backward's seven lines as separate steps, so that a bug can replace exactly one of them. Each step
# reads the cache, parameters, one-hot labels Y, batch size N and the gradients computed before it from ``s``.
# (A test checks that these steps give exactly manual.backward's numbers.)
Step = Callable[[SimpleNamespace], np.ndarray]
BACKWARD_STEPS: dict[str, Step] = {
    "dZ2": lambda s: (s.P - s.Y) / s.N,
    "dW2": lambda s: s.A1.T @ s.dZ2,
    "db2": lambda s: s.dZ2.sum(axis=0),
    "dA1": lambda s: s.dZ2 @ s.W2.T,
    "dZ1": lambda s: s.dA1 * (s.Z1 > 0),
    "dW1": lambda s: s.X.T @ s.dZ1,
    "db1": lambda s: s.dZ1.sum(axis=0),
}


@dataclass(frozen=True)
class Bug:
    """A mistake students make in hand-derived backprop: the wrong line(s) and why they are wrong."""

    name: str
    summary: str  # one line, for --list-bugs
    explanation: str
    steps: dict[str, Step] = field(repr=False)  # replaces these entries of BACKWARD_STEPS


# --8<-- [start:bugs]
BUGS: dict[str, Bug] = {
    bug.name: bug
    for bug in (
        Bug(
            "forgot-1/N",
            "dZ2 = P - Y: the 1/N of the batch mean is missing",
            "The loss is the mean over the batch, so every gradient is N times too large. "
            "At batch size 1 the mistake is invisible (N = 1).",
            {"dZ2": lambda s: s.P - s.Y},
        ),
        Bug(
            "relu-mask-z1",
            "dZ1 = dA1 * Z1: multiplies by Z1 itself instead of the mask 1[Z1 > 0]",
            "ReLU's derivative is 1 where Z1 > 0 and 0 elsewhere; multiplying by Z1 scales each gradient by "
            "the pre-activation and flips its sign where Z1 < 0. (dA1 * (A1 > 0) would be right: A1 > 0 "
            "exactly where Z1 > 0.)",
            {"dZ1": lambda s: s.dA1 * s.Z1},
        ),
        Bug(
            "relu-mask-forgotten",
            "dZ1 = dA1: goes back through ReLU as if it were the identity",
            "Units with Z1 <= 0 output a constant 0, so no gradient may flow back through them; without the "
            "mask 1[Z1 > 0] they receive one.",
            {"dZ1": lambda s: s.dA1},
        ),
        Bug(
            "missing-transpose",
            "dA1 = dZ2 @ W2: the transpose of W2 is missing",
            "dZ2 (N, 10) @ W2 (H, 10) fails in NumPy unless H = 10; with --hidden 10 it runs silently and "
            "gives wrong numbers, which is why shape checks alone do not catch it.",
            {"dA1": lambda s: s.dZ2 @ s.W2},
        ),
        Bug(
            "softmax-elementwise",
            "dZ2 = dP * P * (1 - P): softmax differentiated elementwise instead of P - Y",
            "Each softmax output depends on every logit of its row; keeping only the diagonal P(1 - P) of the "
            "Jacobian drops the -P_i P_j terms. With dP = -Y / (N P) the correct chain gives (P - Y) / N.",
            {"dZ2": lambda s: (-s.Y / (s.N * s.P)) * s.P * (1 - s.P)},
        ),
        Bug(
            "bias-not-summed",
            "db2 = dZ2, db1 = dZ1: one bias gradient per example, not summed over the batch",
            "Each bias is added to every row of the batch, so its gradient is the sum over the rows: "
            "shape (10,) and (H,), not (N, 10) and (N, H). A (1, 10) gradient at batch size 1 is still the wrong "
            "shape (it would broadcast b2 into a matrix in an update).",
            {"db2": lambda s: s.dZ2, "db1": lambda s: s.dZ1},
        ),
        Bug(
            "bias-averaged",
            "db2 = mean of dZ2, db1 = mean of dZ1: divides by N a second time",
            "dZ2 already carries the 1/N of the loss's mean; averaging the bias gradient divides by N again. "
            "Invisible at batch size 1.",
            {"db2": lambda s: s.dZ2.mean(axis=0), "db1": lambda s: s.dZ1.mean(axis=0)},
        ),
    )
}
# --8<-- [end:bugs]


def student_backward(
    params: manual.Params, cache: dict[str, Any], y: Any, bug: str | Bug | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Backward's seven steps with a bug's wrong line(s) swapped in.

    Args:
        params, cache, y: as for :func:`tinygrad_edu.manual.backward`.
        bug: the name of an entry of ``BUGS``, a :class:`Bug` of your own, or None for the correct steps.

    Returns:
        ``(grads, errors)``: the gradients that could be computed, and for each one that could not (a
        shape mismatch, or a missing input because an earlier step failed) the reason.
    """
    steps = dict(BACKWARD_STEPS)
    if bug is not None:
        steps.update(get_bug(bug).steps)
    _, y = manual.check_inputs("student_backward", params, None, y, batch_size=len(cache["X"]))
    Y = F.one_hot(y, manual.N_CLASSES, cache["P"].dtype)
    s = SimpleNamespace(**cache, W1=params["W1"], W2=params["W2"], Y=Y, N=len(y))
    grads: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    for name, step in steps.items():
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a bug may divide by 0
                grads[name] = step(s)
        except AttributeError as missing:  # an input of this step failed earlier
            errors[name] = f"not computed: needs {missing.name}, which failed"
        except ValueError as error:  # NumPy refuses the shapes
            errors[name] = f"NumPy refused this step: {error}"
        else:
            setattr(s, name, grads[name])
    return grads, errors


def get_bug(name: str | Bug) -> Bug:
    if isinstance(name, Bug):
        return name
    if name not in BUGS:
        raise manual.InputError(f"unknown bug {name!r}; choose one of: {', '.join(BUGS)} (see --list-bugs)")
    return BUGS[name]

r"""Hand-derived gradients vs autodiff vs finite differences, for the 784-hidden-10 network.

Three independent ways to get :math:`\partial L / \partial T` for every intermediate ``T`` (``Z2``, ``A1``,
``Z1``) and every parameter (``W2``, ``b2``, ``W1``, ``b1``):

1. **by hand**: :func:`tinygrad_edu.manual.backward`, seven lines of NumPy, one per formula;
2. **autodiff**: the same network written with :class:`~tinygrad_edu.Tensor` from the same parameter
   values, intermediates kept with ``retain_grad()``, one ``loss.backward()``;
3. **central finite differences** in float64 on a few coordinates per tensor:
   :math:`(L(T + \epsilon e_i) - L(T - \epsilon e_i)) / 2\epsilon`, at coordinates whose move by
   :math:`\pm\epsilon` flips no ReLU (across a kink the difference quotient measures neither slope).

:func:`compare_gradients` returns one :class:`GradientRow` per gradient; :func:`format_table` prints them.
``BUGS`` holds mistakes students make when deriving backprop by hand; ``compare_gradients(..., bug=NAME)``
swaps one in, and the table shows which gradients it breaks. The ``tinygrad-edu compare`` command runs it all.

Errors are measured relative to the size of the reference gradient, so they mean the same thing for a
gradient of size 1 and one of size 1e-4::

    rel err = max |manual - autodiff| / max |autodiff|
    FD err  = max over the checked coordinates i of |g[i] - fd[i]| / max(max |autodiff|, max |fd|)
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu import manual
from tinygrad_edu.cli import MNIST_TRAIN_SIZE, hidden_units, input_folder, int_range, positive_int, seed
from tinygrad_edu.errors import TinygradEduError
from tinygrad_edu.tensor import Tensor

# Pass/fail thresholds per dtype: manual vs autodiff, and each of them vs finite differences.
# float64 agrees to rounding (~1e-16); float32 rounding (eps 1.2e-7) grows with the sums in the matmuls.
REL_TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}
FD_TOLERANCE = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-5}
FD_EPSILON = 1e-6
INTERMEDIATES = {"dZ2": "Z2", "dA1": "A1", "dZ1": "Z1"}  # gradient name -> the intermediate it differentiates


# -- autodiff ---------------------------------------------------------------------------------------------
def autodiff_gradients(params: manual.Params, x: Any, y: Any) -> tuple[float, dict[str, np.ndarray]]:
    """The same network written with Tensor, from the same parameter values; autodiff derives the gradients.

    Args:
        params: ``W1, b1, W2, b2`` (see :func:`tinygrad_edu.manual.init_params`); their dtype is kept.
        x: images ``(N, 784)``.
        y: integer labels ``(N,)`` in 0..9.

    Returns:
        ``(loss, grads)`` with ``grads`` keyed like :func:`tinygrad_edu.manual.backward`'s result.
    """
    X, y = manual.check_inputs("autodiff_gradients", params, x, y)
    # --8<-- [start:autodiff]
    W1 = Tensor(params["W1"], requires_grad=True, name="W1")
    b1 = Tensor(params["b1"], requires_grad=True, name="b1")
    W2 = Tensor(params["W2"], requires_grad=True, name="W2")
    b2 = Tensor(params["b2"], requires_grad=True, name="b2")
    Z1 = (Tensor(X, name="X") @ W1 + b1).retain_grad()  # keep dL/dZ1 after backward, to compare it
    A1 = Z1.relu().retain_grad()
    Z2 = (A1 @ W2 + b2).retain_grad()
    loss = F.cross_entropy(Z2, y)  # softmax and the mean negative log-likelihood, fused
    loss.backward()
    # --8<-- [end:autodiff]
    grads = {
        "dZ2": Z2.grad, "dW2": W2.grad, "db2": b2.grad, "dA1": A1.grad, "dZ1": Z1.grad, "dW1": W1.grad, "db1": b1.grad
    }
    return loss.item(), grads


# -- the bug hunt ------------------------------------------------------------------------------------------
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
        steps.update(_get_bug(bug).steps)
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


def _get_bug(name: str | Bug) -> Bug:
    if isinstance(name, Bug):
        return name
    if name not in BUGS:
        raise manual.InputError(f"unknown bug {name!r}; choose one of: {', '.join(BUGS)} (see --list-bugs)")
    return BUGS[name]


# -- finite differences -----------------------------------------------------------------------------------
def _loss_after(name: str, value: np.ndarray, params: manual.Params, y: np.ndarray) -> float:
    """The loss computed from an intermediate onwards (the rest of the forward pass)."""
    if name == "Z1":
        value, name = manual.relu(value), "A1"
    if name == "A1":
        value, name = value @ params["W2"] + params["b2"], "Z2"
    return float(manual.softmax_cross_entropy(value, y)[1])


def _finite_differences(
    target: str, params64: manual.Params, cache64: dict[str, Any], y: np.ndarray, indices: np.ndarray
) -> np.ndarray:
    """Central differences of the float64 loss with respect to ``target`` (a parameter or an intermediate)."""
    if target in manual.PARAM_NAMES:
        params = {**params64, target: params64[target].copy()}
        loss = functools.partial(_loss_of_params, params, cache64["X"], y)
        return np.array([_central_difference(loss, params[target].reshape(-1), i) for i in indices])
    # Row n of an intermediate only enters example n's term of the mean L = (1/N) sum_n L_n, so
    # dL/dT[n, k] = (1/N) dL_n/dT[n, k]: differencing L_n alone keeps rounding error as small as the gradient.
    n_examples, width = cache64[target].shape
    estimates = []
    for i in indices:
        n, k = divmod(int(i), width)
        row = cache64[target][n : n + 1].copy()
        loss_n = functools.partial(_loss_after, target, row, params64, y[n : n + 1])
        estimates.append(_central_difference(loss_n, row.reshape(-1), k) / n_examples)
    return np.array(estimates)


def _loss_of_params(params: manual.Params, X: np.ndarray, y: np.ndarray) -> float:
    return float(manual.forward(params, X, y)["loss"])


def _central_difference(loss: Callable[[], float], flat: np.ndarray, i: int) -> float:
    """``(loss(x + eps e_i) - loss(x - eps e_i)) / 2 eps``, moving ``flat[i]`` in place and putting it back."""
    original = flat[i]
    flat[i] = original + FD_EPSILON
    up = float(loss())
    flat[i] = original - FD_EPSILON
    down = float(loss())
    flat[i] = original
    return (up - down) / (2 * FD_EPSILON)


def _off_kinks(target: str, flat_index: int, cache64: dict[str, Any]) -> bool:
    """True when moving this coordinate by +-FD_EPSILON flips no ReLU (where the loss has a kink).

    Across a kink the two one-sided slopes differ and a central difference lands between them, so such
    coordinates are left out. Only Z1, b1 and W1 feed a ReLU; the rest of the network is smooth.
    """
    Z1 = cache64["Z1"]
    if target == "Z1":
        return bool(abs(Z1.reshape(-1)[flat_index]) > FD_EPSILON)
    if target == "b1":
        return bool(np.abs(Z1[:, flat_index]).min() > FD_EPSILON)
    if target == "W1":
        row, column = np.unravel_index(flat_index, (manual.N_FEATURES, Z1.shape[1]))
        return bool(np.all(np.abs(Z1[:, column]) > FD_EPSILON * np.abs(cache64["X"][:, row])))
    return True


# -- the comparison ---------------------------------------------------------------------------------------
@dataclass
class GradientRow:
    """One gradient compared three ways.

    Attributes:
        name: ``dZ2``, ``dW2``, ... (``dT`` is dL/dT).
        kind: ``"intermediate"`` or ``"parameter"``.
        shape: the autodiff gradient's shape (the shape it must have).
        manual_shape: the hand-derived gradient's shape, None when it could not be computed.
        max_abs_diff: ``max |manual - autodiff|``.
        rel_error: ``max |manual - autodiff| / max |autodiff|``.
        cosine: cosine similarity of manual and autodiff, as flat vectors (1 = same direction).
        fd_error: the manual gradient's error against finite differences (see the module docstring).
        fd_error_autodiff: the same for autodiff.
        fd_points: how many coordinates finite differences checked.
        passed: within the tolerances on all counts.
        problem: why the row failed ("" when it passed).
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    manual_shape: tuple[int, ...] | None
    max_abs_diff: float
    rel_error: float
    cosine: float
    fd_error: float
    fd_error_autodiff: float
    fd_points: int
    passed: bool
    problem: str = ""


@dataclass
class Comparison:
    """The result of :func:`compare_gradients`: the rows, the losses and the tolerances they were held to."""

    rows: list[GradientRow]
    loss_manual: float
    loss_autodiff: float
    dtype: np.dtype
    hidden: int
    batch_size: int
    rel_tol: float
    fd_tol: float
    fd_points: int
    bug: str | None = None
    source: str | None = None  # where the student's backward came from, when one was compared
    lines: list[Any] | None = None  # with a student's backward: each line checked on its own (exercises.report.ItemResult)

    @property
    def loss_ok(self) -> bool:
        return abs(self.loss_manual - self.loss_autodiff) <= self.rel_tol * max(abs(self.loss_autodiff), 1.0)

    @property
    def passed_chain(self) -> bool:
        """The gradients as computed (each from the ones before it) all agree, and so do the losses."""
        return self.loss_ok and all(row.passed for row in self.rows)

    @property
    def passed(self) -> bool:
        return self.passed_chain and all(line.passed for line in self.lines or [])

    @property
    def failed(self) -> list[str]:
        """Names of the rows that failed."""
        return [row.name for row in self.rows if not row.passed]

    def __iter__(self) -> Iterator[GradientRow]:
        return iter(self.rows)

    def __getitem__(self, name: str) -> GradientRow:
        return next(row for row in self.rows if row.name == name)

    def __str__(self) -> str:
        return format_table(self)


def compare_gradients(
    params: manual.Params,
    x: Any,
    y: Any,
    *,
    bug: str | Bug | None = None,
    backward: Callable[..., dict[str, Any]] | None = None,
    fd_points: int = 5,
    seed: int = 0,
    rel_tol: float | None = None,
    fd_tol: float | None = None,
) -> Comparison:
    """Compare the hand-derived gradients with autodiff and with finite differences, gradient by gradient.

    Args:
        params: ``W1, b1, W2, b2``; their dtype (float32 or float64) is the dtype of the comparison.
        x: images ``(N, 784)``.
        y: integer labels ``(N,)`` in 0..9.
        bug: a bug to swap into the hand-derived backward (a name from ``BUGS`` or a :class:`Bug`), or None.
        backward: your own backward instead of :func:`tinygrad_edu.manual.backward`, with its signature
            ``backward(params, cache, y)``, returning a dict of gradients named as in ``manual.GRAD_NAMES``
            (those it leaves out are reported "not written yet"). Each of its lines is also checked on its
            own, fed the correct upstream gradients, and a failing line is diagnosed (``.lines``).
        fd_points: random coordinates per tensor checked by finite differences (in float64). The coordinate
            where manual and autodiff disagree most is checked too, so finite differences settle who is right.
        seed: picks those coordinates.
        rel_tol: largest accepted ``rel err`` (default: 1e-10 in float64, 1e-5 in float32).
        fd_tol: largest accepted ``FD err`` (default: 1e-6 in float64, 1e-5 in float32).

    Returns:
        A :class:`Comparison`; ``print`` it for the table, ``.passed`` and ``.failed`` for the verdict.

    >>> import numpy as np
    >>> from tinygrad_edu import manual
    >>> params = manual.init_params(hidden=10, dtype=np.float64)
    >>> x, y = np.random.default_rng(0).random((4, 784)), np.array([3, 1, 4, 1])
    >>> compare_gradients(params, x, y).passed
    True
    >>> compare_gradients(params, x, y, bug="relu-mask-z1").failed
    ['dZ1', 'dW1', 'db1']
    """
    X, y = manual.check_inputs("compare_gradients", params, x, y)
    if bug is not None and backward is not None:
        raise manual.InputError("compare_gradients: give bug or backward, not both")
    bug = None if bug is None else _get_bug(bug)
    dtype = X.dtype
    rel_tol = REL_TOLERANCE[dtype] if rel_tol is None else rel_tol
    fd_tol = FD_TOLERANCE[dtype] if fd_tol is None else fd_tol

    cache = manual.forward(params, X, y)
    lines = None
    if backward is not None:
        from tinygrad_edu.exercises.checks.network_backprop import student_gradients

        hand, errors, lines = student_gradients(backward, params, cache, y)
    elif bug is None:
        hand, errors = manual.backward(params, cache, y), {}
    else:
        hand, errors = student_backward(params, cache, y, bug)
    loss_autodiff, auto = autodiff_gradients(params, X, y)

    params64 = {name: array.astype(np.float64) for name, array in params.items()}
    cache64 = manual.forward(params64, X.astype(np.float64), y)
    rng = np.random.default_rng(seed)
    rows = []
    for name in manual.GRAD_NAMES:
        reference = auto[name]
        target = INTERMEDIATES.get(name, name[1:])
        smooth = (int(i) for i in rng.permutation(reference.size) if _off_kinks(target, int(i), cache64))
        indices = np.array(list(itertools.islice(smooth, fd_points)), dtype=np.int64)
        m = hand.get(name)
        if m is not None and m.shape == reference.shape and not np.array_equal(m, reference):
            worst = int(np.argmax(np.abs(m.astype(np.float64) - reference).reshape(-1)))
            if _off_kinks(target, worst, cache64):
                indices = np.unique(np.append(indices, worst))
        fd = _finite_differences(target, params64, cache64, y, indices)
        rows.append(_row(name, m, reference, fd, indices, rel_tol, fd_tol, errors.get(name, "not computed")))
    return Comparison(
        rows,
        loss_manual=float(cache["loss"]),
        loss_autodiff=float(loss_autodiff),
        dtype=dtype,
        hidden=params["b1"].shape[0],
        batch_size=len(y),
        rel_tol=rel_tol,
        fd_tol=fd_tol,
        fd_points=fd_points,
        bug=None if bug is None else bug.name,
        source=None if backward is None else _describe(backward),
        lines=lines,
    )


def _describe(function: Callable[..., Any]) -> str:
    code = getattr(function, "__code__", None)
    name = getattr(function, "__name__", "backward")
    return f"{name} in {code.co_filename}" if code is not None else name


def _row(
    name: str,
    hand: np.ndarray | None,
    auto: np.ndarray,
    fd: np.ndarray,
    indices: np.ndarray,
    rel_tol: float,
    fd_tol: float,
    error: str,
) -> GradientRow:
    """Measure one gradient: manual vs autodiff on the whole tensor, both vs finite differences at ``indices``.

    ``hand`` is None when the step failed (``error`` says why); a hand gradient of the wrong shape fails too.
    """
    a = auto.astype(np.float64).reshape(-1)
    scale = max(float(np.abs(a).max()), float(np.abs(fd).max()), np.finfo(np.float64).tiny)
    fd_error_autodiff = float(np.abs(a[indices] - fd).max()) / scale
    kind = "intermediate" if name in INTERMEDIATES else "parameter"
    nan = float("nan")
    if hand is None or hand.shape != auto.shape:
        problem = error if hand is None else f"shape {hand.shape}, expected {auto.shape}"
        shape = None if hand is None else hand.shape
        return GradientRow(
            name, kind, auto.shape, shape, nan, nan, nan, nan, fd_error_autodiff, len(indices), False, problem
        )
    if hand.dtype == np.float32:  # the one precision rule of the exercises (diagnose.DTYPE_RULE)
        rel_tol, fd_tol = max(rel_tol, REL_TOLERANCE[hand.dtype]), max(fd_tol, FD_TOLERANCE[hand.dtype])
    m = hand.astype(np.float64).reshape(-1)
    max_abs = float(np.abs(m - a).max())
    a_max = float(np.abs(a).max())
    rel_error = max_abs / a_max if a_max > 0 else (0.0 if max_abs == 0 else float("inf"))
    norms = float(np.linalg.norm(m) * np.linalg.norm(a))
    cosine = float(m @ a) / norms if norms > 0 else (1.0 if max_abs == 0 else 0.0)
    fd_error = float(np.abs(m[indices] - fd).max()) / scale
    problems = []
    if not rel_error <= rel_tol:  # written so that NaN fails
        problems.append(f"manual differs from autodiff (rel err {rel_error:.1e} > {rel_tol:.0e})")
    if not fd_error <= fd_tol:
        problems.append(f"manual differs from finite differences ({fd_error:.1e} > {fd_tol:.0e})")
    if not fd_error_autodiff <= fd_tol:
        problems.append(f"autodiff differs from finite differences ({fd_error_autodiff:.1e} > {fd_tol:.0e})")
    return GradientRow(
        name, kind, auto.shape, hand.shape, max_abs, rel_error, cosine, fd_error, fd_error_autodiff, len(indices),
        passed=not problems, problem="; ".join(problems),
    )


# -- the table --------------------------------------------------------------------------------------------
_COLORS = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}


def use_color(stream: Any = sys.stdout, choice: str = "auto") -> bool:
    """Colour for a terminal: never when NO_COLOR is set (https://no-color.org) or ``stream`` is not a tty."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def format_table(comparison: Comparison, color: bool = False) -> str:
    """The comparison as an aligned text table (with ANSI colours when ``color``)."""

    def paint(text: str, *styles: str) -> str:
        if not color or not styles:
            return text
        return "\033[" + ";".join(_COLORS[s] for s in styles) + "m" + text + "\033[0m"

    def num(value: float, fmt: str = ".1e") -> str:
        return "-" if np.isnan(value) else format(value, fmt)

    c = comparison
    header = ["gradient", "shape", "max|m-a|", "rel err", "cosine", "FD manual", "FD autodiff", "result"]
    body = []
    for row in c.rows:
        shape = str(row.shape) if row.manual_shape in (None, row.shape) else f"{row.manual_shape}!"
        body.append(
            [
                row.name,
                shape,
                num(row.max_abs_diff),
                num(row.rel_error),
                num(row.cosine, ".6f"),
                num(row.fd_error),
                num(row.fd_error_autodiff),
                "ok" if row.passed else "FAIL",
            ]
        )
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    align_right = {2, 3, 4, 5, 6}

    def line(cells: list[str]) -> str:
        cells = [cell.rjust(w) if i in align_right else cell.ljust(w) for i, (cell, w) in enumerate(zip(cells, widths))]
        return "  ".join(cells).rstrip()

    lines = [paint(line(header), "bold")]
    isolated = []
    if c.lines is not None:
        from tinygrad_edu.exercises.report import format_items

        isolated = ["Each line on its own, fed the correct upstream gradients:", *format_items(c.lines), "",
                    "In the chain (each of your gradients computed from yours before it):"]
    for row, cells in zip(c.rows, body):
        text = line(cells)
        if row.passed:
            lines.append(text[: -len("ok")] + paint("ok", "green") if text.endswith("ok") else text)
        else:
            lines.append(paint(text, "red"))
    loss_diff = abs(c.loss_manual - c.loss_autodiff)
    loss_line = f"loss: manual {c.loss_manual:.12g}, autodiff {c.loss_autodiff:.12g} (|diff| {loss_diff:.1e})"
    out = [*isolated, loss_line if c.loss_ok else paint(loss_line + "  FAIL", "red"), "", *lines, ""]
    for row in c.rows:
        if row.problem and (row.manual_shape != row.shape or not row.fd_error_autodiff <= c.fd_tol):
            out.append(paint(_wrap(f"{row.name}: {row.problem}"), "red"))  # what the numbers cannot say
    hand = "manual.backward" if c.bug is None else f"backward with the bug {c.bug!r}"
    if c.source is not None:
        hand = f"your {c.source}"
    if out[-1]:
        out.append("")
    legend = [
        f"m = hand-derived ({hand}), a = autodiff; rel err = max|m-a| / max|a|; cosine of m and a",
        f"FD = error against central differences (float64, eps {FD_EPSILON:.0e}, relative to max|a|) at "
        f"{c.fd_points} random coordinates per tensor, off ReLU kinks, and where m and a differ most",
        f"pass ({c.dtype}): rel err <= {c.rel_tol:.0e}, FD manual and FD autodiff <= {c.fd_tol:.0e}",
    ]
    out.extend(paint(_wrap(text), "dim") for text in legend)
    failed = c.failed
    failed_lines = [line.item for line in c.lines or [] if not line.passed]
    if c.passed:
        verdict = f"all {len(c.rows)} gradients agree: the hand-derived backprop matches autodiff"
        out.append(paint(verdict, "green", "bold"))
    elif c.lines is not None:
        verdict = (f"{len(failed_lines)} of {len(c.lines)} lines FAIL on their own: {', '.join(failed_lines) or 'none'}; "
                   f"in the chain {len(failed)} of {len(c.rows)} FAIL: {', '.join(failed) or 'none'}")
        out.append(paint(_wrap(verdict), "red", "bold"))
    else:
        verdict = f"{len(failed)} of {len(c.rows)} gradients FAIL: {', '.join(failed) or 'loss'}"
        out.append(paint(verdict, "red", "bold"))
    return "\n".join(out)


def _wrap(text: str, indent: str = "") -> str:
    """Fold a long line for an ordinary terminal; continuation lines are indented."""
    return textwrap.fill(
        text, width=100, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False,
        break_long_words=False,  # never split a path: it must stay copyable
    )


# -- the command ------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tinygrad-edu compare``."""
    parser.add_argument("--hidden", type=hidden_units, default=128, metavar="H", help="hidden units (default 128; try 10)")
    parser.add_argument("--batch-size", type=int_range(1, MNIST_TRAIN_SIZE), default=64, metavar="N",
                        help=f"examples per batch, 1..{MNIST_TRAIN_SIZE} (default 64)")
    parser.add_argument(
        "--dtype",
        choices=["float32", "float64"],
        default="float64",
        help="precision of the weights and gradients (default float64; float32 is what training uses)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="seeds the weights, the batch and the checked coordinates")
    parser.add_argument(
        "--data-dir",
        type=input_folder,
        metavar="DIR",
        help="folder with the MNIST files, to compare on a real batch (default: the data folder, $TINYGRAD_EDU_DATA "
        "or the cache, if MNIST is already there; else random inputs of MNIST's shape; nothing is downloaded)",
    )
    parser.add_argument(
        "--fd-points",
        type=positive_int,
        default=5,
        metavar="K",
        help="random coordinates per tensor for finite differences (default 5)",
    )
    parser.add_argument(
        "--inject-bug",
        metavar="NAME",
        choices=list(BUGS),
        help="swap a known student mistake into the hand-derived backward (see --list-bugs)",
    )
    parser.add_argument(
        "--backward",
        metavar="FILE[:FUNCTION]",
        help="compare YOUR backward instead: FUNCTION (default backward) of the Python file FILE, with manual.backward's "
        "signature backward(params, cache, y) returning a dict of dZ2 dW2 db2 dA1 dZ1 dW1 db1; each line is also "
        "checked on its own and a failing one is diagnosed",
    )
    parser.add_argument("--list-bugs", action="store_true", help="list the bugs --inject-bug knows, and exit")
    parser.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour the table (auto: on a terminal, unless NO_COLOR is set)",
    )


def _batch(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str]:
    """A batch for the comparison: real MNIST if it is at hand, else random inputs of MNIST's shape.

    MNIST is at hand when ``--data-dir`` is given (it must then hold the files), or when the loader's default
    folder (``$TINYGRAD_EDU_DATA``, else the cache folder) already holds them. Nothing is downloaded.
    """
    from tinygrad_edu.data import MnistNotFoundError, load_mnist, resolve_data_dir

    rng = np.random.default_rng([args.seed, 1])  # a stream of its own, apart from the weights'
    try:
        mnist = load_mnist(args.data_dir, download=False)
    except MnistNotFoundError:
        if args.data_dir is not None:
            raise
        x = rng.random((args.batch_size, manual.N_FEATURES))
        y = rng.integers(0, manual.N_CLASSES, size=args.batch_size)
        return x, y, (
            f"random pixels in [0, 1) and random labels, MNIST's shape {x.shape} "
            f"(no MNIST in {resolve_data_dir()}; --data-dir DIR compares on a real batch)"
        )
    total = len(mnist.train_labels)
    if args.batch_size > total:
        raise manual.InputError(
            f"compare: --batch-size {args.batch_size} is larger than MNIST's {total} training images"
        )
    rows = np.sort(rng.choice(total, size=args.batch_size, replace=False))
    return mnist.train_images[rows], mnist.train_labels[rows], (
        f"a real MNIST batch, {args.batch_size} training images picked at random (seed {args.seed}) from {mnist.source}"
    )


def run(args: argparse.Namespace) -> int:
    """``tinygrad-edu compare``: print the table; exit 1 when a gradient fails, 2 on bad input."""
    if args.list_bugs:
        width = max(map(len, BUGS))
        print("Bugs for --inject-bug (each is a mistake students make deriving backprop by hand):")
        for bug in BUGS.values():
            print(f"  {bug.name:<{width}}  {bug.summary}")
        return 0
    color = use_color(sys.stdout, args.color)
    backward = None
    if args.backward is not None:
        if args.inject_bug:
            print("tinygrad-edu compare: error: give --backward or --inject-bug, not both", file=sys.stderr)
            return 2
        backward, code = _load_backward(args.backward)
        if backward is None:
            return code
    try:
        x, y, source = _batch(args)
        params = manual.init_params(args.hidden, seed=args.seed, dtype=np.dtype(args.dtype))
        comparison = compare_gradients(
            params, x, y, bug=args.inject_bug, backward=backward, fd_points=args.fd_points, seed=args.seed
        )
    except (TinygradEduError, OSError) as error:
        print(f"tinygrad-edu compare: error: {error}", file=sys.stderr)
        return 2
    title = "Hand-derived backprop vs autodiff vs finite differences"
    print(f"{title}\nnetwork 784-{args.hidden}-10, batch {args.batch_size}, {args.dtype}, seed {args.seed}")
    print(_wrap(f"input: {source}"))
    if args.inject_bug:
        bug = BUGS[args.inject_bug]
        print(_wrap(f"injected bug {bug.name!r}: {bug.summary}"))
        print(_wrap(bug.explanation, indent="  "))
    if backward is not None:
        print(_wrap(f"your backward: {comparison.source}"))
    print()
    print(format_table(comparison, color=color))
    return 0 if comparison.passed else 1


def _load_backward(spec: str) -> tuple[Callable[..., Any] | None, int]:
    """The student's function from ``FILE[:FUNCTION]``; on failure None and the exit code, the reason printed.

    A file that does not exist or a function it lacks is bad usage (2); a file that fails to load (their syntax
    error, their exception) is reported against their line (1).
    """
    from tinygrad_edu.exercises.student import StudentFileError, load_file

    path, _, function = spec.rpartition(":")
    if not path or not function.isidentifier():  # no ":FUNCTION" (a colon may be part of the path)
        path, function = spec, "backward"
    if not os.path.isfile(path):
        print(f"tinygrad-edu compare: error: --backward {path}: no such file "
              "(give the path of your Python file, e.g. --backward my_backward.py:backward)", file=sys.stderr)
        return None, 2
    try:
        module = load_file(path)
    except StudentFileError as error:
        print(f"tinygrad-edu compare: your file does not load: {error}", file=sys.stderr)
        return None, 1
    found = getattr(module, function, None)
    if not callable(found):
        defined = sorted(name for name, value in vars(module).items()
                         if callable(value) and getattr(value, "__module__", None) == module.__name__)
        listing = f"; it defines: {', '.join(defined)}" if defined else ""
        print(f"tinygrad-edu compare: error: {path} has no function {function}(){listing}", file=sys.stderr)
        return None, 2
    return found, 0

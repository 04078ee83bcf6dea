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
``BUGS`` (:mod:`tinygrad_edu.manual.mistakes`) holds mistakes students make deriving backprop by hand;
``compare_gradients(..., bug=NAME)`` swaps one in, and the table shows which gradients it breaks. The
``tinygrad-edu compare`` command (:mod:`tinygrad_edu.cli.compare`) runs it all.

Errors are measured relative to the size of the reference gradient, so they mean the same thing for a
gradient of size 1 and one of size 1e-4::

    rel err = max |manual - autodiff| / max |autodiff|
    FD err  = max over the checked coordinates i of |g[i] - fd[i]| / max(max |autodiff|, max |fd|)
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_edu.manual import network as manual
from tinygrad_edu.manual.autodiff import autodiff_gradients
from tinygrad_edu.manual.mistakes import Bug, get_bug, student_backward

# Pass/fail thresholds per dtype: manual vs autodiff, and each of them vs finite differences.
# float64 agrees to rounding (~1e-16); float32 rounding (eps 1.2e-7) grows with the sums in the matmuls.
REL_TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}
FD_TOLERANCE = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-5}
FD_EPSILON = 1e-6
NOT_WRITTEN = "not written yet"  # a gradient the backward does not return (yet)
INTERMEDIATES = {"dZ2": "Z2", "dA1": "A1", "dZ1": "Z1"}  # gradient name -> the intermediate it differentiates


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
    gradients: tuple[dict[str, np.ndarray], dict[str, str]] | None = None,
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
            (those it leaves out are reported "not written yet"). To have each of its lines checked on its
            own and diagnosed too, use ``tinygrad-edu compare --backward`` or the ``network-backprop`` exercise.
        gradients: a backward's results computed elsewhere (by the exercise checker, which runs the student's
            code apart): ``(grads, errors)``, the gradients and, for each missing one, why.
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
    if sum(choice is not None for choice in (bug, backward, gradients)) > 1:
        raise manual.InputError("compare_gradients: give one of bug, backward and gradients, not several")
    bug = None if bug is None else get_bug(bug)
    dtype = X.dtype
    rel_tol = REL_TOLERANCE[dtype] if rel_tol is None else rel_tol
    fd_tol = FD_TOLERANCE[dtype] if fd_tol is None else fd_tol

    cache = manual.forward(params, X, y)
    if gradients is not None:
        hand, errors = gradients
    elif backward is not None:
        hand, errors = returned_gradients(backward(params, cache, y))
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
        source=None if backward is None else describe(backward),
    )


def returned_gradients(returned: Any) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """What a backward returned, sorted into ``(gradients, errors)``: the entries that are arrays of numbers, and
    for every other name of ``manual.GRAD_NAMES`` why it is missing."""
    gradients: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    if not isinstance(returned, dict):
        reason = f"backward returned a {type(returned).__name__}, not a dict of gradients"
        return gradients, {name: reason for name in manual.GRAD_NAMES}
    for name in manual.GRAD_NAMES:
        if name not in returned:
            errors[name] = NOT_WRITTEN
            continue
        value = returned[name]
        array = np.asarray(value.data if hasattr(value, "data") and not isinstance(value, np.ndarray) else value)
        if array.dtype.kind not in "fiu":
            errors[name] = f"{name} is a {type(value).__name__}, not an array of numbers"
        else:
            gradients[name] = array
    return gradients, errors


def describe(function: Callable[..., Any]) -> str:
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
    for row, cells in zip(c.rows, body):
        text = line(cells)
        if row.passed:
            lines.append(text[: -len("ok")] + paint("ok", "green") if text.endswith("ok") else text)
        else:
            lines.append(paint(text, "red"))
    loss_diff = abs(c.loss_manual - c.loss_autodiff)
    loss_line = f"loss: manual {c.loss_manual:.12g}, autodiff {c.loss_autodiff:.12g} (|diff| {loss_diff:.1e})"
    out = [loss_line if c.loss_ok else paint(loss_line + "  FAIL", "red"), "", *lines, ""]
    for row in c.rows:
        if row.problem and (row.manual_shape != row.shape or not row.fd_error_autodiff <= c.fd_tol):
            out.append(paint(wrap(f"{row.name}: {row.problem}"), "red"))  # what the numbers cannot say
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
    out.extend(paint(wrap(text), "dim") for text in legend)
    failed = c.failed
    failed_lines = [line.item for line in c.lines or [] if not line.passed]
    if c.passed:
        verdict = f"all {len(c.rows)} gradients agree: the hand-derived backprop matches autodiff"
        out.append(paint(verdict, "green", "bold"))
    elif c.lines is not None:
        verdict = (f"{len(failed_lines)} of {len(c.lines)} lines FAIL on their own: {', '.join(failed_lines) or 'none'}; "
                   f"in the chain {len(failed)} of {len(c.rows)} FAIL: {', '.join(failed) or 'none'}")
        out.append(paint(wrap(verdict), "red", "bold"))
    else:
        verdict = f"{len(failed)} of {len(c.rows)} gradients FAIL: {', '.join(failed) or 'loss'}"
        out.append(paint(verdict, "red", "bold"))
    return "\n".join(out)


def wrap(text: str, indent: str = "") -> str:
    """Fold a long line for an ordinary terminal; continuation lines are indented."""
    return textwrap.fill(
        text, width=100, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False,
        break_long_words=False,  # never split a path: it must stay copyable
    )



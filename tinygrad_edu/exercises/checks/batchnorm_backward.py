"""batchnorm-backward (lesson 9): the six lines of batch normalisation's backward, line by line and in the chain.

The right values come from autodiff through :class:`tinygrad_edu.nn.BatchNorm1d`'s own forward (float64, with
the intermediate results kept by ``retain_grad``), which ``tests/test_batchnorm.py`` checks against finite
differences. As for ``network-backprop``, each line is run on its own (:func:`run_in_isolation` feeds it the
correct upstream gradients) and diagnosed against the catalogued mistakes of :func:`mistakes`, then the
student's function is run as it is and its ``dx`` compared with autodiff's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_edu.exercises.diagnose import Mistake, diagnose
from tinygrad_edu.exercises.isolation import run_in_isolation
from tinygrad_edu.exercises.report import FAIL, ItemResult, Report
from tinygrad_edu.exercises.student import Attempt, attempt
from tinygrad_edu.nn import BatchNorm1d
from tinygrad_edu.tensor import Tensor

FUNCTIONS = ("backward",)
GRAD_NAMES = ("dbeta", "dgamma", "dxhat", "dvar", "dmean", "dx")
BATCH, FEATURES, EPS = 8, 5, 1e-5


def problem(seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """``dout`` and the forward's cache for a fixed float64 batch (features with different means and scales)."""
    rng = np.random.default_rng([seed, 19])
    x = rng.normal(size=(BATCH, FEATURES)) * rng.uniform(0.5, 3, FEATURES) + rng.normal(0, 2, FEATURES)
    gamma = rng.normal(1, 0.5, FEATURES)
    mean = x.mean(axis=0)
    xc = x - mean
    var = (xc**2).mean(axis=0)
    std = np.sqrt(var + EPS)
    cache = {"x": x, "xc": xc, "var": var, "std": std, "xhat": xc / std, "gamma": gamma, "eps": EPS}
    return rng.normal(size=(BATCH, FEATURES)), cache


def correct_gradients(dout: np.ndarray, cache: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every gradient by autodiff through ``nn.BatchNorm1d``'s operations, intermediates kept with retain_grad."""
    layer = BatchNorm1d(FEATURES, eps=cache["eps"], dtype=np.float64)
    layer.weight.data[:] = cache["gamma"]
    x = Tensor(cache["x"], requires_grad=True)
    mean = x.mean(axis=0).retain_grad()  # the same operations as BatchNorm1d.forward, with names to read
    centred = x - mean
    var = (centred * centred).mean(axis=0).retain_grad()
    xhat = (centred / (var + layer.eps).sqrt()).retain_grad()
    out = xhat * layer.weight + layer.bias
    np.testing.assert_allclose(out.data, layer(Tensor(cache["x"])).data, rtol=1e-12)  # it is the layer's forward
    (out * Tensor(dout)).sum().backward()
    return {"dbeta": layer.bias.grad, "dgamma": layer.weight.grad, "dxhat": xhat.grad, "dvar": var.grad,
            "dmean": mean.grad, "dx": x.grad}


def mistakes(name: str, cache: dict[str, Any], correct: dict[str, np.ndarray], dout: np.ndarray) -> list[Mistake]:
    """The classic mistakes of each line, each computed from the correct inputs of that line."""
    xc, std, xhat, x = cache["xc"], cache["std"], cache["xhat"], cache["x"]
    dxhat, dvar, dmean, n = correct["dxhat"], correct["dvar"], correct["dmean"], len(x)
    direct = dxhat / std
    catalogue = {
        "dx": [
            Mistake("forgot-both-paths", "only the direct path x -> xhat is there: x also changes the mean and the "
                    "variance, and both feed every xhat of its feature (add dvar * 2 xc / N and dmean / N)",
                    lambda: direct),
            Mistake("forgot-mean-path", "the path through the mean is missing: each x[n] moves the mean by 1/N, so "
                    "add dmean / N", lambda: direct + dvar * 2 * xc / n),
            Mistake("forgot-variance-path", "the path through the variance is missing: each x[n] changes var by "
                    "2 xc[n] / N, so add dvar * 2 xc / N", lambda: direct + dmean / n),
            Mistake("unbiased-variance", "the variance of the forward divides by N (biased), so dvar/dx = 2 xc / N, "
                    "not 2 xc / (N - 1): the unbiased N - 1 is only for the running statistics",
                    lambda: direct + dvar * 2 * xc / (n - 1) + dmean / n),
            Mistake("missing-1/N", "the 1/N of both means is missing: dmean/dx[n] = 1/N and dvar/dx[n] = 2 xc[n] / N",
                    lambda: direct + dvar * 2 * xc + dmean),
            Mistake("missing-1/N-mean", "the 1/N of the mean is missing: the mean changes by 1/N when x[n] changes "
                    "by 1, so the path through it is dmean / N", lambda: direct + dvar * 2 * xc / n + dmean),
            Mistake("missing-1/N-variance", "the 1/N of the variance is missing: var = mean of xc^2, so "
                    "dvar/dx[n] = 2 xc[n] / N", lambda: direct + dvar * 2 * xc + dmean / n),
        ],
        "dvar": [Mistake("forgot-the-half", "d (var + eps)^(-1/2) / dvar = -1/2 (var + eps)^(-3/2): the 1/2 is missing",
                         lambda: -(dxhat * xc).sum(axis=0) / std**3),
                 Mistake("std-not-var", "that is the derivative with respect to std (-xc / std^2), not var; "
                         "std = sqrt(var + eps) adds a factor 1 / (2 std)",
                         lambda: -(dxhat * xc).sum(axis=0) / std**2)],
        "dmean": [Mistake("dmean-forgot-std", "xhat = xc / std, so each row adds -dxhat / std, not -dxhat",
                          lambda: -dxhat.sum(axis=0))],
        "dxhat": [Mistake("dxhat-forgot-gamma", "out = gamma * xhat + beta: dxhat = dout * gamma", lambda: dout)],
        "dgamma": [Mistake("dgamma-used-x", "out = gamma * xhat + beta: the factor is xhat, not x",
                           lambda: (dout * x).sum(axis=0))],
    }
    return catalogue.get(name, [])


def check_lines(backward: Callable[..., Any], dout: np.ndarray, cache: dict[str, Any],
                correct: dict[str, np.ndarray], chain: Attempt) -> list[ItemResult]:
    """Each line of ``backward`` on its own, fed the correct upstream gradients, diagnosed."""
    lines = run_in_isolation(backward, copy.deepcopy((dout, cache)), correct) or {}
    returned = chain.value if chain.ok and isinstance(chain.value, dict) else {}
    results = []
    for name in GRAD_NAMES:
        outcome = lines.get(name)
        if outcome is None:  # not a local variable of that name: the returned value is all there is
            outcome = Attempt(value=returned[name]) if name in returned else (
                chain if chain.error else Attempt(not_written=True))
        if not outcome.ok:
            results.append(ItemResult.from_attempt(name, outcome))
            continue
        verdict = diagnose(name, outcome.value, correct[name], mistakes(name, cache, correct, dout), batch=BATCH)
        results.append(ItemResult.from_verdict(name, verdict))
    return results


def check(functions: dict[str, Callable[..., Any]], where: str) -> Report:
    """Check the student's ``backward`` line by line, then as it is (its ``dx`` against autodiff's)."""
    if "backward" not in functions:
        return Report("batchnorm-backward", where, [ItemResult.missing("backward", "backward", where)])
    dout, cache = problem()
    correct = correct_gradients(dout, cache)
    chain = attempt(functions["backward"], *copy.deepcopy((dout, cache)))
    items = check_lines(functions["backward"], dout, cache, correct, chain)
    if chain.not_written or not chain.ok:
        whole = ItemResult.from_attempt("dx, your lines chained", chain)
    elif not isinstance(chain.value, dict) or "dx" not in chain.value:
        whole = ItemResult("dx, your lines chained", FAIL, diagnosis="backward must return a dict with the key 'dx' "
                           f"(and the other five), got {type(chain.value).__name__}")
    else:
        verdict = diagnose("dx", chain.value["dx"], correct["dx"], batch=BATCH)
        whole = ItemResult.from_verdict("dx, your lines chained", verdict)
        wrong = [item.item for item in items if not item.passed]
        if not verdict.passed and wrong:
            which = "that line" if len(wrong) == 1 else "those lines"
            whole.diagnosis = f"because of {', '.join(wrong)}: fix {which} first"
    notes = [f"checked on a batch of {BATCH} rows and {FEATURES} features, float64; each line is fed the correct "
             "gradients from above, and the whole chain's dx is compared with autodiff through nn.BatchNorm1d"]
    return Report("batchnorm-backward", where, [*items, whole], notes)

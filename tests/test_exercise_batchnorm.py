"""Exercise batchnorm-backward: its reference is autodiff, its catalogued mistakes are named line by line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.exercises import check_file, get
from tinygrad_edu.exercises.checks import batchnorm_backward as bn_check
from tinygrad_edu.exercises.student import NOT_WRITTEN
from tinygrad_edu.nn import BatchNorm1d


def solved_with(tmp_path: Path, line_start: str, new: str) -> Path:
    """The solution with the line starting ``line_start`` replaced by ``new`` (its indentation kept)."""
    text, count = re.subn(rf"^(\s*){re.escape(line_start)}.*$", lambda m: m.group(1) + new,
                          get("batchnorm-backward").solution(), flags=re.MULTILINE)
    assert count == 1
    path = tmp_path / "batchnorm_backward.py"
    path.write_text(text)
    return path


# line replaced -> (the item that fails, the catalogued mistake it must be named as)
MISTAKES = {
    "forgot-both-paths": ("dx = ", "dx = dxhat / std", "dx"),
    "forgot-mean-path": ("dx = ", "dx = dxhat / std + dvar * 2 * xc / N", "dx"),
    "forgot-variance-path": ("dx = ", "dx = dxhat / std + dmean / N", "dx"),
    "unbiased-variance": ("dx = ", "dx = dxhat / std + dvar * 2 * xc / (N - 1) + dmean / N", "dx"),
    "missing-1/N": ("dx = ", "dx = dxhat / std + dvar * 2 * xc + dmean", "dx"),
    "missing-1/N-mean": ("dx = ", "dx = dxhat / std + dvar * 2 * xc / N + dmean", "dx"),
    "missing-1/N-variance": ("dx = ", "dx = dxhat / std + dvar * 2 * xc + dmean / N", "dx"),
    "forgot-the-half": ("dvar = ", "dvar = -(dxhat * xc).sum(axis=0) / std**3", "dvar"),
    "std-not-var": ("dvar = ", "dvar = -(dxhat * xc).sum(axis=0) / std**2", "dvar"),
    "dmean-forgot-std": ("dmean = ", "dmean = -dxhat.sum(axis=0)", "dmean"),
    "dxhat-forgot-gamma": ("dxhat = ", "dxhat = dout", "dxhat"),
    "dgamma-used-x": ("dgamma = ", "dgamma = (dout * x).sum(axis=0)", "dgamma"),
}


def test_every_catalogued_mistake_has_a_test():
    dout, cache = bn_check.problem()
    correct = bn_check.correct_gradients(dout, cache)
    catalogued = {m.name for name in bn_check.GRAD_NAMES for m in bn_check.mistakes(name, cache, correct, dout)}
    assert catalogued == set(MISTAKES)


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_mistake_is_named_on_its_own_line(tmp_path, mistake):
    line_start, new, broken = MISTAKES[mistake]
    report = check_file("batchnorm-backward", solved_with(tmp_path, line_start, new))
    for item in report.items[:-1]:
        if item.item == broken:
            assert item.status == "FAIL" and item.mistake == mistake, str(report)
        else:
            assert item.status == "pass", str(report)  # fed the correct inputs, the other lines still pass
    feeds_dx = broken not in ("dgamma", "dbeta")  # dx is computed from dxhat, dvar and dmean only
    assert report["dx, your lines chained"].status == ("FAIL" if feeds_dx else "pass")


def test_a_biased_variance_is_the_forward_the_check_uses():
    """The reference is nn.BatchNorm1d's training forward: biased variance, and the same numbers as the cache."""
    dout, cache = bn_check.problem()
    layer = BatchNorm1d(bn_check.FEATURES, dtype=np.float64)
    layer.weight.data[:] = cache["gamma"]
    np.testing.assert_allclose(layer(Tensor(cache["x"])).data, cache["xhat"] * cache["gamma"], rtol=1e-12)
    np.testing.assert_allclose(cache["var"], cache["x"].var(axis=0), rtol=1e-12)


def test_reference_gradients_match_finite_differences():
    dout, cache = bn_check.problem()
    dx = bn_check.correct_gradients(dout, cache)["dx"]
    x, eps = cache["x"], cache["eps"]

    def loss(x: np.ndarray) -> float:
        xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
        return float(((cache["gamma"] * xhat) * dout).sum())

    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = 1e-6
        numeric[index] = (loss(x + step) - loss(x - step)) / 2e-6
    np.testing.assert_allclose(dx, numeric, rtol=1e-5, atol=1e-8)
    # and the compact formula of the solution's docstring
    dxhat, std, xhat = dout * cache["gamma"], cache["std"], cache["xhat"]
    np.testing.assert_allclose(dx, (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / std, rtol=1e-10)


def test_a_partial_backward_reports_the_rest_not_written(tmp_path):
    report = check_file("batchnorm-backward", solved_with(tmp_path, "dvar = ", 'raise NotImplementedError("later")'))
    assert [report[name].status for name in ("dbeta", "dgamma", "dxhat")] == ["pass"] * 3
    assert [report[name].status for name in ("dvar", "dmean", "dx")] == [NOT_WRITTEN] * 3

"""nn.BatchNorm1d and nn.utils.clip_grad_norm_: PyTorch's semantics, checked by hand and by finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_edu import Tensor, gradcheck, nn


def batch(rows: int = 6, features: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(2.0, 3.0, (rows, features))  # far from mean 0, variance 1: normalising changes it


def batchnorm(x: Tensor, weight: Tensor, bias: Tensor, layer: nn.BatchNorm1d) -> Tensor:
    """The layer with ``weight`` and ``bias`` as inputs, for gradcheck."""
    layer.weight, layer.bias = weight, bias
    return layer(x)


def test_training_mode_normalises_with_the_biased_batch_variance():
    x = batch()
    layer = nn.BatchNorm1d(3, dtype=np.float64)
    layer.weight.data[:] = [1.0, 2.0, -0.5]
    layer.bias.data[:] = [0.0, 1.0, 3.0]
    out = layer(Tensor(x)).data
    by_hand = (x - x.mean(axis=0)) / np.sqrt(((x - x.mean(axis=0)) ** 2).sum(axis=0) / 6 + 1e-5)
    np.testing.assert_allclose(out, by_hand * [1.0, 2.0, -0.5] + [0.0, 1.0, 3.0], rtol=1e-12)
    # gamma = 1, beta = 0: each feature of the output has mean 0 and (biased) variance 1 - eps / (var + eps)
    plain = nn.BatchNorm1d(3, dtype=np.float64)(Tensor(x)).data
    np.testing.assert_allclose(plain.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(plain.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-5), rtol=1e-12)


def test_running_statistics_follow_pytorch():
    """momentum 0.1, starting at mean 0 and variance 1; the variance stored is the unbiased one (N - 1)."""
    layer = nn.BatchNorm1d(3, dtype=np.float64)
    first, second = batch(seed=1), batch(rows=4, seed=2)
    layer(Tensor(first))
    layer(Tensor(second))
    mean = 0.9 * (0.9 * 0 + 0.1 * first.mean(axis=0)) + 0.1 * second.mean(axis=0)
    var = 0.9 * (0.9 * 1 + 0.1 * first.var(axis=0, ddof=1)) + 0.1 * second.var(axis=0, ddof=1)
    np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, var, rtol=1e-12)


def test_eval_mode_uses_the_running_statistics_and_leaves_them_alone():
    layer = nn.BatchNorm1d(3, dtype=np.float64)
    layer.running_mean[:] = [1.0, -2.0, 0.5]
    layer.running_var[:] = [4.0, 0.25, 1.0]
    layer.eval()
    x = batch(rows=1)  # one row is fine in eval mode: nothing is estimated from the batch
    out = layer(Tensor(x)).data
    np.testing.assert_allclose(out, (x - [1.0, -2.0, 0.5]) / np.sqrt(np.array([4.0, 0.25, 1.0]) + 1e-5), rtol=1e-12)
    np.testing.assert_array_equal(layer.running_mean, [1.0, -2.0, 0.5])
    assert layer.train() is layer and layer.training


@pytest.mark.parametrize("training", [True, False])
def test_backward_matches_finite_differences(training):
    layer = nn.BatchNorm1d(3, dtype=np.float64)
    layer.running_mean[:], layer.running_var[:] = [0.5, 1.0, -1.0], [2.0, 3.0, 0.5]
    layer.train(training)
    rng = np.random.default_rng(3)
    x = Tensor(batch(rows=5), requires_grad=True)
    weight = Tensor(rng.normal(1, 0.5, 3), requires_grad=True)
    bias = Tensor(rng.normal(0, 0.5, 3), requires_grad=True)
    assert gradcheck(lambda x, w, b: batchnorm(x, w, b, layer), x, weight, bias)


def test_training_gradient_sums_to_zero_over_the_batch():
    """In training mode the output does not change when the same number is added to a feature of every row
    (the mean absorbs it), so dL/dx sums to 0 over the batch: the path through the mean at work."""
    layer = nn.BatchNorm1d(3, dtype=np.float64)
    x = Tensor(batch(), requires_grad=True)
    (layer(x) * Tensor(np.random.default_rng(4).normal(size=(6, 3)))).sum().backward()
    np.testing.assert_allclose(x.grad.sum(axis=0), 0, atol=1e-12)
    assert np.abs(x.grad).max() > 1e-2


def test_batchnorm_refuses_bad_input():
    with pytest.raises(ValueError, match=r"more than 1 row"):
        nn.BatchNorm1d(3)(Tensor(np.ones((1, 3), np.float32)))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        nn.BatchNorm1d(3)(Tensor(np.ones((4, 2), np.float32)))
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=2)
    assert [name for name, _ in nn.BatchNorm1d(2).named_parameters()] == ["weight", "bias"]
    assert nn.BatchNorm1d(2, affine=False).parameters() == []


def test_clip_grad_norm_scales_by_the_total_norm():
    a = Tensor(np.zeros(2), requires_grad=True)
    b = Tensor(np.zeros((1, 1)), requires_grad=True)
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([[4.0]])  # total norm 5
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert total == 5.0
    np.testing.assert_allclose(a.grad, [3 / (5 + 1e-6), 0.0])
    np.testing.assert_allclose(b.grad, [[4 / (5 + 1e-6)]])
    assert math.isclose(math.hypot(a.grad[0], b.grad[0, 0]), 1.0, rel_tol=1e-6)


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing_ones():
    a = Tensor(np.zeros(2), requires_grad=True)
    a.grad = np.array([0.3, 0.4])
    no_grad = Tensor(np.zeros(3), requires_grad=True)
    assert nn.utils.clip_grad_norm_([a, no_grad], max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(a.grad, [0.3, 0.4])
    assert no_grad.grad is None
    assert nn.clip_grad_norm_(a, 0.25) == pytest.approx(0.5)  # a single tensor is accepted too
    assert np.linalg.norm(a.grad) == pytest.approx(0.25 * 0.5 / (0.5 + 1e-6), rel=1e-12)
    with pytest.raises(ValueError, match="max_norm"):
        nn.utils.clip_grad_norm_([a], 0)


def test_forward_hooks_see_every_call_and_can_be_removed():
    layer = nn.ReLU()
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, out: seen.append((module, out.data.copy())))
    layer(Tensor(np.array([-1.0, 2.0])))
    handle.remove()
    layer(Tensor(np.array([5.0])))
    assert len(seen) == 1 and seen[0][0] is layer
    np.testing.assert_array_equal(seen[0][1], [0.0, 2.0])
    doubled = nn.Tanh()
    doubled.register_forward_hook(lambda module, inputs, out: out * 2)  # a returned value replaces the output
    assert doubled(Tensor(np.array([0.5]))).data[0] == pytest.approx(2 * math.tanh(0.5))


def test_running_statistics_are_saved_and_loaded_with_the_parameters():
    """As PyTorch's buffers: in state_dict, restored by load_state_dict, so a loaded model evaluates alike."""
    from tinygrad_edu.nn import BatchNorm1d, Linear, Sequential

    rng = np.random.default_rng(0)
    trained = Sequential(Linear(4, 3, rng=np.random.default_rng(0)), BatchNorm1d(3))
    for _ in range(5):
        trained(rng.normal(2.0, 3.0, (16, 4)))  # moves the running statistics away from 0 and 1
    state = trained.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"]
    assert [p.name for p in trained.parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]  # not trained
    assert not np.allclose(state["1.running_mean"], 0)
    fresh = Sequential(Linear(4, 3, rng=np.random.default_rng(1)), BatchNorm1d(3))
    fresh.load_state_dict({k: v.copy() for k, v in state.items()})
    x = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(fresh.eval()(x).data, trained.eval()(x).data)
    with pytest.raises(KeyError, match="1.running_mean"):
        fresh.load_state_dict({k: v for k, v in state.items() if "running" not in k})

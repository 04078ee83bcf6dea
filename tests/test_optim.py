"""SGD, momentum, weight decay and Adam against updates computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.errors import ShapeError
from tinygrad_edu.optim import SGD, Adam


def f32(*values):
    return np.array(values, dtype=np.float32)


def test_sgd_step_by_hand():
    p = f32(1.0, 2.0)
    SGD([p], lr=0.1).step([f32(0.5, -1.0)])
    np.testing.assert_allclose(p, [0.95, 2.1], rtol=1e-7)


def test_sgd_momentum_two_steps_by_hand():
    p = f32(1.0)
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step([f32(1.0)])  # v = 1, p = 1 - 0.1 = 0.9
    np.testing.assert_allclose(p, [0.9], rtol=1e-7)
    opt.step([f32(2.0)])  # v = 0.9 * 1 + 2 = 2.9, p = 0.9 - 0.29 = 0.61
    np.testing.assert_allclose(p, [0.61], rtol=1e-6)


def test_sgd_weight_decay_by_hand():
    p = f32(2.0, -4.0)
    SGD([p], lr=0.5, weight_decay=0.1).step([f32(1.0, 1.0)])  # g + 0.1 p = (1.2, 0.6)
    np.testing.assert_allclose(p, [2.0 - 0.6, -4.0 - 0.3], rtol=1e-6)


def adam_reference(p, grads, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    """Adam as written in the paper, in float64, step by step."""
    p = p.astype(np.float64)
    m = v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def test_adam_first_step_moves_each_weight_by_lr():
    """With bias correction, the first step is lr * g / (|g| + eps): lr times the sign of g."""
    p = f32(1.0, -2.0, 3.0)
    Adam([p], lr=0.01).step([f32(0.5, -0.25, 1e-3)])
    np.testing.assert_allclose(p, [0.99, -1.99, 3.0 - 0.01 * 1e-3 / (1e-3 + 1e-8)], rtol=1e-6)


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_adam_matches_the_paper_over_several_steps(wd):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(6).astype(np.float32)
    grads = [rng.standard_normal(6).astype(np.float32) for _ in range(5)]
    p = p0.copy()
    opt = Adam([p], lr=0.05, betas=(0.8, 0.99), weight_decay=wd)
    for g in grads:
        opt.step([g])
    np.testing.assert_allclose(p, adam_reference(p0, grads, 0.05, 0.8, 0.99, wd=wd), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3), lambda ps: Adam(ps)])
def test_tensor_and_array_parameters_get_identical_updates_in_place_float32(make):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)]
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    data_ids = [id(t.data) for t in tensors]
    opt_arrays, opt_tensors = make(arrays), make(tensors)
    for _ in range(3):
        grads = [rng.standard_normal(a.shape).astype(np.float32) for a in arrays]
        for t, g in zip(tensors, grads):
            t.grad = g.copy()
        opt_arrays.step(grads)
        opt_tensors.step()
    for a, t in zip(arrays, tensors):
        assert a.dtype == t.data.dtype == np.float32
        np.testing.assert_array_equal(a, t.data)
    assert [id(t.data) for t in tensors] == data_ids  # updated in place
    assert all(s["scratch"].dtype == np.float32 for s in opt_tensors.state)


def test_parameters_without_gradient_are_skipped_and_zero_grad_clears():
    a, b = Tensor(f32(1.0), requires_grad=True), Tensor(f32(1.0), requires_grad=True)
    a.grad = f32(1.0)
    opt = SGD([a, b], lr=0.5)
    opt.step()
    assert a.data.tolist() == [0.5] and b.data.tolist() == [1.0]
    opt.zero_grad()
    assert a.grad is None


def test_adam_minimises_a_quadratic():
    x = Tensor(f32(5.0, -3.0), requires_grad=True)
    opt = Adam([x], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        ((x - Tensor(f32(1.0, 2.0))) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(x.data, [1.0, 2.0], atol=1e-2)


def test_optimizer_errors():
    p = f32(1.0, 2.0)
    with pytest.raises(ShapeError, match=r"gradient 0 has shape \(3,\) but parameter 0 has shape \(2,\)"):
        SGD([p]).step([f32(1, 2, 3)])
    with pytest.raises(ShapeError, match="1 gradients for 2 parameters"):
        SGD([p, p.copy()]).step([p])
    with pytest.raises(TypeError, match="array parameters have no .grad; pass the gradients"):
        Adam([p]).step()
    with pytest.raises(TypeError, match="must be a float array or Tensor, got int64"):
        SGD([np.arange(3)])
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(ValueError, match="lr must be positive"):
        SGD([p], lr=0)

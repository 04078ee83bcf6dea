"""Gradient-health measurements (tinygrad_edu.training.health) against hand computations on tiny networks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu.functional as F
from tinygrad_edu import Tensor, nn
from tinygrad_edu.optim import SGD, Adam
from tinygrad_edu.training import health


def tiny_relu_net() -> nn.Sequential:
    """2 inputs -> 3 ReLU units -> 1 output. Unit 1 has weights (-1, -1) and bias -0.5: with inputs >= 0 its
    pre-activation is always negative, so it is dead; units 0 and 2 fire on some examples."""
    model = nn.Sequential(nn.Linear(2, 3, dtype=np.float64), nn.ReLU(), nn.Linear(3, 1, dtype=np.float64))
    model[0].weight.data[:] = [[1.0, -1.0, 0.0], [0.0, -1.0, 1.0]]
    model[0].bias.data[:] = [0.0, -0.5, -0.2]
    model[2].weight.data[:] = [[1.0], [2.0], [3.0]]
    return model


X = np.array([[0.0, 0.0], [1.0, 0.1], [0.3, 0.9]])


def test_dead_units_finds_the_unit_that_never_fires():
    model = tiny_relu_net()
    assert health.dead_units(model, X)["1"].tolist() == [False, True, False]
    assert health.dead_fraction(model, X) == {"1": pytest.approx(1 / 3)}
    # its gradient is zero for every example, which is why it can never come back
    loss = model(Tensor(X)).sum()
    loss.backward()
    assert not model[0].weight.grad[:, 1].any() and model[0].weight.grad[:, [0, 2]].any()


def test_dead_on_this_set_only():
    """Unit 2 (bias -0.2, weight 1 on the second input) fires only where the second input exceeds 0.2."""
    model = tiny_relu_net()
    assert health.dead_units(model, X[:2])["1"].tolist() == [False, True, True]


def test_gradient_norms_are_the_norms_of_the_grads_by_hand():
    model = tiny_relu_net()
    model(Tensor(X)).sum().backward()
    # by hand: dL/dout = 1 per example; dZ1[n, j] = W2[j] * [Z1[n, j] > 0]; dW1 = X^T dZ1
    Z1 = X @ model[0].weight.data + model[0].bias.data
    dZ1 = (Z1 > 0) * model[2].weight.data[:, 0]
    norms = health.gradient_norms(model)
    assert norms["0.weight"] == pytest.approx(np.linalg.norm(X.T @ dZ1), rel=1e-12)
    assert norms["0.bias"] == pytest.approx(np.linalg.norm(dZ1.sum(axis=0)), rel=1e-12)
    assert norms["2.weight"] == pytest.approx(np.linalg.norm(np.maximum(Z1, 0).sum(axis=0)), rel=1e-12)
    assert health.weight_names(model) == ["0.weight", "2.weight"]


def test_gradient_norms_needs_a_backward_first():
    with pytest.raises(ValueError, match=r"0\.weight .*loss\.backward\(\)"):
        health.gradient_norms(tiny_relu_net())


def test_update_ratio_of_sgd_is_lr_times_grad_over_weight():
    model = tiny_relu_net()
    before = health.snapshot(model)
    optimizer = SGD(model.parameters(), lr=0.01)
    model(Tensor(X)).sum().backward()
    grads = {name: param.grad.copy() for name, param in model.named_parameters()}
    optimizer.step()
    ratios = health.update_ratios(before, model)
    for name in ("0.weight", "2.weight"):
        expected = 0.01 * np.linalg.norm(grads[name]) / np.linalg.norm(before[name])
        assert ratios[name] == pytest.approx(expected, rel=1e-12)
    assert ratios["2.bias"] == math.inf  # a zero bias that moved has no scale to compare with


def test_update_ratio_of_adams_first_step_is_about_lr_per_entry():
    """Adam's first step moves every entry with a gradient by lr (m-hat / sqrt(v-hat) = sign(g)), whatever g."""
    model = tiny_relu_net()
    before = health.snapshot(model)
    optimizer = Adam(model.parameters(), lr=1e-3)
    model(Tensor(X)).sum().backward()
    moved = model[2].weight.grad != 0
    optimizer.step()
    expected = 1e-3 * math.sqrt(moved.sum()) / np.linalg.norm(before["2.weight"])
    assert health.update_ratios(before, model)["2.weight"] == pytest.approx(expected, rel=1e-4)


def test_saturation_of_tanh_and_sigmoid_by_hand():
    """Pre-activations 0, 1, 3, -5 per unit: tanh is saturated (1 - t^2 < 0.05) at |x| = 3 and 5,
    sigmoid (s (1 - s) < 0.0125) only at |x| = 5."""
    x = np.array([[0.0, 1.0, 3.0, -5.0]])
    tanh, sigmoid = nn.Sequential(nn.Tanh()), nn.Sequential(nn.Sigmoid())
    assert health.saturated_fraction(tanh, x) == {"0": 0.5}
    assert health.saturated_fraction(sigmoid, x) == {"0": 0.25}
    assert 1 - math.tanh(3) ** 2 < 0.05 < 1 - math.tanh(1) ** 2  # the by-hand facts the numbers above rest on


def test_activation_health_on_a_mixed_network_and_mode_restored():
    model = nn.Sequential(nn.Linear(2, 3, dtype=np.float64), nn.ReLU(), nn.Linear(3, 2, dtype=np.float64),
                          nn.BatchNorm1d(2, dtype=np.float64), nn.Tanh())
    model[0].weight.data[:] = tiny_relu_net()[0].weight.data
    model[0].bias.data[:] = tiny_relu_net()[0].bias.data
    result = health.activation_health(model, X)
    assert result["dead_fraction"] == {"1": pytest.approx(1 / 3)}
    assert set(result["saturated_fraction"]) == {"4"}
    assert model.training and model[3].training  # measured in eval mode, then put back
    with pytest.raises(ValueError, match="no ReLU, Sigmoid or Tanh"):
        health.activations(nn.Linear(2, 2), X)


def test_recording_removes_its_hooks():
    model = nn.MLP(4, 3, 2, seed=0)
    with health.recording_activations(model) as outputs:
        model(Tensor(np.ones((2, 4), np.float32)))
    model(Tensor(np.ones((2, 4), np.float32)))
    assert len(outputs["relu"]) == 1
    logits = model(Tensor(np.ones((2, 4), np.float32)))
    F.cross_entropy(logits, np.array([0, 1])).backward()
    assert set(health.gradient_norms(model)) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}

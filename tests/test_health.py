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


# --- train --health: the monitor in the training loop ----------------------------------------------------
def monitored_run(engine: str, epochs: int = 2):
    from tinygrad_edu.training.health_monitor import HealthMonitor
    from tinygrad_edu.training.loop import TrainConfig, fit, make_engine

    rng = np.random.default_rng(0)
    x, y = rng.random((320, 784), dtype=np.float32), rng.integers(0, 10, 320)
    config = TrainConfig(hidden=16, epochs=epochs, batch_size=32, optimizer="sgd", lr=0.1, schedule="constant",
                         augment=0, engine=engine)
    trained = make_engine(config)
    initial = {name: array.copy() for name, array in trained.params.items()}
    monitor = HealthMonitor(config.hidden, x[:50], steps_per_epoch=10, epochs=epochs)
    history = fit(trained, config, x, y, x[:50], y[:50], progress=False, log=lambda line: None, monitor=monitor)
    return initial, trained, monitor, history, x[:50]


def test_monitor_records_the_grid_and_sgds_ratio_is_lr_times_norm_over_weight():
    initial, trained, monitor, history, val_x = monitored_run("autodiff")
    assert [r["step"] for r in monitor.records] == [1, 2, 5, 10, 20]
    first = monitor.records[0]
    for layer, array in (("fc1.weight", "W1"), ("fc2.weight", "W2")):
        # plain SGD moves W by lr * dL/dW exactly, so the ratio is lr * ||dL/dW|| / ||W|| (float32 rounding)
        expected = 0.1 * first["grad_norm"][layer] / np.linalg.norm(initial[array].astype(np.float64))
        assert first["update_ratio"][layer] == pytest.approx(expected, rel=1e-4)
    # the dead fraction recorded at the end is the one measured afresh on the final weights
    model = nn.MLP(784, 16, 10)
    model.load_manual_params(trained.params)
    assert monitor.records[-1]["dead_fraction"] == health.dead_fraction(model, val_x)
    assert history[-1]["dead_fraction relu"] == monitor.records[-1]["dead_fraction"]["relu"]
    assert sum(row["health_seconds"] for row in history) == pytest.approx(monitor.seconds)


def test_both_engines_give_the_same_health_records():
    _, _, autodiff, _, _ = monitored_run("autodiff", epochs=1)
    _, _, by_hand, _, _ = monitored_run("manual", epochs=1)
    for a, m in zip(autodiff.records, by_hand.records, strict=True):
        for layer in ("fc1.weight", "fc2.weight"):
            assert a["grad_norm"][layer] == pytest.approx(m["grad_norm"][layer], rel=1e-4)
            assert a["update_ratio"][layer] == pytest.approx(m["update_ratio"][layer], rel=1e-3)


def test_train_health_command_writes_and_prints_every_output(mnist_dir, tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "train", "--health", "--data-dir", str(mnist_dir),
                             "--hidden", "32", "--epochs", "1", "--train-subset", "3000", "--val-size", "500",
                             "--no-progress", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for name in ("health-grad-norm.png", "health-update-ratio.png", "health-dead-units.png"):
        assert (out / name).is_file() and str(out / name) in result.stdout
    assert "gradient health: 5 measurements took" in result.stdout  # 2,500 images: 20 steps of 128
    metrics = json.loads((out / "metrics.json").read_text())
    assert [record["step"] for record in metrics["health"]] == [1, 2, 5, 10, 20]
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"grad_norm fc1.weight", "update_ratio fc2.weight", "dead_fraction relu", "health_seconds"} <= set(header)

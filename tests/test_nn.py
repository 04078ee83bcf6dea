"""Linear, ReLU, Sequential, MLP: shapes, names, initialisation statistics, agreement with the manual engine."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu.functional as F
from tinygrad_edu import Tensor, manual
from tinygrad_edu.nn import MANUAL_NAMES, MLP, Dropout, Linear, ReLU, Sequential, init_weight


def test_linear_shapes_and_names():
    layer = Linear(784, 32, rng=np.random.default_rng(0))
    out = layer(np.zeros((5, 784), np.float32))
    assert out.shape == (5, 32) and out.dtype == np.float32
    assert layer.weight.shape == (784, 32) and layer.bias.shape == (32,) and not layer.bias.data.any()
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"] and layer.weight.name == "weight"
    assert Linear(3, 2, bias=False).parameters()[0].shape == (3, 2) and len(Linear(3, 2, bias=False).parameters()) == 1


@pytest.mark.parametrize(
    "init, std",
    [("he", np.sqrt(2 / 784)), ("xavier", np.sqrt(2 / (784 + 256))), ("lecun", np.sqrt(1 / 784)),
     ("uniform", 0.1 / np.sqrt(3))],
)
def test_init_statistics(init, std):
    w = init_weight(784, 256, init, np.random.default_rng(0))
    assert w.dtype == np.float32 and w.shape == (784, 256)
    assert abs(w.mean()) < 3 * std / np.sqrt(w.size) + 1e-6
    assert abs(w.std() / std - 1) < 0.01  # 200,000 draws: the sample std is within 1%
    if init == "uniform":
        assert -0.1 <= w.min() and w.max() <= 0.1


def test_he_keeps_relu_activations_from_shrinking_or_growing():
    """Why He: through 5 ReLU layers the mean square activation stays ~1; with LeCun it halves at each layer."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 256))
    for init, expected in (("he", 1.0), ("lecun", 0.5**5)):
        h = x
        for _ in range(5):
            h = np.maximum(h @ init_weight(256, 256, init, rng, np.float64), 0)
        assert abs((h**2).mean() / expected - 1) < 0.25, init


def test_init_rejects_unknown_scheme():
    with pytest.raises(ValueError, match="init must be one of he, xavier, lecun, uniform"):
        init_weight(3, 2, "zeros")


@pytest.mark.parametrize("init", ["he", "xavier"])
def test_mlp_starts_from_the_manual_engines_parameters(init):
    model = MLP(784, 20, 10, init=init, seed=7)
    params = manual.init_params(20, seed=7, init=init)
    assert list(model.manual_params()) == list(manual.PARAM_NAMES)
    for name, array in model.manual_params().items():
        np.testing.assert_array_equal(array, params[name])


def test_mlp_names_for_the_graph_view():
    model = MLP(hidden=8)
    assert [(n, p.name) for n, p in model.named_parameters()] == [(n, n) for n in MANUAL_NAMES]
    assert model.num_parameters() == 784 * 8 + 8 + 8 * 10 + 10


def test_mlp_gradients_equal_the_hand_derived_ones():
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 784)), rng.integers(0, 10, 16)
    model = MLP(hidden=12, seed=1, dtype=np.float64)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    cache = manual.forward(model.manual_params(), x, y)
    grads = manual.backward(model.manual_params(), cache, y)
    np.testing.assert_allclose(loss.item(), cache["loss"], rtol=1e-12)
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad, grads["d" + MANUAL_NAMES[name]], rtol=1e-10, atol=1e-14)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_and_errors():
    a, b = MLP(hidden=6, seed=0), MLP(hidden=6, seed=1)
    b.load_state_dict({k: v.copy() for k, v in a.state_dict().items()})
    assert all(np.array_equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    b.load_manual_params(manual.init_params(6, seed=5))
    np.testing.assert_array_equal(b.fc1.weight.data, manual.init_params(6, seed=5)["W1"])
    with pytest.raises(KeyError, match="another network"):
        b.load_state_dict({"W1": a.fc1.weight.data})
    with pytest.raises(ValueError, match=r"fc1.weight has shape \(784, 7\), the model expects \(784, 6\)"):
        b.load_state_dict(MLP(hidden=7).state_dict() | {"fc1.bias": np.zeros(6), "fc2.weight": np.zeros((6, 10))})


def test_sequential():
    rng = np.random.default_rng(0)
    net = Sequential(Linear(4, 3, rng=rng), ReLU(), Linear(3, 2, rng=rng))
    assert len(net) == 3 and isinstance(net[1], ReLU)
    assert [p.name for p in net.parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = Tensor(rng.standard_normal((5, 4)).astype(np.float32))
    expected = np.maximum(x.data @ net[0].weight.data, 0) @ net[2].weight.data
    np.testing.assert_allclose(net(x).data, expected, rtol=1e-6)


# ---- Dropout and the train/eval modes -------------------------------------------------------------------
def test_dropout_is_inverted_and_seeded():
    x = Tensor(np.ones((200, 50), np.float32), requires_grad=True)
    out = Dropout(0.25, seed=0)(x)
    kept = out.data != 0
    # survivors are scaled by 1/(1-p) = 4/3, so the expected value stays 1
    np.testing.assert_allclose(out.data[kept], 4 / 3, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.01  # 10,000 draws: within 4 standard deviations (0.0043 each)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(Dropout(0.25, seed=0)(x).data, out.data)  # same seed, same mask
    out.sum().backward()
    np.testing.assert_allclose(x.grad, np.where(kept, 4 / 3, 0.0), rtol=1e-6)  # gradient through the mask


def test_dropout_is_the_identity_in_eval_mode_and_modes_reach_submodules():
    model = Sequential(Linear(4, 8, rng=np.random.default_rng(0)), Dropout(0.5, seed=1), ReLU())
    assert model.training and model[1].training
    assert model.eval() is model and not model[1].training and len(model) == 3
    x = Tensor(np.ones((3, 4), np.float32))
    np.testing.assert_array_equal(model[1](x).data, x.data)
    np.testing.assert_array_equal(model(x).data, model(x).data)  # deterministic when evaluating
    model.train()
    assert model[1].training and (model[1](Tensor(np.ones(1000, np.float32))).data == 0).any()


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5"])
def test_dropout_refuses_a_probability_outside_0_1(p):
    with pytest.raises(ValueError, match=r"Dropout: p .* must lie in \[0, 1\]"):
        Dropout(p)


def test_dropout_extremes():
    x = Tensor(np.ones(5, np.float32))
    np.testing.assert_array_equal(Dropout(0.0)(x).data, x.data)
    np.testing.assert_array_equal(Dropout(1.0)(x).data, np.zeros(5))

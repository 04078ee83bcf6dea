"""The hand-derived backprop of the 784-H-10 network, against autodiff and finite differences, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import manual
from tinygrad_edu.manual.autodiff import autodiff_gradients
from tinygrad_edu.errors import ShapeError
from tinygrad_edu.manual import InputError

# manual vs autodiff, relative to the size of the gradient: float64 to 1e-10, float32 to its own precision
# (eps 1.2e-7, times the growth of rounding error along sums of up to 784 terms).
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}


def random_batch(n: int, seed: int = 0, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Pixels in [0, 1) and labels 0..9, the shape of an MNIST batch."""
    rng = np.random.default_rng(seed + 1000)
    return rng.random((n, 784)).astype(dtype), rng.integers(0, 10, size=n)


def relative_error(a: np.ndarray, reference: np.ndarray) -> float:
    """max |a - reference| / max |reference| (the plain difference when reference is all zeros: dead units)."""
    difference = float(np.abs(a.astype(np.float64) - reference).max())
    return difference / max(float(np.abs(reference).max()), 1e-300) if difference else 0.0


def assert_manual_matches_autodiff(params, x, y, tolerance: float) -> None:
    cache = manual.forward(params, x, y)
    grads = manual.backward(params, cache, y)
    loss, auto = autodiff_gradients(params, x, y)
    assert cache["loss"] == pytest.approx(loss, rel=tolerance)
    assert list(grads) == list(manual.GRAD_NAMES)
    for name in manual.GRAD_NAMES:
        assert grads[name].shape == auto[name].shape, name
        assert grads[name].dtype == auto[name].dtype == params["W1"].dtype, name
        assert relative_error(grads[name], auto[name]) <= tolerance, name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden", [10, 128])
@pytest.mark.parametrize("batch", [1, 7, 64])
def test_manual_matches_autodiff_on_random_inputs(dtype, hidden, batch):
    params = manual.init_params(hidden, seed=batch, dtype=dtype)
    x, y = random_batch(batch, seed=hidden)
    assert_manual_matches_autodiff(params, x, y, TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden", [10, 128])
@pytest.mark.parametrize("batch", [1, 7, 64])
def test_manual_matches_autodiff_on_real_mnist(mnist, dtype, hidden, batch):
    rows = np.random.default_rng(batch).choice(len(mnist.train_labels), size=batch, replace=False)
    params = manual.init_params(hidden, seed=1, dtype=dtype)
    assert_manual_matches_autodiff(params, mnist.train_images[rows], mnist.train_labels[rows], TOLERANCE[dtype])


@settings(max_examples=25, deadline=None)
@given(
    hidden=st.integers(1, 40),
    batch=st.integers(1, 20),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([0.01, 1.0, 30.0]),  # tiny, MNIST-like and large pixel values
)
def test_manual_matches_autodiff_for_any_sizes(hidden, batch, seed, scale):
    params = manual.init_params(hidden, seed=seed, dtype=np.float64)
    x, y = random_batch(batch, seed=seed)
    assert_manual_matches_autodiff(params, x * scale, y, TOLERANCE[np.float64])


# -- every formula against finite differences (float64), written here independently of compare.py ---------------
def loss_as_function_of(name: str, params, x, y):
    """The loss as a function of one parameter or one intermediate (the rest of the network held fixed)."""
    if name in manual.PARAM_NAMES:
        return params[name], lambda value: manual.forward({**params, name: value}, x, y)["loss"]
    W2, b2 = params["W2"], params["b2"]
    rest = {
        "Z2": lambda z2: manual.softmax_cross_entropy(z2, y)[1],
        "A1": lambda a1: manual.softmax_cross_entropy(a1 @ W2 + b2, y)[1],
        "Z1": lambda z1: manual.softmax_cross_entropy(np.maximum(z1, 0) @ W2 + b2, y)[1],
    }
    return manual.forward(params, x, y)[name], rest[name]


@pytest.mark.parametrize("hidden, batch", [(10, 1), (10, 7), (128, 5)])
@pytest.mark.parametrize("grad_name", manual.GRAD_NAMES)
def test_each_formula_matches_finite_differences(grad_name, hidden, batch):
    # Directional derivatives: along a random unit direction V, (L(T + eps V) - L(T - eps V)) / 2 eps
    # must equal <dT, V>. Three directions per tensor test every coordinate of the formula at once.
    params = manual.init_params(hidden, seed=3, dtype=np.float64)
    params["b1"] += 0.01  # nonzero biases: a point away from the initial one
    params["b2"] -= 0.02
    x, y = random_batch(batch, seed=7)
    grad = manual.backward(params, manual.forward(params, x, y), y)[grad_name]
    point, loss = loss_as_function_of(grad_name[1:], params, x, y)
    assert grad.shape == point.shape
    rng, eps = np.random.default_rng(0), 1e-6
    for _ in range(3):
        direction = rng.standard_normal(point.shape)
        direction /= np.linalg.norm(direction)
        numeric = (loss(point + eps * direction) - loss(point - eps * direction)) / (2 * eps)
        assert np.sum(grad * direction) == pytest.approx(numeric, rel=1e-6, abs=1e-10), grad_name


def test_batch_gradient_is_the_mean_of_per_example_gradients():
    # The 1/N of the mean: the gradient of a batch is the average of its examples' gradients.
    params = manual.init_params(16, seed=2, dtype=np.float64)
    x, y = random_batch(5, seed=2)
    whole = manual.backward(params, manual.forward(params, x, y), y)
    singles = []
    for i in range(5):
        xi, yi = x[i : i + 1], y[i : i + 1]
        singles.append(manual.backward(params, manual.forward(params, xi, yi), yi))
    for name in ("dW1", "db1", "dW2", "db2"):
        np.testing.assert_allclose(whole[name], np.mean([g[name] for g in singles], axis=0), rtol=1e-12, atol=1e-15)


def test_forward_values_against_a_direct_formula():
    params = manual.init_params(10, seed=4, dtype=np.float64)
    x, y = random_batch(6, seed=4)
    cache = manual.forward(params, x, y)
    logits = np.maximum(x @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(cache["Z2"], logits, rtol=1e-12)
    np.testing.assert_allclose(cache["P"], probabilities, rtol=1e-12)
    assert cache["loss"] == pytest.approx(-np.mean(np.log(probabilities[np.arange(6), y])), rel=1e-12)
    assert set(manual.forward(params, x)) == {"X", "Z1", "A1", "Z2", "P"}  # no labels, no loss


def test_huge_logits_give_a_finite_loss_and_probabilities_that_sum_to_one():
    params = manual.init_params(10, seed=0, dtype=np.float32)
    params["W2"] *= 1e4
    x, y = random_batch(8, seed=1)
    cache = manual.forward(params, x, y)
    grads = manual.backward(params, cache, y)
    assert np.isfinite(cache["loss"]) and cache["loss"] > 10
    np.testing.assert_allclose(cache["P"].sum(axis=1), 1, rtol=1e-6)
    assert all(np.isfinite(g).all() for g in grads.values())


@pytest.mark.parametrize("hidden", [1, 3, 10, 128])
def test_any_hidden_size_float32_end_to_end(hidden):
    params = manual.init_params(hidden, dtype=np.float32)
    x, y = random_batch(4, dtype=np.float64)  # float64 images are cast to the parameters' dtype
    cache = manual.forward(params, x, y)
    grads = manual.backward(params, cache, y)
    assert all(a.dtype == np.float32 for a in [*cache.values(), *grads.values()])
    expected = {"dZ2": (4, 10), "dW2": (hidden, 10), "db2": (10,), "dA1": (4, hidden), "dZ1": (4, hidden),
                "dW1": (784, hidden), "db1": (hidden,)}
    assert {name: g.shape for name, g in grads.items()} == expected


def test_float32_images_are_not_copied():
    params = manual.init_params(10, dtype=np.float32)
    x, y = random_batch(3, dtype=np.float32)
    assert manual.forward(params, x, y)["X"] is x


def test_init_params_he_statistics_and_reproducibility():
    params = manual.init_params(128, seed=0, dtype=np.float64)
    assert {k: v.shape for k, v in params.items()} == {"W1": (784, 128), "b1": (128,), "W2": (128, 10), "b2": (10,)}
    assert params["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)  # 100352 draws: 0.2% noise
    assert params["W2"].std() == pytest.approx(np.sqrt(2 / 128), rel=0.1)  # 1280 draws: 2% noise
    assert abs(params["W1"].mean()) < 0.01 * np.sqrt(2 / 784) * 10
    assert not params["b1"].any() and not params["b2"].any()
    again = manual.init_params(128, seed=0, dtype=np.float64)
    assert all(np.array_equal(params[k], again[k]) for k in params)
    assert not np.array_equal(params["W1"], manual.init_params(128, seed=1, dtype=np.float64)["W1"])
    as_float32 = manual.init_params(128, seed=0)  # the default dtype; same numbers, rounded
    assert as_float32["W1"].dtype == np.float32
    np.testing.assert_array_equal(as_float32["W1"], params["W1"].astype(np.float32))
    xavier = manual.init_params(128, seed=0, dtype=np.float64, init="xavier")
    assert xavier["W1"].std() == pytest.approx(np.sqrt(2 / (784 + 128)), rel=0.02)


def test_variance_of_pre_activations_follows_the_second_moment_of_the_inputs(mnist):
    """The initialisation argument of the derivations page, with MNIST's numbers:
    Var(z_l) = n_in Var(W_l) E[a_{l-1}^2], E[relu(z)^2] = Var(z) / 2, and E[x^2] = 0.112 for MNIST's pixels."""
    x = mnist.train_images.astype(np.float64)
    second_moment = np.mean(x**2)
    assert round(float(second_moment), 3) == 0.112  # the value quoted on the page and in init_params
    assert second_moment > 1.1 * x.var()  # pixels are not centred: the second moment is not the variance
    params = manual.init_params(128, seed=0, dtype=np.float64)
    cache = manual.forward(params, x[:10_000])
    var_z1 = np.mean(cache["Z1"] ** 2)
    assert var_z1 == pytest.approx(784 * params["W1"].var() * second_moment, rel=0.1)
    # relu keeps half of a symmetric pre-activation's second moment
    assert np.mean(cache["A1"] ** 2) == pytest.approx(var_z1 / 2, rel=0.05)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hidden": 0}, "hidden must be a positive integer"),
        ({"hidden": 2.5}, "hidden must be a positive integer"),
        ({"dtype": np.int32}, "dtype must be float32 or float64"),
        ({"init": "kaiming"}, "init must be 'he' or 'xavier'"),
    ],
)
def test_init_params_rejects_bad_arguments(kwargs, message):
    with pytest.raises(InputError, match=message):
        manual.init_params(**kwargs)


# -- bad input: clear errors naming the shape or the value ----------------------------------------------------
PARAMS = manual.init_params(10, dtype=np.float64)
X, Y = random_batch(5)


@pytest.mark.parametrize(
    "x, y, error, message",
    [
        (np.zeros((5, 783)), Y, ShapeError, r"x has shape \(5, 783\), expected \(N, 784\)"),
        (np.zeros((5, 28, 28)), Y, ShapeError, r"\(5, 28, 28\).*x.reshape\(len\(x\), 784\)"),
        (np.zeros(784), Y[:1], ShapeError, r"a single image.*x.reshape\(1, 784\)"),
        (np.zeros((0, 784)), np.zeros(0, dtype=int), ShapeError, r"the batch is empty"),
        (X, np.array([1, 2, 10, 3, 4]), InputError, r"label y\[2\] = 10 is out of range.*0..9 \(1 of 5"),
        (X, np.array([1, -1, 2, 3, 4]), InputError, r"label y\[1\] = -1 is out of range"),
        (X, Y.astype(np.float64), InputError, r"labels y must be integers 0..9, got dtype float64.*astype"),
        (X, [1.0, 2.0, 3.0, 4.0, 5.0], InputError, r"got dtype float64"),
        (X, np.array([True] * 5), InputError, r"got dtype bool"),
        (X, Y[:4], ShapeError, r"4 labels for a batch of 5 images"),
        (X, np.eye(10)[Y], ShapeError, r"\(5, 10\), which looks one-hot.*argmax"),
        (X.astype(str), Y, InputError, r"images x must be numbers, got dtype <U"),
    ],
)
def test_forward_rejects_bad_batches(x, y, error, message):
    with pytest.raises(error, match=message) as info:
        manual.forward(PARAMS, x, y)
    assert str(info.value).startswith("forward: ")


def test_backward_checks_labels_and_cache():
    cache = manual.forward(PARAMS, X, Y)
    with pytest.raises(InputError, match=r"backward: label y\[0\] = 12"):
        manual.backward(PARAMS, cache, np.array([12, 0, 0, 0, 0]))
    with pytest.raises(ShapeError, match=r"backward: 3 labels for a batch of 5 images"):
        manual.backward(PARAMS, cache, Y[:3])
    with pytest.raises(InputError, match=r"cache must be the dict returned by forward"):
        manual.backward(PARAMS, {"X": X}, Y)


def test_bad_parameters_are_named():
    with pytest.raises(InputError, match=r"missing \['b2'\]"):
        manual.forward({k: v for k, v in PARAMS.items() if k != "b2"}, X, Y)
    with pytest.raises(ShapeError, match=r"W1 \(784, 10\), b1 \(10,\), W2 \(11, 10\)"):
        manual.forward({**PARAMS, "W2": np.zeros((11, 10))}, X, Y)
    with pytest.raises(InputError, match=r"mix dtypes \(W1 float64, b1 float32"):
        manual.forward({**PARAMS, "b1": PARAMS["b1"].astype(np.float32)}, X, Y)
    with pytest.raises(InputError, match=r"params\['W1'\] must be a float32 or float64 NumPy array, got list"):
        manual.forward({**PARAMS, "W1": [[0.0]]}, X, Y)


def test_docstring_examples():
    import doctest

    import tinygrad_edu.manual.network as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

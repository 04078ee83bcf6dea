"""One test per defect found by checking the engine against PyTorch's documented behaviour (issue 10).

Expected values are worked out by hand from the documented convention (comments say how); torch is not
needed. Each test failed on the engine before the fix.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import tinygrad_edu.functional as F
from tinygrad_edu import Tensor, gradcheck, gradcheck_report, is_grad_enabled, no_grad
from tinygrad_edu.errors import GradError, ShapeError
from tinygrad_edu.nn import MLP, Linear
from tinygrad_edu.optim import SGD, Adam
from tinygrad_edu.tensor import iter_backward


@pytest.fixture(autouse=True)
def numpy_warnings_are_errors():
    """PyTorch prints nothing for 0 ** -1 or log(0): neither may we (a RuntimeWarning fails the test)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


# ---- wrong answers -------------------------------------------------------------------------------------
def test_pow_number_exponent_zero_has_gradient_zero_at_base_zero():
    # d(x^0)/dx = 0 * x^-1: PyTorch defines it as 0 wherever the exponent is 0, including x = 0.
    x = Tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_pow_tensor_exponent_gradient_at_base_zero():
    # d(a^b)/db = a^b ln a; at a = 0 with b >= 0 PyTorch uses the limit 0 (a^b -> 0 faster than ln a -> -inf).
    a = Tensor([0.0, 0.0, 2.0], requires_grad=True)
    b = Tensor([2.0, 0.0, 3.0], requires_grad=True)
    out = a**b
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [0.0, 1.0, 8.0])  # 0^0 = 1
    # d/db: 0 (base 0, b = 2), 0 (0^0), 2^3 ln 2 = 8 ln 2
    np.testing.assert_allclose(b.grad, [0.0, 0.0, 8 * np.log(2.0)], rtol=1e-6)
    # d/da = b a^(b-1): 2 * 0 = 0; 0 (exponent 0); 3 * 2^2 = 12
    np.testing.assert_allclose(a.grad, [0.0, 0.0, 12.0])


def test_pow_base_zero_negative_exponent_is_inf_without_warning():
    # 0^-1 = inf; d/da = -1 * 0^-2 = -inf; d/db = inf * ln 0 = inf * -inf = -inf (PyTorch: same, no warning)
    a = Tensor([0.0], requires_grad=True)
    b = Tensor([-1.0], requires_grad=True)
    out = a**b
    out.sum().backward()
    assert out.data[0] == np.inf and a.grad[0] == -np.inf and b.grad[0] == -np.inf


def test_transpose_negative_axes_gradient():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = x.transpose(0, -1, 1)  # = transpose(0, 2, 1): shape (2, 4, 3)
    assert y.shape == (2, 4, 3)
    weights = np.arange(24.0).reshape(2, 4, 3)
    (y * weights).sum().backward()
    # d/dx[i, j, k] = weights[i, k, j]
    assert x.grad.shape == (2, 3, 4)
    np.testing.assert_array_equal(x.grad, weights.transpose(0, 2, 1))


def test_a_backward_returning_the_wrong_shape_is_caught_naming_the_op():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    bad = Tensor._result(x.data * 2, (x,), "bad_op", lambda g: (g.T,))
    with pytest.raises(GradError, match=r"bad_op.*shape \(3, 2\).*\(2, 3\)"):
        bad.sum().backward()
    assert x.grad is None


def test_a_backward_returning_the_broadcast_shape_is_summed_back_as_in_pytorch():
    """An op's backward may return a broadcast input's gradient in the result's shape: the backward loop sums
    it over the broadcast axes (PyTorch's engine does the same), so .grad has the input's shape."""
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    spread = Tensor._result(np.broadcast_to(x.data, (4, 3)), (x,), "spread", lambda g: (g,))
    weights = np.arange(12.0).reshape(4, 3)
    (spread * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, [18.0, 22.0, 26.0])  # column sums of weights


def test_a_gradient_that_is_not_the_input_broadcast_is_refused():
    """(3,) for an input of shape (1, 3) is not a broadcast of it (it has fewer axes): a bug, refused."""
    x = Tensor(np.ones((1, 3)), requires_grad=True)
    bad = Tensor._result(x.data * 2, (x,), "bad_op", lambda g: (g.reshape(3),))
    with pytest.raises(GradError, match=r"bad_op.*shape \(3,\).*\(1, 3\)"):
        bad.sum().backward()
    assert x.grad is None


def test_no_grad_decorator_is_reentrant():
    @no_grad()
    def countdown(n: int) -> bool:
        return countdown(n - 1) if n else is_grad_enabled()

    assert countdown(3) is False
    assert is_grad_enabled()  # the recursion used to leave recording off for the rest of the program
    assert (Tensor([1.0], requires_grad=True) * 2).requires_grad


def test_one_no_grad_object_shared_by_threads():
    guard = no_grad()
    inside = threading.Barrier(2, timeout=30)  # a broken worker fails the test instead of hanging it
    seen: list[bool] = []

    def worker() -> None:
        with guard:
            inside.wait()  # both threads are inside the same no_grad object
            seen.append(is_grad_enabled())
            inside.wait()
        seen.append(is_grad_enabled())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == [False, False, True, True] and is_grad_enabled()


def test_grad_mode_is_per_thread():
    results: list[bool] = []
    with no_grad():
        t = threading.Thread(target=lambda: results.append(is_grad_enabled()))
        t.start()
        t.join()
    assert results == [True]  # another thread's no_grad does not switch this one off (as in PyTorch)


@pytest.mark.parametrize(
    "other",
    [np.array([1, 2]), Tensor([1, 2]), np.int64(2), np.array(3), np.int32(2), [1, 2], True],
    ids=["int-array", "int-tensor", "np.int64", "0-d-int-array", "np.int32", "list", "bool"],
)
def test_float32_with_integers_stays_float32(other):
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    for out in (x + other, other + x, x * other, other * x, x - other, x / other, other / x, x**other):
        assert out.dtype == np.float32, out
    (x * other).sum().backward()
    assert x.grad.dtype == np.float32


def test_int_tensor_with_float_number_is_float32():
    # PyTorch: an integer tensor combined with a Python float gives the default dtype, float32.
    assert (Tensor([1, 2]) * 0.5).dtype == np.float32
    assert (Tensor([1, 2]) / 2).dtype == np.float32  # true division of integers: float32
    np.testing.assert_array_equal(Tensor([1, 2]) / 2, [0.5, 1.0])
    assert (Tensor([1, 2]) + 1).dtype == np.int64


def test_zero_dim_float64_does_not_promote_a_float32_tensor():
    # PyTorch: 0-d tensors take part in promotion only when their category (int < float) is higher.
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    s = Tensor(np.float64(2.0), requires_grad=True)
    out = x * s
    assert out.dtype == np.float32
    out.sum().backward()
    assert s.grad.dtype == np.float64 and s.grad == 3.0
    assert (x * Tensor(np.ones(3))).dtype == np.float64  # two dimensioned tensors: the wider float


def test_max_backward_keeps_float32():
    # max splits the gradient between ties by dividing by an integer count: the result must stay float32.
    x = Tensor(np.array([[1.0, 3.0, 3.0]], dtype=np.float32), requires_grad=True)
    y = x.max(axis=1)
    sent_upstream = {id(t): g for t, g, _ in iter_backward((y * 2.0).sum())}
    assert sent_upstream[id(x)].dtype == np.float32  # the gradient itself, not only the stored .grad
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0, 1.0]])  # 2 split over two ties


def test_cross_entropy_of_integer_logits_is_not_truncated():
    # logits [[1, 2, 3]] label 0: log(e^1 + e^2 + e^3) - 1 = 2.40761 ; [[0, 5, 0]] label 1: log(e^5 + 2) - 5
    loss = F.cross_entropy(Tensor([[1, 2, 3], [0, 5, 0]]), np.array([0, 1]))
    expected = (np.log(np.exp(1) + np.exp(2) + np.exp(3)) - 1 + np.log(np.exp(5) + 2) - 5) / 2
    assert loss.dtype == np.float32
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # the example: cross-entropy 5.0134 where the integer engine printed 5
    assert F.cross_entropy(Tensor([[0, 0, 5, 0]]), np.array([0])).item() == pytest.approx(5.0 + np.log(1 + 3 * np.exp(-5)), rel=1e-6)


def test_smooth_ops_on_integer_tensors_compute_in_float32():
    ints = Tensor([1, 2])
    sig = ints.sigmoid()
    assert sig.dtype == np.float32
    np.testing.assert_allclose(sig.data, 1 / (1 + np.exp(-np.array([1.0, 2.0]))), rtol=1e-6)
    for op, reference in [
        (lambda t: t.exp(), np.exp), (lambda t: t.log(), np.log), (lambda t: t.sqrt(), np.sqrt),
        (lambda t: t.tanh(), np.tanh), (lambda t: t.mean(), np.mean),
        (lambda t: t.softmax(), lambda a: np.exp(a) / np.exp(a).sum()),
        (lambda t: t.log_softmax(), lambda a: a - np.log(np.exp(a).sum())),
    ]:
        out = op(ints)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.data, reference(np.array([1.0, 2.0])), rtol=1e-6)


def test_gradcheck_fails_on_a_nan_gradient():
    def nan_grad(x: Tensor) -> Tensor:
        return Tensor._result(x.data * 2, (x,), "nan_grad", lambda g: (g * np.nan,))

    x = Tensor([1.0, 2.0], requires_grad=True)
    report = gradcheck_report(nan_grad, x)
    assert not report.passed and len(report.inputs[0].failures) == 2
    assert "nan" in str(report).lower()
    with pytest.warns(UserWarning, match="FAIL"):
        assert gradcheck(nan_grad, x) is False


def test_gradcheck_fails_on_an_infinite_gradient():
    def inf_grad(x: Tensor) -> Tensor:
        return Tensor._result(x.data * 2, (x,), "inf_grad", lambda g: (g * np.inf,))

    assert not gradcheck_report(inf_grad, Tensor([1.0], requires_grad=True)).passed


def test_full_reduction_data_is_a_0d_ndarray():
    x = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    for y in (x.sum(), x.mean(), x.max(), x.sum() * 2, x[0, 1], x.sum().exp(), (x.sum() + 1) / 2):
        assert type(y.data) is np.ndarray and y.shape == (), y
        assert type(y.numpy()) is np.ndarray
    y = x.sum()
    y.data[...] = 0
    assert y.item() == 0


# ---- raw NumPy errors that now name our op -------------------------------------------------------------
def test_ragged_lists_are_refused_at_construction():
    with pytest.raises(ShapeError, match=r"Tensor: .*ragged.*equal length"):
        Tensor([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("data", ["abc", ["a", "b"], [object()], None, [1 + 2j]])
def test_non_numeric_data_is_refused_at_construction(data):
    with pytest.raises(TypeError, match=r"Tensor: .*numbers"):
        Tensor(data)


def test_softmax_axis_out_of_range():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"softmax: axis 2 is out of range.*shape \(2, 3\)"):
        x.softmax(axis=2)
    with pytest.raises(ShapeError, match=r"log_softmax: axis -3 is out of range"):
        x.log_softmax(axis=-3)
    with pytest.raises(ShapeError, match=r"softmax: axis -3 is out of range"):
        F.softmax(x, axis=-3)


def test_transpose_with_an_axis_out_of_range():
    with pytest.raises(ShapeError, match=r"transpose: axes \(0, 5\) are not a permutation.*\(2, 3\)"):
        Tensor(np.ones((2, 3))).transpose(0, 5)
    with pytest.raises(ShapeError, match=r"transpose"):
        Tensor(np.ones((2, 3))).transpose(1, 1)


def test_sum_over_the_same_axis_twice():
    with pytest.raises(ShapeError, match=r"sum: axis \(0, 0\) names axis 0 twice"):
        Tensor(np.ones((2, 3))).sum(axis=(0, 0))
    with pytest.raises(ShapeError, match=r"mean: axis \(1, -1\) names axis 1 twice"):
        Tensor(np.ones((2, 3))).mean(axis=(1, -1))
    with pytest.raises(TypeError, match=r"max: axis must be an int or a tuple of ints"):
        Tensor(np.ones((2, 3))).max(axis=1.5)


def test_softmax_of_an_empty_axis_is_empty_as_in_pytorch():
    x = Tensor(np.ones((2, 0), dtype=np.float32), requires_grad=True)
    for out in (x.softmax(axis=1), x.log_softmax(axis=1), x.softmax(axis=0)):
        assert out.shape == (2, 0) and out.dtype == np.float32
        out.sum().backward()
    assert x.grad.shape == (2, 0)


def test_functional_accepts_plain_arrays():
    a = np.array([[-1.0, 0.5, 2.0]])
    np.testing.assert_allclose(F.relu(a).data, [[0.0, 0.5, 2.0]])
    np.testing.assert_allclose(F.tanh(a).data, np.tanh(a))
    np.testing.assert_allclose(F.softmax(a).data.sum(), 1.0)
    assert F.cross_entropy(np.zeros((2, 4)), np.array([0, 3])).item() == pytest.approx(np.log(4))


def test_backward_with_a_gradient_of_strings():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(TypeError, match=r"backward: gradient must hold numbers.*shape \(2,\)"):
        y.backward(["a", "b"])


@pytest.mark.parametrize("eps", [0.0, -1e-6, float("nan"), float("inf")])
def test_gradcheck_refuses_a_useless_step(eps):
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"gradcheck: eps must be a positive finite number"):
        gradcheck(lambda x: x * 2, x, eps=eps)


def test_layers_with_no_units_are_refused():
    with pytest.raises(ValueError, match=r"Linear: in_features must be a positive integer, got 0"):
        Linear(0, 3)
    with pytest.raises(ValueError, match=r"Linear: out_features must be a positive integer, got -2"):
        Linear(3, -2)
    with pytest.raises(ValueError, match=r"MLP: hidden must be a positive integer, got 0"):
        MLP(hidden=0)
    with pytest.raises(TypeError, match=r"Linear: in_features must be a positive integer, got 2.5"):
        Linear(2.5, 3)


def test_adam_betas_must_be_a_pair():
    p = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"Adam: betas must be a pair \(beta1, beta2\).*\(0.9,\)"):
        Adam([p], betas=(0.9,))


def test_integer_to_negative_integer_power():
    with pytest.raises(ValueError, match=r"pow: integers to negative integer powers are not allowed.*-1\.0"):
        Tensor([1, 2]) ** -1
    np.testing.assert_array_equal((Tensor([1, 2]) ** -1.0).data, [1.0, 0.5])  # a float exponent: float32
    np.testing.assert_array_equal((Tensor([1, 2]) ** 2).data, [1, 4])


def test_len_of_a_0d_tensor():
    with pytest.raises(TypeError, match="len.*0-d tensor"):
        len(Tensor(1.0))


def test_log_of_zero_is_minus_inf_with_infinite_gradient_and_no_warning():
    x = Tensor([0.0, 1.0], requires_grad=True)
    y = x.log()
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [-np.inf, 0.0])
    np.testing.assert_array_equal(x.grad, [np.inf, 1.0])


def test_sqrt_of_zero_has_infinite_gradient_and_no_warning():
    x = Tensor([0.0, 4.0], requires_grad=True)
    x.sqrt().sum().backward()
    np.testing.assert_array_equal(x.grad, [np.inf, 0.25])


def test_division_by_zero_without_warning():
    out = Tensor([1.0, -1.0, 0.0]) / 0.0
    np.testing.assert_array_equal(out.data[:2], [np.inf, -np.inf])
    assert np.isnan(out.data[2])


# ---- optimizers --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, name",
    [
        (lambda p: SGD(p, lr=float("nan")), "lr"),
        (lambda p: SGD(p, lr=float("inf")), "lr"),
        (lambda p: SGD(p, lr=0.1, momentum=float("nan")), "momentum"),
        (lambda p: SGD(p, lr=0.1, weight_decay=float("inf")), "weight_decay"),
        (lambda p: SGD(p, lr=0.1, weight_decay=float("nan")), "weight_decay"),
        (lambda p: Adam(p, lr=float("nan")), "lr"),
        (lambda p: Adam(p, eps=float("nan")), "eps"),
        (lambda p: Adam(p, eps=float("inf")), "eps"),
        (lambda p: Adam(p, weight_decay=float("nan")), "weight_decay"),
        (lambda p: Adam(p, betas=(float("nan"), 0.999)), "betas"),
        (lambda p: SGD(p, lr="0.1"), "lr"),
    ],
)
def test_optimizers_refuse_non_finite_hyperparameters(make, name):
    p = Tensor([1.0], requires_grad=True)
    with pytest.raises((ValueError, TypeError), match=rf"{name}"):
        make([p])


def test_optimizer_lr_set_later_is_checked_too():
    opt = SGD([Tensor([1.0], requires_grad=True)], lr=0.1)
    opt.lr = 0.05  # schedules change lr between steps
    with pytest.raises(ValueError, match="SGD: lr must be positive and finite, got nan"):
        opt.lr = float("nan")


def test_a_parameter_listed_twice_is_refused():
    w = Tensor([1.0], requires_grad=True, name="w")
    with pytest.raises(ValueError, match=r"SGD: parameter 1 \(w\) is the same tensor as parameter 0"):
        SGD([w, w], lr=0.1)
    array = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match=r"Adam: parameter 1 is the same .* as parameter 0"):
        Adam([array, array])


def test_negating_a_bool_tensor_names_the_op():
    with pytest.raises(TypeError, match="neg: -x of a bool tensor"):
        -Tensor([True, False])


def test_dropout_of_integers_is_not_truncated():
    from tinygrad_edu.nn import Dropout

    out = Dropout(0.5, seed=0)(Tensor(np.ones(1000, dtype=np.int64)))
    assert out.dtype == np.float32 and set(np.unique(out.data)) <= {0.0, 2.0} and (out.data == 2.0).any()


def test_linear_layer_on_integer_input_stays_float32():
    out = Linear(3, 2, rng=np.random.default_rng(0))(np.array([[1, 2, 3]]))
    assert out.dtype == np.float32


# ---- issue 23: silently wrong answers and raw NumPy errors of the Tensor API ----------------------------
def test_tensor_copies_its_input_as_torch_tensor_does():
    # torch.tensor(a) copies: y = sum(x * x) recorded with a = [1, 2] has gradient 2x = [2, 4], whatever a becomes.
    a = np.array([1.0, 2.0])
    x = Tensor(a, requires_grad=True)
    loss = (x * x).sum()
    a[0] = 100.0
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    assert loss.item() == 5.0
    t = Tensor(x)  # from another Tensor: a copy too
    t.data[0] = -1.0
    assert x.data[0] == 1.0


def test_from_numpy_shares_memory_on_purpose():
    from tinygrad_edu import from_numpy

    a = np.zeros(3, dtype=np.float32)
    x = from_numpy(a, requires_grad=True)
    a[1] = 7.0
    assert x.data[1] == 7.0 and x.requires_grad
    with pytest.raises(TypeError, match="from_numpy: expected a NumPy array, got list"):
        from_numpy([1.0])
    with pytest.raises(GradError, match="from_numpy: requires_grad=True needs floating-point data"):
        from_numpy(np.arange(3), requires_grad=True)


def test_detach_shares_memory_as_in_pytorch():
    x = Tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    d.data[0] = 5.0
    assert x.data[0] == 5.0 and not d.requires_grad


@pytest.mark.parametrize("flag", ["no", 1, 0.5, None, [True]])
def test_requires_grad_accepts_bools_only(flag):
    with pytest.raises(TypeError, match="Tensor: requires_grad must be True or False"):
        Tensor([1.0], requires_grad=flag)
    assert Tensor([1.0], requires_grad=np.bool_(True)).requires_grad is True


def test_numpy_ufuncs_on_a_tensor_are_the_tensor_ops():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = np.exp(x)
    assert isinstance(y, Tensor) and y._op == "exp"
    total = np.sum(y * np.array([1.0, 3.0]))  # ndarray * Tensor and np.sum: Tensor ops too
    assert isinstance(total, Tensor)
    total.backward()
    np.testing.assert_allclose(x.grad, [np.e, 3 * np.e**2], rtol=1e-6)  # d/dx sum(w e^x) = w e^x
    assert np.mean(x).item() == 1.5 and np.max(x).item() == 2.0
    np.testing.assert_array_equal(np.array([2.0, 2.0]) < x, [False, False])  # ndarray < Tensor: x > ndarray
    assert np.reshape(x, (2, 1)).shape == (2, 1)


def test_numpy_functions_that_would_lose_the_gradient_are_refused():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for call, name in ((lambda: np.sin(x), "np.sin"), (lambda: np.concatenate([x, x]), "np.concatenate"),
                       (lambda: np.add.reduce(x), "np.add.reduce")):
        with pytest.raises(TypeError, match=rf"{name} on a Tensor that requires grad.*exp, log"):
            call()
    with pytest.raises(TypeError, match=r"np.sum on a Tensor: .*out"):
        np.sum(x, out=np.zeros(()))
    # without a gradient to lose, NumPy computes on the values, as it does for torch tensors
    plain = Tensor([0.0, 1.0])
    np.testing.assert_allclose(np.sin(plain), [0.0, np.sin(1.0)], rtol=1e-6)
    assert np.concatenate([plain, plain]).shape == (4,)


def test_gradcheck_max_coords_must_be_a_positive_integer():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=r"gradcheck: max_coords must be a positive integer .* got"):
            gradcheck(lambda x: x * 2, x, max_coords=bad)
    assert gradcheck(lambda x: x * 2, x, max_coords=1)


def test_relu_passes_the_gradient_at_nan_as_pytorch():
    # PyTorch: relu's gradient is 0 where input <= 0, and NaN <= 0 is false, so the gradient passes at NaN.
    x = Tensor([np.nan, 1.0, -1.0, 0.0], requires_grad=True)
    y = x.relu()
    y.sum().backward()
    assert np.isnan(y.data[0])
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 0.0, 0.0])


def test_a_complex_gradient_is_refused():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(TypeError, match="backward: gradient must hold real numbers, got complex"):
        y.backward(np.array([1 + 1j, 1]))


def test_load_state_dict_refuses_values_that_do_not_fit():
    model = MLP(hidden=4, seed=0)
    before = {name: value.copy() for name, value in model.state_dict().items()}
    huge = {name: np.full(value.shape, 1e300) for name, value in before.items()}
    with pytest.raises(ValueError, match=r"load_state_dict: .* up to 1e\+300, beyond the largest float32"):
        model.load_state_dict(huge)
    strings = {name: np.full(value.shape, "a") for name, value in before.items()}
    with pytest.raises(TypeError, match="load_state_dict: .* holds <U1 values, not numbers"):
        model.load_state_dict(strings)
    for name, value in model.state_dict().items():  # all or nothing: no parameter was changed
        np.testing.assert_array_equal(value, before[name])


def test_a_grad_assigned_by_hand_that_backward_cannot_add_into_is_refused_before_backward():
    # PyTorch refuses x.grad = torch.ones(3) for x of shape (5,) at the assignment ("assigned grad has data of a
    # different size"). Here it is refused when backward starts, before any gradient is added: NumPy would
    # otherwise fail half-way (".grad" of w already updated) with "operands could not be broadcast".
    read_only = np.ones(5)
    read_only.flags.writeable = False
    for bad, phrase in ((np.ones(3), r"float64 array of shape \(3,\)"), (np.ones(5, dtype=np.int64), "int64 array"),
                        ([1.0] * 5, "list"), (read_only, "read-only float64")):
        x = Tensor(np.ones(5, np.float32), requires_grad=True, name="w")
        w = Tensor(np.ones(5, np.float32), requires_grad=True)
        w.grad = np.full(5, 3.0, np.float32)
        x.grad = bad
        with pytest.raises(GradError, match=rf"backward: the tensor 'w' of shape \(5,\) has a .grad of {phrase}"):
            (x * w).sum().backward()
        np.testing.assert_array_equal(w.grad, 3.0)  # refused before any gradient was added
    other = Tensor(np.ones(2, np.float32), requires_grad=True)
    other.grad = np.ones(7)  # not in the graph below: not its business
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    x.grad = np.ones(2, np.float32)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    x.grad = np.ones(9)
    x.zero_grad()  # a bad .grad reset before backward is no longer a problem
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_data_replaced_by_another_shape_is_named_not_a_raw_numpy_error():
    # PyTorch also refuses this at backward ("returned an invalid gradient ... expected shape compatible with").
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    w = Tensor(np.ones((3, 4)), requires_grad=True)
    loss = (x @ w).sum()
    x.data = np.ones((3, 5))
    with pytest.raises(GradError, match=r"matmul.*\.data was replaced by an array of another shape"):
        loss.backward()


def test_ops_keep_the_arrays_of_their_forward():
    # PyTorch saves an op's inputs: assigning .data afterwards does not change the recorded gradient.
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([3.0, 4.0], requires_grad=True)
    loss = (x * w).sum()
    w.data = np.array([30.0, 40.0], np.float32)
    loss.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


@pytest.mark.parametrize("dtype, number", [(np.int32, 2**40), (np.int8, 200), (np.int8, -129), (np.uint8, -1)])
def test_an_integer_that_does_not_fit_the_tensor_dtype_is_refused_as_in_pytorch(dtype, number):
    # PyTorch: torch.tensor([1], dtype=torch.int8) + 200 raises "value cannot be converted to type int8_t
    # without overflow"; NumPy would raise a bare OverflowError (or wrap a NumPy integer without a word).
    x = Tensor(np.array([1], dtype))
    with pytest.raises(OverflowError, match=rf"add: the number {number} does not fit the tensor's dtype"):
        x + number
    with pytest.raises(OverflowError, match=rf"mul: the number {number} does not fit"):
        np.int64(number) * x
    assert (x.astype(np.int64) + number).item() == 1 + number


def test_integer_tensors_wrap_on_overflow_as_in_pytorch():
    # Tensor with tensor: PyTorch and NumPy both wrap: 100 + 100 in int8 is -56.
    assert (Tensor(np.array([100], np.int8)) + Tensor(np.array([100], np.int8))).item() == -56
    assert bool((Tensor(np.array([1], np.int8)) < 256).all())  # a comparison is exact, even beyond the dtype


def test_dtype_conversions_that_do_not_fit_are_refused():
    with pytest.raises(TypeError, match="Tensor: dtype 'foo' is not a NumPy dtype"):
        Tensor([1.0], dtype="foo")
    with pytest.raises(TypeError, match="astype: dtype 'foo' is not a NumPy dtype"):
        Tensor([1.0]).astype("foo")
    with pytest.raises(OverflowError, match=r"Tensor: the values 300..300 do not fit dtype int8"):
        Tensor([300], dtype=np.int8)
    with pytest.raises(ValueError, match="astype: cannot convert NaN or infinity to the integer dtype int64"):
        Tensor([np.nan]).astype(np.int64)


@pytest.mark.parametrize("index", [2**63, -(2**70), 1.5, "a"])
def test_an_index_that_does_not_fit_names_getitem(index):
    with pytest.raises(IndexError, match=r"getitem: index .* does not fit shape \(3,\)"):
        Tensor([1.0, 2.0, 3.0])[index]


def test_optimizer_gradients_as_lists_and_read_only_parameters():
    p = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    SGD([p], lr=0.5).step([[1.0, 1.0, 1.0]])  # a nested list is an array of numbers: accepted
    np.testing.assert_allclose(p.data, [0.5, 1.5, 2.5])
    with pytest.raises(TypeError, match=r"SGD.step: gradient 0 must be an array of numbers, got list \['a'"):
        SGD([p], lr=0.5).step([["a", "b", "c"]])
    frozen = np.ones(3, np.float32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="SGD: parameter 0 is a read-only array"):
        SGD([frozen], lr=0.1)


# ---- found by the issue-23 adversarial pass ----------------------------------------------------------
def test_iterating_a_0d_tensor_is_refused_as_in_pytorch():
    # Through __getitem__ Python iterated a 0-d tensor as empty: list(Tensor(1.0)) was [] without a word.
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(Tensor(1.0))
    rows = list(Tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert len(rows) == 2 and isinstance(rows[0], Tensor) and rows[1].data.tolist() == [3.0, 4.0]


def test_a_gradient_of_nones_is_refused_not_turned_into_nan():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(TypeError, match=r"backward: gradient must hold numbers"):
        y.backward([None, None])


def test_softmax_of_a_row_of_minus_inf_is_nan_without_a_warning():
    # PyTorch: softmax([-inf, -inf]) is [nan, nan], silently; the autouse fixture turns a warning into a failure.
    assert np.isnan(Tensor([[-np.inf, -np.inf]]).softmax().data).all()
    assert np.isnan(Tensor([[-np.inf, -np.inf]]).log_softmax().data).all()


def test_a_float_number_beyond_float32_is_inf_without_a_warning():
    assert np.isinf((Tensor([1.0]) * 1e300).data).all()  # PyTorch: tensor([inf])


def test_argmax_axis_out_of_range_names_the_op():
    with pytest.raises(ShapeError, match=r"argmax: axis 3 is out of range .* \(2, 3\)"):
        Tensor(np.ones((2, 3))).argmax(axis=3)
    assert Tensor([[1.0, 5.0], [7.0, 2.0]]).argmax(axis=-1).tolist() == [1, 0]


def test_gradcheck_seed_must_be_a_whole_number():
    with pytest.raises(ValueError, match=r"gradcheck: seed must be a whole number 0 or more, got -1"):
        gradcheck(lambda x: x * 2, Tensor([1.0], requires_grad=True), seed=-1)

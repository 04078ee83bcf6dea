"""Every op, one line each: forward against NumPy, backward against central finite differences.

``check_op`` is the one helper (as in tinygrad's early test_ops.py): it draws float64 inputs, compares the
op's forward with a NumPy reference, then runs ``gradcheck_report`` and asserts it passed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu.functional as F
from tinygrad_edu import Tensor, gradcheck_report
from tinygrad_edu.errors import ShapeError


def check_op(
    tensor_fn: Callable[..., Tensor],
    numpy_fn: Callable[..., np.ndarray],
    shapes: list[tuple[int, ...]],
    low: float = -2.0,
    high: float = 2.0,
    seed: int = 0,
    away_from_zero: bool = False,
) -> None:
    """Assert that ``tensor_fn`` matches ``numpy_fn`` forward and finite differences backward."""
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(low, high, size=shape) for shape in shapes]
    if away_from_zero:  # keep clear of kinks (relu at 0) and poles (1/x at 0)
        arrays = [np.where(np.abs(a) < 0.1, a + np.sign(a + 1e-12) * 0.1, a) for a in arrays]
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = tensor_fn(*tensors)
    np.testing.assert_allclose(out.data, numpy_fn(*arrays), rtol=1e-12, atol=1e-12)
    report = gradcheck_report(tensor_fn, *tensors, atol=1e-7, rtol=1e-5)
    assert report.passed, str(report)


def np_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# (name, tensor op, NumPy reference, input shapes, keyword arguments for check_op)
OPS = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (3, 4)], {}),
    ("add_broadcast", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (4,)], {}),
    ("radd_number", lambda a: 2.5 + a, lambda a: 2.5 + a, [(3,)], {}),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, [(2, 3, 4), (3, 1)], {}),
    ("rsub_number", lambda a: 1 - a, lambda a: 1 - a, [(3,)], {}),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, [(3, 4), (1, 4)], {}),
    ("rmul_number", lambda a: 3 * a, lambda a: 3 * a, [(2, 2)], {}),
    ("div", lambda a, b: a / b, lambda a, b: a / b, [(3, 4), (4,)], {"away_from_zero": True}),
    ("rdiv_number", lambda a: 1 / a, lambda a: 1 / a, [(5,)], {"away_from_zero": True}),
    ("neg", lambda a: -a, lambda a: -a, [(3, 4)], {}),
    ("pow_number", lambda a: a**3, lambda a: a**3, [(3, 4)], {}),
    ("pow_fraction", lambda a: a**0.5, lambda a: a**0.5, [(3, 4)], {"low": 0.5, "high": 3.0}),
    ("pow_tensor", lambda a, b: a**b, lambda a, b: a**b, [(3, 4), (4,)], {"low": 0.5, "high": 2.0}),
    ("rpow_number", lambda a: 2.0**a, lambda a: 2.0**a, [(3,)], {}),
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4, 5)], {}),
    ("matmul_batched", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (2, 4, 5)], {}),
    ("matmul_broadcast_batch", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4, 5)], {}),
    ("matmul_vector_right", lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4,)], {}),
    ("matmul_vector_left", lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4, 5)], {}),
    ("matmul_dot", lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4,)], {}),
    ("sum_all", lambda a: a.sum(), lambda a: a.sum(), [(3, 4)], {}),
    ("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(axis=1), [(3, 4, 2)], {}),
    ("sum_axes_keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True), lambda a: a.sum(axis=(0, 2), keepdims=True), [(3, 4, 2)], {}),
    ("sum_negative_axis", lambda a: a.sum(axis=-1), lambda a: a.sum(axis=-1), [(3, 4)], {}),
    ("mean_all", lambda a: a.mean(), lambda a: a.mean(), [(3, 4)], {}),
    ("mean_axis", lambda a: a.mean(axis=0), lambda a: a.mean(axis=0), [(3, 4)], {}),
    ("mean_keepdims", lambda a: a.mean(axis=1, keepdims=True), lambda a: a.mean(axis=1, keepdims=True), [(3, 4)], {}),
    ("max_all", lambda a: a.max(), lambda a: a.max(), [(3, 4)], {}),
    ("max_axis", lambda a: a.max(axis=1), lambda a: a.max(axis=1), [(3, 4)], {}),
    ("max_keepdims", lambda a: a.max(axis=0, keepdims=True), lambda a: a.max(axis=0, keepdims=True), [(3, 4)], {}),
    ("exp", lambda a: a.exp(), np.exp, [(3, 4)], {}),
    ("log", lambda a: a.log(), np.log, [(3, 4)], {"low": 0.1, "high": 3.0}),
    ("sqrt", lambda a: a.sqrt(), np.sqrt, [(3, 4)], {"low": 0.1, "high": 3.0}),
    ("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), [(3, 4)], {"away_from_zero": True}),
    ("sigmoid", lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), [(3, 4)], {"low": -5, "high": 5}),
    ("tanh", lambda a: a.tanh(), np.tanh, [(3, 4)], {}),
    ("abs", lambda a: a.abs(), np.abs, [(3, 4)], {"away_from_zero": True}),
    ("clip", lambda a: a.clip(-1.0, 0.5), lambda a: np.clip(a, -1.0, 0.5), [(4, 5)], {}),
    ("clip_min_only", lambda a: a.clip(min=0.25), lambda a: np.maximum(a, 0.25), [(4, 5)], {}),
    ("clip_max_only", lambda a: a.clip(max=-0.25), lambda a: np.minimum(a, -0.25), [(4, 5)], {}),
    ("maximum", lambda a, b: a.maximum(b), np.maximum, [(3, 4), (4,)], {}),
    ("minimum", lambda a, b: a.minimum(b), np.minimum, [(3, 4), (3, 1)], {}),
    ("leaky_relu", lambda a: a.leaky_relu(0.1), lambda a: np.where(a > 0, a, 0.1 * a), [(3, 4)], {"away_from_zero": True}),
    ("F.leaky_relu", F.leaky_relu, lambda a: np.where(a > 0, a, 0.01 * a), [(4,)], {"away_from_zero": True}),
    ("astype", lambda a: a.astype(np.longdouble), lambda a: a.astype(np.longdouble), [(3,)], {}),  # float32 would round the differences
    ("reshape", lambda a: a.reshape(4, 3), lambda a: a.reshape(4, 3), [(3, 4)], {}),
    ("reshape_tuple", lambda a: a.reshape((2, -1)), lambda a: a.reshape((2, -1)), [(3, 4)], {}),
    ("transpose", lambda a: a.transpose(), lambda a: a.transpose(), [(3, 4)], {}),
    ("transpose_axes", lambda a: a.transpose(1, 2, 0), lambda a: a.transpose(1, 2, 0), [(2, 3, 4)], {}),
    ("T", lambda a: a.T, lambda a: a.T, [(3, 4)], {}),
    ("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [(3, 4)], {}),
    ("getitem_int", lambda a: a[1], lambda a: a[1], [(3, 4)], {}),
    ("getitem_pick", lambda a: a[np.arange(3), np.array([0, 3, 1])], lambda a: a[np.arange(3), np.array([0, 3, 1])], [(3, 4)], {}),
    ("getitem_repeated", lambda a: a[np.array([0, 0, 2, 0])], lambda a: a[np.array([0, 0, 2, 0])], [(3, 2)], {}),
    ("softmax", lambda a: a.softmax(), np_softmax, [(3, 5)], {}),
    ("softmax_axis0", lambda a: a.softmax(axis=0), lambda a: np_softmax(a, axis=0), [(3, 5)], {}),
    ("log_softmax", lambda a: a.log_softmax(), lambda a: np.log(np_softmax(a)), [(3, 5)], {}),
    ("F.relu", F.relu, lambda a: np.maximum(a, 0), [(4,)], {"away_from_zero": True}),
    ("F.sigmoid", F.sigmoid, lambda a: 1 / (1 + np.exp(-a)), [(4,)], {}),
    ("F.tanh", F.tanh, np.tanh, [(4,)], {}),
    ("F.softmax", F.softmax, np_softmax, [(2, 4)], {}),
    ("F.log_softmax", F.log_softmax, lambda a: np.log(np_softmax(a)), [(2, 4)], {}),
    (
        "F.cross_entropy_labels",
        lambda z: F.cross_entropy(z, np.array([2, 0, 4])),
        lambda z: -np.log(np_softmax(z)[np.arange(3), [2, 0, 4]]).mean(),
        [(3, 5)],
        {},
    ),
    (
        "F.cross_entropy_one_hot",
        lambda z: F.cross_entropy(z, np.eye(5)[[1, 1, 3]]),
        lambda z: -np.log(np_softmax(z)[np.arange(3), [1, 1, 3]]).mean(),
        [(3, 5)],
        {},
    ),
    ("composite", lambda a, b: ((a @ b).relu() * 2 - 1).tanh().sum(axis=0), lambda a, b: np.tanh(np.maximum(a @ b, 0) * 2 - 1).sum(axis=0), [(3, 4), (4, 2)], {"seed": 3}),
]


@pytest.mark.parametrize("name,tensor_fn,numpy_fn,shapes,kwargs", OPS, ids=[op[0] for op in OPS])
def test_op(name, tensor_fn, numpy_fn, shapes, kwargs):
    check_op(tensor_fn, numpy_fn, shapes, **kwargs)


# ---- broadcasting, over random shapes ------------------------------------------------------------------
BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
}


@settings(max_examples=40, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    op=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**16),
)
def test_binary_ops_broadcast_any_shapes(shapes, op, seed):
    tensor_fn, numpy_fn = BINARY[op]
    check_op(tensor_fn, numpy_fn, list(shapes.input_shapes), low=0.5, high=2.0, seed=seed)


@settings(max_examples=60, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4), seed=st.integers(0, 2**16))
def test_sum_to_shape_is_the_adjoint_of_broadcasting(shapes, seed):
    """<broadcast(x), g> = <x, sum_to_shape(g)> for all x, g: the defining property of broadcast's gradient."""
    from tinygrad_edu.tensor import sum_to_shape

    rng = np.random.default_rng(seed)
    shape = shapes.input_shapes[0]
    x = rng.standard_normal(shape)
    g = rng.standard_normal(shapes.result_shape)
    reduced = sum_to_shape(g, shape)
    assert reduced.shape == shape
    np.testing.assert_allclose(np.sum(np.broadcast_to(x, shapes.result_shape) * g), np.sum(x * reduced), rtol=1e-10, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=st.floats(-3, 3)),
    seed=st.integers(0, 2**16),
)
def test_smooth_unary_ops_any_values(x, seed):
    t = Tensor(x, requires_grad=True)
    for fn in (lambda a: a.exp(), lambda a: a.tanh(), lambda a: a.sigmoid(), lambda a: (a * a).sum(), lambda a: a.softmax()):
        report = gradcheck_report(fn, t, atol=1e-6, rtol=1e-4, seed=seed)
        assert report.passed, str(report)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 4),
    k=st.integers(1, 4),
    m=st.integers(1, 4),
    batch=st.sampled_from([(), (2,), (1, 3)]),
    seed=st.integers(0, 2**16),
)
def test_matmul_any_shapes(n, k, m, batch, seed):
    check_op(lambda a, b: a @ b, np.matmul, [(*batch, n, k), (k, m)], seed=seed)


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]], dtype=np.float32)
    logits = Tensor(z, requires_grad=True)
    loss = F.cross_entropy(logits, np.array([0, 2]))
    loss.backward()
    # Row 0 is confidently right (loss ~0); row 1 puts 1e4 - 5e3 = 5e3 against its label (loss 5e3).
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(2500.0, rel=1e-6)
    np.testing.assert_allclose(logits.grad, [[0, 0, 0], [0, 0.5, -0.5]], atol=1e-6)


def test_log_softmax_is_stable_for_huge_logits():
    out = Tensor(np.array([1e4, 0.0], dtype=np.float32)).log_softmax()
    np.testing.assert_allclose(out.data, [0.0, -1e4])


def test_max_splits_gradient_between_ties():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_relu_derivative_at_zero_is_zero():
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


# ---- the conventions of the newer ops (PyTorch's, worked out by hand) ----------------------------------------
def test_abs_derivative_at_zero_is_zero():
    x = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 1.0])  # sign(x); PyTorch's sgn(0) = 0


def test_clip_passes_the_gradient_at_its_bounds():
    x = Tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    y = x.clip(-1.0, 1.0)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [-1.0, -1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])  # clamp: 1 where min <= x <= max
    np.testing.assert_array_equal(Tensor([0.0, 5.0]).clip(3.0, 1.0).data, [1.0, 1.0])  # min > max: all max
    with pytest.raises(ValueError, match="clip: give min, max or both"):
        x.clip()
    assert Tensor([1, 5]).clip(0, 3).dtype.kind == "i" and Tensor([1, 5]).clip(0.5).dtype == np.float32


def test_maximum_and_minimum_split_ties_evenly():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([3.0, 2.0, 1.0], requires_grad=True)
    a.maximum(b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad, [1.0, 0.5, 0.0])
    a.zero_grad(), b.zero_grad()
    a.minimum(b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 0.5, 1.0])


def test_maximum_with_a_broadcast_number():
    x = Tensor([[-1.0, 0.0, 2.0]], requires_grad=True)
    x.maximum(0.0).sum().backward()  # relu-like, but the tie at 0 shares: d/dx = 0.5 there
    np.testing.assert_array_equal(x.grad, [[0.0, 0.5, 1.0]])


def test_leaky_relu_slope_at_zero_is_the_negative_slope():
    x = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = x.leaky_relu(0.2)
    y.sum().backward()
    np.testing.assert_allclose(y.data, [-0.4, 0.0, 3.0], rtol=1e-6)
    np.testing.assert_allclose(x.grad, [0.2, 0.2, 1.0], rtol=1e-6)  # PyTorch: x > 0 ? 1 : slope


@pytest.mark.parametrize(
    "op, expected",
    [
        (lambda x, y: x < y, [True, False, False]),
        (lambda x, y: x <= y, [True, True, False]),
        (lambda x, y: x > y, [False, False, True]),
        (lambda x, y: x >= y, [False, True, True]),
        (lambda x, y: x == y, [False, True, False]),
        (lambda x, y: x != y, [True, False, True]),
    ],
    ids=["lt", "le", "gt", "ge", "eq", "ne"],
)
def test_comparisons_give_boolean_arrays(op, expected):
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for other in (Tensor([2.0, 2.0, 2.0]), np.array([2.0, 2.0, 2.0]), 2.0, 2):
        result = op(x, other)
        assert type(result) is np.ndarray and result.dtype == bool
        np.testing.assert_array_equal(result, expected)
    # reflected: a NumPy array on the left still gives the mirrored comparison
    np.testing.assert_array_equal(op(np.array([2.0, 2.0, 2.0]), x), op(Tensor([2.0, 2.0, 2.0]), x))


def test_comparison_shape_error_and_identity_semantics():
    with pytest.raises(ShapeError, match=r"lt: shapes \(2,\) and \(3,\)"):
        Tensor([1.0, 2.0]) < Tensor([1.0, 2.0, 3.0])
    x = Tensor([1.0])
    assert (x == None) is False and (x != "text") is True  # noqa: E711 (non-numbers: plain identity)
    assert {x: 1}[x] == 1  # hashable by identity, as PyTorch tensors


def test_float_int_bool_of_one_element_tensors():
    assert float(Tensor([[2.5]])) == 2.5 and int(Tensor(2.7)) == 2 and int(Tensor(-2.7)) == -2
    assert bool(Tensor([1.0])) is True and bool(Tensor(0.0)) is False
    for convert in (float, int, bool):
        with pytest.raises(ShapeError, match=rf"{convert.__name__}: only one-element tensors.*shape \(2,\)"):
            convert(Tensor([1.0, 2.0]))

"""The semantics of Tensor and backward: construction, accumulation, graph order, no_grad, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu.functional as F
from tinygrad_edu import Tensor, gradcheck, gradcheck_report, is_grad_enabled, no_grad
from tinygrad_edu.errors import GradError, ShapeError
from tinygrad_edu.tensor import iter_backward, topological_order


# ---- construction -----------------------------------------------------------------------------------
def test_python_floats_become_float32_and_float64_arrays_stay_float64():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(3.5).dtype == np.float32
    assert Tensor(np.zeros(2, dtype=np.float64)).dtype == np.float64
    assert Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert Tensor([1, 2]).dtype.kind == "i"


def test_attributes_and_conversions():
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="W")
    assert (t.shape, t.ndim, t.size, len(t), t.name) == ((2, 3), 2, 6, 2, "W")
    assert t.is_leaf and t.grad is None
    assert t.numpy() is t.data
    assert Tensor([[4.0]]).item() == 4.0
    assert "requires_grad=True" in repr(t) and "name='W'" in repr(t)
    assert "grad_fn=<sum>" in repr(t.sum())
    d = t.detach()
    assert d.data is t.data and not d.requires_grad and d._op is None


def test_readme_example():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = Tensor([[0.5], [-1.0]], requires_grad=True)
    loss = (x @ w + 2.0).relu().sum()  # rows: 1*0.5 - 2 + 2 = 0.5 > 0, 1.5 - 4 + 2 = -0.5 < 0
    loss.backward()
    np.testing.assert_allclose(loss.item(), 0.5)
    np.testing.assert_allclose(x.grad, [[0.5, -1.0], [0.0, 0.0]])  # dL/dx = 1[z>0] w^T
    np.testing.assert_allclose(w.grad, [[1.0], [2.0]])  # dL/dw = x^T 1[z>0]


# ---- accumulation -------------------------------------------------------------------------------------
def test_gradient_accumulates_when_a_tensor_is_used_twice():
    a = Tensor([3.0], requires_grad=True)
    (a * a).backward()  # d(a^2)/da = 2a
    np.testing.assert_allclose(a.grad, [6.0])


def test_diamond_adds_both_paths():
    x = Tensor([2.0], requires_grad=True)
    y = x * 3  # two paths from x to z, through u and through v
    u, v = y.exp(), y * y
    (u + v).backward()
    np.testing.assert_allclose(x.grad, [3 * np.exp(6.0) + 2 * 6.0 * 3], rtol=1e-6)


def test_tensor_feeding_two_ops_gets_both_contributions():
    # d(b e^b)/db = e^b + b e^b = 3 e^2 at b = 2: b feeds mul directly and through exp.
    b = Tensor([2.0], dtype=np.float64, requires_grad=True)
    (b * b.exp()).sum().backward()
    np.testing.assert_allclose(b.grad, [3 * np.exp(2.0)])
    # d/da sum(a tanh(a)) = tanh(a) + a (1 - tanh(a)^2)
    a = Tensor(np.array([0.3, -1.2]), requires_grad=True)
    (a * a.tanh()).sum().backward()
    np.testing.assert_allclose(a.grad, np.tanh(a.data) + a.data * (1 - np.tanh(a.data) ** 2))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_graphs_match_finite_differences(data):
    """Random DAGs where each node combines earlier nodes: order is topological and gradients are right."""
    n_ops = data.draw(st.integers(1, 12))
    picks = [(data.draw(st.sampled_from(["add", "mul", "tanh", "sub"])), data.draw(st.integers(0, 10**6)), data.draw(st.integers(0, 10**6))) for _ in range(n_ops)]

    def build(x: Tensor, y: Tensor) -> Tensor:
        nodes = [x, y]
        for op, i, j in picks:
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            nodes.append({"add": a + b, "mul": a * b, "sub": a - b, "tanh": a.tanh()}[op])
        return (nodes[-1] * nodes[-1] + sum(nodes[2:], Tensor(0.0, dtype=np.float64))).sum()

    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    x = Tensor(rng.uniform(-0.8, 0.8, 3), requires_grad=True)
    y = Tensor(rng.uniform(-0.8, 0.8, 3), requires_grad=True)
    loss = build(x, y)
    order = topological_order(loss)
    position = {id(t): i for i, t in enumerate(order)}
    assert len(position) == len(order)
    for t in order:
        if t._op is not None:
            assert all(position[id(p)] < position[id(t)] for p in t._inputs)
    report = gradcheck_report(build, x, y, atol=1e-7, rtol=1e-5)
    assert report.passed, str(report)


def test_backward_twice_accumulates_and_zero_grad_resets():
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_allclose(w.grad, [4.0, 8.0])  # 2 * 2w
    w.zero_grad()
    assert w.grad is None
    (w * 5).sum().backward()
    np.testing.assert_allclose(w.grad, [5.0, 5.0])


def test_grad_of_x_plus_x_is_two():
    x = Tensor([1.0, -1.0], requires_grad=True)
    (x + x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0])


def test_grad_has_the_dtype_and_shape_of_the_data():
    w = Tensor(np.ones((3, 1), dtype=np.float32), requires_grad=True)
    (Tensor(np.ones((4, 3), dtype=np.float64)) @ w).sum().backward()
    assert w.grad.shape == (3, 1) and w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad, 4.0)


def test_leaf_grad_is_not_aliased_to_other_gradients():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([1.0], requires_grad=True)
    (a + b).backward(np.array([1.0], dtype=np.float32))
    a.grad += 10
    np.testing.assert_allclose(b.grad, [1.0])


def test_grad_never_aliases_the_callers_gradient_or_a_passed_on_one():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0], requires_grad=True)
    seed = np.array([1.0, 1.0], dtype=np.float32)
    (x + 0.0).backward(seed)  # add hands the caller's array straight on to x
    x.grad += 5
    np.testing.assert_array_equal(seed, [1.0, 1.0])
    m = Tensor(np.ones((2, 2)), requires_grad=True)
    n = Tensor(np.ones((2, 2)), requires_grad=True)
    (m.reshape(4) + n.reshape(4) * 1.0).sum().backward()  # reshape's gradient is a view of the add's
    m.grad += 1
    np.testing.assert_array_equal(n.grad, np.ones((2, 2)))
    out = x * y
    out.retain_grad()
    (out + 0.0).sum().backward()  # out keeps the gradient that mul's backward also uses
    out.grad += 100
    np.testing.assert_array_equal(x.grad, [6.0, 6.0] + np.array([3.0, 4.0]))


@pytest.mark.parametrize("op", ["add", "radd", "sub", "mul", "div", "matmul", "maximum", "x + x", "reshape"])
def test_no_two_grads_share_memory_whatever_the_op(op):
    # .grad keeps an array the backward pass made for that leaf alone; one handed to two tensors, a view,
    # or the caller's gradient must be copied, so changing one .grad in place changes nothing else.
    a = Tensor(np.full((2, 2), 2.0, dtype=np.float32), requires_grad=True)
    b = Tensor(np.full((2, 2), 3.0, dtype=np.float32), requires_grad=True)
    out = {"add": lambda: a + b, "radd": lambda: a.data + b, "sub": lambda: a - b, "mul": lambda: a * b,
           "div": lambda: a / b, "matmul": lambda: a @ b, "maximum": lambda: a.maximum(b),
           "x + x": lambda: a + a + b, "reshape": lambda: a.reshape(4).reshape(2, 2) + b}[op]()
    seed = np.ones(out.shape, dtype=np.float32)
    out.backward(seed)
    grads = [t.grad for t in (a, b) if t.grad is not None]
    assert grads
    for grad in grads:
        assert not np.shares_memory(grad, seed) and grad.flags.writeable
    if len(grads) == 2:
        assert not np.shares_memory(grads[0], grads[1]), op


# ---- intermediates --------------------------------------------------------------------------------------
def test_intermediates_keep_no_grad_unless_retained():
    x = Tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 3
    kept = (x * 2).retain_grad()
    (hidden.sum() + (kept * kept).sum()).backward()
    assert hidden.grad is None
    np.testing.assert_allclose(kept.grad, [4.0, 8.0])  # d(k^2)/dk = 2k
    np.testing.assert_allclose(x.grad, [3 + 8.0, 3 + 16.0])


def test_constants_get_no_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([5.0, 6.0])
    (x * c).sum().backward()
    assert c.grad is None and not c.requires_grad


# ---- no_grad --------------------------------------------------------------------------------------------
def test_no_grad_records_nothing_and_restores_mode():
    w = Tensor([1.0], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = w * 2
        with no_grad():
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert not y.requires_grad and y._op is None
    with pytest.raises(GradError, match="does not require grad"):
        y.backward()


def test_no_grad_as_decorator():
    @no_grad()
    def evaluate(w: Tensor) -> Tensor:
        return w * 2

    out = evaluate(Tensor([1.0], requires_grad=True))
    assert not out.requires_grad and is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError("boom")
    assert is_grad_enabled()


# ---- graph order ---------------------------------------------------------------------------------------
def test_topological_order_puts_inputs_first_and_root_last():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([2.0], requires_grad=True)
    c = a * b
    d = c + a
    loss = d.sum()
    order = topological_order(loss)
    position = {id(t): i for i, t in enumerate(order)}
    assert order[-1] is loss and len(order) == 5
    for t in order:
        if t._op is not None:
            assert all(position[id(p)] < position[id(t)] for p in t._inputs)


def test_iter_backward_yields_each_tensor_once_with_its_complete_gradient():
    a = Tensor([2.0], requires_grad=True)
    b = a * a
    loss = (b + a).sum()
    steps = list(iter_backward(loss))
    assert steps[0][0] is loss
    assert len({id(t) for t, _, _ in steps}) == len(steps) == 4  # loss, add, b, a
    grads = {id(t): g for t, g, _ in steps}
    np.testing.assert_allclose(grads[id(a)], [2 * 2.0 + 1])  # d(a^2 + a)/da
    np.testing.assert_allclose(a.grad, [5.0])


def test_iter_backward_tells_what_each_op_sent_to_its_inputs():
    a = Tensor([2.0, 3.0], requires_grad=True)
    b = Tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    c = Tensor([5.0, 7.0])  # a constant: it is sent nothing
    product = a * a  # one op using a twice: two parts
    scaled = b * product  # product, shape (2,), broadcast over b's 3 rows
    steps = {id(t): (g, parts) for t, g, parts in iter_backward((scaled * c).sum())}
    assert steps[id(a)][1] == [] and steps[id(b)][1] == []  # leaves send nothing
    assert id(c) not in steps  # a constant receives no gradient
    # dL/dscaled = c on every row; mul sends b the rows times product, and product their sum times b
    (to_b, part_b), (to_product, part_product) = steps[id(scaled)][1]
    assert to_b is b and to_product is product
    np.testing.assert_allclose(part_b, np.tile([5.0 * 4.0, 7.0 * 9.0], (3, 1)))
    np.testing.assert_allclose(part_product, [15.0, 21.0])  # summed back to product's shape (2,)
    # product = a * a sends dL/dproduct times the other a, once per use
    assert [(t is a, part.tolist()) for t, part in steps[id(product)][1]] == [(True, [30.0, 63.0])] * 2
    np.testing.assert_allclose(a.grad, [60.0, 126.0])  # d(3 c a^2)/da = 6 c a


def test_chain_of_100000_ops_backpropagates_without_recursion():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x
    for _ in range(50_000):  # 100,000 ops: each step is a multiply and an add
        y = y * 1.0001 + 0.0
    limit = sys.getrecursionlimit()
    y.sum().backward()
    assert sys.getrecursionlimit() == limit
    np.testing.assert_allclose(x.grad, [1.0001**50_000] * 2, rtol=1e-8)


# ---- errors that teach -----------------------------------------------------------------------------------
def test_backward_on_non_scalar_without_gradient_names_the_shape():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(GradError, match=r"shape \(2, 3\).*loss\.sum\(\)"):
        y.backward()


def test_backward_with_gradient_of_the_wrong_shape():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(ShapeError, match=r"gradient has shape \(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))
    y.backward(np.ones((2, 3)))  # the right shape works


def test_matmul_shape_error_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\).*last axis of a \(3\).*\(4\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"mul: shapes \(2, 3\) and \(2,\)"):
        Tensor(np.ones((2, 3))) * Tensor(np.ones(2))
    with pytest.raises(ValueError):  # ShapeError is a ValueError, as NumPy users expect
        Tensor(np.ones((2, 3))) + np.ones(4)


def test_requires_grad_on_integers_is_refused():
    with pytest.raises(GradError, match=r"floating-point.*int64.*shape \(3,\)"):
        Tensor([1, 2, 3], requires_grad=True)


def test_other_errors():
    with pytest.raises(ShapeError, match=r"reshape.*\(2, 3\).*\(4,\)"):
        Tensor(np.ones((2, 3))).reshape(4)
    with pytest.raises(ValueError, match="log: 1 of 2 entries"):
        Tensor([1.0, -1.0]).log()
    with pytest.raises(ShapeError, match="axis 2 is out of range"):
        Tensor(np.ones((2, 3))).sum(axis=2)
    with pytest.raises(ShapeError, match="item"):
        Tensor([1.0, 2.0]).item()
    with pytest.raises(IndexError, match=r"getitem.*shape \(2,\)"):
        Tensor([1.0, 2.0])[5]


def test_cross_entropy_rejects_bad_targets():
    z = Tensor(np.zeros((3, 4)), requires_grad=True)
    with pytest.raises(ValueError, match="label 7 is out of range.*0..3"):
        F.cross_entropy(z, np.array([0, 7, 1]))
    with pytest.raises(TypeError, match="labels must be integers.*float64"):
        F.cross_entropy(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ShapeError, match="2 labels for a batch of 3"):
        F.cross_entropy(z, np.array([0, 1]))
    with pytest.raises(ShapeError, match=r"logits must have shape \(batch, classes\)"):
        F.cross_entropy(Tensor(np.zeros(4)), np.array([0]))


# ---- operands of every kind ------------------------------------------------------------------------------
def test_numbers_and_arrays_on_either_side():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    arr = np.array([10.0, 20.0])
    out = (arr + x) * (x - arr) / (2 + x) - (arr / x) + (3 - x) * arr
    assert isinstance(out, Tensor)
    expected = (arr + x.data) * (x.data - arr) / (2 + x.data) - arr / x.data + (3 - x.data) * arr
    np.testing.assert_allclose(out.data, expected)
    assert gradcheck(lambda x: (arr + x) * (x - arr) / (2 + x) - (arr / x) + (3 - x) * arr, x)


def test_float32_stays_float32_with_python_numbers():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (x * 2.5 + 1) / 3.0 - 0.5
    assert y.dtype == np.float32


# ---- gradcheck itself --------------------------------------------------------------------------------------
def test_gradcheck_catches_a_wrong_backward():
    from tinygrad_edu.tensor import Tensor as T

    def wrong_square(x: Tensor) -> Tensor:
        return T._result(x.data**2, (x,), "wrong_square", lambda g: (g * x.data,))  # should be 2x

    x = Tensor([1.0, 2.0], requires_grad=True)
    report = gradcheck_report(wrong_square, x)
    assert not report.passed and len(report.inputs[0].failures) == 2
    assert report.inputs[0].max_rel_error == pytest.approx(0.5, rel=1e-6)
    with pytest.warns(UserWarning, match="FAIL"):
        assert gradcheck(wrong_square, x) is False


def test_gradcheck_reports_kinks_instead_of_comparing():
    x = Tensor([0.0, 1.0], requires_grad=True)
    report = gradcheck_report(lambda x: x.relu().sum(), x)
    assert not report.passed
    assert [k.index for k in report.inputs[0].kinks] == [(0,)]
    kink = report.inputs[0].kinks[0]
    assert (kink.left_slope, kink.right_slope) == pytest.approx((0.0, 1.0), abs=1e-6)
    assert "kink" in str(report)


def test_gradcheck_works_in_float64_on_float32_inputs():
    x = Tensor(np.array([0.3, -0.7, 1.1], dtype=np.float32), requires_grad=True)
    report = gradcheck_report(lambda x: (x * x * x).tanh(), x, atol=1e-9, rtol=1e-7)
    assert report.passed, str(report)
    assert x.grad is None  # the check ran on a float64 copy


def test_gradcheck_max_coords_samples():
    x = Tensor(np.random.default_rng(0).standard_normal((10, 10)), requires_grad=True)
    report = gradcheck_report(lambda x: x.exp().sum(), x, max_coords=7)
    assert report.passed and report.inputs[0].checked == 7

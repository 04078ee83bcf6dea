"""float32 stays float32: every op of the op table, forward and backward, also with integer constants mixed in.

PyTorch's promotion rules keep a float32 tensor float32 when it meets Python numbers, integer arrays,
integer tensors, NumPy integer scalars or 0-d float64 values; so must we, or a float32 network silently
trains in float64 (twice the memory, and numbers that differ from PyTorch's).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_ops import OPS

import tinygrad_edu.functional as F
from tinygrad_edu import Tensor
from tinygrad_edu.tensor import iter_backward


def float32_inputs(shapes, low=-2.0, high=2.0, seed=0, away_from_zero=False):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(low, high, size=shape) for shape in shapes]
    if away_from_zero:
        arrays = [np.where(np.abs(a) < 0.1, a + np.sign(a + 1e-12) * 0.1, a) for a in arrays]
    return [Tensor(a.astype(np.float32), requires_grad=True) for a in arrays]


def assert_float32_forward_and_backward(out: Tensor, inputs: list[Tensor], label: str) -> None:
    assert out.dtype == np.float32, f"{label}: result is {out.dtype}"
    loss = (out * 1.0).sum()
    for tensor, grad, _ in iter_backward(loss):  # every gradient passed along, not only the stored .grad
        assert grad.dtype == np.float32, f"{label}: a gradient of shape {grad.shape} is {grad.dtype}"
    for tensor in inputs:
        assert tensor.grad is None or tensor.grad.dtype == np.float32


# The astype line converts to long double on purpose; every other op keeps float32.
FLOAT32_OPS = [op for op in OPS if op[0] != "astype"]


@pytest.mark.parametrize("name,tensor_fn,numpy_fn,shapes,kwargs", FLOAT32_OPS, ids=[op[0] for op in FLOAT32_OPS])
def test_every_op_keeps_float32(name, tensor_fn, numpy_fn, shapes, kwargs):
    inputs = float32_inputs(shapes, **kwargs)
    assert_float32_forward_and_backward(tensor_fn(*inputs), inputs, name)


INTEGER_CONSTANTS = {
    "int array": lambda shape: np.arange(1, 1 + int(np.prod(shape))).reshape(shape),
    "int32 array": lambda shape: np.ones(shape, dtype=np.int32) * 2,
    "int tensor": lambda shape: Tensor(np.full(shape, 3)),
    "np.int64": lambda shape: np.int64(2),
    "python int": lambda shape: 2,
    "bool array": lambda shape: np.ones(shape, dtype=bool),
    "0-d float64": lambda shape: np.array(0.5),
    "np.float64": lambda shape: np.float64(0.5),
}
BINARY = {
    "add": lambda x, c: x + c,
    "radd": lambda x, c: c + x,
    "sub": lambda x, c: x - c,
    "rsub": lambda x, c: c - x,
    "mul": lambda x, c: x * c,
    "rmul": lambda x, c: c * x,
    "div": lambda x, c: x / c,
    "rdiv": lambda x, c: c / x,
    "pow": lambda x, c: x.abs() ** c,
    "rpow": lambda x, c: c ** x,
    "maximum": lambda x, c: x.maximum(c),
    "minimum": lambda x, c: x.minimum(c),
    "matmul": lambda x, c: x @ (c if np.ndim(c) else np.eye(3, dtype=np.int64)),  # matmul needs a matrix
}


@pytest.mark.parametrize("constant", sorted(INTEGER_CONSTANTS))
@pytest.mark.parametrize("op", sorted(BINARY))
def test_float32_with_integer_constants_stays_float32(op, constant):
    (x,) = float32_inputs([(3, 3)], low=0.5, high=2.0)
    c = INTEGER_CONSTANTS[constant]((3, 3))
    if op == "matmul" and isinstance(c, Tensor):
        c = c.data
    assert_float32_forward_and_backward(BINARY[op](x, c), [x], f"{op} with {constant}")


def test_cross_entropy_with_integer_one_hot_targets_stays_float32():
    (z,) = float32_inputs([(2, 3)])
    assert_float32_forward_and_backward(F.cross_entropy(z, np.eye(3, dtype=np.int64)[[0, 2]]), [z], "cross_entropy")


def test_optimizer_steps_keep_float32():
    from tinygrad_edu.optim import SGD, Adam

    for make in (lambda p: SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-4), lambda p: Adam(p, weight_decay=1e-4)):
        (w,) = float32_inputs([(3, 2)])
        (w * np.arange(6).reshape(3, 2)).sum().backward()
        make([w]).step()
        assert w.data.dtype == np.float32

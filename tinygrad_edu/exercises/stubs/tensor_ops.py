"""Exercise tensor-ops (lesson 3): the backward of the operations on whole arrays.

Fill in the functions, then run:  tinygrad-edu exercise check tensor-ops

Each function gets the operation's input(s) and g = dL/d(output), which has the OUTPUT's shape, and returns
dL/d(input), which must have the INPUT's shape. Checking the shapes is half the derivation.
"""

import numpy as np


def matmul_backward(A, B, G):
    """out = A @ B with A (n, k), B (k, m), so G is (n, m). Return (dA, dB) of shapes (n, k) and (k, m).

    Hint: out[i, j] = sum_t A[i, t] B[t, j]; find dL/dA[i, t], then write it as one matrix product (the
    shapes leave only one way to do it).
    """
    raise NotImplementedError("write matmul_backward")


def sum_backward(x, axis, g):
    """out = x.sum(axis=axis) (no keepdims), so g lacks that axis. Return dx of x's shape.

    Hint: every entry of x enters one sum with weight 1; put the axis back (np.expand_dims) and broadcast.
    """
    raise NotImplementedError("write sum_backward")


def mean_backward(x, axis, g):
    """out = x.mean(axis=axis). Return dx of x's shape. Hint: a mean is a sum times a constant."""
    raise NotImplementedError("write mean_backward")


def max_backward(x, axis, g):
    """out = x.max(axis=axis). Return dx of x's shape.

    Hint: only the entry that is the maximum moves the output. When several entries tie for the maximum,
    split the gradient evenly between them (each gets g / number of ties), as tinygrad_edu (and torch.amax) do.
    """
    raise NotImplementedError("write max_backward")


def reshape_backward(x, g):
    """out = x.reshape(some new shape), so g has that new shape. Return dx of x's shape."""
    raise NotImplementedError("write reshape_backward")


def transpose_backward(x, g):
    """out = x.T for a 2-D x, so g has the shape of x.T. Return dx of x's shape."""
    raise NotImplementedError("write transpose_backward")


def pick_backward(x, labels, g):
    """out = x[np.arange(n), labels]: entry labels[i] of each row i of x (n, c), so g is (n,). Return dx (n, c).

    Hint: the entries that were not picked do not move the output. This is the step that picks each
    example's log-probability of its true class in the cross-entropy.
    """
    raise NotImplementedError("write pick_backward")

"""Functions on tensors, PyTorch's ``torch.nn.functional`` style: ``import tinygrad_edu.functional as F``.

Most are the Tensor methods under another name. :func:`cross_entropy` is an operation of its own: its
forward and its backward are written together here, fused, because the combined derivative of softmax
and the negative log-likelihood is far simpler (and more stable) than the two pieces chained:

.. math:: \\frac{\\partial L}{\\partial z} = \\frac{P - Y}{N}
"""

from __future__ import annotations

import numpy as np

from tinygrad_edu.errors import ShapeError
from tinygrad_edu.tensor import ArrayLike, Tensor


def _tensor(x: ArrayLike) -> Tensor:
    """Accept a plain array or nested list where a Tensor is expected, as a constant (no gradient)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def relu(x: ArrayLike) -> Tensor:
    """``max(x, 0)`` elementwise; see :meth:`Tensor.relu`."""
    return _tensor(x).relu()


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> Tensor:
    """``x`` where positive, else ``negative_slope * x``; see :meth:`Tensor.leaky_relu`."""
    return _tensor(x).leaky_relu(negative_slope)


def sigmoid(x: ArrayLike) -> Tensor:
    """``1 / (1 + e^-x)`` elementwise; see :meth:`Tensor.sigmoid`."""
    return _tensor(x).sigmoid()


def tanh(x: ArrayLike) -> Tensor:
    """``tanh(x)`` elementwise; see :meth:`Tensor.tanh`."""
    return _tensor(x).tanh()


def softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """Softmax along ``axis``; see :meth:`Tensor.softmax`."""
    return _tensor(x).softmax(axis)


def log_softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """Log-softmax along ``axis`` (log-sum-exp stable); see :meth:`Tensor.log_softmax`."""
    return _tensor(x).log_softmax(axis)


def one_hot(labels: ArrayLike, num_classes: int, dtype: type = np.float32) -> np.ndarray:
    """Labels ``(N,)`` to a one-hot matrix ``(N, num_classes)``: row i has a 1 in column labels[i]."""
    labels = _integer_labels(np.asarray(labels.data if isinstance(labels, Tensor) else labels), num_classes, "one_hot")
    out = np.zeros((labels.shape[0], num_classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def cross_entropy(logits: ArrayLike, targets: ArrayLike) -> Tensor:
    """Mean cross-entropy between ``softmax(logits)`` and the targets, over the batch.

    With logits ``Z`` of shape ``(N, C)``, probabilities ``P = softmax(Z)`` row by row and one-hot targets ``Y``:

    .. math:: \\begin{aligned}
              L &= -\\frac{1}{N} \\sum_{n} \\sum_{c} Y_{nc} \\log P_{nc}, \\cr
              \\frac{\\partial L}{\\partial Z_{nc}} &= \\frac{P_{nc} \\sum_{c'} Y_{nc'} - Y_{nc}}{N}
              = \\frac{P_{nc} - Y_{nc}}{N} \\text{ when each row of } Y \\text{ sums to 1.}
              \\end{aligned}

    ``log P`` is computed as ``Z - logsumexp(Z)`` (shifted by the row maximum), so logits of size 1e4 give
    a finite loss.

    Args:
        logits: unnormalised scores, shape ``(N, C)`` (integer logits are computed in float32).
        targets: integer class labels of shape ``(N,)`` in ``0..C-1``, or class probabilities (e.g. one-hot)
            of shape ``(N, C)``. Targets receive no gradient.

    Returns:
        A scalar tensor, the mean loss.
    """
    logits = _tensor(logits)._floating()
    z = logits.data
    if z.ndim != 2:
        raise ShapeError(
            f"cross_entropy: logits must have shape (batch, classes), got {z.shape}. "
            "For a single example use logits.reshape(1, -1)."
        )
    n, classes = z.shape
    if n == 0:
        raise ShapeError("cross_entropy: the batch is empty (logits of shape (0, C)); there is no mean to take")
    if classes == 0:
        raise ShapeError(f"cross_entropy: logits of shape {z.shape} have no classes; there must be at least one column")
    y = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if y.ndim == 2:
        if y.dtype.kind not in "biuf":
            raise TypeError(f"cross_entropy: one-hot or probability targets must be numbers, got dtype {y.dtype}")
        if y.shape != z.shape:
            raise ShapeError(f"cross_entropy: one-hot targets of shape {y.shape} do not match logits of shape {z.shape}")
        y = y.astype(z.dtype, copy=False)
        labels = None
    else:
        labels = _integer_labels(y, classes, "cross_entropy")
        if labels.shape[0] != n:
            raise ShapeError(f"cross_entropy: {labels.shape[0]} labels for a batch of {n} logits; there must be one label per row")

    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    if labels is None:
        loss = -(y * log_p).sum() / n
    else:
        loss = -log_p[np.arange(n), labels].sum() / n

    def backward(g: np.ndarray):
        p = np.exp(log_p)
        if labels is None:
            grad = p * y.sum(axis=1, keepdims=True) - y
        else:
            grad = p
            grad[np.arange(n), labels] -= 1  # P - Y without building Y
        grad *= g / n
        return (grad,)

    return Tensor._result(np.asarray(loss, dtype=z.dtype), (logits,), "cross_entropy", backward)


def _integer_labels(y: np.ndarray, num_classes: int, op: str) -> np.ndarray:
    """Check that ``y`` is a vector of integer class labels in ``0..num_classes-1`` and return it."""
    if y.ndim != 1:
        raise ShapeError(f"{op}: labels must be a vector of shape (N,), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"{op}: labels must be integers (class indices 0..{num_classes - 1}), got dtype {y.dtype}. "
            "Convert with labels.astype(int), or pass one-hot float targets of shape (N, C)."
        )
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)]
        raise ValueError(f"{op}: label {bad[0]} is out of range; labels must lie in 0..{num_classes - 1}")
    return y

"""The 784-hidden-10 network written with :class:`~tinygrad_edu.Tensor`, so that autodiff derives its gradients.

:func:`autodiff_gradients` runs it from given parameter values (the comparison's second way to the
gradients); :func:`mnist_loss` builds its loss graph on a random batch (what ``tinygrad-edu graph`` draws).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu.manual import network as manual
from tinygrad_edu.tensor import Tensor


def autodiff_gradients(params: manual.Params, x: Any, y: Any) -> tuple[float, dict[str, np.ndarray]]:
    """The same network written with Tensor, from the same parameter values; autodiff derives the gradients.

    Args:
        params: ``W1, b1, W2, b2`` (see :func:`tinygrad_edu.manual.init_params`); their dtype is kept.
        x: images ``(N, 784)``.
        y: integer labels ``(N,)`` in 0..9.

    Returns:
        ``(loss, grads)`` with ``grads`` keyed like :func:`tinygrad_edu.manual.backward`'s result.
    """
    X, y = manual.check_inputs("autodiff_gradients", params, x, y)
    # --8<-- [start:autodiff]
    W1 = Tensor(params["W1"], requires_grad=True, name="W1")
    b1 = Tensor(params["b1"], requires_grad=True, name="b1")
    W2 = Tensor(params["W2"], requires_grad=True, name="W2")
    b2 = Tensor(params["b2"], requires_grad=True, name="b2")
    Z1 = (Tensor(X, name="X") @ W1 + b1).retain_grad()  # keep dL/dZ1 after backward, to compare it
    A1 = Z1.relu().retain_grad()
    Z2 = (A1 @ W2 + b2).retain_grad()
    loss = F.cross_entropy(Z2, y)  # softmax and the mean negative log-likelihood, fused
    loss.backward()
    # --8<-- [end:autodiff]
    grads = {
        "dZ2": Z2.grad, "dW2": W2.grad, "db2": b2.grad, "dA1": A1.grad, "dZ1": Z1.grad, "dW1": W1.grad, "db1": b1.grad
    }
    return loss.item(), grads


def mnist_loss(hidden: int = 128, batch: int = 64, seed: int = 0) -> Tensor:
    """The 784-``hidden``-10 network's cross-entropy loss on a random batch, as a Tensor graph.

    Parameters use He initialisation, :math:`W \\sim \\mathcal N(0, 2/n_{in})`, biases start at 0,
    named ``W1, b1, W2, b2`` (so :func:`tinygrad_edu.viz.draw_graph` groups them into layers); the
    intermediates are named ``Z1, A1, Z2`` as in the hand-derived backprop.

    Args:
        hidden: hidden layer width H.
        batch: number of random examples N.
        seed: seed of the parameters and the random batch.

    Returns:
        The scalar loss; call ``.backward()`` (or :func:`~tinygrad_edu.viz.backward_steps`) on it.
    """
    if hidden < 1 or batch < 1:
        raise ValueError(f"hidden and batch must be at least 1, got hidden={hidden}, batch={batch}")
    rng = np.random.default_rng(seed)

    def he(n_in: int, n_out: int, name: str) -> Tensor:
        w = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out)).astype(np.float32)
        return Tensor(w, requires_grad=True, name=name)

    W1, W2 = he(manual.N_FEATURES, hidden, "W1"), he(hidden, manual.N_CLASSES, "W2")
    b1 = Tensor(np.zeros(hidden, np.float32), requires_grad=True, name="b1")
    b2 = Tensor(np.zeros(manual.N_CLASSES, np.float32), requires_grad=True, name="b2")
    X = Tensor(rng.random((batch, manual.N_FEATURES), dtype=np.float32), name="X")
    y = rng.integers(0, manual.N_CLASSES, size=batch)

    Z1 = X @ W1 + b1
    Z1.name = "Z1"
    A1 = F.relu(Z1)
    A1.name = "A1"
    Z2 = A1 @ W2 + b2
    Z2.name = "Z2"
    loss = F.cross_entropy(Z2, y)
    loss.name = "loss"
    return loss

r"""The 784-hidden-10 MNIST classifier with its backpropagation derived by hand, in plain NumPy.

No :class:`~tinygrad_edu.Tensor` here: every gradient is one line of NumPy that reads like its formula.
Row-vector convention (one example per row), batch of ``N`` examples, ``H`` hidden units::

    X  (N, 784)   the images, one flattened 28x28 picture per row
    Z1 = X W1 + b1          (N, H)    hidden pre-activation
    A1 = relu(Z1)           (N, H)    hidden activation
    Z2 = A1 W2 + b2         (N, 10)   logits
    P  = softmax(Z2)        (N, 10)   class probabilities, row by row
    L  = -(1/N) sum_n log P[n, y_n]   cross-entropy averaged over the batch

Backward, with ``Y`` the one-hot labels (the chain rule, read from the loss back to the input)::

    dZ2 = (P - Y) / N       softmax and cross-entropy together
    dW2 = A1^T dZ2          Z2 = A1 W2 + b2  =>  dL/dW2 = A1^T dL/dZ2
    db2 = sum_n dZ2[n]      b2 is added to every row, so its gradient sums over the batch
    dA1 = dZ2 W2^T
    dZ1 = dA1 * 1[Z1 > 0]   relu passes the gradient where its input was positive
    dW1 = X^T dZ1
    db1 = sum_n dZ1[n]

Every array keeps the parameters' dtype (float32 or float64) from input to gradient: nothing is upcast.

>>> import numpy as np
>>> from tinygrad_edu import manual
>>> params = manual.init_params(hidden=10, seed=0, dtype=np.float64)
>>> x, y = np.random.default_rng(0).random((4, 784)), np.array([3, 1, 4, 1])
>>> cache = manual.forward(params, x, y)
>>> grads = manual.backward(params, cache, y)
>>> grads["dZ2"].shape, grads["dW1"].shape, grads["db1"].shape
((4, 10), (784, 10), (10,))
>>> bool(np.allclose(grads["dZ2"].sum(axis=1), 0))  # each row of (P - Y) / N sums to (1 - 1) / N
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_edu.errors import ShapeError, TinygradEduError
from tinygrad_edu.functional import one_hot  # a NumPy helper: no Tensor is used in this module

N_FEATURES = 784  # 28 x 28 pixels
N_CLASSES = 10
PARAM_NAMES = ("W1", "b1", "W2", "b2")
GRAD_NAMES = ("dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1")  # in the order backward computes them

Params = dict[str, np.ndarray]


class InputError(TinygradEduError, ValueError):
    """Values the network cannot take: labels outside 0..9, float labels, non-numeric pixels, bad parameters."""


def init_params(hidden: int = 128, seed: int = 0, dtype: Any = np.float32, init: str = "he") -> Params:
    r"""Random weights and zero biases for the 784-``hidden``-10 network.

    He initialisation draws both layers' weights from :math:`\mathcal{N}(0, 2 / \text{fan\_in})`, as
    PyTorch's ``kaiming_normal_`` does. A pre-activation has
    :math:`\mathrm{Var}(z_l) = \text{fan\_in}\, \mathrm{Var}(W_l)\, \mathbb{E}[a_{l-1}^2]` (the second
    moment of the layer's inputs), and a ReLU halves it, :math:`\mathbb{E}[\mathrm{relu}(z)^2] = \mathrm{Var}(z)/2`,
    so the factor 2 keeps the scale from layer to layer for ``W2``, whose inputs are ReLU outputs. ``W1``
    sees pixels in [0, 1], whose second moment on MNIST is 0.112: its pre-activations start with variance
    about :math:`2 \cdot 0.112 = 0.22` (see the derivations page). ``init="xavier"`` draws
    :math:`\mathcal{N}(0, 2 / (\text{fan\_in} + \text{fan\_out}))` instead. The numbers are drawn in
    float64 and rounded to ``dtype``, so one seed gives the same network in float32 and float64.

    Args:
        hidden: number of hidden units ``H`` (10 and 128 are the classic sizes).
        seed: seed of the random generator.
        dtype: ``np.float32`` (fast, the default) or ``np.float64`` (for gradient checks).
        init: ``"he"`` or ``"xavier"``.

    Returns:
        ``{"W1": (784, H), "b1": (H,), "W2": (H, 10), "b2": (10,)}``.
    """
    if isinstance(hidden, bool) or not isinstance(hidden, (int, np.integer)) or hidden < 1:
        raise InputError(f"init_params: hidden must be a positive integer (e.g. 10 or 128), got {hidden!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise InputError(f"init_params: dtype must be float32 or float64, got {dtype}")
    if init not in ("he", "xavier"):
        raise InputError(f"init_params: init must be 'he' or 'xavier', got {init!r}")
    rng = np.random.default_rng(seed)

    def weights(fan_in: int, fan_out: int) -> np.ndarray:
        variance = 2.0 / fan_in if init == "he" else 2.0 / (fan_in + fan_out)
        return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(variance)).astype(dtype)

    return {
        "W1": weights(N_FEATURES, hidden),
        "b1": np.zeros(hidden, dtype=dtype),
        "W2": weights(hidden, N_CLASSES),
        "b2": np.zeros(N_CLASSES, dtype=dtype),
    }


def relu(z: np.ndarray) -> np.ndarray:
    """``max(z, 0)`` elementwise (a new array; ``z`` is kept for the backward mask)."""
    return np.maximum(z, 0)


def softmax_cross_entropy(Z2: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, Any]:
    r"""Softmax of the logits row by row, and the mean cross-entropy when labels are given.

    Softmax does not change when a constant is subtracted from a row, so each row is shifted by its
    maximum first: ``exp`` then never overflows. The loss uses
    :math:`-\log P_{n y_n} = \log \sum_k e^{z_{nk}} - z_{n y_n}` (log-sum-exp), so a probability that
    rounds to 0 still gives a finite loss.

    Args:
        Z2: logits ``(N, 10)``.
        y: integer labels ``(N,)``, already checked, or None.

    Returns:
        ``(P, loss)``: probabilities ``(N, 10)`` and the loss, a NumPy scalar of Z2's dtype (None without y).
    """
    shifted = Z2 - Z2.max(axis=1, keepdims=True)
    P = np.exp(shifted)
    sum_exp = P.sum(axis=1, keepdims=True)
    loss = None
    if y is not None:
        loss = np.mean(np.log(sum_exp[:, 0]) - shifted[np.arange(len(y)), y])
    P /= sum_exp  # in place: the exponentials are not needed any more
    return P, loss


def forward(params: Params, x: Any, y: Any = None) -> dict[str, Any]:
    r"""Run the network on a batch and keep every intermediate for the backward pass.

    .. math::
        \begin{aligned}
        Z_1 &= X W_1 + b_1, & A_1 &= \mathrm{relu}(Z_1), \cr
        Z_2 &= A_1 W_2 + b_2, & P &= \mathrm{softmax}(Z_2), \cr
        L &= -\frac{1}{N} \sum_n \log P_{n, y_n}
        \end{aligned}

    Args:
        params: ``W1, b1, W2, b2`` as made by :func:`init_params`.
        x: images ``(N, 784)``; cast to the parameters' dtype (no copy when it already matches).
        y: integer labels ``(N,)`` in 0..9, or None to skip the loss.

    Returns:
        The cache ``{"X", "Z1", "A1", "Z2", "P", "loss"}``; ``loss`` is present only when ``y`` is given.
    """
    X, y = check_inputs("forward", params, x, y)
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    # --8<-- [start:forward]
    Z1 = X @ W1 + b1  # Z1 = X W1 + b1
    A1 = relu(Z1)  # A1 = relu(Z1)
    Z2 = A1 @ W2 + b2  # Z2 = A1 W2 + b2
    P, loss = softmax_cross_entropy(Z2, y)  # P = softmax(Z2), L = -mean_n log P[n, y_n]
    # --8<-- [end:forward]
    cache = {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "P": P}
    if loss is not None:
        cache["loss"] = loss
    return cache


def backward(params: Params, cache: dict[str, Any], y: Any) -> dict[str, np.ndarray]:
    r"""The gradient of the loss with respect to every intermediate and every parameter, by hand.

    .. math::
        \begin{aligned}
        dZ_2 &= \frac{P - Y}{N}, \cr
        dW_2 &= A_1^\top dZ_2, & db_2 &= \textstyle\sum_n dZ_{2,n}, \cr
        dA_1 &= dZ_2 W_2^\top, \cr
        dZ_1 &= dA_1 \odot \mathbb{1}[Z_1 > 0], \cr
        dW_1 &= X^\top dZ_1, & db_1 &= \textstyle\sum_n dZ_{1,n}
        \end{aligned}

    where ``dT`` means :math:`\partial L / \partial T` and ``Y`` is the one-hot matrix of the labels.
    Why ``P - Y``: with :math:`L_n = -\log P_{n y_n}` and :math:`P = \mathrm{softmax}(Z_2)`,
    :math:`\partial L_n / \partial Z_{2,nk} = P_{nk} - Y_{nk}` (the softmax Jacobian and the ``1/P`` of
    the log cancel), and the mean over the batch divides by ``N``.

    Args:
        params: the parameters used by :func:`forward`.
        cache: what :func:`forward` returned for this batch.
        y: the integer labels ``(N,)`` of the batch.

    Returns:
        ``{"dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"}``, each of the shape of what it differentiates.
    """
    if not isinstance(cache, dict) or any(key not in cache for key in ("X", "Z1", "A1", "P")):
        raise InputError("backward: cache must be the dict returned by forward(params, x), with X, Z1, A1 and P")
    X, Z1, A1, P = cache["X"], cache["Z1"], cache["A1"], cache["P"]
    _, y = check_inputs("backward", params, None, y, batch_size=len(X))
    W2 = params["W2"]
    # --8<-- [start:backward]
    N = len(y)  # batch size
    Y = one_hot(y, N_CLASSES, P.dtype)  # row n is 1 in column y[n], 0 elsewhere
    dZ2 = (P - Y) / N  # dZ2 = (P - Y) / N
    dW2 = A1.T @ dZ2  # dW2 = A1^T dZ2
    db2 = dZ2.sum(axis=0)  # db2 = sum over the batch of dZ2
    dA1 = dZ2 @ W2.T  # dA1 = dZ2 W2^T
    dZ1 = dA1 * (Z1 > 0)  # dZ1 = dA1 * 1[Z1 > 0]
    dW1 = X.T @ dZ1  # dW1 = X^T dZ1
    db1 = dZ1.sum(axis=0)  # db1 = sum over the batch of dZ1
    # --8<-- [end:backward]
    return {"dZ2": dZ2, "dW2": dW2, "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def check_inputs(
    op: str, params: Params, x: Any = None, y: Any = None, batch_size: int | None = None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Check the parameters, a batch of images and its labels; the one place that validates inputs.

    Args:
        op: the calling function's name, for the messages.
        params: must hold ``W1 (784, H)``, ``b1 (H,)``, ``W2 (H, 10)``, ``b2 (10,)`` of one float dtype.
        x: images ``(N, 784)``, or None when only labels are checked.
        y: labels ``(N,)``, integers in 0..9, or None.
        batch_size: the expected ``N`` when ``x`` is None.

    Returns:
        ``(x, y)``: ``x`` as an array of the parameters' dtype, ``y`` as an integer array (or None).

    Raises:
        ShapeError: a shape that does not fit (wrong feature count, empty batch, one label per row...).
        InputError: a value that does not fit (float or out-of-range labels, non-numeric data, bad params).
    """
    dtype = _check_params(op, params)
    if x is not None:
        x = np.asarray(x)
        if x.dtype.kind not in "fiu":
            raise InputError(f"{op}: images x must be numbers, got dtype {x.dtype}")
        if x.ndim == 3 and x.shape[1:] == (28, 28):
            raise ShapeError(
                f"{op}: x has shape {x.shape}, a stack of 28x28 images; the network takes one flattened image "
                f"per row, shape (N, {N_FEATURES}). Use x.reshape(len(x), {N_FEATURES})."
            )
        if x.ndim == 1 and x.shape[0] == N_FEATURES:
            raise ShapeError(
                f"{op}: x has shape {x.shape}, a single image; the network takes a batch of shape "
                f"(N, {N_FEATURES}). Use x.reshape(1, {N_FEATURES})."
            )
        if x.ndim != 2 or x.shape[1] != N_FEATURES:
            raise ShapeError(
                f"{op}: x has shape {x.shape}, expected (N, {N_FEATURES}): N images of 28x28 = {N_FEATURES} "
                "pixels, one flattened image per row."
            )
        batch_size = x.shape[0]
        x = x.astype(dtype, copy=False)
    if batch_size == 0:
        raise ShapeError(f"{op}: the batch is empty (x of shape (0, {N_FEATURES})); give at least one image")
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == N_CLASSES:
            raise ShapeError(
                f"{op}: labels y have shape {y.shape}, which looks one-hot; pass the class indices, "
                "shape (N,), e.g. y.argmax(axis=1)"
            )
        if y.ndim != 1:
            raise ShapeError(f"{op}: labels y must have shape (N,), one class index per image; got shape {y.shape}")
        if y.dtype.kind not in "iu":
            example = f" (first value {y[0]!r})" if y.size else ""
            raise InputError(
                f"{op}: labels y must be integers 0..{N_CLASSES - 1}, got dtype {y.dtype}{example}. "
                "If they are whole numbers, convert them with y.astype(np.int64)."
            )
        if batch_size is not None and y.shape[0] != batch_size:
            raise ShapeError(f"{op}: {y.shape[0]} labels for a batch of {batch_size} images; give one label per image")
        if y.size == 0:
            raise ShapeError(f"{op}: the batch is empty (no labels); give at least one image and label")
        out_of_range = (y < 0) | (y >= N_CLASSES)
        if out_of_range.any():
            first = int(np.argmax(out_of_range))
            raise InputError(
                f"{op}: label y[{first}] = {y[first]} is out of range; labels are class indices "
                f"0..{N_CLASSES - 1} ({int(out_of_range.sum())} of {y.size} labels are outside)"
            )
    return x, y


def _check_params(op: str, params: Params) -> np.dtype:
    """Check the four parameter arrays' presence, shapes and common float dtype; return that dtype."""
    missing = [name for name in PARAM_NAMES if not isinstance(params, dict) or name not in params]
    if missing:
        raise InputError(
            f"{op}: params must be a dict with {', '.join(PARAM_NAMES)} (see init_params); missing {missing}"
        )
    arrays = {name: params[name] for name in PARAM_NAMES}
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.dtype not in (np.float32, np.float64):
            kind = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
            raise InputError(f"{op}: params[{name!r}] must be a float32 or float64 NumPy array, got {kind}")
    dtypes = {array.dtype for array in arrays.values()}
    if len(dtypes) > 1:
        found = ", ".join(f"{name} {array.dtype}" for name, array in arrays.items())
        raise InputError(f"{op}: the parameters mix dtypes ({found}); cast them all to one dtype")
    hidden = arrays["b1"].shape[0] if arrays["b1"].ndim == 1 else -1
    expected = {"W1": (N_FEATURES, hidden), "b1": (hidden,), "W2": (hidden, N_CLASSES), "b2": (N_CLASSES,)}
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            found = ", ".join(f"{n} {a.shape}" for n, a in arrays.items())
            raise ShapeError(
                f"{op}: parameter shapes do not fit the 784-H-10 network: got {found}; expected W1 (784, H), "
                "b1 (H,), W2 (H, 10), b2 (10,)"
            )
    return dtypes.pop()

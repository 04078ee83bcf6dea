r"""Optimizers: SGD (with momentum and weight decay) and Adam, updating parameters in place.

They work on plain arrays, so both engines train with the same code:

* autodiff: ``opt = Adam(model.parameters())``, then ``loss.backward(); opt.step()`` reads each
  Tensor's ``.grad`` and updates its ``.data``;
* hand-derived backprop: ``opt = Adam(list(params.values()))`` on the ``{W1, b1, W2, b2}`` arrays, then
  ``opt.step([grads["dW1"], grads["db1"], grads["dW2"], grads["db2"]])``.

Every update is done in place in the parameters' dtype (float32 stays float32: the coefficients are
Python floats, which NumPy applies without upcasting), through one scratch buffer per parameter
allocated at the first step, so a step allocates no new arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from tinygrad_edu.errors import ShapeError
from tinygrad_edu.tensor import Tensor

Param = Tensor | np.ndarray


class Optimizer:
    """Base class: holds the parameters and per-parameter state; subclasses define :meth:`_update`.

    Args:
        params: Tensors (gradients read from ``.grad``) or float NumPy arrays (gradients passed to ``step``).
        lr: the learning rate; an attribute you may change between steps (learning-rate schedules).
    """

    def __init__(self, params: Iterable[Param], lr: float) -> None:
        self.params: list[Param] = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list; pass model.parameters()")
        first_index: dict[int, int] = {}
        for index, param in enumerate(self.params):
            array = param.data if isinstance(param, Tensor) else param
            if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
                kind = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
                raise TypeError(f"{type(self).__name__}: parameter {self._name(index)} must be a float array or Tensor, got {kind}")
            if not array.flags.writeable:
                raise ValueError(f"{type(self).__name__}: parameter {self._name(index)} is a read-only array, and the "
                                 "optimizer updates parameters in place; pass a writable copy (np.array(a))")
            # Listed twice, a parameter would be updated twice per step (PyTorch refuses it too).
            seen = first_index.setdefault(id(array), index)
            if seen != index:
                kind = "tensor" if isinstance(param, Tensor) else "array"
                raise ValueError(
                    f"{type(self).__name__}: parameter {self._name(index)} is the same {kind} as parameter "
                    f"{self._name(seen)}; list each parameter once"
                )
        self.lr = lr
        self.state: list[dict[str, np.ndarray | int]] = [{} for _ in self.params]

    @property
    def lr(self) -> float:
        """The learning rate; setting it (a schedule) checks it is a positive finite number."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = self._hyperparameter("lr", value, "positive and finite", lambda v: v > 0)

    def _hyperparameter(self, name: str, value: float, rule: str, ok: Callable[[float], bool]) -> float:
        """``value`` as a float, or an error naming the optimizer, the hyperparameter and the rule it breaks."""
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{type(self).__name__}: {name} must be {rule}, got {type(value).__name__} {value!r}")
        value = float(value)
        if not (math.isfinite(value) and ok(value)):
            raise ValueError(f"{type(self).__name__}: {name} must be {rule}, got {value}")
        return value

    def _name(self, index: int) -> str:
        name = getattr(self.params[index], "name", None)
        return f"{index} ({name})" if name else str(index)

    def zero_grad(self) -> None:
        """Forget the gradients of Tensor parameters (``.grad = None``) before the next ``backward``."""
        for param in self.params:
            if isinstance(param, Tensor):
                param.zero_grad()

    def step(self, grads: Sequence[np.ndarray | None] | None = None) -> None:
        """Update every parameter once, in place.

        Args:
            grads: one gradient per parameter, in the order of ``params`` (None skips that parameter);
                leave it out to use each Tensor parameter's ``.grad``.
        """
        if grads is None:
            if not all(isinstance(p, Tensor) for p in self.params):
                raise TypeError(
                    f"{type(self).__name__}.step: array parameters have no .grad; pass the gradients, "
                    "e.g. opt.step([grads['dW1'], grads['db1'], grads['dW2'], grads['db2']])"
                )
            grads = [p.grad for p in self.params]
        elif len(grads) != len(self.params):
            raise ShapeError(f"{type(self).__name__}.step: {len(grads)} gradients for {len(self.params)} parameters")
        for index, (param, grad) in enumerate(zip(self.params, grads)):
            if grad is None:
                continue
            array = param.data if isinstance(param, Tensor) else param
            grad = self._checked_gradient(index, grad)
            if grad.shape != array.shape:
                raise ShapeError(
                    f"{type(self).__name__}.step: gradient {index} has shape {grad.shape} but parameter "
                    f"{self._name(index)} has shape {array.shape}; pass the gradients in the order of the parameters"
                )
            state = self.state[index]
            if not state:
                state["scratch"] = np.empty_like(array)
            self._update(array, grad, state)

    def _checked_gradient(self, index: int, grad: Any) -> np.ndarray:
        """Gradient ``index`` as an array of real numbers (a nested list is fine), or an error naming it."""
        try:
            array = np.asarray(grad)
        except ValueError:  # ragged lists
            array = np.asarray(None)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{type(self).__name__}.step: gradient {index} must be an array of numbers, got "
                            f"{type(grad).__name__} {grad!r:.60}")
        return array

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum and L2 weight decay (PyTorch's formulas).

    .. math::
        \begin{aligned}
        g &\leftarrow g + \lambda\, \theta, \cr
        v &\leftarrow \mu\, v + g, \cr
        \theta &\leftarrow \theta - \eta\, v \qquad (\text{plain SGD, } \mu = 0\text{: } \theta \leftarrow \theta - \eta\, g)
        \end{aligned}

    Args:
        params: Tensors or arrays (see :class:`Optimizer`).
        lr: learning rate :math:`\eta`.
        momentum: :math:`\mu` (0 = plain SGD; 0.9 is the usual choice).
        weight_decay: :math:`\lambda`, the L2 penalty :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2` added to the loss.
    """

    def __init__(self, params: Iterable[Param], lr: float = 0.1, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = self._hyperparameter("momentum", momentum, "in [0, 1)", lambda v: 0 <= v < 1)
        self.weight_decay = self._hyperparameter("weight_decay", weight_decay, "a finite number >= 0", lambda v: v >= 0)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        scratch = state["scratch"]
        direction = grad
        if self.weight_decay:
            np.multiply(param, self.weight_decay, out=scratch)  # scratch = lambda theta + g
            scratch += grad
            direction = scratch
        if self.momentum:
            if "velocity" not in state:
                state["velocity"] = np.zeros_like(param)
            velocity = state["velocity"]
            velocity *= self.momentum  # v = mu v + g
            velocity += direction
            direction = velocity
        np.multiply(direction, self.lr, out=scratch)
        param -= scratch  # theta = theta - lr * direction


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with bias correction, as in PyTorch.

    .. math::
        \begin{aligned}
        m &\leftarrow \beta_1 m + (1-\beta_1)\, g, & \hat m &= m / (1 - \beta_1^t), \cr
        v &\leftarrow \beta_2 v + (1-\beta_2)\, g^2, & \hat v &= v / (1 - \beta_2^t), \cr
        \theta &\leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)
        \end{aligned}

    :math:`t = 1, 2, \dots` counts the steps, :math:`g` is the gradient, squares and roots are taken
    coordinate by coordinate. :math:`m` and :math:`v` are moving averages of the gradient and of its square
    (second moment), started at zero; :math:`\hat m` and :math:`\hat v` ("m-hat", "v-hat") correct their bias
    towards zero in the first steps (:math:`\hat m = g` after one step).
    Args:
        params: Tensors or arrays (see :class:`Optimizer`).
        lr: learning rate :math:`\eta` (1e-3 is the usual start).
        betas: :math:`(\beta_1, \beta_2)`, decay rates of the two moving averages.
        eps: :math:`\epsilon`, keeps the division finite.
        weight_decay: L2 penalty added to the gradient (:math:`g \leftarrow g + \lambda\theta`).
    """

    def __init__(self, params: Iterable[Param], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), e.g. (0.9, 0.999); got {betas!r}")
        self.beta1 = self._hyperparameter("betas[0]", betas[0], "in [0, 1)", lambda v: 0 <= v < 1)
        self.beta2 = self._hyperparameter("betas[1]", betas[1], "in [0, 1)", lambda v: 0 <= v < 1)
        self.eps = self._hyperparameter("eps", eps, "positive and finite", lambda v: v > 0)
        self.weight_decay = self._hyperparameter("weight_decay", weight_decay, "a finite number >= 0", lambda v: v >= 0)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        if "m" not in state:
            state["m"], state["v"], state["t"] = np.zeros_like(param), np.zeros_like(param), 0
            if self.weight_decay:
                state["decayed"] = np.empty_like(param)
        m, v, scratch = state["m"], state["v"], state["scratch"]
        state["t"] += 1
        t = state["t"]
        if self.weight_decay:
            decayed = np.multiply(param, self.weight_decay, out=state["decayed"])  # g + lambda theta
            decayed += grad
            grad = decayed
        m *= self.beta1  # m = b1 m + (1 - b1) g
        np.multiply(grad, 1.0 - self.beta1, out=scratch)
        m += scratch
        v *= self.beta2  # v = b2 v + (1 - b2) g^2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - self.beta2
        v += scratch
        np.sqrt(v, out=scratch)  # denominator: sqrt(v) / sqrt(1 - b2^t) + eps
        scratch /= math.sqrt(1.0 - self.beta2**t)
        scratch += self.eps
        np.divide(m, scratch, out=scratch)
        scratch *= self.lr / (1.0 - self.beta1**t)
        param -= scratch

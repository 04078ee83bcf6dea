r"""Layers on top of :class:`~tinygrad_edu.Tensor`, PyTorch's ``torch.nn`` style.

A :class:`Module` finds its parameters by looking at its attributes: every Tensor that requires a
gradient is a parameter, every Module attribute is a sub-module (searched in turn). Assigning a module
to an attribute names its parameters after the path, e.g. ``fc1.weight``, so graph pictures and
checkpoints say which tensor is which.

Convention: one example per row, as in the hand-derived engine (:mod:`tinygrad_edu.manual`)::

    Linear(784, 128):  y = x W + b      W (784, 128), b (128,)

so :class:`MLP`'s ``fc1.weight`` *is* the manual engine's ``W1`` (not transposed, unlike PyTorch's
``(out, in)`` storage), and the two engines can share parameters and optimizer code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np

from tinygrad_edu.tensor import Tensor

INITS = ("he", "xavier", "lecun", "uniform")
# MLP parameter name -> manual engine parameter name (tinygrad_edu.manual.PARAM_NAMES)
MANUAL_NAMES: dict[str, str] = {"fc1.weight": "W1", "fc1.bias": "b1", "fc2.weight": "W2", "fc2.bias": "b2"}


def init_weight(fan_in: int, fan_out: int, init: str = "he", rng: np.random.Generator | None = None,
                dtype: Any = np.float32) -> np.ndarray:
    r"""Draw a ``(fan_in, fan_out)`` weight matrix.

    A pre-activation has :math:`\mathrm{Var}(z_l) = \text{fan\_in}\, \mathrm{Var}(W_l)\, \mathbb{E}[a_{l-1}^2]`,
    with :math:`\mathbb{E}[a_{l-1}^2]` the second moment of the layer's inputs (the derivations page).

    * ``"he"`` (Kaiming): :math:`\mathcal{N}(0, 2/\text{fan\_in})`; for a layer whose inputs are ReLU outputs,
      which keep half of the previous pre-activation's variance (:math:`\mathbb{E}[\mathrm{relu}(z)^2] = \mathrm{Var}(z)/2`,
      hence the 2). On a first layer fed with pixels the 2 is a convention, not a consequence.
    * ``"xavier"`` (Glorot): :math:`\mathcal{N}(0, 2/(\text{fan\_in}+\text{fan\_out}))`; for tanh/sigmoid.
    * ``"lecun"``: :math:`\mathcal{N}(0, 1/\text{fan\_in})`; keeps :math:`\mathrm{Var}(z) = \mathbb{E}[a^2]`,
      for linear or tanh units (LeCun et al., 1998;
      SELU networks use it too).
    * ``"uniform"``: :math:`U(-0.1, 0.1)` whatever the layer size: the naive choice, to compare against.

    The values are drawn in float64 and rounded to ``dtype``, exactly as
    :func:`tinygrad_edu.manual.init_params` does, so one seed gives the same network in both engines.
    """
    if init not in INITS:
        raise ValueError(f"init_weight: init must be one of {', '.join(INITS)}; got {init!r}")
    rng = np.random.default_rng() if rng is None else rng
    if init == "uniform":
        return rng.uniform(-0.1, 0.1, size=(fan_in, fan_out)).astype(dtype)
    variance = {"he": 2.0 / fan_in, "xavier": 2.0 / (fan_in + fan_out), "lecun": 1.0 / fan_in}[init]
    return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(variance)).astype(dtype)


def _positive_int(owner: str, name: str, value: Any) -> int:
    """``value`` if it is a positive integer; else an error naming the layer and the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value} (a layer needs at least one unit)")
    return int(value)


class Module:
    """Base class of layers and networks: override :meth:`forward`; call the module like a function.

    A module is in training mode until :meth:`eval` is called (``training`` is True); :meth:`train` and
    :meth:`eval` switch it and every sub-module, which changes what layers like :class:`Dropout` do.
    """

    training: bool = True

    def __setattr__(self, key: str, value: Any) -> None:
        # Name parameters after where they live, so a graph picture shows "fc1.weight", not a bare shape.
        if isinstance(value, Tensor) and value.requires_grad:
            value.name = key
        elif isinstance(value, Module):
            for name, param in value.named_parameters():
                param.name = f"{key}.{name}"
        object.__setattr__(self, key, value)

    def forward(self, *args: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any) -> Tensor:
        out = self.forward(*args)
        for hook in list(self.__dict__.get("_forward_hooks", {}).values()):
            replaced = hook(self, args, out)
            out = out if replaced is None else replaced
        return out

    def register_forward_hook(self, hook: Callable[[Module, tuple, Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward of this module, as PyTorch does.

        A hook can look at (or record) what the layer computed, e.g. the activations that
        :mod:`tinygrad_edu.training.health` counts dead units in; if it returns something other than None, that
        replaces the output. Returns a handle whose ``remove()`` unregisters the hook.
        """
        hooks = self.__dict__.setdefault("_forward_hooks", {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted name, tensor)`` for every parameter, in the order the attributes were set."""
        for key, value in vars(self).items():
            if isinstance(value, Tensor) and value.requires_grad:
                yield prefix + key, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + key + ".")

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Keep ``array`` as ``self.<name>``: a state of the module that no optimizer trains, such as
        BatchNorm's running statistics. Buffers are saved and loaded with the parameters (:meth:`state_dict`),
        as PyTorch's are; update one in place (``array[...] = ...``) so the module keeps holding it."""
        self.__dict__.setdefault("_buffer_names", []).append(name)
        object.__setattr__(self, name, array)

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(dotted name, array)`` for every buffer (:meth:`register_buffer`), sub-modules' included."""
        for module_name, module in self.named_modules():
            for name in module.__dict__.get("_buffer_names", ()):
                yield (f"{module_name}.{name}" if module_name else name), getattr(module, name)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted name, module)`` for this module (name ``prefix``, "" at the top) and every sub-module."""
        yield prefix, self
        for key, value in vars(self).items():
            if isinstance(value, Module):
                yield from value.named_modules(f"{prefix}.{key}" if prefix else key)

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in the order they were assigned."""
        return (value for value in vars(self).values() if isinstance(value, Module))

    def train(self, mode: bool = True) -> Module:
        """Switch this module and its sub-modules to training mode (``mode=False``: evaluation). Returns self."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (dropout off), as before measuring accuracy. Returns self."""
        return self.train(False)

    def parameters(self) -> list[Tensor]:
        """Every parameter (a Tensor with ``requires_grad=True``), for an optimizer."""
        return [param for _, param in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter (call it before each ``backward``)."""
        for param in self.parameters():
            param.zero_grad()

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{name: array}`` of every parameter, then every buffer (the arrays themselves, not copies)."""
        return {**{name: param.data for name, param in self.named_parameters()}, **dict(self.named_buffers())}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters and buffers, in place; names and shapes must match exactly."""
        targets = self.state_dict()
        if set(state) != set(targets):
            raise KeyError(
                f"load_state_dict: expected {sorted(targets)}, got {sorted(state)}; "
                "was the checkpoint made for another network?"
            )
        converted = {name: _loadable(name, state[name], target) for name, target in targets.items()}
        for name, target in targets.items():  # only once every value is known to fit: all or nothing
            target[...] = converted[name]

    def num_parameters(self) -> int:
        """The total number of scalars in the parameters."""
        return sum(param.size for param in self.parameters())

    def __repr__(self) -> str:
        children = [f"  ({k}): {v!r}".replace("\n", "\n  ") for k, v in vars(self).items() if isinstance(v, Module)]
        return f"{type(self).__name__}(" + ("\n" + "\n".join(children) + "\n" if children else self.extra_repr()) + ")"

    def extra_repr(self) -> str:
        return ""


class RemovableHandle:
    """What :meth:`Module.register_forward_hook` returns: ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Callable]) -> None:
        self.hooks, self.id = hooks, RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def _loadable(name: str, value: Any, target: np.ndarray) -> np.ndarray:
    """``value`` in ``target``'s shape and dtype, or an error: no silent inf from 1e300 in float32, no strings."""
    value = np.asarray(value)
    if value.dtype.kind not in "biuf":
        raise TypeError(f"load_state_dict: {name} holds {value.dtype} values, not numbers")
    if value.shape != target.shape:
        raise ValueError(f"load_state_dict: {name} has shape {value.shape}, the model expects {target.shape}")
    with np.errstate(over="raise"):
        try:
            return value.astype(target.dtype)
        except FloatingPointError:
            finite = np.abs(value[np.isfinite(value)])
            raise ValueError(
                f"load_state_dict: {name} holds values up to {finite.max():.3g}, beyond the largest {target.dtype} "
                f"({np.finfo(target.dtype).max:.3g}); they would become inf. Was it saved from another model?"
            ) from None


class Linear(Module):
    r"""Fully connected layer: :math:`y = x W + b` with ``W (in_features, out_features)``, ``b (out_features,)``.

    Args:
        in_features: size of each input row.
        out_features: size of each output row.
        bias: add a learned bias (initialised to 0).
        init: weight initialisation, one of :data:`INITS` (default He, suited to a following ReLU).
        rng: random generator (default: a fresh unseeded one); pass ``np.random.default_rng(seed)``.
        dtype: parameter dtype (float32 by default).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init: str = "he",
                 rng: np.random.Generator | None = None, dtype: Any = np.float32) -> None:
        in_features = _positive_int("Linear", "in_features", in_features)
        out_features = _positive_int("Linear", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Tensor(init_weight(in_features, out_features, init, rng, dtype), requires_grad=True)
        self.bias = Tensor(np.zeros(out_features, dtype=dtype), requires_grad=True) if bias else None

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        out = (x if isinstance(x, Tensor) else Tensor(x)) @ self.weight
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """``max(x, 0)`` elementwise, as a layer."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Sigmoid(Module):
    """``1 / (1 + e^-x)`` elementwise, as a layer; its derivative ``s (1 - s)`` is at most 1/4 (at x = 0)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Tanh(Module):
    """``tanh(x)`` elementwise, as a layer; its derivative ``1 - tanh(x)^2`` is at most 1 (at x = 0)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class LeakyReLU(Module):
    """``x`` where positive, else ``negative_slope * x``, as a layer."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return x.leaky_relu(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Dropout(Module):
    r"""Inverted dropout: in training mode each entry is zeroed with probability ``p`` and the survivors are
    scaled by :math:`1/(1-p)`, so the expected output equals the input; in evaluation mode
    (:meth:`Module.eval`) it is the identity. As PyTorch's ``nn.Dropout``.

    The gradient flows through the kept entries, scaled the same way (it is a multiplication by the mask).

    Args:
        p: the probability of zeroing an entry, in ``[0, 1]``.
        seed: seeds the masks, so a run can be repeated (default: a fresh unseeded generator).
        rng: a generator to draw the masks from instead of ``seed``.
    """

    def __init__(self, p: float = 0.5, seed: int | None = None, rng: np.random.Generator | None = None) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p is the probability of zeroing an entry and must lie in [0, 1], got {p!r}")
        self.p = float(p)
        self.rng = rng if rng is not None else np.random.default_rng(seed)

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.training or self.p == 0:
            return x
        dtype = x.dtype if x.dtype.kind == "f" else np.float32  # integers: dropout computes in float32
        if self.p == 1:  # every entry dropped (1/(1-p) would divide by zero)
            return x * np.zeros(x.shape, dtype=dtype)
        keep = self.rng.random(x.shape) >= self.p
        return x * (keep * (1.0 / (1.0 - self.p))).astype(dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    r"""Batch normalisation over a batch of rows ``(N, num_features)``, as PyTorch's ``nn.BatchNorm1d``.

    In training mode each feature is normalised with the mean and the *biased* variance of the batch,

    .. math:: \begin{aligned}
              \mu &= \tfrac1N \textstyle\sum_n x_n, \cr
              \sigma^2 &= \tfrac1N \textstyle\sum_n (x_n - \mu)^2, \cr
              y &= \gamma\, \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta,
              \end{aligned}

    and the running statistics move towards the batch's, the variance *unbiased* (:math:`\tfrac{N}{N-1}\sigma^2`):
    ``running = (1 - momentum) * running + momentum * batch``. In evaluation mode (:meth:`Module.eval`) the
    running statistics replace the batch's, so one example's output no longer depends on the others.
    The backward is the autodiff of those operations; the exercise ``batchnorm-backward`` derives it by hand.

    The running statistics ``running_mean`` and ``running_var`` are buffers, not parameters: no optimizer
    trains them, and :meth:`Module.state_dict` saves them, as PyTorch does (which also counts
    ``num_batches_tracked`` there; this module has no use for it).

    Args:
        num_features: features per row (the width of the layer before).
        eps: :math:`\epsilon`, added to the variance so the division stays finite.
        momentum: how far the running statistics move towards each batch's.
        affine: learn a scale :math:`\gamma` (``weight``, starts at 1) and shift :math:`\beta` (``bias``, 0).
        dtype: dtype of the parameters and running statistics.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 dtype: Any = np.float32) -> None:
        self.num_features = _positive_int("BatchNorm1d", "num_features", num_features)
        if not (isinstance(eps, (int, float)) and eps >= 0 and math.isfinite(eps)):
            raise ValueError(f"BatchNorm1d: eps must be a finite number >= 0, got {eps!r}")
        if not (isinstance(momentum, (int, float)) and 0 <= momentum <= 1):
            raise ValueError(f"BatchNorm1d: momentum must lie in [0, 1], got {momentum!r}")
        self.eps, self.momentum = float(eps), float(momentum)
        self.weight = Tensor(np.ones(num_features, dtype=dtype), requires_grad=True) if affine else None
        self.bias = Tensor(np.zeros(num_features, dtype=dtype), requires_grad=True) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: expected input of shape (N, {self.num_features}), got {x.shape}")
        if self.training:
            if x.shape[0] < 2:
                raise ValueError(f"BatchNorm1d: training mode needs more than 1 row per batch to compute a variance, "
                                 f"got {x.shape}; call .eval() to use the running statistics")
            mean = x.mean(axis=0)
            centred = x - mean
            var = (centred * centred).mean(axis=0)  # biased: the batch's own spread
            x_hat = centred / (var + self.eps).sqrt()
            unbiased = var.data * (x.shape[0] / (x.shape[0] - 1))
            self.running_mean[...] = (1 - self.momentum) * self.running_mean + self.momentum * mean.data
            self.running_var[...] = (1 - self.momentum) * self.running_var + self.momentum * unbiased
        else:
            x_hat = (x - self.running_mean) / np.sqrt(self.running_var + self.eps)
        return x_hat * self.weight + self.bias if self.weight is not None else x_hat

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}, affine={self.weight is not None}"


class Sequential(Module):
    """Apply modules one after the other: ``Sequential(Linear(784, 128), ReLU(), Linear(128, 10))``.

    The layers are attributes ``"0"``, ``"1"``...; their parameters are named ``0.weight`` etc.
    """

    def __init__(self, *layers: Module) -> None:
        for index, layer in enumerate(layers):
            setattr(self, str(index), layer)

    def __len__(self) -> int:
        return len(list(self.children()))

    def __getitem__(self, index: int) -> Module:
        return list(self.children())[index]

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.children():
            x = layer(x)
        return x


class MLP(Module):
    r"""The course's classifier, ``in_features``-``hidden``-``out_features`` with a ReLU hidden layer.

    .. math:: Z_1 = X W_1 + b_1, \quad A_1 = \mathrm{relu}(Z_1), \quad Z_2 = A_1 W_2 + b_2 \;(\text{logits})

    ``forward`` returns the logits; the loss is ``F.cross_entropy(logits, labels)``.
    Parameters ``fc1.weight, fc1.bias, fc2.weight, fc2.bias`` are the manual engine's ``W1, b1, W2, b2``
    (see :data:`MANUAL_NAMES`), and with the same ``seed`` and ``init`` ("he" or "xavier") they start
    from exactly the same numbers as :func:`tinygrad_edu.manual.init_params`.

    Args:
        in_features: input size (784 for MNIST).
        hidden: hidden units (128 by default; 10 for the tiny variant).
        out_features: number of classes.
        init: weight initialisation (see :func:`init_weight`).
        seed: seed of the generator drawing the weights (W1 first, then W2).
        dtype: parameter dtype.
    """

    def __init__(self, in_features: int = 784, hidden: int = 128, out_features: int = 10, init: str = "he",
                 seed: int = 0, dtype: Any = np.float32) -> None:
        for name, value in (("in_features", in_features), ("hidden", hidden), ("out_features", out_features)):
            _positive_int("MLP", name, value)
        rng = np.random.default_rng(seed)
        self.fc1 = Linear(in_features, hidden, init=init, rng=rng, dtype=dtype)
        self.relu = ReLU()
        self.fc2 = Linear(hidden, out_features, init=init, rng=rng, dtype=dtype)

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return self.fc2(self.relu(self.fc1(x)))

    def manual_params(self) -> dict[str, np.ndarray]:
        """The parameters under the manual engine's names ``W1, b1, W2, b2`` (shared arrays, not copies)."""
        return {MANUAL_NAMES[name]: array for name, array in self.state_dict().items()}

    def load_manual_params(self, params: dict[str, np.ndarray]) -> None:
        """Copy a manual-engine parameter dict ``{W1, b1, W2, b2}`` into this model."""
        missing = [manual for manual in MANUAL_NAMES.values() if manual not in params]
        if missing:
            raise KeyError(f"load_manual_params: params must hold W1, b1, W2, b2; missing {missing}")
        self.load_state_dict({name: params[manual] for name, manual in MANUAL_NAMES.items()})


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float) -> float:
    r"""Scale the gradients of ``parameters`` in place so that their total norm is at most ``max_norm``.

    As PyTorch's ``torch.nn.utils.clip_grad_norm_``: the total norm is taken over all the gradients together,
    as if they were one vector, :math:`\lVert g \rVert = \sqrt{\sum_p \sum_i g_{p,i}^2}`; when it exceeds
    ``max_norm`` every gradient is multiplied by ``max_norm / (total + 1e-6)``, so the step keeps its direction
    and only its length is cut. Parameters without a gradient are skipped. Call it between ``backward()`` and
    ``optimizer.step()``.

    Returns:
        The total norm *before* clipping (watch it: a norm that keeps hitting the limit means the learning rate
        or the initialisation is wrong, not only that clipping is working).
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm > 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a positive number, got {max_norm!r}")
    grads = [param.grad for param in params if param.grad is not None]
    total = math.sqrt(sum(float(np.sum(np.square(grad, dtype=np.float64))) for grad in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for grad in grads:
            grad *= scale
    return total


# ``nn.utils.clip_grad_norm_``, where PyTorch has it.
utils = SimpleNamespace(clip_grad_norm_=clip_grad_norm_)

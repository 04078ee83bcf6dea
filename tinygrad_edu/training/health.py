r"""Gradient health: what to measure when training goes wrong, on any :class:`~tinygrad_edu.nn.Module`.

Four measurements, each a function you can call on your own model (lesson 9 uses them on deep networks,
``tinygrad-edu train --health`` records them during a run):

* :func:`gradient_norms`: :math:`\lVert \partial L / \partial W \rVert` of each parameter after ``backward()``.
  Vanishing gradients make the first layers' norms orders of magnitude below the last layers'.
* :func:`update_ratios`: :math:`\lVert W_{\text{after}} - W_{\text{before}} \rVert / \lVert W_{\text{before}} \rVert`
  for one optimizer step, the step the optimizer really took (learning rate, momentum and Adam's scaling
  included). About :math:`10^{-3}` is healthy (makemore part 3); :math:`10^{-1}` rewrites the weights in a
  few steps, :math:`10^{-5}` barely moves them.
* :func:`dead_units`: the ReLU units whose output is 0 for *every* example of a set: their gradient is 0 for
  every example too, so nothing will ever revive them.
* :func:`saturated_fraction`: for sigmoid and tanh, the fraction of outputs where the local derivative is below
  :data:`SATURATION` of its largest value; the gradient through those entries all but stops.

The activations are read with forward hooks (:meth:`~tinygrad_edu.nn.Module.register_forward_hook`) on the
model's :class:`~tinygrad_edu.nn.ReLU`, :class:`~tinygrad_edu.nn.Sigmoid` and :class:`~tinygrad_edu.nn.Tanh`
layers, so any model built from those layers works, whatever its ``forward`` does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from tinygrad_edu.nn import Module, ReLU, Sigmoid, Tanh
from tinygrad_edu.tensor import Tensor, no_grad

# An output is saturated where the activation's derivative is below 5% of its maximum:
# tanh: 1 - t^2 < 0.05, |t| > 0.975; sigmoid: s (1 - s) < 0.05 / 4, s < 0.0127 or s > 0.987.
SATURATION = 0.05
ACTIVATIONS = (ReLU, Sigmoid, Tanh)


def _norm(array: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(array, dtype=np.float64))))


def gradient_norms(model: Module) -> dict[str, float]:
    """The L2 norm of each parameter's ``.grad`` (call after ``loss.backward()``), by parameter name.

    >>> from tinygrad_edu.nn import Linear
    >>> layer = Linear(2, 1, dtype=np.float64)
    >>> layer.weight.grad = np.array([[3.0], [4.0]])
    >>> layer.bias.grad = np.zeros(1)
    >>> gradient_norms(layer)
    {'weight': 5.0, 'bias': 0.0}
    """
    norms = {}
    for name, param in model.named_parameters():
        if param.grad is None:
            raise ValueError(f"gradient_norms: parameter {name} {param.shape} has no gradient; call loss.backward() "
                             "on a loss computed by this model first")
        norms[name] = _norm(param.grad)
    return norms


def weight_names(model: Module) -> list[str]:
    """The names of the model's weight matrices (parameters with 2 or more dimensions): one per layer."""
    return [name for name, param in model.named_parameters() if param.ndim >= 2]


def snapshot(model: Module) -> dict[str, np.ndarray]:
    """A copy of every parameter, to measure the next step against (:func:`update_ratios`)."""
    return {name: param.data.copy() for name, param in model.named_parameters()}


def update_ratios(before: dict[str, np.ndarray], model: Module) -> dict[str, float]:
    r""":math:`\lVert W - W_{\text{before}} \rVert / \lVert W_{\text{before}} \rVert` for each parameter in ``before``.

    ``before`` is a :func:`snapshot` taken just before ``optimizer.step()``. A parameter that was all zeros
    (a bias at initialisation) has no scale to compare with: its ratio is ``inf`` if it moved, else 0.

    >>> from tinygrad_edu.nn import Linear
    >>> layer = Linear(2, 1, dtype=np.float64)
    >>> layer.weight.data[:] = [[3.0], [4.0]]
    >>> before = snapshot(layer)
    >>> layer.weight.data[:] = [[3.0], [4.05]]
    >>> round(update_ratios(before, layer)["weight"], 6)
    0.01
    """
    params = dict(model.named_parameters())
    ratios = {}
    for name, old in before.items():
        scale, moved = _norm(old), _norm(params[name].data - old)
        ratios[name] = moved / scale if scale > 0 else (float("inf") if moved > 0 else 0.0)
    return ratios


def activation_layers(model: Module) -> dict[str, Module]:
    """The model's ReLU, Sigmoid and Tanh layers, by name (``"relu"``, ``"3"``, ``"block.1"``...)."""
    return {name or type(model).__name__: module for name, module in model.named_modules()
            if isinstance(module, ACTIVATIONS)}


@contextlib.contextmanager
def recording_activations(model: Module) -> Iterator[dict[str, list[np.ndarray]]]:
    """Within the block, every forward of ``model`` appends each activation layer's output to the dict.

    >>> from tinygrad_edu.nn import MLP
    >>> model = MLP(4, 3, 2, seed=0)
    >>> with recording_activations(model) as outputs:
    ...     _ = model(np.ones((5, 4), np.float32))
    >>> [(name, arrays[0].shape) for name, arrays in outputs.items()]
    [('relu', (5, 3))]
    """
    layers = activation_layers(model)
    outputs: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    handles = [layer.register_forward_hook(lambda module, inputs, out, name=name: outputs[name].append(out.data))
               for name, layer in layers.items()]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def activations(model: Module, x: np.ndarray, chunk: int = 2000) -> dict[str, np.ndarray]:
    """Each activation layer's output for all of ``x`` (rows = examples), in evaluation mode and without a graph.

    The model is put in evaluation mode (dropout off, batch norm on its running statistics) for the pass,
    and back in the mode it was in afterwards.
    """
    if not activation_layers(model):
        raise ValueError(f"activations: {type(model).__name__} has no ReLU, Sigmoid or Tanh layer (tinygrad_edu.nn) "
                         "to measure; build the model from those layers")
    was_training = model.training
    model.eval()
    try:
        with no_grad(), recording_activations(model) as outputs:
            for start in range(0, len(x), chunk):
                model(Tensor(x[start : start + chunk]))
    finally:
        model.train(was_training)
    return {name: np.concatenate(arrays) for name, arrays in outputs.items()}


def dead_units(model: Module, x: np.ndarray) -> dict[str, np.ndarray]:
    """For each ReLU layer, a boolean per unit: True where the unit outputs 0 for every example of ``x``.

    Measure on examples the network did not train on (the validation set): a unit dead there is dead for
    new digits too.
    """
    outputs = activations(model, x)
    relus = [name for name, layer in activation_layers(model).items() if isinstance(layer, ReLU)]
    return {name: never_fires(outputs[name]) for name in relus}


def never_fires(output: np.ndarray) -> np.ndarray:
    """One boolean per unit (column) of a ReLU ``output`` (examples x units): True where it is 0 in every row."""
    return ~(output > 0).any(axis=0)


def dead_fraction(model: Module, x: np.ndarray) -> dict[str, float]:
    """The fraction of each ReLU layer's units that never fire on ``x`` (see :func:`dead_units`)."""
    return activation_health(model, x).get("dead_fraction", {})


def saturated(output: np.ndarray, kind: type[Module]) -> np.ndarray:
    """Where a sigmoid or tanh ``output`` sits on a flat part: its derivative under :data:`SATURATION` of the peak."""
    if kind is Tanh:
        return 1 - output * output < SATURATION  # the peak of 1 - t^2 is 1
    if kind is Sigmoid:
        return output * (1 - output) < SATURATION * 0.25  # the peak of s (1 - s) is 1/4
    raise ValueError(f"saturated: only sigmoid and tanh saturate, not {kind.__name__}")


def saturated_fraction(model: Module, x: np.ndarray) -> dict[str, float]:
    """For each Sigmoid and Tanh layer, the fraction of its outputs on ``x`` (examples x units) that are saturated."""
    return activation_health(model, x).get("saturated_fraction", {})


def activation_health(model: Module, x: np.ndarray) -> dict[str, dict[str, float]]:
    """Dead fraction of each ReLU layer and saturated fraction of each sigmoid/tanh layer, from one pass over ``x``."""
    outputs = activations(model, x)
    health: dict[str, dict[str, float]] = {"dead_fraction": {}, "saturated_fraction": {}}
    for name, layer in activation_layers(model).items():
        if isinstance(layer, ReLU):
            health["dead_fraction"][name] = float(never_fires(outputs[name]).mean())
        else:
            health["saturated_fraction"][name] = float(saturated(outputs[name], type(layer)).mean())
    return {quantity: values for quantity, values in health.items() if values}

"""``tinygrad-edu train --health``: the measurements of :mod:`~tinygrad_edu.training.health` recorded during a run.

At each recorded step (a 1-2-5 grid over the first epoch, where most changes happen, then the last step of
every epoch) :class:`HealthMonitor` measures, per layer:

* ``grad_norm``: the norm of the gradient of each weight matrix, on the step's own batch;
* ``update_ratio``: how far that step moved each weight matrix, relative to its size;
* ``dead_fraction``: the fraction of hidden ReLU units that output 0 for every validation image.

Both engines are measured the same way: a probe :class:`~tinygrad_edu.nn.MLP` is loaded with the engine's
current parameters and runs the forward and backward of the step's batch before the step (for plain SGD that is
exactly the step's gradient; the optimizer's momentum or Adam scaling show in the update ratio). The time it
takes is measured and reported against the training time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu.nn import MLP
from tinygrad_edu.tensor import Tensor
from tinygrad_edu.training import health

QUANTITIES = {  # recorded quantity -> (its plot's name, y-axis label, log scale)
    "grad_norm": ("health-grad-norm", "gradient norm ||dL/dW||", True),
    "update_ratio": ("health-update-ratio", "update-to-data ratio ||step|| / ||W||", True),
    "dead_fraction": ("health-dead-units", "dead ReLU units (% of the layer, validation set)", False),
}
OUTPUT_FILES = tuple(f"{name}.png" for name, _, _ in QUANTITIES.values())


def recording_steps(steps_per_epoch: int, epochs: int) -> list[int]:
    """The steps (1-based) measured: 1, 2, 5, 10, 20, 50... within the first epoch, and every epoch's last step.

    >>> recording_steps(430, 3)
    [1, 2, 5, 10, 20, 50, 100, 200, 430, 860, 1290]
    """
    early = [m * 10**e for e in range(12) for m in (1, 2, 5) if m * 10**e < steps_per_epoch]
    return sorted(set(early) | {steps_per_epoch * epoch for epoch in range(1, epochs + 1)})


class HealthMonitor:
    """Measure gradient health at :func:`recording_steps` of a run; call around each step, see ``fit``.

    Args:
        hidden: the hidden layer's width (the probe network has the run's shape).
        val_x: the validation images (dead units are counted on them).
        steps_per_epoch, epochs: the run's length.
    """

    def __init__(self, hidden: int, val_x: np.ndarray, steps_per_epoch: int, epochs: int) -> None:
        self.probe = MLP(val_x.shape[1], hidden, 10, seed=0)
        self.layers = health.weight_names(self.probe)
        self.val_x = val_x
        self.steps_per_epoch = steps_per_epoch
        self.steps = set(recording_steps(steps_per_epoch, epochs))
        self.records: list[dict] = []
        self.seconds = 0.0  # spent measuring, in total
        self._seconds_reported = 0.0
        self._pending: tuple[dict[str, np.ndarray], dict[str, float]] | None = None

    def before_step(self, step: int, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        """Before step ``step`` (1-based): the gradient norms on its batch, and a copy of the weights."""
        if step not in self.steps:
            return
        start = time.perf_counter()
        self.probe.load_manual_params(params)
        self.probe.zero_grad()
        F.cross_entropy(self.probe(Tensor(x)), y).backward()
        norms = health.gradient_norms(self.probe)
        self._pending = ({name: array for name, array in health.snapshot(self.probe).items() if name in self.layers},
                         {name: norms[name] for name in self.layers})
        self.seconds += time.perf_counter() - start

    def after_step(self, step: int, params: dict[str, np.ndarray]) -> None:
        """After step ``step``: how far it moved the weights, and the dead units on the validation set."""
        if self._pending is None:
            return
        start = time.perf_counter()
        before, norms = self._pending
        self._pending = None
        self.probe.load_manual_params(params)
        record = {"step": step, "epoch": step / self.steps_per_epoch, "grad_norm": norms,
                  "update_ratio": health.update_ratios(before, self.probe),
                  **health.activation_health(self.probe, self.val_x)}
        self.records.append(record)
        self.seconds += time.perf_counter() - start

    def epoch_columns(self) -> dict[str, float]:
        """The last record as flat columns (``grad_norm fc1.weight``...) and the seconds spent measuring since the
        previous call (``health_seconds``, part of the epoch's ``seconds``), for the epoch's row of metrics.csv."""
        last = self.records[-1] if self.records else {}
        columns = {f"{quantity} {name}": value
                   for quantity in QUANTITIES for name, value in last.get(quantity, {}).items()}
        columns["health_seconds"] = self.seconds - self._seconds_reported
        self._seconds_reported = self.seconds
        return columns


def health_figures(records: Sequence[dict]) -> dict[str, str]:
    """``{plot name: quantity}`` for each quantity the records hold (none for no records): the figures ``train``
    draws with :func:`plot_health`, ``health-grad-norm``, ``health-update-ratio``, ``health-dead-units``."""
    return {QUANTITIES[quantity][0]: quantity for quantity in QUANTITIES if records and records[0].get(quantity)}


def plot_health(records: Sequence[dict], quantity: str, path: str | Path) -> Path:
    """One quantity of :data:`QUANTITIES` against the step (log scale), one line per layer, saved as ``path``."""
    from tinygrad_edu.training.plots import figure_of_size, plain_log_labels, save_png

    _, label, log = QUANTITIES[quantity]
    steps = [record["step"] for record in records]
    figure = figure_of_size(7, 3.8)
    ax = figure.subplots(gridspec_kw=dict(left=0.12, right=0.98, bottom=0.14, top=0.92))  # no layout engine: fast
    scale = 1 if log else 100  # fractions shown as percentages
    for name in records[0][quantity]:
        ax.plot(steps, [scale * record[quantity][name] for record in records], "o-", markersize=3, label=name)
    if quantity == "update_ratio":
        ax.axhline(1e-3, color="gray", linestyle="--", linewidth=1, label="1e-3 (rule of thumb)")
    ax.set(xscale="log", xlabel="training step (log scale)", ylabel=label, yscale="log" if log else "linear",
           title=f"{label.split(' (')[0].split(' ||')[0]} per layer during training")
    plain_log_labels(ax.xaxis)
    if log:
        plain_log_labels(ax.yaxis)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    return save_png(figure, path)

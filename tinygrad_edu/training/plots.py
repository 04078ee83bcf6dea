"""Pictures of a training run, saved as PNG files with matplotlib (Agg, no display needed).

matplotlib is imported inside the functions (it is the ``plots`` extra: ``pip install "tinygrad-edu[plots]"``),
and figures are made with the object-oriented API (``Figure`` + the Agg canvas), never ``pyplot``, so no
window opens and no global backend is changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plots need matplotlib: pip install "tinygrad-edu[plots]"') from None
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def plot_training_curves(history: Sequence[dict[str, float]], path: str | Path) -> Path:
    """Loss and accuracy per epoch, training vs validation (``history``: one dict per epoch)."""
    epochs = [row["epoch"] for row in history]
    figure = _figure(10, 4)
    loss_ax, acc_ax = figure.subplots(1, 2)
    loss_ax.plot(epochs, [row["train_loss"] for row in history], "o-", label="train")
    loss_ax.plot(epochs, [row["val_loss"] for row in history], "s-", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss", yscale="log")
    acc_ax.plot(epochs, [100 * row["train_accuracy"] for row in history], "o-", label="train")
    acc_ax.plot(epochs, [100 * row["val_accuracy"] for row in history], "s-", label="validation")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(figure, path)


def plot_predictions(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, path: str | Path,
                     columns: int = 10, rows: int = 4) -> Path:
    """A grid of test digits titled "predicted (true)"; wrong predictions in red with a red frame.

    The first cells show the first test images; the last row shows misclassified ones (if any), so
    the mistakes are always visible.
    """
    count = columns * rows
    wrong = np.flatnonzero(predictions != labels)
    shown_wrong = [i for i in wrong if i >= count - columns][:columns]
    indices = list(range(count - len(shown_wrong))) + shown_wrong
    figure = _figure(columns * 1.1, rows * 1.3)
    for ax, index in zip(figure.subplots(rows, columns).ravel(), indices):
        ok = predictions[index] == labels[index]
        ax.imshow(images[index].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{predictions[index]} ({labels[index]})", color="black" if ok else "red", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set(color="black" if ok else "red", linewidth=0.5 if ok else 2)
    figure.suptitle(f"test digits: predicted (true); {len(wrong)} of {len(labels)} wrong in red")
    return _save(figure, path)


def plot_confusion_matrix(confusion: np.ndarray, path: str | Path) -> Path:
    """The 10x10 confusion matrix: row = true digit, column = predicted digit, with the counts written in."""
    figure = _figure(6.5, 5.5)
    ax = figure.subplots()
    # log colour scale so the few mistakes stand out beside the large diagonal
    image = ax.imshow(np.log1p(confusion), cmap="Blues")
    threshold = np.log1p(confusion).max() / 2
    for true in range(confusion.shape[0]):
        for predicted in range(confusion.shape[1]):
            count = confusion[true, predicted]
            ax.text(predicted, true, str(count), ha="center", va="center", fontsize=7,
                    color="white" if np.log1p(count) > threshold else "black")
    ax.set(xlabel="predicted digit", ylabel="true digit", title="Confusion matrix (test set)",
           xticks=range(10), yticks=range(10))
    figure.colorbar(image, ax=ax, label="log(1 + count)")
    return _save(figure, path)


def plot_first_layer_weights(W1: np.ndarray, path: str | Path, max_units: int = 64) -> Path:
    """Each hidden unit's incoming weights ``W1[:, j]`` shown as a 28x28 image (red +, blue -)."""
    units = min(W1.shape[1], max_units)
    columns = int(np.ceil(np.sqrt(units)))
    rows = int(np.ceil(units / columns))
    figure = _figure(columns * 1.0, rows * 1.0 + 0.4)
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for j, ax in enumerate(axes):
        ax.set_axis_off()
        if j < units:
            weights = W1[:, j].reshape(28, 28)
            limit = np.abs(weights).max() or 1.0
            ax.imshow(weights, cmap="RdBu_r", vmin=-limit, vmax=limit)
    figure.suptitle(f"first-layer weights of {units} hidden units (of {W1.shape[1]})")
    return _save(figure, path)

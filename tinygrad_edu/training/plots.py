"""Pictures of a training run, saved as PNG files with matplotlib (Agg, no display needed).

matplotlib is imported inside the functions (it is the ``plots`` extra: ``pip install "tinygrad-edu[plots]"``),
and figures are made with the object-oriented API (``Figure`` + the Agg canvas), never ``pyplot``, so no
window opens and no global backend is changed.

A grid of small images (test digits, first-layer weights) is drawn as one picture: the tiles are put
together with NumPy (:func:`tile_mosaic`) and shown with a single ``imshow`` on a single axes. A hundred
separate axes, each laid out and drawn on its own, made the figures cost as much as the training itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DPI = 110
TITLE_INCHES = 0.35  # the band above a mosaic that holds its title


def figure_of_size(width: float, height: float) -> Any:
    """A figure on the Agg canvas. No layout engine: each plot places its axes itself, because constrained
    layout measures every text of the figure before drawing it, which doubled the cost of a figure."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plots need matplotlib: pip install "tinygrad-edu[plots]"') from None
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Any, path: str | Path) -> Path:
    """Save ``figure`` as the PNG ``path`` (its folder created), at the figures' :data:`DPI`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # zlib's fastest level: compressing was the largest single cost of a mosaic (a fifth); files grow by ~10%
    figure.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 1})
    return path


def tile_mosaic(tiles: np.ndarray, columns: int, gap: tuple[int, int] = (2, 2), fill: float = np.nan) -> np.ndarray:
    """Put ``tiles`` (``(n, h, w)`` or ``(n, h, w, channels)``) side by side, ``columns`` to a row, row by row.

    Each tile sits in a cell of ``h + gap[0]`` by ``w + gap[1]`` pixels, at the cell's bottom-left corner
    (the gap above a tile leaves room for a label, the gap on its right separates it from the next; the
    last column has none).
    Cells without a tile and the gaps hold ``fill``.

    >>> tile_mosaic(np.ones((3, 1, 2)), columns=2, gap=(1, 1), fill=0).astype(int)
    array([[0, 0, 0, 0, 0],
           [1, 1, 0, 1, 1],
           [0, 0, 0, 0, 0],
           [1, 1, 0, 0, 0]])
    """
    count, height, width = tiles.shape[:3]
    rows = math.ceil(count / columns)
    cell_height, cell_width = height + gap[0], width + gap[1]
    mosaic = np.full((rows * cell_height, columns * cell_width, *tiles.shape[3:]), fill, dtype=np.float32)
    # mosaic viewed as rows x cell_height x columns x cell_width: a tile is one [row, :, column, :] block
    cells = mosaic.reshape(rows, cell_height, columns, cell_width, *tiles.shape[3:])
    padded = np.full((rows * columns, *tiles.shape[1:]), fill, dtype=np.float32)
    padded[:count] = tiles
    cells[:, gap[0]:, :, :width] = padded.reshape(rows, columns, *tiles.shape[1:]).swapaxes(1, 2)
    return mosaic[:, : columns * cell_width - gap[1]]  # no gap after the last column


def _mosaic_figure(mosaic_shape: tuple[int, int], inches_per_pixel: float, title: str) -> tuple[Any, Any]:
    """A figure holding one axes that shows a mosaic at ``inches_per_pixel``, under a title; no layout engine."""
    height, width = mosaic_shape
    margin = 0.1  # inches of white around the mosaic
    image_width, image_height = width * inches_per_pixel, height * inches_per_pixel
    title_width = 0.1 * len(title) + 2 * margin  # about 0.1 inch per character at the title's 12 points
    figure_width, figure_height = max(image_width + 2 * margin, title_width), image_height + margin + TITLE_INCHES
    figure = figure_of_size(figure_width, figure_height)
    left = (figure_width - image_width) / 2  # a mosaic narrower than its title is centred under it
    ax = figure.add_axes((left / figure_width, margin / figure_height,
                          image_width / figure_width, image_height / figure_height))
    ax.set_axis_off()
    figure.suptitle(title, y=1 - 0.1 / figure_height, va="top")
    return figure, ax


def prediction_indices(labels: np.ndarray, predictions: np.ndarray, capacity: int, columns: int) -> list[int]:
    """Which test images a grid of ``capacity`` cells shows: all of them if they fit; otherwise the first
    ones, with the last row (``columns`` cells) given to mistakes not already shown, so they are always seen.

    >>> prediction_indices(np.array([0, 1, 2, 3, 4, 5]), np.array([0, 1, 2, 3, 9, 5]), capacity=4, columns=2)
    [0, 1, 2, 4]
    """
    count = len(labels)
    if count <= capacity:
        return list(range(count))
    first_rows = capacity - columns
    wrong = np.flatnonzero(predictions != labels)
    later_wrong = [int(i) for i in wrong[wrong >= first_rows][:columns]]
    fillers = [i for i in range(first_rows, count) if i not in later_wrong][: columns - len(later_wrong)]
    return list(range(first_rows)) + fillers + later_wrong


def plain_log_labels(axis: Any) -> None:
    """Label a log axis's ticks as plain numbers (0.05 rather than 5x10^-2) at the places matplotlib chooses.

    matplotlib writes log ticks with its TeX-like mathtext, whose parser takes a third of a second to set
    up on first use: as long as the rest of the figure.
    """
    from matplotlib.ticker import LogFormatter

    class PlainLogFormatter(LogFormatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return f"{x:g}" if super().__call__(x, pos) else ""  # matplotlib's choice of ticks, our text

    axis.set_major_formatter(PlainLogFormatter())
    axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))


def plot_training_curves(history: Sequence[dict[str, float]], path: str | Path) -> Path:
    """Loss and accuracy per epoch, training vs validation (``history``: one dict per epoch)."""
    epochs = [row["epoch"] for row in history]
    figure = figure_of_size(10, 4)
    from matplotlib.ticker import FixedLocator, MaxNLocator

    loss_ax, acc_ax = figure.subplots(1, 2, gridspec_kw=dict(left=0.095, right=0.99, bottom=0.12, top=0.93, wspace=0.2))
    loss_ax.plot(epochs, [row["train_loss"] for row in history], "o-", label="train")
    loss_ax.plot(epochs, [row["val_loss"] for row in history], "s-", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss", yscale="log")
    plain_log_labels(loss_ax.yaxis)
    acc_ax.plot(epochs, [100 * row["train_accuracy"] for row in history], "o-", label="train")
    acc_ax.plot(epochs, [100 * row["val_accuracy"] for row in history], "s-", label="validation")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)  # half an epoch either side: one epoch is not a line
        # epochs are whole numbers: each one marked, or whole numbers matplotlib chooses when there are many
        ax.xaxis.set_major_locator(FixedLocator(epochs) if len(epochs) <= 12 else MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    return save_png(figure, path)


def plot_predictions(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, path: str | Path,
                     columns: int = 10, rows: int = 4) -> Path:
    """A grid of test digits labelled "predicted (true)"; wrong predictions in red with a red frame.

    The grid holds up to ``columns x rows`` digits, fewer if the test set is smaller. When the set does
    not fit, the first cells show the first test images and the last row shows misclassified ones (if
    any), so the mistakes are always visible. ``images`` are floats in [0, 1] or bytes as stored (uint8).
    """
    from tinygrad_edu.data import as_float_pixels
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    side = 28
    indices = prediction_indices(labels, predictions, columns * rows, columns)
    columns = min(columns, len(indices))
    ok = predictions[indices] == labels[indices]
    # gray_r, as RGB: ink (pixel value 1) is black on white paper
    paper = 1.0 - np.clip(as_float_pixels(images[indices]).reshape(-1, side, side), 0, 1)
    label_band, gap = 10, 5  # pixels above each digit for its label, between neighbours
    mosaic = tile_mosaic(paper, columns, gap=(label_band, gap), fill=1.0)
    figure, ax = _mosaic_figure(mosaic.shape, 1.1 / (side + gap), f"test digits: predicted (true); "
                                f"{int((predictions != labels).sum())} of {len(labels)} wrong in red")
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    frames, colours, widths = [], [], []
    for cell, (index, right) in enumerate(zip(indices, ok)):
        x, y = (cell % columns) * (side + gap), (cell // columns) * (side + label_band)
        frames.append(Rectangle((x - 0.5, y + label_band - 0.5), side, side))
        colours.append("black" if right else "red")
        widths.append(0.5 if right else 2.0)
        ax.text(x + side / 2 - 0.5, y + label_band - 2, f"{predictions[index]} ({labels[index]})",
                color=colours[-1], fontsize=9, ha="center", va="bottom")
    ax.add_collection(PatchCollection(frames, facecolors="none", edgecolors=colours, linewidths=widths, clip_on=False))
    return save_png(figure, path)


def plot_confusion_matrix(confusion: np.ndarray, path: str | Path) -> Path:
    """The 10x10 confusion matrix: row = true digit, column = predicted digit, with the counts written in."""
    figure = figure_of_size(6.5, 5.5)
    ax = figure.add_axes((0.1, 0.09, 0.72, 0.85))
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
    figure.colorbar(image, cax=figure.add_axes((0.86, 0.09, 0.035, 0.85)), label="log(1 + count)")
    return save_png(figure, path)


def plot_first_layer_weights(W1: np.ndarray, path: str | Path, max_units: int = 64) -> Path:
    """Each hidden unit's incoming weights ``W1[:, j]`` shown as a 28x28 image (red +, blue -).

    Each unit has its own colour scale, symmetric about 0, so that a unit with small weights shows its
    pattern as clearly as one with large weights.
    """
    side = 28
    units = min(W1.shape[1], max_units)
    columns = math.ceil(math.sqrt(units))
    weights = W1[:, :units].T.reshape(units, side, side)
    limits = np.abs(weights).max(axis=(1, 2), keepdims=True)
    gap = 4
    mosaic = tile_mosaic(weights / np.where(limits > 0, limits, 1.0), columns, gap=(gap, gap))[gap:]
    figure, ax = _mosaic_figure(mosaic.shape, 1.0 / (side + gap),
                                f"first-layer weights of {units} hidden units (of {W1.shape[1]})")
    ax.imshow(mosaic, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")  # gaps (NaN) stay white
    return save_png(figure, path)

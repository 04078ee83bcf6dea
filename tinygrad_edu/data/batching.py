"""Turning a data set into what training consumes: a validation split, float or standardised pixels, shuffled
batches, shifted copies, made ahead in a background thread.

One-hot targets come from :func:`tinygrad_edu.functional.one_hot` (re-exported by ``tinygrad_edu.data``).
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np
from numpy.typing import DTypeLike

from tinygrad_edu.errors import ShapeError

T = TypeVar("T")


def _check_pair(images: np.ndarray, labels: np.ndarray, where: str) -> None:
    if len(images) != len(labels):
        raise ShapeError(f"{where}: {len(images)} images but {len(labels)} labels; they must match one to one")


def train_val_split(
    images: np.ndarray, labels: np.ndarray, val_size: int | float = 5000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off a random validation set, reproducibly.

    Args:
        images: ``(N, ...)`` inputs.
        labels: ``(N,)`` targets.
        val_size: number of validation examples, or a fraction of N if a float in (0, 1).
        seed: seed of the permutation; the same seed gives the same split.

    Returns:
        ``(train_images, train_labels, val_images, val_labels)``.
    """
    _check_pair(images, labels, "train_val_split")
    n = len(images)
    n_val = round(val_size * n) if isinstance(val_size, float) else int(val_size)
    if not 0 <= n_val < n:
        raise ShapeError(f"train_val_split: val_size={val_size} gives {n_val} validation examples out of the {n} "
                         f"training examples; hold out 0 to {n - 1} of them (is the data set smaller than expected?)")
    order = np.random.default_rng(seed).permutation(n)
    val, train = order[:n_val], order[n_val:]
    return images[train], labels[train], images[val], labels[val]


def as_float_pixels(images: np.ndarray, dtype: DTypeLike = np.float32) -> np.ndarray:
    """uint8 pixels (0..255, as image files store them) as floats in [0, 1]: ``images / 255`` in ``dtype``.
    Float images are returned as they are.

    ``tinygrad-edu train`` keeps MNIST as bytes and converts one batch at a time, after :func:`random_shift`:
    the same numbers as converting the whole set first (a zero pixel stays zero), with a quarter of the
    memory (the training images take 47 MB instead of 188 MB, and so does the copy the validation split makes).
    """
    if images.dtype.kind == "f":
        return images
    if images.dtype != np.uint8:
        raise TypeError(f"as_float_pixels: expected uint8 or float pixels, got {images.dtype}")
    return np.divide(images, np.float32(255), dtype=dtype)


def standardize(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return ``(x - mean) / std`` for ``train`` and each of ``others``, with the mean and std of ``train``.

    One scalar mean and std over all pixels (for MNIST in [0, 1]: about 0.1307 and 0.3081), so the
    validation and test sets are transformed exactly like the training set.
    """
    mean = np.float32(train.mean(dtype=np.float64))
    std = np.float32(train.std(dtype=np.float64)) or np.float32(1)
    return tuple(((x - mean) / std).astype(np.float32, copy=False) for x in (train, *others))


class BatchIterator:
    """Mini-batches ``(images, labels)`` over a data set, reshuffled at each pass, reproducibly.

    ``for xb, yb in batches:`` walks one epoch; the next ``for`` walks the next epoch with a new
    permutation drawn from the same seeded generator, so a run is identical from one launch to the next.

    Args:
        images: ``(N, ...)`` inputs.
        labels: ``(N,)`` targets.
        batch_size: examples per batch; None means the whole set in one batch (full-batch gradient descent).
        shuffle: draw a new random order every epoch (else keep the data order).
        seed: seed of the shuffling generator.
        drop_last: skip the last batch if it is smaller than ``batch_size``.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int | None = 128,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        _check_pair(images, labels, "BatchIterator")
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
            raise ValueError(f"BatchIterator: batch_size must be a positive int or None (full batch), got {batch_size!r}")
        self.images, self.labels = images, labels
        self.batch_size = len(images) if batch_size is None else int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n = len(self.images)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = len(self.images)
        if self.batch_size >= n:  # one batch: its order does not change the gradient, skip the copy
            if len(self):
                yield self.images, self.labels
            return
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.images[index], self.labels[index]


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator, side: int = 28) -> np.ndarray:
    """Move each flattened ``side x side`` image by a random whole number of pixels, up to ``max_shift`` each way.

    A cheap data augmentation: a digit moved by a pixel is the same digit, so the network learns to
    ignore small translations instead of memorising exact pixel positions (MNIST digits are centred,
    so the pixels shifted out are background). Each image gets its own vertical and horizontal shift,
    drawn uniformly from ``-max_shift..max_shift``.

    Args:
        images: ``(N, side*side)`` batch.
        max_shift: largest shift in pixels (0 returns ``images`` unchanged).
        rng: the generator drawing the shifts (seeded by the caller, for reproducible runs).
        side: the image side length.

    Returns:
        A new ``(N, side*side)`` array of the same dtype.
    """
    if max_shift == 0:
        return images
    n = len(images)
    # a frame of zeros max_shift wide around each image (what np.pad does, in half its time on a batch)
    padded = np.zeros((n, side + 2 * max_shift, side + 2 * max_shift), dtype=images.dtype)
    padded[:, max_shift:-max_shift, max_shift:-max_shift] = images.reshape(n, side, side)
    # windows[i, dy, dx] is padded[i] cropped at offset (dy, dx): a view, no copy until indexed
    windows = np.lib.stride_tricks.sliding_window_view(padded, (side, side), axis=(1, 2))
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    return windows[np.arange(n), dy, dx].reshape(n, side * side)


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """The items of ``items``, in order, each made by a background thread while the caller works on the one before.

    What PyTorch's ``DataLoader`` does with its workers, in one thread: NumPy lets go of Python's global lock
    while it copies and computes, so on a second core the next batch (gathered, shifted, converted) is ready
    when the training step ends. The items are made one after the other in that thread, so random draws
    happen in the same order as without it: the same batches, the same numbers.

    Args:
        items: what to make ahead (a generator runs in the background thread; nothing else may iterate it).
        depth: how many finished items may wait.

    An exception raised while making an item is raised here, in its place; leaving the loop early (``break``,
    an exception, ``close()``) stops the thread after the item it is making.
    """
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def make() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                waiting.put((item, None))
            waiting.put((_END, None))
        except BaseException as error:  # noqa: BLE001  handed to the caller, raised there
            waiting.put((_END, error))

    thread = threading.Thread(target=make, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = waiting.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # take what it made, so that a thread blocked on a full queue can see stop
            with contextlib.suppress(queue.Empty):
                waiting.get(timeout=0.01)


_END = object()  # what prefetch's thread sends after the last item

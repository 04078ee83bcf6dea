"""``tinygrad-edu evaluate --checkpoint FILE``: test accuracy and per-class accuracy of a trained network."""

from __future__ import annotations

import argparse

import numpy as np

from tinygrad_edu import manual
from tinygrad_edu.support.options import file_path, input_folder
from tinygrad_edu.training.loop import confusion_matrix, loss_and_accuracy, predict_in_chunks


def add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint`` and ``--data-dir``, shared by ``evaluate`` and ``predict``."""
    parser.add_argument("--checkpoint", required=True, type=file_path, metavar="FILE",
                        help="a model.npz written by `tinygrad-edu train`")
    parser.add_argument("--data-dir", type=input_folder, default=None, help="MNIST folder (default: $TINYGRAD_EDU_DATA or the cache)")


def test_logits(params: dict[str, np.ndarray], images: np.ndarray) -> np.ndarray:
    """The network's logits for ``images``, computed with the plain-NumPy forward pass."""
    return predict_in_chunks(lambda x: manual.forward(params, x)["Z2"], images)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tinygrad_edu.training.checkpoint import load_checkpoint
    from tinygrad_edu.data import load_mnist

    params, meta = load_checkpoint(args.checkpoint)
    mnist = load_mnist(args.data_dir)
    logits = test_logits(params, mnist.test_images)
    loss, accuracy = loss_and_accuracy(logits, mnist.test_labels)
    confusion = confusion_matrix(mnist.test_labels, logits.argmax(axis=1))
    hidden = params["W1"].shape[1]
    epochs = len(meta.get("epochs", []))
    print(f"checkpoint {args.checkpoint}: 784-{hidden}-10, trained with {meta.get('config', {}).get('engine', '?')}"
          f" for {epochs} epoch{'' if epochs == 1 else 's'}")
    print(f"test accuracy: {100 * accuracy:.2f}%  (test loss {loss:.4f}, {len(mnist.test_labels)} images)")
    print("digit  images  correct  accuracy  most often mistaken for")
    for digit in range(10):
        row = confusion[digit]
        others = row.copy()
        others[digit] = 0
        mistaken = f"{others.argmax()} ({others.max()}x)" if others.max() else "-"
        print(f"{digit:>5}  {row.sum():>6}  {row[digit]:>7}  {100 * row[digit] / max(row.sum(), 1):>7.2f}%  {mistaken}")
    return 0

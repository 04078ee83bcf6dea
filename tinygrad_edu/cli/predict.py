"""``tinygrad-edu predict --checkpoint FILE --index N``: one test digit, drawn in text, and what the network says."""

from __future__ import annotations

import argparse

import numpy as np

from tinygrad_edu import manual
from tinygrad_edu.support.options import non_negative_int
from tinygrad_edu.errors import UsageError
from tinygrad_edu.cli.evaluate import add_checkpoint_arguments

SHADES = " .:-=+*#%@"  # from white paper to black ink


def digit_to_text(image: np.ndarray, side: int = 28) -> str:
    """A 28x28 image with pixels in [0, 1] as lines of characters (two per pixel, so it is not squashed)."""
    levels = np.clip((np.asarray(image).reshape(side, side) * len(SHADES)).astype(int), 0, len(SHADES) - 1)
    return "\n".join("".join(SHADES[level] * 2 for level in row).rstrip() for row in levels)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_arguments(parser)
    parser.add_argument("--index", type=non_negative_int, default=0, metavar="N", help="which test image, 0..9999 (default 0)")


def run(args: argparse.Namespace) -> int:
    from tinygrad_edu.training.checkpoint import load_checkpoint
    from tinygrad_edu.data import load_mnist

    params, _ = load_checkpoint(args.checkpoint)
    mnist = load_mnist(args.data_dir)
    count = len(mnist.test_images)
    if not 0 <= args.index < count:
        raise UsageError(f"--index must be in 0..{count - 1} (the test set has {count} images), got {args.index}")
    image, label = mnist.test_images[args.index], int(mnist.test_labels[args.index])
    probabilities = manual.forward(params, image[None, :])["P"][0]
    predicted = int(probabilities.argmax())
    print(f"test image {args.index}:")
    print(digit_to_text(image))
    print("digit  probability")
    for digit, p in enumerate(probabilities):
        marker = "  <- predicted" if digit == predicted else ""
        print(f"{digit:>5}  {100 * p:6.2f}%  {'#' * round(30 * p)}{marker}")
    verdict = "correct" if predicted == label else "WRONG"
    print(f"predicted: {predicted} ({100 * probabilities[predicted]:.1f}%)   true label: {label}   {verdict}")
    return 0

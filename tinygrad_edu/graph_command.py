"""``tinygrad-edu graph``: draw the 784-H-10 MNIST network's loss graph (and its backward steps).

The network is the course's classifier, built from Tensor ops so every op shows in the graph::

    Z1 = X @ W1 + b1      A1 = relu(Z1)      Z2 = A1 @ W2 + b2      loss = cross_entropy(Z2, y)

on a random batch (pixels uniform in [0, 1), random labels): the graph's shape does not depend on
the data, so no MNIST download is needed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu.cli import MNIST_TRAIN_SIZE, hidden_units, int_range, output_file, output_folder, seed
from tinygrad_edu.tensor import Tensor

INPUTS, CLASSES = 784, 10


def mnist_loss(hidden: int = 128, batch: int = 64, seed: int = 0) -> Tensor:
    """The 784-``hidden``-10 network's cross-entropy loss on a random batch, as a Tensor graph.

    Parameters use He initialisation, :math:`W \\sim \\mathcal N(0, 2/n_{in})`, biases start at 0,
    named ``W1, b1, W2, b2`` (so :func:`tinygrad_edu.viz.draw_graph` groups them into layers); the
    intermediates are named ``Z1, A1, Z2`` as in the hand-derived backprop.

    Args:
        hidden: hidden layer width H.
        batch: number of random examples N.
        seed: seed of the parameters and the random batch.

    Returns:
        The scalar loss; call ``.backward()`` (or :func:`~tinygrad_edu.viz.backward_steps`) on it.
    """
    if hidden < 1 or batch < 1:
        raise ValueError(f"hidden and batch must be at least 1, got hidden={hidden}, batch={batch}")
    rng = np.random.default_rng(seed)

    def he(n_in: int, n_out: int, name: str) -> Tensor:
        w = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out)).astype(np.float32)
        return Tensor(w, requires_grad=True, name=name)

    W1, W2 = he(INPUTS, hidden, "W1"), he(hidden, CLASSES, "W2")
    b1 = Tensor(np.zeros(hidden, np.float32), requires_grad=True, name="b1")
    b2 = Tensor(np.zeros(CLASSES, np.float32), requires_grad=True, name="b2")
    X = Tensor(rng.random((batch, INPUTS), dtype=np.float32), name="X")
    y = rng.integers(0, CLASSES, size=batch)

    Z1 = X @ W1 + b1
    Z1.name = "Z1"
    A1 = F.relu(Z1)
    A1.name = "A1"
    Z2 = A1 @ W2 + b2
    Z2.name = "Z2"
    loss = F.cross_entropy(Z2, y)
    loss.name = "loss"
    return loss


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tinygrad-edu graph``."""
    parser.add_argument("--out", type=output_file, default=Path("out/mnist_graph.svg"), metavar="FILE",
                        help="where to save the graph: .svg, .png, .pdf or .dot (default: %(default)s)")
    parser.add_argument("--hidden", type=hidden_units, default=128, metavar="H", help="hidden width (default: %(default)s)")
    parser.add_argument("--batch", type=int_range(1, MNIST_TRAIN_SIZE), default=64, metavar="N",
                        help=f"random batch size, 1..{MNIST_TRAIN_SIZE} (default: %(default)s)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the weights and the batch (default: %(default)s)")
    parser.add_argument("--steps", type=output_folder, metavar="FOLDER",
                        help="also save one SVG per backward step in FOLDER (step_001.svg, ...)")
    parser.add_argument("--show-data", action="store_true", help="summarise every tensor's values too")
    parser.add_argument("--rankdir", choices=["LR", "TB"], default="LR", help="layout direction (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Build the loss, run backward (step by step when ``--steps``), save the graph, print the paths."""
    from tinygrad_edu.errors import TinygradEduError
    from tinygrad_edu.viz import GraphvizNotFoundError, save_backward_steps, save_graph

    loss = mnist_loss(hidden=args.hidden, batch=args.batch, seed=args.seed)
    options = {"show_data": args.show_data, "rankdir": args.rankdir}
    print(f"784-{args.hidden}-10 network, batch of {args.batch} random inputs: loss = {loss.item():.4f}")
    try:
        if args.steps is not None:
            paths = save_backward_steps(loss, args.steps, **options)
            print(f"backward steps ({len(paths)}): {paths[0]} ... {paths[-1]}")
        else:
            loss.backward()
        path = save_graph(loss, args.out, **options)
    except GraphvizNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except TinygradEduError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"graph with gradients: {path}")
    return 0

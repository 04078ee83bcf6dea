"""``tinygrad-edu graph``: draw the 784-H-10 MNIST network's loss graph (and its backward steps).

The network is :func:`tinygrad_edu.manual.autodiff.mnist_loss`, the course's classifier built from Tensor ops on
a random batch (the graph's shape does not depend on the data, so no MNIST download is needed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinygrad_edu.manual.autodiff import mnist_loss
from tinygrad_edu.support.options import MNIST_TRAIN_SIZE, hidden_units, int_range, output_file, output_folder, seed


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

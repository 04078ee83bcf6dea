"""The ``tinygrad-edu`` command line (also ``python -m tinygrad_edu``).

Each subcommand lives in its own module, which defines two functions:

* ``add_arguments(parser: argparse.ArgumentParser) -> None`` declares its options;
* ``run(args: argparse.Namespace) -> int`` does the work and returns the exit code.

``COMMANDS`` below is the one list of subcommands. A command module keeps heavy imports
(matplotlib, graphviz rendering) inside ``run`` so that ``tinygrad-edu --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tinygrad_edu import __version__
from tinygrad_edu.errors import TinygradEduError

# name -> (module that implements it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "compare": ("tinygrad_edu.compare", "Compare the hand-derived backprop with autodiff and finite differences, gradient by gradient."),
    "exercise": ("tinygrad_edu.exercises.command", "Exercises: write the gradients yourself; check them and see the likely mistake."),
    "graph": ("tinygrad_edu.graph_command", "Draw the 784-H-10 network's loss graph (and backward steps) with Graphviz."),
    "train": ("tinygrad_edu.train", "Train the 784-hidden-10 MNIST classifier (autodiff or hand-derived engine), with plots."),
    "predict": ("tinygrad_edu.predict", "Show one test digit and what a trained checkpoint predicts for it."),
    "evaluate": ("tinygrad_edu.evaluate", "Test accuracy and per-class accuracy of a trained checkpoint."),
}


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (sizes, counts)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with one sub-parser per entry of ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="tinygrad-edu",
        description="Learn how neural networks learn: autodiff, hand-derived backprop and MNIST.",
    )
    parser.add_argument("--version", action="version", version=f"tinygrad-edu {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the chosen subcommand, return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except TinygradEduError as error:  # missing MNIST, a bad file, a bad setting: a message, not a traceback
        print(f"tinygrad-edu {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

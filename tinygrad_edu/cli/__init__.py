"""The ``tinygrad-edu`` command line (also ``python -m tinygrad_edu``).

Each subcommand lives in its own module, which defines two functions:

* ``add_arguments(parser: argparse.ArgumentParser) -> None`` declares its options;
* ``run(args: argparse.Namespace) -> int`` does the work and returns the exit code.

``COMMANDS`` below is the one list of subcommands. A command module keeps heavy imports
(matplotlib, graphviz rendering) inside ``run`` so that ``tinygrad-edu --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence

from tinygrad_edu import __version__
from tinygrad_edu.errors import TinygradEduError, UsageError

# name -> (module that implements it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "compare": ("tinygrad_edu.cli.compare", "Compare the hand-derived backprop with autodiff and finite differences, gradient by gradient."),
    "exercise": ("tinygrad_edu.cli.exercise", "Exercises: write the gradients yourself; check them and see the likely mistake."),
    "graph": ("tinygrad_edu.cli.graph", "Draw the 784-H-10 network's loss graph (and backward steps) with Graphviz."),
    "train": ("tinygrad_edu.cli.train", "Train the 784-hidden-10 MNIST classifier (autodiff or hand-derived engine), with plots."),
    "predict": ("tinygrad_edu.cli.predict", "Show one test digit and what a trained checkpoint predicts for it."),
    "evaluate": ("tinygrad_edu.cli.evaluate", "Test accuracy and per-class accuracy of a trained checkpoint."),
    "grade": ("tinygrad_edu.cli.grade", "Mark a class: every student's exercises checked apart; grades.csv, Gradescope, JUnit."),
    "notebooks": ("tinygrad_edu.cli.notebooks", "Write every lesson as a Jupyter notebook (lessons/*.py -> notebooks/*.ipynb)."),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the parser with one sub-parser per entry of ``COMMANDS``.

    Args:
        only: the command about to run: only its module is imported and its options declared (the others
            keep their one-line help), which saves a command the start-up cost of all the others'
            imports. None declares every command's options.
    """
    parser = argparse.ArgumentParser(
        prog="tinygrad-edu",
        description="Learn how neural networks learn: autodiff, hand-derived backprop and MNIST.",
    )
    parser.add_argument("--version", action="version", version=f"tinygrad-edu {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
    return parser


@contextlib.contextmanager
def _terminate_cleanly_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into an exception while a command runs, so temporary files are removed on the way out
    (as with Ctrl-C); the previous handler is restored afterwards."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt("terminated")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError, AttributeError):  # not in the main thread, or no SIGTERM on this platform
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the chosen subcommand, return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # the first word that is not an option names the command (the top level has only --help and --version)
    command = next((word for word in argv if not word.startswith("-")), None)
    parser = build_parser(only=command)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        with _terminate_cleanly_on_sigterm():
            return int(args.run(args) or 0)
    except UsageError as error:  # a setting that cannot work, found before the work starts: bad usage, exit 2
        print(f"tinygrad-edu {args.command}: error: {error}", file=sys.stderr)
        return 2
    except TinygradEduError as error:  # missing MNIST, a bad file, a bad setting: a message, not a traceback
        print(f"tinygrad-edu {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"tinygrad-edu {args.command}: error: out of memory; try a smaller --hidden or --batch-size",
              file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of our output went away (`tinygrad-edu ... | head`): stop quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own advice: no second error at exit
        return 141  # 128 + SIGPIPE, what a shell reports for a command whose pipe was closed
    except OSError as error:  # a file we could not read or write that no check above foresaw: say which
        where = f" {error.filename}:" if error.filename else ""
        print(f"tinygrad-edu {args.command}: error:{where} {error.strerror or error}", file=sys.stderr)
        return 1

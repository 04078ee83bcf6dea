"""``tinygrad-edu compare``: the hand-derived gradients against autodiff and finite differences, as a table.

``--inject-bug NAME`` swaps a classic mistake in (``--list-bugs``); ``--backward FILE[:FUNCTION]`` compares the
student's own backward, each of its lines also checked on its own and diagnosed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_edu import manual
from tinygrad_edu.errors import TinygradEduError
from tinygrad_edu.exercises.checks.network_backprop import compare_student_backward
from tinygrad_edu.exercises.report import format_items
from tinygrad_edu.manual.compare import compare_gradients, format_table, use_color, wrap
from tinygrad_edu.manual.mistakes import BUGS
from tinygrad_edu.support.options import MNIST_TRAIN_SIZE, hidden_units, input_folder, int_range, positive_int, seed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tinygrad-edu compare``."""
    parser.add_argument("--hidden", type=hidden_units, default=128, metavar="H", help="hidden units (default 128; try 10)")
    parser.add_argument("--batch-size", type=int_range(1, MNIST_TRAIN_SIZE), default=64, metavar="N",
                        help=f"examples per batch, 1..{MNIST_TRAIN_SIZE} (default 64)")
    parser.add_argument(
        "--dtype",
        choices=["float32", "float64"],
        default="float64",
        help="precision of the weights and gradients (default float64; float32 is what training uses)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="seeds the weights, the batch and the checked coordinates")
    parser.add_argument(
        "--data-dir",
        type=input_folder,
        metavar="DIR",
        help="folder with the MNIST files, to compare on a real batch (default: the data folder, $TINYGRAD_EDU_DATA "
        "or the cache, if MNIST is already there; else random inputs of MNIST's shape; nothing is downloaded)",
    )
    parser.add_argument(
        "--fd-points",
        type=positive_int,
        default=5,
        metavar="K",
        help="random coordinates per tensor for finite differences (default 5)",
    )
    parser.add_argument(
        "--inject-bug",
        metavar="NAME",
        choices=list(BUGS),
        help="swap a known student mistake into the hand-derived backward (see --list-bugs)",
    )
    parser.add_argument(
        "--backward",
        metavar="FILE[:FUNCTION]",
        help="compare YOUR backward instead: FUNCTION (default backward) of the Python file FILE, with manual.backward's "
        "signature backward(params, cache, y) returning a dict of dZ2 dW2 db2 dA1 dZ1 dW1 db1; each line is also "
        "checked on its own and a failing one is diagnosed",
    )
    parser.add_argument("--list-bugs", action="store_true", help="list the bugs --inject-bug knows, and exit")
    parser.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour the table (auto: on a terminal, unless NO_COLOR is set)",
    )


def _batch(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str]:
    """A batch for the comparison: real MNIST if it is at hand, else random inputs of MNIST's shape.

    MNIST is at hand when ``--data-dir`` is given (it must then hold the files), or when the loader's default
    folder (``$TINYGRAD_EDU_DATA``, else the cache folder) already holds them. Nothing is downloaded.
    """
    from tinygrad_edu.data import MnistNotFoundError, load_mnist, resolve_data_dir

    rng = np.random.default_rng([args.seed, 1])  # a stream of its own, apart from the weights'
    try:
        mnist = load_mnist(args.data_dir, download=False)
    except MnistNotFoundError:
        if args.data_dir is not None:
            raise
        x = rng.random((args.batch_size, manual.N_FEATURES))
        y = rng.integers(0, manual.N_CLASSES, size=args.batch_size)
        return x, y, (
            f"random pixels in [0, 1) and random labels, MNIST's shape {x.shape} "
            f"(no MNIST in {resolve_data_dir()}; --data-dir DIR compares on a real batch)"
        )
    total = len(mnist.train_labels)
    if args.batch_size > total:
        raise manual.InputError(
            f"compare: --batch-size {args.batch_size} is larger than MNIST's {total} training images"
        )
    rows = np.sort(rng.choice(total, size=args.batch_size, replace=False))
    return mnist.train_images[rows], mnist.train_labels[rows], (
        f"a real MNIST batch, {args.batch_size} training images picked at random (seed {args.seed}) from {mnist.source}"
    )


def run(args: argparse.Namespace) -> int:
    """``tinygrad-edu compare``: print the table; exit 1 when a gradient fails, 2 on bad input."""
    try:
        return _run(args)
    finally:
        while _OPEN_SANDBOXES:
            _OPEN_SANDBOXES.pop().close()


def _run(args: argparse.Namespace) -> int:
    if args.list_bugs:
        width = max(map(len, BUGS))
        print("Bugs for --inject-bug (each is a mistake students make deriving backprop by hand):")
        for bug in BUGS.values():
            print(f"  {bug.name:<{width}}  {bug.summary}")
        return 0
    color = use_color(sys.stdout, args.color)
    backward = None
    if args.backward is not None:
        if args.inject_bug:
            print("tinygrad-edu compare: error: give --backward or --inject-bug, not both", file=sys.stderr)
            return 2
        backward, code = _load_backward(args.backward)
        if backward is None:
            return code
    try:
        x, y, source = _batch(args)
        params = manual.init_params(args.hidden, seed=args.seed, dtype=np.dtype(args.dtype))
        options = {"fd_points": args.fd_points, "seed": args.seed}
        if backward is None:
            comparison = compare_gradients(params, x, y, bug=args.inject_bug, **options)
        else:
            comparison = compare_student_backward(backward, params, x, y, **options)
    except (TinygradEduError, OSError) as error:
        print(f"tinygrad-edu compare: error: {error}", file=sys.stderr)
        return 2
    title = "Hand-derived backprop vs autodiff vs finite differences"
    print(f"{title}\nnetwork 784-{args.hidden}-10, batch {args.batch_size}, {args.dtype}, seed {args.seed}")
    print(wrap(f"input: {source}"))
    if args.inject_bug:
        bug = BUGS[args.inject_bug]
        print(wrap(f"injected bug {bug.name!r}: {bug.summary}"))
        print(wrap(bug.explanation, indent="  "))
    if backward is not None:
        print(wrap(f"your backward: {comparison.source}"))
    print()
    if comparison.lines is not None:
        print("Each line on its own, fed the correct upstream gradients:", *format_items(comparison.lines), "",
              "In the chain (each of your gradients computed from yours before it):", sep="\n")
    print(format_table(comparison, color=color))
    refusals = [r for box in _OPEN_SANDBOXES for r in box.refusals]
    if refusals:  # the numbers above came from a file that reached for the reference: they do not count
        print(wrap(f"FAIL: your file {refusals[0]}; it is not allowed while the file is checked, so the "
                   "comparison does not count"))
        return 1
    return 0 if comparison.passed else 1


def _load_backward(spec: str) -> tuple[Callable[..., Any] | None, int]:
    """The student's function from ``FILE[:FUNCTION]``, run in a child process (:mod:`tinygrad_edu.sandbox`,
    closed when the command ends); on failure None and the exit code, the reason printed.

    A file that does not exist or a function it lacks is bad usage (2); a file that fails to load (their syntax
    error, their exception, an early exit) is reported against their line (1).
    """
    from tinygrad_edu.exercises.student import StudentFileError
    from tinygrad_edu.sandbox import Sandbox, guard_for

    path, _, function = spec.rpartition(":")
    if not path or not function.isidentifier():  # no ":FUNCTION" (a colon may be part of the path)
        path, function = spec, "backward"
    if not os.path.isfile(path):
        print(f"tinygrad-edu compare: error: --backward {path}: no such file "
              "(give the path of your Python file, e.g. --backward my_backward.py:backward)", file=sys.stderr)
        return None, 2
    box = Sandbox(path, (function,), guard_for("network-backprop"))
    try:
        box.start()
    except StudentFileError as error:
        print(f"tinygrad-edu compare: your file does not load: {error}", file=sys.stderr)
        return None, 1
    _OPEN_SANDBOXES.append(box)
    if function not in box.functions:
        listing = f"; it defines: {', '.join(box.defined)}" if box.defined else ""
        print(f"tinygrad-edu compare: error: {path} has no function {function}(){listing}", file=sys.stderr)
        return None, 2
    return box.functions[function], 0


_OPEN_SANDBOXES: list[Any] = []  # the children of --backward, ended when run() returns

"""Small helpers shared by the lesson scripts in ``lessons/``.

Every lesson takes the same two options, prints what it shows, and saves its figures into one output folder
whose path it prints:

* ``--out DIR``: where figures and files go (default ``out/lesson-NN`` under the current directory);
* ``--quick``: a smaller run, for the tests and the docs build (only the training lessons change with it).

Every lesson runs NumPy's BLAS on one thread (:func:`tinygrad_edu.blas.blas_threads`: measured faster for these
small matrices, and steady on a busy machine).

matplotlib is imported inside :func:`new_figure`, so a lesson that draws nothing does not pay for it.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_edu.atomic import atomic_write
from tinygrad_edu.blas import blas_threads

NUMBERS_FILE = "numbers.json"


def lesson_number(script_file: str | os.PathLike[str]) -> str:
    """The two-digit number of a lesson script: ``lessons/03_tensors.py`` -> ``"03"``."""
    name = Path(script_file).name
    if not (len(name) > 2 and name[:2].isdigit()):
        raise ValueError(f"lesson scripts are named NN_topic.py, got {name!r}")
    return name[:2]


def lesson_arguments(
    script_file: str | os.PathLike[str],
    description: str,
    argv: Sequence[str] | None = None,
    extra: dict[str, dict[str, Any]] | None = None,
) -> argparse.Namespace:
    """Parse a lesson's command line, create its output folder and print where the files go.

    Args:
        script_file: the lesson's ``__file__``; its number names the default output folder.
        description: one line shown by ``--help``.
        argv: the arguments (default: ``sys.argv[1:]``).
        extra: more options, ``{"--flag": argparse keyword arguments}``.

    Returns:
        The parsed arguments; ``args.out`` is a :class:`~pathlib.Path` to an existing folder.
    """
    number = lesson_number(script_file)
    parser = argparse.ArgumentParser(prog=Path(script_file).name, description=description)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("out") / f"lesson-{number}",
        help="folder for the figures and files this lesson saves (default: %(default)s)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smaller, faster run (used by the tests and the docs build)"
    )
    for flag, options in (extra or {}).items():
        parser.add_argument(flag, **options)
    args = parser.parse_args(argv)
    blas_threads()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"Lesson {int(number)}: {description}")
    print(f"Figures and files go to {display_path(args.out)}/")
    return args


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the current directory when it lies inside it (shorter to read), else absolute."""
    path = Path(path).absolute()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def heading(title: str) -> None:
    """Print a section heading, so a lesson's output reads like the page it goes with."""
    print()
    print(title)
    print("-" * len(title))


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], float_format: str = ".3e") -> str:
    """Lay out rows as an aligned text table; floats use ``float_format``.

    >>> print(format_table(["name", "x", "f(x)"], [["one", 1, 0.5], ["ten", 10, 2.25]], float_format=".2f"))
    name   x  f(x)
    ----  --  ----
    one    1  0.50
    ten   10  2.25
    """

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return format(value, float_format)
        return str(value)

    def align(text: str, width: int, value: Any) -> str:
        # Numbers line up on the right, words read from the left.
        return text.rjust(width) if isinstance(value, (int, float, np.number)) else text.ljust(width)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    numeric = [bool(rows) and isinstance(rows[0][i], (int, float, np.number)) for i in range(len(headers))]
    lines = ["  ".join(h.rjust(w) if n else h.ljust(w) for h, w, n in zip(headers, widths, numeric)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(align(c, w, v) for c, w, v in zip(row, widths, values)).rstrip()
              for row, values in zip(cells, rows)]
    return "\n".join(lines)


def new_figure(*subplots: int, width: float = 6.4, height: float = 4.0):
    """A matplotlib figure and its axes (``new_figure(1, 2)`` for two side by side), on the Agg backend."""
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = subplots if subplots else (1, 1)
    return plt.subplots(rows, cols, figsize=(width, height), layout="constrained")


def save_figure(fig, out_dir: Path, name: str) -> Path:
    """Save a matplotlib figure as ``out_dir/name`` (PNG or SVG, from the suffix), close it, print the path."""
    import matplotlib.pyplot as plt

    path = Path(out_dir) / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"saved {display_path(path)}")
    return path


def record_numbers(out_dir: str | os.PathLike[str], **numbers: str) -> Path:
    """Add ``numbers`` (already formatted, as the lesson printed them) to ``out_dir/numbers.json``.

    The site quotes a lesson's numbers from this file (``[[lesson-07:test_accuracy]]`` in a page), so the
    sentence and the figure beside it come from the same run.

    >>> import tempfile; folder = tempfile.mkdtemp()
    >>> path = record_numbers(folder, accuracy="97.1%")
    >>> json.loads(path.read_text())
    {'accuracy': '97.1%'}
    """
    path = Path(out_dir) / NUMBERS_FILE
    recorded = json.loads(path.read_text()) if path.is_file() else {}
    recorded.update({name: str(value) for name, value in numbers.items()})
    with atomic_write(path) as f:
        f.write((json.dumps(recorded, indent=2) + "\n").encode())
    return path

"""Small helpers shared by the lessons in ``lessons/``.

Each lesson is one file in the percent format (``# %%`` code cells, ``# %% [markdown]`` text cells), so it runs
as a script and opens as a notebook (Jupyter through jupytext, VS Code, PyCharm). Its first code cell sets
plain variables (``QUICK``, ``OUT``, ``DATA_DIR``...) and passes them to :func:`lesson_settings`, which lets the
script's options override them (``--quick``, ``--out DIR``, ``--data-dir DIR``), checks them before any work
and prints where the lesson's figures go:

* ``OUT`` / ``--out DIR``: where figures and files go (default ``out/lesson-NN`` under the current directory);
* ``QUICK`` / ``--quick``: a smaller run, for the tests and the docs build (only the training lessons change
  with it).

:func:`save_figure` saves a figure and prints its path; in a notebook it also shows the figure inline.
Every lesson runs NumPy's BLAS on one thread (:func:`tinygrad_edu.training.blas.blas_threads`: measured faster for these
small matrices, and steady on a busy machine), and may record the numbers it printed with
:func:`record_numbers`, for the site to quote.

matplotlib is imported inside :func:`new_figure`, so a lesson that draws nothing does not pay for it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_edu.support.atomic import atomic_write
from tinygrad_edu.training.blas import blas_threads
from tinygrad_edu.support.options import OutputFolderError, input_folder, output_folder, positive_int, prepare_output_folder
from tinygrad_edu.errors import TinygradEduError, UsageError


def in_notebook() -> bool:
    """True when the code runs in a Jupyter kernel (Jupyter, VS Code's notebooks, Colab), not as a script."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


class LessonSettingError(TinygradEduError, ValueError):
    """A lesson setting (``--out``, ``--epochs``...) that cannot work, caught before the lesson starts."""


# The settings a lesson may declare: keyword of lesson_settings() -> its command-line option.
LESSON_OPTIONS: dict[str, dict[str, Any]] = {
    "quick": {"action": "store_true", "help": "a smaller, faster run (used by the tests and the docs build)"},
    "epochs": {"type": positive_int, "metavar": "N", "help": "training epochs (default: 2 with --quick, else 5)"},
    "data_dir": {
        "type": input_folder,
        "metavar": "DIR",
        "help": "the folder holding MNIST (default: $TINYGRAD_EDU_DATA, else the download cache)",
    },
    "out": {"type": output_folder, "metavar": "DIR", "help": "folder for the figures and files this lesson saves (default: %(default)s)"},
}


def lesson_settings(number: int, description: str, **settings: Any) -> Any:
    """A lesson's settings: the values of its first cell, overridden by the command line when run as a script.

    A lesson's first cell sets plain variables a student can change and rerun, then passes them here::

        QUICK = False
        OUT = "out/lesson-07"
        QUICK, OUT = lesson_settings(7, "training on MNIST", quick=QUICK, out=OUT)

    Run as a script, ``--quick``, ``--out DIR``, ``--data-dir DIR`` and ``--epochs N`` (those of
    :data:`LESSON_OPTIONS` the lesson declares) replace the values, and every lesson accepts ``--quick``. In a
    notebook the command line is the kernel's, so it is not read. Either way every value is checked before any
    work (the output folder is created and must be writable), the lesson's title and output folder are printed,
    and, in a script, the package's errors are reported as one clean line (exit 1) and bad settings as usage
    errors (exit 2) instead of tracebacks.

    Returns:
        The values in the order of the keywords (one value if only one keyword); ``out`` and ``data_dir``
        as :class:`~pathlib.Path`.
    """
    unknown = sorted(set(settings) - set(LESSON_OPTIONS))
    if unknown:
        raise TypeError(f"lesson_settings() has no setting {', '.join(unknown)}; known: {', '.join(LESSON_OPTIONS)}")
    values = dict(settings)
    if in_notebook():
        def refuse(name: str, message: str) -> None:
            raise LessonSettingError(f"{name.upper()}: {message}")
    else:
        parser = argparse.ArgumentParser(prog=Path(sys.argv[0]).name, description=f"Lesson {number}: {description}")
        for name in [*settings, *(["quick"] if "quick" not in settings else [])]:
            options = dict(LESSON_OPTIONS[name])
            if name == "quick" and name not in settings:
                options["help"] = "accepted by every lesson; this one is quick either way"
            parser.add_argument("--" + name.replace("_", "-"), default=settings.get(name, False), **options)
        values = {name: getattr(parser.parse_args(), name) for name in settings}

        def refuse(name: str, message: str) -> None:
            parser.error(f"argument --{name.replace('_', '-')}: {message}")  # exit 2, usage on stderr

        report_errors_cleanly(parser.prog)
    # The option types check every value, also a notebook's and a default edited in the settings cell.
    for name, value in values.items():
        check = LESSON_OPTIONS[name].get("type")
        if check is not None and value is not None:
            try:
                values[name] = check(str(value))
            except argparse.ArgumentTypeError as error:
                refuse(name, str(error))
    if "out" in values:
        try:
            prepare_output_folder(values["out"])
        except OutputFolderError as error:
            refuse("out", str(error))
    blas_threads()
    print(f"Lesson {number}: {description}")
    if "out" in values:
        print(f"Figures and files go to {display_path(values['out'])}/")
    result = tuple(values[name] for name in settings)
    return result[0] if len(result) == 1 else result


def report_errors_cleanly(prog: str) -> None:
    """In a script, print the package's errors (a missing file, a bad setting) as ``prog: error: ...``, no traceback.

    The same words and exit codes as the ``tinygrad-edu`` commands: 2 for a setting that cannot work
    (:class:`~tinygrad_edu.errors.UsageError`), 1 for any other of the package's errors (Python's exit code for an
    uncaught exception). Bugs (any other exception) keep their traceback, which is what a bug report needs.
    """
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, traceback: Any) -> None:
        if isinstance(error, TinygradEduError):
            sys.stdout.flush()
            print(f"{prog}: error: {error}", file=sys.stderr)
            if isinstance(error, UsageError):
                sys.stderr.flush()
                os._exit(2)  # the hook cannot change the exit code otherwise; nothing is left to clean up
        elif isinstance(error, KeyboardInterrupt):
            print("interrupted", file=sys.stderr)
            sys.stderr.flush()
            os._exit(130)  # what a shell expects after Ctrl-C, as the tinygrad-edu commands return
        else:
            previous(kind, error, traceback)

    sys.excepthook = hook


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
    """A matplotlib figure and its axes (``new_figure(1, 2)`` for two side by side).

    A script draws on the Agg backend (no window); a notebook keeps its own backend, so the student's own
    figures still show inline.
    """
    import matplotlib

    if not os.environ.get("MPLBACKEND") and not in_notebook():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = subplots if subplots else (1, 1)
    return plt.subplots(rows, cols, figsize=(width, height), layout="constrained")


def save_figure(fig, out_dir: Path, name: str) -> None:
    """Save a matplotlib figure as ``out_dir/name`` (PNG or SVG, from the suffix), close it, print the path.

    In a notebook the saved file is also shown inline (see :func:`show_saved`). Returns None, so a notebook
    cell that ends with it shows the figure and nothing else.
    """
    import matplotlib.pyplot as plt

    path = Path(out_dir) / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    show_saved(path)


def show_saved(path: str | os.PathLike[str], note: str = "") -> None:
    """Print ``saved PATH`` (and ``note``); in a notebook, also display the PNG or SVG file inline."""
    path = Path(path)
    print(f"saved {display_path(path)}" + (f" {note}" if note else ""))
    if in_notebook() and path.suffix.lower() in (".png", ".svg"):
        from IPython.display import SVG, Image, display

        display(SVG(filename=str(path)) if path.suffix.lower() == ".svg" else Image(filename=str(path)))


_graphviz_help_shown = False


@contextlib.contextmanager
def graphviz_optional() -> Iterator[None]:
    """Run the block; if it stops because Graphviz's ``dot`` is missing, say so and go on after the block.

    :func:`~tinygrad_edu.viz.save_graph` writes the ``.dot`` source when it cannot render; the first miss
    prints that and how to install Graphviz, later ones only which source was written.
    """
    from tinygrad_edu.viz import INSTALL_HELP, GraphvizNotFoundError

    global _graphviz_help_shown
    try:
        yield
    except GraphvizNotFoundError as error:
        message = str(error)
        if _graphviz_help_shown:
            message = message.replace(INSTALL_HELP, "").rstrip()
        _graphviz_help_shown = True
        sys.stdout.flush()
        print(message, file=sys.stderr)


NUMBERS_FILE = "numbers.json"


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

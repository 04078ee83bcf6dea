"""``tinygrad-edu notebooks``: write every lesson as a Jupyter notebook (``lessons/*.py`` -> ``notebooks/*.ipynb``)."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from tinygrad_edu.course.lesson import display_path
from tinygrad_edu.course.notebooks import write_notebooks
from tinygrad_edu.support.options import input_folder, output_folder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lessons", type=input_folder, default=Path("lessons"), metavar="DIR",
                        help="the folder of lesson scripts (default: %(default)s, as in a clone of the repository)")
    parser.add_argument("--out", type=output_folder, default=Path("notebooks"), metavar="DIR",
                        help="where the .ipynb files go (default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="replace notebooks you edited or ran (without it they are kept and nothing is written)")


def run(args: argparse.Namespace) -> int:
    written = write_notebooks(args.lessons, args.out, force=args.force)
    for path in written:
        print(f"wrote {display_path(path)}")
    if importlib.util.find_spec("jupyterlab") is not None:
        print(f"Open one with `jupyter lab {display_path(written[0])}` or in VS Code, with this environment's Python;")
    else:  # .[dev] and .[notebooks] bring no Jupyter to open them with
        print("To open them in Jupyter, install JupyterLab into this environment first: pip install -e \".[student]\" "
              f"(then `jupyter lab {display_path(written[0])}`), or open them in VS Code with this environment's Python;")
    print("its first code cell holds the settings (QUICK, OUT, DATA_DIR). The scripts stay the source: edit those.")
    return 0

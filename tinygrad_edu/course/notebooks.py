"""Every lesson as a Jupyter notebook, generated from its script (what ``tinygrad-edu notebooks`` writes).

The lessons in ``lessons/`` are plain Python in the percent format (``# %%`` code cells, ``# %% [markdown]``
text cells): they run as scripts, and Jupyter (through jupytext), VS Code and PyCharm open them as notebooks
as they are. For tools that need an ``.ipynb`` (Jupyter without jupytext), this command converts
them with jupytext. The ``.ipynb`` files are never committed, so script, notebook and page cannot drift
apart: the docs build puts the same notebooks on the site, and a student with a clone runs::

    tinygrad-edu notebooks              # lessons/*.py -> notebooks/*.ipynb
    jupyter lab notebooks/01_chain_rule.ipynb
"""

from __future__ import annotations

from pathlib import Path

from tinygrad_edu.support.atomic import atomic_write
from tinygrad_edu.support.options import prepare_output_folder
from tinygrad_edu.errors import TinygradEduError, UsageError

LESSON_GLOB = "[0-9][0-9]_*.py"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class NotebookError(TinygradEduError, RuntimeError):
    """The notebooks cannot be made: jupytext is missing."""


def lesson_scripts(lessons_dir: str | Path) -> list[Path]:
    """The numbered lesson scripts in ``lessons_dir``, in order (``01_chain_rule.py``, ...)."""
    return sorted(Path(lessons_dir).glob(LESSON_GLOB))


def lesson_notebook(script: str | Path) -> str:
    """The ``.ipynb`` text (nbformat 4 JSON, no outputs) of one percent-format lesson script."""
    try:
        import jupytext
        import nbformat
    except ImportError:
        raise NotebookError(
            "making notebooks needs jupytext: pip install 'tinygrad-edu[notebooks]' (or pip install jupytext)"
        ) from None
    notebook = jupytext.read(Path(script), fmt="py:percent")
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)  # opens with a Python kernel, no question asked
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.metadata.pop("jupytext", None)  # a standalone download, not paired with the script
    source = f"lessons/{Path(script).name}"
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(
        f"*This notebook is made from `{source}` of tinygrad_edu.* It needs the package in the notebook's "
        "Python: in a clone of the repository, `pip install -e \".[dev]\"` (see the README), then start Jupyter "
        "from that environment, or pick its Python as the kernel in VS Code. Run the cells in order; change a "
        "setting in the first code cell and run again."
    ))
    for number, cell in enumerate(notebook.cells, start=1):
        cell.id = f"cell-{number:03d}"  # the same script always gives the same file (nbformat's ids are random)
    return jupytext.writes(notebook, fmt="ipynb")


def write_notebooks(lessons_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/<script name>.ipynb`` for every lesson script (each file atomically); return the paths."""
    scripts = lesson_scripts(lessons_dir)
    if not scripts:
        raise UsageError(
            f"no lesson scripts ({LESSON_GLOB}) in {Path(lessons_dir).absolute()}: run this from a clone of the "
            "repository, or name the folder with --lessons DIR"
        )
    out = prepare_output_folder(out_dir)
    written = []
    for script in scripts:
        path = out / f"{script.stem}.ipynb"
        with atomic_write(path) as file:
            file.write(lesson_notebook(script).encode("utf-8"))
        written.append(path)
    return written

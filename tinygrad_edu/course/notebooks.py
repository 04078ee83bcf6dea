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

import hashlib
import json
import stat
from pathlib import Path
from typing import Any

from tinygrad_edu.support.atomic import atomic_write
from tinygrad_edu.support.options import prepare_output_folder
from tinygrad_edu.errors import TinygradEduError, UsageError

LESSON_GLOB = "[0-9][0-9]_*.py"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class NotebookError(TinygradEduError, RuntimeError):
    """The notebooks cannot be made (jupytext is missing, a lesson is not UTF-8), or would replace the student's."""


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
    try:
        text = Path(script).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise NotebookError(f"{script} is not UTF-8 text (byte {error.start} cannot be read); save the lesson as "
                            "UTF-8 (Python's own default for source files) and run again") from None
    notebook = jupytext.reads(text, fmt="py:percent")
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)  # opens with a Python kernel, no question asked
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.metadata.pop("jupytext", None)  # a standalone download, not paired with the script
    source = f"lessons/{Path(script).name}"
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(
        f"*This notebook is made from `{source}` of tinygrad_edu.* It needs the package in the notebook's "
        "Python: in a clone of the repository, `pip install -e \".[student]\"` (see the README), then start Jupyter "
        "from that environment, or pick its Python as the kernel in VS Code. Run the cells in order; change a "
        "setting in the first code cell and run again."
    ))
    for number, cell in enumerate(notebook.cells, start=1):
        cell.id = f"cell-{number:03d}"  # the same script always gives the same file (nbformat's ids are random)
    # What the cells were when written: a notebook whose cells still match is ours to replace (see write_notebooks).
    notebook.metadata["tinygrad_edu"] = {"source": source, "cells_sha256": cells_fingerprint(notebook.cells)}
    return jupytext.writes(notebook, fmt="ipynb")


def cells_fingerprint(cells: list[Any]) -> str:
    """A hash of the cells' kinds, sources and outputs (nbformat files may store a source as a list of lines)."""
    def text(source: str | list[str]) -> str:
        return source if isinstance(source, str) else "".join(source)

    content = [[cell["cell_type"], text(cell["source"]), cell.get("outputs", [])] for cell in cells]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


def is_untouched(path: Path) -> bool:
    """True if ``path`` is a notebook this command wrote that nobody has edited, run or made read-only since."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        recorded = notebook["metadata"]["tinygrad_edu"]["cells_sha256"]
        current = cells_fingerprint(notebook["cells"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):  # not a notebook we wrote
        return False
    return current == recorded and bool(path.stat().st_mode & stat.S_IWUSR)  # mode bits: root ignores access()


def write_notebooks(lessons_dir: str | Path, out_dir: str | Path, force: bool = False) -> list[Path]:
    """Write ``out_dir/<script name>.ipynb`` for every lesson script (each file atomically); return the paths.

    A notebook already there is replaced only if it is untouched (:func:`is_untouched`): one the student
    edited, ran (its outputs) or made read-only is theirs, and then nothing is written unless ``force``.
    """
    scripts = lesson_scripts(lessons_dir)
    if not scripts:
        raise UsageError(
            f"no lesson scripts ({LESSON_GLOB}) in {Path(lessons_dir).absolute()}: run this from a clone of the "
            "repository, or name the folder with --lessons DIR"
        )
    notebooks = {script.stem: lesson_notebook(script) for script in scripts}  # every lesson converts, or none is written
    out = Path(out_dir)
    theirs = [f"{stem}.ipynb" for stem in notebooks if (out / f"{stem}.ipynb").exists()
              and not is_untouched(out / f"{stem}.ipynb")]
    if theirs and not force:
        raise NotebookError(
            f"{', '.join(theirs)} in {out} changed since this command wrote them (edited, run, read-only, or not "
            "written by it), so no notebook was written: they are yours. Write fresh notebooks beside them with "
            "--out OTHER_DIR, or replace them with --force."
        )
    out = prepare_output_folder(out_dir)
    written = []
    for stem, text in notebooks.items():
        path = out / f"{stem}.ipynb"
        with atomic_write(path) as file:
            file.write(text.encode("utf-8"))
        written.append(path)
    return written

"""Rendering DOT source with Graphviz's ``dot`` (an argument list, never a shell), each file written atomically."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from tinygrad_edu.errors import TinygradEduError

# File suffix -> `dot -T` format. ".dot"/".gv" are written as source without running `dot`.
RENDER_FORMATS: dict[str, str] = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
SOURCE_SUFFIXES = (".dot", ".gv")

INSTALL_HELP = """Install Graphviz (the `dot` program), then run this again:
  Debian/Ubuntu:  sudo apt-get install graphviz
  macOS:          brew install graphviz
  conda:          conda install -c conda-forge graphviz
(`pip install graphviz` installs only the Python bindings, not `dot`.)"""


class GraphvizNotFoundError(TinygradEduError, RuntimeError):
    """Graphviz's ``dot`` program is not on PATH; the DOT source was written instead."""


class RenderError(TinygradEduError, RuntimeError):
    """``dot`` ran but failed to render the graph."""


class GraphFormatError(TinygradEduError, ValueError):
    """The output path has a suffix that :func:`save_graph` cannot produce."""


def output_format(path: Path) -> str | None:
    """``dot -T`` format for ``path``'s suffix, None for DOT source; raise for anything else."""
    suffix = path.suffix.lower()
    if suffix in SOURCE_SUFFIXES:
        return None
    if suffix in RENDER_FORMATS:
        return RENDER_FORMATS[suffix]
    supported = ", ".join([*RENDER_FORMATS, *SOURCE_SUFFIXES])
    raise GraphFormatError(f"cannot save a graph as {str(path)!r}: the suffix must be one of {supported}")


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then move it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def render_source(source: str, path: Path, dot_program: str | None) -> Path:
    """Write ``source`` to ``path`` rendered by its suffix. ``dot_program`` is the ``dot`` to run."""
    fmt = output_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt is None:
        write_atomically(path, lambda tmp: tmp.write_text(source, encoding="utf-8"))
        return path
    if dot_program is None:
        raise AssertionError("render_source needs dot for rendered formats")  # callers check first

    def run_dot(tmp: Path) -> None:
        result = subprocess.run(
            [dot_program, f"-T{fmt}", "-o", str(tmp)],
            input=source.encode("utf-8"),
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip()
            raise RenderError(f"`dot -T{fmt}` failed (exit {result.returncode}) rendering {path}: {message}")

    write_atomically(path, run_dot)
    return path


def dot_or_write_source(sources: list[tuple[str, Path]], where: str) -> str | None:
    """Return the ``dot`` program's path; when it is missing, write each source as ``.dot`` and raise."""
    needs_dot = any(output_format(path) is not None for _source, path in sources)
    dot_program = shutil.which("dot")
    if dot_program or not needs_dot:
        return dot_program
    written = []
    for source, path in sources:
        dot_path = path.with_suffix(".dot")
        written.append(render_source(source, dot_path, None))
    first, requested = written[0], sources[0][1]
    again = f"dot -T{output_format(requested)} {first} -o {requested}"
    if len(written) == 1:
        saved = f"The DOT source was written to {first} (render it later with: {again})."
    else:
        saved = f"The DOT sources ({len(written)} files) were written to {first.parent} (render each later, e.g. {again})."
    raise GraphvizNotFoundError(
        f"Graphviz's `dot` program is not on PATH, so {where} could not be rendered.\n{saved}\n{INSTALL_HELP}"
    )

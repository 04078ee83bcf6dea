"""Draw the computation graph that autodiff builds, and watch ``backward`` walk it.

Every operation on a :class:`~tinygrad_edu.Tensor` that requires grad records on its result the op's
name (``_op``) and the tensors it was computed from (``_inputs``). Starting from the loss and following
``_inputs`` back to the leaves gives the *computation graph*; backward visits it in reverse topological order,
applying the chain rule at each op: the op's backward function turns the gradient of its output ``y``
into a contribution for each input ``x_i`` (a vector-Jacobian product), which is *added* to what
``x_i`` has already received from its other uses:

.. math::  \\frac{\\partial L}{\\partial x_i} \\mathrel{+}= \\sum_k \\frac{\\partial L}{\\partial y_k}\\,
           \\frac{\\partial y_k}{\\partial x_i}  \\qquad\\text{for each input } x_i \\text{ of } y = f(x_1, \\dots)

This module turns that graph into Graphviz DOT (``graphviz.Digraph``; building the source never
needs the ``dot`` program, rendering does):

* :func:`draw_graph` draws tensors as boxes and ops as ellipses between them, coloured by role;
* :func:`save_graph` renders to ``.svg``/``.png``/``.pdf`` (or writes ``.dot``);
* :func:`backward_steps` / :func:`save_backward_steps` give one picture per step of the backward pass.

>>> from tinygrad_edu import Tensor
>>> w = Tensor([[1.0], [2.0]], requires_grad=True, name="w")
>>> loss = (Tensor([[3.0, 4.0]], name="x") @ w).sum()
>>> dot = draw_graph(loss)            # a graphviz.Digraph; in Jupyter it displays itself
>>> "matmul" in dot.source and "(2, 1) float32" in dot.source
True
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import graphviz

from tinygrad_edu.tensor import Tensor
from tinygrad_edu.viz.graph import (HIGHLIGHT_COLOUR, OP_COLOUR, ROLE_COLOURS, Graph, StepGraph, backward_steps,
                                    draw_graph, layer_of, summarize)
from tinygrad_edu.viz.render import (INSTALL_HELP, RENDER_FORMATS, GraphFormatError, GraphvizNotFoundError, RenderError,
                                     dot_or_write_source, output_format, render_source)

__all__ = [
    "draw_graph",
    "save_graph",
    "backward_steps",
    "save_backward_steps",
    "Graph",
    "StepGraph",
    "summarize",
    "layer_of",
    "GraphvizNotFoundError",
    "RenderError",
    "GraphFormatError",
    "INSTALL_HELP",
    "ROLE_COLOURS",
    "OP_COLOUR",
    "HIGHLIGHT_COLOUR",
    "RENDER_FORMATS",
]


def save_graph(root: Tensor | graphviz.Digraph, path: str | os.PathLike[str], **draw_options: object) -> Path:
    """Draw ``root``'s graph and save it to ``path``, in the format its suffix names.

    ``.svg``, ``.png`` and ``.pdf`` run Graphviz's ``dot`` (an argument list, no shell);
    ``.dot``/``.gv`` write the DOT source. Only ``path`` is written (through a temporary file in
    the same folder, so a failed render never leaves half a file); its folder is created if needed.

    Args:
        root: the tensor to draw (or an already drawn ``graphviz.Digraph``, e.g. a backward step).
        path: where to save.
        **draw_options: passed to :func:`draw_graph` (``show_data``, ``rankdir``…).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        GraphvizNotFoundError: ``dot`` is not installed; the source was saved beside ``path`` with
            the ``.dot`` suffix and the message says how to install Graphviz.
        GraphFormatError: an unsupported suffix.
        RenderError: ``dot`` failed.
    """
    path = Path(path)
    output_format(path)  # reject a bad suffix before doing any work
    dot = root if isinstance(root, graphviz.Digraph) else draw_graph(root, **draw_options)  # type: ignore[arg-type]
    dot_program = dot_or_write_source([(dot.source, path)], str(path))
    return render_source(dot.source, path, dot_program)


def save_backward_steps(
    loss: Tensor,
    folder: str | os.PathLike[str],
    *,
    fmt: str = "svg",
    **step_options: object,
) -> list[Path]:
    """Run backward on ``loss`` and save each step's picture as ``folder/step_001.svg``, ``step_002.svg``…

    Runs the backward pass (see :func:`backward_steps`): the leaves' ``.grad`` are filled as by
    ``loss.backward()``. Stale ``step_NNN`` files of the same format left in ``folder`` by a
    longer earlier run are removed, so the folder always holds exactly this walkthrough.

    Args:
        loss: the scalar to differentiate.
        folder: where to write (created if needed).
        fmt: ``"svg"``, ``"png"``, ``"pdf"`` or ``"dot"``.
        **step_options: passed to :func:`backward_steps`.

    Returns:
        The paths written, in step order.

    Raises:
        GraphvizNotFoundError: ``dot`` is missing; every step was saved as ``.dot`` in ``folder``.
    """
    folder = Path(folder)
    output_format(folder / f"step.{fmt}")  # reject a bad format before running backward
    steps = list(backward_steps(loss, **step_options))  # type: ignore[arg-type]
    width = max(3, len(str(len(steps))))
    sources = [(s.source, folder / f"step_{s.step:0{width}d}.{fmt}") for s in steps]
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_steps(folder, fmt, len(steps))
    dot_program = dot_or_write_source(sources, f"the backward steps in {folder}")
    return [render_source(source, path, dot_program) for source, path in sources]


def _remove_stale_steps(folder: Path, fmt: str, count: int) -> None:
    pattern = re.compile(rf"step_(\d+)\.{re.escape(fmt)}")
    for existing in folder.iterdir():
        match = pattern.fullmatch(existing.name)
        if match and int(match.group(1)) > count and existing.is_file():
            existing.unlink()

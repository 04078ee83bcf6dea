"""The computation graph as Graphviz DOT, and the backward pass as one picture per step.

:func:`draw_graph` turns a Tensor's graph into a ``graphviz.Digraph`` (building the source never needs the
``dot`` program); :func:`backward_steps` runs backward one op at a time and draws each step. Saving and
rendering are in :mod:`tinygrad_edu.viz.render`; the package's front, :mod:`tinygrad_edu.viz`, explains the idea.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import graphviz
import numpy as np

from tinygrad_edu.tensor import Tensor, iter_backward, topological_order
from tinygrad_edu.viz.render import INSTALL_HELP


# Fill colours by role (pastel, distinguishable in greyscale by lightness too).
ROLE_COLOURS: dict[str, str] = {
    "input": "#cfe2f3",  # leaf that does not require grad: data, labels, constants
    "parameter": "#fce5cd",  # leaf with requires_grad: what training updates
    "intermediate": "#f3f3f3",  # computed by an op
    "output": "#f4cccc",  # the root: the loss (or whatever output was drawn)
}
ROLE_LEGEND: dict[str, str] = {
    "input": "input (no grad)",
    "parameter": "parameter (leaf, requires_grad)",
    "intermediate": "intermediate",
    "output": "loss / output",
}
OP_COLOUR = "#d9d2e9"
HIGHLIGHT_COLOUR = "#cc0000"

# Ops whose inputs are not interchangeable: their in-edges are labelled with the argument's role.
ARGUMENT_NAMES: dict[str, tuple[str, ...]] = {
    "sub": ("a", "b"),
    "div": ("a", "b"),
    "matmul": ("a", "b"),
    "pow": ("base", "exponent"),
    "cross_entropy": ("logits", "targets"),
}
OP_FORMULAS: dict[str, str] = {"sub": "a − b", "div": "a / b", "matmul": "a @ b", "pow": "base ** exponent"}

TINY_SIZE = 4  # arrays with at most this many elements are shown in full, larger ones as min/mean/max

# --------------------------------------------------------------------------- summaries


def summarize(array: np.ndarray) -> str:
    """One short line describing an array: its values when tiny, else ``min … mean … max …``.

    Non-finite entries are counted (``nan×3``) and left out of the statistics, because a NaN
    gradient is exactly what a student needs to spot.

    Args:
        array: any NumPy array (or scalar).

    Returns:
        e.g. ``"2.303"``, ``"[1, -0.5]"`` or ``"mean 0.0031 min -0.12 max 0.11"``.
    """
    return " ".join(_summary_lines(array))


def _summary_lines(array: np.ndarray) -> list[str]:
    """:func:`summarize` split into short lines (values; or mean, then min/max, then non-finite counts)."""
    a = np.asarray(array)
    if a.dtype == np.bool_:
        a = a.astype(np.int8)
    if a.size == 0:
        return ["empty"]
    if a.size <= TINY_SIZE:
        return [_format_values(a.tolist())]
    notes = []
    if a.dtype.kind in "fc":
        finite = np.isfinite(a)
        if not finite.all():
            nan_count = int(np.isnan(a).sum())
            inf_count = int(a.size - finite.sum() - nan_count)
            notes = [" ".join([f"nan×{nan_count}"] * bool(nan_count) + [f"inf×{inf_count}"] * bool(inf_count))]
            a = a[finite]
            if a.size == 0:
                return notes
    return [f"mean {_fmt(a.mean(dtype=np.float64))}", f"min {_fmt(a.min())} max {_fmt(a.max())}", *notes]


def _format_values(values: object) -> str:
    """``[[1, 2.5]]``: nested lists (from ``ndarray.tolist()``) with 4 significant digits."""
    if isinstance(values, list):
        return "[" + ", ".join(_format_values(v) for v in values) + "]"
    return _fmt(values, digits=4)


def _fmt(value: object, digits: int = 3) -> str:
    """Format one number with ``digits`` significant digits (integers exactly)."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.{digits}g}"  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the walked graph


@dataclass
class _Graph:
    """The computation graph under ``root``, walked once and reused for every picture of it.

    Position ``i`` in ``tensors`` (topological order, root last) names the DOT nodes ``t{i}``
    (the tensor) and, when ``tensors[i]._op`` is set, ``op{i}`` (the op that computed it).
    """

    root: Tensor
    tensors: list[Tensor]
    index: dict[int, int]  # id(tensor) -> position
    roles: list[str]
    tensor_cluster: list[str | None]
    op_cluster: list[str | None]

    @property
    def op_count(self) -> int:
        return sum(t._op is not None for t in self.tensors)


def _walk(root: Tensor, group_modules: bool) -> _Graph:
    if not isinstance(root, Tensor):
        raise TypeError(
            f"expected a Tensor (the root of the graph, usually the loss), got {type(root).__name__}; "
            "build the graph from Tensors with requires_grad=True and pass its output"
        )
    tensors = topological_order(root)
    index = {id(t): i for i, t in enumerate(tensors)}
    roles = [_role(t, t is root) for t in tensors]
    tensor_cluster: list[str | None] = [None] * len(tensors)
    op_cluster: list[str | None] = [None] * len(tensors)
    if group_modules:
        _assign_clusters(root, tensors, index, roles, tensor_cluster, op_cluster)
    return _Graph(root, tensors, index, roles, tensor_cluster, op_cluster)


def _role(t: Tensor, is_root: bool) -> str:
    if is_root:
        return "output"
    if t._op is None:
        return "parameter" if t.requires_grad else "input"
    return "intermediate"


_NUMBERED_NAME = re.compile(r"[A-Za-z]+_?(\d+)")


def layer_of(name: str | None) -> str | None:
    """The layer a parameter's name places it in, or None.

    ``"fc1.weight"`` -> ``"fc1"`` (everything before the last dot, as ``nn`` modules name them;
    a bare number, from ``Sequential``, becomes ``"layer 0"``);
    ``"W1"``, ``"b1"``, ``"W_2"`` -> ``"layer 1"``/``"layer 2"`` (letters then the layer's number).
    """
    if not name:
        return None
    if "." in name:
        prefix = name.rsplit(".", 1)[0]
        return f"layer {prefix}" if prefix.isdigit() else prefix  # Sequential names "0.weight"
    match = _NUMBERED_NAME.fullmatch(name)
    return f"layer {match.group(1)}" if match else None


def _assign_clusters(
    root: Tensor,
    tensors: list[Tensor],
    index: dict[int, int],
    roles: list[str],
    tensor_cluster: list[str | None],
    op_cluster: list[str | None],
) -> None:
    """Group each layer's ops into a cluster, in one pass over the topological order.

    The rule:

    1. a named parameter belongs to the layer its name gives (:func:`layer_of`);
    2. an op that consumes parameters directly, all from one layer, belongs to that layer
       (``X @ W1`` and ``… + b1`` go to layer 1);
    3. an op with a single input computed inside a layer stays in that layer (the ``relu`` after
       ``+ b1``), unless it produces the root;
    4. a tensor computed by an op sits with its op; inputs (data, labels) and the root stay outside.
    """
    for i, t in enumerate(tensors):
        if roles[i] == "parameter":
            tensor_cluster[i] = layer_of(t.name)
        if t._op is None:
            continue
        inputs = t._inputs
        layers = {tensor_cluster[index[id(x)]] for x in inputs if roles[index[id(x)]] == "parameter"}
        layers.discard(None)
        if len(layers) == 1:
            op_cluster[i] = layers.pop()
        elif not layers and len(inputs) == 1 and t is not root:
            op_cluster[i] = op_cluster[index[id(inputs[0])]]
        if t is not root:
            tensor_cluster[i] = op_cluster[i]


# --------------------------------------------------------------------------- DOT


def _tensor_label(t: Tensor, grad: np.ndarray | None, show_data: bool, partial: tuple[int, int] | None = None) -> str:
    shape = "scalar" if t.ndim == 0 else str(tuple(t.shape))
    lines = [t.name] if t.name else []
    lines.append(f"{shape} {t.dtype}")
    if show_data or t.size == 1:  # a scalar's value is its whole content: always shown
        lines += _prefixed("data", t.data)
    if grad is not None:
        if partial is None:
            lines += _prefixed("grad", grad)
        else:  # ``partial`` = (contributions arrived, uses): the sum so far, more to come
            lines += _prefixed(f"partial grad ({partial[0]} of {partial[1]} uses)", grad)
    return _dot_label(lines)


def _prefixed(prefix: str, array: np.ndarray) -> list[str]:
    """``["grad mean 0.1", "min 0 max 1"]``: the summary lines, the first one named."""
    first, *rest = _summary_lines(array)
    return [f"{prefix} {first}", *rest]


def _op_label(name: str) -> str:
    formula = OP_FORMULAS.get(name)
    return _dot_label([name, formula] if formula else [name])


def _dot_label(lines: list[str]) -> str:
    """Join label lines with DOT's ``\\n``, escaping user text (names may hold ``\\`` or ``<…>``)."""
    return graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines))


def _build_dot(
    g: _Graph,
    *,
    show_data: bool,
    show_grad: bool,
    rankdir: str,
    grads: Mapping[int, np.ndarray] | None,
    highlight: int | None,
    title: str | None,
    legend: bool,
    partial: Mapping[int, tuple[int, int]] | None = None,
) -> graphviz.Digraph:
    """Emit the DOT for ``g``: linear in nodes + edges (one pass, no per-node searches).

    ``grads`` maps ``id(tensor)`` to the gradient to show; None means each tensor's own ``.grad``.
    ``highlight`` is the position of the tensor whose op backward is processing.
    ``partial`` maps ``id(tensor)`` to ``(contributions arrived, uses)`` for gradients still incomplete:
    they are drawn with a dashed border and labelled as partial sums.
    """
    partial = partial or {}
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be one of 'LR', 'RL', 'TB', 'BT', got {rankdir!r}")
    dot = StepGraph(name="computation_graph") if highlight is not None else Graph(name="computation_graph")
    dot.attr(rankdir=rankdir, fontname="Helvetica", nodesep="0.25", ranksep="0.35")
    dot.attr("node", fontname="Helvetica", fontsize="10", style="filled", penwidth="1")
    dot.attr("edge", fontname="Helvetica", fontsize="9", arrowsize="0.7")
    if title:
        dot.attr(label=graphviz.escape(title), labelloc="t", fontsize="12")

    # node statements, grouped by the cluster they are drawn in (None: top level)
    groups: dict[str | None, list[tuple[str, str, dict[str, str]]]] = {None: []}
    edges: list[tuple[str, str, dict[str, str]]] = []
    for i, t in enumerate(g.tensors):
        grad = None
        if show_grad:
            grad = t.grad if grads is None else grads.get(id(t))
        attrs = {"shape": "box", "style": "rounded,filled", "fillcolor": ROLE_COLOURS[g.roles[i]]}
        arrived = partial.get(id(t)) if grad is not None else None
        if arrived is not None:
            attrs.update(style="rounded,filled,dashed", penwidth="2")
        if i == highlight:
            attrs.update(color=HIGHLIGHT_COLOUR, penwidth="3")
        label = _tensor_label(t, grad, show_data, arrived)
        groups.setdefault(g.tensor_cluster[i], []).append((f"t{i}", label, attrs))
        if t._op is None:
            continue
        op_attrs = {"shape": "ellipse", "fillcolor": OP_COLOUR}
        active = i == highlight
        if active:
            op_attrs.update(color=HIGHLIGHT_COLOUR, penwidth="3", fontcolor=HIGHLIGHT_COLOUR)
        groups.setdefault(g.op_cluster[i], []).append((f"op{i}", _op_label(t._op), op_attrs))
        arg_names = ARGUMENT_NAMES.get(t._op, ())
        for k, x in enumerate(t._inputs):
            edge_attrs = {"label": arg_names[k]} if k < len(arg_names) else {}
            if active and x.requires_grad:  # the gradient flows back along these edges in this step
                edge_attrs.update(color=HIGHLIGHT_COLOUR, penwidth="2.5", dir="both", arrowtail="normal")
            edges.append((f"t{g.index[id(x)]}", f"op{i}", edge_attrs))
        edges.append((f"op{i}", f"t{i}", {"color": HIGHLIGHT_COLOUR, "penwidth": "2.5"} if active else {}))

    for name, _label, attrs in groups.pop(None):
        dot.node(name, _label, **attrs)
    for number, (cluster, nodes) in enumerate(groups.items()):
        with dot.subgraph(name=f"cluster_{number}") as sub:
            sub.attr(label=graphviz.escape(cluster), style="rounded,dashed", color="#888888", fontsize="11")
            for name, _label, attrs in nodes:
                sub.node(name, _label, **attrs)
    for tail, head, attrs in edges:
        dot.edge(tail, head, **attrs)
    if legend:
        _add_legend(dot, steps=highlight is not None)
    return dot


def _add_legend(dot: graphviz.Digraph, steps: bool = False) -> None:
    """One compact node (an HTML table), so the legend takes the same small space in any layout.

    ``steps``: a picture of a backward step, whose dashed boxes hold partial gradients.
    """
    rows = "".join(
        f'<TR><TD BGCOLOR="{ROLE_COLOURS[role]}" STYLE="rounded" BORDER="1">{html.escape(text)}</TD></TR>'
        for role, text in ROLE_LEGEND.items()
    )
    rows += f'<TR><TD BGCOLOR="{OP_COLOUR}" STYLE="rounded" BORDER="1">operation</TD></TR>'
    if steps:
        rows += '<TR><TD BORDER="0">dashed box: partial gradient,<BR/>more uses still to add</TD></TR>'
    table = f'<<TABLE BORDER="0" CELLSPACING="3" CELLPADDING="3"><TR><TD><B>legend</B></TD></TR>{rows}</TABLE>>'
    dot.node("legend", table, shape="plaintext", style="")


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that Jupyter displays inline, or, without Graphviz's ``dot``, explains why not.

    A plain ``Digraph`` shown in a notebook runs ``dot`` and raises ``ExecutableNotFound`` when it is
    missing; this one shows, as the cell's text output, that ``dot`` is missing and how to install it.
    """

    def _repr_mimebundle_(self, include=None, exclude=None, **options):
        if shutil.which("dot") is None:
            return {"text/plain": f"(Graphviz's `dot` program is not on PATH, so the graph cannot be drawn here.)\n"
                                  f"{INSTALL_HELP}\nIts DOT source is in .source; save_graph(root, 'graph.dot') writes it."}
        return super()._repr_mimebundle_(include, exclude, **options)


class StepGraph(Graph):
    """A ``graphviz.Digraph`` of one backward step, with what the step did as attributes.

    Attributes:
        step: 1-based number of this step.
        total: number of steps (ops in the graph).
        tensor: the tensor whose op's backward rule runs in this step.
        op_name: that op's name (``"matmul"``…).
        grad: the gradient of the loss with respect to ``tensor`` (complete when the step runs).
        partial: ``(tensor, sum so far)`` for every tensor whose gradient is still incomplete after
            this step (in lesson 2's second step, ``x`` with 6.0: one of its two terms).
    """

    step: int = 0
    total: int = 0
    tensor: Tensor | None = None
    op_name: str = ""
    grad: np.ndarray | None = None
    partial: list[tuple[Tensor, np.ndarray]]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.partial = []


def draw_graph(
    root: Tensor,
    *,
    show_data: bool = False,
    show_grad: bool = True,
    rankdir: str = "LR",
    group_modules: bool = True,
    legend: bool = True,
    title: str | None = None,
) -> graphviz.Digraph:
    """Draw the computation graph that produced ``root`` (usually the loss).

    Tensors are rounded boxes labelled with their name (if any), shape and dtype; ops are ellipses
    between them; edges follow the data flow (inputs -> op -> result). Fill colours give the role
    (:data:`ROLE_COLOURS`: input, parameter, intermediate, loss/output) and a legend explains them.
    After ``root.backward()`` each tensor with a ``.grad`` shows a summary of it (only leaves keep
    ``.grad``, and intermediates you called ``retain_grad()`` on; :func:`backward_steps` shows all).

    Args:
        root: the tensor to draw the graph of.
        show_data: add a summary of every tensor's values (scalars always show theirs).
        show_grad: add a summary of ``.grad`` where it is set.
        rankdir: layout direction, ``"LR"`` (left to right) or ``"TB"`` (top to bottom), ``"RL"``, ``"BT"``.
        group_modules: draw each layer's parameters and ops inside a dashed box; a layer is found
            from parameter names (``fc1.weight`` or ``W1``/``b1``), see :func:`_assign_clusters`.
        legend: add the colour legend.
        title: a caption drawn above the graph.

    Returns:
        A ``graphviz.Digraph``: ``.source`` is the DOT text (no ``dot`` program needed); Jupyter
        displays it inline; :func:`save_graph` renders it to a file.
    """
    g = _walk(root, group_modules)
    return _build_dot(
        g, show_data=show_data, show_grad=show_grad, rankdir=rankdir, grads=None, highlight=None,
        title=title, legend=legend,
    )


# --------------------------------------------------------------------------- backward steps


def backward_steps(
    loss: Tensor,
    gradient: np.ndarray | None = None,
    *,
    show_data: bool = False,
    rankdir: str = "LR",
    group_modules: bool = True,
    legend: bool = True,
) -> Iterator[StepGraph]:
    """Run ``loss``'s backward pass and yield one picture per op, in the order backward runs them.

    Step ``k`` highlights (in red) the op whose local backward rule runs, its output and the edges
    the gradient flows back along, and shows every gradient as it stands once that rule has run,
    *partial sums included*: a tensor used by several ops receives one contribution per use, and
    until the last one has arrived its box is dashed and labelled ``partial grad (1 of 2 uses)``
    with the sum so far. That is the accumulation of lesson 2 (``x`` shows 6, then 16).
    There is one step per op of the graph, in reverse topological order (root first).

    This *is* the backward pass (it drives :func:`tinygrad_edu.tensor.iter_backward`, which tells
    each step what the op's rule sent to its inputs): when the iteration ends, the leaves' ``.grad``
    hold the same values ``loss.backward()`` would give. Do not call ``loss.backward()`` as well,
    or the gradients accumulate twice.

    Args:
        loss: the root to differentiate (a scalar, or pass ``gradient``).
        gradient: dL/d(loss) when ``loss`` is not a scalar, as for ``Tensor.backward``.
        show_data, rankdir, group_modules, legend: as for :func:`draw_graph`.

    Yields:
        :class:`StepGraph` objects (``graphviz.Digraph`` with ``step``, ``total``, ``tensor``,
        ``op_name``, ``grad`` and ``partial`` attributes).
    """
    g = _walk(loss, group_modules)
    total = g.op_count
    uses = [0] * len(g.tensors)  # how many ops take each tensor as an input: its gradient's terms
    for t in g.tensors:
        if t._op is not None:
            for x in {id(x): x for x in t._inputs}.values():
                uses[g.index[id(x)]] += 1
    sums: dict[int, np.ndarray] = {}  # id(tensor) -> sum of the contributions arrived so far
    arrived: dict[int, int] = {}  # id(tensor) -> number of ops whose contribution arrived
    step = 0
    for t, grad, sent in iter_backward(loss, gradient):
        if t._op is None:
            continue
        step += 1
        position = g.index[id(t)]
        sums[id(t)] = grad
        # What this op's rule sent to each input (an op using one tensor twice, x * x, sends two parts).
        senders: set[int] = set()
        for x, contribution in sent:
            key = id(x)
            sums[key] = sums[key] + contribution if key in sums else contribution
            if key not in senders:
                senders.add(key)
                arrived[key] = arrived.get(key, 0) + 1
        partial = {
            key: (count, uses[g.index[key]]) for key, count in arrived.items() if count < uses[g.index[key]]
        }
        receivers = [_describe(x) for x in t._inputs if x.requires_grad]
        title = (
            f"Backward step {step} of {total}: the {t._op} rule takes dL/d({_describe(t)}) "
            f"and passes gradients back to {', '.join(receivers)}"
        )
        dot = _build_dot(
            g, show_data=show_data, show_grad=True, rankdir=rankdir, grads=sums, highlight=position,
            title=title, legend=legend, partial=partial,
        )
        assert isinstance(dot, StepGraph)
        dot.step, dot.total, dot.tensor, dot.op_name, dot.grad = step, total, t, t._op, grad
        dot.partial = [(g.tensors[g.index[key]], sums[key]) for key in partial]
        yield dot


def _describe(t: Tensor) -> str:
    """A tensor's name, else its shape, for captions."""
    return t.name or f"the {'scalar' if t.ndim == 0 else tuple(t.shape)} tensor"

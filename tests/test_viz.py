"""The graph pictures: DOT content of known expressions, rendering, missing `dot`, backward steps, scale."""

from __future__ import annotations

import doctest
import gc
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygrad_edu.viz as viz
from tinygrad_edu import Tensor
from tinygrad_edu.cli import main
from tinygrad_edu.manual.autodiff import mnist_loss
from tinygrad_edu.tensor import topological_order
from tinygrad_edu.viz import (
    HIGHLIGHT_COLOUR,
    OP_COLOUR,
    ROLE_COLOURS,
    GraphFormatError,
    GraphvizNotFoundError,
    backward_steps,
    draw_graph,
    save_backward_steps,
    save_graph,
    summarize,
)

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's `dot` is not installed (apt-get install graphviz)")

NODE = re.compile(r"^\s*((?:t|op)\d+) \[(.*)\]$", re.MULTILINE | re.DOTALL)
EDGE = re.compile(r"^\s*((?:t|op)\d+) -> ((?:t|op)\d+)(?: \[(.*)\])?$", re.MULTILINE)


def nodes(source: str) -> dict[str, str]:
    """Node id -> its attribute text, for the graph's tensor and op nodes (not the legend)."""
    found = {}
    for statement in re.split(r"\n(?=\t+\S)", source):
        match = NODE.match(statement)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def edges(source: str) -> list[tuple[str, str, str]]:
    return [(m.group(1), m.group(2), m.group(3) or "") for m in EDGE.finditer(source)]


def node_of(source: str, needle: str) -> tuple[str, str]:
    """The one tensor/op node whose label contains ``needle``."""
    hits = [(name, attrs) for name, attrs in nodes(source).items() if needle in attrs]
    assert len(hits) == 1, f"{len(hits)} nodes contain {needle!r}"
    return hits[0]


@pytest.fixture
def small():
    """loss = sum(relu(x @ w + b)) with x (1, 2) data, w (2, 1) and b scalar parameters."""
    x = Tensor([[1.0, 2.0]], name="x")
    w = Tensor([[3.0], [-4.0]], requires_grad=True, name="w")
    b = Tensor(10.0, requires_grad=True, name="b")
    loss = (x @ w + b).relu().sum()
    return x, w, b, loss


# --------------------------------------------------------------------------- DOT content


def test_counts_labels_and_colours_of_a_small_expression(small):
    x, w, b, loss = small
    source = draw_graph(loss).source
    # tensors x, w, x@w, b, +b, relu, sum = 7; ops matmul, add, relu, sum = 4
    assert len(nodes(source)) == 11
    assert sum(name.startswith("op") for name in nodes(source)) == 4
    # each op: one edge per input, one to its result
    assert len(edges(source)) == 2 + 1 + 2 + 1 + 1 + 1 + 1 + 1
    for label in ("matmul", "label=add", "label=relu", "label=sum"):
        assert OP_COLOUR in node_of(source, label)[1]
    assert '"x\\n(1, 2) float32"' in source
    assert '"w\\n(2, 1) float32"' in source
    assert ROLE_COLOURS["input"] in node_of(source, "x\\n")[1]
    assert ROLE_COLOURS["parameter"] in node_of(source, "w\\n")[1]
    assert ROLE_COLOURS["parameter"] in node_of(source, "b\\nscalar")[1]
    intermediates = [a for n, a in nodes(source).items() if ROLE_COLOURS["intermediate"] in a]
    assert len(intermediates) == 3  # x@w, +b, relu
    assert ROLE_COLOURS["output"] in node_of(source, "scalar float32\\ndata 5")[1]  # relu(1*3 + 2*(-4) + 10)
    assert "legend" in source and "\\ngrad " not in source  # no gradients before backward


def test_edges_follow_data_flow_and_name_the_arguments_of_matmul(small):
    x, w, b, loss = small
    source = draw_graph(loss).source
    x_node, _ = node_of(source, "x\\n")
    w_node, _ = node_of(source, "w\\n")
    matmul, _ = node_of(source, "matmul")
    edge_list = edges(source)
    assert (x_node, matmul, "label=a") in edge_list
    assert (w_node, matmul, "label=b") in edge_list
    # the result of matmul comes out of the op node, into the add op
    out = [head for tail, head, _ in edge_list if tail == matmul]
    assert len(out) == 1 and out[0].startswith("t")
    add, _ = node_of(source, 'label=add')
    assert (out[0], add, "") in edge_list


def test_gradients_appear_after_backward(small):
    x, w, b, loss = small
    loss.backward()
    source = draw_graph(loss).source
    # z = 1*3 + 2*(-4) + 10 = 5 > 0, so dL/dw = x^T and dL/db = 1
    assert w.grad.tolist() == [[1.0], [2.0]]
    assert "w\\n(2, 1) float32\\ngrad [[1], [2]]" in source
    assert "b\\nscalar float32\\ndata 10\\ngrad 1" in source
    assert "data 5" in source  # the loss value: scalars always show their value
    assert "\\ngrad " not in draw_graph(loss, show_grad=False).source


def test_show_data_summarises_values():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5, 7)).astype(np.float32)
    a = Tensor(values, requires_grad=True, name="a")
    loss = a.tanh().sum()
    plain = draw_graph(loss).source
    detailed = draw_graph(loss, show_data=True).source
    expected = f"data mean {values.mean(dtype=np.float64):.3g}\\nmin {values.min():.3g} max {values.max():.3g}"
    assert expected in detailed and expected not in plain


def test_summary_of_tiny_large_and_broken_arrays():
    assert summarize(np.float32(2.302585)) == "2.303"
    assert summarize(np.array([1.0, -0.5])) == "[1, -0.5]"
    assert summarize(np.array([3, 4, 5], dtype=np.int64)) == "[3, 4, 5]"
    assert summarize(np.arange(10.0)) == "mean 4.5 min 0 max 9"
    broken = np.arange(10.0)
    broken[[1, 2]] = np.nan
    broken[3] = np.inf
    assert summarize(broken) == f"mean {np.mean([0, 4, 5, 6, 7, 8, 9]):.3g} min 0 max 9 nan×2 inf×1"
    assert summarize(np.full(6, np.nan)) == "nan×6"
    assert summarize(np.zeros((0, 3))) == "empty"


def test_names_with_dot_syntax_are_escaped():
    w = Tensor([1.0, 2.0], requires_grad=True, name='w"<b>\\')
    source = draw_graph((w * w).sum()).source
    assert 'w\\"<b>\\\\' in source
    if HAVE_DOT:
        subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True)


def test_a_tensor_used_twice_gets_two_edges_into_its_op():
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    source = draw_graph((w * w).sum()).source
    w_node, _ = node_of(source, "w\\n")
    mul, _ = node_of(source, "label=mul")
    assert edges(source).count((w_node, mul, "")) == 2


def test_bad_arguments_get_clear_errors(small):
    with pytest.raises(TypeError, match="expected a Tensor"):
        draw_graph(np.zeros(3))
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(small[3], rankdir="sideways")


# --------------------------------------------------------------------------- the MNIST graph and layers


def test_mnist_graph_size_and_layer_clusters():
    loss = mnist_loss(hidden=16, batch=8, seed=1)
    loss.backward()
    source = draw_graph(loss).source
    # tensors X, W1, X@W1, b1, Z1, A1, W2, A1@W2, b2, Z2, loss; ops matmul add relu matmul add cross_entropy
    assert len(nodes(source)) == 17
    assert len(edges(source)) == 16
    clusters = {}
    for block in re.findall(r"subgraph (cluster_\d+) \{(.*?)\n\t\}", source, re.DOTALL):
        label = re.search(r'label="([^"]+)"', block[1]).group(1)
        clusters[label] = block[1]
    assert set(clusters) == {"layer 1", "layer 2"}
    for label, members in {"layer 1": ("W1\\n", "b1\\n", "Z1\\n", "A1\\n", "=relu"),
                           "layer 2": ("W2\\n", "b2\\n", "Z2\\n")}.items():
        for member in members:
            assert member in clusters[label], (label, member)
    assert clusters["layer 1"].count("matmul") == 1 and clusters["layer 2"].count("label=add") == 1
    for outside in ("X\\n", "loss\\n", "cross_entropy"):
        assert all(outside not in block for block in clusters.values())
    assert "subgraph" not in draw_graph(loss, group_modules=False).source


def test_module_style_names_group_by_prefix():
    x = Tensor(np.ones((2, 3), np.float32), name="x")
    w = Tensor(np.ones((3, 4), np.float32), requires_grad=True, name="fc1.weight")
    b = Tensor(np.zeros(4, np.float32), requires_grad=True, name="fc1.bias")
    source = draw_graph((x @ w + b).relu().sum()).source
    block = re.search(r'subgraph cluster_0 \{(.*?)\n\t\}', source, re.DOTALL).group(1)
    assert 'label=fc1' in block
    for member in ("fc1.weight", "fc1.bias", "matmul", "label=add", "label=relu"):
        assert member in block
    assert "label=sum" not in block  # the op producing the output stays outside


def test_layer_of():
    assert viz.layer_of("fc1.weight") == "fc1"
    assert viz.layer_of("layers.0.bias") == "layers.0"
    assert viz.layer_of("0.weight") == "layer 0"
    assert viz.layer_of("W1") == viz.layer_of("b1") == "layer 1"
    assert viz.layer_of("W_2") == "layer 2"
    assert viz.layer_of("weights") is None and viz.layer_of(None) is None


# --------------------------------------------------------------------------- rendering


@needs_dot
def test_save_svg_and_png(tmp_path, small):
    loss = small[3]
    svg = save_graph(loss, tmp_path / "sub" / "g.svg")
    assert svg == tmp_path / "sub" / "g.svg"
    text = svg.read_text()
    assert "<svg" in text and "matmul" in text and "legend" in text
    png = save_graph(loss, tmp_path / "g.png", rankdir="TB")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert save_graph(loss, tmp_path / "g.pdf").read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.pdf", "g.png", "sub"]  # no temp files left


@needs_dot
def test_digraph_displays_itself_in_jupyter(small):
    bundle = draw_graph(small[3])._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_dot_suffix_writes_source_without_dot(tmp_path, monkeypatch, small):
    monkeypatch.setenv("PATH", "")
    path = save_graph(small[3], tmp_path / "g.dot")
    assert path.read_text() == draw_graph(small[3]).source


def test_missing_dot_writes_the_source_and_says_how_to_install(tmp_path, monkeypatch, small):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizNotFoundError) as error:
        save_graph(small[3], tmp_path / "g.svg")
    message = str(error.value)
    dot_file = tmp_path / "g.dot"
    assert [p.name for p in tmp_path.iterdir()] == ["g.dot"]
    assert dot_file.read_text() == draw_graph(small[3]).source
    assert str(dot_file) in message
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install -c conda-forge graphviz"):
        assert hint in message


def test_unsupported_suffix_is_refused_before_writing(tmp_path, small):
    with pytest.raises(GraphFormatError, match=r"\.svg, \.png, \.pdf, \.dot"):
        save_graph(small[3], tmp_path / "g.jpeg")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- backward steps


def diamond():
    """A graph where a tensor feeds two ops: loss = sum(a * tanh(a)), a = x * w + c."""
    x = Tensor([0.5, -1.0, 2.0], name="x")
    w = Tensor([1.5, 0.25, -0.5], requires_grad=True, name="w")
    a = x * w + 0.3
    a.name = "a"
    return (a * a.tanh()).sum(), x, w


def mnist_tree():
    return mnist_loss(hidden=6, batch=3, seed=2), 6  # a tree: every tensor is used once


def diamond_graph():
    return diamond()[0], 5  # mul, add, tanh, mul, sum


@pytest.mark.parametrize("build", [mnist_tree, diamond_graph])
def test_one_step_per_op_in_reverse_topological_order(build):
    loss, op_count = build()
    order = topological_order(loss)
    ops = [t for t in order if t._op is not None]
    steps = list(backward_steps(loss))
    assert len(steps) == len(ops) == op_count
    position = {id(s.tensor): k for k, s in enumerate(steps)}
    assert set(position) == {id(t) for t in ops}
    for t in ops:  # every op runs after all the ops that consume its result
        for parent in t._inputs:
            if parent._op is not None:
                assert position[id(t)] < position[id(parent)]
    assert [s.step for s in steps] == list(range(1, op_count + 1)) and {s.total for s in steps} == {op_count}
    assert steps[0].tensor is loss and steps[0].grad == 1


def test_steps_highlight_the_op_and_accumulate_known_gradients():
    loss, x, w = diamond()
    steps = list(backward_steps(loss))
    known_before = 0
    for step in steps:
        index = {id(t): i for i, t in enumerate(topological_order(loss))}[id(step.tensor)]
        graph_nodes = nodes(step.source)
        assert HIGHLIGHT_COLOUR in graph_nodes[f"op{index}"] and HIGHLIGHT_COLOUR in graph_nodes[f"t{index}"]
        assert sum(HIGHLIGHT_COLOUR in attrs for attrs in graph_nodes.values()) == 2
        assert f"Backward step {step.step} of 5: the {step.op_name} rule" in step.source
        known = step.source.count("grad ")
        assert known >= known_before  # a gradient, once shown (partial or complete), stays shown
        known_before = known
    assert "w\\n(3,) float32\\ngrad" in steps[-1].source


def test_steps_show_partial_sums_until_every_use_has_contributed():
    """Lesson 2: L = (x y)(x + y) at x = 3, y = 2. Backward runs L's mul, then v = x + y, then u = x y:
    after the add, x holds 6 of its two terms (marked partial); after the mul, 6 + y * dL/du = 6 + 2 * 5 = 16."""
    x, y = Tensor(3.0, requires_grad=True, name="x"), Tensor(2.0, requires_grad=True, name="y")
    u, v = x * y, x + y
    u.name, v.name = "u", "v"
    L = u * v
    steps = list(backward_steps(L))
    assert [s.op_name for s in steps] == ["mul", "add", "mul"] and steps[1].tensor is v
    assert steps[0].partial == []
    assert [(t.name, float(a)) for t, a in steps[1].partial] == [("x", 6.0), ("y", 6.0)]  # dL/dv = u = 6, times 1
    x_node = nodes(steps[1].source)["t0"]
    assert "partial grad (1 of 2 uses) 6" in x_node and "dashed" in x_node
    assert steps[2].partial == []
    x_node = nodes(steps[2].source)["t0"]
    assert "grad 16" in x_node and "partial" not in x_node and "dashed" not in x_node
    assert float(x.grad) == 16.0 and float(y.grad) == 21.0  # 2xy + y^2 and x^2 + 2xy


def test_an_op_using_a_tensor_twice_sends_both_terms_at_once():
    x = Tensor([1.5, -2.0], requires_grad=True, name="x")
    square = x * x
    loss = (square + x).sum()  # x has two uses: the mul (which uses it twice) and the add
    partial_after = [[(t.name, a.tolist()) for t, a in s.partial] for s in backward_steps(loss)]
    assert partial_after == [[], [("x", [1.0, 1.0])], []]  # sum, add (x: 1 of 2), mul (x: complete)
    np.testing.assert_allclose(x.grad, 2 * np.array([1.5, -2.0]) + 1)


def test_steps_are_the_backward_pass_of_a_tree(small):
    x, w, b, loss = small
    assert len(list(backward_steps(loss))) == 4
    assert w.grad.tolist() == [[1.0], [2.0]] and b.grad == 1  # dL/dw = x^T, dL/db = 1 (z = 5 > 0)


def test_steps_are_the_backward_pass_of_a_diamond():
    loss, x, w = diamond()
    for _ in backward_steps(loss):
        pass
    # reference: d/dw sum(a tanh a) = (tanh a + a (1 - tanh^2 a)) * x, with a = x w + 0.3
    a = x.data * np.array([1.5, 0.25, -0.5], np.float32) + 0.3
    expected = (np.tanh(a) + a * (1 - np.tanh(a) ** 2)) * x.data
    np.testing.assert_allclose(w.grad, expected, rtol=1e-5)
    # and the step that processes `a` showed its complete gradient
    loss2, x2, w2 = diamond()
    a_step = [s for s in backward_steps(loss2) if s.tensor.name == "a"]
    np.testing.assert_allclose(a_step[0].grad, np.tanh(a) + a * (1 - np.tanh(a) ** 2), rtol=1e-5)


def test_save_backward_steps_writes_numbered_files(tmp_path, monkeypatch):
    folder = tmp_path / "steps"
    folder.mkdir()
    (folder / "step_009.dot").write_text("stale")
    (folder / "notes.txt").write_text("keep")
    loss, x, w = diamond()
    paths = save_backward_steps(loss, folder, fmt="dot")
    assert [p.name for p in paths] == [f"step_00{k}.dot" for k in range(1, 6)]
    assert sorted(p.name for p in folder.iterdir()) == sorted([p.name for p in paths] + ["notes.txt"])
    assert "Backward step 3 of 5" in paths[2].read_text()
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizNotFoundError, match="were written to"):
        save_backward_steps(diamond()[0], tmp_path / "svg")
    assert len(list((tmp_path / "svg").glob("step_00?.dot"))) == 5


@needs_dot
def test_save_backward_steps_renders_svg(tmp_path):
    paths = save_backward_steps(mnist_loss(hidden=4, batch=2), tmp_path)
    assert len(paths) == 6 and all("<svg" in p.read_text() for p in paths)


# --------------------------------------------------------------------------- scale


def chain(op_count: int) -> Tensor:
    """tanh applied op_count times: 2 * op_count + 1 DOT nodes."""
    t = Tensor([0.5], requires_grad=True, name="x")
    for _ in range(op_count):
        t = t.tanh()
    return t


def best_times(roots: list[Tensor], repeats: int = 5) -> list[float]:
    """The best CPU time of ``draw_graph`` on each root, the roots alternating repeat after repeat (so a
    slow spell of a busy machine slows them alike)."""
    best = [float("inf")] * len(roots)
    gc.collect()
    gc.disable()  # a collection pass scales with every live object and would blur the ratio
    try:
        for _ in range(repeats):
            for i, root in enumerate(roots):
                start = time.process_time()
                source = draw_graph(root).source
                best[i] = min(best[i], time.process_time() - start)
                assert source.count(" -> ") == 2 * len(topological_order(root)) - 2
    finally:
        gc.enable()
    return best


def test_dot_generation_is_linear_in_graph_size():
    # 4 times the nodes: a linear cost grows 4 times, a quadratic one 16; the line between is a factor 2 from each.
    small_graph, large_graph = chain(2_500), chain(10_000)  # 5,001 and 20,001 nodes
    assert len(nodes(draw_graph(small_graph).source)) == 5_001
    t5k, t20k = best_times([small_graph, large_graph])
    assert t20k < 8 * t5k, f"5k nodes: {t5k:.3f} s, 20k nodes: {t20k:.3f} s"


# --------------------------------------------------------------------------- command line and docstrings


def test_graph_command_writes_the_network_graph(tmp_path, capsys):
    out = tmp_path / "net.dot"
    assert main(["graph", "--out", str(out), "--hidden", "8", "--batch", "4"]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "784-8-10" in printed
    source = out.read_text()
    assert "W1\\n(784, 8) float32\\ngrad" in source and "cross_entropy" in source


@needs_dot
def test_graph_command_with_steps_as_a_user_runs_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_edu", "graph", "--out", str(tmp_path / "g.svg"), "--hidden", "8",
         "--steps", str(tmp_path / "steps")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "g.svg") in result.stdout and str(tmp_path / "steps" / "step_006.svg") in result.stdout
    assert len(list((tmp_path / "steps").glob("*.svg"))) == 6


def test_graph_command_without_dot_fails_with_the_install_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert main(["graph", "--out", str(tmp_path / "g.svg"), "--hidden", "4"]) == 1
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and str(tmp_path / "g.dot") in err
    assert (tmp_path / "g.dot").exists()


def test_docstring_examples():
    result = doctest.testmod(viz, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

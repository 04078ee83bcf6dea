# %% [markdown]
# # Lesson 6: the network's computation graph, and its backward pass step by step
#
# The 784-hidden-10 network written with Tensor records a graph of six operations: two matrix products, two
# bias additions, a ReLU and the fused softmax cross-entropy. We draw it, then run backward one operation at a
# time, saving a picture of each step, and check that the gradients the walk leaves in the parameters are the
# hand-derived ones of lesson 5.
#
# Run it as a script, `python lessons/06_network_graph.py [--out DIR]`, or cell by cell as a notebook.

# %%
# Settings: change them and rerun. Run as a script, --out DIR replaces OUT.
OUT = "out/lesson-06"  # the folder for this lesson's graph pictures

from tinygrad_edu.course import lesson_settings

OUT = lesson_settings(6, "the network's graph and its backward pass, step by step", out=OUT)

# %%
import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu import Tensor, manual
from tinygrad_edu.course import display_path, format_table, graphviz_optional, heading, show_saved
from tinygrad_edu.viz import backward_steps, save_graph, summarize

BATCH, HIDDEN = 4, 16  # small, so the numbers in the pictures stay readable; the graph is the same at any size

# %% [markdown]
# ## The network's graph

# %%
rng = np.random.default_rng(0)
x = rng.random((BATCH, manual.N_FEATURES))  # stand-ins for 4 images: the graph does not depend on them
y = rng.integers(0, manual.N_CLASSES, size=BATCH)
params = manual.init_params(HIDDEN, seed=0, dtype=np.float64)

# --8<-- [start:network]
W1, b1, W2, b2 = (Tensor(params[name], requires_grad=True, name=name) for name in ("W1", "b1", "W2", "b2"))
X = Tensor(x, name="X")
XW1 = X @ W1
Z1 = XW1 + b1
A1 = Z1.relu()
A1W2 = A1 @ W2
Z2 = A1W2 + b2
loss = F.cross_entropy(Z2, y)
# --8<-- [end:network]
for tensor, name in [(XW1, "X W1"), (Z1, "Z1"), (A1, "A1"), (A1W2, "A1 W2"), (Z2, "Z2"), (loss, "loss")]:
    tensor.name = name  # names label the pictures
print(f"network 784-{HIDDEN}-10 on a batch of {BATCH}, loss {loss.item():.6f}")
with graphviz_optional():  # without Graphviz's `dot`, the DOT source is saved instead, and the lesson goes on
    save_graph(loss, OUT / "network-graph.svg", rankdir="TB")
    show_saved(OUT / "network-graph.svg")

# %% [markdown]
# ## Backward, one operation at a time

# %%
heading("Backward, one operation at a time")
frames_dir = OUT / "backward"
frames_dir.mkdir(exist_ok=True)
rows = []
# --8<-- [start:walkthrough]
for step in backward_steps(loss, rankdir="TB", legend=False):  # runs backward, one op per step
    with graphviz_optional():
        save_graph(step, frames_dir / f"step_{step.step:03d}.svg")
    rows.append([step.step, step.op_name, step.tensor.name, str(step.grad.shape), summarize(step.grad)])
# --8<-- [end:walkthrough]
print(format_table(["step", "op", "its output", "gradient shape", "dL/d(output)"], rows))
print(f"saved {len(rows)} frames to {display_path(frames_dir)}/")

# %% [markdown]
# ## The walk left the hand-derived gradients in the parameters

# %%
heading("The walk left the hand-derived gradients in the parameters")
hand = manual.backward(params, manual.forward(params, x, y), y)
differences = [[name, float(np.max(np.abs(t.grad - hand["d" + name])))] for name, t in
               [("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)]]
print(format_table(["parameter", "max |autodiff - hand|"], differences, ".1e"))
print(f"worst difference: {max(d for _, d in differences):.1e}")

# %% [markdown]
# ## One layer as a circuit
#
# The derivations page draws one layer, Z = X W + b, A = ReLU(Z), with a forward value and a gradient on
# every wire: one example with two inputs and two hidden units, small enough to check every number by hand.
# The layer above is stood in for by the gradient it sends back, g = dL/dA: the sum of A * g has exactly that
# gradient with respect to A.

# %%
heading("One layer as a circuit: forward values and gradients")
# --8<-- [start:circuit]
x1 = Tensor([[1.0, -2.0]], requires_grad=True, name="x")  # one example, two inputs
W = Tensor([[0.5, -1.0], [-0.25, 0.5]], requires_grad=True, name="W")  # two hidden units
b = Tensor([0.1, 0.2], requires_grad=True, name="b")
xW = (x1 @ W).retain_grad()
z = (xW + b).retain_grad()
a = z.relu().retain_grad()
g = Tensor([[1.0, 0.5]], name="g = dL/da, from the layer above")
ag = a * g
out = ag.sum().retain_grad()
out.backward()
# --8<-- [end:circuit]
for tensor, name in [(xW, "x W"), (z, "z = x W + b"), (a, "a = relu(z)"), (ag, "a * g"), (out, "L (stand-in)")]:
    tensor.name = name
with graphviz_optional():
    save_graph(out, OUT / "layer-circuit.svg", show_data=True, rankdir="TB", group_modules=False)
    show_saved(OUT / "layer-circuit.svg")
print(format_table(["tensor", "forward value", "gradient"],
                   [[t.name, summarize(t.data), summarize(t.grad)] for t in (x1, W, b, z, a)]))

# %% [markdown]
# ## Your turn
#
# Write it yourself: `tinygrad-edu exercise start deep-network` writes the file to fill in, and
# `tinygrad-edu exercise check deep-network` checks it and names the likely mistake. In a notebook, you can
# instead define the functions in a cell and check them with
# `from tinygrad_edu.exercises import check; check("deep-network")`.

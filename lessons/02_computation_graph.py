# %% [markdown]
# # Lesson 2: a computation graph by hand
#
# L = u · v with u = x · y and v = x + y, at x = 3, y = 2. The input x reaches L along two paths (through u and
# through v): a "diamond". We run the forward and the backward pass by hand, node by node, then let autodiff
# do it and draw the graph it recorded. The diamond shows why backward must ADD the gradients arriving along
# each path instead of overwriting them.
#
# Run it as a script, `python lessons/02_computation_graph.py [--out DIR]`, or cell by cell as a notebook.

# %%
# Settings: change them and rerun. Run as a script, --out DIR replaces OUT.
OUT = "out/lesson-02"  # the folder for this lesson's graph pictures

from tinygrad_edu.course import lesson_settings

OUT = lesson_settings(2, "a computation graph by hand, and why gradients accumulate", out=OUT)

# %%
from tinygrad_edu import Tensor
from tinygrad_edu.course import format_table, graphviz_optional, heading, display_path, show_saved
from tinygrad_edu.viz import save_backward_steps, save_graph

X, Y = 3.0, 2.0

# %% [markdown]
# ## Forward and backward by hand

# %%
heading("Forward by hand")
# --8<-- [start:forward_by_hand]
x, y = X, Y
u = x * y  # 6
v = x + y  # 5
L = u * v  # 30
# --8<-- [end:forward_by_hand]
print(format_table(["node", "formula", "value"], [["u", "x · y", u], ["v", "x + y", v], ["L", "u · v", L]], ".4g"))

# %%
heading("Backward by hand, from L to the inputs")
# --8<-- [start:backward_by_hand]
dL = 1.0  # dL/dL
du = dL * v  # L = u·v, so dL/du = v
dv = dL * u  # and dL/dv = u
# x reaches L through u (du/dx = y) AND through v (dv/dx = 1): add both paths
dx = du * y + dv * 1.0
dy = du * x + dv * 1.0  # the same for y
# --8<-- [end:backward_by_hand]
print(format_table(["gradient", "chain rule", "value"], [
    ["dL/du", "v", du], ["dL/dv", "u", dv],
    ["dL/dx", "dL/du · y + dL/dv · 1", dx], ["dL/dy", "dL/du · x + dL/dv · 1", dy]], ".4g"))
print(f"check with calculus: L = (xy)(x + y) = x²y + xy², dL/dx = 2xy + y² = {2 * X * Y + Y**2:g}, "
      f"dL/dy = x² + 2xy = {X**2 + 2 * X * Y:g}")
print(f"x's two paths: through u gives {du * Y:g}, through v gives {dv:g}; "
      f"overwriting would keep only one of them, adding gives {dx:g}")
hand = {"u": du, "v": dv, "x": dx, "y": dy}

# %% [markdown]
# ## The same graph, recorded by autodiff

# %%
heading("The same graph, recorded by autodiff")
# --8<-- [start:autodiff]
x = Tensor(X, requires_grad=True, name="x")
y = Tensor(Y, requires_grad=True, name="y")
u = (x * y).retain_grad()  # keep the intermediates' gradients, to compare them
v = (x + y).retain_grad()
u.name, v.name = "u", "v"
# The output too: its gradient, dL/dL = 1, is where backward starts.
L = (u * v).retain_grad()
L.name = "L"
# --8<-- [end:autodiff]
print(f"forward: u = {u.item():g}, v = {v.item():g}, L = {L.item():g}")
with graphviz_optional():  # without Graphviz's `dot`, the DOT source is saved instead, and the lesson goes on
    save_graph(L, OUT / "graph-forward.svg", show_data=True)
    show_saved(OUT / "graph-forward.svg", "(the graph before backward)")

# %%
# Backward, one op at a time, one picture per step (this runs the backward pass).
with graphviz_optional():
    frames = save_backward_steps(L, OUT / "backward", show_data=True, legend=False)  # the page has the legend
    print(f"saved {len(frames)} backward steps to {display_path(OUT / 'backward')}/")
    save_graph(L, OUT / "graph-backward.svg", show_data=True)
    show_saved(OUT / "graph-backward.svg", "(with the gradients)")
rows = [[name, t.grad.item(), hand[name]] for name, t in [("u", u), ("v", v), ("x", x), ("y", y)]]
print(format_table(["tensor", "autodiff grad", "by hand"], rows, ".6g"))
worst = max(abs(a - h) for _, a, h in rows)
print(f"max |autodiff - hand| = {worst:.1e}")

# %% [markdown]
# ## Gradients accumulate

# %%
heading("Gradients accumulate, also across calls")
# --8<-- [start:accumulate]
L2 = (x * y) * (x + y)  # a fresh graph over the same leaves
L2.backward()  # adds to x.grad, which still holds the first backward's 16
print(f"after a second backward, x.grad = {x.grad.item():g} (16 + 16)")
x.zero_grad()  # what an optimizer's zero_grad() does before every step
# --8<-- [end:accumulate]
print(f"after x.zero_grad(), x.grad = {x.grad}")

# %% [markdown]
# ## Your turn
#
# Write it yourself: `tinygrad-edu exercise start engine` writes the file to fill in, and
# `tinygrad-edu exercise check engine` checks it and names the likely mistake. In a notebook, you can
# instead define the functions in a cell and check them with
# `from tinygrad_edu.exercises import check; check("engine")`.
#
# Not done `local-derivatives` yet? It comes first, the same way.

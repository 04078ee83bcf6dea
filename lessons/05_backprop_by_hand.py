# %% [markdown]
# # Lesson 5: backprop by hand, line by line
#
# The 784-hidden-10 network's gradients, derived on paper (see the Derivations page) and written as seven lines
# of NumPy in tinygrad_edu.manual.backward. Each one is compared with what autodiff derives from the same
# parameters, and both with central finite differences: the comparison table. Then the bug hunt: the mistakes
# students make deriving backprop, swapped in one at a time, and what the table says about each.
#
# Run it as a script, `python lessons/05_backprop_by_hand.py [--data-dir DIR] [--out DIR]`, or cell by cell as
# a notebook. Needs MNIST (see the README: TINYGRAD_EDU_DATA, or downloaded once).

# %%
# Settings: change them and rerun. Run as a script, --data-dir and --out replace them.
DATA_DIR = None  # the folder holding MNIST (None: $TINYGRAD_EDU_DATA, else downloaded once into the cache)
OUT = "out/lesson-05"  # the folder for this lesson's figures

from tinygrad_edu.course import lesson_settings

DATA_DIR, OUT = lesson_settings(5, "backprop by hand, checked against autodiff and finite differences",
                                data_dir=DATA_DIR, out=OUT)

# %%
import numpy as np

from tinygrad_edu import manual
from tinygrad_edu.manual.autodiff import autodiff_gradients
from tinygrad_edu.manual.compare import compare_gradients
from tinygrad_edu.manual.mistakes import BUGS
from tinygrad_edu.course import format_table, heading, new_figure, record_numbers, save_figure
from tinygrad_edu.data import load_mnist

BATCH, HIDDEN = 32, 128

# %% [markdown]
# ## One batch, forward and backward by hand

# %%
mnist = load_mnist(DATA_DIR)
rng = np.random.default_rng(0)
rows = rng.choice(len(mnist.train_labels), size=BATCH, replace=False)
# --8<-- [start:batch]
x, y = mnist.train_images[rows].astype(np.float64), mnist.train_labels[rows]  # float64: exact comparisons
params = manual.init_params(HIDDEN, seed=0, dtype=np.float64)
cache = manual.forward(params, x, y)  # keeps X, Z1, A1, Z2, P and the loss
grads = manual.backward(params, cache, y)  # the seven hand-derived lines
# --8<-- [end:batch]
print(f"a batch of {BATCH} MNIST training images, network 784-{HIDDEN}-10, float64, loss {cache['loss']:.6f}")

# %% [markdown]
# ## The comparison table

# %%
heading("The comparison table")
# --8<-- [start:compare]
comparison = compare_gradients(params, x, y, fd_points=5, seed=0)
print(comparison)
# --8<-- [end:compare]
worst_rel = max(row.rel_error for row in comparison)
worst_fd = max(max(row.fd_error, row.fd_error_autodiff) for row in comparison)
print(f"worst relative error, manual vs autodiff: {worst_rel:.2e}")
print(f"worst error against finite differences: {worst_fd:.2e}")
fd_errors = [error for row in comparison for error in (row.fd_error, row.fd_error_autodiff)]
print(f"errors against finite differences (relative to each gradient's largest entry): "
      f"{min(fd_errors):.1e} to {max(fd_errors):.1e}")
record_numbers(OUT, loss=f"{cache['loss']:.3f}", worst_rel=f"{worst_rel:.0e}", fd_min=f"{min(fd_errors):.1e}",
               fd_max=f"{max(fd_errors):.1e}")

# %% [markdown]
# ## The bug hunt

# %%
heading("The bug hunt: one known mistake at a time")
# --8<-- [start:bug_hunt]
hunt = []
for bug in BUGS.values():
    result = compare_gradients(params, x, y, bug=bug.name, fd_points=5, seed=0)
    hunt.append([bug.name, ", ".join(result.failed) or "none", bug.summary])
# --8<-- [end:bug_hunt]
print(format_table(["bug", "gradients that FAIL", "the wrong line"], hunt))
caught = sum(row[1] != "none" for row in hunt)
print(f"the table catches {caught} of {len(BUGS)} bugs")
print("Read a FAIL column top-down: the first failing gradient in backward order is the line to fix;")
print("everything computed from it fails too.")

# %%
heading("One bug in detail: relu-mask-forgotten")
bugged = compare_gradients(params, x, y, bug="relu-mask-forgotten", fd_points=5, seed=0)
print(bugged)

# %% [markdown]
# ## The figures

# %%
# dW1's column for one hidden unit is a 28x28 picture: which pixels push that unit's weights up or down.
_, auto = autodiff_gradients(params, x, y)
unit = int(np.argmax(np.abs(grads["dW1"]).sum(axis=0)))
by_hand, by_autodiff = grads["dW1"][:, unit], auto["dW1"][:, unit]
limit = np.abs(by_autodiff).max()
fig, axes = new_figure(1, 3, width=9.0, height=3.3)
for ax, image, title in zip(axes, [by_hand, by_autodiff, by_hand - by_autodiff],
                            ["dW1 by hand", "dW1 by autodiff", "difference"]):
    shown = ax.imshow(image.reshape(28, 28), cmap="coolwarm", vmin=-limit, vmax=limit)
    ax.set_title(f"{title}, unit {unit}")
    ax.axis("off")
fig.colorbar(shown, ax=axes, shrink=0.8)
save_figure(fig, OUT, "dW1-unit.png")

# %%
fig, ax = new_figure(width=7.0, height=3.6)
names = [row.name for row in comparison]
positions = np.arange(len(names))
floor = 1e-18  # an exact match (0) still needs a bar on a log scale
ax.bar(positions - 0.2, [max(r.rel_error, floor) for r in comparison], 0.4, label="correct backward")
ax.bar(positions + 0.2, [max(r.rel_error, floor) for r in bugged], 0.4, label="relu-mask-forgotten")
ax.axhline(comparison.rel_tol, color="grey", linestyle=":", label=f"tolerance {comparison.rel_tol:.0e}")
ax.set_yscale("log")
ax.set_xticks(positions, names)
ax.set_ylabel("relative error vs autodiff")
ax.legend(fontsize="small")
ax.set_title("Hand-derived gradients against autodiff")
save_figure(fig, OUT, "comparison.png")

# %% [markdown]
# ## Your turn
#
# Write it yourself: `tinygrad-edu exercise start network-backprop` writes the file to fill in, and
# `tinygrad-edu exercise check network-backprop` checks it and names the likely mistake. In a notebook, you can
# instead define the functions in a cell and check them with
# `from tinygrad_edu.exercises import check; check("network-backprop")`.
#
# Not done `softmax-cross-entropy` yet? It comes first, the same way.

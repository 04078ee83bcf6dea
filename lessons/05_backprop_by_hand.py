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

# %%
# The same untrained network on all 10,000 test images: lesson 4's starting loss, measured on real digits.
start = manual.forward(params, mnist.test_images.astype(np.float64), mnist.test_labels)
start_variance = float(start["Z2"].var())  # s², the variance of the logits
start_predicted = np.log(10) + (1 - 1 / 10) * start_variance / 2  # lesson 4's second-order formula
print(f"untrained, all {len(mnist.test_labels):,} test images: loss {start['loss']:.3f}, variance of the logits "
      f"{start_variance:.3f}, ln 10 + (1 - 1/10) × variance / 2 = {start_predicted:.3f} (this batch: {cache['loss']:.3f})")
record_numbers(OUT, start_loss_test=f"{start['loss']:.3f}", start_logit_variance_test=f"{start_variance:.3f}",
               start_predicted_test=f"{start_predicted:.3f}")

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
    first = next((row for row in result if not row.passed), None)  # the first failing row is the wrong line
    how = "-" if first is None else "numbers" if first.manual_shape is not None else "crash"
    hunt.append([bug.name, ", ".join(result.failed) or "none", how])
# --8<-- [end:bug_hunt]
print(format_table(["bug", "gradients that FAIL", "caught by"], hunt))
caught = sum(row[1] != "none" for row in hunt)
crashed = [row[0] for row in hunt if row[2] == "crash"]
print(f"the table catches {caught} of {len(BUGS)} bugs; by their numbers {caught - len(crashed)}, "
      f"by a NumPy error (a crash, not a numeric catch) {len(crashed)}: {', '.join(crashed) or 'none'}")
print("Read a FAIL column top-down: the first failing gradient in backward order is the line to fix;")
print("everything computed from it fails too.")
for bug in BUGS.values():
    print(f"  {bug.name}: {bug.summary}")
record_numbers(OUT, bugs=str(len(BUGS)), caught_by_numbers=str(caught - len(crashed)),
               crashed=", ".join(crashed) or "none")

# %%
heading("missing-transpose with 10 hidden units: the shapes fit, only the numbers catch it")
# --8<-- [start:square]
params_10 = manual.init_params(10, seed=0, dtype=np.float64)  # W2 is 10 x 10: dZ2 @ W2 runs
square = compare_gradients(params_10, x, y, bug="missing-transpose", fd_points=5, seed=0)
print(square)
# --8<-- [end:square]
record_numbers(OUT, square_failed=", ".join(square.failed), square_rel=f"{square['dA1'].rel_error:.1e}")

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
difference = by_hand - by_autodiff
# The difference is some 1e-16 of the gradients: on their colour scale it would be blank. It gets its own.
difference_limit = max(float(np.abs(difference).max()), np.finfo(np.float64).tiny)
fig, axes = new_figure(1, 3, width=9.0, height=3.3)
for ax, image, title, scale in zip(axes, [by_hand, by_autodiff, difference],
                                   [f"dW1 by hand, unit {unit}", f"dW1 by autodiff, unit {unit}",
                                    "hand - autodiff (own scale)"], [limit, limit, difference_limit]):
    shown = ax.imshow(image.reshape(28, 28), cmap="coolwarm", vmin=-scale, vmax=scale)
    ax.set_title(title, fontsize="medium")
    ax.axis("off")
    fig.colorbar(shown, ax=ax, shrink=0.8, format="%.0e" if scale < 1e-3 else None)
print(f"dW1, unit {unit}: largest entry {limit:.1e}, largest |hand - autodiff| {np.abs(difference).max():.1e}")
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

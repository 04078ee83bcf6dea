# %% [markdown]
# # Lesson 4: the forward pass of the 784-hidden-10 network
#
# A batch of images X (N, 784) goes through Z1 = X W1 + b1, A1 = ReLU(Z1), Z2 = A1 W2 + b2,
# P = softmax(Z2), and the loss L = mean cross-entropy. An untrained network should be unsure of every digit:
# P near 1/10 everywhere and L near ln 10, the loss of a uniform guess; how near, the spread of its logits says.
#
# Then the numerics: a naive softmax, exp(z) / Σ exp(z), overflows to inf/inf = nan once a logit passes
# about 88.7 in float32, while the log-sum-exp version (shift by the row maximum first) stays exact.
#
# Run it as a script, `python lessons/04_forward_pass.py [--out DIR]`, or cell by cell as a notebook.

# %%
# Settings: change them and rerun. Run as a script, --out DIR replaces OUT.
OUT = "out/lesson-04"  # the folder for this lesson's figures

from tinygrad_edu.course import lesson_settings

OUT = lesson_settings(4, "the forward pass: ReLU, softmax and cross-entropy", out=OUT)

# %%
import math

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu import Tensor, manual
from tinygrad_edu.course import format_table, heading, new_figure, record_numbers, save_figure

BATCH, INPUTS, HIDDEN, CLASSES = 8, 784, 128, 10
MANY = 1_000  # stand-in images for the average loss of the untrained network


def make_network(seed: int = 0) -> dict[str, Tensor]:
    """The network every lesson uses, manual.init_params (He initialisation: Var(W) = 2 / fan_in), as Tensors."""
    return {name: Tensor(value, requires_grad=True) for name, value in manual.init_params(HIDDEN, seed=seed).items()}


# %% [markdown]
# ## The forward pass, one line per equation

# %%
# --8<-- [start:forward]
def forward(params: dict[str, Tensor], X: Tensor, y: np.ndarray) -> dict[str, Tensor]:
    """The network's forward pass, one line per equation."""
    Z1 = X @ params["W1"] + params["b1"]  # (N, 784)(784, H) + (H,) -> (N, H)
    A1 = Z1.relu()  # max(Z1, 0), elementwise
    Z2 = A1 @ params["W2"] + params["b2"]  # (N, H)(H, 10) + (10,) -> (N, 10): the logits
    P = Z2.softmax(axis=1)  # each row: exp(z) / Σ exp(z), sums to 1
    loss = F.cross_entropy(Z2, y)  # -mean log P[n, y_n], from the logits (log-sum-exp inside)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "P": P, "loss": loss}
# --8<-- [end:forward]


# %% [markdown]
# ## Softmax, naive and stable

# %%
# --8<-- [start:softmax]
def naive_softmax(z: np.ndarray) -> np.ndarray:
    """exp(z) / Σ exp(z), as written in the textbook: exp overflows to inf for large z."""
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def stable_softmax(z: np.ndarray) -> np.ndarray:
    """The same function after subtracting the row maximum: the largest exponent is exp(0) = 1."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def stable_log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax(z) = (z - max) - log Σ exp(z - max): never takes the log of a probability that underflowed."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
# --8<-- [end:softmax]


# %% [markdown]
# ## An untrained network

# %%
rng = np.random.default_rng(0)
params = make_network(seed=0)
X = Tensor(rng.random((BATCH, INPUTS), dtype=np.float32))  # stand-ins for 8 images, pixels in [0, 1)
y = rng.integers(0, CLASSES, size=BATCH)
cache = forward(params, X, y)

heading("Shapes through the network")
rows = [["X", X.shape, "input images, one per row"]]
rows += [[name, cache[name].shape, what] for name, what in [
    ("Z1", "X W1 + b1"), ("A1", "ReLU(Z1)"), ("Z2", "A1 W2 + b2, the logits"),
    ("P", "softmax(Z2), each row sums to 1"), ("loss", "mean cross-entropy (a scalar)")]]
print(format_table(["tensor", "shape", "what"], rows))

# %%
heading("An untrained network is unsure")
P = cache["P"].data
print(f"ReLU zeroed {np.mean(cache['A1'].data == 0):.0%} of the hidden activations")
print(f"rows of P sum to 1: max |Σ P - 1| = {np.max(np.abs(P.sum(axis=1) - 1)):.1e}")
print(f"P ranges over [{P.min():.4f}, {P.max():.4f}] (uniform would be 0.1000)")
by_hand = -np.mean(np.log(stable_softmax(cache["Z2"].data.astype(np.float64))[np.arange(BATCH), y]))
print(f"loss by F.cross_entropy = {cache['loss'].item():.6f}")
print(f"loss by hand, -mean log P[n, y_n] = {by_hand:.6f}")
print(f"ln 10 = {math.log(10):.6f}: the loss of a uniform guess")

# %% [markdown]
# The loss is above ln 10, and that is expected: the logits of an untrained network are not all equal, they
# spread around 0 with some variance s². For logits with mean 0 and variance s², the average of
# log Σ_j exp(z_j) - z_y is about ln 10 + (1 - 1/10) s² / 2 (a second-order Taylor expansion of log-sum-exp at
# z = 0). He initialisation keeps s² of order 1, so the loss starts a few tenths above ln 10; a loss far above
# it means logits far too large (try scaling W2 by 10). Averaged over many inputs:

# %%
# --8<-- [start:gap]
X_many = Tensor(rng.random((MANY, INPUTS), dtype=np.float32))
y_many = rng.integers(0, CLASSES, size=MANY)
many = forward(params, X_many, y_many)
spread = float(many["Z2"].data.var())  # s², the variance of the logits
predicted_loss = math.log(CLASSES) + (1 - 1 / CLASSES) * spread / 2
# --8<-- [end:gap]
print(f"over {MANY:,} stand-in images: mean loss {many['loss'].item():.3f}, variance of the logits {spread:.3f}")
print(f"ln 10 + (1 - 1/10) × variance / 2 = {predicted_loss:.3f}")
print(f"mean square pixel of these stand-ins: {float(np.mean(X_many.data ** 2)):.3f} (uniform pixels: 1/3; MNIST's "
      "are mostly dark, so on real digits the logits spread less and the loss starts closer to ln 10)")
record_numbers(OUT, loss_batch=f"{cache['loss'].item():.3f}", loss_many=f"{many['loss'].item():.3f}",
               logit_variance=f"{spread:.3f}", predicted_loss=f"{predicted_loss:.3f}")

# %%
fig, (relu_ax, bar_ax) = new_figure(1, 2, width=9.0, height=3.4)
z = np.linspace(-3, 3, 200)
relu_ax.plot(z, np.maximum(z, 0), label="ReLU(z) = max(z, 0)")
relu_ax.plot(z, (z > 0).astype(float), "--", label="ReLU'(z) = 1[z > 0]")
relu_ax.set_xlabel("z")
relu_ax.legend()
relu_ax.set_title("The hidden layer's activation")
bar_ax.bar(range(CLASSES), P[0])
bar_ax.axhline(0.1, color="grey", linestyle=":", label="uniform, 1/10")
bar_ax.set_xticks(range(CLASSES))
bar_ax.set_xlabel("digit")
bar_ax.set_ylabel("P")
bar_ax.set_title("untrained: softmax output for one input")
bar_ax.legend()
save_figure(fig, OUT, "relu-and-softmax.png")

# %% [markdown]
# ## Softmax at large logits

# %%
heading("Softmax at large logits: naive vs log-sum-exp")
logits = np.array([1000.0, 1001.0, 1002.0], dtype=np.float32)
with np.errstate(over="ignore", invalid="ignore"):
    naive = naive_softmax(logits)
stable = stable_softmax(logits)
print(f"logits                 = {logits}")
with np.errstate(over="ignore"):
    print(f"exp(logits)            = {np.exp(logits)}  (float32 overflows past {np.log(np.finfo(np.float32).max):.1f})")
print(f"naive softmax          = {naive}")
print(f"stable softmax         = {stable}")
print(f"naive finite: {bool(np.all(np.isfinite(naive)))}, stable finite: {bool(np.all(np.isfinite(stable)))}, "
      f"stable sums to {stable.sum():.6f}")
small = np.array([0.0, -200.0], dtype=np.float32)  # a very wrong prediction for class 1
with np.errstate(divide="ignore"):
    naive_nll = -np.log(naive_softmax(small))[1]
stable_nll = -stable_log_softmax(small)[1]
print(f"loss of class 1 for logits {small}: naive -log(softmax) = {naive_nll}, log-sum-exp = {stable_nll:.1f}")
print(f"F.cross_entropy on logits {logits}, label 0: {F.cross_entropy(Tensor(logits.reshape(1, 3)), [0]).item():.6f}")

# %%
# Every logit in float32, as in the network: a float64 scale would promote them to float64, which overflows
# only past 709.8, and the naive curve would never break on this plot.
scales = np.linspace(1, 60, 300, dtype=np.float32)
base = np.array([1.0, 1.5, 2.0], dtype=np.float32)  # the largest logit is 2 × scale
largest_logit = 2 * scales
with np.errstate(over="ignore", invalid="ignore"):
    naive_max = np.array([naive_softmax(base * s).max() for s in scales])
stable_max = np.array([stable_softmax(base * s).max() for s in scales])
overflow_at = float(np.log(np.finfo(np.float32).max))  # exp(88.72...) is the largest float32
broken = np.isnan(naive_max)
print(f"naive float32 softmax over the plot: finite up to a largest logit of {largest_logit[~broken].max():.2f}, "
      f"nan from {largest_logit[broken].min():.2f} on ({broken.sum()} of {len(scales)} points, every one past "
      f"{overflow_at:.2f}: {bool(np.all(broken == (largest_logit > overflow_at)))}); stable finite everywhere: "
      f"{bool(np.all(np.isfinite(stable_max)))}")
fig, ax = new_figure()
ax.plot(largest_logit, stable_max, linewidth=3, alpha=0.5, label="stable softmax")
ax.plot(largest_logit, naive_max, "--", label="naive softmax (nan once exp overflows)")
ax.axvline(overflow_at, color="grey", linestyle=":", label=f"float32 exp overflows ({overflow_at:.1f})")
ax.axvspan(overflow_at, largest_logit.max(), color="red", alpha=0.08, label="naive softmax: nan (not drawn)")
ax.set_xlabel("largest logit")
ax.set_ylabel("largest probability")
ax.set_ylim(0.3, 1.05)
ax.legend(loc="lower right")
ax.set_title("float32 softmax of logits (1, 1.5, 2) × scale")
save_figure(fig, OUT, "softmax-overflow.png")

# %% [markdown]
# ## Your turn
#
# Write it yourself: `tinygrad-edu exercise start softmax-cross-entropy` writes the file to fill in, and
# `tinygrad-edu exercise check softmax-cross-entropy` checks it and names the likely mistake. In a notebook, you can
# instead define the functions in a cell and check them with
# `from tinygrad_edu.exercises import check; check("softmax-cross-entropy")`.

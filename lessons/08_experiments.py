# %% [markdown]
# # Lesson 8: experiments, measured
#
# Four questions about the 784-hidden-10 network, each answered by training it several ways and measuring:
#
# 1. width: 10 hidden units or 128?
# 2. initialisation: He, Xavier, LeCun, uniform(-0.1, 0.1), N(0, 1), or all zeros?
# 3. optimizer: plain SGD, SGD with momentum, or Adam?
# 4. batch size: full-batch gradient descent or mini-batches?
#
# Every run uses the hand-derived gradients (tinygrad_edu.manual, the fastest engine) with tinygrad_edu.optim.
# Every number printed here is measured in this run: test accuracy, final training loss, seconds.
#
# Run it as a script, `python lessons/08_experiments.py [--quick] [--data-dir DIR] [--out DIR]`, or cell by cell
# as a notebook. Needs MNIST (see the README). Quick mode trains on 5,000 images for 2 epochs per run (seconds
# in all); the full run uses all 60,000 images for 3 epochs per run (about a minute), except the full-batch
# comparison, which always uses 5,000 (a full-batch step costs a whole pass over the data).

# %%
# Settings: change them and rerun. Run as a script, --quick, --data-dir and --out replace them.
QUICK = False  # True: 5,000 training images and 2 epochs per run (seconds) instead of 60,000 and 3
DATA_DIR = None  # the folder holding MNIST (None: $TINYGRAD_EDU_DATA, else downloaded once into the cache)
OUT = "out/lesson-08"  # the folder for this lesson's figures

from tinygrad_edu.course import lesson_settings

QUICK, DATA_DIR, OUT = lesson_settings(8, "experiments: width, initialisation, optimizers, batch size",
                                       quick=QUICK, data_dir=DATA_DIR, out=OUT)

# %%
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinygrad_edu import manual
from tinygrad_edu.course import format_table, heading, new_figure, save_figure
from tinygrad_edu.data import BatchIterator, load_mnist
from tinygrad_edu.nn import init_weight
from tinygrad_edu.optim import SGD, Adam, Optimizer

SEED = 0
QUICK_TRAIN_IMAGES, QUICK_EPOCHS, FULL_EPOCHS = 5_000, 2, 3


@dataclass
class Run:
    """One measured training run."""

    label: str
    losses: list[float]  # training loss of every step
    accuracy: float  # on the test set, after training
    seconds: float
    steps: int


@dataclass
class Data:
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    epochs: int


# %% [markdown]
# ## One experiment: train and measure

# %%
# --8<-- [start:experiment]
def train(label: str, params: dict[str, np.ndarray], data: Data,
          make_optimizer: Callable[[list[np.ndarray]], Optimizer] = lambda p: SGD(p, lr=0.1),
          batch_size: int | None = 64, epochs: int | None = None) -> Run:
    """Train ``params`` in place and measure: loss per step, test accuracy, time. batch_size None = full batch."""
    arrays = [params["W1"], params["b1"], params["W2"], params["b2"]]
    optimizer = make_optimizer(arrays)
    batches = BatchIterator(data.train_x, data.train_y, batch_size, seed=SEED)
    losses = []
    start = time.perf_counter()
    for _ in range(epochs or data.epochs):
        for x, y in batches:
            cache = manual.forward(params, x, y)
            grads = manual.backward(params, cache, y)
            optimizer.step([grads["dW1"], grads["db1"], grads["dW2"], grads["db2"]])
            losses.append(float(cache["loss"]))
    seconds = time.perf_counter() - start
    predicted = manual.forward(params, data.test_x)["Z2"].argmax(axis=1)
    return Run(label, losses, float(np.mean(predicted == data.test_y)), seconds, len(losses))
# --8<-- [end:experiment]


# %%
# --8<-- [start:inits]
def init_network(init: str, hidden: int = 128) -> dict[str, np.ndarray]:
    """Weights drawn by ``init`` (see tinygrad_edu.nn.init_weight), or the two classic mistakes."""
    rng = np.random.default_rng(SEED)
    if init == "zeros":  # every hidden unit identical: they get identical gradients and stay identical
        weights = [np.zeros((784, hidden), np.float32), np.zeros((hidden, 10), np.float32)]
    elif init == "normal(0, 1)":  # unit variance whatever the fan-in: pre-activations of size ~sqrt(784) = 28
        weights = [rng.standard_normal(shape).astype(np.float32) for shape in [(784, hidden), (hidden, 10)]]
    else:
        weights = [init_weight(784, hidden, init, rng), init_weight(hidden, 10, init, rng)]
    return {"W1": weights[0], "b1": np.zeros(hidden, np.float32), "W2": weights[1], "b2": np.zeros(10, np.float32)}
# --8<-- [end:inits]


# %%
def table(runs: list[Run]) -> str:
    return format_table(
        ["run", "test accuracy", "final loss", "steps", "seconds"],
        [[r.label, f"{r.accuracy:.2%}", f"{np.mean(r.losses[-20:]):.3f}", r.steps, f"{r.seconds:.2f}"] for r in runs],
    )


def smooth(values: list[float], window: int) -> np.ndarray:
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_losses(runs: list[Run], title: str, out, name: str, x_label: str = "step") -> None:
    fig, ax = new_figure(width=7.0, height=3.8)
    for run in runs:
        window = max(1, run.steps // 40)
        ax.plot(smooth(run.losses, window), label=f"{run.label}: {run.accuracy:.1%}")
    ax.set_yscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title(title)
    ax.legend(fontsize="small", title="run: test accuracy", title_fontsize="small")
    save_figure(fig, out, name)


# %% [markdown]
# ## The data

# %%
mnist = load_mnist(DATA_DIR)
count = QUICK_TRAIN_IMAGES if QUICK else len(mnist.train_labels)
data = Data(mnist.train_images[:count], mnist.train_labels[:count], mnist.test_images, mnist.test_labels,
            QUICK_EPOCHS if QUICK else FULL_EPOCHS)
print(f"every run: {count:,} training images, {data.epochs} epochs, tested on {len(data.test_y):,} images")

# %% [markdown]
# ## 1. Width

# %%
heading("1. Width: 10 or 128 hidden units (SGD, lr 0.1, batches of 64)")
width_runs = [train(f"hidden {h} ({784 * h + h + h * 10 + 10:,} parameters)", init_network("he", h), data)
              for h in (10, 128)]
print(table(width_runs))

# %% [markdown]
# ## 2. Initialisation

# %%
heading("2. Initialisation (hidden 128, SGD, lr 0.1)")
init_runs = [train(init, init_network(init), data)
             for init in ("he", "xavier", "lecun", "uniform", "normal(0, 1)", "zeros")]
print(table(init_runs))
print("zeros: every hidden unit computes the same thing and gets the same gradient, so they never differ;")
print("here W2 = 0 also blocks every gradient to W1, and only the output bias learns (the class frequencies).")
plot_losses(init_runs, "Initialisation", OUT, "initialisation.png")

# %% [markdown]
# ## 3. Optimizers

# %%
heading("3. Optimizers (hidden 128, He initialisation, batches of 64)")
# --8<-- [start:optimizers]
optimizers = {
    "SGD, lr 0.1": lambda p: SGD(p, lr=0.1),
    "SGD + momentum 0.9, lr 0.01": lambda p: SGD(p, lr=0.01, momentum=0.9),
    "Adam, lr 0.001": lambda p: Adam(p, lr=1e-3),
}
optimizer_runs = [train(label, init_network("he"), data, make) for label, make in optimizers.items()]
# --8<-- [end:optimizers]
print(table(optimizer_runs))
plot_losses(optimizer_runs, "SGD, momentum and Adam", OUT, "optimizers.png")

# %% [markdown]
# ## 4. Full batch or mini-batches

# %%
heading(f"4. Full batch or mini-batches (hidden 128, SGD, lr 0.1, {QUICK_TRAIN_IMAGES:,} images)")
# On a subset even in the full run: full-batch steps cost a whole pass over the data each.
small = Data(data.train_x[:QUICK_TRAIN_IMAGES], data.train_y[:QUICK_TRAIN_IMAGES], data.test_x, data.test_y,
             QUICK_EPOCHS)
full_steps = len(BatchIterator(small.train_x, small.train_y, 64)) * small.epochs  # as many steps as mini-batch
batch_runs = [
    train("batches of 64", init_network("he"), small),
    train(f"full batch, {small.epochs} epochs", init_network("he"), small, batch_size=None),
    train(f"full batch, {full_steps} epochs", init_network("he"), small, batch_size=None, epochs=full_steps),
]
print(table(batch_runs))
minibatch, same_epochs, same_steps = batch_runs
print(f"same epochs: mini-batches reach {minibatch.accuracy:.1%}, the full batch {same_epochs.accuracy:.1%} "
      f"({same_epochs.steps} steps against {minibatch.steps})")
print(f"same number of steps: the full batch reaches {same_steps.accuracy:.1%} but takes "
      f"{same_steps.seconds / max(minibatch.seconds, 1e-9):.0f}x as long")
plot_losses(batch_runs, "Full batch vs mini-batches", OUT, "batch-size.png")

# %% [markdown]
# ## Every run

# %%
fig, ax = new_figure(width=7.0, height=3.8)
all_runs = width_runs + init_runs + optimizer_runs + batch_runs
ax.barh([r.label for r in all_runs][::-1], [r.accuracy * 100 for r in all_runs][::-1])
ax.set_xlabel("test accuracy (%)")
ax.set_xlim(0, 100)
ax.set_title("Every run")
save_figure(fig, OUT, "summary.png")

# %% [markdown]
# ## Your turn
#
# Write it yourself: `tinygrad-edu exercise start optimizers` gives you a file to fill in, and
# `tinygrad-edu exercise check optimizers` checks it and says what is wrong (in a notebook cell, put `!` in
# front of the command).

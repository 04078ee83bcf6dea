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
# Measured honestly: every setting is trained with 3 seeds (initial weights and batch order) and scored on a
# validation set of 5,000 images held out from the training set (mean and spread over the seeds). The test
# images are used once, at the end, for the one setting chosen on validation.
#
# Run it as a script, `python lessons/08_experiments.py [--quick] [--data-dir DIR] [--out DIR]`, or cell by cell
# as a notebook. Needs MNIST (see the README). Quick mode trains on 5,000 images for 2 epochs per run; the full
# run uses all 55,000 training images for 3 epochs per run, except the full-batch comparison, which uses 5,000
# (2,000 in quick mode): a full-batch step costs a whole pass over the data.

# %%
# Settings: change them and rerun. Run as a script, --quick, --data-dir and --out replace them.
QUICK = False  # True: 5,000 training images and 2 epochs per run instead of 55,000 and 3
DATA_DIR = None  # the folder holding MNIST (None: $TINYGRAD_EDU_DATA, else downloaded once into the cache)
OUT = "out/lesson-08"  # the folder for this lesson's figures

from tinygrad_edu.course import lesson_settings

QUICK, DATA_DIR, OUT = lesson_settings(8, "experiments: width, initialisation, optimizers, batch size",
                                       quick=QUICK, data_dir=DATA_DIR, out=OUT)

# %%
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from tinygrad_edu import manual
from tinygrad_edu.course import format_table, heading, new_figure, record_numbers, save_figure
from tinygrad_edu.data import BatchIterator, load_mnist, train_val_split
from tinygrad_edu.nn import init_weight
from tinygrad_edu.optim import SGD, Adam, Optimizer

SEEDS = (0, 1, 2)
VALIDATION_IMAGES = 5_000
QUICK_TRAIN_IMAGES, QUICK_EPOCHS, FULL_EPOCHS = 5_000, 2, 3
FULL_BATCH_IMAGES = 2_000 if QUICK else 5_000
# The seconds column: one epoch of each setting (on at most TIMING_IMAGES images, scaled up to the run) timed
# TIMING_REPEATS times, the settings alternating in order.
TIMING_REPEATS, TIMING_IMAGES = 3, 5_000


@dataclass
class Data:
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    epochs: int


@dataclass
class Run:
    """One measured training run (one setting, one seed)."""

    losses: list[float]  # training loss of every step
    val_accuracy: float  # on the validation images, after training
    seconds: float
    params: dict[str, np.ndarray]


# %% [markdown]
# ## One experiment: train and measure

# %%
# --8<-- [start:experiment]
def train(params: dict[str, np.ndarray], data: Data, seed: int,
          make_optimizer: Callable[[list[np.ndarray]], Optimizer] = lambda p: SGD(p, lr=0.1),
          batch_size: int | None = 64, epochs: int | None = None) -> Run:
    """Train ``params`` in place; measure the loss per step, the validation accuracy and the time."""
    arrays = [params["W1"], params["b1"], params["W2"], params["b2"]]
    optimizer = make_optimizer(arrays)
    batches = BatchIterator(data.train_x, data.train_y, batch_size, seed=seed)  # None: one full batch
    losses = []
    start = time.perf_counter()
    for _ in range(epochs or data.epochs):
        for x, y in batches:
            cache = manual.forward(params, x, y)
            grads = manual.backward(params, cache, y)
            optimizer.step([grads["dW1"], grads["db1"], grads["dW2"], grads["db2"]])
            losses.append(float(cache["loss"]))
    seconds = time.perf_counter() - start
    return Run(losses, accuracy(params, data.val_x, data.val_y), seconds, params)
# --8<-- [end:experiment]


def accuracy(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(manual.forward(params, x)["Z2"].argmax(axis=1) == y))


# %%
# --8<-- [start:inits]
def init_network(init: str, seed: int, hidden: int = 128) -> dict[str, np.ndarray]:
    """Weights drawn by ``init`` (see tinygrad_edu.nn.init_weight), or the two classic mistakes."""
    rng = np.random.default_rng(seed)
    if init == "zeros":  # every hidden unit identical: they get identical gradients and stay identical
        weights = [np.zeros((784, hidden), np.float32), np.zeros((hidden, 10), np.float32)]
    elif init == "normal(0, 1)":  # standard deviation 1 = sqrt(784) = 28 times LeCun's 1/sqrt(784)
        weights = [rng.standard_normal(shape).astype(np.float32) for shape in [(784, hidden), (hidden, 10)]]
    else:
        weights = [init_weight(784, hidden, init, rng), init_weight(hidden, 10, init, rng)]
    return {"W1": weights[0], "b1": np.zeros(hidden, np.float32), "W2": weights[1], "b2": np.zeros(10, np.float32)}
# --8<-- [end:inits]


# %% [markdown]
# ## Every setting, three seeds

# %%
@dataclass
class Setting:
    """One setting, trained once per seed; ``time_run`` trains it again briefly and returns the run's time."""

    label: str
    runs: list[Run]
    time_run: Callable[[], float]
    seconds: list[float] = field(default_factory=list)  # the timed repeats of time_run

    @property
    def accuracies(self) -> list[float]:
        return [run.val_accuracy for run in self.runs]

    @property
    def mean(self) -> float:
        return statistics.mean(self.accuracies)

    @property
    def sd(self) -> float:
        return statistics.stdev(self.accuracies)

    @property
    def steps(self) -> int:
        return len(self.runs[0].losses)


def measure(label: str, data: Data, init: str = "he", hidden: int = 128, **train_options) -> Setting:
    """Train one setting once per seed (each seed: its own initial weights and batch order)."""
    runs = [train(init_network(init, seed, hidden), data, seed, **train_options) for seed in SEEDS]
    # One epoch (seed 0) on at most TIMING_IMAGES images, scaled to the run's images and epochs (a step's cost
    # does not depend on how many images there are; with a full batch, each step uses them all).
    few = replace(data, train_x=data.train_x[:TIMING_IMAGES], train_y=data.train_y[:TIMING_IMAGES])
    scale = len(data.train_y) / len(few.train_y) * (train_options.get("epochs") or data.epochs)
    if train_options.get("batch_size", 64) is None:  # full batch: one step per epoch, on every image
        few, scale = data, train_options.get("epochs") or data.epochs

    def time_run() -> float:
        return train(init_network(init, 0, hidden), few, 0, **{**train_options, "epochs": 1}).seconds * scale

    return Setting(label, runs, time_run)


def time_settings(settings: list[Setting]) -> None:
    """Time every setting TIMING_REPEATS times, alternating the order (first to last, then last to first...),
    so that no setting always runs first, when caches are cold or another program starts. A setting timed
    already (the reference, shown in several sections) keeps its times."""
    todo = [s for s in settings if not s.seconds]
    for repeat in range(TIMING_REPEATS):
        for setting in todo if repeat % 2 == 0 else todo[::-1]:
            setting.seconds.append(setting.time_run())


def timing_spread(setting: Setting) -> float:
    """How far a setting's timed repeats moved: (slowest - fastest) / median."""
    return (max(setting.seconds) - min(setting.seconds)) / statistics.median(setting.seconds)


def record(settings: list[Setting], names: list[str]) -> None:
    """Keep each setting's "mean ± sd" for the lesson's page (numbers.json), under the given names."""
    record_numbers(OUT, **{name: f"{s.mean:.1%} ± {s.sd:.1%}" for name, s in zip(names, settings)})


def table(settings: list[Setting]) -> str:
    """One row per setting; the seconds are the median of its timed repeats, and how far those moved."""
    time_settings(settings)
    return format_table(
        ["run", "val. accuracy", "range", "final loss", "steps", "seconds", "moved"],
        [[s.label, f"{s.mean:.2%} ± {s.sd:.2%}", f"{min(s.accuracies):.2%} - {max(s.accuracies):.2%}",
          f"{statistics.mean(np.mean(r.losses[-20:]) for r in s.runs):.3f}", s.steps,
          f"{statistics.median(s.seconds):.2f}", f"{timing_spread(s):.0%}"] for s in settings],
    )


def smooth(values: list[float], window: int) -> np.ndarray:
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_losses(settings: list[Setting], title: str, out, name: str) -> None:
    """Each setting's mean training loss over the seeds, with the band from the lowest to the highest seed."""
    fig, ax = new_figure(width=7.0, height=3.8)
    for setting in settings:
        window = max(1, setting.steps // 40)
        curves = np.array([smooth(run.losses, window) for run in setting.runs])
        steps = np.arange(curves.shape[1]) + window
        line, = ax.plot(steps, curves.mean(axis=0), "o-" if setting.steps < 10 else "-",  # a few steps: show them
                        label=f"{setting.label}: {setting.mean:.1%} ± {setting.sd:.1%}")
        ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), color=line.get_color(), alpha=0.2)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title(title)
    ax.legend(fontsize="small", title=f"validation accuracy, mean ± sd of {len(SEEDS)} seeds",
              title_fontsize="small")
    save_figure(fig, out, name)


# %%
# --8<-- [start:flops]
def flops_per_example(hidden: int, inputs: int = 784, classes: int = 10) -> int:
    """Floating-point operations of one example's matrix products, forward and backward.

    An (n, a) @ (a, b) product costs 2nab (a multiply and an add per term).
    Forward: X W1, A1 W2. Backward: dW2 = A1^T dZ2, dA1 = dZ2 W2^T,
    dW1 = X^T dZ1 (no gradient for the pixels).
    """
    forward = 2 * inputs * hidden + 2 * hidden * classes
    backward = (2 * hidden * classes + 2 * classes * hidden
                + 2 * inputs * hidden)
    return forward + backward
# --8<-- [end:flops]


# %% [markdown]
# ## The data: training, validation and test

# %%
mnist = load_mnist(DATA_DIR)
train_x, train_y, val_x, val_y = train_val_split(mnist.train_images, mnist.train_labels, VALIDATION_IMAGES,
                                                 seed=0)
count = QUICK_TRAIN_IMAGES if QUICK else len(train_y)
data = Data(train_x[:count], train_y[:count], val_x, val_y, QUICK_EPOCHS if QUICK else FULL_EPOCHS)
print(f"every run: {count:,} training images, {data.epochs} epochs, seeds {', '.join(map(str, SEEDS))}; "
      f"scored on {len(val_y):,} validation images held out from the training set")
record_numbers(OUT, train_images=f"{count:,}", epochs=str(data.epochs), seeds=str(len(SEEDS)))

# %% [markdown]
# ## 1. Width

# %%
# The reference setting (hidden 128, He, SGD lr 0.1, batches of 64) appears in sections 1 to 3: train it once.
reference = measure("reference", data)

heading("1. Width: 10 or 128 hidden units (SGD, lr 0.1, batches of 64)")
width = [measure("hidden 10 (7,960 parameters)", data, hidden=10),
         replace(reference, label="hidden 128 (101,770 parameters)")]
print(table(width))
record(width, ["hidden10", "hidden128"])

# %% [markdown]
# ## 2. Initialisation

# %%
heading("2. Initialisation (hidden 128, SGD, lr 0.1)")
inits = [replace(reference, label="he")]
inits += [measure(init, data, init=init) for init in ("xavier", "lecun", "uniform", "normal(0, 1)", "zeros")]
print(table(inits))
record(inits, ["he", "xavier", "lecun", "uniform", "normal", "zeros"])
he, xavier, lecun = inits[0], inits[1], inits[2]
# He, Xavier and LeCun draw the same standard normal numbers for a seed and scale them differently, and a seed
# fixes the batch order too: the runs are paired by seed. Compare seed by seed; the seed-to-seed spread of
# either setting (which both share) is not the noise of their difference.
paired = {}
for other in (xavier, lecun):
    differences = [a - b for a, b in zip(he.accuracies, other.accuracies)]
    paired[other.label] = differences
    print(f"he - {other.label}, seed by seed: {', '.join(f'{d:+.2%}' for d in differences)}; mean "
          f"{statistics.mean(differences):+.2%}, sd {statistics.stdev(differences):.2%} "
          f"(the spread between seeds of he alone: {he.sd:.2%})")
print("zeros: every hidden unit computes the same thing and gets the same gradient, so they never differ;")
print("here W2 = 0 also blocks every gradient to W1, and only the output bias learns (the class frequencies).")
plot_losses(inits, "Initialisation", OUT, "initialisation.png")

# %% [markdown]
# ## 3. Optimizers

# %%
heading("3. Optimizers (hidden 128, He initialisation, batches of 64)")
# --8<-- [start:optimizers]
optimizers = {
    "SGD + momentum 0.9, lr 0.01": lambda p: SGD(p, lr=0.01, momentum=0.9),
    "Adam, lr 0.001": lambda p: Adam(p, lr=1e-3),
}
optims = [replace(reference, label="SGD, lr 0.1")]  # the reference setting, trained above
optims += [measure(label, data, make_optimizer=make) for label, make in optimizers.items()]
# --8<-- [end:optimizers]
print(table(optims))
record(optims, ["sgd", "momentum", "adam"])
plot_losses(optims, "SGD, momentum and Adam", OUT, "optimizers.png")

# %% [markdown]
# ## 4. Full batch or mini-batches

# %%
n_full = FULL_BATCH_IMAGES
heading(f"4. Full batch or mini-batches (hidden 128, SGD, lr 0.1, {n_full:,} images)")
# On a subset even in the full run: full-batch steps cost a whole pass over the data each.
small = Data(data.train_x[:n_full], data.train_y[:n_full], val_x, val_y, QUICK_EPOCHS)
same_steps = len(BatchIterator(small.train_x, small.train_y, 64)) * small.epochs  # mini-batch steps
batches = [
    measure("batches of 64", small),
    measure(f"full batch, {small.epochs} epochs", small, batch_size=None),
    measure(f"full batch, {same_steps} epochs", small, batch_size=None, epochs=same_steps),
]
print(table(batches))
record(batches, ["minibatch", "full_same_epochs", "full_same_steps"])
minibatch, full_same_epochs, full_same_steps = batches
per_example = flops_per_example(128)
flops = {s.label: per_example * len(small.train_y) * (s.steps if s is not minibatch else small.epochs)
         for s in batches}
print(f"one example's forward and backward: {per_example:,} floating-point operations (matrix products)")
seconds = {s.label: statistics.median(s.seconds) for s in batches}  # timed by table() above
print(format_table(["run", "steps", "examples per step", "GFLOP", "seconds", "GFLOP per second"],
                   [[s.label, s.steps, len(small.train_y) if s is not minibatch else 64,
                     f"{flops[s.label] / 1e9:.1f}", f"{seconds[s.label]:.2f}",
                     f"{flops[s.label] / 1e9 / seconds[s.label]:.0f}"] for s in batches]))
flop_ratio = flops[full_same_steps.label] / flops[minibatch.label]
time_ratio = seconds[full_same_steps.label] / seconds[minibatch.label]
print(f"same epochs: mini-batches reach {minibatch.mean:.1%}, the full batch {full_same_epochs.mean:.1%} "
      f"({full_same_epochs.steps} steps against {minibatch.steps})")
print(f"same number of steps: the full batch reaches {full_same_steps.mean:.1%}, with {flop_ratio:.0f}x the "
      f"arithmetic ({n_full:,} examples per step instead of 64), and takes {time_ratio:.0f}x as long")
print("(fewer times than the arithmetic: large matrix products run more operations per second than small ones)")
record_numbers(OUT, full_batch_images=f"{n_full:,}", flops_per_example=f"{per_example:,}",
               same_steps=str(same_steps), minibatch_gflop=f"{flops[minibatch.label] / 1e9:.1f}",
               full_gflop=f"{flops[full_same_steps.label] / 1e9:.1f}",
               flop_ratio=f"{flop_ratio:.0f}", time_ratio=f"{time_ratio:.0f}")
plot_losses(batches, "Full batch vs mini-batches", OUT, "batch-size.png")

# %% [markdown]
# ## The choice, and the test set, once

# %%
heading("The choice, and the test set, once")
# Sections 1-3 train on the same images for the same epochs: those settings compete. (Section 4 uses fewer.)
candidates = width + inits[1:] + optims[1:]
best = max(candidates, key=lambda s: s.mean)
test = [accuracy(run.params, mnist.test_images, mnist.test_labels) for run in best.runs]
print(f"best mean validation accuracy: {best.label} ({best.mean:.2%} ± {best.sd:.2%})")
print(f"its test accuracy, measured once now on {len(mnist.test_labels):,} test images: "
      f"{statistics.mean(test):.2%} (seeds: {', '.join(f'{t:.2%}' for t in test)})")
record_numbers(OUT, best=best.label, best_val=f"{best.mean:.2%}", best_test=f"{statistics.mean(test):.2%}",
               he_minus_xavier=f"{he.mean - xavier.mean:+.2%}", he_sd=f"{he.sd:.2%}", xavier_sd=f"{xavier.sd:.2%}",
               he_minus_xavier_seeds=", ".join(f"{d:+.2%}" for d in paired["xavier"]),
               he_minus_xavier_paired_sd=f"{statistics.stdev(paired['xavier']):.2%}",
               he_minus_lecun_seeds=", ".join(f"{d:+.2%}" for d in paired["lecun"]),
               he_minus_lecun=f"{statistics.mean(paired['lecun']):+.2%}",
               timing_repeats=str(TIMING_REPEATS),
               timing_spread_max=f"{max(timing_spread(s) for s in width + inits + optims + batches):.0%}",
               timing_spread_median=f"{statistics.median(timing_spread(s) for s in width + inits + optims + batches):.0%}")

# %% [markdown]
# ## Every setting

# %%
fig, ax = new_figure(width=7.0, height=4.2)
shown = width + inits[1:] + optims[1:] + batches  # every setting once
labels = [s.label for s in shown][::-1]
means = [s.mean * 100 for s in shown][::-1]
spreads = [[(s.mean - min(s.accuracies)) * 100 for s in shown][::-1],
           [(max(s.accuracies) - s.mean) * 100 for s in shown][::-1]]
ax.barh(labels, means, xerr=spreads, capsize=3)
ax.set_xlabel(f"validation accuracy (%): mean of {len(SEEDS)} seeds, lowest to highest")
ax.set_xlim(0, 100)
ax.set_title("Every setting")
save_figure(fig, OUT, "summary.png")

# %% [markdown]
# ## Your turn
#
# Write it yourself: `tinygrad-edu exercise start optimizers` writes the file to fill in, and
# `tinygrad-edu exercise check optimizers` checks it and names the likely mistake. In a notebook, you can
# instead define the functions in a cell and check them with
# `from tinygrad_edu.exercises import check; check("optimizers")`.

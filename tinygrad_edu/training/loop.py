r"""Train the 784-hidden-10 MNIST classifier: :func:`train`, what ``tinygrad-edu train`` runs.

Two engines compute the gradients, the same optimizer code applies them:

* ``autodiff``: :class:`tinygrad_edu.nn.MLP` and ``F.cross_entropy``, gradients from ``loss.backward()``;
* ``manual``: :mod:`tinygrad_edu.manual`, the backprop formulas derived by hand, in plain NumPy.

Both start from the same numbers (one initialisation, :class:`~tinygrad_edu.nn.MLP` with the seed) and see
the same batches in the same order; only rounding separates them, which training may magnify
(:mod:`tinygrad_edu.training.agreement` measures how far apart they end, and why).

The defaults: Adam with learning rate 5e-3 decayed to 0 along a cosine
(:math:`\eta_k = \tfrac{\eta_0}{2}(1 + \cos(\pi k / K))` at step k of K), batches of 128, 10 epochs, and
each training image moved by up to one pixel at random (so the network cannot memorise pixel positions).
They were chosen on the validation split (5,000 training images held out), over 3 seeds, against the
textbook setting ``--augment 0 --schedule constant --lr 1e-3`` (97.13% validation accuracy), the same
without augmentation (97.65%) and SGD with momentum (98.05%): 98.41% (``benchmarks/choose_train_defaults.py``).
Measured once on the test set after that choice: 98.48% (mean of seeds 0-2).
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import DTypeLike

import tinygrad_edu.functional as F
from tinygrad_edu import manual
from tinygrad_edu.training.blas import with_blas_threads
from tinygrad_edu.training.figure_workers import FigureJob, FigureWorkers
from tinygrad_edu.training.health_monitor import OUTPUT_FILES as HEALTH_FILES
from tinygrad_edu.training.health_monitor import HealthMonitor, health_figures
from tinygrad_edu.errors import TinygradEduError, UsageError
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD, Adam, Optimizer
from tinygrad_edu.tensor import Tensor, no_grad

OPTIMIZERS = ("sgd", "momentum", "adam")
ENGINES = ("autodiff", "manual")
SCHEDULES = ("cosine", "constant")
DEFAULT_LR = {"adam": 5e-3, "sgd": 0.1, "momentum": 0.05}
MOMENTUM = 0.9
# MNIST centres each digit's 20x20 box in the 28x28 frame: a shift of up to 4 pixels never cuts the digit.
MAX_AUGMENT = 4
# A batch loss this many times the first batch's stops the run: training has exploded. Measured on 6,000 images,
# 2 epochs: runs that learn peak at 1.0-5.2 times the first loss (Adam 5e-3..0.1, SGD 1-2); Adam at lr 1 and SGD
# at 10 peak at 750 and 2,400 times it and end at chance (loss 2.3); lr 1e10 reaches 1e18-1e23 times it.
EXPLODED_LOSS_FACTOR = 100
# An epoch whose mean training loss is this many times the first batch's also stops it (those runs peak at 0.75 times
# it; SGD at lr 50 on 250 images reached 23 times it in its second epoch without a single batch at 100 times).
EXPLODED_EPOCH_FACTOR = 10


class ConfigError(UsageError):
    """A training setting out of range (unknown optimizer, zero epochs...)."""


class TrainingDivergedError(TinygradEduError, FloatingPointError):
    """The loss became NaN or infinite: the run stopped before writing anything."""


# What ``train --out DIR`` writes (and HEALTH_FILES with --health); DIR holds these and nothing else, replaced all
# together (see write_outputs).
OUTPUT_FILES = ("model.npz", "metrics.json", "metrics.csv", "curves.png", "predictions.png", "confusion.png",
                "weights.png")


@dataclass
class TrainConfig:
    """Everything that defines a training run (the command-line options, minus where files go)."""

    hidden: int = 128
    epochs: int = 10
    batch_size: int | None = 128  # None: full-batch gradient descent
    optimizer: str = "adam"
    lr: float | None = None  # None: DEFAULT_LR[optimizer]
    schedule: str = "cosine"
    augment: int = 1  # random shift of each training image, in pixels (0: off)
    weight_decay: float = 0.0
    init: str = "he"
    seed: int = 0
    engine: str = "autodiff"
    val_size: int = 5000
    train_subset: int | None = None  # train on the first N training images only (quick runs)
    health: bool = False  # record gradient health (training/health_monitor.py) during the run

    def __post_init__(self) -> None:
        for name, value, allowed in (("optimizer", self.optimizer, OPTIMIZERS), ("engine", self.engine, ENGINES),
                                     ("schedule", self.schedule, SCHEDULES)):
            if value not in allowed:
                raise ConfigError(f"TrainConfig: {name} must be one of {', '.join(allowed)}, got {value!r}")
        if self.hidden < 1 or self.epochs < 1 or (self.batch_size is not None and self.batch_size < 1):
            raise ConfigError(f"TrainConfig: hidden, epochs and batch_size must be positive, got "
                             f"{self.hidden}, {self.epochs}, {self.batch_size}")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.optimizer]
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (name == "lr" and value == 0):
                raise ConfigError(f"TrainConfig: {name} must be a {'positive' if name == 'lr' else 'non-negative'} "
                                  f"finite number, got {value}")
        if not 0 <= self.augment <= MAX_AUGMENT:
            raise ConfigError(f"TrainConfig: augment must be 0..{MAX_AUGMENT} pixels, got {self.augment}")
        if self.seed < 0:
            raise ConfigError(f"TrainConfig: seed must be 0 or more, got {self.seed}")
        if self.train_subset is not None and self.train_subset < 2:
            raise ConfigError(f"TrainConfig: train_subset must be at least 2 images, got {self.train_subset}")
        if self.val_size < 1:
            raise ConfigError(f"TrainConfig: val_size must be at least 1 image, got {self.val_size}")
        if self.train_subset is not None and self.val_size >= self.train_subset:
            raise ConfigError(f"--val-size {self.val_size} leaves no training images out of --train-subset "
                              f"{self.train_subset}; choose a --val-size below {self.train_subset}")


# ----------------------------------------------------------------------------------------------------
# The two engines: same interface, same parameter arrays layout, same optimizer
# ----------------------------------------------------------------------------------------------------
class Engine(Protocol):
    params: dict[str, np.ndarray]  # W1, b1, W2, b2 (the arrays being trained, not copies)
    optimizer: Optimizer

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """One gradient step on a batch; returns (loss, number of correct predictions) before the step."""

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The network's output scores for a batch, without recording anything for backward."""


def make_optimizer(name: str, params: list, lr: float, weight_decay: float = 0.0) -> Optimizer:
    """``sgd`` (plain), ``momentum`` (SGD with momentum 0.9) or ``adam`` over ``params``."""
    if name == "adam":
        return Adam(params, lr=lr, weight_decay=weight_decay)
    return SGD(params, lr=lr, momentum=MOMENTUM if name == "momentum" else 0.0, weight_decay=weight_decay)


class AutodiffEngine:
    """Gradients by reverse-mode autodiff: ``F.cross_entropy(model(x), y).backward()``."""

    def __init__(self, model: MLP, optimizer: str, lr: float, weight_decay: float = 0.0) -> None:
        self.model = model
        self.params = model.manual_params()
        self.optimizer = make_optimizer(optimizer, model.parameters(), lr, weight_decay)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        self.optimizer.zero_grad()
        logits = self.model(Tensor(x))
        loss = F.cross_entropy(logits, y)
        loss.backward()
        self.optimizer.step()
        return float(loss.data), int((logits.data.argmax(axis=1) == y).sum())

    def logits(self, x: np.ndarray) -> np.ndarray:
        with no_grad():
            return self.model(Tensor(x)).data


class ManualEngine:
    """Gradients by the hand-derived formulas of :mod:`tinygrad_edu.manual`."""

    def __init__(self, params: dict[str, np.ndarray], optimizer: str, lr: float, weight_decay: float = 0.0) -> None:
        self.params = params
        self.optimizer = make_optimizer(optimizer, [params[name] for name in manual.PARAM_NAMES], lr, weight_decay)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        cache = manual.forward(self.params, x, y)
        grads = manual.backward(self.params, cache, y)
        self.optimizer.step([grads["d" + name] for name in manual.PARAM_NAMES])
        return float(cache["loss"]), int((cache["Z2"].argmax(axis=1) == y).sum())

    def logits(self, x: np.ndarray) -> np.ndarray:
        return manual.forward(self.params, x)["Z2"]


def make_engine(config: TrainConfig, in_features: int = 784, classes: int = 10, dtype: DTypeLike = np.float32) -> Engine:
    """Build the chosen engine; both start from the same ``MLP(seed)`` initialisation (in ``dtype``)."""
    model = MLP(in_features, config.hidden, classes, init=config.init, seed=config.seed, dtype=dtype)
    if config.engine == "autodiff":
        return AutodiffEngine(model, config.optimizer, config.lr, config.weight_decay)
    return ManualEngine(model.manual_params(), config.optimizer, config.lr, config.weight_decay)


def learning_rate(config: TrainConfig, step: int, total_steps: int) -> float:
    """The learning rate at ``step`` (0-based) of ``total_steps``: constant, or cosine-decayed to 0."""
    if config.schedule == "constant":
        return config.lr
    return 0.5 * config.lr * (1.0 + math.cos(math.pi * step / total_steps))


def lr_to_try(config: TrainConfig) -> float:
    """A learning rate to suggest after ``config`` diverged: a tenth of it, and at most the optimizer's default."""
    return min(config.lr / 10, DEFAULT_LR[config.optimizer])


def loss_and_accuracy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``logits`` against integer ``labels``."""
    _, loss = manual.softmax_cross_entropy(logits, labels)
    return float(loss), float((logits.argmax(axis=1) == labels).mean())


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """``C[t, p]`` = how many examples of true class t were predicted as p."""
    return np.bincount(labels * classes + predictions, minlength=classes * classes).reshape(classes, classes)


def predict_in_chunks(logits_fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, chunk: int = 2000) -> np.ndarray:
    """Logits for a large set, ``chunk`` rows at a time (bounded memory)."""
    return np.concatenate([logits_fn(x[i : i + chunk]) for i in range(0, len(x), chunk)])


# ----------------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What a run produced: its configuration, per-epoch metrics, the test figures and the parameters."""

    config: TrainConfig
    history: list[dict[str, float]]
    test_accuracy: float
    test_loss: float
    per_class_accuracy: list[float]
    confusion: np.ndarray
    test_predictions: np.ndarray
    params: dict[str, np.ndarray]
    paths: dict[str, Path] = field(default_factory=dict)
    health: list[dict] = field(default_factory=list)  # HealthMonitor.records when config.health


def fit(engine: Engine, config: TrainConfig, train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray,
        val_y: np.ndarray, progress: bool = True, log: Callable[[str], None] = print,
        monitor: HealthMonitor | None = None) -> list[dict[str, float]]:
    """Run ``config.epochs`` epochs of mini-batch training; return one metrics dict per epoch.

    ``monitor`` (``--health``) is called before and after each step and adds its last measurements to each
    epoch's row."""
    from tqdm.auto import tqdm

    from tinygrad_edu.data import BatchIterator, as_float_pixels, prefetch, random_shift

    batches = BatchIterator(train_x, train_y, config.batch_size, seed=config.seed)
    augment_rng = np.random.default_rng([config.seed, 1])
    total_steps, step, first_loss = config.epochs * len(batches), 0, math.nan
    history = []
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        loss_sum, correct, seen = 0.0, 0, 0
        # each batch shifted (as bytes, when the images are uint8) and made float in a thread, a step ahead
        prepared = ((as_float_pixels(random_shift(x, config.augment, augment_rng)), y) for x, y in batches)
        bar = tqdm(prefetch(prepared), total=len(batches), desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                   leave=False, disable=not progress, file=sys.stderr)
        for step_in_epoch, (x, y) in enumerate(bar, start=1):
            engine.optimizer.lr = learning_rate(config, step, total_steps)
            if monitor is not None:
                monitor.before_step(step + 1, engine.params, x, y)
            with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported below, not warned about
                loss, right = engine.train_step(x, y)
            step += 1
            if step == 1:
                first_loss = loss  # the yardstick of an exploding loss
            if not loss <= EXPLODED_LOSS_FACTOR * first_loss:  # also catches NaN
                bar.close()
                how = (f"became {loss}" if not math.isfinite(loss) else
                       f"exploded to {loss:.3g}, {loss / first_loss:.3g} times the first batch's {first_loss:.3g},")
                raise TrainingDivergedError(
                    f"the loss {how} at epoch {epoch}, step {step_in_epoch} of {len(batches)} "
                    f"(learning rate {engine.optimizer.lr:g}): training diverged. "
                    f"Try a smaller learning rate, for example --lr {lr_to_try(config):g}."
                )
            if monitor is not None:
                monitor.after_step(step, engine.params)
            loss_sum, correct, seen = loss_sum + loss * len(y), correct + right, seen + len(y)
            if step % 25 == 0:
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{100 * correct / seen:.2f}%", refresh=False)
        bar.close()
        train_seconds = time.perf_counter() - start
        val_loss, val_accuracy = loss_and_accuracy(predict_in_chunks(engine.logits, val_x), val_y)
        row = {"epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
               "val_loss": val_loss, "val_accuracy": val_accuracy, "lr": engine.optimizer.lr,
               "seconds": train_seconds, **(monitor.epoch_columns() if monitor is not None else {})}
        history.append(row)
        if row["train_loss"] > EXPLODED_EPOCH_FACTOR * first_loss:
            raise TrainingDivergedError(
                f"the mean training loss of epoch {epoch} is {row['train_loss']:.3g}, "
                f"{row['train_loss'] / first_loss:.3g} times the first batch's {first_loss:.3g} (learning rate "
                f"{config.lr:g}): training diverged. Try a smaller learning rate, for example --lr {lr_to_try(config):g}."
            )
        log(f"epoch {epoch:>2}/{config.epochs}  train loss {row['train_loss']:.4f}  "
            f"train acc {100 * row['train_accuracy']:.2f}%  val loss {val_loss:.4f}  "
            f"val acc {100 * val_accuracy:.2f}%  {train_seconds:.1f} s")
    return history


@with_blas_threads
def train(config: TrainConfig, data_dir: str | Path | None = None, out: str | Path | None = None,
          progress: bool = True, log: Callable[[str], None] = print) -> TrainResult:
    """Load MNIST, train, evaluate on the test set, and (if ``out`` is given) write checkpoint, metrics, plots.

    Args:
        config: the run's settings.
        data_dir: MNIST folder (default: ``$TINYGRAD_EDU_DATA`` or the cache, downloading if needed).
        out: folder for ``model.npz``, ``metrics.json``, ``metrics.csv`` and the PNG plots; None writes nothing.
        progress: show tqdm progress bars.
        log: where the per-epoch summary lines go.

    Returns:
        A :class:`TrainResult`.
    """
    if out is not None:
        out = check_output_contents(out)
    # the figures' processes start now: matplotlib loads in them, on another core, while the network trains
    with FigureWorkers(count=2 if out is not None else 0) as workers:
        return _load_train_and_write(config, data_dir, out, progress, log, workers)


def _load_train_and_write(config: TrainConfig, data_dir: str | Path | None, out: Path | None, progress: bool,
                          log: Callable[[str], None], workers: FigureWorkers) -> TrainResult:
    from tinygrad_edu.data import as_float_pixels, load_mnist, train_val_split

    mnist = load_mnist(data_dir, progress=progress, dtype=np.uint8)  # bytes: fit converts a batch at a time
    images, labels = mnist.train_images, mnist.train_labels
    if config.train_subset is not None:
        if config.train_subset > len(images):
            log(f"note: --train-subset {config.train_subset} is more than the {len(images)} training images in "
                f"{mnist.source}; using all of them")
        images, labels = images[: config.train_subset], labels[: config.train_subset]
    if config.val_size >= len(images):
        raise ConfigError(f"--val-size {config.val_size} leaves no training images: {mnist.source} has "
                          f"{len(images)} training images{' in the subset' if config.train_subset else ''}; "
                          f"choose a --val-size below {len(images)}")
    train_x, train_y, val_x, val_y = train_val_split(images, labels, config.val_size, seed=config.seed)
    val_x, test_images = as_float_pixels(val_x), as_float_pixels(mnist.test_images)
    engine = make_engine(config)
    log(f"training 784-{config.hidden}-10 with the {config.engine} engine on {len(train_x)} images "
        f"({len(val_x)} held out for validation): {config.optimizer}, lr {config.lr:g} ({config.schedule}), "
        f"batch {config.batch_size or 'full'}, {config.epochs} epoch{'' if config.epochs == 1 else 's'}, seed {config.seed}")
    kept = f" Nothing was written: {out} is as it was." if out is not None else ""
    monitor = None
    if config.health:
        from tinygrad_edu.data import BatchIterator

        steps_per_epoch = len(BatchIterator(train_x, train_y, config.batch_size))
        monitor = HealthMonitor(config.hidden, val_x, steps_per_epoch, config.epochs)
    try:
        history = fit(engine, config, train_x, train_y, val_x, val_y, progress, log, monitor)
    except TrainingDivergedError as error:
        raise TrainingDivergedError(f"{error}{kept}") from None
    broken = [name for name, array in engine.params.items() if not np.isfinite(array).all()]
    if broken:
        raise TrainingDivergedError(f"the parameters {', '.join(broken)} hold NaN or infinite values after training: "
                                    f"training diverged. Try a smaller learning rate, for example --lr {lr_to_try(config):g}.{kept}")

    test_logits = predict_in_chunks(engine.logits, test_images)
    test_loss, test_accuracy = loss_and_accuracy(test_logits, mnist.test_labels)
    predictions = test_logits.argmax(axis=1)
    confusion = confusion_matrix(mnist.test_labels, predictions)
    per_class = (np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)).tolist()
    result = TrainResult(config, history, test_accuracy, test_loss, per_class, confusion, predictions,
                         engine.params, health=monitor.records if monitor is not None else [])
    if monitor is not None:
        training_seconds = sum(row["seconds"] for row in history)
        log(f"gradient health: {len(monitor.records)} measurements took {monitor.seconds:.2f} s, "
            f"{100 * monitor.seconds / training_seconds:.1f}% of the {training_seconds:.1f} s of training")
    log(f"test accuracy: {100 * test_accuracy:.2f}%")
    if out is not None:
        # the figure gets the test images as bytes: a quarter of float32's, to send to the process drawing it
        result.paths = write_outputs(result, out, mnist.test_images, mnist.test_labels, log, workers)
    return result


def write_outputs(result: TrainResult, out: Path, test_images: np.ndarray, test_labels: np.ndarray,
                  log: Callable[[str], None] = print, workers: FigureWorkers | None = None) -> dict[str, Path]:
    """Write the checkpoint, metrics (JSON, CSV) and plots of ``result`` into ``out``; log each path.

    The plots are drawn by ``workers`` (started before training: see
    :mod:`~tinygrad_edu.training.figure_workers`), or in this process when there are none.

    The files are written into a temporary sibling folder which then replaces ``out`` in one step
    (:func:`~tinygrad_edu.support.atomic.atomic_folder`): killed at any moment, ``out`` holds either the previous
    run's complete outputs or this run's, never a mix.
    """
    from tinygrad_edu.support.atomic import atomic_folder

    out = check_output_contents(out)
    with atomic_folder(out) as staging:
        written = _write_files(result, staging, test_images, test_labels, log, workers)
    paths = {name: out / path.name for name, path in written.items()}
    width = max(map(len, paths), default=0)
    for name, path in paths.items():
        log(f"wrote {name:<{width}} {path}")
    return paths


def check_output_contents(out: str | Path) -> Path:
    """Check that ``out`` can take this command's outputs: a new folder, or one holding only :data:`OUTPUT_FILES`.

    ``out`` is replaced as a whole when the run ends, so a folder with other files in it is refused up
    front (before any data is loaded) rather than emptied.
    """
    from tinygrad_edu.support.options import OutputFolderError, check_output_folder

    out = check_output_folder(out)
    if out.is_dir():
        out = out.resolve()  # a symlink to a folder: replace the folder it points to, keep the link
        try:
            ours = {*OUTPUT_FILES, *HEALTH_FILES}
            others = sorted(p.name for p in out.iterdir() if p.name not in ours and not p.name.startswith("."))
        except OSError as exc:
            raise OutputFolderError(f"cannot list {out}: {exc.strerror or exc}") from None
        if others:
            shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            raise ConfigError(
                f"--out {out} already holds files that tinygrad-edu train did not write ({shown}); the run's "
                "outputs replace the folder as a whole, so choose a new or empty folder"
            )
    return out


def _write_files(result: TrainResult, out: Path, test_images: np.ndarray, test_labels: np.ndarray,
                 log: Callable[[str], None], workers: FigureWorkers | None) -> dict[str, Path]:
    from tinygrad_edu.support.atomic import atomic_write
    from tinygrad_edu.training.checkpoint import save_checkpoint

    summary = {"config": asdict(result.config), "test_accuracy": result.test_accuracy, "test_loss": result.test_loss,
               "per_class_accuracy": result.per_class_accuracy, "confusion_matrix": result.confusion.tolist(),
               "epochs": result.history}
    if result.health:
        summary["health"] = result.health
    metadata = {k: v for k, v in summary.items() if k not in ("confusion_matrix", "health")}
    paths = {"checkpoint": save_checkpoint(out / "model.npz", result.params, metadata)}
    paths["metrics_json"] = out / "metrics.json"
    with atomic_write(paths["metrics_json"]) as f:
        f.write((json.dumps(summary, indent=2) + "\n").encode())
    paths["metrics_csv"] = out / "metrics.csv"
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=list(result.history[0]))
    writer.writeheader()
    writer.writerows(result.history)
    with atomic_write(paths["metrics_csv"]) as f:
        f.write(table.getvalue().encode())
    jobs = {  # in this order two workers share them about equally: curves and weights, predictions and confusion
        "curves": FigureJob("training_curves", out / "curves.png", values={"history": result.history}),
        "predictions": FigureJob("predictions", out / "predictions.png", {
            "images": test_images, "labels": test_labels, "predictions": result.test_predictions}),
        "weights": FigureJob("first_layer_weights", out / "weights.png", {"W1": result.params["W1"]}),
        "confusion": FigureJob("confusion_matrix", out / "confusion.png", {"confusion": result.confusion}),
    }
    for name, quantity in health_figures(result.health).items():  # none unless --health
        jobs[name] = FigureJob("health", out / f"{name}.png", values={"records": result.health, "quantity": quantity})
    errors = (workers if workers is not None else FigureWorkers(count=0)).draw(jobs, out)
    for name, error in errors.items():
        if error is None:
            paths[name] = jobs[name].path
        else:
            log(f"warning: could not draw {name}.png ({error}); the checkpoint, the metrics and the other figures "
                "are saved")
    return paths

"""training-step (lesson 7): one SGD step and one epoch over shuffled mini-batches, against the reference.

The reference steps with :class:`tinygrad_edu.optim.SGD` and takes its gradients from
:mod:`tinygrad_edu.manual`, on a fixed seed and a small MNIST subset (random data when MNIST is absent).
The epoch is checked first with the reference SGD step fed in place of the student's, then with theirs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_edu import manual
from tinygrad_edu.exercises.seeding import problem_rng
from tinygrad_edu.exercises.diagnose import Mistake, diagnose
from tinygrad_edu.exercises.items import compare_parts
from tinygrad_edu.exercises.report import FAIL, ItemResult, Report
from tinygrad_edu.exercises.student import attempt
from tinygrad_edu.optim import SGD

FUNCTIONS = ("sgd_step", "train_epoch")
EXAMPLES, BATCH, LR, HIDDEN, SEED = 500, 64, 0.1, 32, 7  # 500 = 7 batches of 64 and a last one of 52


def data() -> tuple[np.ndarray, np.ndarray, str]:
    """The first 500 MNIST training images if MNIST is at hand (never downloaded), else random ones."""
    from tinygrad_edu.data import MnistNotFoundError, load_mnist

    try:
        mnist = load_mnist(None, download=False)
    except (MnistNotFoundError, OSError, ValueError):
        rng = problem_rng(SEED)
        return rng.random((EXAMPLES, 784)), rng.integers(0, 10, size=EXAMPLES), "random images"
    return (mnist.train_images[:EXAMPLES].astype(np.float64), mnist.train_labels[:EXAMPLES],
            f"the first {EXAMPLES} MNIST training images")


def _params() -> dict[str, np.ndarray]:
    return manual.init_params(HIDDEN, seed=SEED, dtype=np.float64)


def reference_epoch(params: dict, x: np.ndarray, y: np.ndarray, shuffle: bool = True, drop_last: bool = False,
                    loss: str = "mean", shuffle_labels: bool = True) -> float:
    """One epoch with optim.SGD; the keyword arguments make the catalogued mistakes, to recognise them."""
    optimizer = SGD([params[name] for name in manual.PARAM_NAMES], lr=LR)
    order = problem_rng(SEED).permutation(len(x)) if shuffle else np.arange(len(x))
    losses, sizes = [], []
    for start in range(0, len(x), BATCH):
        batch = order[start : start + BATCH]
        if drop_last and len(batch) < BATCH:
            break
        labels = y[batch] if shuffle_labels else y[start : start + BATCH]
        cache = manual.forward(params, x[batch], labels)
        grads = manual.backward(params, cache, labels)
        optimizer.step([grads["d" + name] for name in manual.PARAM_NAMES])
        losses.append(float(cache["loss"]))
        sizes.append(len(batch))
    if loss == "last":
        return losses[-1]
    if loss == "unweighted":
        return float(np.mean(losses))
    if loss == "sum":
        return float(np.sum(losses))
    return float(np.dot(losses, sizes) / sum(sizes))


def _check_step(functions: dict[str, Callable[..., Any]], where: str) -> ItemResult:
    item = "sgd_step"
    if item not in functions:
        return ItemResult.missing(item, item, where)
    params = _params()
    rng = problem_rng(1)
    grads = {"d" + name: rng.normal(size=value.shape) for name, value in params.items()}
    before = {name: value.copy() for name, value in params.items()}
    arrays = dict(params)  # the caller's arrays themselves: sgd_step must change these, not put others in the dict
    outcome = attempt(functions[item], params, grads, LR)
    if not outcome.ok:
        return ItemResult.from_attempt(item, outcome)
    rebound = [name for name in arrays if params.get(name) is not arrays[name]]
    if all(np.array_equal(arrays[name], before[name]) for name in arrays):
        if rebound:
            return ItemResult(item, FAIL, mistake="state-rebound", diagnosis=(
                f"sgd_step put new arrays in the dict (params[{rebound[0]!r}] = params[{rebound[0]!r}] - ...): the "
                "caller's arrays, which the model and the optimizer keep using, are untouched; update them in "
                f"place (params[{rebound[0]!r}] -= ...)"))
        hint = " (it returned new values: update the arrays themselves, e.g. params[name] -= ...)" \
            if outcome.value is not None else (" (param = param - ... only rebinds a local name: update the array "
                                               "itself, param -= ...)")
        return ItemResult(item, FAIL, diagnosis=f"sgd_step left the parameters unchanged{hint}", mistake="not-in-place")
    expected = {f"change of {name}": -LR * grads["d" + name] for name in manual.PARAM_NAMES}
    moved = tuple(arrays[name] - before[name] for name in manual.PARAM_NAMES)
    mistakes = {label: [Mistake("no-learning-rate", "the step forgot the learning rate: move by lr * grad",
                                lambda g=-grads["d" + label.split()[-1]]: g),
                        Mistake("scale:lr", f"the step is lr * lr * grad: the learning rate is applied twice (lr = {LR:g})",
                                lambda g=-grads["d" + label.split()[-1]]: LR * LR * g)] for label in expected}
    result = compare_parts(item, moved, expected, mistakes)
    if not result.passed and "wrong sign" in result.diagnosis:
        result.diagnosis += "\n(adding the gradient climbs the loss: gradient DEScent subtracts lr * grad)"
    return result


def _check_epoch(functions: dict[str, Callable[..., Any]], where: str, own_step: bool, x: np.ndarray,
                 y: np.ndarray) -> ItemResult:
    item = "train_epoch, with your sgd_step" if own_step else "train_epoch"
    if "train_epoch" not in functions:
        return ItemResult.missing(item, "train_epoch", where)
    student = functions["train_epoch"]
    namespace = getattr(student, "__globals__", {})
    saved = namespace.get("sgd_step")
    if not own_step:  # feed the correct step, so the loop is checked on its own
        from tinygrad_edu.exercises.solutions.training_step import sgd_step

        namespace["sgd_step"] = sgd_step
    params = _params()
    try:
        outcome = attempt(student, params, x, y, BATCH, LR, problem_rng(SEED))
    finally:
        if not own_step:
            namespace["sgd_step"] = saved
    if not outcome.ok:
        return ItemResult.from_attempt(item, outcome)
    variants = {
        "no-shuffle": ("the examples were not shuffled: draw order = rng.permutation(N) and walk the batches in "
                       "that order", {"shuffle": False}),
        "last-batch-dropped": (f"the last, smaller batch ({EXAMPLES % BATCH} examples) was skipped: "
                               "range(0, N, batch_size) covers it", {"drop_last": True}),
        "labels-not-shuffled": ("the images are taken in the shuffled order but the labels in the original one "
                                "(y[start:end]): each image is trained on another image's label; index both with "
                                "the same batch = order[start:end]", {"shuffle_labels": False}),
    }
    expected_params = _params()
    expected_loss = reference_epoch(expected_params, x, y)
    mistakes: dict[str, list[Mistake]] = {name: [] for name in manual.PARAM_NAMES}
    for key, (sentence, options) in variants.items():
        @functools.cache  # one epoch per variant, shared by the four parameters' candidates
        def run(options=tuple(options.items())):
            p = _params()
            reference_epoch(p, x, y, **dict(options))
            return p
        for name in manual.PARAM_NAMES:
            mistakes[name].append(Mistake(key, sentence, lambda name=name, run=run: run()[name]))
    result = compare_parts(item, tuple(params[name] for name in manual.PARAM_NAMES),
                           {name: expected_params[name] for name in manual.PARAM_NAMES}, mistakes)
    if not result.passed:
        return result
    loss_mistakes = [
        Mistake("last-batch-loss", "the returned loss is the last batch's: return the mean over the epoch",
                lambda: reference_epoch(_params(), x, y, loss="last")),
        Mistake("unweighted-mean", f"the mean of the batch losses counts the last batch of {EXAMPLES % BATCH} as "
                f"much as the full ones of {BATCH}: weight each by its size", lambda: reference_epoch(_params(), x, y, loss="unweighted")),
        Mistake("loss-summed", "the returned loss is the sum of the batch losses: each is already a mean over its "
                "batch; return the mean over the epoch (each batch weighted by its size)",
                lambda: reference_epoch(_params(), x, y, loss="sum")),
    ]
    try:
        value = float(outcome.value)
    except (TypeError, ValueError):
        return ItemResult(item, FAIL, diagnosis=f"train_epoch must return the mean loss (a number), got "
                          f"{type(outcome.value).__name__}")
    verdict = diagnose("returned loss", np.array(value), np.array(expected_loss), loss_mistakes, tol=1e-9)
    return ItemResult.from_verdict(item, verdict) if not verdict.passed else result


def check(functions: dict[str, Callable[..., Any]], where: str) -> Report:
    x, y, source = data()
    items = [_check_step(functions, where), _check_epoch(functions, where, False, x, y),
             _check_epoch(functions, where, True, x, y)]
    failing = [item.item for item in items[:2] if item.status == FAIL]
    if items[2].status == FAIL and failing and not items[2].diagnosis.startswith(where):
        items[2].diagnosis = f"the parameters after the epoch differ, because of {', '.join(failing)}: fix that first"
    notes = [f"checked on {source}, a 784-{HIDDEN}-10 network (seed {SEED}), batch {BATCH}, lr {LR}, against "
             "optim.SGD; train_epoch first with the reference sgd_step, then with yours"]
    return Report("training-step", where, items, notes)

"""How far apart do the two engines (autodiff, hand-derived NumPy) end after one epoch, and why?

Both engines start from the same weights and train side by side on the same batches
(:func:`tinygrad_edu.training.agreement.lockstep`; the default settings of ``tinygrad-edu train``, 55,000 images,
one epoch). For SGD and Adam in float32, and Adam in float64, it prints:

* the largest ``|autodiff - manual|`` of each parameter after the epoch;
* the largest difference of W1 after the first step, that weight's gradient at that step (Adam's ``eps`` is
  1e-8), and how far apart the two engines' values of that gradient were, relative to it;
* how many ReLU decisions differed: (image, hidden unit) pairs whose pre-activation was positive with one
  engine's weights and not with the other's, so that one engine passed that image's gradient through the
  unit and the other blocked it; and the step of the first;
* for how many test images the two trained networks predict the same digit.

The figures depend on the BLAS build: OpenBLAS picks its kernels for the CPU. To try another set on the same
machine, set ``OPENBLAS_CORETYPE`` (``Haswell``, ``SkylakeX``, ``Sandybridge``...).

    python benchmarks/engine_drift.py [--data-dir DIR] [--seed 0] [--eps 1e-8]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from tinygrad_edu import manual
from tinygrad_edu.course import format_table
from tinygrad_edu.data import BatchIterator, load_mnist, random_shift, train_val_split
from tinygrad_edu.training.agreement import lockstep
from tinygrad_edu.training.blas import blas_threads
from tinygrad_edu.training.loop import ENGINES, TrainConfig, make_engine


def first_step(config: TrainConfig, train_x: np.ndarray, train_y: np.ndarray, dtype: type, eps: float | None):
    """The largest |autodiff - manual| of W1 after the run's first step; that weight's gradient then (the manual
    engine's), and how much the two engines' values of that gradient differ, relative to it."""
    engines = [make_engine(replace(config, engine=name), dtype=dtype) for name in ENGINES]
    for engine in engines:
        if eps is not None:
            engine.optimizer.eps = eps
    x, y = next(iter(BatchIterator(train_x.astype(dtype), train_y, config.batch_size, seed=config.seed)))
    x = random_shift(x, config.augment, np.random.default_rng([config.seed, 1]))  # as fit() draws it
    params = engines[1].params
    gradient = manual.backward(params, manual.forward(params, x, y), y)["dW1"]
    for engine in engines:
        engine.train_step(x, y)
    autodiff_gradient = engines[0].model.fc1.weight.grad  # kept after the step
    difference = np.abs(engines[0].params["W1"] - engines[1].params["W1"])
    where = np.unravel_index(difference.argmax(), difference.shape)
    return difference[where], abs(gradient[where]), abs(autodiff_gradient[where] - gradient[where]) / abs(gradient[where])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $TINYGRAD_EDU_DATA or the cache)")
    parser.add_argument("--seed", type=int, default=0, help="the runs' seed (initial weights, batches)")
    parser.add_argument("--eps", type=float, default=None, help="Adam's eps (default: Adam's own, 1e-8)")
    args = parser.parse_args()
    mnist = load_mnist(args.data_dir)
    train_x, train_y, _, _ = train_val_split(mnist.train_images, mnist.train_labels, 5000, seed=0)
    rows = []
    with blas_threads():
        for optimizer, dtype in (("sgd", np.float32), ("adam", np.float32), ("adam", np.float64)):
            config = TrainConfig(optimizer=optimizer, epochs=1, seed=args.seed)
            eps = args.eps if optimizer == "adam" else None
            run = lockstep(config, train_x, train_y, dtype, adam_eps=eps)
            drift, gradient, relative = first_step(config, train_x, train_y, dtype, eps)
            predictions = [manual.forward(params, mnist.test_images.astype(dtype))["Z2"].argmax(axis=1)
                           for params in run.params.values()]
            flips = int(run.relu_disagreements.sum())
            rows.append([optimizer, np.dtype(dtype).name, *(f"{d.max():.1e}" for d in run.difference().values()),
                         f"{drift:.1e} (gradient {gradient:.1e}, engines {relative:.0e} apart)",
                         f"{flips}" + (f" (first at step {run.first_disagreement})" if flips else ""),
                         f"{np.sum(predictions[0] == predictions[1]):,} of {len(predictions[0]):,}"])
    print(format_table(["optimizer", "dtype", *manual.PARAM_NAMES, "W1 after step 1", "ReLU decisions differing",
                        "same test prediction"], rows))
    print(f"(largest |autodiff - manual| after one epoch of {len(train_x):,} images, seed {args.seed})")


if __name__ == "__main__":
    main()

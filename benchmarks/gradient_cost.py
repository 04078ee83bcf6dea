"""What backpropagation saves, and the numbers behind the initialisation argument, measured on this machine.

1. The cost argument of the derivations page: a gradient by central finite differences needs two forward
   passes per parameter (2 x 101,770 for the 784-128-10 network), backpropagation one forward and one
   backward pass. Both are timed on the same MNIST batch (float64), the finite differences over every
   parameter (``--params K`` times the first K only and scales up, for a quick look).
2. The initialisation argument: the second moment E[x^2] of MNIST's pixels (scaled to [0, 1]) over the
   60,000 training images, and Var(z_l) = n_in Var(W_l) E[a_{l-1}^2] layer by layer for He's weights,
   predicted and measured.

    .venv/bin/python benchmarks/gradient_cost.py [--batch 32] [--params K] [--data-dir DIR]

Uses MNIST's training images when found (``--data-dir`` or ``$TINYGRAD_EDU_DATA``), otherwise random
images of the same shape (the timing does not depend on the pixel values; part 2 is then skipped).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from tinygrad_edu import manual

HIDDEN = 128


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def finite_difference_seconds(params: dict, x: np.ndarray, y: np.ndarray, limit: int | None, eps: float = 1e-6) -> tuple[float, int]:
    """Time the central-difference gradient of every parameter (or of the first ``limit``); return (s, count)."""
    count = 0
    start = time.perf_counter()
    for name in manual.PARAM_NAMES:
        flat = params[name].reshape(-1)  # a view: nudging it nudges the parameter
        for i in range(flat.size):
            if limit is not None and count == limit:
                return time.perf_counter() - start, count
            saved = flat[i]
            flat[i] = saved + eps
            plus = manual.forward(params, x, y)["loss"]
            flat[i] = saved - eps
            minus = manual.forward(params, x, y)["loss"]
            flat[i] = saved
            _ = (plus - minus) / (2 * eps)
            count += 1
    return time.perf_counter() - start, count


def initialisation_moments(images: np.ndarray) -> None:
    x = images.astype(np.float64)
    second_moment = float(np.mean(x**2))
    print(f"E[x^2] of the pixels (60,000 training images, scaled to [0, 1]): {second_moment:.4f}"
          f"   (mean {x.mean():.4f}, variance {x.var():.4f})")
    params = manual.init_params(HIDDEN, seed=0, dtype=np.float64)  # He: Var(W) = 2 / fan_in, both layers
    cache = manual.forward(params, x[:10_000])
    rows = [
        ("z1 = x W1", 784 * params["W1"].var() * second_moment, float(np.mean(cache["Z1"] ** 2))),
    ]
    a1_second = float(np.mean(cache["A1"] ** 2))
    print(f"E[a1^2] = E[relu(z1)^2]: Var(z1)/2 from the measured Var(z1) = {rows[0][2] / 2:.4f}, measured {a1_second:.4f}")
    rows.append(("z2 = a1 W2", HIDDEN * params["W2"].var() * a1_second, float(np.mean(cache["Z2"] ** 2))))
    print("He initialisation, first 10,000 training images (Var(W) of the drawn weights):")
    for name, predicted, measured in rows:
        print(f"  Var({name}): n_in Var(W) E[a^2] = {predicted:.4f}, measured {measured:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--params", type=int, default=None, help="time finite differences on the first K parameters only")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    from tinygrad_edu.data import load_mnist

    try:
        images, labels = (lambda m: (m.train_images, m.train_labels))(load_mnist(args.data_dir, download=False, progress=False))
        source = "MNIST training images"
    except Exception as exc:  # no data: random images of MNIST's shape time the same
        rng = np.random.default_rng(0)
        images, labels, source = rng.random((60_000, 784), dtype=np.float32), rng.integers(0, 10, 60_000), f"random images ({type(exc).__name__})"
    if source.startswith("MNIST"):
        initialisation_moments(images)

    params = manual.init_params(HIDDEN, seed=0, dtype=np.float64)
    n_params = sum(p.size for p in params.values())
    x, y = images[: args.batch].astype(np.float64), labels[: args.batch]
    print(f"\n784-{HIDDEN}-10 network, {n_params:,} parameters, a batch of {args.batch} {source}, float64")
    forward = median_seconds(lambda: manual.forward(params, x, y), 50)
    backprop = median_seconds(lambda: manual.backward(params, manual.forward(params, x, y), y), 50)
    print(f"one forward pass:                          {forward * 1e3:9.3f} ms (median of 50)")
    print(f"backpropagation (forward + backward):      {backprop * 1e3:9.3f} ms (median of 50)")
    cache = manual.forward(params, x, y)
    backward = median_seconds(lambda: manual.backward(params, cache, y), 50)
    # Matrix products only: forward X W1, A1 W2; backward dW2, dA1, dW1 (no dX: the images are data).
    flop_forward = 2 * args.batch * (784 * HIDDEN + HIDDEN * 10)
    flop_backward = 2 * args.batch * (HIDDEN * 10 + 10 * HIDDEN + 784 * HIDDEN)
    print(f"backward pass alone:                       {backward * 1e3:9.3f} ms (median of 50)")
    print(f"backward / forward, measured:              {backward / forward:9.2f}x "
          f"(matrix-product FLOP count: {flop_backward / flop_forward:.2f}x)")
    seconds, count = finite_difference_seconds(params, x, y, args.params)
    total = seconds * n_params / count
    scaled = "" if count == n_params else f" (timed {count:,} parameters, scaled up)"
    print(f"finite differences, {2 * n_params:,} forward passes: {total:9.1f} s{scaled}")
    print(f"finite differences / backpropagation:      {total / backprop:9.0f}x")


if __name__ == "__main__":
    main()

"""How ``tinygrad-edu train``'s defaults were chosen: on a validation split, over several seeds.

Each candidate setting trains the 784-128-10 network on 55,000 training images, with ``--seeds`` different
seeds (initial weights, batch order, augmentation), and is scored by its accuracy on the 5,000 training
images held out for validation (the same split for every run, so settings are compared on the same images).
The setting with the best mean validation accuracy is the choice; only then, once, is it evaluated on the
10,000 test images, which played no part in the choice.

    python benchmarks/choose_train_defaults.py [--seeds 3] [--epochs 10] [--data-dir DIR]

Measured on the 2-core development machine (2026-11-22), validation accuracy after 10 epochs:

    setting                                             validation mean  sd     range
    --------------------------------------------------  ---------------  -----  ---------------
    Adam lr 1e-3, constant, no augmentation (textbook)  97.13%           0.12%  97.00% - 97.22%
    Adam lr 5e-3, cosine, no augmentation               97.65%           0.14%  97.50% - 97.78%
    Adam lr 5e-3, cosine, shifts of 1 pixel             98.41%           0.12%  98.32% - 98.54%
    SGD + momentum lr 0.05, cosine, shifts of 1 pixel   98.05%           0.21%  97.82% - 98.22%
    chosen on validation: Adam lr 5e-3, cosine, shifts of 1 pixel
    its test accuracy, measured once now: 98.48% mean over seeds (98.42%, 98.55%, 98.47%)
"""

from __future__ import annotations

import argparse
import statistics
import time

from tinygrad_edu.training.blas import blas_threads
from tinygrad_edu.course import format_table
from tinygrad_edu.data import load_mnist, train_val_split
from tinygrad_edu.training.loop import TrainConfig, fit, loss_and_accuracy, make_engine, predict_in_chunks

CANDIDATES = {
    "Adam lr 1e-3, constant, no augmentation (textbook)": dict(optimizer="adam", lr=1e-3, schedule="constant",
                                                               augment=0),
    "Adam lr 5e-3, cosine, no augmentation": dict(optimizer="adam", lr=5e-3, schedule="cosine", augment=0),
    "Adam lr 5e-3, cosine, shifts of 1 pixel": dict(optimizer="adam", lr=5e-3, schedule="cosine", augment=1),
    "SGD + momentum lr 0.05, cosine, shifts of 1 pixel": dict(optimizer="momentum", lr=0.05, schedule="cosine",
                                                              augment=1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    blas_threads()

    mnist = load_mnist(args.data_dir, download=False)
    train_x, train_y, val_x, val_y = train_val_split(mnist.train_images, mnist.train_labels, 5000, seed=0)
    print(f"{len(train_y):,} training images, {len(val_y):,} for validation; {args.epochs} epochs, "
          f"batches of 128, hidden 128, seeds 0-{args.seeds - 1}")
    results, engines = {}, {}
    for label, settings in CANDIDATES.items():
        for seed in range(args.seeds):
            config = TrainConfig(epochs=args.epochs, seed=seed, **settings)
            engine = make_engine(config)
            start = time.perf_counter()
            history = fit(engine, config, train_x, train_y, val_x, val_y, progress=False, log=lambda line: None)
            accuracy = history[-1]["val_accuracy"]
            results.setdefault(label, []).append(accuracy)
            engines[(label, seed)] = engine
            print(f"{label}, seed {seed}: validation {accuracy:.2%} ({time.perf_counter() - start:.0f} s)", flush=True)
    rows = [[label, f"{statistics.mean(v):.2%}", f"{statistics.stdev(v) if len(v) > 1 else 0:.2%}",
             f"{min(v):.2%} - {max(v):.2%}"] for label, v in results.items()]
    print(format_table(["setting", "validation mean", "sd", "range"], rows))
    best = max(results, key=lambda label: statistics.mean(results[label]))
    tests = [loss_and_accuracy(predict_in_chunks(engines[(best, seed)].logits, mnist.test_images),
                               mnist.test_labels)[1] for seed in range(args.seeds)]
    print(f"chosen on validation: {best}")
    print(f"its test accuracy, measured once now: {statistics.mean(tests):.2%} mean over seeds "
          f"({', '.join(f'{t:.2%}' for t in tests)})")


if __name__ == "__main__":
    main()

"""``tinygrad-edu train``: its options, checked before any work, and the call to :func:`tinygrad_edu.training.train`."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinygrad_edu.support.memory import check_fits, mlp_bytes
from tinygrad_edu.support.options import (hidden_units, input_folder, int_range, non_negative_float, output_folder,
                                          positive_float, positive_int, prepare_output_folder, seed)
from tinygrad_edu.training.loop import (DEFAULT_LR, ENGINES, MAX_AUGMENT, OPTIMIZERS, SCHEDULES, TrainConfig,
                                        check_output_contents, train)


def batch_size_arg(text: str) -> int | None:
    """``--batch-size``: a positive integer, or ``full`` for full-batch gradient descent (None)."""
    if text.lower() == "full":
        return None
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    parser.add_argument("--hidden", type=hidden_units, default=defaults.hidden, help="hidden units (default %(default)s)")
    parser.add_argument("--epochs", type=positive_int, default=defaults.epochs, help="passes over the data (default %(default)s)")
    parser.add_argument("--batch-size", type=batch_size_arg, default=defaults.batch_size,
                        help="examples per step, or 'full' for full-batch gradient descent (default %(default)s)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
                        help="sgd, momentum (SGD, momentum 0.9) or adam (default %(default)s)")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    parser.add_argument("--schedule", choices=SCHEDULES, default=defaults.schedule,
                        help="learning-rate schedule: cosine decay to 0, or constant (default %(default)s)")
    parser.add_argument("--augment", type=int_range(0, MAX_AUGMENT), default=defaults.augment, metavar="PIXELS",
                        help="shift each training image by up to PIXELS (0..%d) at random, 0 to turn off (default %%(default)s)" % MAX_AUGMENT)
    parser.add_argument("--weight-decay", type=non_negative_float, default=defaults.weight_decay, help="L2 penalty (default 0)")
    parser.add_argument("--init", choices=("he", "xavier", "lecun", "uniform"), default=defaults.init,
                        help="weight initialisation (default %(default)s)")
    parser.add_argument("--seed", type=seed, default=defaults.seed, help="random seed (default %(default)s)")
    parser.add_argument("--engine", choices=ENGINES, default=defaults.engine,
                        help="autodiff (Tensor + backward) or manual (hand-derived NumPy backprop)")
    parser.add_argument("--val-size", type=positive_int, default=None,
                        help=f"training images held out for validation (default {defaults.val_size}, "
                             "or a tenth of --train-subset when smaller)")
    parser.add_argument("--train-subset", type=positive_int, default=None, metavar="N",
                        help="use only the first N training images (quick experiments)")
    parser.add_argument("--data-dir", type=input_folder, default=None, help="MNIST folder (default: $TINYGRAD_EDU_DATA or the cache)")
    parser.add_argument("--out", type=output_folder, default=None, metavar="DIR",
                        help="output folder (default runs/mnist-784-<hidden>-10-<engine>)")
    parser.add_argument("--health", action="store_true",
                        help="record gradient health per layer (gradient norm, update-to-data ratio, dead ReLUs on "
                             "the validation set) into metrics.json, metrics.csv and health-*.png")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def default_val_size(train_subset: int | None) -> int:
    """5,000 held-out images, or a tenth of ``--train-subset`` when that is smaller."""
    default = TrainConfig.val_size
    return default if train_subset is None else max(1, min(default, train_subset // 10))


def check_memory(config: TrainConfig, train_images: int = 60_000) -> None:
    """Refuse (:class:`~tinygrad_edu.support.memory.MemoryBudgetError`) a run whose arrays cannot fit in memory now."""

    available_images = min(config.train_subset or train_images, train_images)
    batch = min(config.batch_size or available_images, available_images)  # a batch cannot exceed the data
    # uint8 as read, the train/val split's copy of the training images, the validation and test images in float32
    data_bytes = (train_images + 10_000 + train_images) * 784 + (config.val_size + 10_000) * 784 * 4
    evaluation = mlp_bytes(config.hidden, batch=2000)  # predict_in_chunks: 2,000 images at a time
    needed = data_bytes + max(mlp_bytes(config.hidden, batch=batch), evaluation)
    check_fits(needed, f"training 784-{config.hidden}-10 on batches of {batch}",
               "choose a smaller --hidden or --batch-size")


def run(args: argparse.Namespace) -> int:
    val_size = args.val_size if args.val_size is not None else default_val_size(args.train_subset)
    config = TrainConfig(hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
                         lr=args.lr, schedule=args.schedule, augment=args.augment, weight_decay=args.weight_decay,
                         init=args.init, seed=args.seed, engine=args.engine, val_size=val_size,
                         train_subset=args.train_subset, health=args.health)
    check_memory(config)
    out = args.out if args.out is not None else Path("runs") / f"mnist-784-{config.hidden}-10-{config.engine}"
    out = prepare_output_folder(check_output_contents(out))  # before any data is loaded: a bad --out costs nothing
    train(config, args.data_dir, out, progress=not args.no_progress)
    return 0

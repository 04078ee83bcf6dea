"""Training the 784-hidden-10 classifier: the loop (:mod:`~tinygrad_edu.training.loop`), checkpoints, plots and
the BLAS thread setting. ``from tinygrad_edu.training import train, TrainConfig`` is the short way in."""

from tinygrad_edu.training.loop import TrainConfig, TrainResult, fit, make_engine, train

__all__ = ["TrainConfig", "TrainResult", "fit", "make_engine", "train"]

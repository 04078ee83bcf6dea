r"""How far apart the two engines end, and why: :func:`lockstep` trains both side by side.

The engines (autodiff and the hand-derived NumPy backprop, :mod:`tinygrad_edu.training.loop`) start from the
same weights and see the same batches. They compute the same gradients, summing the same products in different
orders, so they differ by rounding, and training may magnify it. Measured after one default epoch on MNIST
(55,000 images) by ``benchmarks/engine_drift.py``, with OpenBLAS 0.3.31's SkylakeX kernels and, on the same
machine, its Haswell kernels (``OPENBLAS_CORETYPE=Haswell``)::

    optimizer  dtype    largest |autodiff - manual|   ReLU decisions differing   same test prediction
    sgd        float32  2.1e-7 / 1.2e-7               0 / 0                      all 10,000 / all
    adam       float32  4.4e-5 / 2.4e-4               0 / 13 (first at step 201) all / all
    adam       float64  6.9e-15 / 6.9e-15             0 / 0                      all / all

What the measurements show:

* It is rounding: in float64 the same Adam epoch ends 6.9e-15 apart, about a billion times closer, as the
  rounding unit is (:math:`2^{-53}` against :math:`2^{-24}`).
* SGD moves by :math:`\eta g`, so a rounding difference :math:`\delta g` moves the weights by
  :math:`\eta\,\delta g`: they stay within a few float32 roundings of the weights (which reach 0.6).
* Adam moves by :math:`\eta\,\hat m / (\sqrt{\hat v} + \epsilon)`, which keeps a sizable part of :math:`\eta`
  even for a gradient as small as :math:`\epsilon` = 1e-8, and the engines' values of a gradient that small
  differ by far more than float32's usual 1e-7, relative to it. After the first step alone W1 differs by
  4e-6 to 8e-6 (3e-5 with seed 4), at a weight whose gradient was 2.7e-8 and whose two values were 4e-3 to
  8e-3 apart, relative to it (at SGD's largest first-step difference: a gradient of 1.5e-2, 6e-8 apart).
* Once the weights differ, a pre-activation closer to 0 than that difference can be positive in one engine
  and not in the other: one engine passes that image's gradient through the hidden unit, the other blocks
  it, a difference of a whole gradient term. Each such ReLU decision moves the weights further apart and
  makes the next more likely. The 13 of the Haswell Adam epoch took W1's difference from 4.4e-5 to 2.4e-4;
  with SGD and seed 4 the first came at step 87 and 2,076 followed (7e-4); with Adam's :math:`\epsilon` set
  to 1e-6 the first came at step 4, 216,225 followed and the engines ended 0.16 apart, yet their networks
  still predicted the same digit for 99.54% of the test images. Whether and when the first one comes
  depends on the BLAS build and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import DTypeLike

from tinygrad_edu import manual
from tinygrad_edu.optim import Optimizer
from tinygrad_edu.training.blas import with_blas_threads
from tinygrad_edu.training.loop import ENGINES, Engine, TrainConfig, fit, make_engine


@dataclass
class EngineAgreement:
    """What :func:`lockstep` measured; steps are numbered from 1."""

    params: dict[str, dict[str, np.ndarray]]  # engine name -> its final {W1, b1, W2, b2}
    drift: np.ndarray  # after each step, the largest |autodiff - manual| over all parameters
    relu_disagreements: np.ndarray  # at each step, (image, hidden unit) pairs whose ReLU decision differed

    def difference(self) -> dict[str, np.ndarray]:
        """|autodiff - manual| of each parameter at the end."""
        return {name: np.abs(self.params["autodiff"][name] - self.params["manual"][name]) for name in manual.PARAM_NAMES}

    @property
    def first_disagreement(self) -> int | None:
        """The first step at which a ReLU decision differed, or None."""
        steps = np.flatnonzero(self.relu_disagreements)
        return int(steps[0]) + 1 if len(steps) else None

    @property
    def steps_agreeing(self) -> int:
        """How many steps both engines took before any ReLU decision differed (all of them if none did)."""
        return len(self.drift) if self.first_disagreement is None else self.first_disagreement - 1


class _SharedLearningRate:
    """The ``optimizer.lr`` that :func:`fit` sets at each step, passed on to both engines' optimizers."""

    def __init__(self, optimizers: list[Optimizer]) -> None:
        self.optimizers = optimizers

    @property
    def lr(self) -> float:
        return self.optimizers[0].lr

    @lr.setter
    def lr(self, value: float) -> None:
        for optimizer in self.optimizers:
            optimizer.lr = value


class _EnginePair:
    """Both engines behind the :class:`~tinygrad_edu.training.loop.Engine` interface, so that :func:`fit` drives
    them with exactly the batches, augmentation and schedule of a training run; records what separates them."""

    def __init__(self, engines: list[Engine]) -> None:
        self.engines = engines
        self.params = engines[0].params
        self.optimizer = _SharedLearningRate([engine.optimizer for engine in engines])
        self.drift: list[float] = []
        self.relu_disagreements: list[int] = []

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        positive = [manual.forward(engine.params, x)["Z1"] > 0 for engine in self.engines]
        self.relu_disagreements.append(int((positive[0] != positive[1]).sum()))
        results = [engine.train_step(x, y) for engine in self.engines]
        first, second = (engine.params for engine in self.engines)
        self.drift.append(max(float(np.abs(first[name] - second[name]).max()) for name in first))
        return results[0]

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self.engines[0].logits(x)


@with_blas_threads
def lockstep(config: TrainConfig, train_x: np.ndarray, train_y: np.ndarray, dtype: DTypeLike = np.float32,
             adam_eps: float | None = None) -> EngineAgreement:
    """Train ``config`` with both engines side by side, in ``dtype``, and measure how they drift apart.

    Args:
        config: the run (its ``engine`` is ignored: both run).
        train_x, train_y: training images and labels.
        dtype: the parameters' and images' dtype (float32 as in training, or float64).
        adam_eps: Adam's :math:`\\epsilon` instead of its default 1e-8 (``config.optimizer`` must be adam).
    """
    if adam_eps is not None and config.optimizer != "adam":
        raise ValueError(f"lockstep: adam_eps applies to Adam only, but the optimizer is {config.optimizer}")
    engines = [make_engine(replace(config, engine=name), dtype=dtype) for name in ENGINES]
    if adam_eps is not None:
        for engine in engines:
            engine.optimizer.eps = adam_eps
    pair = _EnginePair(engines)
    train_x = train_x.astype(dtype, copy=False)
    fit(pair, config, train_x, train_y, train_x[:1], train_y[:1], progress=False, log=lambda line: None)
    return EngineAgreement({name: engine.params for name, engine in zip(ENGINES, engines)}, np.array(pair.drift),
                           np.array(pair.relu_disagreements))


def engines_difference(config: TrainConfig, train_x: np.ndarray, train_y: np.ndarray,
                       dtype: DTypeLike = np.float32) -> dict[str, np.ndarray]:
    """|autodiff - manual| of each parameter (``W1``, ``b1``, ``W2``, ``b2``) after training ``config`` with
    both engines from the same weights on the same batches (:func:`lockstep`)."""
    return lockstep(config, train_x, train_y, dtype).difference()

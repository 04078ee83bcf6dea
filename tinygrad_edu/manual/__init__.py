"""The 784-hidden-10 network by hand, and how it is checked.

* :mod:`~tinygrad_edu.manual.network`: the forward and backward pass in plain NumPy, one line per formula
  (its names are importable from here: ``from tinygrad_edu import manual; manual.backward(...)``);
* :mod:`~tinygrad_edu.manual.autodiff`: the same network written with ``Tensor``;
* :mod:`~tinygrad_edu.manual.compare`: the hand-derived gradients against autodiff and finite differences;
* :mod:`~tinygrad_edu.manual.mistakes`: the classic mistakes, which the comparison and the exercises share.
"""

from tinygrad_edu.manual.network import (
    GRAD_NAMES,
    N_CLASSES,
    N_FEATURES,
    PARAM_NAMES,
    InputError,
    Params,
    backward,
    check_inputs,
    forward,
    init_params,
    relu,
    softmax_cross_entropy,
)

__all__ = ["GRAD_NAMES", "N_CLASSES", "N_FEATURES", "PARAM_NAMES", "InputError", "Params", "backward", "check_inputs",
           "forward", "init_params", "relu", "softmax_cross_entropy"]

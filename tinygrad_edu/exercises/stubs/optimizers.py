"""Exercise optimizers (lesson 8): the updates of SGD with momentum and of Adam.

Fill in the functions, then run:  tinygrad-edu exercise check optimizers

Each function updates NumPy arrays IN PLACE (param, and the optimizer's state) for one step; the check
runs a few steps and compares with tinygrad_edu.optim.SGD(momentum=...) and tinygrad_edu.optim.Adam, which
follow PyTorch's formulas.
"""

import numpy as np


def momentum_step(param, grad, velocity, lr, momentum):
    """SGD with momentum, as PyTorch: the velocity collects the gradients, and the parameter moves along it.

    velocity starts at zeros. Update velocity, then param, both in place.
    Hint: v = momentum * v + grad (no (1 - momentum) factor in PyTorch's form), then param -= lr * v.
    """
    raise NotImplementedError("write momentum_step")


def adam_step(param, grad, m, v, t, lr, beta1, beta2, eps):
    """Adam (Kingma & Ba, 2015) with bias correction, step number t (1 for the first step); m, v start at zeros.

    Update m and v (moving averages of the gradient and of its square) in place, then param in place.
    Hint: m_hat = m / (1 - beta1**t) and v_hat = v / (1 - beta2**t) undo the pull of the zero start;
    the step is lr * m_hat / (sqrt(v_hat) + eps).
    """
    raise NotImplementedError("write adam_step")

"""Solution of optimizers: the formulas of :class:`tinygrad_edu.optim.SGD` and :class:`tinygrad_edu.optim.Adam`
(which compute them in place through a scratch buffer), written plainly."""

import numpy as np


def momentum_step(param, grad, velocity, lr, momentum):
    velocity *= momentum
    velocity += grad  # v = momentum v + g
    param -= lr * velocity


def adam_step(param, grad, m, v, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * grad  # m = b1 m + (1 - b1) g
    v *= beta2
    v += (1 - beta2) * grad**2  # v = b2 v + (1 - b2) g^2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    param -= lr * m_hat / (np.sqrt(v_hat) + eps)

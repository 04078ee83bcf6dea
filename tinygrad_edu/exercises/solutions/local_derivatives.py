"""Solution of local-derivatives: the rules of :class:`tinygrad_edu.Tensor`'s ops, without broadcasting.

The check compares each rule with the engine's own op, so these cannot drift from it unnoticed (a test runs
the solution through the check)."""

import numpy as np


def add_backward(a, b, g):
    return g, g  # d(a + b)/da = d(a + b)/db = 1


def mul_backward(a, b, g):
    return g * b, g * a  # each input's gradient is g times the other input


def div_backward(a, b, g):
    return g / b, -g * a / b**2  # d(a/b)/db = -a / b^2


def pow_backward(a, p, g):
    return g * p * a ** (p - 1)


def exp_backward(a, g):
    return g * np.exp(a)


def log_backward(a, g):
    return g / a


def tanh_backward(a, g):
    return g * (1 - np.tanh(a) ** 2)


def relu_backward(a, g):
    return g * (a > 0)

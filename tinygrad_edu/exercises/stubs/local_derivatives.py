"""Exercise local-derivatives (lessons 1-2): the backward rule of each elementary operation.

Fill in the functions, then run:  tinygrad-edu exercise check local-derivatives

Each function gets the operation's inputs (NumPy arrays of one shape) and g = dL/d(output), the gradient
arriving from above, and returns dL/d(input) for each input: the chain rule says dL/da = g * d(output)/da,
entry by entry. The check compares your rule with tinygrad_edu's own and with finite differences (gradcheck).
"""

import numpy as np


def add_backward(a, b, g):
    """out = a + b. Return (da, db), each of a's shape. Hint: how much does out move when a moves by 1?"""
    raise NotImplementedError("write add_backward")


def mul_backward(a, b, g):
    """out = a * b (elementwise). Return (da, db). Hint: hold b fixed, and out is a straight line in a."""
    raise NotImplementedError("write mul_backward")


def div_backward(a, b, g):
    """out = a / b. Return (da, db). Hint: a / b = a * b**-1; differentiate b**-1 with the power rule."""
    raise NotImplementedError("write div_backward")


def pow_backward(a, p, g):
    """out = a ** p, with p a fixed number (a float, no gradient). Return da. Hint: the power rule."""
    raise NotImplementedError("write pow_backward")


def exp_backward(a, g):
    """out = exp(a). Return da. Hint: exp is its own derivative."""
    raise NotImplementedError("write exp_backward")


def log_backward(a, g):
    """out = log(a), the natural logarithm (a > 0). Return da. Hint: d ln(a)/da."""
    raise NotImplementedError("write log_backward")


def tanh_backward(a, g):
    """out = tanh(a). Return da. Hint: write the derivative with tanh(a) itself, as 1 - something."""
    raise NotImplementedError("write tanh_backward")


def relu_backward(a, g):
    """out = max(a, 0). Return da. Hint: the slope is 1 where a > 0 and 0 elsewhere (0 at a = 0, as PyTorch)."""
    raise NotImplementedError("write relu_backward")

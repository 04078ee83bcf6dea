"""Exercise deep-network (after lesson 5): the backward of a deeper network, 784-128-64-10, with the recurrence.

Fill in the functions, then run:  tinygrad-edu exercise check deep-network

The forward pass, for a batch of N images (layers l = 1, 2, 3; A0 = X):
    Z1 = X W1 + b1    (N, 128)   A1 = relu(Z1)
    Z2 = A1 W2 + b2   (N, 64)    A2 = relu(Z2)
    Z3 = A2 W3 + b3   (N, 10)    P = softmax(Z3),  L = -(1/N) sum_n log P[n, y_n]
Write delta_l = dL/dZl. The whole backward is one recurrence: start from delta_3, get each layer's
gradients from its delta, and each delta from the one above it.
"""

import numpy as np


def output_delta(P, y):
    """delta_3 = dL/dZ3 for the softmax and the mean cross-entropy, shape (N, 10). (Lesson 5's first line.)"""
    raise NotImplementedError("write output_delta")


def layer_gradients(A_prev, delta):
    """For Zl = A_prev Wl + bl: return (dWl, dbl), of the shapes of Wl (fan_in, fan_out) and bl (fan_out,).

    A_prev is the layer's input (X for layer 1), delta = dL/dZl.
    """
    raise NotImplementedError("write layer_gradients")


def delta_below(delta, W, Z_below):
    """delta of the layer below: given delta = dL/dZ(l+1), the weights W(l+1) and Z_below = Zl, return dL/dZl.

    Hint: Z(l+1) = relu(Zl) W(l+1) + b(l+1): go back through the product, then through the relu.
    """
    raise NotImplementedError("write delta_below")


def backward(params, cache, y):
    """Every weight and bias gradient, with the three functions above in a loop over the layers.

    Args:
        params: {"W1", "b1", "W2", "b2", "W3", "b3"}
        cache: {"X", "Z1", "A1", "Z2", "A2", "Z3", "P"}
        y: integer labels (N,)

    Returns:
        {"dW1", "db1", "dW2", "db2", "dW3", "db3"}

    Hint: inputs = {1: cache["X"], 2: cache["A1"], 3: cache["A2"]}; delta = output_delta(...); then for
    l = 3, 2, 1: the layer's gradients from delta, and (for l > 1) the next delta with delta_below.
    """
    raise NotImplementedError("write backward")

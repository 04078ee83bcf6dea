"""Exercise softmax-cross-entropy (lessons 4-5): backprop through softmax and cross-entropy one step at a time.

Fill in the functions, then run:  tinygrad-edu exercise check softmax-cross-entropy

For logits Z (N, C) and integer labels y (N,), the loss is computed in six atomic steps:
    E = exp(Z)                          (N, C)
    S = E.sum(axis=1, keepdims=True)    (N, 1)
    P = E / S                           (N, C)   softmax
    LP = log(P)                         (N, C)
    picked = LP[np.arange(N), y]        (N,)     each example's log-probability of its true class
    L = -picked.mean()                  a number
Each function below takes the gradient of one step's output (computed correctly by the check) and returns
the gradient of its input(s). The last one is the whole chain, simplified on paper to one line.
"""

import numpy as np


def grad_of_loss(picked):
    """L = -picked.mean(). Return dL/dpicked, shape (N,)."""
    raise NotImplementedError("write grad_of_loss")


def grad_of_pick(dpicked, LP, y):
    """picked = LP[np.arange(N), y]. Return dLP, shape (N, C). Hint: entries not picked do not move the loss."""
    raise NotImplementedError("write grad_of_pick")


def grad_of_log(dLP, P):
    """LP = log(P). Return dP, shape (N, C)."""
    raise NotImplementedError("write grad_of_log")


def grad_of_divide(dP, E, S):
    """P = E / S, with S (N, 1) broadcast along each row. Return (dE, dS): the gradient that reaches E through
    the division only (N, C), and dS (N, 1).

    Hint: d(E/S)/dS = -E / S**2; S was used by every entry of its row, so dS sums over the row (keepdims).
    """
    raise NotImplementedError("write grad_of_divide")


def grad_of_row_sum(dS, E):
    """S = E.sum(axis=1, keepdims=True). Return the gradient that reaches E through the sum, shape (N, C)."""
    raise NotImplementedError("write grad_of_row_sum")


def grad_of_exp(dE, E):
    """E = exp(Z). dE is E's whole gradient (through the division plus through the sum). Return dZ (N, C)."""
    raise NotImplementedError("write grad_of_exp")


def softmax_cross_entropy_backward(Z, y):
    """The whole chain in one line: dL/dZ for L = cross_entropy(softmax(Z), y), shape (N, C).

    Hint: chain the six steps on paper and simplify (almost everything cancels). Use the softmax P of Z
    (shift each row by its maximum before exp) and the one-hot matrix Y of the labels.
    """
    raise NotImplementedError("write softmax_cross_entropy_backward")

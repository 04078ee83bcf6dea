"""Solution of softmax-cross-entropy: each atomic step's rule, and the collapsed (P - Y) / N of
:func:`tinygrad_edu.manual.backward`'s first line."""

import numpy as np


def grad_of_loss(picked):
    return -np.ones_like(picked) / len(picked)


def grad_of_pick(dpicked, LP, y):
    dLP = np.zeros_like(LP)
    dLP[np.arange(len(y)), y] = dpicked
    return dLP


def grad_of_log(dLP, P):
    return dLP / P


def grad_of_divide(dP, E, S):
    return dP / S, -(dP * E / S**2).sum(axis=1, keepdims=True)


def grad_of_row_sum(dS, E):
    return np.broadcast_to(dS, E.shape).copy()


def grad_of_exp(dE, E):
    return dE * E  # exp is its own derivative: E


def softmax_cross_entropy_backward(Z, y):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    Y = np.eye(Z.shape[1])[y]
    return (P - Y) / len(y)

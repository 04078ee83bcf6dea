"""Exercise training-step (lesson 7): one step of gradient descent, and one epoch over mini-batches.

Fill in the functions, then run:  tinygrad-edu exercise check training-step

params is the dict {"W1", "b1", "W2", "b2"} of lesson 5's network (tinygrad_edu.manual.init_params), and
manual.forward / manual.backward compute the loss and the gradients {"dW1", "db1", "dW2", "db2", ...}.
"""

import numpy as np

from tinygrad_edu import manual


def sgd_step(params, grads, lr):
    """One step of plain SGD, in place: each parameter moves against its gradient, by lr times it.

    Args:
        params: {"W1", "b1", "W2", "b2"}, NumPy arrays to update IN PLACE (the caller keeps using them).
        grads: {"dW1", "db1", "dW2", "db2", ...} as manual.backward returns them.
        lr: the learning rate.
    Returns nothing. Hint: `array -= ...` changes the array itself; `array = array - ...` makes a new one.
    """
    raise NotImplementedError("write sgd_step")


def train_epoch(params, x, y, batch_size, lr, rng):
    """One pass over the data in shuffled mini-batches, one sgd_step per batch. Returns the epoch's mean loss.

    Args:
        params: the parameters, updated in place.
        x, y: the training images (N, 784) and labels (N,).
        batch_size: examples per batch; the last batch holds what is left (it may be smaller).
        lr: the learning rate.
        rng: a np.random.Generator; draw the order of the examples with ONE call, rng.permutation(N).
    Returns:
        the mean loss over the N examples of the epoch: each batch's loss counts with its size.

    Hint: order = rng.permutation(N); the batches are order[0:batch_size], order[batch_size:2*batch_size], ...
    For each: cache = manual.forward(params, xb, yb); grads = manual.backward(params, cache, yb); a step.
    """
    raise NotImplementedError("write train_epoch")

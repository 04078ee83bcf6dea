"""Exercise network-backprop (lesson 5): the backward pass of the 784-hidden-10 network, by hand.

Fill in `backward` below, then run:  tinygrad-edu exercise check network-backprop

The forward pass (tinygrad_edu.manual.forward) computed, for a batch of N images:
    Z1 = X W1 + b1      (N, H)      A1 = relu(Z1)     (N, H)
    Z2 = A1 W2 + b2     (N, 10)     P  = softmax(Z2)  (N, 10)
    L  = -(1/N) sum_n log P[n, y_n]
The check feeds each of your lines the correct gradients from the lines above it, so one wrong line fails
only its own row, and it names the most likely mistake.
"""

import numpy as np

from tinygrad_edu.functional import one_hot

N_CLASSES = 10


def backward(params, cache, y):
    """The gradient of the loss L with respect to every intermediate and parameter: dT means dL/dT.

    Args:
        params: {"W1": (784, H), "b1": (H,), "W2": (H, 10), "b2": (10,)}
        cache: {"X": (N, 784), "Z1": (N, H), "A1": (N, H), "Z2": (N, 10), "P": (N, 10)}
        y: integer labels (N,)

    Returns:
        {"dZ2": (N, 10), "dW2": (H, 10), "db2": (10,), "dA1": (N, H), "dZ1": (N, H), "dW1": (784, H), "db1": (H,)}

    Hints (derive each line; one line each):
        dZ2: softmax and the cross-entropy together; Y = one_hot(y, N_CLASSES, P.dtype); mind the mean over N.
        dW2, db2: Z2 = A1 W2 + b2; b2 is added to every row of the batch.
        dA1: the same product, differentiated with respect to A1 (check the shapes).
        dZ1: relu passes the gradient only where its input was positive.
        dW1, db1: as dW2 and db2, one layer down.
    Keep each gradient in a variable of that name (dZ2 = ...), so the check can test each line on its own.
    """
    X, Z1, A1, P = cache["X"], cache["Z1"], cache["A1"], cache["P"]
    W2 = params["W2"]
    raise NotImplementedError("write the seven lines, then return them in a dict")

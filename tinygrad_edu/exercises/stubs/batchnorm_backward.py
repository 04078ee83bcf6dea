"""Exercise batchnorm-backward (lesson 9): the backward pass of batch normalisation, by hand.

Fill in `backward` below, then run:  tinygrad-edu exercise check batchnorm-backward

The forward pass (training mode, as tinygrad_edu.nn.BatchNorm1d), for a batch x of N rows and D features,
each feature normalised over the batch:
    mean = x.mean(axis=0)               (D,)
    xc   = x - mean                     (N, D)
    var  = (xc ** 2).mean(axis=0)       (D,)     biased: divides by N, not N - 1
    std  = np.sqrt(var + eps)           (D,)
    xhat = xc / std                     (N, D)
    out  = gamma * xhat + beta          (N, D)
x reaches out along three paths: directly through xc, through mean, and through var. The check feeds each
of your lines the correct gradients from the lines above it, so one wrong line fails only its own row, and
it names the most likely mistake.
"""

import numpy as np


def backward(dout, cache):
    """The gradient of the loss with respect to each intermediate and input: dT means dL/dT.

    Args:
        dout: dL/dout, (N, D).
        cache: {"x": (N, D), "xc": (N, D), "var": (D,), "std": (D,), "xhat": (N, D), "gamma": (D,), "eps": float}

    Returns:
        {"dbeta": (D,), "dgamma": (D,), "dxhat": (N, D), "dvar": (D,), "dmean": (D,), "dx": (N, D)}

    Hints (derive each line; one line each):
        dbeta, dgamma: beta and gamma are used by every row of the batch.
        dxhat: out = gamma * xhat + beta.
        dvar: var reaches the loss only through std, and so through every xhat of its feature;
              d sqrt(v + eps) / dv = 1 / (2 std).
        dmean: mean reaches the loss through xc, which feeds xhat directly and var too (that second
               term turns out to be 0: why?).
        dx: add the three paths: xhat directly (x -> xc -> xhat), through var (dvar * dvar/dx), and
            through mean (dmean * dmean/dx). How does each x[n] change var and mean?
    Keep each gradient in a variable of that name (dvar = ...), so the check can test each line on its own.
    """
    x, xc, std, xhat, gamma = cache["x"], cache["xc"], cache["std"], cache["xhat"], cache["gamma"]
    N = x.shape[0]
    raise NotImplementedError("write the six lines, then return them in a dict")

"""Solution of batchnorm-backward: the six lines, path by path (makemore part 4 derives them the same way).

The check compares them with autodiff through :class:`tinygrad_edu.nn.BatchNorm1d`'s forward, itself
checked against finite differences; combined, ``dx`` simplifies to
``(dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / std``.
"""

import numpy as np

from tinygrad_edu.exercises.catalogue import body_source


def backward(dout, cache):
    x, xc, std, xhat, gamma = cache["x"], cache["xc"], cache["std"], cache["xhat"], cache["gamma"]
    N = x.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dvar = (dxhat * xc).sum(axis=0) * -0.5 / std**3  # xhat = xc (var + eps)^(-1/2)
    dmean = -(dxhat / std).sum(axis=0) + dvar * (-2 * xc).mean(axis=0)  # the second term is 0: xc sums to 0
    dx = dxhat / std + dvar * 2 * xc / N + dmean / N  # directly, through var, through mean
    return {"dbeta": dbeta, "dgamma": dgamma, "dxhat": dxhat, "dvar": dvar, "dmean": dmean, "dx": dx}


# The stub already unpacks the cache and N: the solved file adds the six lines and the return after them.
BODIES = {"backward": "".join(body_source(backward).splitlines(keepends=True)[2:])}

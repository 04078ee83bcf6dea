"""Solution of engine: ``topological_order`` and ``sum_to_shape`` are the engine's own (read with inspect);
the backward loop is :func:`tinygrad_edu.tensor.iter_backward` without its bookkeeping for ``retain_grad``,
caller-owned arrays and generators."""

import numpy as np

from tinygrad_edu.tensor import sum_to_shape, topological_order  # noqa: F401 - the solution's bodies


# --8<-- [start:backward]
def backward(root):
    grads = {id(root): np.ones(root.shape, dtype=root.dtype)}
    for tensor in reversed(topological_order(root)):
        grad = grads.pop(id(tensor), None)
        if grad is None:  # no path from this tensor to root needs a gradient
            continue
        if tensor._op is None:
            if tensor.requires_grad:
                tensor.grad = grad.copy() if tensor.grad is None else tensor.grad + grad
            continue
        for parent, parent_grad in zip(tensor._op.inputs, tensor._op.backward(grad)):
            if parent_grad is None or not parent.requires_grad:
                continue
            # Add, never overwrite: a tensor used twice gets one contribution per use.
            grads[id(parent)] = grads[id(parent)] + parent_grad if id(parent) in grads else parent_grad
# --8<-- [end:backward]

"""Solution of engine: ``topological_order`` and ``sum_to_shape`` are the engine's own (read with inspect);
the backward loop is :func:`tinygrad_edu.tensor.iter_backward` without ``retain_grad``, the steps it yields
and its refusal of a gradient that is not the input broadcast."""

import numpy as np

from tinygrad_edu.tensor import sum_to_shape, topological_order  # noqa: F401 - the solution's bodies


# --8<-- [start:backward]
def backward(root):
    grads = {root: np.ones(root.shape, dtype=root.dtype)}
    for tensor in reversed(topological_order(root)):
        grad = grads.pop(tensor, None)
        if grad is None:  # no path from this tensor to root needs a gradient
            continue
        if tensor._op is None:
            if tensor.requires_grad:
                tensor.grad = grad.copy() if tensor.grad is None else tensor.grad + grad
            continue
        for parent, parent_grad in zip(tensor._inputs, tensor._backward(grad)):
            if parent_grad is None or not parent.requires_grad:
                continue
            if parent_grad.shape != parent.shape:  # the op broadcast it
                parent_grad = sum_to_shape(parent_grad, parent.shape)
            # Add, never overwrite: a tensor used twice gets one contribution per use.
            grads[parent] = grads[parent] + parent_grad if parent in grads else parent_grad
# --8<-- [end:backward]

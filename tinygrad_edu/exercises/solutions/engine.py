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
        if grad is None:  # a constant: no gradient comes here
            continue
        if tensor._op is None:  # a leaf: add its gradient into .grad
            if tensor.grad is None:
                tensor.grad = grad.copy()
            else:
                tensor.grad = tensor.grad + grad
            continue
        input_grads = tensor._backward(grad)  # the chain rule: one per input
        for parent, parent_grad in zip(tensor._inputs, input_grads):
            if parent_grad is None or not parent.requires_grad:
                continue
            if parent_grad.shape != parent.shape:  # the op broadcast it
                parent_grad = sum_to_shape(parent_grad, parent.shape)
            # Add, never overwrite: a tensor used twice gets a part per use.
            if parent in grads:
                grads[parent] = grads[parent] + parent_grad
            else:
                grads[parent] = parent_grad
# --8<-- [end:backward]

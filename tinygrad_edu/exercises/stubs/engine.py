"""Exercise engine (lessons 2-3): rebuild the heart of autodiff on tinygrad_edu's own Tensor graph.

Fill in the three functions, then run:  tinygrad-edu exercise check engine

Every Tensor computed by an operation remembers it (as micrograd's Value does):
    tensor._op               the operation's name ("mul", "add", ...), None for a leaf you created
    tensor._inputs           the input tensors of the operation, in order (() for a leaf)
    tensor._backward(g)      turns g = dL/d(tensor) into one gradient per input (None where none is needed);
                             for an input the op broadcast, that gradient has the result's shape: your
                             backward loop sums it back with your sum_to_shape (as PyTorch's engine does)
Leaves created with requires_grad=True keep their gradient in `tensor.grad` (None until a backward).
A Tensor hashes by identity (as in PyTorch): sets and dict keys can hold tensors, or their id(tensor).
"""

import numpy as np


def topological_order(root):
    """Every tensor reachable from `root` through `_inputs`, each exactly once, inputs first, `root` last.

    Returns:
        a list of tensors in which every tensor comes after all of its inputs.

    Hints:
        Walk the graph depth-first with an explicit stack (a list), not a recursive function: the check
        builds a chain of 100,000 operations, and Python stops a recursion about 1,000 calls deep.
        Append a tensor only once all its inputs are appended: leave it on the stack while its inputs are
        walked. The first time it is on top, mark it visited and push its inputs above it; when it is on
        top again, they are all appended: pop it and append it (a tensor pushed by two users comes back
        twice: append it once). Mark a tensor visited when you expand it, not when you push it. Keep
        `visited` in a set (of tensors, or of id(tensor)), not a list: the check stays fast on big graphs.
    """
    raise NotImplementedError("write topological_order")


def backward(root):
    """Set `.grad` of every leaf with requires_grad=True to dL/d(leaf), where L is the scalar `root`.

    Hints:
        Keep a dict from tensor to its gradient, starting with {root: np.ones(root.shape, root.dtype)}
        (keys id(tensor) work too). Visit the tensors of topological_order(root) in reverse (root first):
        when a tensor is visited, every use of it downstream has already sent its gradient. For a computed
        tensor call tensor._backward(grad). For an input the op broadcast (b in c * b, with c of shape
        (2, 3) and b of shape (3,)) it returns a gradient of the result's shape (2, 3): sum it back first,
        parent_grad = sum_to_shape(parent_grad, parent.shape), as PyTorch's engine does. Then ADD each
        input's gradient into the dict: a tensor used twice (a * a) gets one contribution per use. For a
        leaf with requires_grad, add the gradient into `.grad` (which may already hold the gradient of an
        earlier backward; None means nothing yet).
    """
    raise NotImplementedError("write the backward loop")


def sum_to_shape(grad, shape):
    """Undo broadcasting: sum `grad` over the axes along which an input of `shape` was broadcast.

    Examples: grad (4, 3) to shape (3,) sums over axis 0; to (1, 3) also sums over axis 0 but keeps it;
    to (4, 1) sums over axis 1, keeping it; grad (2, 4, 3) to (4, 1) sums over axis 0, then over axis 2.

    Hints:
        Broadcasting lines shapes up from the right: sum away the leading axes `shape` lacks, then sum (with
        keepdims=True) over the axes where `shape` has size 1 but `grad` does not. Why a sum: an input copied
        along an axis was used once per copy, and each use sends its gradient back.
    """
    raise NotImplementedError("write sum_to_shape")

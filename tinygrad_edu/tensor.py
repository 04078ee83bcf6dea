"""The autodiff core: a ``Tensor`` that records the operations made on it, and ``backward``.

How it works, in four lines:

1. Each operation (a method below) computes its result with NumPy (the *forward*), and, when an input
   requires a gradient, records on the result its name (``_op``), its inputs (``_inputs``) and a
   ``_backward`` function, written right next to the forward, that turns the gradient of the result into
   the gradients of the inputs (the *local chain rule*).
2. ``loss.backward()`` orders the recorded graph (:func:`topological_order`, an iterative depth-first
   walk: no recursion, so a 100,000-op chain is fine) and visits it from the loss back to the inputs.
3. Each visited node hands its complete gradient to its op's ``backward``; the results are **added** into
   the gradients of the inputs, because a tensor used twice receives a contribution from each use.
4. Leaves (tensors you created with ``requires_grad=True``) keep their gradient in ``.grad``; so do
   intermediates on which you called :meth:`Tensor.retain_grad`.

Broadcasting: an op on shapes ``(N, H)`` and ``(H,)`` copies the second operand along the batch axis, so
its gradient is the *sum* over that axis. The ops' backward functions return the gradient of a broadcast
input in the result's shape, and the backward loop sums it back with :func:`sum_to_shape`: the one place
where that happens (PyTorch's engine does the same).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Union

import numpy as np

from tinygrad_edu.errors import GradError, ShapeError

ArrayLike = Union["Tensor", np.ndarray, float, int, list, tuple]
BackwardFn = Callable[[np.ndarray], tuple[Union[np.ndarray, None], ...]]
# The steps of the backward pass: a tensor, dL/dtensor, and what its op sent to each input (the pass's
# own arrays, a leaf's .grad may be one of them: copy one you keep and will change).
Steps = Iterator[tuple["Tensor", np.ndarray, list[tuple["Tensor", np.ndarray]]]]


# ----------------------------------------------------------------------------------------------------
# Gradient mode (DeZero's Config.enable_backprop)
# ----------------------------------------------------------------------------------------------------
class _GradMode(threading.local):
    """Whether operations record the graph, per thread (as in PyTorch), with the states saved by no_grad."""

    enabled = True

    def __init__(self) -> None:
        self.saved: list[bool] = []


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Return True when operations record the graph (the default), False inside :class:`no_grad`."""
    return _grad_mode.enabled


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator under which operations record no graph.

    Use it for evaluation and for optimizer updates: results have ``requires_grad=False`` and keep no
    reference to their inputs, so memory is freed as you go.

    It is re-entrant (a decorated function may call itself) and per thread: the state it restores is kept
    on a per-thread stack, not on the object, so one ``no_grad()`` object can be reused anywhere.

    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self) -> no_grad:
        _grad_mode.saved.append(_grad_mode.enabled)
        _grad_mode.enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = _grad_mode.saved.pop()


# ----------------------------------------------------------------------------------------------------
# Graph bookkeeping
# ----------------------------------------------------------------------------------------------------
# --8<-- [start:sum_to_shape]
def sum_to_shape(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo broadcasting: sum ``grad`` over the axes an input of ``shape``
    was broadcast along.

    If ``y = x + b`` with ``x`` of shape ``(N, H)`` and ``b`` of shape
    ``(H,)``, every ``b[j]`` was used N times, so
    ``dL/db[j] = sum_i dL/dy[i, j]``. In general: sum over the leading axes
    that ``shape`` lacks, then over the axes where ``shape`` has size 1 but
    ``grad`` does not.

    Args:
        grad: gradient with respect to the broadcast result.
        shape: shape of the input before broadcasting.

    Returns:
        An array of exactly ``shape``.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = [i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1]
    if axes:  # the axes of size 1 in shape that the broadcast stretched
        grad = grad.sum(axis=tuple(axes), keepdims=True)
    return grad
# --8<-- [end:sum_to_shape]


# --8<-- [start:topological_order]
def topological_order(root: Tensor) -> list[Tensor]:
    """Root and all it came from, each once, inputs first (no recursion)."""
    order: list[Tensor] = []
    opened, placed = set(), set()  # tensors hash by identity, as in PyTorch
    stack = [root]
    while stack:
        tensor = stack[-1]  # stays on the stack while its inputs are walked
        if tensor not in opened:  # first time on top: inputs go above it
            opened.add(tensor)
            for parent in reversed(tensor._inputs):  # the first input on top
                if parent not in opened:
                    stack.append(parent)
        else:  # on top again: its inputs are all in the order, so it follows
            stack.pop()
            if tensor not in placed:  # pushed twice, it comes back twice
                placed.add(tensor)
                order.append(tensor)
    return order
# --8<-- [end:topological_order]


# --8<-- [start:iter_backward]
def iter_backward(root: Tensor, gradient: ArrayLike | None = None) -> Steps:
    """The backward pass, one tensor at a time: ``root.backward()`` runs it.

    Yields (tensor, dL/dtensor, [(input, the part sent to it), ...])."""
    grads = {root: _initial_gradient(root, gradient)}  # dL/dtensor, so far
    # Reverse topological order: a tensor comes after all computed from it,
    # so by its turn every use has sent its part: the gradient is complete.
    for tensor in reversed(topological_order(root)):
        grad = grads.pop(tensor, None)
        if grad is None:  # a constant: no gradient comes here
            continue
        if tensor._op is None:  # a leaf, made by you: it keeps its grad
            tensor._accumulate_grad(grad)
            yield tensor, grad, []
            continue
        if tensor._retains_grad:  # an intermediate with retain_grad()
            tensor._accumulate_grad(grad)
        sent = []
        input_grads = tensor._backward(grad)  # the chain rule: one per input
        for parent, parent_grad in zip(tensor._inputs, input_grads):
            if parent_grad is None or not parent.requires_grad:
                continue
            if parent_grad.shape != parent.data.shape:  # undo broadcasting
                parent_grad = _unbroadcast(tensor._op, parent, parent_grad)
            # Add, never overwrite: a tensor used twice gets a part per use.
            if parent in grads:
                grads[parent] = grads[parent] + parent_grad
            else:
                grads[parent] = parent_grad
            sent.append((parent, parent_grad))
        yield tensor, grad, sent
# --8<-- [end:iter_backward]


# Tensors whose .grad was assigned by hand (x.grad = ...), not by backward: usually none, so backward can check
# them all up front without walking the graph twice.
# (By id, with weak references: a WeakSet would compare two tensors with ==, which gives an array.)
_assigned_grads: dict[int, weakref.ref[Tensor]] = {}


def _check_assigned_grads(root: Tensor) -> None:
    """Before backward adds anything: a ``.grad`` assigned by hand must be a writable float array of its tensor's
    shape, since backward adds into it in place. Otherwise NumPy would fail half-way through, in its own words,
    with some gradients added and others not. (PyTorch checks at the assignment itself.)"""
    assigned = [tensor for ref in list(_assigned_grads.values()) if (tensor := ref()) is not None]
    unusable = [tensor for tensor in assigned if tensor._grad is not None and not (
        isinstance(tensor._grad, np.ndarray) and tensor._grad.dtype.kind == "f"
        and tensor._grad.shape == tensor.data.shape and tensor._grad.flags.writeable)]
    if not unusable:
        return
    in_graph = set(topological_order(root))  # only then: a tensor of another graph is not this backward's business
    for tensor in unusable:
        if tensor in in_graph:
            grad = tensor._grad
            got = (f"{'read-only ' if not grad.flags.writeable else ''}{grad.dtype} array of shape {grad.shape}"
                   if isinstance(grad, np.ndarray) else type(grad).__name__)
            label = f"the tensor {tensor.name!r}" if tensor.name else "a tensor"
            raise GradError(
                f"backward: {label} of shape {tensor.data.shape} has a .grad of {got} (assigned by hand); backward "
                f"adds into .grad in place, so it must be a writable float array of shape {tensor.data.shape}. "
                "Set it to None (x.zero_grad()) to start again."
            )


def _unbroadcast(op: str, parent: Tensor, grad: np.ndarray) -> np.ndarray:
    """The gradient of an input that ``op`` broadcast, summed back to the input's shape.

    A gradient of any other shape is a bug in ``op``'s backward: refused here, before it can reach ``.grad``.
    """
    try:
        broadcast = np.broadcast_shapes(parent.data.shape, grad.shape) == grad.shape
    except ValueError:  # the shapes do not even broadcast together
        broadcast = False
    if not broadcast:
        raise GradError(
            f"backward of {op}: returned a gradient of shape {grad.shape} for an input of shape "
            f"{parent.shape}; an op's backward must return, per input, a gradient of the input's shape or of "
            "the shape it was broadcast to. Either that input's .data was replaced by an array of another shape "
            "after the op was recorded (run the forward pass again after changing .data), or the op's backward "
            "has a bug."
        )
    return sum_to_shape(grad, parent.data.shape)


def _may_keep(tensor: Tensor, grad: np.ndarray) -> bool:
    """Whether ``tensor.grad`` may be ``grad`` itself, not a copy: it saves copying dW = X^T dZ every step.

    Only a leaf's gradient qualifies (an intermediate's also goes on to its op), and only an array the
    backward pass made for this leaf alone: not a view of another array, writable, of the leaf's dtype.
    Each op's backward returns one array per input (``add`` copies ``g`` for its second input) and the
    pass starts from its own copy of the caller's gradient, so no other tensor's ``.grad`` is that array.
    (PyTorch's AccumulateGrad likewise keeps a gradient nothing else refers to.)
    """
    return (tensor._op is None and grad.base is None and grad.flags.writeable
            and grad.dtype == tensor.data.dtype)


def _initial_gradient(root: Tensor, gradient: ArrayLike | None) -> np.ndarray:
    """dL/droot to start backward from: ``gradient`` checked, or 1 for a scalar ``root``."""
    if not root.requires_grad:
        raise GradError(
            f"backward: this tensor (shape {root.shape}) does not require grad, so there is nothing to "
            "differentiate. Create the inputs with requires_grad=True (and not under no_grad())."
        )
    if gradient is None:
        if root.data.size != 1:
            raise GradError(
                f"backward: the tensor has shape {root.shape}, not a single number, so dL/d(tensor) is "
                "ambiguous. Reduce it to a scalar first (e.g. loss.sum() or loss.mean()), or pass "
                f"gradient=<array of shape {root.shape}>."
            )
        return np.ones(root.shape, dtype=root.dtype)
    values = gradient.data if isinstance(gradient, Tensor) else gradient
    try:
        kind = np.asarray(values).dtype.kind
    except ValueError:  # ragged lists
        kind = "O"
    if kind == "c":  # NumPy would drop the imaginary part, with only a warning
        raise TypeError(f"backward: gradient must hold real numbers, got complex values {values!r:.60}; the engine "
                        "differentiates real functions only (pass the real part, np.real(g), if that is what you mean)")
    try:
        if kind not in "biuf":  # None would become NaN, "1" would become 1.0
            raise TypeError
        grad = np.array(values, dtype=root.dtype)  # a copy: the caller's array stays theirs
    except (TypeError, ValueError):
        raise TypeError(
            f"backward: gradient must hold numbers, an array of shape {root.shape} (dL/d(tensor) for every "
            f"entry); got {type(values).__name__} {values!r:.60}"
        ) from None
    if grad.shape != root.shape:
        raise ShapeError(
            f"backward: gradient has shape {grad.shape} but the tensor has shape {root.shape}; "
            "they must match (the gradient holds dL/d(tensor) for every entry)."
        )
    return grad


def _shape_error(op: str, a: Tensor, b: Tensor, hint: str) -> ShapeError:
    return ShapeError(f"{op}: shapes {a.shape} and {b.shape} do not fit. {hint}")


_BROADCAST_HINT = (
    "Broadcasting compares shapes from the right: each pair of sizes must be equal or one of them 1. "
    "Use reshape (e.g. x.reshape(-1, 1)) to line the axes up."
)


def _normalize_axes(axis: int | tuple[int, ...] | None, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
    """``axis`` (an int, a tuple of ints or None for all) as sorted non-negative axes, checked for ``op``."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    if not isinstance(axes, (tuple, list)) or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
        raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
    if any(not -ndim <= a < ndim for a in axes):
        raise ShapeError(
            f"{op}: axis {axis} is out of range for a tensor of shape {shape} ({ndim} dimensions); "
            f"use 0..{ndim - 1}, or -{ndim}..-1 to count from the end"
        )
    normalized = sorted(int(a) % ndim for a in axes)
    for first, second in zip(normalized, normalized[1:]):
        if first == second:
            raise ShapeError(f"{op}: axis {axis} names axis {first} twice; list each axis once")
    return tuple(normalized)


def _single_axis(axis: int, shape: tuple[int, ...], op: str) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    return _normalize_axes(axis, shape, op)[0]


# ----------------------------------------------------------------------------------------------------
# Type promotion (PyTorch's rules): the result of a binary op has one dtype, chosen by category
# (bool < integer < float) and by priority (tensors with dimensions > 0-d tensors > Python numbers).
# ----------------------------------------------------------------------------------------------------
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}
_DEFAULT_FLOAT = np.dtype(np.float32)


def _promote(x: np.dtype | None, y: np.dtype | None) -> np.dtype | None:
    """Two dtypes of one priority: the higher category wins whole (int64 and float32 give float32);
    within a category, the wider type (float32 and float64 give float64)."""
    if x is None or y is None:
        return y if x is None else x
    if _CATEGORY[x.kind] != _CATEGORY[y.kind]:
        return x if _CATEGORY[x.kind] > _CATEGORY[y.kind] else y
    return np.promote_types(x, y)


def _result_dtype(operands: tuple[Tensor | np.ndarray | float | int | bool, ...]) -> np.dtype:
    """PyTorch's ``result_type``: a lower-priority operand changes the dtype only with a higher category.

    So a float32 tensor stays float32 with an integer array, a float64 scalar or a 0-d float64 tensor,
    and an integer tensor with a Python float gives float32 (the default float type).
    """
    by_priority: list[np.dtype | None] = [None, None, None]  # dimensioned, 0-d, Python/NumPy number
    for operand in operands:
        if isinstance(operand, (Tensor, np.ndarray)):
            priority, dtype = (0 if operand.ndim else 1), operand.dtype
        elif isinstance(operand, (bool, np.bool_)):
            priority, dtype = 2, np.dtype(np.bool_)
        elif isinstance(operand, (int, np.integer)):
            priority, dtype = 2, np.dtype(np.int64)
        else:
            priority, dtype = 2, _DEFAULT_FLOAT
        by_priority[priority] = _promote(by_priority[priority], dtype)
    result: np.dtype | None = None
    for dtype in by_priority:  # highest priority first
        if dtype is not None and (result is None or _CATEGORY[dtype.kind] > _CATEGORY[result.kind]):
            result = dtype
    return result


def _as_array(data: Any, op: str) -> np.ndarray:
    """``data`` as a NumPy array of numbers (bool, integer or float), or an error naming ``op``."""
    try:
        array = np.asarray(data)
    except ValueError:  # NumPy >= 1.24 refuses ragged nested lists
        raise ShapeError(
            f"{op}: the nested lists are ragged (rows of different lengths, e.g. [[1, 2], [3]]); "
            "a tensor is rectangular, so every row must have equal length."
        ) from None
    if array.dtype.kind not in _CATEGORY:
        raise TypeError(
            f"{op}: a tensor holds numbers (bool, integer or float), got {type(data).__name__} {data!r:.60} "
            f"(NumPy dtype {array.dtype}). Convert the values to numbers first."
        )
    return array


def _number_as(number: float | int | np.generic, dtype: np.dtype, op: str) -> np.ndarray:
    """A Python or NumPy number as a 0-d array of ``dtype``. An integer outside the dtype's range is refused, as
    PyTorch refuses ``int8_tensor + 200``; NumPy would raise a bare OverflowError, or wrap a NumPy integer."""
    if dtype.kind in "iu" and isinstance(number, (int, np.integer)) and not isinstance(number, (bool, np.bool_)):
        info = np.iinfo(dtype)
        if not info.min <= number <= info.max:
            raise OverflowError(
                f"{op}: the number {number} does not fit the tensor's dtype {dtype} ({info.min}..{info.max}); "
                f"PyTorch refuses it too. Convert the tensor to a wider dtype first, e.g. x.astype(np.int64)"
            )
    try:
        with np.errstate(over="ignore"):  # a float beyond float32 becomes inf, as in PyTorch, without a warning
            return np.asarray(number, dtype=dtype)
    except OverflowError:  # a Python int beyond any float, e.g. 2**2000
        raise OverflowError(f"{op}: a {len(str(abs(number)))}-digit number is too large for dtype {dtype}") from None


def _checked_dtype(dtype: Any, op: str) -> np.dtype:
    """``dtype`` as a NumPy dtype of numbers (bool, integer or float), or an error naming ``op``."""
    try:
        checked = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: dtype {dtype!r:.40} is not a NumPy dtype; use np.float32, np.float64, np.int64 or "
                        "np.bool_ (or their names, e.g. 'float32')") from None
    if checked.kind not in _CATEGORY:
        raise TypeError(f"{op}: a tensor holds numbers (bool, integer or float), not dtype {checked}")
    return checked


def _cast(array: np.ndarray, dtype: np.dtype, op: str) -> np.ndarray:
    """``array`` in ``dtype``; integers that do not fit are refused, as PyTorch refuses them ("value cannot be
    converted to type int8_t without overflow"), where NumPy would wrap 300 to 44 without a word."""
    if dtype.kind in "iu" and array.dtype != dtype and array.size:
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"{op}: cannot convert NaN or infinity to the integer dtype {dtype}")
        info = np.iinfo(dtype)
        low, high = array.min(), array.max()
        if low < info.min or high > info.max:
            raise OverflowError(
                f"{op}: the values {low}..{high} do not fit dtype {dtype} ({info.min}..{info.max}); "
                "choose a wider dtype (e.g. np.int64)"
            )
    return array.astype(dtype, copy=False)


def _expand_reduced(grad: np.ndarray, axes: tuple[int, ...], keepdims: bool, shape: tuple[int, ...]) -> np.ndarray:
    """Broadcast the gradient of a reduction (sum, mean, max) back over the reduced axes."""
    if not keepdims and axes:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


def from_numpy(array: np.ndarray, requires_grad: bool = False, name: str | None = None) -> Tensor:
    """A Tensor that shares ``array``'s memory, as ``torch.from_numpy``: no copy is made.

    ``Tensor(a)`` copies (as ``torch.tensor``), so changing ``a`` later cannot change a recorded graph. Share on
    purpose when the array is large and you will not change it, or when you want the tensor to see your
    in-place updates (``a += 1`` changes the tensor too). The array must be a NumPy array of numbers.

    >>> a = np.zeros(3, dtype=np.float32)
    >>> x = from_numpy(a)
    >>> a[0] = 5.0
    >>> x.data[0]
    np.float32(5.0)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}; use Tensor(...) to copy "
                        "other data")
    array = _as_array(array, "from_numpy")  # the same array object: np.asarray does not copy an ndarray
    out = Tensor._constant(array)
    out.requires_grad, out.name = _checked_requires_grad(requires_grad, array, "from_numpy"), name
    return out


def _checked_requires_grad(requires_grad: Any, array: np.ndarray, op: str) -> bool:
    """``requires_grad`` as a bool: True or False only ("no" would read as True), True for floats only."""
    if not isinstance(requires_grad, (bool, np.bool_)):
        raise TypeError(f"{op}: requires_grad must be True or False, got {type(requires_grad).__name__} "
                        f"{requires_grad!r:.40}")
    if requires_grad and array.dtype.kind != "f":
        raise GradError(
            f"{op}: requires_grad=True needs floating-point data, got {array.dtype} data of shape "
            f"{array.shape}. Gradients of integers are not defined; use floats, e.g. "
            "Tensor([1.0, 2.0], requires_grad=True) or dtype=np.float32."
        )
    return bool(requires_grad)


# NumPy's ufuncs that are Tensor ops: ufunc name -> (method, method when the Tensor is the right operand).
_UFUNC_METHODS: dict[str, tuple[str, ...]] = {
    "add": ("__add__", "__radd__"), "subtract": ("__sub__", "__rsub__"), "multiply": ("__mul__", "__rmul__"),
    "divide": ("__truediv__", "__rtruediv__"), "true_divide": ("__truediv__", "__rtruediv__"),
    "power": ("__pow__", "__rpow__"), "matmul": ("__matmul__", "__rmatmul__"),
    "maximum": ("maximum", "maximum"), "minimum": ("minimum", "minimum"),
    "less": ("__lt__", "__gt__"), "less_equal": ("__le__", "__ge__"), "greater": ("__gt__", "__lt__"),
    "greater_equal": ("__ge__", "__le__"), "equal": ("__eq__", "__eq__"), "not_equal": ("__ne__", "__ne__"),
    "negative": ("__neg__",), "exp": ("exp",), "log": ("log",), "sqrt": ("sqrt",), "tanh": ("tanh",),
    "absolute": ("abs",),
}
# NumPy functions that are Tensor methods: np.sum(x, axis=0) is x.sum(axis=0).
_FUNCTION_METHODS = {"sum": "sum", "mean": "mean", "max": "max", "amax": "max", "reshape": "reshape",
                     "transpose": "transpose", "clip": "clip"}
_TENSOR_OPS = ("+ - * / ** @, exp, log, sqrt, tanh, sigmoid, relu, abs, clip, maximum, minimum, sum, mean, max, "
               "reshape, transpose, softmax, log_softmax (see tinygrad_edu.functional too)")


def _numpy_on_values(call: str, compute: Callable[..., Any], args: tuple, kwargs: dict | None = None) -> Any:
    """Run a NumPy function the Tensor has no op for on the tensors' plain values (as PyTorch does), unless a
    tensor requires grad: NumPy cannot record the function, so its gradient would be lost without a word."""
    needs_grad = False

    def values(item: Any) -> Any:
        nonlocal needs_grad
        if isinstance(item, Tensor):
            needs_grad = needs_grad or item.requires_grad
            return item.data
        if isinstance(item, (list, tuple)):
            return type(item)(values(inner) for inner in item)
        return item

    plain_args, plain_kwargs = values(args), {key: values(value) for key, value in (kwargs or {}).items()}
    if needs_grad:
        raise TypeError(
            f"{call} on a Tensor that requires grad: NumPy cannot record it, so no gradient would flow through "
            f"it. Use the Tensor's ops instead ({_TENSOR_OPS}), or give NumPy the plain values, x.detach().numpy(), "
            "if you want no gradient."
        )
    return compute(*plain_args, **plain_kwargs)


# ----------------------------------------------------------------------------------------------------
# Tensor
# ----------------------------------------------------------------------------------------------------
class Tensor:
    """An n-dimensional array that remembers how it was computed, so gradients can flow back through it.

    Args:
        data: a Tensor, NumPy array, Python number or nested list.
        requires_grad: record operations on this tensor and keep ``dL/dthis`` in ``.grad`` after backward.
        dtype: NumPy dtype to store. By default Python floats become float32 (like PyTorch), NumPy arrays
            keep their dtype (so float64 stays float64), integers stay integers.
        name: an optional label shown in ``repr`` and in graph pictures (e.g. "W1").

    Attributes:
        data: the values, a ``np.ndarray``.
        grad: ``dL/dthis`` after ``backward()`` (same shape as ``data``), or None.
        _op: the name of the operation that computed this tensor ("matmul", "relu", ...), or None for a
            leaf (a tensor you created).
        _inputs: that operation's input tensors, in order (constants included); ``()`` for a leaf.
        _backward: that operation's local chain rule: maps dL/dthis to one gradient (or None) per input.
    """

    # The op is kept on the tensor itself (as in micrograd), not in a record of its own: every Python object
    # a live graph holds is walked by the garbage collector again and again, so one object fewer per op
    # makes a long graph cheaper to build.
    __slots__ = ("data", "_grad", "requires_grad", "name", "_op", "_inputs", "_backward", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # ndarray + Tensor calls Tensor.__radd__, not ndarray.__add__

    def __init__(
        self,
        data: ArrayLike,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        if isinstance(data, Tensor):
            data = data.data
        array = _as_array(data, "Tensor")
        if dtype is not None:
            array = _cast(array, _checked_dtype(dtype, "Tensor"), "Tensor")
        elif array.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
            array = array.astype(np.float32)  # Python floats: float32 by default, as in PyTorch
        if isinstance(data, np.ndarray) and np.may_share_memory(array, data):
            array = array.copy()  # as torch.tensor: changing the caller's array later must not change the graph
        self.requires_grad: bool = _checked_requires_grad(requires_grad, array, "Tensor")
        self.data: np.ndarray = array
        self._grad: np.ndarray | None = None
        self.name: str | None = name
        self._op: str | None = None
        self._inputs: tuple[Tensor, ...] = ()
        self._backward: BackwardFn | None = None
        self._retains_grad = False

    # -- making results -----------------------------------------------------------------------------
    @staticmethod
    def _result(data: np.ndarray, inputs: tuple[Tensor, ...], name: str, backward: BackwardFn) -> Tensor:
        """Wrap an op's output; record the op only if some input needs a gradient (hot path: keep it lean)."""
        if type(data) is not np.ndarray:  # NumPy returns scalars from full reductions and 0-d arithmetic
            data = np.asarray(data)
        out = Tensor.__new__(Tensor)  # as _constant, inlined: this runs once per op
        out.data, out._grad, out.name, out._retains_grad = data, None, None, False
        if _grad_mode.enabled:
            for tensor in inputs:
                if tensor.requires_grad:
                    out.requires_grad, out._op, out._inputs, out._backward = True, name, inputs, backward
                    return out
        out.requires_grad, out._op, out._inputs, out._backward = False, None, (), None
        return out

    def _operands(self, other: ArrayLike, op: str) -> tuple[Tensor, Tensor]:
        """The two operands of a binary op as Tensors of one dtype, by PyTorch's promotion rules.

        A Python number takes the tensor's dtype when it is of the same kind (``x * 2`` stays float32); an
        integer operand of a float tensor becomes float; see :func:`_result_dtype` for the whole rule.
        """
        if isinstance(other, Tensor):
            if other.data.dtype is self.data.dtype:  # the common case (``is``: 3 times faster than ==)
                return self, other
        elif type(other) in (float, int) and self.data.dtype.kind == "f" and abs(other) < 1e300:  # the common case: x * 2.0
            return self, Tensor._constant(np.asarray(other, dtype=self.data.dtype))
        elif not isinstance(other, (bool, int, float, np.generic)):
            other = Tensor._constant(_as_array(other, op))
        dtype = _result_dtype((self, other))
        if not isinstance(other, Tensor):  # a Python or NumPy number
            return self.astype(dtype), Tensor._constant(_number_as(other, dtype, op))
        return self.astype(dtype), other.astype(dtype)

    def _floating(self) -> Tensor:
        """Self, or a float32 copy of integer or bool data: smooth ops compute in float32 there (as PyTorch)."""
        return self if self.data.dtype.kind == "f" else Tensor._constant(self.data.astype(_DEFAULT_FLOAT))

    @staticmethod
    def _constant(data: np.ndarray) -> Tensor:
        """A leaf that needs no gradient, made without ``__init__``'s checks (the data is already an array)."""
        out = Tensor.__new__(Tensor)
        out.data, out._grad, out.name, out._retains_grad = data, None, None, False
        out.requires_grad, out._op, out._inputs, out._backward = False, None, (), None
        return out

    # -- properties ---------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user (not computed by a recorded op)."""
        return self._op is None

    def __iter__(self) -> Iterator[Tensor]:
        """The entries along the first axis, each a Tensor (as PyTorch); a 0-d tensor has none to iterate over."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor: it has no first axis (use .item() for its value)")
        return (self[i] for i in range(len(self.data)))

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no first axis to count (use .item() for its value)")
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(", threshold=20)
        extras = ""
        if self.data.dtype != np.float32:
            extras += f", dtype={self.data.dtype}"
        if self.name is not None:
            extras += f", name={self.name!r}"
        if self._op is not None:
            extras += f", grad_fn=<{self._op}>"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"Tensor({body}{extras})"

    # -- gradient API -------------------------------------------------------------------------------
    def backward(self, gradient: ArrayLike | None = None) -> None:
        """Compute dL/dx for every tensor x this one was computed from, adding it into ``x.grad``.

        Args:
            gradient: dL/dself. Leave it out when self is a scalar (it is then 1).

        Calling backward twice adds the gradients again (as PyTorch does); call ``zero_grad()``
        (or an optimizer's) between steps.
        """
        _check_assigned_grads(self)
        for _ in iter_backward(self, gradient):
            pass

    @property
    def grad(self) -> np.ndarray | None:
        """``dL/dthis`` after ``backward()``: a float array of this tensor's shape, or None."""
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray | None) -> None:
        self._grad = value
        if value is not None:  # set by hand: checked by the next backward (see _check_assigned_grads)
            key = id(self)
            _assigned_grads[key] = weakref.ref(self, lambda _, key=key: _assigned_grads.pop(key, None))

    def _accumulate_grad(self, grad: np.ndarray) -> None:
        """Add ``grad`` into ``.grad``; the first time, keep ``grad`` itself or a copy (:func:`_may_keep`)."""
        if self._grad is not None:
            self._grad += grad
        elif _may_keep(self, grad):
            self._grad = grad
        else:
            self._grad = grad.astype(self.data.dtype)  # astype copies

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self._grad = None

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this intermediate result after backward (leaves always keep theirs)."""
        self._retains_grad = True
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this data (as PyTorch's ``detach``), cut from the graph: no gradient flows through it."""
        out = Tensor._constant(self.data)
        out.name = self.name
        return out

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied)."""
        return self.data

    def item(self) -> float | int:
        """The single value of a one-element tensor as a Python number."""
        return self._single_value("item")

    def __float__(self) -> float:
        """``float(x)`` of a one-element tensor."""
        return float(self._single_value("float"))

    def __int__(self) -> int:
        """``int(x)`` of a one-element tensor (truncated toward zero, as ``int(2.7) == 2``)."""
        return int(self._single_value("int"))

    def __bool__(self) -> bool:
        """``bool(x)`` / ``if x:`` of a one-element tensor; a larger tensor is ambiguous (use .any() or .all())."""
        return bool(self._single_value("bool"))

    def _single_value(self, op: str) -> float | int | bool:
        if self.data.size != 1:
            raise ShapeError(
                f"{op}: only one-element tensors convert to a Python number, got shape {self.shape}. "
                "Reduce it first (e.g. x.sum(), x.max()), or for a truth value use (x > 0).all() or .any()."
            )
        return self.data.item()

    def argmax(self, axis: int | None = None) -> np.ndarray:
        """Index of the largest entry (along ``axis``): a NumPy array, since indices have no gradient."""
        return self.data.argmax(axis=None if axis is None else _single_axis(axis, self.shape, "argmax"))

    # ================================================================================================
    # Operations. Each one: the forward with NumPy, then its local backward rule, together.
    # ``g`` is always dL/d(result); each backward returns dL/d(input) for every input (None: not needed),
    # never one array for two inputs (a leaf's ``.grad`` may keep the array it gets: see _may_keep).
    # ================================================================================================

    # -- elementwise binary ops, with broadcasting --------------------------------------------------
    def __add__(self, other: ArrayLike) -> Tensor:
        """``a + b``.  d(a+b)/da = 1, d(a+b)/db = 1."""
        a, b = self._operands(other, "add")
        try:
            out = a.data + b.data
        except ValueError:
            raise _shape_error("add", a, b, _BROADCAST_HINT) from None

        def backward(g: np.ndarray):
            # A copy for b: one array per input, so a .grad may keep its own (see _may_keep).
            return g, (g.copy() if b.requires_grad else None)

        return Tensor._result(out, (a, b), "add", backward)

    def __sub__(self, other: ArrayLike) -> Tensor:
        """``a - b``.  d(a-b)/da = 1, d(a-b)/db = -1."""
        a, b = self._operands(other, "sub")
        try:
            out = a.data - b.data
        except ValueError:
            raise _shape_error("sub", a, b, _BROADCAST_HINT) from None

        def backward(g: np.ndarray):
            return g, (-g if b.requires_grad else None)

        return Tensor._result(out, (a, b), "sub", backward)

    # --8<-- [start:mul]
    def __mul__(self, other: ArrayLike) -> Tensor:
        """``a * b`` elementwise.  d(ab)/da = b, d(ab)/db = a."""
        a, b = self._operands(other, "mul")
        # This forward's arrays, even if .data is reassigned later (as PyTorch).
        x, y = a.data, b.data
        try:
            out = x * y
        except ValueError:
            raise _shape_error("mul", a, b, _BROADCAST_HINT) from None

        def backward(g: np.ndarray):
            return (
                g * y if a.requires_grad else None,
                g * x if b.requires_grad else None,
            )

        return Tensor._result(out, (a, b), "mul", backward)
    # --8<-- [end:mul]

    def __truediv__(self, other: ArrayLike) -> Tensor:
        """``a / b`` elementwise (integers divide to float32).  d(a/b)/da = 1/b, d(a/b)/db = -a/b**2.

        Division by zero gives inf or nan without a warning, as in PyTorch.
        """
        a, b = self._operands(other, "div")
        a, b = a._floating(), b._floating()
        divisor = b.data
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                out = a.data / divisor
        except ValueError:
            raise _shape_error("div", a, b, _BROADCAST_HINT) from None

        def backward(g: np.ndarray):
            with np.errstate(divide="ignore", invalid="ignore"):
                return (
                    g / divisor if a.requires_grad else None,
                    -g * out / divisor if b.requires_grad else None,
                )

        return Tensor._result(out, (a, b), "div", backward)

    def __pow__(self, exponent: ArrayLike) -> Tensor:
        """``a ** b``.  d(a^b)/da = b a^(b-1);  d(a^b)/db = a^b ln(a)  (only when b requires grad).

        At the points where these formulas read ``0 * inf`` PyTorch's limits are used: d/da = 0 wherever
        b = 0 (also at a = 0, so ``x ** 0`` has gradient 0), and d/db = 0 where a = 0 and b >= 0
        (``a^b`` goes to 0 faster than ``ln a`` to -inf). ``0 ** -1`` is inf, without a warning.
        Integers to negative integer powers are refused, as in PyTorch: use a float exponent (``x ** -1.0``).
        """
        a, b = self._operands(exponent, "pow")
        if a.dtype.kind != "f" and (b.data < 0).any():
            raise ValueError(
                f"pow: integers to negative integer powers are not allowed (as in PyTorch): the base has "
                f"dtype {a.dtype} and the exponent {b.data.min()} would give fractions. Use a float "
                f"exponent (x ** {b.data.min()}.0) or float data (Tensor([1.0, 2.0]))."
            )
        x, n = a.data, b.data
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                out = x**n
        except ValueError:
            raise _shape_error("pow", a, b, _BROADCAST_HINT) from None

        def backward(g: np.ndarray):
            with np.errstate(divide="ignore", invalid="ignore"):
                return (
                    np.where(n == 0, 0, g * n * x ** (n - 1)) if a.requires_grad else None,
                    np.where((x == 0) & (n >= 0), 0, g * out * np.log(x)) if b.requires_grad else None,
                )

        return Tensor._result(out, (a, b), "pow", backward)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        """Matrix product ``a @ b`` (2-D, or batched over leading axes).

        For ``C = A B``: dL/dA = dL/dC B^T and dL/dB = A^T dL/dC (batched: transpose the last two axes,
        then sum over broadcast batch axes). 1-D operands are treated as a row (left) or column (right)
        vector, as in NumPy.
        """
        a, b = self._operands(other, "matmul")
        if a.ndim == 0 or b.ndim == 0:
            raise _shape_error("matmul", a, b, "Both operands need at least one dimension; use * for scalars.")
        try:
            out = a.data @ b.data
        except ValueError:
            raise _shape_error(
                "matmul",
                a,
                b,
                f"For a @ b the last axis of a ({a.shape[-1]}) must equal the "
                f"{'only' if b.ndim == 1 else 'second-to-last'} axis of b ({b.shape[-2 if b.ndim > 1 else 0]}). "
                "Did you mean to transpose one of them (b.T)?",
            ) from None

        x, y = a.data, b.data  # the arrays of this forward, even if someone assigns .data later

        def backward(g: np.ndarray):
            # Promote 1-D operands to matrices so one formula serves every case.
            a2 = x[None, :] if x.ndim == 1 else x
            b2 = y[:, None] if y.ndim == 1 else y
            g2 = np.expand_dims(g, -1) if y.ndim == 1 else g
            if x.ndim == 1:
                g2 = np.expand_dims(g2, -2)
            grad_a = grad_b = None
            if a.requires_grad:
                grad_a = sum_to_shape(g2 @ np.swapaxes(b2, -1, -2), a2.shape)
                grad_a = grad_a.reshape(x.shape) if x.ndim == 1 else grad_a
            if b.requires_grad:
                grad_b = sum_to_shape(np.swapaxes(a2, -1, -2) @ g2, b2.shape)
                grad_b = grad_b.reshape(y.shape) if y.ndim == 1 else grad_b
            return grad_a, grad_b

        return Tensor._result(out, (a, b), "matmul", backward)

    def maximum(self, other: ArrayLike) -> Tensor:
        """The larger of ``a`` and ``b``, elementwise (NumPy's ``maximum``, PyTorch's ``torch.maximum``).

        The gradient goes to the larger operand; where they tie, each gets half (as PyTorch; as in :meth:`max`).
        """
        return self._extremum(other, "maximum", np.maximum, np.greater)

    def minimum(self, other: ArrayLike) -> Tensor:
        """The smaller of ``a`` and ``b``, elementwise; the gradient goes to the smaller, ties split evenly."""
        return self._extremum(other, "minimum", np.minimum, np.less)

    def _extremum(self, other: ArrayLike, op: str, pick: Callable[..., np.ndarray],
                  wins: Callable[..., np.ndarray]) -> Tensor:
        """maximum and minimum: ``pick`` elementwise; the gradient goes to the operand that ``wins``, and
        where ``a == b`` each gets half of it."""
        a, b = self._operands(other, op)
        x, y = a.data, b.data
        try:
            out = pick(x, y)
        except ValueError:
            raise _shape_error(op, a, b, _BROADCAST_HINT) from None

        def backward(g: np.ndarray):
            to_a = np.where(wins(x, y), g, np.where(x == y, g / 2, np.zeros((), g.dtype)))
            return (
                to_a if a.requires_grad else None,
                g - to_a if b.requires_grad else None,
            )

        return Tensor._result(out, (a, b), op, backward)

    # Reflected operators: ``2 * x`` and ``ndarray - x`` make the left operand a Tensor and reuse the ops above.
    def __radd__(self, other: ArrayLike) -> Tensor:
        x, left = self._operands(other, "add")
        return left + x

    def __rsub__(self, other: ArrayLike) -> Tensor:
        x, left = self._operands(other, "sub")
        return left - x

    def __rmul__(self, other: ArrayLike) -> Tensor:
        x, left = self._operands(other, "mul")
        return left * x

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        x, left = self._operands(other, "div")
        return left / x

    def __rpow__(self, other: ArrayLike) -> Tensor:
        x, left = self._operands(other, "pow")
        return left**x

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        x, left = self._operands(other, "matmul")
        return left @ x

    # -- comparisons: boolean NumPy arrays, since a comparison has no gradient -------------------------
    def _compare(self, other: ArrayLike, op: str, compare: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        if not isinstance(other, (Tensor, np.ndarray, np.generic, int, float, list, tuple)):
            return NotImplemented  # x == None is False, as for any Python object
        if type(other) in (int, float):  # NumPy compares a Python number exactly, even beyond the dtype (int8 < 256)
            return compare(self.data, other)
        a, b = self._operands(other, op)
        try:
            return compare(a.data, b.data)
        except ValueError:
            raise _shape_error(op, a, b, _BROADCAST_HINT) from None

    def __lt__(self, other: ArrayLike) -> np.ndarray:
        return self._compare(other, "lt", np.less)

    def __le__(self, other: ArrayLike) -> np.ndarray:
        return self._compare(other, "le", np.less_equal)

    def __gt__(self, other: ArrayLike) -> np.ndarray:
        return self._compare(other, "gt", np.greater)

    def __ge__(self, other: ArrayLike) -> np.ndarray:
        return self._compare(other, "ge", np.greater_equal)

    def __eq__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self._compare(other, "eq", np.equal)

    def __ne__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self._compare(other, "ne", np.not_equal)

    __hash__ = object.__hash__  # by identity, as PyTorch: a Tensor can be a dict key despite its ==

    # -- NumPy functions on a Tensor ------------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(x)``: the values (no gradient), so plotting and ``np.testing`` take tensors."""
        array = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return array.copy() if copy else array

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``np.exp(x)``, ``ndarray + x``, ``x < ndarray``...: the Tensor op of the same name, so the gradient flows.

        A ufunc the Tensor has no op for (``np.sin``), a ufunc method (``np.add.reduce``) or ``out=`` is refused
        when a tensor requires grad (NumPy cannot record it for backward), and computed on the plain values,
        as an ndarray, otherwise, as PyTorch does.
        """
        methods = _UFUNC_METHODS.get(ufunc.__name__) if method == "__call__" and not kwargs else None
        if methods is not None:
            if len(inputs) == 1:
                return getattr(self, methods[0])()
            first, second = inputs
            if isinstance(first, Tensor):
                return getattr(first, methods[0])(second)
            return getattr(second, methods[1])(first)  # ndarray + x: x.__radd__(ndarray)
        call = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        return _numpy_on_values(call, lambda *args: getattr(ufunc, method)(*args, **kwargs), inputs)

    def __array_function__(self, func: Callable[..., Any], types: tuple[type, ...], args: tuple, kwargs: dict) -> Any:
        """``np.sum(x)``, ``np.mean``, ``np.max``, ``np.reshape``, ``np.transpose``, ``np.clip``: the Tensor method.
        Any other NumPy function is refused when a tensor requires grad, and computed on the values otherwise."""
        name = _FUNCTION_METHODS.get(func.__name__)
        if name is not None and args and isinstance(args[0], Tensor):
            try:
                return getattr(args[0], name)(*args[1:], **kwargs)
            except TypeError as error:
                if "argument" not in str(error):  # an op's own error, not a keyword the method lacks
                    raise
                raise TypeError(f"np.{func.__name__} on a Tensor: {error}; the Tensor method x.{name}() takes "
                                f"only the arguments of its docstring (e.g. axis, keepdims), not out= or dtype=") from None
        return _numpy_on_values(f"np.{func.__name__}", func, args, kwargs)

    # -- elementwise unary ops ------------------------------------------------------------------------
    def __neg__(self) -> Tensor:
        """``-a``.  d(-a)/da = -1."""
        if self.data.dtype.kind == "b":
            raise TypeError("neg: -x of a bool tensor is not defined (as in PyTorch); use ~x.numpy() or 1 - x for a logical not")

        def backward(g: np.ndarray):
            return (-g,)

        return Tensor._result(-self.data, (self,), "neg", backward)

    def astype(self, dtype: Any) -> Tensor:
        """The same values in another dtype (e.g. ``x.astype(np.float64)``); the gradient flows back cast."""
        source, dtype = self.dtype, _checked_dtype(dtype, "astype")
        if dtype == source:
            return self

        def backward(g: np.ndarray):
            return (g.astype(source),)

        return Tensor._result(_cast(self.data, dtype, "astype"), (self,), "astype", backward)

    def abs(self) -> Tensor:
        """``|a|``.  d|a|/da = sign(a), which is 0 at a = 0 (as PyTorch)."""
        x = self.data

        def backward(g: np.ndarray):
            return (g * np.sign(x),)

        return Tensor._result(np.abs(x), (self,), "abs", backward)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002 (PyTorch's names)
        """Clamp into ``[min, max]`` (PyTorch's ``clamp``); either bound may be None.

        Derivative 1 where ``min <= a <= max`` (bounds included, as PyTorch), 0 where a value was clipped.
        If ``min > max`` every entry becomes ``max``, as in PyTorch.
        """
        bounds = [bound for bound in (min, max) if bound is not None]
        if not bounds:
            raise ValueError("clip: give min, max or both (clip() with no bound would change nothing)")
        if not all(isinstance(bound, (int, float, np.integer, np.floating)) and not isinstance(bound, bool) for bound in bounds):
            raise TypeError(f"clip: min and max must be numbers or None, got {min!r} and {max!r}")
        x = self._floating() if any(isinstance(bound, (float, np.floating)) for bound in bounds) else self
        out = x.data if min is None else np.maximum(x.data, min)
        out = out if max is None else np.minimum(out, max)
        inside = np.ones(x.shape, dtype=bool)
        if min is not None:
            inside &= x.data >= min
        if max is not None:
            inside &= x.data <= max

        def backward(g: np.ndarray):
            return (g * inside,)

        return Tensor._result(out, (x,), "clip", backward)

    def exp(self) -> Tensor:
        """``e^a``.  d(e^a)/da = e^a (the output itself).  Overflow gives inf, without a warning."""
        x = self._floating()
        with np.errstate(over="ignore"):
            out = np.exp(x.data)

        def backward(g: np.ndarray):
            return (g * out,)

        return Tensor._result(out, (x,), "exp", backward)

    def log(self) -> Tensor:
        """Natural logarithm.  d(ln a)/da = 1/a.

        Defined for a >= 0: ``log(0)`` is -inf with gradient +inf (as in PyTorch, without a warning).
        Negative entries raise an error (PyTorch would give nan).
        """
        x = self._floating()
        if (x.data < 0).any():
            raise ValueError(
                f"log: {int((x.data < 0).sum())} of {x.data.size} entries of the tensor of shape "
                f"{x.shape} are negative (smallest {x.data.min():.4g}); log is only defined for numbers "
                ">= 0 (log 0 = -inf). For log-probabilities use log_softmax(), which never takes log of 0."
            )
        values = x.data

        def backward(g: np.ndarray):
            with np.errstate(divide="ignore"):
                return (g / values,)

        with np.errstate(divide="ignore"):
            return Tensor._result(np.log(x.data), (x,), "log", backward)

    def sqrt(self) -> Tensor:
        """Square root.  d(sqrt a)/da = 1 / (2 sqrt a), inf at a = 0 (as PyTorch).  Negative entries raise an error."""
        x = self._floating()
        if (x.data < 0).any():
            raise ValueError(
                f"sqrt: the tensor of shape {x.shape} has negative entries (smallest "
                f"{x.data.min():.4g}); sqrt is only defined for numbers >= 0."
            )
        out = np.sqrt(x.data)

        def backward(g: np.ndarray):
            with np.errstate(divide="ignore"):
                return (g * 0.5 / out,)

        return Tensor._result(out, (x,), "sqrt", backward)

    def relu(self) -> Tensor:
        """``max(a, 0)``.  Derivative 0 where a <= 0, else 1 (0 at a = 0, as PyTorch).

        PyTorch's rule is "0 where a <= 0", so at a NaN (NaN <= 0 is false) the gradient passes through and the
        NaN stays visible; ``max(NaN, 0)`` is NaN too.
        """
        x = self.data

        def backward(g: np.ndarray):
            return (np.where(x <= 0, np.zeros((), g.dtype), g),)

        return Tensor._result(np.maximum(x, 0), (self,), "relu", backward)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        """``a`` where a > 0, else ``negative_slope * a``.  Derivative 1 or ``negative_slope`` (the slope at 0, as PyTorch)."""
        x = self._floating()
        positive = x.data > 0

        def backward(g: np.ndarray):
            return (np.where(positive, g, g * negative_slope),)

        return Tensor._result(np.where(positive, x.data, x.data * negative_slope), (x,), "leaky_relu", backward)

    def sigmoid(self) -> Tensor:
        """``s(a) = 1 / (1 + e^-a)``, computed without overflow.  ds/da = s (1 - s)."""
        x = self._floating()
        e = np.exp(-np.abs(x.data))  # <= 1, never overflows
        out = np.where(x.data >= 0, 1 / (1 + e), e / (1 + e))

        def backward(g: np.ndarray):
            return (g * out * (1 - out),)

        return Tensor._result(out, (x,), "sigmoid", backward)

    def tanh(self) -> Tensor:
        """Hyperbolic tangent.  d(tanh a)/da = 1 - tanh(a)^2."""
        x = self._floating()
        out = np.tanh(x.data)

        def backward(g: np.ndarray):
            return (g * (1 - out * out),)

        return Tensor._result(out, (x,), "tanh", backward)

    # -- reductions -----------------------------------------------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes by default).  Each input entry contributes once: dL/da = g, broadcast back."""
        axes = _normalize_axes(axis, self.shape, "sum")
        shape = self.shape

        def backward(g: np.ndarray):
            return (_expand_reduced(g, axes, keepdims, shape),)

        return Tensor._result(np.sum(self.data, axis=axes, keepdims=keepdims), (self,), "sum", backward)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (float32 for integer data).  With n entries averaged, dL/da = g / n, broadcast back."""
        x = self._floating()
        axes = _normalize_axes(axis, x.shape, "mean")
        shape = x.shape
        count = int(np.prod([shape[i] for i in axes])) if axes else 1
        if count == 0:
            raise ShapeError(f"mean: the tensor of shape {shape} has no entries along axis {axis} to average")

        def backward(g: np.ndarray):
            return (_expand_reduced(g / count, axes, keepdims, shape),)

        return Tensor._result(np.mean(x.data, axis=axes, keepdims=keepdims), (x,), "mean", backward)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis``.

        The gradient goes to the entry that is the maximum. When several entries tie for the maximum,
        it is split evenly between them (each gets g / number_of_ties), so the total is preserved.
        """
        axes = _normalize_axes(axis, self.shape, "max")
        x = self.data
        if x.size == 0:
            raise ShapeError(f"max: the tensor of shape {x.shape} is empty; there is no maximum")
        out_kept = np.max(x, axis=axes, keepdims=True)
        out = out_kept if keepdims else np.squeeze(out_kept, axis=axes)

        def backward(g: np.ndarray):
            is_max = x == out_kept
            ties = is_max.sum(axis=axes, keepdims=True, dtype=g.dtype)  # in g's dtype: float32 stays float32
            return (_expand_reduced(g, axes, keepdims, x.shape) * is_max / ties,)

        return Tensor._result(out, (self,), "max", backward)

    # -- shape ops ------------------------------------------------------------------------------------
    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """Same entries, new shape (``x.reshape(2, 3)`` or ``x.reshape((2, 3))``).  dL/da = g reshaped back."""
        new_shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        try:
            out = self.data.reshape(new_shape)
        except (ValueError, TypeError):
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {self.shape} ({self.size} entries) into "
                f"{new_shape}; the number of entries must stay the same (at most one -1)."
            ) from None
        old_shape = self.shape

        def backward(g: np.ndarray):
            return (g.reshape(old_shape),)

        return Tensor._result(out, (self,), "reshape", backward)

    def transpose(self, *axes: int) -> Tensor:
        """Permute the axes (reverse them by default); negative axes count from the end.

        dL/da = g permuted back by the inverse permutation.
        """
        perm = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        ndim = self.ndim
        perm = perm or tuple(reversed(range(ndim)))
        valid = len(perm) == ndim and all(isinstance(p, (int, np.integer)) and -ndim <= p < ndim for p in perm)
        if not valid or sorted(int(p) % ndim for p in perm) != list(range(ndim)):
            raise ShapeError(
                f"transpose: axes {perm} are not a permutation of the {ndim} axes of shape {self.shape}; "
                f"name each of 0..{ndim - 1} once (or its negative, -1 for the last), e.g. "
                f"transpose({', '.join(str(i) for i in reversed(range(ndim)))})"
            )
        perm = tuple(int(p) % ndim for p in perm)
        inverse = tuple(int(i) for i in np.argsort(perm))

        def backward(g: np.ndarray):
            return (g.transpose(inverse),)

        return Tensor._result(self.data.transpose(perm), (self,), "transpose", backward)

    @property
    def T(self) -> Tensor:
        """The transpose (axes reversed)."""
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        """Indexing and slicing, including integer arrays (``x[np.arange(n), labels]`` picks one per row).

        Backward scatters g back into a zero array of the input's shape, *adding* where an entry was
        picked more than once.
        """
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        try:
            out = self.data[index]
        except (IndexError, OverflowError, ValueError, TypeError) as error:  # 2**63 overflows NumPy's index type
            raise IndexError(f"getitem: index {index!r:.80} does not fit shape {self.shape}: {error}") from None
        shape, dtype = self.shape, self.dtype

        def backward(g: np.ndarray):
            grad = np.zeros(shape, dtype=dtype)
            np.add.at(grad, index, g)  # add.at: repeated indices accumulate instead of overwriting
            return (grad,)

        return Tensor._result(out, (self,), "getitem", backward)

    # -- softmax family ---------------------------------------------------------------------------------
    def softmax(self, axis: int = -1) -> Tensor:
        """``p_i = e^{a_i} / sum_j e^{a_j}`` along ``axis`` (shifted by the max so it never overflows).

        Backward (a vector-Jacobian product, as everywhere in reverse mode): dL/da_i = p_i (g_i - sum_j g_j p_j).
        An empty tensor gives an empty result, as in PyTorch.
        """
        x = self._floating()
        axis = _single_axis(axis, x.shape, "softmax")
        with np.errstate(invalid="ignore"):  # a row of -inf (or with +inf) gives NaN, as PyTorch, without a warning
            shifted = x.data - np.max(x.data, axis=axis, keepdims=True, initial=-np.inf)
            e = np.exp(shifted)
            p = e / e.sum(axis=axis, keepdims=True)

        def backward(g: np.ndarray):
            return (p * (g - (g * p).sum(axis=axis, keepdims=True)),)

        return Tensor._result(p, (x,), "softmax", backward)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """``log p_i = a_i - logsumexp(a)`` with the log-sum-exp trick: ``m + log sum_j e^{a_j - m}``, m = max.

        Backward: dL/da_i = g_i - p_i sum_j g_j.
        """
        x = self._floating()
        axis = _single_axis(axis, x.shape, "log_softmax")
        # divide: only an empty axis sums to 0, and its result is empty anyway; invalid: a row of -inf gives NaN
        with np.errstate(divide="ignore", invalid="ignore"):
            shifted = x.data - np.max(x.data, axis=axis, keepdims=True, initial=-np.inf)
            out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

        def backward(g: np.ndarray):
            return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

        return Tensor._result(out, (x,), "log_softmax", backward)

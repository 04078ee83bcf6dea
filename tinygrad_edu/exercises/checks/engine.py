"""engine (lessons 2-3): topological_order, the backward loop and sum_to_shape, on the project's own Tensor graph.

Checked on a diamond (``a * a``, a result used twice, an input broadcast), on a chain of 100,000 operations,
and on the broadcasting cases of ``sum_to_shape``. The backward loop is checked first on its own, with the
engine's ``topological_order`` and ``sum_to_shape`` fed in (the correct upstream functions), then with the
student's own. Catalogued mistakes (:data:`MISTAKES`): ``=`` instead of ``+=``, a broadcast input's gradient
not summed back to its shape, a tensor visited before all its gradient arrived (an order in which a tensor
comes before one of its inputs), and recursion (the long chain).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tinygrad_edu import tensor as engine
from tinygrad_edu.exercises.diagnose import Mistake
from tinygrad_edu.exercises.items import check_parts, compare_parts
from tinygrad_edu.exercises.student import attempt
from tinygrad_edu.exercises.report import FAIL, PASS, ItemResult, Report
from tinygrad_edu.exercises.seeding import problem_rng
from tinygrad_edu.tensor import Tensor

FUNCTIONS = ("topological_order", "backward", "sum_to_shape")
CHAIN_LENGTH = 100_000
# The cost on a chain of SMALL_CHAIN ops and on one GROWTH times longer: quadratic if it grows more than
# GROWTH ** 1.5 times (linear GROWTH times, quadratic GROWTH ** 2: a factor GROWTH ** 0.5 from each). A cost over
# SLOW_SMALL seconds at 1,000 ops (a hundred times a set-based loop's) is told from the square at 2,000 ops
# (quadratic: 4 times) rather than at 8,000, which would make the student wait 64 times that.
SMALL_CHAIN, SLOW_SMALL = 1_000, 0.2
GROWTH, SLOW_GROWTH = 8, 2
A_SHAPE, B_SHAPE = (2, 3), (3,)  # the diamond's leaves: d = c * b broadcasts b along the first axis of c

MISTAKES = {
    "overwrite": "a is used twice (c = a * a) and your gradient holds only one of its contributions: the "
                 "backward loop overwrites a gradient (=) instead of adding to it (+=)",
    "unbroadcast-forgotten": f"your backward loop did not sum b's gradient back to b's shape: d = c * b broadcast "
                             f"b of shape {B_SHAPE} to {A_SHAPE}, so your b.grad has shape {A_SHAPE}; sum it "
                             "back with parent_grad = sum_to_shape(parent_grad, parent.shape) before adding it",
    "overwrite-leaf-grad": "your backward replaces the .grad a leaf already had instead of adding to it "
                           "(backward accumulates, as in PyTorch: that is why training calls zero_grad)",
    "aliasing": "a gradient array is shared between two tensors and then added into in place: an op such as "
                "e = d + c hands the same array g to both inputs, so grads[parent] += ... on one changes the "
                "other's too; store a copy, or add with grads[parent] = grads[parent] + parent_grad",
    "order-not-reversed": "only root's _backward ran: your loop visits the tensors in topological order, inputs "
                          "first, so each tensor is visited before root's gradient has reached it and is skipped; "
                          "walk reversed(topological_order(root)), root first",
    "visited-too-early": "a tensor is visited before all its gradient arrived: in your order it comes before "
                         "one of its inputs",
    "recursion": "your topological_order is recursive: a chain of 100,000 operations is deeper than Python's "
                 "recursion limit (about 1,000); walk the graph with an explicit stack instead",
}


# -- the graphs -------------------------------------------------------------------------------------------
def diamond(grad_a: np.ndarray | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """``L = (e * f).sum()``, ``e = d + c``, ``f = c + d``, ``d = c * b``, ``c = a * a``, with ``a`` of shape
    :data:`A_SHAPE` and ``b`` of shape :data:`B_SHAPE`.

    ``a`` is used twice by one op (its two contributions must add up); ``c`` is used by three ops, as the
    first and as the second input, so an order that lists ``c`` too late shows whichever way it walks the
    inputs; ``d = c * b`` broadcasts ``b``, so its gradient must be summed back to ``b``'s shape.
    """
    rng = problem_rng(3)
    a = Tensor(rng.normal(size=A_SHAPE), requires_grad=True, name="a")
    b = Tensor(rng.normal(size=B_SHAPE), requires_grad=True, name="b")
    if grad_a is not None:
        a.grad = grad_a.copy()
    c = a * a
    c.name = "c = a * a"
    d = c * b
    d.name = "d = c * b"
    e = d + c
    e.name = "e = d + c"
    f = c + d
    f.name = "f = c + d"
    loss = (e * f).sum()
    loss.name = "L = (e * f).sum()"
    return loss, a, b


def chain(length: int) -> tuple[Tensor, Tensor]:
    """``x`` negated ``length`` times: a graph as deep as it is long."""
    x = Tensor(np.array([0.5, -2.0]), requires_grad=True, name="x")
    t = x
    for _ in range(length):
        t = -t
    return t.sum(), x


def _reference_backward(root: Tensor, overwrite: bool = False, overwrite_leaf: bool = False,
                        keep_broadcast_shape: bool = False, alias: bool = False) -> None:
    """The backward loop, optionally with a catalogued mistake (to recognise it in the student's numbers)."""
    grads = {root: np.ones(root.shape, dtype=root.dtype)}
    for tensor in reversed(engine.topological_order(root)):
        grad = grads.pop(tensor, None)
        if grad is None:
            continue
        if tensor._op is None:
            if tensor.requires_grad:
                tensor.grad = grad.copy() if tensor.grad is None or overwrite_leaf else tensor.grad + grad
            continue
        for parent, parent_grad in zip(tensor._inputs, tensor._backward(grad)):
            if parent_grad is None or not parent.requires_grad:
                continue
            if parent_grad.shape != parent.shape and not keep_broadcast_shape:
                parent_grad = engine.sum_to_shape(parent_grad, parent.shape)
            keep = parent in grads and not overwrite
            if keep and alias:  # added in place into an array an op may have handed to two tensors
                grads[parent] += parent_grad
                continue
            grads[parent] = grads[parent] + parent_grad if keep else parent_grad


def _label(tensor: Tensor) -> str:
    if tensor.name:
        return tensor.name
    return f"the result of {tensor._op}" if tensor._op is not None else "a constant"


# -- the checks ---------------------------------------------------------------------------------------------
def order_problem(order: Any, root: Tensor) -> tuple[str, str | None]:
    """What is wrong with a topological order of ``root``'s graph ("" when nothing), and the mistake's name."""
    if order is None:
        return "topological_order returned None: return the list of tensors", None
    try:
        order = list(order)
    except TypeError:
        return f"topological_order must return a list of tensors, got a {type(order).__name__}", None
    reference = engine.topological_order(root)
    wanted = {id(t): t for t in reference}
    ids = [id(t) for t in order]
    extra = [t for t in order if id(t) not in wanted]
    if extra:
        return f"your order holds {len(extra)} item(s) that are not tensors of this graph (e.g. {extra[0]!r:.60})", None
    if len(ids) != len(set(ids)):
        seen: set[int] = set()
        first = next(t for t in order if id(t) in seen or seen.add(id(t)))
        return (f"your order lists some tensors more than once (e.g. {_label(first)}): a tensor reached by two "
                "paths must be listed once (mark it visited)"), None
    listed = set(ids)
    missing = [t for i, t in wanted.items() if i not in listed]
    if missing:
        return (f"your order leaves out {len(missing)} of the {len(wanted)} tensors reachable from root "
                f"(e.g. {_label(missing[0])}): follow every input of every op"), None
    if order[-1] is not root:
        return f"root must come last (it depends on everything), but your order ends with {_label(order[-1])}", None
    position = {i: n for n, i in enumerate(ids)}
    for tensor in order:
        for parent in tensor._inputs:
            if position[id(parent)] > position[id(tensor)]:
                return (f"{_label(tensor)} comes before its input {_label(parent)}, so backward would visit "
                        f"{_label(parent)} before all its gradient arrived. Append a tensor only once all its "
                        "inputs are appended (with a (tensor, done) flag on the stack: mark it visited when you expand "
                        "it, not when you push it)",
                        "visited-too-early")
    return "", None


def _check_order(functions: dict[str, Callable[..., Any]], where: str) -> ItemResult:
    item = "topological_order"
    if item not in functions:
        return ItemResult.missing(item, item, where)
    loss, _, _ = diamond()
    outcome = attempt(functions[item], loss)
    if not outcome.ok:
        return ItemResult.from_attempt(item, outcome)
    problem, mistake = order_problem(outcome.value, loss)
    return ItemResult(item, FAIL, diagnosis=problem, mistake=mistake) if problem else ItemResult(item, PASS)


def _raised_on_chain(item: str, outcome: Any) -> ItemResult:
    """The result of a function that raised on a chain; a RecursionError is the catalogued recursion."""
    result = ItemResult.from_attempt(item, outcome)
    if "RecursionError" in outcome.error:
        result.diagnosis, result.mistake = f"{MISTAKES['recursion']}\n{outcome.error}", "recursion"
    return result


def _cpu_seconds_on_chain(student: Callable[..., Any], length: int,
                          time_limit: float | None = None) -> tuple[float, Tensor, Any]:
    """``student(root)`` on a chain of ``length`` ops: the CPU seconds it took, the root, and the outcome."""
    root, _ = chain(length)
    started = time.process_time()  # CPU time: other programs on a busy machine do not inflate it
    outcome = attempt(student, root, time_limit=time_limit)
    # Run in a child process, the function's CPU time is measured there (Attempt.seconds); this process's
    # would be only the sending of the graph.
    spent = outcome.seconds if outcome.seconds is not None else time.process_time() - started
    return spent, root, outcome


def _on_chains(item: str, student: Callable[..., Any], advice: str) -> tuple[ItemResult | None, Tensor, Any]:
    """Run ``student(root)`` on chains of 1,000 and 8,000 ops, then (if its cost is not quadratic) 100,000.

    The cost is the CPU time (not the wall time, which other programs stretch), the best of 3 at 1,000 ops.
    For 8 times the ops a linear cost grows about 8 times and a quadratic one 64 times; it is called quadratic
    above 8 ** 1.5 = 22.6 times (a factor of about 3 from each), unless the 8,000 ops took under 0.05 s: then
    even a quadratic cost stays under 8 s at 100,000. A cost already over :data:`SLOW_SMALL` at 1,000 ops is
    measured at 2,000 instead (linear 2 times, quadratic 4, the line at 2.8): a quadratic loop that took 0.8 s
    at 1,000 ops is named in 6 s in all, not after the 51 s it takes at 8,000. A machine ten times slower
    changes both times alike. The long chain also runs under a time budget, in case the measurement missed it.

    Returns:
        ``(failure, root, outcome)``: a failing result (an error, recursion, a quadratic cost) or None, and the
        long chain's root and outcome.
    """
    small = math.inf
    for _ in range(3):
        seconds, root, outcome = _cpu_seconds_on_chain(student, SMALL_CHAIN)
        if not outcome.ok:
            return _raised_on_chain(item, outcome), root, outcome
        small = min(small, seconds)
    growth = SLOW_GROWTH if small > SLOW_SMALL else GROWTH
    threshold, length = growth ** 1.5, growth * SMALL_CHAIN
    # The wall-time limit only stops a runaway: a quadratic cost is recognised from the CPU time used.
    large, root, outcome = _cpu_seconds_on_chain(student, length, max(2.0, 10 * threshold * small))
    if not outcome.ok and not outcome.timed_out:
        return _raised_on_chain(item, outcome), root, outcome
    if large > 0.05 and (large > threshold * small or outcome.timed_out):
        took = f"more than {large:.1f} s" if outcome.timed_out else f"{large * 1e3:.0f} ms"
        return ItemResult(item, FAIL, diagnosis=(
            f"too slow: {small * 1e3:.0f} ms for {SMALL_CHAIN:,} ops but {took} for {length:,}, so the cost "
            f"grows with the square of the graph (100,000 ops would take minutes). {advice}")), root, None
    root, _ = chain(CHAIN_LENGTH)
    # a margin of 8 for a busy machine over the time a linear cost takes (12.5 times the 8,000-op time)
    budget = max(10.0, 8 * CHAIN_LENGTH / length * large)
    outcome = attempt(student, root, time_limit=budget)  # its own limit: a speed test, not the endless-loop one
    if outcome.timed_out:
        return ItemResult(item, FAIL, diagnosis=(
            f"too slow: the 100,000-op chain took more than {budget:.0f} s ({large * 1e3:.0f} ms for {length:,} "
            f"ops), so the cost grows faster than the graph. {advice}")), root, None
    if not outcome.ok:
        return _raised_on_chain(item, outcome), root, outcome
    return None, root, outcome


def _check_long_chain(functions: dict[str, Callable[..., Any]], where: str) -> ItemResult:
    item = "topological_order, 100,000-op chain"
    if "topological_order" not in functions:
        return ItemResult.missing(item, "topological_order", where)
    failure, root, outcome = _on_chains(item, functions["topological_order"],
                                        "Keep the visited tensors in a set (of tensors, or of id(tensor)), not a list")
    if failure is not None:
        return failure
    problem, mistake = order_problem(outcome.value, root)
    return ItemResult(item, FAIL, diagnosis=problem, mistake=mistake) if problem else ItemResult(item, PASS)


ENGINE_FUNCTIONS = {"topological_order": engine.topological_order, "sum_to_shape": engine.sum_to_shape}


@contextlib.contextmanager
def _fed(student: Callable[..., Any], functions: dict[str, Callable[..., Any]]) -> Iterator[None]:
    """While the block runs, the student's module calls ``functions`` (the engine's: the correct upstream
    steps) in place of its own functions of the same names; then its own again."""
    namespace = getattr(student, "__globals__", {})
    absent = object()
    saved = {name: namespace.get(name, absent) for name in functions}
    namespace.update(functions)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is absent:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def _recording(root: Tensor) -> list[Tensor]:
    """The tensors whose ``_backward`` is called, in the order of the calls (each op's own, wrapped)."""
    calls: list[Tensor] = []
    for tensor in engine.topological_order(root):
        if tensor._op is not None:
            def recorded(g: np.ndarray, tensor: Tensor = tensor, original: Any = tensor._backward) -> Any:
                calls.append(tensor)
                return original(g)
            tensor._backward = recorded
    return calls


def _run_backward(student: Callable[..., Any], fed: dict[str, Callable[..., Any]],
                  grad_a: np.ndarray | None = None):
    """Run the student's backward on a fresh diamond, calling the functions of ``fed`` in place of theirs;
    also which ops' backward it called, in order."""
    loss, a, b = diamond(grad_a)
    calls = _recording(loss)
    with _fed(student, fed):
        outcome = attempt(student, loss)  # no copy: the leaves' .grad is what is checked
    return outcome, a, b, calls if outcome.called is None else outcome.called


def _expected(grad_a: np.ndarray | None = None, **mistake: Any) -> dict[str, np.ndarray]:
    loss, a, b = diamond(grad_a)
    _reference_backward(loss, **mistake)
    return {"a.grad": a.grad, "b.grad": b.grad}


def _order_blamed(functions: dict[str, Callable[..., Any]]) -> tuple[str, str] | None:
    """The diagnosis when the student's order visits a tensor before all its gradient arrived (else None)."""
    loss, _, _ = diamond()
    listed = attempt(functions["topological_order"], loss)
    problem, mistake = order_problem(listed.value, loss) if listed.ok else ("", None)
    if mistake == "visited-too-early":
        return f"{MISTAKES['visited-too-early']}: {problem}", mistake
    return None


def _sum_to_shape_blamed(functions: dict[str, Callable[..., Any]], where: str) -> tuple[str, str | None] | None:
    """The diagnosis when the student's sum_to_shape fails its own check (else None)."""
    summed = _check_sum_to_shape(functions, where)
    if summed.status != FAIL:
        return None
    return (f"your sum_to_shape is wrong (its row says how), and your backward sums b's gradient with it: fix "
            "sum_to_shape first"), summed.mistake


def _failed(item: str, outcome: Any) -> ItemResult:
    """The result of a backward that raised; NumPy refusing two shapes gets a hint about b's broadcast."""
    result = ItemResult.from_attempt(item, outcome)
    if "broadcast" in outcome.error:
        result.diagnosis += (f"\nd = c * b broadcasts b of shape {B_SHAPE} to {A_SHAPE}: if a gradient of shape "
                             f"{A_SHAPE} reached b, sum it back with parent_grad = sum_to_shape(parent_grad, "
                             "parent.shape) before adding it")
    return result


def _check_backward(functions: dict[str, Callable[..., Any]], where: str, own_functions: bool) -> ItemResult:
    item = "backward, with your order and sum_to_shape" if own_functions else "backward"
    for name in ("backward", "topological_order", "sum_to_shape") if own_functions else ("backward",):
        if name not in functions:
            return ItemResult.missing(item, name, where)
    fed = {} if own_functions else ENGINE_FUNCTIONS
    mistakes = {
        "a.grad": [Mistake("overwrite", MISTAKES["overwrite"], lambda: _expected(overwrite=True)["a.grad"]),
                   Mistake("aliasing", MISTAKES["aliasing"], lambda: _expected(alias=True)["a.grad"])],
        "b.grad": [Mistake("unbroadcast-forgotten", MISTAKES["unbroadcast-forgotten"],
                           lambda: _expected(keep_broadcast_shape=True)["b.grad"]),
                   Mistake("aliasing", MISTAKES["aliasing"], lambda: _expected(alias=True)["b.grad"])],
    }
    outcome, a, b, calls = _run_backward(functions["backward"], fed)
    if not outcome.ok:
        return _failed(item, outcome)
    result = compare_parts(item, (a.grad, b.grad), _expected(), mistakes)
    if not result.passed and a.grad is None and len(calls) == 1 and calls[0]._inputs:  # the loop stopped at root
        result.diagnosis, result.mistake = MISTAKES["order-not-reversed"], "order-not-reversed"
        return result
    if not result.passed:
        if result.mistake == "unbroadcast-forgotten":  # its sentence names the shapes: not the generic one (a batch)
            result.diagnosis = MISTAKES["unbroadcast-forgotten"]
        if own_functions:  # with the engine's functions it passed (or failed) already: is one of theirs wrong?
            # A wrong sum_to_shape is blamed only when the numbers show no mistake of the loop itself.
            blamed = _order_blamed(functions) or (None if result.mistake in MISTAKES
                                                       else _sum_to_shape_blamed(functions, where))
            if blamed is not None:
                result.diagnosis, result.mistake = blamed
        return result
    # A second backward into leaves that already hold a gradient must add to it.
    previous = np.full(A_SHAPE, 0.25)
    outcome, a, b, _ = _run_backward(functions["backward"], fed, grad_a=previous)
    if not outcome.ok:
        return _failed(item, outcome)
    leaf_mistakes = {"a.grad": [Mistake("overwrite-leaf-grad", MISTAKES["overwrite-leaf-grad"],
                                        lambda: _expected(previous, overwrite_leaf=True)["a.grad"])]}
    result = compare_parts(item, (a.grad, b.grad), _expected(previous), leaf_mistakes)
    if result.passed and own_functions:
        failure, root, _ = _on_chains(item, functions["backward"], "Keep the gradients in a dict (keyed by tensor or "
                                      "by id(tensor)), and never search a list inside the loop")
        if failure is not None:
            return failure
        x = engine.topological_order(root)[0]  # the chain's leaf (each chain is fresh: x.grad is this run's)
        return compare_parts(item, x.grad, {"x.grad (100,000-op chain)": np.array([1.0, 1.0])})
    return result


SUM_CASES = [((4, 3), (3,)), ((4, 3), (1, 3)), ((4, 3), (4, 1)), ((2, 4, 3), (4, 1)), ((4, 3), (4, 3)), ((2, 3), ())]


def _check_sum_to_shape(functions: dict[str, Callable[..., Any]], where: str) -> ItemResult:
    item = "sum_to_shape"
    if item not in functions:
        return ItemResult.missing(item, item, where)
    rng = problem_rng(5)
    worst = 0.0
    for grad_shape, shape in SUM_CASES:
        grad = rng.normal(size=grad_shape)
        expected = engine.sum_to_shape(grad, shape)
        label = f"sum_to_shape(grad of shape {grad_shape}, {shape})"
        extra = len(grad_shape) - len(shape)
        ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad_shape[extra + i] != 1)
        mean = grad.mean(axis=tuple(range(extra))) if extra else grad
        mean = mean.mean(axis=ones, keepdims=True) if ones else mean
        mistakes = {label: [
            Mistake("mean-not-sum", f"{label} averages over the broadcast axes: each copy of the input was used "
                    "once and sends back its whole gradient, so sum", lambda m=mean: m),
            Mistake("keepdims-forgotten", f"{label}: the axes of size 1 must stay (keepdims=True)",
                    lambda e=expected: e.reshape([n for n in e.shape if n != 1]) if e.ndim else e),
            Mistake("sum-to-shape:leading-only", f"{label}: only the leading axes were summed; an axis where the "
                    "shape has size 1 and grad does not was broadcast too: sum over it with keepdims=True",
                    lambda g=grad: g.sum(axis=tuple(range(extra))) if extra else g),
        ]}
        result = check_parts(item, functions, where, (grad, shape), {label: expected}, mistakes)
        if not result.passed:
            return result
        worst = max(worst, result.error)
    return ItemResult(item, PASS, worst)


def check(functions: dict[str, Callable[..., Any]], where: str) -> Report:
    items = [
        _check_order(functions, where),
        _check_long_chain(functions, where),
        _check_backward(functions, where, own_functions=False),
        _check_backward(functions, where, own_functions=True),
        _check_sum_to_shape(functions, where),
    ]
    notes = [f"backward is checked on L = (e * f).sum() with e = d + c, f = c + d, d = c * b, c = a * a, a of shape "
             f"{A_SHAPE} and b of shape {B_SHAPE} (so d = c * b broadcasts b), first with the engine's own "
             "topological_order and sum_to_shape, then with yours (and on the 100,000-op chain)"]
    return Report("engine", where, items, notes)

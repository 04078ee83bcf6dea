"""The plausible wrong answers around a correct computation, generated for the diagnosis to search.

A check writes the correct computation of an item as a small expression over the values in scope, e.g.
``dW2 = A1.T @ dZ2`` is ``matmul(T(name("A1")), grad("dZ2"))``. :func:`neighbours` derives from it every
expression one plausible mistake away, family by family:

* an operand replaced by another value in scope (``Z1`` where ``A1`` belongs, the upstream gradient for an
  input, a mask taken from the wrong array), of any shape for which the expression still computes;
* a transpose: of the result, of an operand (missing or extra), or a product's order swapped;
* the chain rule broken: the local derivative without the upstream gradient, or the upstream gradient alone;
* a scale or sign: a division dropped or turned into a product, a constant applied to one term only
  (``P - Y / N``), a minus sign lost, an exponent off by one (``p a^p`` for ``p a^(p - 1)``);
* reductions: the wrong axis, ``keepdims=True`` kept, not summed, a mean for a sum;
* masks: ``>=`` for ``>`` (the checks feed exact zeros where that matters);
* an element-wise product for a matrix product and back; a term of a sum dropped; a function dropped.

Each candidate is a :class:`~tinygrad_edu.exercises.diagnose.Mistake` whose name is a stable cause id (for the tests and the benchmark) and the
sentence a teacher would say, which shows the formula the student's numbers equal next to the right one.
The diagnosis names a candidate only when the student's array matches its numbers to rounding.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tinygrad_edu.exercises.diagnose import Mistake


# -- expressions -------------------------------------------------------------------------------------------
_PRECEDENCE = {"expand": 3, "one": 9, "name": 9, "const": 9, "call": 9, "sum": 9, "mean": 9, "mask": 9, "T": 8, "**": 7, "neg": 6,
               "@": 5, "*": 5, "/": 5, "+": 4, "-": 4}
_BINARY = {"@": np.matmul, "*": np.multiply, "/": np.divide, "+": np.add, "-": np.subtract}
_FUNCTIONS = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sqrt": np.sqrt}


@dataclass(frozen=True)
class Expr:
    """A node of a small NumPy expression: ``op`` with its ``args`` (sub-expressions) and its own fields."""

    op: str
    args: tuple[Expr, ...] = ()
    text: str = ""  # a name, a constant's spelling, a function's name, a mask's comparison
    number: float = 0.0  # a constant's value, an exponent
    axis: int | None = None
    keepdims: bool = False

    # building with Python's operators keeps the checks' formulas readable
    def __matmul__(self, other: Expr) -> Expr:
        return Expr("@", (self, _expr(other)))

    def __mul__(self, other: Expr | float) -> Expr:
        return Expr("*", (self, _expr(other)))

    def __rmul__(self, other: float) -> Expr:
        return Expr("*", (_expr(other), self))

    def __truediv__(self, other: Expr | float) -> Expr:
        return Expr("/", (self, _expr(other)))

    def __add__(self, other: Expr | float) -> Expr:
        return Expr("+", (self, _expr(other)))

    def __sub__(self, other: Expr | float) -> Expr:
        return Expr("-", (self, _expr(other)))

    def __rsub__(self, other: float) -> Expr:
        return Expr("-", (_expr(other), self))

    def __neg__(self) -> Expr:
        return Expr("neg", (self,))

    def __pow__(self, exponent: float) -> Expr:
        return Expr("**", (self,), number=float(exponent))

    @property
    def T(self) -> Expr:  # noqa: N802 - NumPy's spelling
        return Expr("T", (self,))

    def sum(self, axis: int | None = None, keepdims: bool = False) -> Expr:
        return Expr("sum", (self,), axis=axis, keepdims=keepdims)

    def mean(self, axis: int | None = None, keepdims: bool = False) -> Expr:
        return Expr("mean", (self,), axis=axis, keepdims=keepdims)

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """The expression's value, with the names looked up in ``env``."""
        if self.op == "name":
            return env[self.text]
        if self.op == "const":
            return self.number
        values = [arg.evaluate(env) for arg in self.args]
        if self.op == "expand":
            g, like = values
            return np.broadcast_to(np.expand_dims(g, self.axis), np.shape(like)).astype(np.float64)
        if self.op in _BINARY:
            return _BINARY[self.op](*values)
        (x,) = values
        if self.op == "neg":
            return -x
        if self.op == "T":
            return np.asarray(x).T
        if self.op == "**":
            return np.asarray(x, dtype=np.float64) ** self.number
        if self.op in ("sum", "mean"):
            return getattr(np.asarray(x), self.op)(axis=self.axis, keepdims=self.keepdims)
        if self.op == "one":
            return np.ones_like(np.asarray(x, dtype=np.float64))
        if self.op == "mask":
            return (np.asarray(x) >= 0 if self.text == ">=" else np.asarray(x) > 0).astype(np.float64)
        return _FUNCTIONS[self.text](x)

    def __str__(self) -> str:
        if self.op in ("name", "const"):
            return self.text
        if self.op == "expand":
            return f"{self.args[0]} repeated along axis {self.axis} to {self.args[1]}'s shape"
        if self.op in _BINARY:
            left, right = self.args
            shown = [f"np.ones_like({arg.args[0]})" if arg.op == "one" and self.op == "@" else _wrap(arg, self, side)
                     for arg, side in ((left, False), (right, True))]  # a 1 in a matrix product: all ones
            return f"{shown[0]} {self.op} {shown[1]}"
        (x,) = self.args
        if self.op == "neg":
            return f"-{_wrap(x, self, right=True)}"
        if self.op == "T":
            return f"{_wrap(x, self, right=False)}.T"
        if self.op == "**":
            return f"{_wrap(x, self, right=False)}**{self.number:g}"
        if self.op in ("sum", "mean"):
            options = [] if self.axis is None else [f"axis={self.axis}"]
            options += ["keepdims=True"] if self.keepdims else []
            return f"{_wrap(x, self, right=False)}.{self.op}({', '.join(options)})"
        if self.op == "mask":
            return f"({x} {self.text} 0)"
        if self.op == "one":
            return self.text or "1"  # a gradient replaced by 1 reads "1"; a formula's ones say whose shape
        return f"np.{self.text}({x})"

    def names(self) -> set[str]:
        """Every name the expression reads."""
        if self.op == "name":
            return {self.text}
        return set().union(*(arg.names() for arg in self.args)) if self.args else set()


def _wrap(child: Expr, parent: Expr, right: bool) -> str:
    inner, outer = _PRECEDENCE.get(child.op, 9), _PRECEDENCE[parent.op]
    tighter = inner > outer or (inner == outer and not right and parent.op not in ("T", "**"))
    return str(child) if tighter else f"({child})"


def _expr(value: Expr | float) -> Expr:
    return value if isinstance(value, Expr) else const(value)


def name(text: str) -> Expr:
    """A value in scope, by the name the student's code knows it by."""
    return Expr("name", text=text)


def const(value: float, text: str | None = None) -> Expr:
    """A number, e.g. ``const(N, "N")``."""
    return Expr("const", text=text or f"{value:g}", number=float(value))


def ones_like(x: Expr) -> Expr:
    """``np.ones_like(x)``: an array of ones of ``x``'s shape."""
    return Expr("one", (x,), text=f"np.ones_like({x})")


def expand(g: Expr, axis: int, like: Expr) -> Expr:
    """``g`` (which lacks ``axis``) repeated along it to the shape of ``like``: the backward of a sum."""
    return Expr("expand", (g, like), axis=axis)


def mask(x: Expr, comparison: str = ">") -> Expr:
    """``(x > 0)`` as 0.0 and 1.0 (relu's slope)."""
    return Expr("mask", (x,), text=comparison)


def call(function: str, x: Expr) -> Expr:
    """``np.exp(x)``, ``np.log(x)``, ``np.tanh(x)`` or ``np.sqrt(x)``."""
    return Expr("call", (x,), text=function)


# -- the neighbourhood -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """The values a student's line can see: by name, which of them are gradients from above, and a phrase for
    each (``"A1 = relu(Z1)"``) to say why one is not the other."""

    values: Mapping[str, Any]
    gradients: frozenset[str] = frozenset()
    about: Mapping[str, str] | None = None
    constants: Mapping[str, float] | None = None  # numbers a formula's constant may be confused with

    def describe(self, text: str) -> str:
        """``text``, and in brackets what it is when the check said (``"A1 (A1 = relu(Z1), ...)"``)."""
        about = (self.about or {}).get(text)
        return f"{text} ({about})" if about else text


def neighbours(label: str, right: Expr, scope: Scope) -> Iterator[Mistake]:
    """Every candidate one mistake away from ``right``, the correct formula of ``label``, in ``scope``."""
    seen = {str(right)}
    for wrong, cause, why in _mutations(right, right, scope):
        shown = str(wrong)
        if shown in seen:
            continue
        seen.add(shown)
        sentence = f"your {label} is {shown}, but {label} = {right}: {why}"
        yield Mistake(cause, sentence, lambda wrong=wrong: wrong.evaluate(scope.values), shown)


def _positions(expr: Expr, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Expr]]:
    yield path, expr
    for i, arg in enumerate(expr.args):
        yield from _positions(arg, (*path, i))


def _put(expr: Expr, path: tuple[int, ...], new: Expr) -> Expr:
    if not path:
        return new
    args = list(expr.args)
    args[path[0]] = _put(args[path[0]], path[1:], new)
    return replace(expr, args=tuple(args))


def _parent(root: Expr, path: tuple[int, ...]) -> Expr | None:
    node = root
    for step in path[:-1]:
        node = node.args[step]
    return node if path else None


def _is_gradient(expr: Expr, scope: Scope) -> bool:
    return bool(expr.names() & scope.gradients)


def _mutations(root: Expr, right: Expr, scope: Scope) -> Iterator[tuple[Expr, str, str]]:
    """(wrong formula, cause id, why it is wrong) for each mistake at each node of ``root``."""
    if np.ndim(_safe(right, scope)) == 2:
        yield right.T, "transpose", ("transposed: a gradient has the shape and layout of the value it is the "
                                     "gradient of")
    for path, node in _positions(root):
        parent = _parent(root, path)
        if node.op == "mask":  # the mask taken from another part of the formula (the gradient, a product)
            for _, other in _positions(root):
                if other.op not in ("name", "mask", "const") and node not in _positions_set(other) and \
                        np.shape(_safe(other, scope)) == np.shape(_safe(node, scope)):
                    yield _put(root, path, replace(node, args=(other,))), f"mask-from:{other}", (
                        f"the mask is taken from {other} instead of {scope.describe(node.args[0].text)}"
                        if node.args[0].op == "name" else f"the mask is taken from {other}")
        for new, cause, why in _node_mutations(node, parent, scope):
            wrong = _put(root, path, new)
            if str(wrong).lstrip("-") in scope.gradients and not cause.startswith(("expand", "broadcast")):  # all that is left is the gradient from above
                cause, why = "chain:no-local", (f"the local derivative is missing: this is the gradient from "
                                                f"above, {wrong}, passed on unchanged")
            yield wrong, cause, why
    for text, value in (scope.constants or {}).items():
        yield root / const(value, text), f"scale:{text}", f"divided by {text} once too often"
        yield root * const(value, text), f"scale:{text}", f"multiplied by {text}, which does not belong here"


def _positions_set(expr: Expr) -> list[Expr]:
    return [node for _, node in _positions(expr)]


def _safe(expr: Expr, scope: Scope) -> Any:
    try:
        return expr.evaluate(scope.values)
    except Exception:  # noqa: BLE001 - shapes that do not fit
        return None


def _node_mutations(node: Expr, parent: Expr | None, scope: Scope) -> Iterator[tuple[Expr, str, str]]:
    op = node.op
    if op == "name":
        if node.text in scope.gradients:
            yield Expr("one", (node,)), "chain:no-upstream", (f"the upstream gradient {node.text} is not multiplied "
                                                             "in: this is the local derivative alone, and the chain "
                                                             f"rule multiplies it by {node.text}")
        for other in scope.values:
            if other == node.text:
                continue
            if parent is not None and parent.op == "mask":
                yield name(other), f"mask-from:{other}", (f"the mask is taken from {other} instead of "
                                                          f"{scope.describe(node.text)}")
            else:
                yield name(other), f"operand:{node.text}->{other}", (
                    f"{other} is used where {node.text} belongs" + scope.describe(node.text)[len(node.text):])
        return
    if op in ("@", "*", "/"):
        left, right = node.args
        for kept, dropped in ((left, right), (right, left)):
            if op == "/" and kept is right:
                continue  # dropping the numerator leaves no plausible formula
            yield kept, *_dropped(dropped, kept, scope, divided=op == "/")
    if op == "@":
        left, right = node.args
        yield right @ left, "order", "the product's order is swapped (matrix products do not commute)"
        yield Expr("*", node.args), "elementwise-for-matmul", ("an element-wise product where a matrix product "
                                                              "belongs (@ sums over the shared axis)")
        for i, arg in enumerate(node.args):
            flipped = arg.args[0] if arg.op == "T" else arg.T
            missing = arg.op == "T"
            args = list(node.args)
            args[i] = flipped
            shown = arg.args[0] if missing else arg
            yield Expr("@", tuple(args)), f"transpose-{'missing' if missing else 'extra'}:{shown}", (
                f"the transpose of {shown} is {'missing' if missing else 'one too many'} (line the shapes up: "
                "the summed axis must be the last of the left factor and the first of the right)")
    if op == "*":
        left, right = node.args
        for a, b in ((left, right), (left, right.T), (left.T, right)):
            yield a @ b, "matmul-for-elementwise", ("a matrix product where an element-wise product belongs "
                                                   "(the chain rule through an element-wise op multiplies "
                                                   "entry by entry)")
        if right.op == "const" or left.op == "const":
            yield Expr("/", node.args), "inverted", "divided where it should multiply"
    if op == "/":
        yield Expr("*", node.args), "inverted", f"multiplied by {node.args[1]} where it should divide by it"
        numerator, denominator = node.args
        if denominator.op == "const" and numerator.op in ("+", "-"):
            a, b = numerator.args
            for term, other in ((b, a), (a, b)):
                moved = Expr(numerator.op, (a, term / denominator) if term is b else (term / denominator, b))
                yield moved, "precedence", (f"only {term} is divided by {denominator}: the division applies to the "
                                            f"whole ({numerator}); mind the brackets")
    if op in ("+", "-"):
        left, right = node.args
        yield left, f"missing-term:{right}", f"the term {right} is missing"
        yield (-right if op == "-" else right), f"missing-term:{left}", f"the term {left} is missing"
        yield Expr("+" if op == "-" else "-", node.args), "sign", f"{'+' if op == '-' else '-'} where {op} belongs"
    if op == "neg":
        yield node.args[0], "sign", "the minus sign is lost"
    if op == "**":
        for exponent in (node.number + 1, node.number - 1):
            if exponent not in (0, 1):
                yield replace(node, number=exponent), "power:exponent", (
                    f"the exponent is {exponent:g} where {node.number:g} belongs (the power rule lowers it by one)")
        yield node.args[0], "power:missing", f"the power **{node.number:g} is missing"
    if op in ("sum", "mean"):
        x = node.args[0]
        ndim = np.ndim(_safe(x, scope))
        for axis in [a for a in range(ndim) if a != node.axis] + ([None] if node.axis is not None else []):
            yield replace(node, axis=axis), "sum:axis", (f"summed over axis={axis} instead of axis={node.axis}"
                                                         if node.axis is not None else f"summed over axis={axis} only")
        yield replace(node, keepdims=not node.keepdims), "sum:keepdims", (
            "keepdims=True kept the summed axis" if not node.keepdims else "keepdims=True is missing, so the summed "
            "axis is dropped and the result no longer lines up with its row")
        yield x, "sum:missing", f"not summed: {x} has one row per example, and the sum over them is missing"
        other = "mean" if op == "sum" else "sum"
        yield replace(node, op=other), f"sum:{other}", f"a {other} where a {op} belongs"
    if op == "mask":
        x = node.args[0]
        yield x, "mask:value", f"it multiplies by {x} itself instead of the mask {node}: relu's slope is 0 or 1"
        yield x * node, "mask:value", (f"it multiplies by relu({x}) = max({x}, 0) instead of its slope, the mask "
                                       f"{node}: relu's slope is 0 or 1")
        shape = np.shape(_safe(x, scope))
        for other, value in scope.values.items():
            if other not in x.names() and np.shape(value) == shape:
                yield name(other), f"mask-value:{other}", (f"it multiplies by {other} where the mask {node} belongs: "
                                                           "relu's slope is 0 or 1, not a value")
        if node.text == ">":
            yield replace(node, text=">="), "mask:>=", ("the mask uses >= where > belongs: at exactly 0 relu's "
                                                        "output is constant, so no gradient passes there")
    if op == "expand":
        g, like = node.args
        for axis in range(np.ndim(_safe(like, scope))):
            if axis != node.axis:
                yield replace(node, axis=axis), "expand:axis", (f"g is repeated along axis {axis}, but the summed "
                                                                f"axis is {node.axis}")
        yield g, "expand:missing", f"{g} is not repeated along the summed axis {node.axis} back to {like}'s shape"
    if op == "const":
        if node.number not in (0, 1) and node.text[:1].isalpha():  # a named constant: p - 1 for p and the like
            for step in (-1, 1):
                yield const(node.number + step, f"({node.text} {'-' if step < 0 else '+'} 1)"), "constant:off-by-one", (
                    f"{node.text} {'-' if step < 0 else '+'} 1 where {node.text} belongs")
        for other, value in (scope.constants or {}).items():
            if other != node.text:
                yield const(value, other), f"constant:{node.text}->{other}", f"{other} where {node.text} belongs"
    if op == "call":
        yield node.args[0], f"function-missing:{node.text}", f"np.{node.text} is missing"


def _dropped(dropped: Expr, kept: Expr, scope: Scope, divided: bool) -> tuple[str, str]:
    """The cause and reason of a product (or quotient) missing one of its factors."""
    if dropped.op == "one":
        return "broadcast:missing", (f"{kept} is not broadcast back to the shape of {dropped.args[0]}: each entry "
                                     f"that fed the sum gets the sum's gradient, {kept} times {dropped}")
    if dropped.op == "const":
        what = f"the division by {dropped}" if divided else f"the factor {dropped}"
        return f"scale:{dropped}", f"{what} is missing"
    if _is_gradient(dropped, scope) and not _is_gradient(kept, scope):
        return "chain:no-upstream", (f"the upstream gradient {dropped} is not multiplied in: the chain rule "
                                     f"multiplies it by the local derivative")
    what = f"the division by {dropped}" if divided else f"the factor {dropped}"
    return f"missing:{dropped}", f"{what} is missing"

"""Wrong and correct submissions to the exercises, written as students write them, each wrong one with the cause
a teacher would name (a stable cause id: ``ItemResult.mistake``).

Each :class:`Submission` is the exercise's solution with a few lines or functions replaced by the student's:
``"dZ1 = dA1 * (A1 > 0)"`` replaces the line assigning ``dZ1``, ``"def f(...): ..."`` replaces the function
``f``. ``catalogued`` marks the mistakes a hand-written catalogue of the check already lists (BUGS, the
checks' Mistake lists); the others must be found by the diagnosis's search. ``tests/test_diagnosis_corpus.py``
asserts each outcome; ``benchmarks/diagnosis.py`` prints the score per exercise. ``compare`` is
``tinygrad-edu compare --backward`` (a network of hidden width 12, batch 16).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Submission:
    exercise: str  # an exercise's name, or "compare"
    item: str  # the row that must fail ("" for a correct submission)
    cause: str | None  # the cause id the check must name (None: a correct submission, which must pass)
    code: tuple[str, ...]  # replaced lines ("name = ...") or functions ("def name(...): ...")
    catalogued: bool = False
    what: str = ""
    vague: bool = False  # a known gap: the check fails it but names no cause (the test holds it to that)

    @property
    def correct(self) -> bool:
        return self.cause is None


def wrong(exercise: str, item: str, cause: str, *code: str, catalogued: bool = False, what: str = "",
          vague: bool = False) -> Submission:
    return Submission(exercise, item, cause, tuple(textwrap.dedent(c).strip("\n") for c in code), catalogued, what,
                      vague)


def right(exercise: str, *code: str, what: str = "") -> Submission:
    return Submission(exercise, "", None, tuple(textwrap.dedent(c).strip("\n") for c in code), False, what)


def source(solution: str, code: tuple[str, ...]) -> str:
    """The solution with the submission's lines and functions swapped in."""
    for piece in code:
        if piece.startswith("def "):
            tree = ast.parse(solution)
            function = ast.parse(piece).body[0].name
            node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
            lines = solution.splitlines()
            start = node.lineno - 1 - len(node.decorator_list)
            lines[start : node.end_lineno] = piece.splitlines()
            solution = "\n".join(lines) + "\n"
            continue
        first = piece.splitlines()[0]
        target = "return " if first.startswith("return ") else first.split("=")[0].strip() + " ="
        lines = solution.splitlines()
        for i, line in enumerate(lines):
            stripped = line.lstrip()
            if stripped.startswith(target):
                indent = line[: len(line) - len(stripped)]
                lines[i : i + 1] = [indent + text for text in piece.splitlines()]
                break
        else:
            raise ValueError(f"no line assigning {target} in the solution")
        solution = "\n".join(lines) + "\n"
    return solution


NB = "network-backprop"
NETWORK = [
    # the catalogue (compare.BUGS)
    wrong(NB, "dZ2", "forgot-1/N", "dZ2 = P - Y", catalogued=True),
    wrong(NB, "dZ1", "relu-mask-z1", "dZ1 = dA1 * Z1", catalogued=True),
    wrong(NB, "dZ1", "relu-mask-forgotten", "dZ1 = dA1", catalogued=True),
    wrong(NB, "dA1", "missing-transpose", "dA1 = dZ2 @ W2", catalogued=True),
    wrong(NB, "db2", "bias-not-summed", "db2 = dZ2", catalogued=True),
    wrong(NB, "db1", "bias-averaged", "db1 = dZ1.mean(axis=0)", catalogued=True),
    wrong(NB, "dZ2", "softmax-elementwise", "dZ2 = (-Y / (N * P)) * P * (1 - P)", catalogued=True),
    # outside the catalogue
    wrong(NB, "dW2", "operand:A1->Z1", "dW2 = Z1.T @ dZ2", what="Z1 where A1 belongs"),
    wrong(NB, "dW1", "operand:X->A1", "dW1 = A1.T @ dZ1", what="A1 where X belongs"),
    wrong(NB, "dW2", "transpose", "dW2 = dZ2.T @ A1", what="transposed, hidden square"),
    wrong(NB, "db2", "sum:keepdims", "db2 = dZ2.sum(axis=0, keepdims=True)", what="keepdims kept"),
    wrong(NB, "db1", "sum:keepdims", "db1 = np.sum(dZ1, axis=0, keepdims=True)", what="keepdims kept"),
    wrong(NB, "db1", "sum:axis", "db1 = dZ1.sum(axis=1)", what="summed over the wrong axis"),
    wrong(NB, "db2", "sum:axis", "db2 = dZ2.sum()", what="summed over everything"),
    wrong(NB, "dZ2", "precedence", "dZ2 = P - Y / N", what="brackets forgotten"),
    wrong(NB, "dZ2", "sign", "dZ2 = (Y - P) / N", what="sign"),
    wrong(NB, "dZ2", "missing-term:Y", "dZ2 = P / N", what="Y forgotten"),
    wrong(NB, "dA1", "scale:1/N", "dA1 = dZ2 @ W2.T / N", what="divides by N again"),
    wrong(NB, "dZ1", "mask-from:dA1", "dZ1 = dA1 * (dA1 > 0)", what="mask from the gradient"),
    wrong(NB, "dZ1", "chain:no-upstream", "dZ1 = (Z1 > 0) * 1.0", what="local derivative only"),
    wrong(NB, "dW1", "operand:dZ1->dA1", "dW1 = X.T @ dA1", what="gradient before the relu"),
    wrong(NB, "db1", "operand:dZ1->dA1", "db1 = dA1.sum(axis=0)", what="gradient before the relu"),
    wrong(NB, "dW2", "scale:N", "dW2 = A1.T @ (P - Y)", what="1/N forgotten in one line"),
    wrong(NB, "dZ1", "matmul-for-elementwise", "dZ1 = dA1 @ (Z1 > 0).T", what="matrix product for a mask"),
    wrong(NB, "dZ1", "mask:value", "dZ1 = dA1 * np.maximum(Z1, 0)", what="relu itself for its slope"),
    wrong(NB, "dW2", "operand:dZ2->P", "dW2 = A1.T @ P", what="P where dZ2 belongs"),
    wrong(NB, "chain", "dict-key", """
        return {"dZ2": dZ2, "dW2": dW2, "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db_1": db1}""",
          what="a misnamed key"),
    wrong(NB, "inputs", "mutated-input", """
        dZ2 = P
        dZ2[np.arange(N), y] -= 1
        dZ2 /= N""", what="P changed in place"),
    wrong(NB, "dW1", "dtype", "dW1 = (X.T @ dZ1).astype(np.float16)", what="float16"),
    right(NB, "dZ1 = dA1 * (A1 > 0)", what="the mask from A1"),
    right(NB, 'dW2 = np.einsum("ni,nj->ij", A1, dZ2)', what="einsum"),
    right(NB, "db2 = np.ones(N) @ dZ2", what="a product with ones"),
    right(NB, "dW1 = (X.T @ dZ1).astype(np.float32)", what="float32"),
    right(NB, "dZ2 = P.copy()\ndZ2[np.arange(N), y] -= 1\ndZ2 /= N", what="a copy changed in place"),
    right(NB, "dZ1 = np.where(Z1 > 0, dA1, 0.0)", what="np.where"),
    right(NB, "dA1 = (W2 @ dZ2.T).T", what="transposed product"),
]

LD = "local-derivatives"


def fn(signature: str, body: str) -> str:
    """A function of the exercise file: ``def signature:`` and its body."""
    return f"def {signature}:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")


LOCAL = [
    wrong(LD, "mul_backward", "mul-same-input", fn("mul_backward(a, b, g)", "return g * a, g * b"), catalogued=True),
    wrong(LD, "div_backward", "div-db-power", fn("div_backward(a, b, g)", "return g / b, -g * a / b"),
          catalogued=True),
    wrong(LD, "pow_backward", "pow-exponent-kept", fn("pow_backward(a, p, g)", "return g * p * a**p"),
          catalogued=True),
    wrong(LD, "exp_backward", "exp-times-input", fn("exp_backward(a, g)", "return g * a"), catalogued=True),
    wrong(LD, "log_backward", "log-of-input", fn("log_backward(a, g)", "return g * np.log(a)"), catalogued=True),
    wrong(LD, "tanh_backward", "tanh-square-missing", fn("tanh_backward(a, g)", "return g * (1 - np.tanh(a))"),
          catalogued=True),
    wrong(LD, "relu_backward", "relu-mask-forgotten", fn("relu_backward(a, g)", "return g"), catalogued=True),
    wrong(LD, "add_backward", "chain:no-upstream",
          fn("add_backward(a, b, g)", "return np.ones_like(a), np.ones_like(b)"), what="d(out)/da without g"),
    wrong(LD, "add_backward", "scale:1/2", fn("add_backward(a, b, g)", "return g / 2, g / 2"),
          what="g shared between the inputs"),
    wrong(LD, "mul_backward", "chain:no-upstream", fn("mul_backward(a, b, g)", "return b, a"), what="no g"),
    wrong(LD, "mul_backward", "matmul-for-elementwise", fn("mul_backward(a, b, g)", "return g @ b.T, a.T @ g"),
          what="matrix products"),
    wrong(LD, "div_backward", "chain:no-upstream", fn("div_backward(a, b, g)", "return 1 / b, -a / b**2"),
          what="no g"),
    wrong(LD, "div_backward", "sign", fn("div_backward(a, b, g)", "return g / b, g * a / b**2"),
          what="minus sign lost"),
    wrong(LD, "div_backward", "missing:a", fn("div_backward(a, b, g)", "return g / b, -g / b**2"),
          what="a forgotten in db"),
    wrong(LD, "div_backward", "div-da", fn("div_backward(a, b, g)", "return g * b, -g * a / b**2"),
          catalogued=True),
    wrong(LD, "pow_backward", "chain:no-upstream", fn("pow_backward(a, p, g)", "return p * a ** (p - 1)"),
          what="no g"),
    wrong(LD, "exp_backward", "chain:no-upstream", fn("exp_backward(a, g)", "return np.exp(a)"), what="no g"),
    wrong(LD, "exp_backward", "operand:a->g", fn("exp_backward(a, g)", "return g * np.exp(g)"),
          what="exp of g"),
    wrong(LD, "log_backward", "chain:no-upstream", fn("log_backward(a, g)", "return 1 / a"), what="no g"),
    wrong(LD, "log_backward", "sign", fn("log_backward(a, g)", "return -g / a"), what="minus"),
    wrong(LD, "tanh_backward", "chain:no-upstream", fn("tanh_backward(a, g)", "return 1 - np.tanh(a)**2"),
          what="no g"),
    wrong(LD, "tanh_backward", "sign", fn("tanh_backward(a, g)", "return g * (1 + np.tanh(a) ** 2)"),
          what="+ for -"),
    wrong(LD, "relu_backward", "mask:>=", fn("relu_backward(a, g)", "return g * (a >= 0)"), what=">= for >"),
    wrong(LD, "relu_backward", "chain:no-upstream", fn("relu_backward(a, g)", "return (a > 0).astype(float)"),
          what="the mask alone"),
    wrong(LD, "relu_backward", "mask-from:g", fn("relu_backward(a, g)", "return np.maximum(g, 0)"),
          what="relu of the gradient"),
    wrong(LD, "tanh_backward", "operand:a->g", fn("tanh_backward(a, g)", "return g * (1 - np.tanh(g) ** 2)"),
          what="tanh of g"),
    right(LD, fn("mul_backward(a, b, g)", "return b * g, a * g"), what="commuted"),
    right(LD, fn("div_backward(a, b, g)", "da = g / b\nreturn da, -da * a / b"), what="db from da"),
    right(LD, fn("pow_backward(a, p, g)", "return g * p * a**p / a"), what="a**p / a"),
    right(LD, fn("tanh_backward(a, g)", "return g / np.cosh(a) ** 2"), what="sech squared"),
    right(LD, fn("relu_backward(a, g)", "return np.where(a > 0, g, 0.0)"), what="np.where"),
    right(LD, fn("exp_backward(a, g)", "return (g * np.exp(a)).astype(np.float32)"), what="float32"),
]

TO = "tensor-ops"
TENSOR_OPS = [
    wrong(TO, "mean_backward", "mean-no-division", fn("mean_backward(x, axis, g)", "return np.ones_like(x) * np.expand_dims(g, axis)"),
          catalogued=True),
    wrong(TO, "max_backward", "max-ties-not-split", fn("max_backward(x, axis, g)", """
        is_max = x == x.max(axis=axis, keepdims=True)
        return is_max * np.expand_dims(g, axis)"""), catalogued=True),
    wrong(TO, "pick_backward", "pick-everywhere", fn("pick_backward(x, labels, g)",
          "return np.ones_like(x) * g[:, None]"), catalogued=True),
    wrong(TO, "matmul_backward", "transpose", fn("matmul_backward(A, B, G)", "return G @ B.T, G.T @ A"),
          what="dB transposed"),
    wrong(TO, "matmul_backward", "chain:no-upstream", fn("matmul_backward(A, B, G)",
          "return np.ones_like(G) @ B.T, A.T @ np.ones_like(G)"), what="no G"),
    wrong(TO, "matmul_backward", "operand:G->A @ B", fn("matmul_backward(A, B, G)", "return G @ B.T, A.T @ (A @ B)"),
          what="forward output for its gradient"),
    wrong(TO, "sum_backward", "chain:no-upstream", fn("sum_backward(x, axis, g)", "return np.ones_like(x)"),
          what="ones without g"),
    wrong(TO, "sum_backward", "scale:n", fn("sum_backward(x, axis, g)",
          "return np.ones_like(x) * np.expand_dims(g, axis) / x.shape[axis]"), what="divided as for a mean"),
    wrong(TO, "sum_backward", "expand:missing", fn("sum_backward(x, axis, g)", "return g"), what="g not broadcast"),
    wrong(TO, "mean_backward", "constant:n->x.size", fn("mean_backward(x, axis, g)",
          "return np.ones_like(x) * np.expand_dims(g, axis) / x.size"), what="divided by every entry"),
    wrong(TO, "mean_backward", "inverted", fn("mean_backward(x, axis, g)",
          "return np.ones_like(x) * np.expand_dims(g, axis) * x.shape[axis]"), what="multiplied by n"),
    wrong(TO, "mean_backward", "chain:no-upstream", fn("mean_backward(x, axis, g)",
          "return np.ones_like(x) / x.shape[axis]"), what="no g"),
    wrong(TO, "max_backward", "max-first-tie-only", fn("max_backward(x, axis, g)", """
        dx = np.zeros_like(x)
        idx = np.argmax(x, axis=axis)
        if axis == 0:
            dx[idx, np.arange(x.shape[1])] = g
        else:
            dx[np.arange(x.shape[0]), idx] = g
        return dx"""), catalogued=True),
    wrong(TO, "max_backward", "chain:no-upstream", fn("max_backward(x, axis, g)", """
        is_max = x == x.max(axis=axis, keepdims=True)
        return is_max / is_max.sum(axis=axis, keepdims=True)"""), what="tie share without g"),
    wrong(TO, "max_backward", "operand:share->x", fn("max_backward(x, axis, g)",
          "return x * np.expand_dims(g, axis)"), what="x for the mask"),
    wrong(TO, "transpose_backward", "reshape-for-transpose", fn("transpose_backward(x, g)", "return g.reshape(x.shape)"),
          what="reshape for transpose"),
    wrong(TO, "transpose_backward", "transpose", fn("transpose_backward(x, g)", "return g"), what="not transposed"),
    wrong(TO, "reshape_backward", "reshape", fn("reshape_backward(x, g)", "return g.ravel()"), what="flattened"),
    wrong(TO, "pick_backward", "chain:no-upstream", fn("pick_backward(x, labels, g)", """
        dx = np.zeros_like(x)
        dx[np.arange(len(labels)), labels] = 1
        return dx"""), what="ones at the picked entries"),
    wrong(TO, "pick_backward", "sign", fn("pick_backward(x, labels, g)", """
        dx = np.zeros_like(x)
        dx[np.arange(len(labels)), labels] = -g
        return dx"""), what="minus for the loss"),
    wrong(TO, "pick_backward", "dtype", fn("pick_backward(x, labels, g)", """
        dx = np.zeros_like(labels)[:, None] * np.zeros(x.shape[1], dtype=int)
        dx[np.arange(len(labels)), labels] = g
        return dx"""), what="an integer array"),
    wrong(TO, "sum_backward", "mutated-input", fn("sum_backward(x, axis, g)", """
        x[...] = np.expand_dims(g, axis)
        return x"""), what="written into x"),
    right(TO, fn("matmul_backward(A, B, G)", 'return np.einsum("nm,km->nk", G, B), np.einsum("nk,nm->km", A, G)'),
          what="einsum"),
    right(TO, fn("sum_backward(x, axis, g)", "return np.broadcast_to(np.expand_dims(g, axis), x.shape).copy()"),
          what="broadcast_to"),
    right(TO, fn("mean_backward(x, axis, g)", """
        dx = np.zeros_like(x)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                dx[i, j] = (g[j] if axis == 0 else g[i]) / x.shape[axis]
        return dx"""), what="loops"),
    right(TO, fn("pick_backward(x, labels, g)", "return np.eye(x.shape[1])[labels] * g[:, None]"),
          what="one-hot rows"),
]

SC = "softmax-cross-entropy"
FUSED = "softmax_cross_entropy_backward(Z, y)"
SOFTMAX = [
    wrong(SC, "grad_of_log", "log-times-input", fn("grad_of_log(dLP, P)", "return dLP * P"), catalogued=True),
    wrong(SC, "grad_of_divide", "divide-row-not-summed", fn("grad_of_divide(dP, E, S)",
          "return dP / S, -dP * E / S**2"), catalogued=True),
    wrong(SC, "grad_of_exp", "exp-times-input", fn("grad_of_exp(dE, E)", "return dE * np.log(E)"), catalogued=True),
    wrong(SC, "grad_of_loss", "sign", fn("grad_of_loss(picked)", "return np.ones_like(picked) / len(picked)"),
          what="minus lost"),
    wrong(SC, "grad_of_loss", "scale:N", fn("grad_of_loss(picked)", "return -np.ones_like(picked)"),
          what="the mean's 1/N"),
    wrong(SC, "grad_of_loss", "inverted", fn("grad_of_loss(picked)", "return -np.ones_like(picked) * len(picked)"),
          what="times N"),
    wrong(SC, "grad_of_log", "chain:no-upstream", fn("grad_of_log(dLP, P)", "return 1 / P"), what="no upstream"),
    wrong(SC, "grad_of_log", "sign", fn("grad_of_log(dLP, P)", "return -dLP / P"), what="minus of the loss again"),
    wrong(SC, "grad_of_divide", "sign", fn("grad_of_divide(dP, E, S)",
          "return dP / S, (dP * E / S**2).sum(axis=1, keepdims=True)"), what="minus lost"),
    wrong(SC, "grad_of_divide", "sum:keepdims", fn("grad_of_divide(dP, E, S)",
          "return dP / S, -(dP * E / S**2).sum(axis=1)"), what="keepdims forgotten"),
    wrong(SC, "grad_of_divide", "sum:axis", fn("grad_of_divide(dP, E, S)",
          "return dP / S, -(dP * E / S**2).sum(axis=0, keepdims=True)"), what="wrong axis"),
    wrong(SC, "grad_of_divide", "power:missing", fn("grad_of_divide(dP, E, S)",
          "return dP / S, -(dP * E / S).sum(axis=1, keepdims=True)"), catalogued=False, what="S not squared"),
    wrong(SC, "grad_of_divide", "chain:no-upstream", fn("grad_of_divide(dP, E, S)",
          "return dP / S, -(E / S**2).sum(axis=1, keepdims=True)"), what="dS without dP"),
    wrong(SC, "grad_of_row_sum", "chain:no-upstream", fn("grad_of_row_sum(dS, E)", "return np.ones_like(E)"),
          what="ones"),
    wrong(SC, "grad_of_row_sum", "operand:dS->S" if False else "chain:no-local", fn("grad_of_row_sum(dS, E)",
          "return dS"), what="not broadcast"),
    wrong(SC, "grad_of_exp", "chain:no-upstream", fn("grad_of_exp(dE, E)", "return E"), what="no upstream"),
    wrong(SC, "grad_of_exp", "chain:no-local", fn("grad_of_exp(dE, E)", "return dE"), what="exp's slope 1"),
    wrong(SC, "softmax_cross_entropy_backward", "softmax:no-max-subtraction", fn(FUSED, """
        E = np.exp(Z)
        P = E / E.sum(axis=1, keepdims=True)
        Y = np.eye(Z.shape[1])[y]
        return (P - Y) / len(y)"""), what="no max subtracted"),
    wrong(SC, "softmax_cross_entropy_backward", "softmax:diagonal", fn(FUSED, """
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        P = E / E.sum(axis=1, keepdims=True)
        Y = np.eye(Z.shape[1])[y]
        return -Y * (1 - P) / len(y)"""), what="diagonal of the Jacobian"),
    wrong(SC, "softmax_cross_entropy_backward", "softmax:no-row-sum", fn(FUSED, """
        Y = np.eye(Z.shape[1])[y]
        return -Y / len(y)"""), what="row-sum term dropped"),
    wrong(SC, "softmax_cross_entropy_backward", "forgot-1/N" if False else "scale:N", fn(FUSED, """
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        P = E / E.sum(axis=1, keepdims=True)
        return P - np.eye(Z.shape[1])[y]"""), what="1/N forgotten"),
    wrong(SC, "softmax_cross_entropy_backward", "operand:P->Z", fn(FUSED, """
        return (Z - np.eye(Z.shape[1])[y]) / len(y)"""), what="logits for probabilities"),
    wrong(SC, "softmax_cross_entropy_backward", "precedence", fn(FUSED, """
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        P = E / E.sum(axis=1, keepdims=True)
        return P - np.eye(Z.shape[1])[y] / len(y)"""), what="brackets"),
    right(SC, fn("grad_of_row_sum(dS, E)", "return dS * np.ones_like(E)"), what="times ones"),
    right(SC, fn("grad_of_divide(dP, E, S)", """
        dE = dP / S
        return dE, -(dE * E / S).sum(axis=1, keepdims=True)"""), what="dS from dE"),
    right(SC, fn("grad_of_pick(dpicked, LP, y)", "return np.eye(LP.shape[1])[y] * dpicked[:, None]"), what="one-hot"),
    right(SC, fn(FUSED, """
        shifted = Z - Z.max(axis=1, keepdims=True)
        P = np.exp(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))
        P[np.arange(len(y)), y] -= 1
        return P / len(y)"""), what="log-sum-exp, in place on its own copy"),
    right(SC, fn(FUSED, """
        from scipy_free import nothing""" if False else """
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return ((E / E.sum(axis=1, keepdims=True) - np.eye(Z.shape[1])[y]) / len(y)).astype(np.float32)"""),
          what="float32"),
]

DN = "deep-network"
DEEP = [
    wrong(DN, "output_delta", "forgot-1/N", fn("output_delta(P, y)", "return P - np.eye(P.shape[1])[y]"),
          catalogued=True),
    wrong(DN, "layer_gradients", "bias-not-summed", fn("layer_gradients(A_prev, delta)", "return A_prev.T @ delta, delta"),
          catalogued=True),
    wrong(DN, "delta_below", "relu-mask-forgotten", fn("delta_below(delta, W, Z_below)", "return delta @ W.T"),
          catalogued=True),
    wrong(DN, "delta_below", "relu-mask-z1", fn("delta_below(delta, W, Z_below)", "return (delta @ W.T) * Z_below"),
          catalogued=True),
    wrong(DN, "output_delta", "precedence", fn("output_delta(P, y)", "return P - np.eye(P.shape[1])[y] / len(y)"),
          what="brackets"),
    wrong(DN, "output_delta", "sign", fn("output_delta(P, y)", "return (np.eye(P.shape[1])[y] - P) / len(y)"),
          what="Y - P"),
    wrong(DN, "layer_gradients", "sum:keepdims", fn("layer_gradients(A_prev, delta)",
          "return A_prev.T @ delta, delta.sum(axis=0, keepdims=True)"), what="keepdims"),
    wrong(DN, "layer_gradients", "transpose", fn("layer_gradients(A_prev, delta)",
          "return delta.T @ A_prev, delta.sum(axis=0)"), what="dW transposed"),
    wrong(DN, "layer_gradients", "sum:axis", fn("layer_gradients(A_prev, delta)",
          "return A_prev.T @ delta, delta.sum(axis=1)"), what="bias summed over units"),
    wrong(DN, "layer_gradients", "scale:1/N", fn("layer_gradients(A_prev, delta)",
          "return A_prev.T @ delta / len(delta), delta.sum(axis=0)"), what="1/N again"),
    wrong(DN, "layer_gradients", "chain:no-upstream", fn("layer_gradients(A_prev, delta)",
          "return A_prev.T @ np.ones_like(delta), delta.sum(axis=0)"), what="no delta"),
    wrong(DN, "delta_below", "mask:value", fn("delta_below(delta, W, Z_below)",
          "return (delta @ W.T) * np.maximum(Z_below, 0)"), what="relu for its slope"),
    wrong(DN, "delta_below", "chain:no-upstream", fn("delta_below(delta, W, Z_below)",
          "return W.sum(axis=1) * (Z_below > 0)"), what="no delta"),
    wrong(DN, "delta_below", "mask-from:delta @ W.T", fn(
          "delta_below(delta, W, Z_below)", "return (delta @ W.T) * (delta @ W.T > 0)"), what="mask of the gradient"),
    wrong(DN, "backward", "dict-key", fn("backward(params, cache, y)", """
        inputs = {1: cache["X"], 2: cache["A1"], 3: cache["A2"]}
        grads = {}
        delta = output_delta(cache["P"], y)
        for layer in (3, 2, 1):
            grads[f"dW_{layer}"], grads[f"db_{layer}"] = layer_gradients(inputs[layer], delta)
            if layer > 1:
                delta = delta_below(delta, params[f"W{layer}"], cache[f"Z{layer - 1}"])
        return grads"""), what="keys dW_3"),
    right(DN, fn("layer_gradients(A_prev, delta)", 'return np.einsum("ni,nj->ij", A_prev, delta), np.ones(len(delta)) @ delta'),
          what="einsum and ones"),
    right(DN, fn("delta_below(delta, W, Z_below)", "return np.where(Z_below > 0, delta @ W.T, 0.0)"), what="np.where"),
    right(DN, fn("output_delta(P, y)", """
        delta = P.copy()
        delta[np.arange(len(y)), y] -= 1
        return (delta / len(y)).astype(np.float32)"""), what="copy, float32"),
]

TS = "training-step"
EPOCH = "train_epoch(params, x, y, batch_size, lr, rng)"
TRAINING = [
    wrong(TS, "sgd_step", "no-learning-rate", fn("sgd_step(params, grads, lr)", """
        for name in params:
            params[name] -= grads["d" + name]"""), catalogued=True),
    wrong(TS, "train_epoch", "no-shuffle", fn(EPOCH, """
        total = 0.0
        for start in range(0, len(x), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            cache = manual.forward(params, xb, yb)
            sgd_step(params, manual.backward(params, cache, yb), lr)
            total += float(cache["loss"]) * len(yb)
        return total / len(x)"""), catalogued=True),
    wrong(TS, "train_epoch", "last-batch-dropped", fn(EPOCH, """
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x) - batch_size + 1, batch_size):
            batch = order[start : start + batch_size]
            cache = manual.forward(params, x[batch], y[batch])
            sgd_step(params, manual.backward(params, cache, y[batch]), lr)
            total += float(cache["loss"]) * len(batch)
        return total / len(x)"""), catalogued=True),
    wrong(TS, "sgd_step", "not-in-place", fn("sgd_step(params, grads, lr)", """
        for name, p in params.items():
            p = p - lr * grads["d" + name]"""), what="rebinding a loop variable"),
    wrong(TS, "sgd_step", "state-rebound", fn("sgd_step(params, grads, lr)", """
        for name in list(params):
            params[name] = params[name] - lr * grads["d" + name]"""), what="new arrays in the dict"),
    wrong(TS, "sgd_step", "sign", fn("sgd_step(params, grads, lr)", """
        for name in params:
            params[name] += lr * grads["d" + name]"""), what="ascent"),
    wrong(TS, "train_epoch", "labels-not-shuffled", fn(EPOCH, """
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            xb, yb = x[order[start : start + batch_size]], y[start : start + batch_size]
            cache = manual.forward(params, xb, yb)
            sgd_step(params, manual.backward(params, cache, yb), lr)
            total += float(cache["loss"]) * len(yb)
        return total / len(x)"""), what="labels in the original order"),
    wrong(TS, "train_epoch", "loss-summed", fn(EPOCH, """
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            cache = manual.forward(params, x[batch], y[batch])
            sgd_step(params, manual.backward(params, cache, y[batch]), lr)
            total += float(cache["loss"])
        return total"""), what="sum of the batch losses"),
    wrong(TS, "train_epoch", "unweighted-mean", fn(EPOCH, """
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            cache = manual.forward(params, x[batch], y[batch])
            sgd_step(params, manual.backward(params, cache, y[batch]), lr)
            losses.append(float(cache["loss"]))
        return float(np.mean(losses))"""), catalogued=True),
    right(TS, fn("sgd_step(params, grads, lr)", """
        for name, p in params.items():
            np.subtract(p, lr * grads["d" + name], out=p)"""), what="np.subtract out="),
    right(TS, fn("sgd_step(params, grads, lr)", """
        for name in params:
            params[name][...] = params[name] - lr * grads["d" + name]"""), what="slice assignment"),
]

OP = "optimizers"
MOM = "momentum_step(param, grad, velocity, lr, momentum)"
ADAM = "adam_step(param, grad, m, v, t, lr, beta1, beta2, eps)"


def adam(update: str, moments: str = "m *= beta1\nm += (1 - beta1) * grad\nv *= beta2\nv += (1 - beta2) * grad**2") -> str:
    return fn(ADAM, moments + "\n" + textwrap.dedent(update).strip("\n"))


OPTIMIZERS = [
    wrong(OP, "momentum_step", "dampened-momentum", fn(MOM, """
        velocity *= momentum
        velocity += (1 - momentum) * grad
        param -= lr * velocity"""), catalogued=True),
    wrong(OP, "adam_step", "no-bias-correction", adam("param -= lr * m / (np.sqrt(v) + eps)"), catalogued=True),
    wrong(OP, "adam_step", "eps-inside-sqrt", adam(
        "param -= lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps)"), catalogued=True),
    wrong(OP, "momentum_step", "momentum:order", fn(MOM, """
        param -= lr * velocity
        velocity *= momentum
        velocity += grad"""), what="stepped with the old velocity"),
    wrong(OP, "momentum_step", "state-rebound", fn(MOM, """
        velocity = momentum * velocity + grad
        param -= lr * velocity"""), what="velocity rebound"),
    wrong(OP, "momentum_step", "not-in-place", fn(MOM, """
        velocity *= momentum
        velocity += grad
        param = param - lr * velocity"""), what="param rebound"),
    wrong(OP, "adam_step", "adam:bias-step", adam(
        "param -= lr * (m / (1 - beta1 ** (t + 1))) / (np.sqrt(v / (1 - beta2 ** (t + 1))) + eps)"), what="t + 1"),
    wrong(OP, "adam_step", "adam:bias-step", adam(
        "param -= lr * (m / (1 - beta1 ** (t - 1))) / (np.sqrt(v / (1 - beta2 ** (t - 1))) + eps)"), what="t - 1"),
    wrong(OP, "adam_step", "adam:betas-swapped", adam(
        "param -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)",
        "m *= beta2\nm += (1 - beta2) * grad\nv *= beta1\nv += (1 - beta1) * grad**2"), what="betas swapped"),
    wrong(OP, "adam_step", "adam:no-square", adam(
        "param -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)",
        "m *= beta1\nm += (1 - beta1) * grad\nv *= beta2\nv += (1 - beta2) * grad"), what="square missing"),
    wrong(OP, "adam_step", "adam:bias-one", adam("param -= lr * m / (np.sqrt(v / (1 - beta2**t)) + eps)"),
          what="only v corrected"),
    wrong(OP, "adam_step", "state-rebound", adam(
        "param -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)",
        "m = beta1 * m + (1 - beta1) * grad\nv = beta2 * v + (1 - beta2) * grad**2"), what="m and v rebound"),
    wrong(OP, "adam_step", "not-in-place", adam(
        "param = param - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)"), what="param rebound"),
    right(OP, fn(MOM, """
        velocity *= momentum
        velocity -= lr * grad
        param += velocity"""), what="Sutskever's form (v holds -lr times PyTorch's)"),
    right(OP, adam("""
        step = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        param -= step * m / (np.sqrt(v) + eps)"""), what="Kingma and Ba's efficient form"),
    right(OP, adam("""
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        param[...] = param - lr * m_hat / (np.sqrt(v_hat) + eps)"""), what="slice assignment"),
]

CP = "compare"
COMPARE = [
    wrong(CP, "dZ2", "forgot-1/N", "dZ2 = P - Y", catalogued=True),
    wrong(CP, "dA1", "operand:W2->W1" if False else "transpose", "dA1 = (W2 @ dZ2.T)", what="transposed result"),
    wrong(CP, "dW2", "operand:A1->Z1", "dW2 = Z1.T @ dZ2", what="Z1 for A1"),
    wrong(CP, "dW1", "operand:dZ1->dA1", "dW1 = X.T @ dA1", what="gradient before the relu"),
    wrong(CP, "db1", "sum:keepdims", "db1 = dZ1.sum(axis=0, keepdims=True)", what="keepdims"),
    wrong(CP, "db2", "sum:axis", "db2 = dZ2.sum(axis=1)", what="wrong axis"),
    wrong(CP, "dZ1", "mask-from:dA1", "dZ1 = dA1 * (dA1 > 0)", what="mask of the gradient"),
    wrong(CP, "dZ1", "mask:value", "dZ1 = dA1 * A1", what="relu's output for its slope"),
    wrong(CP, "dZ2", "precedence", "dZ2 = P - Y / N", what="brackets"),
    wrong(CP, "dZ2", "sign", "dZ2 = (Y - P) / N", what="sign"),
    wrong(CP, "dW2", "transpose", "dW2 = (A1.T @ dZ2).T", what="transposed"),
    wrong(CP, "dZ1", "chain:no-upstream", "dZ1 = (Z1 > 0).astype(float)", what="mask alone"),
    wrong(CP, "dZ1", "relu-mask-forgotten", "dZ1 = dA1.copy()", catalogued=True),
    wrong(CP, "dW1", "scale:N", "dW1 = X.T @ dZ1 * N", what="times N"),
    wrong(CP, "chain", "dict-key", """
        return {"dZ2": dZ2, "dW2": dW2, "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "dB1": db1}""",
          what="dB1 for db1"),
    wrong(CP, "inputs", "mutated-input", """
        dZ2 = P
        dZ2[np.arange(N), y] -= 1
        dZ2 /= N""", what="P changed in place"),
    wrong(CP, "dW1", "dtype", "dW1 = (X.T @ dZ1).astype(np.float16)", what="float16"),
    right(CP, "dW1 = (X.T @ dZ1).astype(np.float32)", what="float32"),
    right(CP, 'dW1 = np.einsum("nf,nh->fh", X, dZ1)', what="einsum"),
]

EN = "engine"


def loop(*parts: str, order: str = "reversed(topological_order(root))") -> str:
    """The engine's backward with the student's handling of one input's gradient (``parts``, in order)."""
    body = "\n".join(textwrap.dedent(part).strip("\n") for part in parts)
    return fn("backward(root)", f"""
        grads = {{root: np.ones(root.shape, dtype=root.dtype)}}
        for tensor in {order}:
            grad = grads.pop(tensor, None)
            if grad is None:
                continue
            if tensor._op is None:
                if tensor.requires_grad:
                    tensor.grad = grad.copy() if tensor.grad is None else tensor.grad + grad
                continue
            for parent, parent_grad in zip(tensor._inputs, tensor._backward(grad)):
                if parent_grad is None or not parent.requires_grad:
                    continue
""" + textwrap.indent(body, " " * 16))


SUMMED = """
if parent_grad.shape != parent.shape:
    parent_grad = sum_to_shape(parent_grad, parent.shape)
"""
ENGINE = [
    wrong(EN, "backward", "overwrite", loop(SUMMED, "grads[parent] = parent_grad"), catalogued=True),
    wrong(EN, "backward", "aliasing", loop(SUMMED, """
        if parent in grads:
            grads[parent] += parent_grad
        else:
            grads[parent] = parent_grad"""), what="+= into a shared array"),
    wrong(EN, "backward", "order-not-reversed", loop(SUMMED, """
        grads[parent] = grads[parent] + parent_grad if parent in grads else parent_grad""",
        order="topological_order(root)"), what="reversed() dropped"),
    wrong(EN, "backward", "unbroadcast-forgotten", loop("""
        grads[parent] = grads[parent] + parent_grad if parent in grads else parent_grad"""), catalogued=True),
    wrong(EN, "topological_order", "visited-too-early", fn("topological_order(root)", """
        order, visited, stack = [], {root}, [root]
        while stack:
            tensor = stack.pop()
            order.append(tensor)
            for parent in tensor._inputs:
                if parent not in visited:
                    visited.add(parent)
                    stack.append(parent)
        return order[::-1]"""), catalogued=True),
    wrong(EN, "topological_order, 100,000-op chain", "recursion", fn("topological_order(root)", """
        order, visited = [], set()
        def visit(tensor):
            if tensor in visited:
                return
            visited.add(tensor)
            for parent in tensor._inputs:
                visit(parent)
            order.append(tensor)
        visit(root)
        return order"""), catalogued=True),
    wrong(EN, "sum_to_shape", "mean-not-sum", "grad = grad.mean(axis=tuple(range(extra)))" if False else fn(
        "sum_to_shape(grad, shape)", """
        while grad.ndim > len(shape):
            grad = grad.mean(axis=0)
        for axis, size in enumerate(shape):
            if size == 1 and grad.shape[axis] != 1:
                grad = grad.mean(axis=axis, keepdims=True)
        return grad"""), catalogued=True),
    wrong(EN, "sum_to_shape", "keepdims-forgotten", fn("sum_to_shape(grad, shape)", """
        while grad.ndim > len(shape):
            grad = grad.sum(axis=0)
        for axis, size in enumerate(shape):
            if size == 1 and grad.shape[axis] != 1:
                grad = grad.sum(axis=axis)
        return grad"""), catalogued=True),
]

# Written after the diagnosis was built, as a check of how it does on mistakes it was not tuned on.
LATER = [
    wrong(NB, "dW2", "operand:dZ2->P", "dW2 = A1.T @ (P / N)", vague=True,
          what="P / N for dZ2: two edits from the formula (an operand and a term), the search tries one"),
    wrong(NB, "db2", "bias-averaged", "db2 = np.mean(dZ2, axis=0) * 1.0", what="mean"),
    wrong(NB, "dZ1", "chain:no-upstream", "dZ1 = np.where(Z1 > 0, 1.0, 0.0)", what="the mask alone"),
    wrong(LD, "pow_backward", "constant:off-by-one", fn("pow_backward(a, p, g)", "return g * (p - 1) * a ** (p - 1)"),
          what="p - 1 as the factor"),
    wrong(LD, "log_backward", "chain:no-upstream", fn("log_backward(a, g)", "return np.ones_like(a) / a"),
          what="1/a alone"),
    wrong(LD, "tanh_backward", "missing-term:1", fn("tanh_backward(a, g)", "return -g * np.tanh(a) ** 2"),
          what="the 1 forgotten"),
    wrong(LD, "div_backward", "operand:b->a", fn("div_backward(a, b, g)", "return g / a, -g * a / b**2"),
          what="divides by a"),
    wrong(LD, "mul_backward", "chain:no-local", fn("mul_backward(a, b, g)", "return g, g"), what="as for add"),
    wrong(TO, "matmul_backward", "transpose", fn("matmul_backward(A, B, G)", "return G @ B.T, G.T @ A"),
          what="G.T @ A"),
    wrong(TO, "sum_backward", "sign", fn("sum_backward(x, axis, g)", "return -np.ones_like(x) * np.expand_dims(g, axis)"),
          what="minus"),
    wrong(TO, "max_backward", "chain:no-upstream", fn("max_backward(x, axis, g)", """
        m = (x == x.max(axis=axis, keepdims=True)).astype(float)
        return m / m.sum(axis=axis, keepdims=True)"""), what="share without g"),
    wrong(TO, "pick_backward", "scale:1/2", fn("pick_backward(x, labels, g)", """
        dx = np.zeros_like(x)
        dx[np.arange(len(labels)), labels] = g / 2
        return dx"""), what="halved"),
    wrong(SC, "grad_of_exp", "operand:E->dE", fn("grad_of_exp(dE, E)", "return dE * dE"), what="dE squared"),
    wrong(SC, "grad_of_divide", "divide-times-s", fn("grad_of_divide(dP, E, S)",
          "return dP * S, -(dP * E / S**2).sum(axis=1, keepdims=True)"), what="times S"),
    wrong(SC, "grad_of_loss", "inverted", fn("grad_of_loss(picked)",
          "return -len(picked) * np.ones_like(picked)"), what="times N"),
    wrong(SC, "softmax_cross_entropy_backward", "missing-term:Y", fn(FUSED, """
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True) / len(y)"""), what="Y forgotten"),
    wrong(DN, "output_delta", "scale:1/N", fn("output_delta(P, y)", "return (P - np.eye(P.shape[1])[y]) / len(y) ** 2"),
          what="N squared"),
    wrong(DN, "layer_gradients", "transpose", fn("layer_gradients(A_prev, delta)",
          "return delta.T @ A_prev, delta.sum(axis=0)"), what="delta.T @ A_prev"),
    wrong(OP, "momentum_step", "sign", fn(MOM, """
        velocity *= momentum
        velocity += grad
        param += lr * velocity"""), what="ascent"),
    wrong(OP, "adam_step", "adam:no-sqrt", adam(
        "param -= lr * (m / (1 - beta1**t)) / (v / (1 - beta2**t) + eps)"), what="no square root"),
    wrong(OP, "adam_step", "no-learning-rate", adam("param -= (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)"),
          what="no lr"),
    wrong(TS, "sgd_step", "scale", fn("sgd_step(params, grads, lr)", """
        for name in params:
            params[name] -= lr * lr * grads["d" + name]"""), what="lr twice"),
    wrong(EN, "sum_to_shape", "sum-to-shape:leading-only",
          fn("sum_to_shape(grad, shape)", """
        while grad.ndim > len(shape):
            grad = grad.sum(axis=0)
        return grad"""), what="size-1 axes not summed"),
    wrong(CP, "db2", "bias-averaged", "db2 = dZ2.mean(axis=0)", catalogued=True),
    wrong(CP, "dW1", "transpose", "dW1 = dZ1.T @ X", what="transposed (784 x 12: shape differs)"),
]

SUBMISSIONS: list[Submission] = [*NETWORK, *LOCAL, *TENSOR_OPS, *SOFTMAX, *DEEP, *TRAINING, *OPTIMIZERS, *COMPARE,
                                 *ENGINE, *LATER]

# How a wrong submission's diagnosis counts: the cause named; a failure with no cause, or only "some constant
# factor" or "NaN somewhere" (vague); another cause (wrong); or a pass (not caught).
VAGUE = {None, "scale", "not-finite"}
OUTCOMES = ("named right", "vague", "wrong cause", "not caught")


def run(submission: Submission, folder: Path) -> list[Any]:
    """The rows (ItemResult) the check gives the submission, written to a file in ``folder`` as a student's."""
    from tinygrad_edu.exercises import check_file, get

    exercise = "network-backprop" if submission.exercise == "compare" else submission.exercise
    path = folder / get(exercise).filename
    path.write_text(source(get(exercise).solution(), submission.code))
    if submission.exercise != "compare":
        return check_file(exercise, path).items
    from tinygrad_edu.exercises.checks.network_backprop import compare_student_backward, problem
    from tinygrad_edu.exercises.report import FAIL, PASS, ItemResult
    from tinygrad_edu.exercises.student import load_file

    params, x, y = problem(seed=3, hidden=12, batch=16)
    comparison = compare_student_backward(load_file(path).backward, params, x, y)
    problems = [row.problem for row in comparison.rows if row.problem]
    keys = any(problem.startswith("your dict has no") for problem in problems)
    chain = ItemResult("chain", PASS if comparison.passed_chain else FAIL, diagnosis="; ".join(problems),
                       mistake="dict-key" if keys else None)
    return [*comparison.lines, chain]


def outcome(submission: Submission, rows: list[Any]) -> str:
    """"passed" or "rejected" for a correct submission; one of :data:`OUTCOMES` for a wrong one."""
    passed = all(row.passed for row in rows)
    if submission.correct:
        return "passed" if passed else "rejected"
    if passed:
        return "not caught"
    row = next((r for r in rows if r.item == submission.item and not r.passed), None) or \
        next(r for r in rows if not r.passed)
    if row.mistake == submission.cause and row.item == submission.item:
        return "named right"
    return "vague" if row.mistake in VAGUE else "wrong cause"


def first_failure(rows: list[Any]) -> str:
    """The first failing row and its diagnosis, to show in a test's message."""
    row = next((r for r in rows if not r.passed), None)
    return "every row passes" if row is None else f"{row.item}: [{row.mistake}] {row.diagnosis}"

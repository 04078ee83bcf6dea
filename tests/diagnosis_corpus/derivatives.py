"""Wrong and correct local derivatives, tensor ops and softmax steps."""

from __future__ import annotations

from .submission import fn, right, wrong

LD = "local-derivatives"
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
    wrong(SC, "grad_of_row_sum", "broadcast:missing", fn("grad_of_row_sum(dS, E)",
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
    wrong(SC, "softmax_cross_entropy_backward", "scale:N", fn(FUSED, """
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
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return ((E / E.sum(axis=1, keepdims=True) - np.eye(Z.shape[1])[y]) / len(y)).astype(np.float32)"""),
          what="float32"),
]

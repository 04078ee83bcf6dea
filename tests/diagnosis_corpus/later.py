"""Submissions written after the diagnosis was built, to see how it does on mistakes it was not tuned on."""

from __future__ import annotations

from .derivatives import FUSED, LD, SC, TO
from .networks import CP, DN, NB
from .steps import EN, MOM, OP, TS, adam
from .submission import edit, fn, wrong

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
    wrong(TS, "sgd_step", "scale:lr", fn("sgd_step(params, grads, lr)", """
        for name in params:
            params[name] -= lr * lr * grads["d" + name]"""), what="lr twice"),
    wrong(EN, "sum_to_shape", "sum-to-shape:leading-only",
          fn("sum_to_shape(grad, shape)", """
        while grad.ndim > len(shape):
            grad = grad.sum(axis=0)
        return grad"""), what="size-1 axes not summed"),
    wrong(CP, "db2", "bias-averaged", "db2 = dZ2.mean(axis=0)", catalogued=True),
    wrong(CP, "dW1", "transpose", "dW1 = dZ1.T @ X", what="transposed (784 x 12: shape differs)"),
    # a second round, written after the first round's gaps were closed
    wrong(NB, "dW1", "transpose", "dW1 = (dZ1.T @ X).T.T", what="dZ1.T @ X"),
    wrong(NB, "dA1", "operand:dZ2->P", "dA1 = P @ W2.T", what="P for dZ2"),
    wrong(NB, "db2", "operand:dZ2->P", "db2 = P.sum(axis=0)", what="sum of P"),
    wrong(NB, "dZ1", "operand:dA1->dZ2", "dZ1 = dZ2 * (Z1 > 0)", what="dZ2 for dA1 (hidden 10 = classes)"),
    wrong(LD, "relu_backward", "mask-from:g", fn("relu_backward(a, g)", "return g * (g > 0)"), what="mask of g"),
    wrong(LD, "exp_backward", "sign", fn("exp_backward(a, g)", "return -g * np.exp(a)"), what="minus"),
    wrong(LD, "log_backward", "operand:g->a", fn("log_backward(a, g)", "return g / g"),
          what="g / g: the same numbers as a / a (all ones), which the sentence names beside it"),
    wrong(TO, "mean_backward", "scale:n", fn("mean_backward(x, axis, g)",
          "return np.ones_like(x) * np.expand_dims(g, axis) / x.shape[axis] ** 2"), what="n squared"),
    wrong(TO, "pick_backward", "operand:Y->x", fn("pick_backward(x, labels, g)", "return x * g[:, None]"),
          what="x for the one-hot"),
    wrong(SC, "grad_of_log", "operand:P->dLP", fn("grad_of_log(dLP, P)",
          "return dLP / dLP"), what="dLP / dLP"),
    wrong(SC, "grad_of_row_sum", "sign", fn("grad_of_row_sum(dS, E)", "return -dS * np.ones_like(E)"), what="minus"),
    wrong(DN, "layer_gradients", "operand:A_prev->delta", fn("layer_gradients(A_prev, delta)",
          "return delta.T @ delta, delta.sum(axis=0)"), what="delta for A_prev"),
    wrong(OP, "adam_step", "adam:bias-one", adam(
        "param -= lr * (m / (1 - beta1**t)) / (np.sqrt(v) + eps)"), what="only m corrected"),
    wrong(OP, "momentum_step", "momentum:order", fn(MOM, """
        param -= lr * velocity
        velocity[...] = momentum * velocity + grad"""), what="old velocity, slice assignment"),
    # a third round, written after the second was closed
    wrong(TO, "max_backward", "mask-value:x", fn("max_backward(x, axis, g)",
          "return np.expand_dims(g, axis) * (x == x.max(axis=axis, keepdims=True)) * x"), vague=True,
          what="times x: at the maxima x is 5 in every column, so the numbers show only a factor 5"),
    wrong(TO, "reshape_backward", "reshape", fn("reshape_backward(x, g)", "return g.reshape(-1)"), what="flat"),
    wrong(EN, "backward", "overwrite-leaf-grad", edit("tensor.grad = tensor.grad + grad",
                                                      "tensor.grad = grad.copy()"), catalogued=True),
    wrong(OP, "adam_step", "adam:betas-swapped", adam(
        "param -= lr * (m / (1 - beta2**t)) / (np.sqrt(v / (1 - beta1**t)) + eps)"), what="swapped in the corrections"),
    wrong(OP, "momentum_step", "dampened-momentum", fn(MOM, """
        velocity[...] = momentum * velocity + (1 - momentum) * grad
        param -= lr * velocity"""), catalogued=True),
    wrong(SC, "grad_of_divide", "chain:no-upstream", fn("grad_of_divide(dP, E, S)",
          "return 1 / S * np.ones_like(E), -(dP * E / S**2).sum(axis=1, keepdims=True)"), what="dE without dP"),
    wrong(LD, "pow_backward", "power:missing", fn("pow_backward(a, p, g)", "return g * p * a ** (p - 2)"),
          what="lowered twice: a**(p - 2) is a**1 at p = 3, the numbers of the power left out, which is named"),
    wrong(DN, "output_delta", "missing-term:Y", fn("output_delta(P, y)", "return P / len(y)"), what="Y forgotten"),
]

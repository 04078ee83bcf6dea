"""Wrong and correct backwards of the networks: network-backprop, deep-network and compare --backward."""

from __future__ import annotations

from .submission import edit, fn, right, wrong

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
    wrong(DN, "backward", "dict-key", edit('grads[f"dW{layer}"], grads[f"db{layer}"] =',
                                          'grads[f"dW_{layer}"], grads[f"db_{layer}"] = layer_gradients(inputs[layer], delta)'),
          what="keys dW_3"),
    right(DN, fn("layer_gradients(A_prev, delta)", 'return np.einsum("ni,nj->ij", A_prev, delta), np.ones(len(delta)) @ delta'),
          what="einsum and ones"),
    right(DN, fn("delta_below(delta, W, Z_below)", "return np.where(Z_below > 0, delta @ W.T, 0.0)"), what="np.where"),
    right(DN, fn("output_delta(P, y)", """
        delta = P.copy()
        delta[np.arange(len(y)), y] -= 1
        return (delta / len(y)).astype(np.float32)"""), what="copy, float32"),
]

CP = "compare"
COMPARE = [
    wrong(CP, "dZ2", "forgot-1/N", "dZ2 = P - Y", catalogued=True),
    wrong(CP, "dA1", "transpose", "dA1 = (W2 @ dZ2.T)", what="transposed result"),
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

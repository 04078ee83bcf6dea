"""Wrong and correct training steps, optimizer updates and engines."""

from __future__ import annotations

import textwrap

from .submission import edit, fn, right, wrong

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
    wrong(TS, "train_epoch", "loss-summed", edit("total += float(cache", 'total += float(cache["loss"])'),
          edit("return total / len(x)", "return total"), what="sum of the batch losses"),
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

EN = "engine"


ADD = "grads[parent] = grads[parent] + parent_grad"
ENGINE = [
    wrong(EN, "backward", "overwrite", edit(ADD, "grads[parent] = parent_grad"), catalogued=True),
    # In place is right here: no op of the engine hands one array to two inputs (add gives its second a copy),
    # so the array added into belongs to this parent alone, as in PyTorch's engine.
    right(EN, edit(ADD, "grads[parent] += parent_grad"), what="+= accumulates in place"),
    wrong(EN, "backward", "order-not-reversed", edit("for tensor in reversed(topological_order(root)):",
                                                     "for tensor in topological_order(root):"), what="reversed() dropped"),
    wrong(EN, "backward", "unbroadcast-forgotten", edit("parent_grad = sum_to_shape(parent_grad, parent.shape)",
                                                        "pass"), catalogued=True),
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
    wrong(EN, "sum_to_shape", "mean-not-sum", fn(
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

"""Solution of training-step: plain SGD (what :class:`tinygrad_edu.optim.SGD` does with momentum 0) and the
epoch loop of :func:`tinygrad_edu.training.fit`, without its progress bar, schedule and augmentation."""

from tinygrad_edu import manual


def sgd_step(params, grads, lr):
    for name in ("W1", "b1", "W2", "b2"):
        params[name] -= lr * grads["d" + name]  # in place: the caller's arrays move


def train_epoch(params, x, y, batch_size, lr, rng):
    order = rng.permutation(len(x))
    total = 0.0
    for start in range(0, len(x), batch_size):
        batch = order[start : start + batch_size]
        cache = manual.forward(params, x[batch], y[batch])
        sgd_step(params, manual.backward(params, cache, y[batch]), lr)
        total += float(cache["loss"]) * len(batch)  # each batch counts with its size
    return total / len(x)

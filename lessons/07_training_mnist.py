# %% [markdown]
# # Lesson 7: training the 784-128-10 classifier on MNIST, twice
#
# Once with the hand-derived gradients of lesson 5 (tinygrad_edu.manual, plain NumPy), once with autodiff
# (tinygrad_edu.nn.MLP and backward()). Both start from the same weights and take the same mini-batches with
# the same optimizer, so their curves lie on top of each other. Then we look at what the network learned:
# predictions, its most confident mistakes, and the confusion matrix.
#
# Measured honestly: 5,000 of the 60,000 training images are held out as a validation set, which the
# per-epoch accuracies are measured on; the 10,000 test images are used once, at the end, for the trained
# networks.
#
# Run it as a script, `python lessons/07_training_mnist.py [--quick] [--epochs N] [--data-dir DIR] [--out DIR]`,
# or cell by cell as a notebook. Needs MNIST (see the README: TINYGRAD_EDU_DATA, or downloaded once).
# Quick mode trains on 10,000 images for 2 epochs; the full run uses all 55,000 remaining training images for
# 5 epochs.

# %%
# Settings: change them and rerun. Run as a script, --quick, --epochs, --data-dir and --out replace them.
QUICK = False  # True: 10,000 training images and 2 epochs instead of 55,000 and 5
EPOCHS = None  # None: 2 when QUICK, else 5
DATA_DIR = None  # the folder holding MNIST (None: $TINYGRAD_EDU_DATA, else downloaded once into the cache)
OUT = "out/lesson-07"  # the folder for this lesson's figures

from tinygrad_edu.course import lesson_settings

QUICK, EPOCHS, DATA_DIR, OUT = lesson_settings(
    7, "training on MNIST with hand-derived gradients and with autodiff",
    quick=QUICK, epochs=EPOCHS, data_dir=DATA_DIR, out=OUT,
)

# %%
import numpy as np
from tqdm import tqdm

import tinygrad_edu.functional as F
from tinygrad_edu import Tensor, manual, no_grad
from tinygrad_edu.course import format_table, heading, new_figure, record_numbers, save_figure, show_saved
from tinygrad_edu.data import BatchIterator, load_mnist, train_val_split
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD
from tinygrad_edu.training.plots import plot_confusion_matrix
from tinygrad_edu.training.agreement import lockstep
from tinygrad_edu.training.loop import TrainConfig, confusion_matrix

HIDDEN, BATCH_SIZE, LEARNING_RATE, SEED = 128, 64, 0.1, 0
VALIDATION_IMAGES = 5_000
QUICK_TRAIN_IMAGES, QUICK_EPOCHS, FULL_EPOCHS = 10_000, 2, 5


# %% [markdown]
# ## Two training loops

# %%
# --8<-- [start:train_by_hand]
def train_by_hand(params, batches, epochs, evaluate):
    """SGD with the hand-derived gradients: forward, backward (seven lines of NumPy), step."""
    optimizer = SGD([params["W1"], params["b1"], params["W2"], params["b2"]], lr=LEARNING_RATE)
    losses, accuracies = [], []
    for epoch in range(epochs):
        for x, y in tqdm(batches, desc=f"by hand, epoch {epoch + 1}/{epochs}", leave=False):
            cache = manual.forward(params, x, y)
            grads = manual.backward(params, cache, y)
            optimizer.step([grads["dW1"], grads["db1"], grads["dW2"], grads["db2"]])
            losses.append(float(cache["loss"]))
        accuracies.append(evaluate(lambda x: manual.forward(params, x)["Z2"]))
    return losses, accuracies
# --8<-- [end:train_by_hand]


# %%
# --8<-- [start:train_with_autodiff]
def train_with_autodiff(model, batches, epochs, evaluate):
    """The same loop, with the gradients derived by backward()."""
    optimizer = SGD(model.parameters(), lr=LEARNING_RATE)
    losses, accuracies = [], []
    for epoch in range(epochs):
        for x, y in tqdm(batches, desc=f"autodiff, epoch {epoch + 1}/{epochs}", leave=False):
            loss = F.cross_entropy(model(Tensor(x)), y)
            optimizer.zero_grad()  # gradients accumulate: clear last step's
            loss.backward()
            optimizer.step()  # reads each parameter's .grad
            losses.append(loss.item())
        with no_grad():  # no graph needed to evaluate
            accuracies.append(evaluate(lambda x: model(Tensor(x)).data))
    return losses, accuracies
# --8<-- [end:train_with_autodiff]


def running_mean(values: list[float], window: int) -> np.ndarray:
    """Mean of each run of ``window`` consecutive values: a readable curve out of noisy per-batch losses."""
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


# %% [markdown]
# ## The data: training, validation and test

# %%
epochs = EPOCHS or (QUICK_EPOCHS if QUICK else FULL_EPOCHS)
mnist = load_mnist(DATA_DIR)
# The validation images are carved from the training set; the test set waits for the end.
train_x, train_y, val_x, val_y = train_val_split(mnist.train_images, mnist.train_labels, VALIDATION_IMAGES,
                                                 seed=SEED)
if QUICK:
    train_x, train_y = train_x[:QUICK_TRAIN_IMAGES], train_y[:QUICK_TRAIN_IMAGES]
test_x, test_y = mnist.test_images, mnist.test_labels
print(f"training on {len(train_y):,} images for {epochs} epochs (batches of {BATCH_SIZE}, SGD, lr {LEARNING_RATE}); "
      f"validating on {len(val_y):,} held-out training images; testing once, at the end, on {len(test_y):,}")
record_numbers(OUT, run="quick" if QUICK else "full", train_images=f"{len(train_y):,}", epochs=str(epochs))


def evaluate(logits_of) -> float:
    """Accuracy on the validation images (the test images are kept for the end)."""
    return float(np.mean(logits_of(val_x).argmax(axis=1) == val_y))


# %% [markdown]
# ## Training, by hand and with autodiff

# %%
heading("Training")
params = manual.init_params(HIDDEN, seed=SEED)
model = MLP(hidden=HIDDEN, seed=SEED)  # the same starting weights as params
# Each engine gets its own iterator with the same seed: the same batches in the same order.
hand_losses, hand_acc = train_by_hand(params, BatchIterator(train_x, train_y, BATCH_SIZE, seed=SEED),
                                      epochs, evaluate)
auto_losses, auto_acc = train_with_autodiff(model, BatchIterator(train_x, train_y, BATCH_SIZE, seed=SEED),
                                            epochs, evaluate)
print(format_table(["epoch", "validation accuracy, by hand", "validation accuracy, autodiff"],
                   [[e + 1, f"{h:.2%}", f"{a:.2%}"] for e, (h, a) in enumerate(zip(hand_acc, auto_acc))]))
test_hand = float(np.mean(manual.forward(params, test_x)["Z2"].argmax(axis=1) == test_y))
with no_grad():
    test_autodiff = float(np.mean(model(Tensor(test_x)).data.argmax(axis=1) == test_y))
print(f"test accuracy (hand-derived gradients): {test_hand:.2%}")
print(f"test accuracy (autodiff): {test_autodiff:.2%}")
drift = max(float(np.max(np.abs(model.manual_params()[k] - params[k]))) for k in params)
print(f"after {len(hand_losses):,} steps, the largest difference between the two engines' weights: {drift:.1e}")
record_numbers(OUT, test_accuracy=f"{test_hand:.2%}", test_accuracy_autodiff=f"{test_autodiff:.2%}",
               steps=f"{len(hand_losses):,}", sgd_drift=f"{drift:.1e}")

# %%
fig, (loss_ax, acc_ax) = new_figure(1, 2, width=10.0, height=3.6)
window = max(1, len(hand_losses) // 50)
loss_ax.plot(running_mean(hand_losses, window), linewidth=3, alpha=0.5, label="hand-derived gradients")
loss_ax.plot(running_mean(auto_losses, window), "--", label="autodiff")
loss_ax.set_xlabel("step")
loss_ax.set_ylabel(f"training loss (mean of {window} batches)")
loss_ax.set_yscale("log")
loss_ax.legend()
epochs_axis = np.arange(1, epochs + 1)
acc_ax.plot(epochs_axis, np.array(hand_acc) * 100, "o-", linewidth=3, alpha=0.5, label="hand-derived gradients")
acc_ax.plot(epochs_axis, np.array(auto_acc) * 100, "s--", label="autodiff")
acc_ax.set_xlabel("epoch")
acc_ax.set_ylabel("validation accuracy (%)")
acc_ax.set_xticks(epochs_axis)
acc_ax.legend()
save_figure(fig, OUT, "curves.png")

# %% [markdown]
# ## How equal are the two engines?
#
# Their gradients agree up to rounding: the same products, summed in different orders. What the training
# does with that rounding decides how far apart the weights end. Here, the same data with Adam for one epoch,
# both engines side by side: in float32, as they train, and in float64, whose rounding is about a billion
# times finer.

# %%
heading("With Adam, the same rounding ends further apart")
# --8<-- [start:adam_drift]
adam = TrainConfig(hidden=HIDDEN, epochs=1, batch_size=BATCH_SIZE,
                   optimizer="adam", lr=1e-3, schedule="constant",
                   augment=0, seed=SEED)
# Both engines, step by step on the same batches
float32 = lockstep(adam, train_x, train_y)
float64 = lockstep(adam, train_x, train_y, dtype=np.float64)
# --8<-- [end:adam_drift]
print(format_table(["parameter", "largest |autodiff - manual|, float32", "float64"],
                   [[name, f"{float32.difference()[name].max():.1e}", f"{float64.difference()[name].max():.1e}"]
                    for name in manual.PARAM_NAMES]))
relu_flips = int(float32.relu_disagreements.sum())
print(f"float32, after the first step alone: {float32.drift[0]:.1e}; "
      f"ReLU decisions that differed between the engines: {relu_flips}")
record_numbers(OUT, adam_w1_drift=f"{float32.difference()['W1'].max():.1e}",
               adam_first_step=f"{float32.drift[0]:.1e}", adam_float64_drift=f"{float64.drift[-1]:.1e}",
               adam_relu_flips=f"{relu_flips:,}")

# %% [markdown]
# ## What the network learned

# %%
heading("What the network learned")
# --8<-- [start:predict]
probabilities = manual.forward(params, test_x)["P"]  # (10000, 10), each row sums to 1
predicted = probabilities.argmax(axis=1)
confidence = probabilities.max(axis=1)
confusion = confusion_matrix(test_y, predicted)  # rows: true digit, columns: predicted
# --8<-- [end:predict]
wrong = np.flatnonzero(predicted != test_y)
print(f"{len(wrong)} of {len(test_y)} test images misclassified ({len(wrong) / len(test_y):.2%})")
print("confusion matrix (rows: true digit, columns: predicted):")
print(format_table(["true", *map(str, range(10))], [[str(d), *map(int, row)] for d, row in enumerate(confusion)]))
off_diagonal = confusion - np.diag(np.diag(confusion))
# The largest off-diagonal entries, largest first: the digits that look alike to this network.
largest = np.argsort(-off_diagonal, axis=None)[:3]
top_confusions = [(int(t), int(g), int(off_diagonal[t, g])) for t, g in zip(*np.unravel_index(largest, off_diagonal.shape))]
print("most frequent mistakes: " + ", ".join(f"{t} read as {g} ({n} times)" for t, g, n in top_confusions))
record_numbers(OUT, top_confusions=", ".join(f"{t} read as {g} ({n} times)" for t, g, n in top_confusions))
print("per-digit accuracy: " + ", ".join(f"{d}: {confusion[d, d] / confusion[d].sum():.1%}" for d in range(10)))


# %%
def show_digits(indices, title, name):
    fig, axes = new_figure(3, 8, width=9.0, height=4.2)
    for ax, index in zip(axes.flat, indices):
        ax.imshow(test_x[index].reshape(28, 28), cmap="gray_r")
        correct = predicted[index] == test_y[index]
        ax.set_title(f"{predicted[index]} ({confidence[index]:.0%})" + ("" if correct else f"\ntrue {test_y[index]}"),
                     color="green" if correct else "red", fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(title)
    save_figure(fig, OUT, name)


show_digits(range(24), "Predictions on the first test images (prediction, confidence)", "predictions.png")
most_confident_mistakes = wrong[np.argsort(-confidence[wrong])][:24]
show_digits(most_confident_mistakes, "The most confident mistakes", "mistakes.png")
print(f"the {len(most_confident_mistakes)} most confident mistakes: confidence "
      f"{confidence[most_confident_mistakes].min():.0%} to {confidence[most_confident_mistakes].max():.0%}")
record_numbers(OUT, misclassified=str(len(wrong)),
               mistake_confidence_min=f"{confidence[most_confident_mistakes].min():.0%}",
               mistake_confidence_max=f"{confidence[most_confident_mistakes].max():.0%}")

# %%
show_saved(plot_confusion_matrix(confusion, OUT / "confusion.png"))

# %% [markdown]
# ## Your turn
#
# Write it yourself: `tinygrad-edu exercise start training-step` writes the file to fill in, and
# `tinygrad-edu exercise check training-step` checks it and names the likely mistake. In a notebook, you can
# instead define the functions in a cell and check them with
# `from tinygrad_edu.exercises import check; check("training-step")`.

# %% [markdown]
# # Lesson 9: where backprop leaks
#
# Backprop computes exact gradients, and training can still go wrong. This lesson measures each way it fails,
# on networks trained with our own engine, with the functions of tinygrad_edu.training.health (the same ones
# `tinygrad-edu train --health` records):
#
# 1. vanishing gradients in a deep sigmoid network, against ReLU with He initialisation, and batch norm;
# 2. exploding gradients from a too-large initialisation, and gradient clipping;
# 3. dead ReLUs in the 784-128-10 network, at a good learning rate and at one ten times too high;
# 4. the update-to-data ratio over training, for three learning rates;
# 5. what the gradient sees: dL/dlogits for a batch, and dL/dX for a few digits.
#
# Run it as a script, `python lessons/09_where_backprop_leaks.py [--quick] [--data-dir DIR] [--out DIR]`, or
# cell by cell as a notebook. Needs MNIST (see the README). Quick mode trains each deep network for 100 steps
# and each 784-128-10 network for 2 epochs of 5,000 images; the full run for 1,000 steps and 2 epochs of 55,000.

# %%
# Settings: change them and rerun. Run as a script, --quick, --data-dir and --out replace them.
QUICK = False  # True: shorter trainings (100 steps instead of 1,000; 5,000 images instead of 55,000)
DATA_DIR = None  # the folder holding MNIST (None: $TINYGRAD_EDU_DATA, else downloaded once into the cache)
OUT = "out/lesson-09"  # the folder for this lesson's figures

from tinygrad_edu.course import lesson_settings

QUICK, DATA_DIR, OUT = lesson_settings(9, "where backprop leaks: vanishing, exploding, dead units, update sizes",
                                       quick=QUICK, data_dir=DATA_DIR, out=OUT)

# %%
import time

import numpy as np

import tinygrad_edu.functional as F
from tinygrad_edu import Tensor, nn
from tinygrad_edu.course import format_table, heading, new_figure, record_numbers, save_figure
from tinygrad_edu.data import BatchIterator, load_mnist, train_val_split
from tinygrad_edu.optim import SGD
from tinygrad_edu.training import health
from tinygrad_edu.training.health_monitor import HealthMonitor
from tinygrad_edu.training.loop import TrainConfig, fit, make_engine

started = time.process_time()
DEEP_STEPS = 100 if QUICK else 1000
DEPTH, WIDTH = 10, 64
mnist = load_mnist(DATA_DIR)
train_x, train_y, val_x, val_y = train_val_split(mnist.train_images, mnist.train_labels, 5000, seed=0)
probe_x, probe_y = val_x[:500], val_y[:500]  # the batch every gradient norm below is measured on
record_numbers(OUT, deep_steps=f"{DEEP_STEPS:,}", depth=str(DEPTH), width=str(WIDTH))


# %% [markdown]
# ## A deep network, and its gradient norm per layer

# %%
# --8<-- [start:deep]
def deep_network(activation: type[nn.Module], init: str, scale: float = 1.0,
                 batch_norm: bool = False, seed: int = 0) -> nn.Sequential:
    """784 -> 9 hidden layers of WIDTH -> 10: DEPTH linear layers, each but
    the last followed by the activation (by BatchNorm1d, then the activation,
    if batch_norm). ``scale`` multiplies every initial weight."""
    rng = np.random.default_rng(seed)
    sizes = [784] + [WIDTH] * (DEPTH - 1) + [10]
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(fan_in, fan_out, init=init, rng=rng)
        linear.weight.data *= scale
        layers.append(linear)
        if fan_out != 10:
            if batch_norm:
                layers.append(nn.BatchNorm1d(fan_out))
            layers.append(activation())
    return nn.Sequential(*layers)


def layer_gradient_norms(model: nn.Module, x: np.ndarray,
                         y: np.ndarray) -> list[float]:
    """||dL/dW|| of each linear layer, first to last, for the loss on x, y."""
    model.zero_grad()
    F.cross_entropy(model(Tensor(x)), y).backward()
    norms = health.gradient_norms(model)
    return [norms[name] for name in health.weight_names(model)]
# --8<-- [end:deep]


# --8<-- [start:train_deep]
def train_deep(model: nn.Module, steps: int, lr: float = 0.01,
               max_norm: float | None = None) -> dict:
    """SGD with momentum 0.9 on batches of 64; clip the gradients' total
    norm to max_norm if given. Stops early if the loss is NaN or infinite.
    Returns the losses, and the total norms before clipping."""
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
    batches = BatchIterator(train_x, train_y, 64, seed=0)
    losses, norms = [], []
    while len(losses) < steps:  # as many epochs as it takes
        for x, y in batches:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(Tensor(x)), y)
            loss.backward()
            if max_norm is not None:
                total = nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                norms.append(total)
            optimizer.step()
            losses.append(float(loss.data))
            if len(losses) == steps or not np.isfinite(losses[-1]):
                return {"losses": losses, "norms": norms}
    return {"losses": losses, "norms": norms}
# --8<-- [end:train_deep]


def accuracy(model: nn.Module) -> float:
    model.eval()
    with np.errstate(all="ignore"):
        right = float(np.mean(model(Tensor(val_x)).data.argmax(axis=1) == val_y))
    model.train()
    return right


# %% [markdown]
# ## 1. Vanishing gradients

# %%
heading(f"1. Vanishing: the gradient norm of each of {DEPTH} layers")
nets = {"sigmoid, Xavier": deep_network(nn.Sigmoid, "xavier"),
        "ReLU, He": deep_network(nn.ReLU, "he"),
        "sigmoid + batch norm": deep_network(nn.Sigmoid, "xavier", batch_norm=True)}
at_init = {label: layer_gradient_norms(model, probe_x, probe_y) for label, model in nets.items()}
# The sigmoid's derivative s (1 - s) at each hidden layer, averaged over the batch: never above 1/4.
with health.recording_activations(nets["sigmoid, Xavier"]) as outputs:
    nets["sigmoid, Xavier"](Tensor(probe_x))
slopes = [float((s * (1 - s)).mean()) for s in (outputs[name][0] for name in outputs)]
print(f"mean sigmoid derivative per hidden layer:\n  {', '.join(f'{d:.3f}' for d in slopes)}")
print(f"their product over the {len(slopes)} hidden layers: {np.prod(slopes):.1e}")
runs = {label: train_deep(model, DEEP_STEPS) for label, model in nets.items()}
after = {label: layer_gradient_norms(model, probe_x, probe_y) for label, model in nets.items()}
print("||dL/dW|| at initialisation; its ratio layer 1 / last, at init and trained:")
print(format_table(["network", "layer 1", f"layer {DEPTH}", "ratio", "trained", "loss", "val acc"],
                   [[label, at_init[label][0], at_init[label][-1], at_init[label][0] / at_init[label][-1],
                     after[label][0] / after[label][-1], f"{np.mean(runs[label]['losses'][-20:]):.3f}",
                     f"{accuracy(nets[label]):.1%}"] for label in nets], float_format=".1e"))
ratio = {label: at_init[label][0] / at_init[label][-1] for label in nets}
# Saturated: the sigmoid's slope below 5% of its peak (health.SATURATION), averaged over the 9 layers.
saturated = {label: np.mean(list(health.saturated_fraction(nets[label], probe_x).values()))
             for label in ("sigmoid, Xavier", "sigmoid + batch norm")}
print(f"saturated sigmoid outputs after training: {saturated['sigmoid, Xavier']:.1%} without batch norm, "
      f"{saturated['sigmoid + batch norm']:.1%} with")
record_numbers(OUT, sigmoid_ratio=f"{ratio['sigmoid, Xavier']:.1e}", relu_ratio=f"{ratio['ReLU, He']:.2f}",
               bn_ratio=f"{ratio['sigmoid + batch norm']:.2f}",
               sigmoid_trained_ratio=f"{after['sigmoid, Xavier'][0] / after['sigmoid, Xavier'][-1]:.1e}",
               sigmoid_slope_max=f"{max(slopes):.3f}", sigmoid_slope_min=f"{min(slopes):.3f}",
               slope_product=f"{np.prod(slopes):.1e}", hidden_layers=str(len(slopes)),
               sigmoid_accuracy=f"{accuracy(nets['sigmoid, Xavier']):.1%}",
               sigmoid_saturated=f"{saturated['sigmoid, Xavier']:.1%}",
               bn_saturated=f"{saturated['sigmoid + batch norm']:.1%}",
               relu_accuracy=f"{accuracy(nets['ReLU, He']):.1%}",
               bn_accuracy=f"{accuracy(nets['sigmoid + batch norm']):.1%}")

fig, (norm_ax, loss_ax) = new_figure(1, 2, width=10.5, height=4.0)
layers = np.arange(1, DEPTH + 1)
for label in nets:
    line, = norm_ax.plot(layers, after[label], "o-", label=f"{label}, after {DEEP_STEPS} steps")
    norm_ax.plot(layers, at_init[label], "o--", color=line.get_color(), alpha=0.5, label=f"{label}, at init")
    loss_ax.plot(runs[label]["losses"], color=line.get_color(), label=label)
norm_ax.set(yscale="log", xlabel="layer (1 = next to the pixels)", ylabel="||dL/dW|| of the layer",
            title="Gradient norm per layer", xticks=layers)
norm_ax.legend(fontsize="x-small")
loss_ax.set(xlabel="step", ylabel="training loss", title="Training loss (SGD, momentum 0.9, lr 0.01)")
loss_ax.legend(fontsize="small")
save_figure(fig, OUT, "vanishing.png")

# %% [markdown]
# ## 2. Exploding gradients, and clipping

# %%
heading("2. Exploding: every initial weight twice He's; gradient clipping")
too_large = deep_network(nn.ReLU, "he", scale=2.0)
exploding = layer_gradient_norms(too_large, probe_x, probe_y)
growth = []  # how much larger each hidden layer's activations are with 2 x He than with He
for model in (nets["ReLU, He"], deep_network(nn.ReLU, "he"), too_large):
    with health.recording_activations(model) as outputs:
        model(Tensor(probe_x))
    growth.append([float(np.sqrt(np.mean(out[0] ** 2))) for out in outputs.values()])
growth = np.array(growth[2]) / np.array(growth[1])  # both at initialisation (nets["ReLU, He"] is trained now)
print(f"activations, 2 x He over He, layer 1 to {len(growth)}: {', '.join(f'{g:.0f}' for g in growth)}")
with np.errstate(all="ignore"):  # the unclipped run overflows: that is what we are measuring
    unclipped = train_deep(too_large, DEEP_STEPS)
MAX_NORM = 5.0
clipped = train_deep(deep_network(nn.ReLU, "he", scale=2.0), DEEP_STEPS, max_norm=MAX_NORM)
times_clipped = sum(norm > MAX_NORM for norm in clipped["norms"])
print(format_table(["layer", "He", "2 x He", "ratio"],
                   [[layer, he, big, f"{big / he:.0f}"] for layer, he, big in zip(layers, at_init["ReLU, He"], exploding)]))
print(f"without clipping the loss went {', '.join(f'{loss:.3g}' for loss in unclipped['losses'][:4])}:")
print(f"  not a number after {len(unclipped['losses'])} steps")
print(f"clipped to a total norm of {MAX_NORM:g}: {times_clipped} of {len(clipped['norms'])} steps were clipped")
print(f"  (largest norm {max(clipped['norms']):.3g}); final loss {np.mean(clipped['losses'][-20:]):.3f}")
record_numbers(OUT, growth_first=f"{growth[0]:.0f}", growth_last=f"{growth[-1]:.0f}",
               exploding_first=f"{exploding[0] / at_init['ReLU, He'][0]:.0f}",
               exploding_last=f"{exploding[-1] / at_init['ReLU, He'][-1]:.0f}",
               exploding_factor=f"{np.median(np.array(exploding) / np.array(at_init['ReLU, He'])):.0f}",
               nan_after=str(len(unclipped["losses"])), max_norm=f"{MAX_NORM:g}", times_clipped=str(times_clipped),
               clipped_steps=str(len(clipped["norms"])), largest_norm=f"{max(clipped['norms']):.3g}",
               clipped_loss=f"{np.mean(clipped['losses'][-20:]):.2f}",
               relu_loss=f"{np.mean(runs['ReLU, He']['losses'][-20:]):.2f}")

fig, (norm_ax, loss_ax) = new_figure(1, 2, width=10.5, height=4.0)
norm_ax.plot(layers, at_init["ReLU, He"], "o-", label="He")
norm_ax.plot(layers, exploding, "o-", label="2 x He")
norm_ax.set(yscale="log", xlabel="layer", ylabel="||dL/dW|| at initialisation", title="Gradient norm per layer",
            xticks=layers)
norm_ax.legend()
loss_ax.plot(runs["ReLU, He"]["losses"], label="He")
loss_ax.plot(unclipped["losses"], "o-", label=f"2 x He: NaN after {len(unclipped['losses'])} steps")
loss_ax.plot(clipped["losses"], label=f"2 x He, clipped to norm {MAX_NORM:g}")
loss_ax.set(yscale="log", xlabel="step", ylabel="training loss", title="Training loss")
loss_ax.legend(fontsize="small")
save_figure(fig, OUT, "exploding.png")

# %% [markdown]
# ## 3 and 4. Dead ReLUs and the update-to-data ratio, with `train --health`'s monitor

# %%
# --8<-- [start:monitor]
images = 5_000 if QUICK else len(train_y)
x, y = train_x[:images], train_y[:images]
LEARNING_RATES = {"lr 5e-4 (10x smaller)": 5e-4, "lr 5e-3 (the default)": 5e-3,
                  "lr 5e-2 (10x larger)": 5e-2}
trained, monitors = {}, {}
for label, lr in LEARNING_RATES.items():
    config = TrainConfig(epochs=2, lr=lr)  # train's defaults: Adam, cosine...
    engine = make_engine(config)
    steps_per_epoch = len(BatchIterator(x, y, config.batch_size))
    monitors[label] = HealthMonitor(config.hidden, val_x, steps_per_epoch,
                                    config.epochs)
    fit(engine, config, x, y, val_x, val_y, progress=False,
        log=lambda line: None, monitor=monitors[label])
    trained[label] = nn.MLP()
    trained[label].load_manual_params(engine.params)
# --8<-- [end:monitor]

# %%
heading(f"3. Dead ReLUs: units that never fire on {len(val_y):,} validation images")
dead = {label: health.dead_units(model, val_x)["relu"] for label, model in trained.items()}
print(format_table(["run", "dead units (of 128)", "val accuracy"],
                   [[label, int(dead[label].sum()),
                     f"{np.mean(model(Tensor(val_x)).data.argmax(axis=1) == val_y):.1%}"]
                    for label, model in trained.items()]))
small, default, large = LEARNING_RATES
dead_after_first_step = round(128 * monitors[large].records[0]["dead_fraction"]["relu"])
print(f"{large}: {dead_after_first_step} units dead after the first step")
record_numbers(OUT, images=f"{images:,}", dead_small=str(int(dead[small].sum())),
               dead_after_first_step=str(dead_after_first_step),
               dead_default=str(int(dead[default].sum())), dead_large=str(int(dead[large].sum())))

fig, axes = new_figure(8, 16, width=10.0, height=5.6)
W1 = trained[large].fc1.weight.data
for unit, ax in enumerate(axes.ravel()):
    limit = np.abs(W1[:, unit]).max() or 1.0
    ax.imshow(W1[:, unit].reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set(color="darkorange" if dead[large][unit] else "lightgray", linewidth=3 if dead[large][unit] else 0.5)
fig.suptitle(f"incoming weights of the 128 hidden units, {large}: the {int(dead[large].sum())} dead units framed "
             "in orange (red +, blue -)")
save_figure(fig, OUT, "dead-units.png")

# %%
heading("4. The update-to-data ratio ||step|| / ||W|| of W1")
fig, ax = new_figure(width=7.5, height=4.2)
for label, monitor in monitors.items():
    steps = [record["step"] for record in monitor.records]
    line, = ax.plot(steps, [record["update_ratio"]["fc1.weight"] for record in monitor.records], "o-", label=f"{label}, W1")
    ax.plot(steps, [record["update_ratio"]["fc2.weight"] for record in monitor.records], "s:", color=line.get_color(),
            label=f"{label}, W2")
ax.axhline(1e-3, color="gray", linestyle="--", label="1e-3, the rule of thumb")
ax.set(xscale="log", yscale="log", xlabel="step", ylabel="||W_after - W_before|| / ||W_before||",
       title="Update-to-data ratio (Adam, cosine schedule)")
ax.legend(fontsize="x-small")
save_figure(fig, OUT, "update-ratio.png")
ratios = {label: {record["step"]: record["update_ratio"]["fc1.weight"] for record in monitor.records}
          for label, monitor in monitors.items()}
print(format_table(["run", "step 1", "step 10", f"step {steps_per_epoch}", f"step {2 * steps_per_epoch} (last)"],
                   [[label, r[1], r[10], r[steps_per_epoch], r[2 * steps_per_epoch]] for label, r in ratios.items()],
                   float_format=".1e"))
record_numbers(OUT, ratio_small=f"{ratios[small][1]:.1e}", ratio_default=f"{ratios[default][1]:.1e}",
               ratio_large=f"{ratios[large][1]:.1e}", epoch_small=f"{ratios[small][steps_per_epoch]:.1e}",
               epoch_default=f"{ratios[default][steps_per_epoch]:.1e}",
               epoch_large=f"{ratios[large][steps_per_epoch]:.1e}", steps_per_epoch=str(steps_per_epoch),
               w1_rms=f"{np.sqrt(2 / 784):.3f}")

# %% [markdown]
# ## 5. What the gradient sees

# %%
heading("5. dL/dlogits for a batch, and dL/dX for a few digits")
model = trained[default]


# --8<-- [start:saliency]
def gradients_seen(model: nn.Module, images: np.ndarray,
                   labels: np.ndarray) -> tuple[Tensor, Tensor]:
    """The logits and the images as tensors, after backward: their .grad
    are dL/dlogits = (P - Y) / N and dL/dX (which pixels matter most)."""
    x = Tensor(images, requires_grad=True)
    logits = model(x).retain_grad()  # keep an intermediate result's .grad
    F.cross_entropy(logits, labels).backward()
    return logits, x
# --8<-- [end:saliency]


logits, _ = gradients_seen(model, val_x[:32], val_y[:32])
print(f"rows of dL/dlogits sum to {np.abs(logits.grad.sum(axis=1)).max():.1e} at most")
print(f"the largest entry is {np.abs(logits.grad).max():.3f} (1/N = {1 / 32:.3f})")

fig, ax = new_figure(width=4.5, height=6.0)
limit = np.abs(logits.grad).max()
image = ax.imshow(logits.grad * 32, cmap="RdBu_r", vmin=-limit * 32, vmax=limit * 32, aspect="auto")
ax.set(xlabel="class", ylabel="example of the batch", xticks=range(10),
       title="N dL/dlogits = P - Y\n(blue: the true class, pushed up)")
fig.colorbar(image, ax=ax, shrink=0.8)
save_figure(fig, OUT, "dlogits.png")

predicted = model(Tensor(val_x)).data.argmax(axis=1)
shown = [*np.flatnonzero(predicted == val_y)[:3], *np.flatnonzero(predicted != val_y)[:3]]  # 3 right, 3 wrong
logits, x = gradients_seen(model, val_x[shown], val_y[shown])
fig, axes = new_figure(2, 6, width=10.0, height=3.8)
for column in range(6):
    digit, saliency = val_x[shown[column]].reshape(28, 28), x.grad[column].reshape(28, 28)
    axes[0, column].imshow(digit, cmap="gray_r")
    axes[0, column].set_title(f"label {val_y[shown[column]]}, predicted {logits.data[column].argmax()}", fontsize=8,
                              color="black" if column < 3 else "red")
    limit = np.abs(saliency).max()
    axes[1, column].imshow(saliency, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for ax in axes[:, column]:
        ax.set_axis_off()
fig.suptitle("top: the digit; bottom: dL/dX (red: brighter would raise the loss, blue: would lower it)")
save_figure(fig, OUT, "saliency.png")

# %%
seconds = time.process_time() - started
print(f"\nthis run took {seconds:.1f} s of CPU time ({'quick' if QUICK else 'full'} mode)")
record_numbers(OUT, cpu_seconds=f"{seconds:.0f}")

# %% [markdown]
# ## Try it
#
# `tinygrad-edu train --health --lr 0.05 --epochs 2` and open `health-dead-units.png`: at which step had a
# third of the hidden units died? Then `--optimizer sgd --lr 0.1`: do any die?
#
# ## Your turn
#
# Derive the backward pass of batch normalisation: `tinygrad-edu exercise start batchnorm-backward`, then
# `tinygrad-edu exercise check batchnorm-backward` checks each line and names the likely mistake.

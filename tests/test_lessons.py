"""Every lesson script runs on its own in quick mode, as a student runs it, and prints the right numbers.

Each test starts the script in a subprocess (the installed package, no sys.path tricks), then checks the key
figures it printed against references computed here independently (calculus, NumPy, known values), and the
files it says it saved.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_lesson(script: str, tmp_path: Path, data_dir: Path | None = None) -> tuple[str, Path]:
    """Run ``lessons/<script> --quick --out <tmp>``; return what it printed and its output folder."""
    out = tmp_path / "out"
    # The lessons limit BLAS to one thread themselves (tinygrad_edu.training.blas, measured faster on a busy 2-core machine).
    env = dict(os.environ, MPLBACKEND="Agg")
    if data_dir is not None:
        env["TINYGRAD_EDU_DATA"] = str(data_dir)
    result = subprocess.run(
        [sys.executable, str(LESSONS / script), "--quick", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "Figures and files go to out/\n" in result.stdout  # the folder, relative to where it was run
    return result.stdout, out


def number(pattern: str, text: str) -> float:
    """The number captured by ``pattern``'s first group in the lesson's output."""
    match = re.search(pattern, text)
    assert match, f"the output has no line matching {pattern!r}"
    return float(match.group(1))


def assert_figures(folder: Path, *names: str) -> None:
    for name in names:
        path = folder / name
        assert path.is_file(), f"{name} was not saved"
        head = path.read_bytes()[:200]
        if name.endswith(".png"):
            assert head.startswith(PNG_MAGIC), f"{name} is not a PNG"
        else:
            assert b"<svg" in path.read_bytes()[:2000], f"{name} is not an SVG"


def test_01_chain_rule(tmp_path: Path) -> None:
    text, out = run_lesson("01_chain_rule.py", tmp_path)
    x = 0.5
    exact = (1 - math.tanh(x**2 + 3 * x) ** 2) * (2 * x + 3)  # the chain rule, here
    assert number(r"f'\(0\.5\) by autodiff = ([-\d.]+)", text) == pytest.approx(exact, abs=1e-12)
    assert number(r"\|autodiff - hand\| = (\S+)", text) < 1e-14
    assert number(r"max \|autodiff - hand\| over the plot: (\S+)", text) < 1e-12
    # The V: the best central step sits between 1e-4 and 1e-7, ten digits or so; h = 0.1 is far worse.
    best_h = number(r"best central difference: h = (\S+),", text)
    assert 1e-7 <= best_h <= 1e-4
    best_error = number(r"best central difference: h = \S+, error = (\S+)", text)
    assert best_error < 1e-9
    # The best step is the smallest error of the printed table, and the digits quoted follow from its error.
    table = dict(re.findall(r"\n(1e-\d+)\s+\S+\s+(\S+)", text))
    assert float(min(table, key=lambda h: float(table[h]))) == best_h
    assert number(r"about (\d+) correct digits", text) == math.floor(-math.log10(best_error / abs(exact)))
    assert number(r"\n1e-1\s+(\S+)", text) > 1e-2  # forward difference at h = 0.1: truncation error
    assert number(r"\n1e-12\s+\S+\s+(\S+)", text) > 1e-7  # central difference at h = 1e-12: rounding error
    assert_figures(out, "finite-difference-error.png", "derivative.png")


def test_02_computation_graph(tmp_path: Path) -> None:
    text, out = run_lesson("02_computation_graph.py", tmp_path)
    x, y = 3.0, 2.0
    # L = x²y + xy²: dL/dx = 2xy + y², dL/dy = x² + 2xy; u = xy and v = x + y get v and u.
    expected = {"u": x + y, "v": x * y, "x": 2 * x * y + y**2, "y": x**2 + 2 * x * y}
    for name, value in expected.items():
        assert number(rf"\n{name}\s+(\S+)\s+\S+\n", text) == pytest.approx(value), f"autodiff dL/d{name}"
    assert number(r"max \|autodiff - hand\| = (\S+)", text) == 0
    assert number(r"after a second backward, x.grad = (\S+)", text) == 2 * expected["x"]
    assert "after x.zero_grad(), x.grad = None" in text
    assert_figures(out, "graph-forward.svg", "graph-backward.svg")
    frames = sorted((out / "backward").glob("step_*.svg"))
    assert len(frames) == 3  # mul, add, mul: one frame per op
    assert number(r"saved (\d+) backward steps", text) == 3


def test_03_tensors(tmp_path: Path) -> None:
    text, out = run_lesson("03_tensors.py", tmp_path)
    # b.grad = column sums of 2(x + b) for x = arange(12).reshape(4, 3), b = (10, 20, 30).
    expected = (2 * (np.arange(12.0).reshape(4, 3) + [10.0, 20.0, 30.0])).sum(axis=0)
    printed = re.search(r"b.grad by autodiff\s+= \[([^\]]+)\]", text)
    assert printed and np.allclose(np.array(printed.group(1).split(), dtype=float), expected)
    assert number(r"broadcast backward max \|difference\| = (\S+)", text) < 1e-12
    assert number(r"dA: autodiff vs dC Bᵀ, max \|difference\| = (\S+)", text) < 1e-12
    assert number(r"dB: autodiff vs Aᵀ dC, max \|difference\| = (\S+)", text) < 1e-12
    assert number(r"gradcheck worst relative error = (\S+) \(passed\)", text) < 1e-6
    assert_figures(out, "matmul-gradient.png")


def test_04_forward_pass(tmp_path: Path) -> None:
    text, out = run_lesson("04_forward_pass.py", tmp_path)
    # The naive softmax overflows to nan where the stable one is finite and exact.
    assert "naive softmax          = [nan nan nan]" in text
    assert "naive finite: False, stable finite: True, stable sums to 1.000000" in text
    reference = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()  # softmax is shift-invariant
    stable = re.search(r"stable softmax\s+= \[([^\]]+)\]", text)
    assert stable and np.allclose(np.array(stable.group(1).split(), dtype=float), reference, atol=1e-6)
    # -log softmax(1000, 1001, 1002)[0] = log(1 + e + e²)
    assert number(r"F.cross_entropy on logits .*, label 0: (\S+)", text) == pytest.approx(
        math.log(1 + math.e + math.e**2), abs=1e-5
    )
    assert "naive -log(softmax) = inf, log-sum-exp = 200.0" in text
    # The untrained network is init_params' (He): its loss sits above ln 10 by about (1 - 1/10) s²/2 for logits
    # of variance s² (second-order expansion of log-sum-exp), here measured over 1,000 inputs.
    loss = number(r"loss by F.cross_entropy = (\S+)", text)
    assert loss == pytest.approx(number(r"loss by hand, -mean log P\[n, y_n\] = (\S+)", text), abs=1e-5)
    mean_loss = number(r"mean loss (\S+), variance", text)
    variance = number(r"variance of the logits (\S+)", text)
    assert 0.2 < variance < 2  # He initialisation: logits of order 1, neither tiny nor huge
    assert mean_loss > math.log(10) + 0.1
    assert mean_loss == pytest.approx(math.log(10) + 0.9 * variance / 2, abs=0.08)
    # The overflow figure is float32 through and through: the naive curve is nan exactly past ln(float32 max).
    overflow_at = math.log(np.finfo(np.float32).max)
    assert number(r"finite up to a largest logit of (\S+),", text) < overflow_at < number(r"nan from (\S+) on", text)
    assert f"every one past {overflow_at:.2f}: True); stable finite everywhere: True" in text
    assert number(r"max \|Σ P - 1\| = (\S+)", text) < 1e-6
    assert_figures(out, "relu-and-softmax.png", "softmax-overflow.png")


def test_05_backprop_by_hand(tmp_path: Path, mnist_dir: Path) -> None:
    text, out = run_lesson("05_backprop_by_hand.py", tmp_path, mnist_dir)
    assert "all 7 gradients agree" in text
    assert number(r"worst relative error, manual vs autodiff: (\S+)", text) < 1e-12
    assert number(r"worst error against finite differences: (\S+)", text) < 1e-6
    low, high = (number(rf"relative to each gradient's largest entry\): {g}", text) for g in (r"(\S+) to", r"\S+ to (\S+)"))
    assert low <= high == pytest.approx(number(r"worst error against finite differences: (\S+)", text), rel=0.02)
    # Every known bug makes at least one gradient fail, and the forgotten ReLU mask exactly the lower layer.
    assert re.search(r"the table catches (\d+) of \1 bugs", text)
    assert re.search(r"relu-mask-forgotten\s+dZ1, dW1, db1\s", text)
    assert "3 of 7 gradients FAIL: dZ1, dW1, db1" in text
    # At H = 128 the missing transpose is a NumPy error (a crash, not a numeric catch); at H = 10 the shapes fit
    # and only the numbers catch it, from dA1 down.
    assert re.search(r"missing-transpose\s+dA1, dZ1, dW1, db1\s+crash", text)
    assert "by a NumPy error (a crash, not a numeric catch) 1: missing-transpose" in text
    assert "4 of 7 gradients FAIL: dA1, dZ1, dW1, db1" in text
    # The untrained network over the whole test set: just above ln 10, as lesson 4's formula predicts.
    start = re.search(r"all 10,000 test images: loss (\S+), variance of the logits (\S+), .* = (\S+) \(", text)
    assert start
    loss, variance, predicted = (float(v) for v in start.groups())
    assert predicted == pytest.approx(math.log(10) + 0.9 * variance / 2, abs=1e-3)
    assert math.log(10) < loss == pytest.approx(predicted, abs=0.05)
    assert_figures(out, "dW1-unit.png", "comparison.png")


def test_06_network_graph(tmp_path: Path) -> None:
    text, out = run_lesson("06_network_graph.py", tmp_path)
    # Backward visits the ops from the loss back to the input, one step each.
    ops = re.findall(r"\n\s+\d+\s+(\w+)\s+", text.split("Backward, one operation at a time")[1])[:6]
    assert ops == ["cross_entropy", "add", "matmul", "relu", "add", "matmul"]
    assert number(r"worst difference: (\S+)", text) < 1e-12  # the walk's gradients are the hand-derived ones
    assert_figures(out, "network-graph.svg", "layer-circuit.svg")
    # One layer as a circuit: the gradients printed are the hand formulas for z = x W + b, a = relu(z), with the
    # layer above sending back g: dz = g * 1[z > 0], dW = x^T dz, db = dz, dx = dz W^T.
    x, W, b, g = np.array([[1.0, -2.0]]), np.array([[0.5, -1.0], [-0.25, 0.5]]), np.array([0.1, 0.2]), np.array([[1.0, 0.5]])
    dz = g * (x @ W + b > 0)
    circuit = text.split("One layer as a circuit")[1]
    printed = {name: re.search(rf"\n{re.escape(name)}\s+(\[.*?\]\]?|mean.*?)\s{{2,}}(\[.*\]\]?)\n", circuit)
               for name in ("x", "b")}
    assert np.allclose(json.loads(printed["x"].group(2)), dz @ W.T)  # a list printed by the lesson
    assert np.allclose(json.loads(printed["b"].group(2)), dz[0])
    assert len(list((out / "backward").glob("step_*.svg"))) == 6


@pytest.mark.slow  # trains on MNIST
def test_07_training_mnist(tmp_path: Path, mnist_dir: Path) -> None:
    text, out = run_lesson("07_training_mnist.py", tmp_path, mnist_dir)
    assert "training on 10,000 images for 2 epochs" in text
    assert "validating on 5,000 held-out training images; testing once, at the end, on 10,000" in text
    assert text.count("test accuracy (") == 2  # the test set is used once, after training
    by_hand = number(r"test accuracy \(hand-derived gradients\): (\S+)%", text) / 100
    autodiff = number(r"test accuracy \(autodiff\): (\S+)%", text) / 100
    # Two epochs on 10,000 images: far above chance (10%), and the two engines train the same network.
    assert by_hand > 0.85 and autodiff > 0.85
    assert abs(by_hand - autodiff) < 0.005
    # rounding-small unless ReLU decisions came to differ (then it may cascade: see training/agreement.py)
    assert number(r"largest difference between the two engines' weights: (\S+)", text) < 0.1
    # Adam's float32 drift depends on the BLAS build (see training/agreement.py); in float64 it is rounding-small.
    adam = re.findall(r"^(W1|b1|W2|b2)\s+(\S+)\s+(\S+)$", text, flags=re.MULTILINE)
    assert [name for name, _, _ in adam] == ["W1", "b1", "W2", "b2"]
    for _, in_float32, in_float64 in adam:
        assert float(in_float64) < 1e-10  # the same formulas: only (float64) rounding separates the engines
        assert float(in_float32) < 0.1  # the same network to a tenth even after ReLU decisions differed
    assert re.search(r"ReLU decisions that differed between the engines: \d+", text)
    # The confusion matrix covers the 10,000 test images, and its diagonal is the accuracy.
    rows = re.findall(r"\n(\d)\s+((?:\d+\s+){9}\d+)", text)
    assert len(rows) == 10
    confusion = np.array([[int(v) for v in values.split()] for _, values in rows])
    assert confusion.sum() == 10_000
    assert np.trace(confusion) / 10_000 == pytest.approx(by_hand, abs=1e-4)
    misclassified = number(r"\n(\d+) of 10000 test images misclassified", text)
    assert misclassified == 10_000 - np.trace(confusion)
    assert_figures(out, "curves.png", "predictions.png", "mistakes.png", "confusion.png")


@pytest.mark.slow  # trains on MNIST
def test_08_experiments(tmp_path: Path, mnist_dir: Path) -> None:
    from tinygrad_edu.data import load_mnist, train_val_split

    text, out = run_lesson("08_experiments.py", tmp_path, mnist_dir)
    assert "seeds 0, 1, 2; scored on 5,000 validation images held out from the training set" in text

    def row(label: str) -> tuple[float, float, float, float]:
        """A setting's validation accuracy over 3 seeds: mean, sd, lowest, highest (as fractions)."""
        match = re.search(rf"\n{re.escape(label)}\s+(\S+)% ± (\S+)%\s+(\S+)% - (\S+)%", text)
        assert match, f"no row for {label!r}"
        mean, sd, low, high = (float(v) / 100 for v in match.groups())
        assert low <= mean <= high and (sd > 0 or low == high), label
        return mean, sd, low, high

    # All-zero weights cannot break the symmetry: only the output bias learns, so every seed predicts the most
    # frequent digit of the 5,000 training images, and scores that digit's share of the validation images.
    mnist = load_mnist(mnist_dir, download=False)
    train_x, train_y, _, val_y = train_val_split(mnist.train_images, mnist.train_labels, 5000, seed=0)
    most_frequent = np.bincount(train_y[:5000]).argmax()
    assert row("zeros") == pytest.approx((np.mean(val_y == most_frequent), 0, np.mean(val_y == most_frequent),
                                          np.mean(val_y == most_frequent)), abs=1e-4)
    for label in ("he", "xavier", "lecun", "SGD, lr 0.1", "SGD + momentum 0.9, lr 0.01", "Adam, lr 0.001"):
        assert row(label)[0] > 0.8, label
    assert row("hidden 128 (101,770 parameters)")[0] > row("hidden 10 (7,960 parameters)")[0]
    # He and Xavier are paired by seed (the same draws rescaled, the same batches): the mean of the differences
    # seed by seed is the difference of the means.
    paired = re.search(r"he - xavier, seed by seed: (.+); mean ([-+\d.]+)%", text)
    assert paired
    differences = [float(d.rstrip("%")) / 100 for d in paired.group(1).split(", ")]
    assert len(differences) == 3
    assert float(paired.group(2)) / 100 == pytest.approx(row("he")[0] - row("xavier")[0], abs=2e-4)
    assert float(paired.group(2)) / 100 == pytest.approx(sum(differences) / 3, abs=2e-4)
    # Every row's seconds is a median of timed repeats, and the table says how far they moved.
    assert re.search(r"\nhe\s+.*\s(\d+\.\d\d)\s+(\d+)%\n", text)
    # Two full-batch steps are far behind 64 mini-batch steps over the same two epochs (2,000 images).
    assert row("batches of 64")[0] > row("full batch, 2 epochs")[0] + 0.3
    # The cost: 2 (multiply + add) x the sizes of the matrix products, forward (X W1, A1 W2) and backward
    # (A1ᵀ dZ2, dZ2 W2ᵀ, Xᵀ dZ1) per example; the full batch at the same 64 steps does 2000/64 x ... = 32x the work.
    per_example = 2 * (784 * 128 + 128 * 10) + 2 * (128 * 10 + 10 * 128 + 784 * 128)
    assert number(r"one example's forward and backward: ([\d,]+) floating", text.replace(",", "")) == per_example
    assert number(r"with (\d+)x the arithmetic", text) == 64 * 2000 / (2 * 2000)
    # The choice is the best mean validation accuracy among sections 1-3; the test set is used once, for it.
    chosen = re.search(r"best mean validation accuracy: (.+) \((\S+)% ±", text)
    assert chosen
    candidates = ["hidden 10 (7,960 parameters)", "hidden 128 (101,770 parameters)", "xavier", "lecun", "uniform",
                  "normal(0, 1)", "zeros", "SGD + momentum 0.9, lr 0.01", "Adam, lr 0.001"]
    assert chosen.group(1) == max(candidates, key=lambda label: row(label)[0])
    assert text.count("test accuracy") == 1 and number(r"test images: (\S+)% \(seeds", text) > 85
    assert_figures(out, "initialisation.png", "optimizers.png", "batch-size.png", "summary.png")



def test_09_where_backprop_leaks(tmp_path: Path, mnist_dir: Path) -> None:
    text, out = run_lesson("09_where_backprop_leaks.py", tmp_path, mnist_dir)

    def ratios(label: str) -> tuple[float, float]:
        """A deep network's layer 1 / last gradient norm ratio, at initialisation and after training."""
        match = re.search(rf"\n{re.escape(label)}\s+(?:\S+\s+){{2}}(\S+)\s+(\S+)", text)
        assert match, f"no row for {label!r}"
        return float(match.group(1)), float(match.group(2))

    # 1. The sigmoid's slope is at most 1/4 per layer, so its first layer gets a vanishing share of the gradient;
    # ReLU with He, and the sigmoid with batch norm, keep every layer within an order of magnitude.
    slopes = [float(v) for v in re.search(r"mean sigmoid derivative per hidden layer:\s+(.+)", text).group(1).split(", ")]
    assert len(slopes) == 9 and all(0 < slope <= 0.25 for slope in slopes)
    assert ratios("sigmoid, Xavier")[0] < 1e-3 and ratios("sigmoid, Xavier")[1] < 1e-2
    for label in ("ReLU, He", "sigmoid + batch norm"):
        assert all(0.1 < ratio < 10 for ratio in ratios(label)), label
    # 2. ReLU is positively homogeneous and the biases start at 0: twice the weights doubles each layer exactly.
    growth = re.search(r"2 x He over He, layer 1 to 9: (.+)", text).group(1).split(", ")
    assert [int(g) for g in growth] == [2**layer for layer in range(1, 10)]
    assert number(r"not a number after (\d+) steps", text) < 100
    clipped = re.search(r"(\d+) of (\d+) steps were clipped\s+\(largest norm (\S+)\); final loss (\S+)", text)
    assert 0 < int(clipped.group(1)) <= int(clipped.group(2)) and float(clipped.group(3)) > 5
    assert math.isfinite(float(clipped.group(4)))
    # 3. Dead units: more at a higher learning rate.
    dead = [int(v) for v in re.findall(r"\nlr \S+ \([^)]*\)\s+(\d+)\s+\S+%", text)]
    assert len(dead) == 3 and dead[0] <= dead[1] < dead[2]
    # 4. Adam's first step moves each weight by about lr, whatever its gradient: the three runs start from the same
    # weights and batch, so their first ratios are in the ratio of the learning rates.
    first = [float(v) for v in re.findall(r"\nlr \S+ \([^)]*\)\s+(\d\.\de-\d\d)", text)]
    assert first[1] / first[0] == pytest.approx(10, rel=0.05) and first[2] / first[1] == pytest.approx(10, rel=0.05)
    # 5. dL/dlogits = (P - Y) / N: rows sum to 0, entries at most 1/N.
    assert number(r"rows of dL/dlogits sum to (\S+) at most", text) < 1e-6
    assert number(r"the largest entry is (\S+) \(1/N", text) <= 1 / 32 + 5e-4
    assert_figures(out, "vanishing.png", "exploding.png", "dead-units.png", "update-ratio.png", "dlogits.png",
                   "saliency.png")
    numbers = json.loads((out / "numbers.json").read_text())
    assert numbers["dead_large"] == str(dead[2]) and float(numbers["sigmoid_ratio"]) < 1e-3

# --- Lessons that cannot do everything still end cleanly (the table of bad invocations, lessons included, is
# tests/test_bad_usage.py) -------------------------------------------------------------------------------------

UNREACHABLE_MIRROR = "http://127.0.0.1:9/"  # nothing listens on the discard port: every download fails at once


def run_lesson_raw(script: str, args: list[str], cwd: Path, path: str | None = None,
                   data_env: str | None = None) -> subprocess.CompletedProcess:
    """Run ``lessons/<script> ARGS`` in ``cwd``; MNIST cannot be downloaded; ``path`` replaces PATH if given."""
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               TINYGRAD_EDU_MNIST_MIRRORS=UNREACHABLE_MIRROR, XDG_CACHE_HOME=str(cwd / "cache"))
    env.pop("TINYGRAD_EDU_DATA", None)
    if data_env is not None:
        env["TINYGRAD_EDU_DATA"] = data_env
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, str(LESSONS / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write to any folder")
def test_lesson_refuses_an_unwritable_out_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = run_lesson_raw("01_chain_rule.py", ["--out", "locked"], tmp_path)
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2
    assert "argument --out: cannot write into locked" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(("script", "last_line", "sources"), [
    ("02_computation_graph.py", "after x.zero_grad(), x.grad = None",
     ["graph-forward.dot", "backward/step_001.dot", "backward/step_003.dot"]),
    ("06_network_graph.py", "worst difference:", ["network-graph.dot", "backward/step_001.dot", "backward/step_006.dot"]),
])
def test_lessons_go_on_without_graphviz(tmp_path: Path, script: str, last_line: str, sources: list[str]) -> None:
    no_dot = tmp_path / "bin-without-dot"
    no_dot.mkdir()
    result = run_lesson_raw(script, ["--out", "out"], tmp_path, path=str(no_dot))
    assert result.returncode == 0, result.stderr[-3000:]
    assert last_line in result.stdout  # the lesson went on to its end
    assert result.stderr.count("sudo apt-get install graphviz") == 1  # how to install it, said once
    assert "DOT source" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for name in sources:
        assert "digraph" in (tmp_path / "out" / name).read_text(), name
    assert not list((tmp_path / "out").rglob("*.svg"))


@pytest.mark.skipif(os.name != "posix", reason="SIGINT is POSIX's Ctrl-C")
def test_ctrl_c_in_a_lesson_says_interrupted_and_exits_130(tmp_path: Path, mnist_dir: Path) -> None:
    import signal

    env = dict(os.environ, MPLBACKEND="Agg", TINYGRAD_EDU_DATA=str(mnist_dir))
    # Ctrl-C's default action, as in a terminal: a test run started in the background (``cmd &``) inherits
    # SIGINT ignored, and the lesson would then run to its end.
    lesson = subprocess.Popen([sys.executable, str(LESSONS / "08_experiments.py"), "--quick", "--out", "out"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert lesson.stdout is not None
        while "Figures and files go to" not in lesson.stdout.readline():  # the settings (and the hook) are in place
            assert lesson.poll() is None, "the lesson ended before printing its output folder"
        lesson.send_signal(signal.SIGINT)
        stdout, stderr = lesson.communicate(timeout=60)
    finally:
        lesson.kill()
    assert lesson.returncode == 130
    assert stderr.strip().endswith("interrupted")
    assert "Traceback" not in stdout + stderr

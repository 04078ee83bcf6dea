"""Bad invocations, one row each: the exit code, a phrase of the message on stderr, and never a traceback.

Every row of ``BAD_USAGE`` is a :class:`Row`:

* ``argv``: what the user types after ``tinygrad-edu`` (``("train", "--lr", "-1")``), or a lesson script
  and its options (``("lessons/07_training_mnist.py", "--out", "{file}")``). Placeholders in braces name
  the materials built once by the ``materials`` fixture (a file, a good checkpoint, a small MNIST-format
  folder, broken data folders...): see :func:`materials`.
* ``code``: the expected exit code: 2 for bad usage (an option out of range, an impossible setting),
  1 for a problem found in a file or the data.
* ``phrase``: a phrase the message on stderr must contain.
* ``env``: environment variables for the run (placeholders allowed).

Commands run in this process through ``tinygrad_edu.cli.main`` (fast; an unexpected exception fails the
test just as a traceback would); ``SUBPROCESS_SAMPLE`` runs a few of them as real processes too. Rows
whose ``argv`` starts with a ``.py`` path always run as a subprocess. Add a row to cover a new case.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu.training.checkpoint import save_checkpoint
from tinygrad_edu.cli import main
from tinygrad_edu.data import write_digits_csv, write_idx
from tinygrad_edu.data.mnist import MNIST_FILES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ONE_GIB = str(1 << 30)


@dataclass(frozen=True)
class Row:
    argv: tuple[str, ...]
    code: int
    phrase: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return " ".join(self.argv)[:90]


def rows(code: int, phrase: str, *argvs: tuple[str, ...], env: dict[str, str] | None = None) -> list[Row]:
    """Several invocations that share an exit code and a phrase."""
    return [Row(tuple(argv), code, phrase, env or {}) for argv in argvs]


BAD_USAGE: list[Row] = [
    # ---- train: every option range-checked by argparse (exit 2, "argument --x: ...") ----
    *rows(2, "argument --lr: must be a positive finite number",
          ("train", "--lr", "-1"), ("train", "--lr", "0"), ("train", "--lr", "nan"), ("train", "--lr", "inf"),
          ("train", "--lr", "abc")),
    *rows(2, "argument --weight-decay: must be a non-negative finite number",
          ("train", "--weight-decay", "-1"), ("train", "--weight-decay", "nan"), ("train", "--weight-decay=-inf")),
    *rows(2, "argument --seed:", ("train", "--seed", "-1"), ("train", "--seed", "1.5"), ("train", "--seed", "99999999999")),
    *rows(2, "argument --val-size: must be a positive integer", ("train", "--val-size", "0"), ("train", "--val-size", "-1")),
    *rows(2, "argument --train-subset: must be a positive integer",
          ("train", "--train-subset", "0"), ("train", "--train-subset", "-5")),
    *rows(2, "argument --augment:", ("train", "--augment", "100"), ("train", "--augment", "-1"), ("train", "--augment", "5")),
    *rows(2, "argument --epochs: must be a positive integer", ("train", "--epochs", "0"), ("train", "--epochs", "-2")),
    *rows(2, "argument --hidden: must be a positive integer", ("train", "--hidden", "0"), ("train", "--hidden", "1e3")),
    *rows(2, "argument --batch-size:", ("train", "--batch-size", "0"), ("train", "--batch-size", "half")),
    *rows(2, "argument --hidden: a 784-1000000000-10 network needs about", ("train", "--hidden", "1000000000")),
    *rows(2, "needs about", ("train", "--hidden", "100000"), ("compare", "--hidden", "1000000"),
          ("train", "--hidden", "2000", "--batch-size", "full"), env={"TINYGRAD_EDU_MEMORY_LIMIT": ONE_GIB}),
    # ---- train: folders checked before any data is loaded ----
    *rows(2, "is a file, not a folder", ("train", "--out", "{file}"), ("train", "--data-dir", "{file}")),
    *rows(2, "is a file", ("train", "--out", "{file}/run")),
    *rows(2, "did not write (notes.txt)", ("train", "--out", "{foreign_out}", "--data-dir", "{missing}")),
    *rows(2, "leaves no training images",
          ("train", "--train-subset", "100", "--val-size", "100"),
          ("train", "--data-dir", "{small}", "--val-size", "300", "--out", "{tmp}/v")),
    *rows(1, "is a file, not a folder", ("train", "--out", "{tmp}/e"), env={"TINYGRAD_EDU_DATA": "{file}"}),
    # ---- compare and graph ----
    *rows(2, "argument --seed:", ("compare", "--seed", "-1"), ("graph", "--seed", "-1")),
    *rows(2, "must be a positive integer",
          ("compare", "--batch-size", "0"), ("compare", "--fd-points", "0"), ("graph", "--hidden", "0"),
          ("graph", "--batch", "0")),
    *rows(2, "must be an integer in 1..60000", ("compare", "--batch-size", "100000"), ("graph", "--batch", "70000")),
    *rows(2, "is a file, not a folder", ("compare", "--data-dir", "{file}"), ("graph", "--steps", "{file}")),
    *rows(2, "is a folder; give a file name", ("graph", "--out", "{tmp}")),
    *rows(2, "argument --out: cannot write", ("graph", "--out", "{file}/graph.svg")),
    # ---- checkpoints: ours, or named as not ours ----
    *rows(1, "no such checkpoint", ("evaluate", "--checkpoint", "{tmp}/none.npz")),
    *rows(1, "is a folder; give the model.npz", ("evaluate", "--checkpoint", "{tmp}")),
    *rows(1, "is not a tinygrad_edu checkpoint",
          ("evaluate", "--checkpoint", "{file}"), ("predict", "--checkpoint", "{npy_renamed}"),
          ("evaluate", "--checkpoint", "{bad_meta}"), ("predict", "--checkpoint", "{wrong_shapes}"),
          ("evaluate", "--checkpoint", "{other_npz}")),
    *rows(1, "the model is broken", ("predict", "--checkpoint", "{nan_model}"), ("evaluate", "--checkpoint", "{nan_model}")),
    *rows(2, "argument --index: must be a non-negative integer", ("predict", "--checkpoint", "{model}", "--index", "-1")),
    *rows(2, "--index must be in 0..49", ("predict", "--checkpoint", "{model}", "--index", "50", "--data-dir", "{small}")),
    # ---- data folders: clear messages, no tracebacks ----
    *rows(1, "holds 0 images", ("evaluate", "--checkpoint", "{model}", "--data-dir", "{zero_images}")),
    *rows(1, "not a text CSV file", ("evaluate", "--checkpoint", "{model}", "--data-dir", "{latin1_csv}")),
    *rows(1, "label inf is not a whole number", ("evaluate", "--checkpoint", "{model}", "--data-dir", "{inf_label_csv}")),
    *rows(1, "mnist_test.csv is missing", ("evaluate", "--checkpoint", "{model}", "--data-dir", "{train_csv_only}")),
    *rows(1, "is a folder, but the MNIST file", ("evaluate", "--checkpoint", "{model}", "--data-dir", "{folder_in_place}")),
    *rows(2, "MNIST files missing from", ("compare", "--data-dir", "{missing}")),  # compare: 2 for bad input
    *rows(1, "is a file, not a folder", ("evaluate", "--checkpoint", "{model}"), env={"TINYGRAD_EDU_DATA": "{file}"}),
    # ---- exercises ----
    *rows(2, "no exercise called 'nope'", ("exercise", "check", "nope"), ("exercise", "start", "nope", "--dir", "{tmp}"),
          ("exercise", "solution", "nope")),
    *rows(2, "invalid choice: 'bogus'", ("exercise", "bogus")),
    # ---- grade ----
    *rows(2, "no such folder", ("grade", "{tmp}/no-such-class", "--out", "{tmp}/marks")),
    *rows(2, "no exercise called 'nope'", ("grade", "{tmp}", "--out", "{tmp}/marks", "--exercises", "nope")),
    *rows(2, "give SUBMISSIONS and --out", ("grade",), ("grade", "{tmp}")),
    *rows(2, "--out must be outside SUBMISSIONS", ("grade", "{tmp}", "--out", "{tmp}/marks")),
    *rows(2, "argument -j/--jobs: ", ("grade", "{tmp}", "--out", "{tmp}/marks", "-j", "0")),
    *rows(2, "argument --time-limit: ", ("grade", "{tmp}", "--out", "{tmp}/marks", "--time-limit", "-1")),
    *rows(2, "exists; it is not overwritten", ("grade", "--gradescope-autograder", "{file}")),
    *rows(2, "argument --dir: ", ("exercise", "start", "engine", "--dir", "{file}"),
          ("exercise", "check", "engine", "--dir", "{file}"), ("exercise", "list", "--dir", "{file}")),
    *rows(2, "no such file. Start the exercise with", ("exercise", "check", "engine", "--dir", "{missing}")),
    *rows(2, "the following arguments are required", ("exercise",), ("exercise", "start")),
    *rows(2, "argument --time-limit: must be a positive finite number", ("exercise", "check", "engine", "--time-limit", "0"),
          ("exercise", "check", "engine", "--time-limit", "-1"), ("exercise", "check", "engine", "--time-limit", "nan"),
          ("exercise", "check", "engine", "--time-limit", "soon")),
    *rows(2, "no such file", ("compare", "--backward", "{tmp}/missing.py")),
    *rows(2, "no such folder", ("exercise", "list", "--dir", "{tmp}/nothing")),
    *rows(2, "not both", ("compare", "--backward", "{tmp}/missing.py", "--inject-bug", "forgot-1/N")),
    # ---- notebooks ----
    *rows(2, "no lesson scripts", ("notebooks", "--lessons", "{tmp}")),
    *rows(2, "argument --out: ", ("notebooks", "--out", "{file}")),
    *rows(2, "File name too long", ("notebooks", "--out", "{tmp}/" + "n" * 300), ("train", "--out", "n" * 300),
          ("notebooks", "--lessons", "n" * 300), ("predict", "--checkpoint", "{model}", "--data-dir", "n" * 300)),
    *rows(1, "File name too long", ("evaluate", "--checkpoint", "n" * 300)),
    *rows(1, "is not UTF-8 text", ("notebooks", "--lessons", "{latin1_lessons}", "--out", "{tmp}/nb-latin1")),
    # a notebook the student changed (edited, ran, made read-only) is theirs: refused, nothing written
    *rows(1, "changed since this command wrote them", ("notebooks", "--lessons", "{one_lesson}", "--out", "{edited_notebooks}"),
          ("notebooks", "--lessons", "{one_lesson}", "--out", "{read_only_notebooks}")),
    # ---- train: a loss that explodes stops the run, naming the epoch and a learning rate to try ----
    *rows(1, "at epoch 1, step 2 of 2 (learning rate", ("train", "--data-dir", "{small}", "--val-size", "50", "--epochs", "1",
                                                       "--batch-size", "128", "--lr", "1e10", "--out", "{tmp}/exploded")),
    *rows(1, "training diverged. Try a smaller learning rate, for example --lr 0.1.",
          ("train", "--data-dir", "{small}", "--val-size", "50", "--epochs", "1", "--optimizer", "sgd", "--lr", "1e10")),
    *rows(1, "its metadata's 'config' is str", ("evaluate", "--checkpoint", "{config_str_meta}")),
    # ---- found by the issue-23 adversarial pass ----
    *rows(1, "training diverged. Try a smaller learning rate, for example --lr 0.1.",  # the epoch's mean loss grew
          ("train", "--data-dir", "{small}", "--val-size", "50", "--epochs", "2", "--optimizer", "sgd", "--lr", "50")),
    *rows(1, "is a broken symbolic link", ("evaluate", "--checkpoint", "{model}", "--data-dir", "{broken_link}")),
    *rows(2, "must be a file path, got an empty string", ("evaluate", "--checkpoint", ""), ("predict", "--checkpoint", "")),
    *rows(2, "argument --time-limit: must be at most 86400 seconds", ("exercise", "check", "engine", "--time-limit", "1e308")),
    *rows(1, "gives 5000 validation examples out of the 300 training examples",
          ("lessons/07_training_mnist.py", "--quick", "--data-dir", "{small}", "--out", "{tmp}/l7")),
    # ---- lessons: the same option types and messages, named after the script; refused before any work ----
    *rows(2, "argument --out: ", ("lessons/01_chain_rule.py", "--out", "{file}"),
          ("lessons/03_tensors.py", "--out", "{file}/figures"), ("lessons/06_network_graph.py", "--out", "{file}"),
          ("lessons/08_experiments.py", "--quick", "--out", "{file}", "--data-dir", "{missing}")),
    *rows(2, "unrecognized arguments: --no-such-option", ("lessons/02_computation_graph.py", "--no-such-option")),
    *rows(2, "argument --epochs: must be a positive integer", ("lessons/07_training_mnist.py", "--epochs", "0"),
          ("lessons/07_training_mnist.py", "--epochs", "-3"), ("lessons/07_training_mnist.py", "--epochs", "two")),
    *rows(2, "is a file, not a folder", ("lessons/05_backprop_by_hand.py", "--data-dir", "{file}")),
    # MNIST missing (and no way to download it): the loader's message, which suggests --data-dir.
    *rows(1, "pass --data-dir FOLDER", ("lessons/05_backprop_by_hand.py", "--data-dir", "{missing}"),
          ("lessons/07_training_mnist.py", "--quick", "--data-dir", "{missing}"),
          ("lessons/08_experiments.py", "--quick", "--data-dir", "{missing}"),
          ("lessons/09_where_backprop_leaks.py", "--quick", "--data-dir", "{missing}")),
    *rows(1, "pass --data-dir FOLDER", ("lessons/07_training_mnist.py", "--quick"), env={"TINYGRAD_EDU_DATA": "{missing}"}),
]

# A few rows run again as real processes: the exit code and stderr a shell sees, and no "Traceback".
SUBPROCESS_SAMPLE = [row for row in BAD_USAGE if row.argv[:2] in {("train", "--lr"), ("predict", "--checkpoint"),
                                                                   ("evaluate", "--checkpoint")}][::4]


TINY_LESSON = "# %% [markdown]\n# # A tiny lesson\n\n# %%\nprint(1 + 1)\n"


def _small_mnist(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_small_mnist(folder: Path, n_train: int = 300, n_test: int = 50) -> Path:
    """Four gzip IDX files in MNIST's format (random pixels and labels) under MNIST's names."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = _small_mnist(n, seed)
        write_idx(folder / MNIST_FILES[f"{split}_images"][0], images)
        write_idx(folder / MNIST_FILES[f"{split}_labels"][0], labels)
    return folder


def random_params(hidden: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0, 0.05, (784, hidden)).astype(np.float32), "b1": np.zeros(hidden, np.float32),
            "W2": rng.normal(0, 0.3, (hidden, 10)).astype(np.float32), "b2": np.zeros(10, np.float32)}


@pytest.fixture(scope="module")
def materials(tmp_path_factory) -> dict[str, str]:
    """The files the rows' placeholders name, built once."""
    tmp = tmp_path_factory.mktemp("bad-usage")
    m: dict[str, Path] = {"tmp": tmp, "missing": tmp / "no-such-folder", "lessons": PROJECT_ROOT / "lessons"}
    m["file"] = tmp / "notes.txt"
    m["file"].write_text("just some text\n")
    m["foreign_out"] = tmp / "foreign-out"
    m["foreign_out"].mkdir()
    (m["foreign_out"] / "notes.txt").write_text("mine\n")
    m["small"] = write_small_mnist(tmp / "small")
    m["model"] = save_checkpoint(tmp / "model.npz", random_params(), {"config": {"engine": "autodiff"}, "epochs": []})
    nan_params = random_params()
    nan_params["W2"][0, 0] = np.nan
    m["nan_model"] = save_checkpoint(tmp / "nan.npz", nan_params, {"config": {}})
    m["npy_renamed"] = tmp / "weights.npz"
    with open(m["npy_renamed"], "wb") as f:
        np.save(f, np.zeros((3, 3)))
    m["bad_meta"] = tmp / "bad_meta.npz"
    np.savez(m["bad_meta"], meta=np.array("{not json"), **random_params())
    m["wrong_shapes"] = tmp / "wrong_shapes.npz"
    np.savez(m["wrong_shapes"], meta=np.array("{}"), **{**random_params(), "W2": np.zeros((3, 10), np.float32)})
    m["other_npz"] = tmp / "other.npz"
    np.savez(m["other_npz"], weights=np.zeros(3))
    m["config_str_meta"] = save_checkpoint(tmp / "config_str.npz", random_params(), {"config": "x"})

    m["one_lesson"] = tmp / "one-lesson"
    m["one_lesson"].mkdir()
    (m["one_lesson"] / "01_tiny.py").write_text(TINY_LESSON)
    m["latin1_lessons"] = tmp / "latin1-lessons"
    m["latin1_lessons"].mkdir()
    (m["latin1_lessons"] / "01_tiny.py").write_bytes(TINY_LESSON.encode() + "# caf\u00e9\n".encode("latin-1"))
    m["edited_notebooks"] = tmp / "edited-notebooks"
    m["read_only_notebooks"] = tmp / "read-only-notebooks"
    for folder in (m["edited_notebooks"], m["read_only_notebooks"]):
        assert main(["notebooks", "--lessons", str(m["one_lesson"]), "--out", str(folder)]) == 0
    edited = m["edited_notebooks"] / "01_tiny.ipynb"
    edited.write_text(edited.read_text().replace("print(1 + 1)", "print(2 + 2)  # mine"))
    (m["read_only_notebooks"] / "01_tiny.ipynb").chmod(0o444)

    m["zero_images"] = write_small_mnist(tmp / "zero", n_train=0, n_test=0)
    m["latin1_csv"] = tmp / "latin1"
    m["latin1_csv"].mkdir()
    for name in ("mnist_train.csv", "mnist_test.csv"):
        (m["latin1_csv"] / name).write_bytes("label,pixel\u00e9\n".encode("latin-1") + b"1," + b"0," * 783 + b"0\n")
    m["inf_label_csv"] = tmp / "inf-label"
    m["inf_label_csv"].mkdir()
    images, labels = _small_mnist(5, 2)
    for name in ("mnist_train.csv", "mnist_test.csv"):
        path = write_digits_csv(m["inf_label_csv"] / name, images.reshape(5, -1), labels)
        lines = path.read_text().splitlines()
        lines[2] = "inf" + lines[2][1:]
        path.write_text("\n".join(lines) + "\n")
    m["train_csv_only"] = tmp / "train-csv-only"
    m["train_csv_only"].mkdir()
    write_digits_csv(m["train_csv_only"] / "mnist_train.csv", images.reshape(5, -1), labels)
    m["broken_link"] = write_small_mnist(tmp / "broken-link")
    (m["broken_link"] / MNIST_FILES["test_labels"][0]).unlink()
    (m["broken_link"] / MNIST_FILES["test_labels"][0]).symlink_to(tmp / "nowhere")
    m["folder_in_place"] = write_small_mnist(tmp / "folder-in-place")
    test_images = m["folder_in_place"] / MNIST_FILES["test_images"][0]
    test_images.unlink()
    test_images.mkdir()
    return {name: str(path) for name, path in m.items()}


def fill(text: str, materials: dict[str, str]) -> str:
    return text.format(**materials)


def run_row(row: Row, materials: dict[str, str], capsys, monkeypatch, subprocess_: bool) -> tuple[int, str, str]:
    argv = [fill(arg, materials) for arg in row.argv]
    env = {name: fill(value, materials) for name, value in row.env.items()}
    monkeypatch.setenv("XDG_CACHE_HOME", os.path.join(materials["tmp"], "cache"))  # never the user's cache
    monkeypatch.setenv("TINYGRAD_EDU_MNIST_MIRRORS", "http://127.0.0.1:9/")  # nothing listens: no download
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if subprocess_ or argv[0].endswith(".py"):
        command = [sys.executable, str(PROJECT_ROOT / argv[0]), *argv[1:]] if argv[0].endswith(".py") else \
            [sys.executable, "-m", "tinygrad_edu", *argv]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=materials["tmp"],
                                env=os.environ.copy())
        return result.returncode, result.stdout, result.stderr
    monkeypatch.chdir(materials["tmp"])
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's errors
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check(row: Row, code: int, out: str, err: str) -> None:
    shown = f"\n--- stdout\n{out}\n--- stderr\n{err}"
    assert "Traceback" not in out + err, shown
    assert code == row.code, f"exit code {code}, expected {row.code}{shown}"
    assert row.phrase in err, f"{row.phrase!r} not on stderr{shown}"
    if row.argv[0].endswith(".py"):  # a lesson reports like a command, named after its script
        assert f"{Path(row.argv[0]).name}: error: " in err, shown
        if row.code == 2:  # bad usage is refused before any work: not even the lesson's title is printed
            assert out == "", shown


@pytest.mark.parametrize("row", BAD_USAGE, ids=lambda row: row.id)
def test_bad_usage(row: Row, materials, capsys, monkeypatch):
    check(row, *run_row(row, materials, capsys, monkeypatch, subprocess_=False))


@pytest.mark.parametrize("row", SUBPROCESS_SAMPLE, ids=lambda row: row.id)
def test_bad_usage_as_a_real_process(row: Row, materials, capsys, monkeypatch):
    check(row, *run_row(row, materials, capsys, monkeypatch, subprocess_=True))


def test_every_command_has_rows():
    from tinygrad_edu.cli import COMMANDS

    assert set(COMMANDS) <= {row.argv[0] for row in BAD_USAGE}


def test_not_canonical_mnist_is_one_note_and_the_run_goes_on(materials, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", os.path.join(materials["tmp"], "cache"))
    code = main(["evaluate", "--checkpoint", materials["model"], "--data-dir", materials["small"]])
    err = capsys.readouterr().err
    assert code == 0
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {materials['small']} does not hold the canonical MNIST (300 training and 50 test "
                     "images; MNIST has 60,000 and 10,000); using it as given."]


# ---- outcomes that are not errors: nothing a user made is lost ----
def test_notebooks_replace_only_their_own_untouched_notebooks(tmp_path, capsys):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "01_tiny.py").write_text(TINY_LESSON)
    out = tmp_path / "notebooks"
    assert main(["notebooks", "--lessons", str(lessons), "--out", str(out)]) == 0
    notebook = out / "01_tiny.ipynb"
    (lessons / "01_tiny.py").write_text(TINY_LESSON.replace("1 + 1", "3 + 3"))  # the lesson changed: regenerate
    assert main(["notebooks", "--lessons", str(lessons), "--out", str(out)]) == 0
    assert "print(3 + 3)" in notebook.read_text()
    ran = json.loads(notebook.read_text())  # the student ran it: the outputs are theirs
    ran["cells"][-1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["6\n"]}]
    notebook.write_text(json.dumps(ran))
    capsys.readouterr()
    assert main(["notebooks", "--lessons", str(lessons), "--out", str(out)]) == 1
    assert "01_tiny.ipynb in" in capsys.readouterr().err and json.loads(notebook.read_text()) == ran
    assert main(["notebooks", "--lessons", str(lessons), "--out", str(out), "--force"]) == 0
    assert json.loads(notebook.read_text())["cells"][-1]["outputs"] == []


def test_a_figure_that_fails_does_not_lose_the_run(tmp_path, monkeypatch):
    from tinygrad_edu.training import plots
    from tinygrad_edu.training.loop import TrainConfig, TrainResult, write_outputs

    def broken(*args, **kwargs):
        raise IndexError("index 20 is out of bounds for axis 0 with size 20")

    monkeypatch.setattr(plots, "plot_predictions", broken)  # whatever the cause: here, a figure that crashes
    images, labels = _small_mnist(20, 3)
    history = [{"epoch": 1, "train_loss": 2.0, "train_accuracy": 0.1, "val_loss": 2.1, "val_accuracy": 0.1,
                "lr": 0.005, "seconds": 0.1}]
    result = TrainResult(TrainConfig(hidden=8, epochs=1), history, 0.1, 2.2, [0.1] * 10,
                         np.ones((10, 10), dtype=np.int64), labels.astype(np.int64), random_params())
    lines: list[str] = []
    paths = write_outputs(result, tmp_path / "run", images, labels, lines.append)
    assert any("warning: could not draw predictions.png (IndexError" in line for line in lines)
    written = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"model.npz", "metrics.json", "metrics.csv", "curves.png", "confusion.png", "weights.png"} <= written
    assert "predictions" not in paths and "predictions.png" not in written

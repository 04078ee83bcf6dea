"""The three-way comparison (manual vs autodiff vs finite differences), the bug hunt and `tinygrad-edu compare`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_edu import manual
from tinygrad_edu.manual.compare import compare_gradients, format_table
from tinygrad_edu.manual.mistakes import BUGS, Bug, student_backward
from tinygrad_edu.errors import ShapeError

ALL = ["dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def batch(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784)), rng.integers(0, 10, size=n)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden", [10, 128])
def test_correct_backprop_passes_every_row(dtype, hidden):
    x, y = batch(7)
    comparison = compare_gradients(manual.init_params(hidden, dtype=dtype), x, y)
    assert comparison.passed, str(comparison)
    assert [row.name for row in comparison] == ALL
    assert comparison["dW1"].shape == (784, hidden) and comparison["dZ1"].kind == "intermediate"
    assert comparison["db2"].kind == "parameter" and comparison["db2"].fd_points >= 5
    for row in comparison:
        assert row.rel_error <= (1e-10 if dtype == np.float64 else 1e-5)
        assert row.fd_error <= (1e-6 if dtype == np.float64 else 1e-5)
        assert row.cosine == pytest.approx(1, abs=1e-6)
    assert comparison.loss_manual == pytest.approx(comparison.loss_autodiff, rel=1e-6)


def test_on_a_real_mnist_batch(mnist):
    params = manual.init_params(128, dtype=np.float64)
    comparison = compare_gradients(params, mnist.test_images[:32], mnist.test_labels[:32])
    assert comparison.passed, str(comparison)


def test_correct_steps_are_exactly_manual_backward():
    # The bug hunt runs backward as separate steps; without a bug they must be manual.backward to the bit.
    params = manual.init_params(20, dtype=np.float32)
    x, y = batch(9)
    cache = manual.forward(params, x, y)
    steps, errors = student_backward(params, cache, y)
    reference = manual.backward(params, cache, y)
    assert not errors and list(steps) == list(reference)
    for name in reference:
        np.testing.assert_array_equal(steps[name], reference[name])


# Each bug must break exactly these rows (and the table must say so); `missing-transpose` fails to run
# when H != 10 (no numbers for dA1 and what follows it) and gives wrong numbers when H == 10.
EXPECTED_FAILURES = {
    "forgot-1/N": ALL,
    "relu-mask-z1": ["dZ1", "dW1", "db1"],
    "relu-mask-forgotten": ["dZ1", "dW1", "db1"],
    "missing-transpose": ["dA1", "dZ1", "dW1", "db1"],
    "softmax-elementwise": ALL,
    "bias-not-summed": ["db2", "db1"],
    "bias-averaged": ["db2", "db1"],
}


def test_every_bug_has_an_expectation():
    assert set(BUGS) == set(EXPECTED_FAILURES)


@pytest.mark.parametrize("hidden", [10, 32])
@pytest.mark.parametrize("name", list(EXPECTED_FAILURES))
def test_each_injected_bug_breaks_exactly_its_rows(name, hidden):
    x, y = batch(6, seed=1)
    comparison = compare_gradients(manual.init_params(hidden, dtype=np.float64), x, y, bug=name)
    assert not comparison.passed
    assert comparison.failed == EXPECTED_FAILURES[name]
    assert comparison.bug == name
    for row in comparison:
        assert row.fd_error_autodiff <= 1e-6  # autodiff still agrees with finite differences
        if row.passed:
            assert row.rel_error <= 1e-10
        elif row.manual_shape == row.shape:  # wrong numbers: finite differences side with autodiff
            assert row.rel_error > 1e-3 and row.fd_error > 1e-3


def test_missing_transpose_is_a_shape_error_unless_hidden_is_10():
    x, y = batch(6)
    comparison = compare_gradients(manual.init_params(32, dtype=np.float64), x, y, bug="missing-transpose")
    assert "NumPy refused this step" in comparison["dA1"].problem
    assert comparison["dZ1"].problem == "not computed: needs dA1, which failed"
    assert comparison["dW1"].problem == "not computed: needs dZ1, which failed"
    silent = compare_gradients(manual.init_params(10, dtype=np.float64), x, y, bug="missing-transpose")
    assert silent["dA1"].manual_shape == (6, 10) and silent["dA1"].rel_error > 0.1


def test_bias_not_summed_reports_the_shape():
    x, y = batch(6)
    comparison = compare_gradients(manual.init_params(10, dtype=np.float64), x, y, bug="bias-not-summed")
    assert comparison["db2"].problem == "shape (6, 10), expected (10,)"
    assert comparison["db2"].manual_shape == (6, 10)


def test_at_batch_size_1_the_1_over_n_bugs_are_invisible_but_shapes_are_not():
    x, y = batch(1)
    params = manual.init_params(10, dtype=np.float64)
    assert compare_gradients(params, x, y, bug="forgot-1/N").passed  # N = 1: the same numbers
    assert compare_gradients(params, x, y, bug="bias-averaged").passed
    assert compare_gradients(params, x, y, bug="bias-not-summed").failed == ["db2", "db1"]  # (1, 10) is not (10,)
    assert compare_gradients(params, x, y, bug="relu-mask-z1").failed == ["dZ1", "dW1", "db1"]


def test_mask_from_a1_is_not_a_bug():
    # 1[A1 > 0] equals 1[Z1 > 0], since A1 = relu(Z1) is positive exactly where Z1 is.
    a1_mask = Bug("a1-mask", "dZ1 = dA1 * (A1 > 0)", "the same mask", {"dZ1": lambda s: s.dA1 * (s.A1 > 0)})
    x, y = batch(8)
    assert compare_gradients(manual.init_params(16, dtype=np.float64), x, y, bug=a1_mask).passed


def test_float32_comparison_detects_bugs_too():
    x, y = batch(5)
    comparison = compare_gradients(manual.init_params(10, dtype=np.float32), x, y, bug="relu-mask-forgotten")
    assert comparison.failed == ["dZ1", "dW1", "db1"]


def test_bad_input_and_unknown_bug():
    params = manual.init_params(10, dtype=np.float64)
    x, y = batch(3)
    with pytest.raises(ShapeError, match=r"compare_gradients: x has shape \(3, 100\)"):
        compare_gradients(params, x[:, :100], y)
    with pytest.raises(manual.InputError, match=r"label y\[0\] = 11"):
        compare_gradients(params, x, np.array([11, 0, 0]))
    with pytest.raises(manual.InputError, match=r"unknown bug 'nope'; choose one of: forgot-1/N"):
        compare_gradients(params, x, y, bug="nope")


def test_table_is_aligned_and_coloured_only_when_asked():
    x, y = batch(4)
    comparison = compare_gradients(manual.init_params(10, dtype=np.float64), x, y, bug="relu-mask-z1")
    plain = format_table(comparison)
    assert not ANSI.search(plain) and str(comparison) == plain
    lines = plain.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("gradient"))
    table = lines[header : header + 8]
    # right-aligned number columns end at the same place on every line
    for column in ("rel err", "cosine", "FD autodiff"):
        end = table[0].index(column) + len(column)
        assert all(line[end - 1] != " " and (len(line) == end or line[end] == " ") for line in table), column
    assert [line.split()[-1] for line in table[1:]] == ["ok", "ok", "ok", "ok", "FAIL", "FAIL", "FAIL"]
    assert "3 of 7 gradients FAIL: dZ1, dW1, db1" in plain
    coloured = format_table(comparison, color=True)
    assert "\x1b[31m" in coloured and "\x1b[32m" in coloured and ANSI.sub("", coloured) == plain


# -- the command, run as a user runs it ------------------------------------------------------------------------
def run_compare(*args: str, env: dict | None = None, tmp_path=None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("TINYGRAD_EDU_DATA", "NO_COLOR", "FORCE_COLOR")}
    if tmp_path is not None:
        environment["XDG_CACHE_HOME"] = str(tmp_path)  # no MNIST in the cache folder: random inputs
    environment.update(env or {})
    command = [sys.executable, "-m", "tinygrad_edu", "compare", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment)


def test_command_passes_on_random_inputs_offline(tmp_path):
    result = run_compare("--hidden", "10", "--batch-size", "7", "--dtype", "float32", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "network 784-10-10, batch 7, float32, seed 0" in out
    assert "input: random pixels in [0, 1) and random labels, MNIST's shape (7, 784)" in out
    assert "all 7 gradients agree" in out and not ANSI.search(out)  # not a terminal: no colour
    rows = [line.split() for line in out.splitlines() if line.split()[:1] and line.split()[0] in ALL]
    assert [r[0] for r in rows] == ALL and all(r[-1] == "ok" for r in rows)


def test_command_fails_with_an_injected_bug(tmp_path):
    result = run_compare("--hidden", "10", "--batch-size", "5", "--inject-bug", "bias-not-summed", tmp_path=tmp_path)
    assert result.returncode == 1
    failing = [line.split()[0] for line in result.stdout.splitlines() if line.endswith("FAIL")]
    assert failing == ["db2", "db1"]
    assert "db2: shape (5, 10), expected (10,)" in result.stdout
    assert "injected bug 'bias-not-summed'" in result.stdout


def test_command_lists_bugs():
    result = run_compare("--list-bugs")
    assert result.returncode == 0
    for name, bug in BUGS.items():
        assert f"  {name}" in result.stdout and bug.summary in result.stdout


def test_command_rejects_unknown_bug_and_bad_sizes():
    result = run_compare("--inject-bug", "nope")
    assert result.returncode == 2 and "invalid choice: 'nope'" in result.stderr
    result = run_compare("--batch-size", "0")
    assert result.returncode == 2 and "must be a positive integer, got 0" in result.stderr


def test_command_with_a_missing_data_dir_says_what_to_do(tmp_path):
    result = run_compare("--data-dir", str(tmp_path / "empty"))
    assert result.returncode == 2
    assert "MNIST files missing from" in result.stderr and "--data-dir" in result.stderr and not result.stdout


def test_command_on_real_mnist(mnist_dir):
    result = run_compare("--data-dir", str(mnist_dir), "--hidden", "10", "--batch-size", "16")
    assert result.returncode == 0, result.stdout + result.stderr
    printed = " ".join(result.stdout.split())  # long lines are folded at word boundaries
    assert f"input: a real MNIST batch, 16 training images picked at random (seed 0) from {mnist_dir}" in printed


def run_in_terminal(env: dict) -> str:
    """Run the command with its stdout on a pseudo-terminal, as in an interactive shell."""
    pty = pytest.importorskip("pty", reason="pseudo-terminals need a POSIX system")
    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("TINYGRAD_EDU_DATA", "NO_COLOR")}
    environment.update(env)
    command = [sys.executable, "-m", "tinygrad_edu", "compare", "--hidden", "10", "--batch-size", "3"]
    process = subprocess.Popen(command, stdout=follower, stderr=follower, env=environment)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_unless_no_color(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path), "TERM": "xterm"}
    assert ANSI.search(run_in_terminal(env))
    assert not ANSI.search(run_in_terminal({**env, "NO_COLOR": "1"}))


def test_docstring_examples():
    import doctest

    import tinygrad_edu.manual.compare as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_finite_differences_skip_coordinates_next_to_a_relu_kink(monkeypatch):
    # Put hidden unit 3 of example 0 just 3e-7 above its kink: moving b1[3] by eps = 1e-6 crosses it.
    params = manual.init_params(10, dtype=np.float64)
    x, y = batch(4)
    params["b1"][3] -= manual.forward(params, x, y)["Z1"][0, 3] - 3e-7
    comparison = compare_gradients(params, x, y, fd_points=10)  # b1 has 10 coordinates: all but b1[3]
    assert comparison.passed, str(comparison)
    assert comparison["db1"].fd_points == 9
    import tinygrad_edu.manual.compare as compare

    monkeypatch.setattr(compare, "_off_kinks", lambda *args: True)
    across_the_kink = compare_gradients(params, x, y, fd_points=10)
    assert across_the_kink.failed == ["db1"] and across_the_kink["db1"].fd_error > 1e-3


def test_installed_console_script_runs_compare(tmp_path):
    # The README's main command is `.venv/bin/tinygrad-edu compare`: the entry point beside this Python.
    script = os.path.join(os.path.dirname(sys.executable), "tinygrad-edu")
    if not os.path.exists(script):
        pytest.skip(f"no console script at {script} (package not installed with pip install -e)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("TINYGRAD_EDU_DATA", None)
    command = [script, "compare", "--hidden", "10", "--batch-size", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0 and "all 7 gradients agree" in result.stdout


def test_finite_differences_stay_accurate_for_large_batches():
    # Gradients of intermediates shrink like 1/N; their finite differences use only the example's own loss
    # term, so their rounding error shrinks too (differencing the whole mean would fail near N = 4000).
    x, y = batch(3000, seed=5)
    comparison = compare_gradients(manual.init_params(10, dtype=np.float64), x, y)
    assert comparison.passed, str(comparison)
    assert all(comparison[name].fd_error < 1e-7 for name in ("dZ2", "dA1", "dZ1"))


# -- compare --backward: the student's own backward ---------------------------------------------------------
def _student_file(tmp_path, replace: dict[str, str] | None = None, name: str = "mine.py"):
    """A backward written by a student: manual.backward's seven lines, with some lines replaced."""
    from tinygrad_edu.exercises import get

    text = get("network-backprop").solution()
    for starts, new in (replace or {}).items():
        text = re.sub(rf"^(\s*){re.escape(starts)}.*$", lambda m: m.group(1) + new, text, flags=re.MULTILINE)
    path = tmp_path / name
    path.write_text(text)
    return path


def _compare(capsys, *args):
    from tinygrad_edu.cli import main

    code = main(["compare", "--hidden", "10", "--batch-size", "16", "--color", "never", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _failing_lines(out: str) -> list[str]:
    section = out.split("Each line on its own")[1].split("In the chain")[0]
    return re.findall(r"^(d\w+)\s+FAIL", section, flags=re.MULTILINE)


def test_compare_backward_correct_file_passes(tmp_path, capsys):
    code, out, _ = _compare(capsys, "--backward", str(_student_file(tmp_path)))
    assert code == 0, out
    assert _failing_lines(out) == [] and "all 7 gradients agree" in out


def test_compare_backward_names_the_missing_1_over_n(tmp_path, capsys):
    path = _student_file(tmp_path, {"dZ2 = ": "dZ2 = P - Y"})
    code, out, _ = _compare(capsys, "--backward", f"{path}:backward")
    assert code == 1
    assert _failing_lines(out) == ["dZ2"]
    flat = " ".join(out.split())
    assert "your dZ2 is exactly 16 times too large: the loss is a mean over the batch of 16, so it needs the 1/N" in flat
    assert "'forgot-1/N'" in flat


@pytest.mark.parametrize("line, new", [("dW1 = ", "dW1 = X.T @ dZ1 * 2"), ("dZ1 = ", "dZ1 = dA1 * Z1")])
def test_compare_backward_one_wrong_line_fails_only_its_row(tmp_path, capsys, line, new):
    code, out, _ = _compare(capsys, "--backward", str(_student_file(tmp_path, {line: new})))
    assert code == 1
    assert _failing_lines(out) == [line.split()[0]]


def test_compare_gradients_with_a_partial_backward():
    params = manual.init_params(10, dtype=np.float64)
    x, y = batch(6)

    def backward(params, cache, y):
        full = manual.backward(params, cache, y)
        return {name: full[name] for name in ("dZ2", "dW2", "db2")}

    comparison = compare_gradients(params, x, y, backward=backward)
    assert comparison.failed == ["dA1", "dZ1", "dW1", "db1"]
    assert comparison["dW1"].problem == "not written yet"
    assert comparison.lines is None  # compare_gradients compares what backward returns, nothing more

    from tinygrad_edu.exercises.checks.network_backprop import compare_student_backward

    checked = compare_student_backward(backward, params, x, y)
    assert checked.failed == comparison.failed
    assert [line.status for line in checked.lines] == ["pass"] * 3 + ["not written yet"] * 4
    assert "dW1: not written yet" in format_table(comparison)


def test_compare_backward_bad_usage_and_broken_files(tmp_path, capsys):
    good = _student_file(tmp_path)
    code, _, err = _compare(capsys, "--backward", str(tmp_path / "missing.py"))
    assert code == 2 and "no such file" in err
    code, _, err = _compare(capsys, "--backward", f"{good}:backprop")
    assert code == 2 and "has no function backprop(); it defines: backward" in err
    code, _, err = _compare(capsys, "--backward", str(good), "--inject-bug", "forgot-1/N")
    assert code == 2
    broken = _student_file(tmp_path, {"dW2 = ": "dW2 = A1.T @@ dZ2"}, name="broken.py")
    code, out, err = _compare(capsys, "--backward", str(broken))
    assert code == 1 and f"{broken}:" in err and "SyntaxError" in err and "Traceback" not in out + err
    raising = _student_file(tmp_path, {"dA1 = ": "dA1 = dZ2 @ X"}, name="raising.py")
    code, out, _ = _compare(capsys, "--backward", str(raising), "--hidden", "10")
    assert code == 1 and f"{raising}:" in out and "ValueError" in out and "Traceback" not in out

"""Exercises: every solution passes, every stub is "not written yet", mistakes are named, student errors located."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinygrad_edu.cli import main
from tinygrad_edu.manual.mistakes import BUGS
from tinygrad_edu.exercises import EXERCISES, check, check_file, get
from tinygrad_edu.exercises.student import NOT_WRITTEN, TimeLimit, TimeLimitExceeded, attempt


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / get(name).filename
    path.write_text(text)
    return path


def replace_line(text: str, starts: str, new: str) -> str:
    """Replace every line whose code starts with ``starts`` by ``new`` (keeping its indentation)."""
    pattern = re.compile(rf"^(\s*){re.escape(starts)}.*$", re.MULTILINE)
    changed, count = pattern.subn(lambda m: m.group(1) + new, text)
    assert count, f"no line starts with {starts!r}"
    return changed


@pytest.mark.parametrize("name", list(EXERCISES))
def test_solution_passes_every_item(tmp_path, name, capsys):
    solution = get(name).solution()
    assert "Try it yourself first" in solution.splitlines()[1]
    path = write(tmp_path, name, solution)
    report = check_file(name, path)
    assert report.passed, str(report)
    assert all(item.status == "pass" for item in report.items)
    assert main(["exercise", "check", name, "--dir", str(tmp_path)]) == 0
    assert "well done" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(EXERCISES))
def test_untouched_stub_is_not_written_yet(tmp_path, name, capsys):
    assert main(["exercise", "start", name, "--dir", str(tmp_path)]) == 0
    # The file's header says the check command as start printed it, with this --dir.
    command = f"tinygrad-edu exercise check {name} --dir {tmp_path}"
    assert command in capsys.readouterr().out
    written = (tmp_path / get(name).filename).read_text()
    assert written == get(name).stub().replace(f"tinygrad-edu exercise check {name}", command, 1)
    assert command in written.split('"""')[1]
    assert main(["exercise", "check", name, "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr()
    report = check_file(name, tmp_path / get(name).filename)
    assert [item.status for item in report.items] == [NOT_WRITTEN] * len(report.items)
    assert "Traceback" not in out.out + out.err and "items written yet" in out.out


def test_stub_layout_matches_the_solution_layout():
    # The solution is the stub with each raise replaced: every docstring of the stub is in the solution.
    for exercise in EXERCISES.values():
        stub, solution = exercise.stub(), exercise.solution()
        assert "NotImplementedError" not in solution, exercise.name
        for function in exercise.functions:
            assert f"def {function}(" in stub and f"def {function}(" in solution


# -- network-backprop: each catalogued mistake (compare.BUGS) named, on its own line ---------------------------
NETWORK_MISTAKES = {
    "forgot-1/N": [("dZ2 = ", "dZ2 = P - Y")],
    "relu-mask-z1": [("dZ1 = ", "dZ1 = dA1 * Z1")],
    "relu-mask-forgotten": [("dZ1 = ", "dZ1 = dA1")],
    "missing-transpose": [("dA1 = ", "dA1 = dZ2 @ W2")],
    "softmax-elementwise": [("dZ2 = ", "dZ2 = (-Y / (N * P)) * P * (1 - P)")],
    "bias-not-summed": [("db2 = ", "db2 = dZ2"), ("db1 = ", "db1 = dZ1")],
    "bias-averaged": [("db2 = ", "db2 = dZ2.mean(axis=0)"), ("db1 = ", "db1 = dZ1.mean(axis=0)")],
}


def test_every_catalogued_network_mistake_has_a_test():
    assert set(NETWORK_MISTAKES) == set(BUGS)


@pytest.mark.parametrize("bug", list(NETWORK_MISTAKES))
def test_network_mistake_is_named_on_its_own_line(tmp_path, bug):
    text = get("network-backprop").solution()
    for starts, new in NETWORK_MISTAKES[bug]:
        text = replace_line(text, starts, new)
    report = check_file("network-backprop", write(tmp_path, "network-backprop", text))
    broken = {new.split(" = ")[0] for _, new in NETWORK_MISTAKES[bug]}
    for item in report.items[:-1]:  # the seven lines, each fed the correct upstream gradients
        if item.item in broken:
            assert item.status == "FAIL" and item.mistake == bug, str(report)
            assert repr(bug) in item.diagnosis
        else:
            assert item.status == "pass", str(report)  # one wrong line fails only its own row
    assert report["chain"].status == "FAIL"


def test_missing_1_over_n_says_how_many_times_too_large(tmp_path):
    text = replace_line(get("network-backprop").solution(), "dZ2 = ", "dZ2 = P - Y")
    report = check_file("network-backprop", write(tmp_path, "network-backprop", text))
    assert report["dZ2"].diagnosis.startswith("your dZ2 is exactly 64 times too large: the loss is a mean over the "
                                              "batch of 64, so it needs the 1/N")
    assert report["dZ2"].error == pytest.approx(63)


def test_lines_after_a_failing_line_are_still_checked(tmp_path):
    # dA1's line raises (a shape NumPy refuses at H = 10? no: make it raise); dZ1, dW1, db1 are still checked.
    text = replace_line(get("network-backprop").solution(), "dA1 = ", "dA1 = dZ2 @ X")
    path = write(tmp_path, "network-backprop", text)
    report = check_file("network-backprop", path)
    assert report["dA1"].status == "FAIL"
    assert f"{path}:" in report["dA1"].diagnosis and "ValueError" in report["dA1"].diagnosis
    assert "dA1 must have shape (64, 10)" in report["dA1"].diagnosis
    for name in ("dZ2", "dW2", "db2", "dZ1", "dW1", "db1"):
        assert report[name].status == "pass", str(report)


def test_a_partial_backward_reports_the_rest_not_written(tmp_path):
    text = get("network-backprop").solution()
    text = replace_line(text, "dA1 = ", 'raise NotImplementedError("later")')
    report = check_file("network-backprop", write(tmp_path, "network-backprop", text))
    assert [report[n].status for n in ("dZ2", "dW2", "db2")] == ["pass"] * 3
    assert [report[n].status for n in ("dA1", "dZ1", "dW1", "db1", "chain")] == [NOT_WRITTEN] * 5


def test_check_from_python_with_the_functions():
    from tinygrad_edu import manual

    def backward(params, cache, y):
        grads = manual.backward(params, cache, y)
        grads["dW1"] = grads["dW1"] * 2
        return grads

    report = check("network-backprop", backward)
    assert [item.item for item in report.items if not item.passed] == ["dW1", "chain"]
    assert "exactly twice" in report["dW1"].diagnosis


# -- engine: each catalogued mistake named --------------------------------------------------------------------
RECURSIVE_ORDER = '''def topological_order(root):
    order, seen = [], set()

    def visit(tensor):
        if id(tensor) in seen:
            return
        seen.add(id(tensor))
        for parent in tensor._inputs:
            visit(parent)
        order.append(tensor)

    visit(root)
    return order
'''
PUSH_MARKED_ORDER = '''def topological_order(root):
    order, visited, stack = [], {id(root)}, [(root, False)]
    while stack:
        tensor, done = stack.pop()
        if done:
            order.append(tensor)
            continue
        stack.append((tensor, True))
        for parent in tensor._inputs:
            if id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, False))
    return order
'''


OWN_FUNCTIONS_ROW = "backward, with your order and sum_to_shape"


def engine_with(tmp_path: Path, topological_order: str | None = None, **lines: str):
    text = get("engine").solution()
    if topological_order is not None:
        start, end = text.index("def topological_order"), text.index("def backward")
        text = text[:start] + topological_order + "\n\n" + text[end:]
    for starts, new in lines.values():
        text = replace_line(text, starts, new)
    return check_file("engine", write(tmp_path, "engine", text))


def test_engine_overwrite_instead_of_add(tmp_path):
    report = engine_with(tmp_path, line=("grads[parent] = ", "grads[parent] = parent_grad"))
    assert report["backward"].mistake == "overwrite" and "(+=)" in report["backward"].diagnosis
    assert report["topological_order"].passed and report["sum_to_shape"].passed


def test_engine_leaf_grad_overwritten(tmp_path):
    report = engine_with(tmp_path, line=("tensor.grad = ", "tensor.grad = grad.copy()"))
    assert report["backward"].mistake == "overwrite-leaf-grad"


def test_engine_tensor_visited_before_its_gradient_arrived(tmp_path):
    report = engine_with(tmp_path, topological_order=PUSH_MARKED_ORDER)
    assert report["topological_order"].mistake == "visited-too-early"
    assert "d = c * b comes before its input c = a * a" in report["topological_order"].diagnosis
    assert report["backward"].passed  # fed the engine's order, the loop itself is right
    assert report[OWN_FUNCTIONS_ROW].mistake == "visited-too-early"


def test_engine_recursion_fails_the_long_chain(tmp_path):
    report = engine_with(tmp_path, topological_order=RECURSIVE_ORDER)
    assert report["topological_order"].passed
    item = report["topological_order, 100,000-op chain"]
    assert item.mistake == "recursion" and "explicit stack" in item.diagnosis
    assert "RecursionError" in item.diagnosis and "engine.py:" in item.diagnosis


def test_engine_broadcast_gradient_not_summed_back(tmp_path):
    report = engine_with(tmp_path, line=("parent_grad = sum_to_shape(", "pass  # the unbroadcast forgotten"))
    for row in ("backward", OWN_FUNCTIONS_ROW):
        assert report[row].mistake == "unbroadcast-forgotten", str(report)
        assert "b.grad has shape (2, 3)" in report[row].diagnosis and "sum_to_shape(" in report[row].diagnosis
    assert report["topological_order"].passed and report["sum_to_shape"].passed


def test_engine_numpy_refusing_b_s_broadcast_gradient_gets_a_hint(tmp_path):
    # A leaf gradient started at zeros of b's shape: adding the unsummed (2, 3) gradient into it raises.
    report = engine_with(tmp_path, line=("tensor.grad = ", "tensor.grad = (np.zeros(tensor.shape) if tensor.grad is "
                                         "None else tensor.grad); tensor.grad += grad"),
                         unbroadcast=("parent_grad = sum_to_shape(", "pass  # the unbroadcast forgotten"))
    diagnosis = report["backward"].diagnosis
    assert "ValueError" in diagnosis and "engine.py:" in diagnosis
    assert "d = c * b broadcasts b of shape (3,) to (2, 3)" in diagnosis


def test_engine_sum_to_shape_mean_instead_of_sum(tmp_path):
    text = get("engine").solution().replace("grad = grad.sum(", "grad = grad.mean(")
    report = check_file("engine", write(tmp_path, "engine", text))
    assert report["sum_to_shape"].mistake == "mean-not-sum"
    assert report["backward"].passed  # fed the engine's sum_to_shape, the loop itself is right
    assert report[OWN_FUNCTIONS_ROW].mistake == "mean-not-sum"
    assert report[OWN_FUNCTIONS_ROW].diagnosis.endswith("fix sum_to_shape first")


# -- the student's own errors, against their file and line ----------------------------------------------------
def test_syntax_error_names_the_file_and_line(tmp_path):
    text = replace_line(get("network-backprop").solution(), "dW2 = ", "dW2 = A1.T @@ dZ2")
    path = write(tmp_path, "network-backprop", text)
    line = text.splitlines().index("    dW2 = A1.T @@ dZ2") + 1
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "exercise", "check", "network-backprop",
                             "--dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"{path}:{line}: SyntaxError" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_exception_names_the_file_and_line(tmp_path):
    text = replace_line(get("tensor-ops").solution(), "return g.T", 'return {"dx": g}["dX"]')
    path = write(tmp_path, "tensor-ops", text)
    line = text.splitlines().index('    return {"dx": g}["dX"]') + 1
    report = check_file("tensor-ops", path)
    assert report["transpose_backward"].diagnosis.startswith(f"{path}:{line}: KeyError: 'dX'")
    assert [item.item for item in report.items if not item.passed] == ["transpose_backward"]


def test_wrong_shape_numpy_refuses_names_the_line_and_the_wanted_shapes(tmp_path):
    text = replace_line(get("tensor-ops").solution(), "return G @ B.T, A.T @ G", "return G @ B, A.T @ G")
    path = write(tmp_path, "tensor-ops", text)
    diagnosis = check_file("tensor-ops", path)["matmul_backward"].diagnosis
    assert f"{path}:" in diagnosis and "ValueError: matmul" in diagnosis
    assert "wanted: dA of shape (4, 3), dB of shape (3, 5)" in diagnosis


def test_wrong_shape_returned_is_diagnosed(tmp_path):
    text = replace_line(get("tensor-ops").solution(), "return G @ B.T, A.T @ G", "return G @ B.T, G.T @ A")
    item = check_file("tensor-ops", write(tmp_path, "tensor-ops", text))["matmul_backward"]
    assert item.mistake == "transpose"
    assert "your dB is (A.T @ G).T" in item.diagnosis and "(shape (5, 3), expected (3, 5))" in item.diagnosis


def test_missing_function_is_named(tmp_path):
    text = get("local-derivatives").solution().replace("def relu_backward(", "def relu_grad(")
    path = write(tmp_path, "local-derivatives", text)
    report = check_file("local-derivatives", path)
    assert report["relu_backward"].diagnosis.startswith(f"{path} has no function relu_backward()")
    assert report.passing == len(report.items) - 1


def test_error_while_loading_names_the_line(tmp_path, capsys):
    path = write(tmp_path, "engine", "import numpy as np\n\nx = np.zeros(3) @ np.zeros(4)\n")
    assert main(["exercise", "check", "engine", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3: ValueError" in err and "while loading the file" in err


# -- a loop that never ends: stopped after the time limit, reported at the line still running ----------------------
ENDLESS = {  # a function of local-derivatives -> its body, looping forever (each loop on one line: the line reported)
    "exp_backward": "    i = 0\n    while i < a.size: g = g * 1  # i += 1 forgotten\n    return g * np.exp(a)",
    "log_backward": "    try:\n        while True: pass\n    except Exception:  # cannot swallow the limit\n"
                    "        pass\n    return g / a",
    "tanh_backward": "    while True:\n        try:\n            pass\n        except:  # a bare except swallows some "
                     "interruptions, not all\n            pass",
}
STOPPED = "did not finish within 0.5 s: this line was still running; look for a loop that never ends"


def endless(tmp_path: Path, *names: str) -> Path:
    text = get("local-derivatives").solution()
    for name in names:
        start = text.index(f"def {name}(")
        body = text.index('"""', text.index('"""', start) + 3) + 4  # after the docstring's line
        end = text.find("\ndef ", body)
        text = text[:body] + ENDLESS[name] + "\n\n" + (text[end:] if end != -1 else "")
    return write(tmp_path, "local-derivatives", text)


def loop_line(path: Path, name: str) -> int:
    """The line of the while loop in ``name``'s body."""
    lines = path.read_text().splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(f"def {name}("))
    return next(n for n in range(start, len(lines)) if lines[n].lstrip().startswith("while ")) + 1


def test_endless_loop_is_stopped_and_named_at_its_line(tmp_path, capsys):
    path = endless(tmp_path, "exp_backward", "log_backward")
    started = time.monotonic()
    assert main(["exercise", "check", "local-derivatives", "--dir", str(tmp_path), "--time-limit", "0.5"]) == 1
    assert time.monotonic() - started < 20  # the limit was applied: each loop is stopped after 0.5 s
    out = capsys.readouterr().out
    for name in ("exp_backward", "log_backward"):  # log_backward's except Exception does not swallow the limit
        assert f"{path}:{loop_line(path, name)}: {STOPPED}" in out.replace("\n      ", " ")
    assert "Traceback" not in out and "6 of 8 items pass" in out  # the other functions are still checked


def test_endless_loop_with_a_bare_except_is_stopped_from_python(tmp_path):
    path = endless(tmp_path, "tanh_backward")
    started = time.monotonic()
    report = check("local-derivatives", path, time_limit=0.5)
    assert time.monotonic() - started < 20
    assert report["tanh_backward"].diagnosis.startswith(f"{path}:")
    assert STOPPED in report["tanh_backward"].diagnosis
    assert report.passing == len(report.items) - 1


def test_endless_loop_while_loading_the_file_is_named_at_its_line(tmp_path, capsys):
    path = write(tmp_path, "local-derivatives", "import numpy as np\n\nn = 0\nwhile n < 10: n * 2\n")
    started = time.monotonic()
    assert main(["exercise", "check", "local-derivatives", "--dir", str(tmp_path), "--time-limit", "0.5"]) == 1
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err
    assert f"{path}:4: {STOPPED}" in err and "(while loading the file)\n    4 | while n < 10: n * 2" in err
    assert "Traceback" not in err


def test_a_limit_inside_a_limit_gives_the_outer_one_back():
    # The engine's long chain runs under its own limit: whatever limit was running before is restored after.
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        with TimeLimit(0.5):
            assert attempt(lambda: 1, time_limit=5).value == 1  # its own timer, armed then stopped
            while True:
                pass
    assert time.monotonic() - started < 4  # the outer 0.5 s, not the inner 5 s nor never


# -- the command -------------------------------------------------------------------------------------------------
def test_start_never_overwrites_without_force(tmp_path, capsys):
    path = tmp_path / "engine.py"
    path.write_text("my work\n")
    assert main(["exercise", "start", "engine", "--dir", str(tmp_path)]) == 1
    assert "--force" in capsys.readouterr().err and path.read_text() == "my work\n"
    assert main(["exercise", "start", "engine", "--dir", str(tmp_path), "--force"]) == 0
    assert path.read_text() == get("engine").stub().replace("check engine", f"check engine --dir {tmp_path}")


def test_start_in_the_default_folder_writes_the_stub_as_it_is(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["exercise", "start", "engine"]) == 0
    assert (tmp_path / "exercises" / "engine.py").read_text() == get("engine").stub()
    assert "check with:\n  tinygrad-edu exercise check engine\n" in capsys.readouterr().out


def test_list_shows_status_per_exercise_from_the_last_check(tmp_path, capsys):
    write(tmp_path, "local-derivatives", get("local-derivatives").solution())
    main(["exercise", "start", "tensor-ops", "--dir", str(tmp_path)])
    text = replace_line(get("optimizers").solution(), "m_hat = ", "m_hat = m")
    write(tmp_path, "optimizers", text)
    main(["exercise", "start", "engine", "--dir", str(tmp_path)])
    for name in ("local-derivatives", "tensor-ops", "optimizers"):
        main(["exercise", "check", name, "--dir", str(tmp_path)])
    capsys.readouterr()
    assert main(["exercise", "list", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in EXERCISES:
        assert name in out
    assert "-> done" in out and "-> not started" in out and "-> 0 of 7 items passing" in out
    assert "-> 1 of 2 items passing" in out
    assert "-> started, not checked yet (tinygrad-edu exercise check engine" in out  # never run by list
    (tmp_path / get("local-derivatives").filename).write_text(get("local-derivatives").solution() + "\n# more\n")
    main(["exercise", "list", "--dir", str(tmp_path)])
    assert "-> changed since the last check (done then)" in capsys.readouterr().out


def test_list_never_runs_student_code(tmp_path, capsys):
    """A file that exits (or loops, or deletes things) at import cannot cut the listing short: list reads no code."""
    write(tmp_path, "engine", "import sys\nsys.exit(0)\n")
    write(tmp_path, "optimizers", "raise SystemExit('stop')\n")
    assert main(["exercise", "list", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in EXERCISES) and out.rstrip().endswith("tinygrad-edu exercise start NAME")
    assert out.count("started, not checked yet") == 2


def test_a_damaged_saved_result_reads_as_not_checked(tmp_path, capsys):
    write(tmp_path, "engine", get("engine").solution())
    main(["exercise", "check", "engine", "--dir", str(tmp_path)])
    saved = tmp_path / ".tinygrad_edu" / "engine.json"
    assert json.loads(saved.read_text())["passed"] is True
    saved.write_text('{"passed": "yes"')
    capsys.readouterr()
    main(["exercise", "list", "--dir", str(tmp_path)])
    assert "started, not checked yet (tinygrad-edu exercise check engine" in capsys.readouterr().out


def test_a_file_with_a_byte_order_mark_loads_as_python_runs_it(tmp_path, capsys):
    # Windows editors may save UTF-8 with a byte-order mark; Python runs such a file, so the checker must load it.
    (tmp_path / get("engine").filename).write_bytes(b"\xef\xbb\xbf" + get("engine").solution().encode("utf-8"))
    assert main(["exercise", "check", "engine", "--dir", str(tmp_path)]) == 0
    assert "SyntaxError" not in capsys.readouterr().err


def test_bad_usage_exits_2(tmp_path, capsys):
    assert main(["exercise", "check", "no-such-exercise"]) == 2
    assert "local-derivatives" in capsys.readouterr().err
    assert main(["exercise", "check", "engine", "--dir", str(tmp_path)]) == 2
    assert "exercise start engine" in capsys.readouterr().err


def test_check_in_a_notebook_uses_the_functions_defined_there():
    # A notebook's cells run in one namespace; check(name) with no functions reads them from there.
    namespace: dict = {}
    exec(compile(get("local-derivatives").solution(), "<cell 1>", "exec"), namespace)  # noqa: S102
    exec("from tinygrad_edu.exercises import check\nreport = check('local-derivatives')", namespace)  # noqa: S102
    assert namespace["report"].passed, str(namespace["report"])
    namespace["tanh_backward"] = lambda a, g: g * (1 - a**2)
    exec("report = check('local-derivatives')", namespace)  # noqa: S102
    assert namespace["report"]["tanh_backward"].mistake == "tanh-of-input"


def test_the_docstring_example_runs():
    import doctest

    import tinygrad_edu.exercises

    result = doctest.testmod(tinygrad_edu.exercises)
    assert result.attempted > 0 and result.failed == 0


def test_lines_that_build_a_gradient_in_place_are_one_line(tmp_path):
    # dZ2 built over three statements (copy, subtract 1 at the labels, divide in place) is fed on only when read.
    text = get("network-backprop").solution()
    text = replace_line(text, "dZ2 = ", "dZ2 = P.copy(); dZ2[np.arange(N), y] -= 1; dZ2 /= N")
    text = replace_line(text, "dW1 = ", "dW1 = X.T @ dZ1\n    dW1 *= 3")
    report = check_file("network-backprop", write(tmp_path, "network-backprop", text))
    assert [item.item for item in report.items if not item.passed] == ["dW1", "chain"], str(report)
    assert "times 3" in report["dW1"].diagnosis


def test_engine_quadratic_backward_is_named_too_slow_before_the_long_chain(tmp_path):
    text = get("engine").solution().replace(
        "    for tensor in reversed(topological_order(root)):\n",
        "    order = topological_order(root)\n    for tensor in reversed(order):\n"
        "        position = [id(t) for t in order].index(id(tensor))  # a list search per tensor: quadratic\n")
    report = check_file("engine", write(tmp_path, "engine", text))
    assert report["backward"].passed
    diagnosis = report[OWN_FUNCTIONS_ROW].diagnosis
    assert diagnosis.startswith("too slow:") and "grows with the square of the graph" in diagnosis


def test_engine_order_with_a_list_of_ids_is_named_too_slow_at_8000_ops(tmp_path):
    # A list search per tensor that is cheap at 1,000 ops (milliseconds) is told from the square at 8,000.
    text = get("engine").solution().replace("            if tensor not in placed:  # pushed twice, it comes back twice\n"
                                            "                placed.add(tensor)\n",
                                            "            if id(tensor) not in placed_ids:\n"
                                            "                placed_ids.append(id(tensor))\n")
    text = text.replace("    opened, placed = set(), set()", "    opened, placed_ids = set(), []")
    assert "placed_ids.append" in text
    report = check_file("engine", write(tmp_path, "engine", text))
    diagnosis = report["topological_order, 100,000-op chain"].diagnosis
    assert re.match(r"too slow: \d+ ms for 1,000 ops but \d+ ms for 8,000, so the cost grows with the square", diagnosis)


def test_a_mistake_of_every_parameter_is_said_once(tmp_path):
    # An epoch over unshuffled examples makes W1, b1, W2 and b2 wrong for one reason: one sentence, not four.
    text = get("training-step").solution().replace("order = rng.permutation(len(x))", "order = np.arange(len(x))")
    diagnosis = check_file("training-step", write(tmp_path, "training-step", text))["train_epoch"].diagnosis
    assert diagnosis.startswith("the examples were not shuffled") and diagnosis.count("not shuffled") == 1
    assert "also wrong" not in diagnosis


def test_a_sentence_starting_with_code_keeps_its_case(tmp_path):
    # A catalogued sentence that starts with its label starts with code: "dx", "sum_to_shape(", never capitalised
    # to "Dx" or "Sum_to_shape(", whether it stands alone or after the generic sentence.
    text = get("tensor-ops").solution().replace("x.shape) / x.shape[axis]", "x.shape)")
    diagnosis = check_file("tensor-ops", write(tmp_path, "tensor-ops", text))["mean_backward"].diagnosis
    assert "dx for axis=0: a mean divides" in diagnosis and "Dx" not in diagnosis
    text = get("engine").solution()
    keepdims = text.index("keepdims=True)", text.index("if axes:"))
    text = text[:keepdims] + "keepdims=False)" + text[keepdims + len("keepdims=True)"):]
    diagnosis = check_file("engine", write(tmp_path, "engine", text))["sum_to_shape"].diagnosis
    assert "sum_to_shape(grad of shape" in diagnosis and "Sum_to_shape" not in diagnosis


def test_the_summary_quotes_an_item_name_that_holds_a_comma():
    from tinygrad_edu.exercises.report import FAIL, NOT_WRITTEN, PASS, ItemResult, Report, format_report

    items = [ItemResult("sgd_step", PASS), ItemResult("train_epoch", FAIL),
             ItemResult("train_epoch, with your sgd_step", FAIL), ItemResult("evaluate", NOT_WRITTEN)]
    summary = format_report(Report("training-step", "step.py", items)).splitlines()[-1]
    assert summary == ('1 of 4 items pass; FAIL: train_epoch, "train_epoch, with your sgd_step"; '
                       "not written yet: evaluate")

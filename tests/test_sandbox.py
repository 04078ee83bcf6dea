"""The judge apart from the student: a hostile corpus of exercise files, each failing with its one-line reason.

Every file is the optimizers exercise (two small functions, a fast check) done wrong, plus one trick. Each is
checked in a child process with a one-second limit; none may pass, hang past the limit, leave a process
behind, or change a file outside its temporary folder (the package and site-packages are hashed before and
after the corpus). The solutions pass.
"""

from __future__ import annotations

import hashlib
import os
import site
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tinygrad_edu
from tinygrad_edu.exercises import get
from tinygrad_edu.exercises.report import FAIL
from tinygrad_edu.exercises.student import StudentFileError
from tinygrad_edu.sandbox import Limits, check_apart

LIMITS = Limits(seconds=1.0, memory_mb=1024, output_kb=64)
# Past the limit: the grace second, SIGUSR1's dump, the kill, a fresh child for the next call: well under this.
HANG = 30.0

WRONG = '''
import numpy as np

def momentum_step(param, grad, velocity, lr, momentum):
    {body}

def adam_step(param, grad, m, v, t, lr, beta1, beta2, eps):
    param += 1.0
'''

# name -> (code at the top of the file, code in momentum_step, the reason the report must give)
CORPUS = {
    "sys.exit at import": ("import sys\nsys.exit(0)", "pass", "exited early"),
    "os._exit at import": ("import os\nos._exit(0)", "pass", "exited early"),
    "SystemExit in a function": ("", "raise SystemExit(0)", "exited early (SystemExit: 0)"),
    "os._exit in a function": ("import os", "os._exit(0)", "exited early (exit status 0"),
    "atexit os._exit": ("import atexit, os\natexit.register(lambda: os._exit(0))", "pass", "did not move"),
    "GeneratorExit": ("", "raise GeneratorExit", "exited early (GeneratorExit)"),
    "KeyboardInterrupt": ("", "raise KeyboardInterrupt", "exited early (KeyboardInterrupt)"),
    "patch Report.passed": ("from tinygrad_edu.exercises.report import Report, ItemResult\n"
                            "Report.passed = property(lambda self: True)\nItemResult.passed = property(lambda s: True)",
                            "pass", "did not move"),
    "patch the formatter": ("import tinygrad_edu.exercises.report as r\nr.format_report = lambda rep: 'all pass'",
                            "pass", "did not move"),
    "patch diagnose": ("import tinygrad_edu.exercises.diagnose as d\n"
                       "d.diagnose = lambda *a, **k: d.Verdict(True, 0.0)", "pass", "did not move"),
    "patch Comparison.passed": ("from tinygrad_edu.manual.compare import Comparison\n"
                                "Comparison.passed = property(lambda self: True)", "pass", "did not move"),
    "patch the check's reference": ("import tinygrad_edu.exercises.checks.optimizers as c\n"
                                    "c._momentum_variant = lambda *a: None", "pass", "imports the solution"),
    "patch Tensor.__mul__": ("from tinygrad_edu.tensor import Tensor\nTensor.__mul__ = lambda a, b: a", "pass",
                             "did not move"),
    "rewrite sys.stdout": ("import sys, io\nsys.stdout = io.StringIO()\nprint('all 2 items pass: well done')",
                           "pass", "did not move"),
    "write into expected arrays": ("import sys, numpy as np", textwrap.dedent('''\
        frame = sys._getframe()
            while frame is not None:
                for value in list(frame.f_locals.values()):
                    if isinstance(value, np.ndarray) and value.flags.writeable:
                        value[...] = 0
                frame = frame.f_back'''), "all zeros"),
    "append to the package": ("import tinygrad_edu\nopen(tinygrad_edu.__file__, 'a').write('\\n# pwned\\n')", "pass",
                              "writes"),
    "drop a .pth": ("import site, os\nopen(os.path.join(site.getsitepackages()[0], 'evil.pth'), 'w')"
                    ".write('import os')", "pass", "writes"),
    "import the solution": ("from tinygrad_edu.exercises.solutions.optimizers import momentum_step as m", "pass",
                            "imports the solution"),
    "import the solution, caught": ("try:\n    import tinygrad_edu.exercises.solutions.optimizers\n"
                                    "except Exception:\n    pass", "pass", "imports the solution"),
    "read the solution's file": ("import tinygrad_edu, os\nopen(os.path.join(os.path.dirname(tinygrad_edu.__file__), "
                                 "'exercises', 'solutions', 'optimizers.py')).read()", "pass", "imports the solution"),
    "import the reference optimizer": ("from tinygrad_edu.optim import SGD", "pass", "imports the solution"),
    "run the solution command": ("import subprocess\nsubprocess.run(['tinygrad-edu', 'exercise', 'solution', "
                                 "'optimizers'])", "pass", "start a process"),
    "ignore SIGALRM": ("import signal", "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True: pass",
                       "killed at the time limit of 1 s"),
    "block SIGALRM": ("import signal", "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
                      "    while True: pass", "killed at the time limit of 1 s"),
    "a loop inside C": ("", "sum(range(10**13))", "killed at the time limit of 1 s"),
    "bare except retry": ("", "while True:\n        try:\n            while True: pass\n        except:\n"
                          "            pass", "1 s"),
    "a non-daemon thread": ("import threading, time\nthreading.Thread(target=lambda: time.sleep(1000)).start()", "pass",
                            "did not move"),
    "closed stdout": ("import sys\nsys.stdout.close()", "print('hello')", "ValueError: I/O operation on closed file"),
    "closed channel": ("import os", "os.closerange(3, 256)",
                       "exited early"),
    "forged deep answer": ("import os, struct", textwrap.dedent('''\
        header = ('{"body": {"attempt": {"value": ' + "[" * 10**5 + "]" * 10**5 + '}}, "arrays": []}').encode()
            payload = struct.pack(">Q", len(header)) + header
            for fd in range(3, 128):
                try:
                    os.write(fd, struct.pack(">Q", len(payload)) + payload)
                except OSError:
                    pass
            os._exit(0)'''), "momentum_step FAIL"),
    "fork bomb": ("import os", "while True: os.fork()", "start a process"),
    "huge output": ("", "print('x' * 10**7)", "printed too much"),
    "huge output at import": ("print('x' * 10**7)", "pass", "printed too much"),
    "huge memory": ("import numpy as np", "np.ones(10**10)", "ran out of memory"),
}


def _tree_hash(folder: Path, contents: bool = True) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        digest.update(str(path).encode())
        if contents:
            digest.update(path.read_bytes())
        else:
            info = path.stat()
            digest.update(f"{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()


def _children() -> list[int]:
    """This test's descendants whose working folder is one of the sandbox's temporary folders."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    found = []
    for pid in parents:
        try:
            if ours(pid) and "tinygrad-edu-check-" in os.readlink(f"/proc/{pid}/cwd"):
                found.append(pid)
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def untouched():
    """The package and site-packages, hashed before the corpus runs; checked unchanged after it."""
    package = Path(tinygrad_edu.__file__).parent
    sites = [Path(p) for p in site.getsitepackages() if Path(p).is_dir()]
    before = (_tree_hash(package), [_tree_hash(p, contents=False) for p in sites])
    yield
    assert (_tree_hash(package), [_tree_hash(p, contents=False) for p in sites]) == before


def _file(folder: Path, top: str, body: str) -> Path:
    path = folder / "optimizers.py"
    path.write_text(top + "\n" + WRONG.format(body=body))
    return path


@pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's limits and /proc are Linux's")
@pytest.mark.parametrize("trick", list(CORPUS))
def test_hostile_file_fails_with_its_reason(trick, tmp_path, untouched):
    top, body, reason = CORPUS[trick]
    path = _file(tmp_path, top, body)
    folder_before = _tree_hash(tmp_path)
    started = time.monotonic()
    try:
        report, _ = check_apart(get("optimizers"), path, LIMITS)
    except StudentFileError as error:  # a file that cannot load fails as a whole, with its reason
        text, passed = str(error), False
    else:
        text, passed = str(report), report.passed
        assert report["momentum_step"].status == FAIL, text
    assert time.monotonic() - started < HANG
    assert not passed
    assert reason in " ".join(text.split()), text
    assert "Traceback" not in text
    assert _children() == []
    assert _tree_hash(tmp_path) == folder_before  # the student's folder is never changed


# Tricks on what a function returns, on local-derivatives' add_backward (whose returned arrays are compared).
RETURNS = {
    "__array__ loops": "class Loop:\n    def __array__(self, *a, **k):\n        while True: pass",
    "__float__ loops": "class Loop:\n    def __float__(self):\n        while True: pass",
    "properties raise": "class Loop:\n    @property\n    def shape(self): raise RuntimeError\n"
                        "    @property\n    def data(self): raise RuntimeError",
}


@pytest.mark.parametrize("trick", list(RETURNS))
def test_returned_objects_are_not_numbers(trick, tmp_path, untouched):
    exercise = get("local-derivatives")
    path = tmp_path / exercise.filename
    path.write_text(RETURNS[trick] + "\n\ndef add_backward(a, b, g):\n    return Loop(), Loop()\n")
    started = time.monotonic()
    report, _ = check_apart(exercise, path, LIMITS)
    assert time.monotonic() - started < HANG
    assert report["add_backward"].status == FAIL
    assert "Loop (not numbers)" in report["add_backward"].diagnosis or "is a Loop" in report["add_backward"].diagnosis, \
        str(report)
    assert _children() == []


def test_the_solutions_pass_apart(tmp_path):
    for name in ("optimizers", "local-derivatives", "training-step"):
        exercise = get(name)
        path = tmp_path / exercise.filename
        path.write_text(exercise.solution())
        report, _ = check_apart(exercise, path)
        assert report.passed, str(report)


def test_recursion_limit_raised_by_the_student_is_ignored(tmp_path):
    solution = get("engine").solution()
    from test_exercises import RECURSIVE_ORDER  # pytest puts tests/ on the path

    recursive = "\nimport sys\nsys.setrecursionlimit(10**6)\n\n" + RECURSIVE_ORDER
    path = tmp_path / "engine.py"
    path.write_text(solution.replace("def topological_order(", "def _unused_topological_order(") + recursive)
    report, _ = check_apart(get("engine"), path, Limits(seconds=5.0))
    item = report["topological_order, 100,000-op chain"]
    assert item.status == FAIL and item.mistake == "recursion", str(report)
    assert report["topological_order"].passed  # the diamond is shallow: the same function is right there


def test_timeout_names_the_line(tmp_path):
    path = _file(tmp_path, "", "x = 0\n    while True:\n        x += 1")
    report, _ = check_apart(get("optimizers"), path, LIMITS)
    assert f"{path.resolve()}:7:" in report["momentum_step"].diagnosis


def test_print_output_is_captured(tmp_path):
    path = _file(tmp_path, "print('hello from the file')", "pass")
    _, output = check_apart(get("optimizers"), path, LIMITS)
    assert "hello from the file" in output


def test_wire_round_trip_and_no_pickle():
    import io

    import numpy as np

    from tinygrad_edu.sandbox import wire
    from tinygrad_edu.tensor import Tensor

    value = {"a": np.arange(6.0).reshape(2, 3), "b": (1, 2.5, None, True, "x"), "c": [np.float32(1.5), np.int64(3)]}
    encoder = wire.Encoder()
    body, arrays = wire.unpack(wire.pack(encoder.encode(value), encoder.arrays)[8:])
    back = wire.Decoder(arrays).decode(body)
    assert back["b"] == value["b"] and type(back["b"]) is tuple
    assert np.array_equal(back["a"], value["a"]) and back["c"][0] == np.float32(1.5)
    # anything that is not numbers is only named
    assert repr(wire.Decoder([]).decode(encoder.encode(object()))) == "a object (not numbers)"
    assert "not numbers" in repr(wire.Decoder([]).decode(encoder.encode(np.array([object()]))))
    # a frame holding a pickled array is refused, never unpickled
    pickled = io.BytesIO()
    np.save(pickled, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    forged = wire.pack({"array": 0}, [])[8:]
    header_length = int.from_bytes(forged[:8], "big")
    header = forged[8 : 8 + header_length].replace(b'"arrays": []', f'"arrays": [{len(pickled.getvalue())}]'.encode())
    with pytest.raises(wire.WireError):
        wire.unpack(len(header).to_bytes(8, "big") + header + pickled.getvalue())
    # a Tensor graph is rebuilt by replaying its ops; its tensors come back as the judge's own
    a = Tensor(np.array([1.0, -2.0]), requires_grad=True, name="a")
    root = (a * a + a).sum()
    sender = wire.Encoder(Tensor)
    sender.sends_graphs = True
    tree = sender.encode((root,))
    rebuilt = wire.Decoder(sender.arrays, tensor_type=Tensor)
    (copy,) = rebuilt.decode(tree)
    assert copy is not root and float(copy.data) == float(root.data) and rebuilt.nodes[0].name == "a"
    answer = wire.Encoder(Tensor, {id(t): i for i, t in enumerate(rebuilt.nodes)})
    order = wire.Decoder(answer.arrays, sender.nodes).decode(answer.encode(list(reversed(rebuilt.nodes))))
    assert order == list(reversed(sender.nodes))


def test_commands_fail_hostile_files_with_exit_1(tmp_path, capsys):
    from tinygrad_edu.cli import main

    (tmp_path / "backward.py").write_text("from tinygrad_edu.manual import backward\n")
    assert main(["compare", "--backward", str(tmp_path / "backward.py")]) == 1
    assert "imports the solution" in " ".join(capsys.readouterr().err.split())
    (tmp_path / "optimizers.py").write_text("import os\nos._exit(0)\n")
    assert main(["exercise", "check", "optimizers", "--dir", str(tmp_path), "--time-limit", "2"]) == 1
    err = capsys.readouterr().err
    assert "exited early" in err and "Traceback" not in err

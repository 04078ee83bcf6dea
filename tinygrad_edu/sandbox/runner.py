"""The judge's side: start the child on a copy of the student's folder, call their functions there, end it.

:class:`Sandbox` holds one child process (``python -I -B``, its own session and process group, a temporary
copy of the student's folder as working directory). :class:`RemoteFunction` stands for one of the student's
functions: the checks call it through :func:`~tinygrad_edu.exercises.student.attempt` as they would call
the function, and get an :class:`~tinygrad_edu.exercises.student.Attempt` back, made from data alone.

The time limit is the judge's: when an answer does not come within the limit (plus a grace second for the
child's own, located, interruption), the child is sent SIGUSR1 (it dumps the line it was on), then its whole
process group is killed, whatever it was doing (a C loop, an ignored signal, a thread, a bare ``except:``).
The next call starts a fresh child.
"""

from __future__ import annotations

import atexit
import inspect
import json
import os
import re
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_edu.exercises.student import DEFAULT_TIME_LIMIT, Attempt, StudentFileError
from tinygrad_edu.sandbox import wire

STARTUP = 10.0  # seconds the child may take to start (Python and NumPy on a busy machine) on top of the limit
GRACE = 1.0  # seconds past the limit before the judge kills: the child's own interruption names the line
_NOBODY = 65534


@dataclass(frozen=True)
class Limits:
    """What one child may use. ``seconds`` is per call of a student function (and for loading the file)."""

    seconds: float = DEFAULT_TIME_LIMIT
    memory_mb: int = 2048
    output_kb: int = 1024
    open_files: int = 128

    def for_child(self) -> dict[str, int]:
        return {"memory": self.memory_mb * 2**20, "output": self.output_kb * 1024, "files": self.open_files,
                # CPU time, a backstop for a child the judge could not kill (the judge itself killed -9)
                "cpu": int(60 + 20 * self.seconds)}


@dataclass(frozen=True)
class Guard:
    """Modules refused to the student's code (prefixes), and what importing them is called in the report."""

    modules: tuple[str, ...]
    because: str = "imports the solution"


# What decoding a forged or broken answer can raise (never let through: the verdict is then a failure).
MALFORMED = (wire.WireError, RecursionError, KeyError, IndexError, TypeError, ValueError, AttributeError)


class ChildFailure(Exception):
    """The child ended or broke the channel (os._exit, a crash, a forged message): no answer to this request."""


class Sandbox:
    """One student's file run apart: ``with Sandbox(path, names, guard, limits) as box: box.functions[...]``.

    Args:
        path: the student's file; its folder is copied into a temporary folder, the child's working folder.
        names: the functions the exercise needs (those the file defines become :attr:`functions`).
        guard: the modules refused to the student's code.
        limits: time, memory, output and open files of the child.

    Raises:
        StudentFileError: the file cannot be loaded (their error at their line, or an early exit).
    """

    def __init__(self, path: str | Path, names: tuple[str, ...], guard: Guard, limits: Limits = Limits()) -> None:
        self.path = Path(path)
        self.names = names
        self.guard = guard
        self.limits = limits
        self.refusals: list[str] = []
        self.functions: dict[str, RemoteFunction] = {}
        self.defined: list[str] = []
        self._folder: str | None = None
        self._pid: int | None = None
        self._requests = self._answers = -1

    # -- the child's life --------------------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        self.close()
        self._folder = tempfile.mkdtemp(prefix="tinygrad-edu-check-")
        work = os.path.join(self._folder, "work")
        shutil.copytree(self.path.parent, work, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".git"))
        user = _unprivileged_user(self._folder)
        request_read, request_write = os.pipe()
        answer_read, answer_write = os.pipe()
        try:
            self._pid = _zygote().spawn(request_read, answer_write)
        finally:
            os.close(request_read)
            os.close(answer_write)
        self._requests, self._answers = request_write, answer_read
        config = {"file": str(self.path.resolve()), "work": work, "output": os.path.join(self._folder, "output.txt"),
                  "trace": os.path.join(self._folder, "trace.txt"), "seconds": self.limits.seconds,
                  "limits": self.limits.for_child(), "refused": list(self.guard.modules),
                  "refused_because": self.guard.because, "functions": list(self.names), "user": user}
        try:  # the child's start-up (Python, NumPy) is not the file's time: a few seconds more
            answer, _ = self._exchange(config, [], self.limits.seconds + STARTUP, "while loading the file")
        except TimeoutError as error:
            raise StudentFileError(f"{error} (while loading the file)") from None
        except ChildFailure as error:  # its message already says what the child was doing
            raise StudentFileError(str(error)) from None
        self.refusals = answer.get("refused", [])
        if "load_error" in answer:
            reason = answer["load_error"]
            if _printed_too_much(self):
                reason = f"{self.path}: printed too much (more than {self.limits.output_kb} kB of output) while loading"
            self.close()
            raise StudentFileError(reason)
        functions, defined = answer.get("functions"), answer.get("defined")
        parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
        self.functions = {name: RemoteFunction(self, name, parameters.get(name)) for name in self.names
                          if isinstance(functions, list) and name in functions}
        self.defined = [str(n) for n in defined] if isinstance(defined, list) else []  # for messages

    def close(self) -> None:
        """Kill the child's whole process group and remove its temporary folder."""
        if self._pid is not None:
            try:
                os.killpg(self._pid, signal.SIGKILL)  # the child and anything it started
            except OSError:
                pass
            else:
                _zygote().exit_code(self._pid, wait=5.0)  # reaped: gone before close() returns
            self._pid = None
        for fd in (self._requests, self._answers):
            if fd >= 0:
                os.close(fd)
        self._requests = self._answers = -1
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    @property
    def output(self) -> str:
        """What the student's code printed so far (at most the output limit)."""
        if self._folder is None:
            return ""
        try:
            return Path(self._folder, "output.txt").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    # -- requests ----------------------------------------------------------------------------------------
    def _exchange(self, body: dict, arrays: list[np.ndarray], seconds: float, doing: str) -> tuple[dict, list]:
        """Send a request, wait for its answer; on a timeout or a dead child, kill it and raise what happened."""
        if self._pid is None:
            self.start()
        deadline = time.monotonic() + seconds + GRACE
        try:
            wire.write(self._requests, body, arrays)
            answer, out = wire.read(self._answers, deadline)
        except wire.ChildTimeout:
            where = self._where_stuck()
            self.close()
            raise TimeoutError(f"{where}killed at the time limit of {seconds:g} s: this line was still running; "
                               "look for a loop that never ends") from None
        except (wire.WireError, OSError) as error:
            reason = self._death(error)
            self.close()
            raise ChildFailure(f"{reason} ({doing})") from None
        if not isinstance(answer, dict) or "failure" in answer:
            self.close()
            raise ChildFailure(f"the checking process failed: {answer.get('failure') if isinstance(answer, dict) else answer}")
        refused = answer.get("refused", [])
        self.refusals = sorted(set(self.refusals) | {r for r in refused if isinstance(r, str)}) \
            if isinstance(refused, list) else self.refusals
        return answer, out

    def request(self, body: dict, arrays: list[np.ndarray], seconds: float) -> tuple[dict, list]:
        if self._pid is None:
            self.start()
        return self._exchange(body, arrays, seconds, f"while running {body['name']}")

    def _death(self, error: Exception) -> str:
        """Why the child stopped answering: its exit status, in the student's terms."""
        code = _zygote().exit_code(self._pid, wait=2.0)
        if code is None:  # still running: it broke the channel itself
            return f"the checking process stopped answering ({error})"
        if code == -signal.SIGXCPU:
            return "used up its CPU time"
        if code == -signal.SIGKILL:
            return "was killed (out of memory?)"
        if code == -signal.SIGSEGV:
            return "crashed (segmentation fault: e.g. a recursion far deeper than Python allows)"
        if code < 0:
            return f"was killed by signal {signal.Signals(-code).name}"
        return f"exited early (exit status {code}: os._exit() or an exit the checks cannot stop)"

    def _where_stuck(self) -> str:
        """``file:line: `` of the student's line a stuck child was running (from its SIGUSR1 dump), or ""."""
        try:
            os.killpg(self._pid, signal.SIGUSR1)
        except OSError:
            return ""
        trace = Path(self._folder or ".", "trace.txt")
        for _ in range(20):
            time.sleep(0.02)
            text = trace.read_text(errors="replace") if trace.exists() else ""
            if "File" in text:
                break
        filename = str(self.path.resolve())
        for match in re.finditer(r'File "(.*)", line (\d+)', text):  # most recent call first
            if match.group(1) == filename:
                return f"{filename}:{match.group(2)}: "
        return ""


class RemoteFunction:
    """One student function living in the child. ``attempt`` gives an Attempt; calling it directly returns the
    value or raises (NotImplementedError for "not written yet", :class:`RemoteError` with their located error).

    ``__globals__`` starts empty: a check that feeds the correct upstream function in place of the student's
    (``namespace["sgd_step"] = reference``) puts it here, and each call sends it along (the child swaps it in).
    """

    runs_apart = True  # what attempt() and run_in_isolation() look for (they import nothing from here)

    def __init__(self, sandbox: Sandbox, name: str, parameters: Any = None) -> None:
        self.sandbox = sandbox
        self.__name__ = self.__qualname__ = name
        self.__globals__: dict[str, Any] = {}
        names = [p for p in parameters if isinstance(p, str) and p.isidentifier()] if isinstance(parameters, list) else []
        # inspect.signature() gives the student's parameter names, as for their own function
        self.__signature__ = inspect.Signature([inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                                                for p in dict.fromkeys(names)])

    def __repr__(self) -> str:
        return f"<your function {self.__name__}, run apart>"

    def _feed(self) -> dict[str, dict]:
        fed = {}
        for name, value in self.__globals__.items():
            module = getattr(value, "__module__", "") or ""
            if callable(value) and not isinstance(value, RemoteFunction) and module.startswith("tinygrad_edu"):
                reference = {"module": module, "qualname": value.__qualname__, "source": None}
                if module.startswith(self.sandbox.guard.modules):  # refused to the child: send its source
                    reference["source"] = Path(sys.modules[module].__file__).read_text(encoding="utf-8")
                fed[name] = reference
        return fed

    def _request(self, op: str, args: tuple, seconds: float | None, **extra: Any) -> tuple[dict, wire.Decoder]:
        seconds = seconds or self.sandbox.limits.seconds
        encoder = wire.Encoder(_tensor_type())
        encoder.sends_graphs = True
        body = {"op": op, "name": self.__name__, "args": encoder.encode(tuple(args)), "seconds": seconds,
                "feed": self._feed(), "return_args": op == "call", **extra}
        if "correct" in body:
            body["correct"] = encoder.encode(body["correct"])
        answer, arrays = self.sandbox.request(body, encoder.arrays, seconds * body.pop("runs", 1))
        decoder = wire.Decoder(arrays, encoder.nodes)
        return answer, decoder

    def attempt(self, args: tuple, seconds: float | None = None) -> Attempt:
        """Run the function on ``args`` in the child; what it gave, as an Attempt (their errors located)."""
        try:
            answer, decoder = self._request("call", args, seconds)
        except TimeoutError as error:
            return Attempt(error=str(error), timed_out=True)
        except ChildFailure as error:
            return Attempt(error=str(error))
        try:
            outcome = _decode_attempt(decoder, answer["attempt"], self.sandbox.limits)
            replaced = {(i, key) for i, key in answer.get("replaced") or [] if isinstance(i, int) and isinstance(key, str)}
            _update_in_place(args, decoder.decode(answer.get("args")) if answer.get("args") is not None else None,
                             replaced)
            for index, grad in answer.get("grads", []):
                decoder.nodes[index].grad = decoder.decode(grad)
            if decoder.nodes:
                outcome.called = [decoder.nodes[index] for index in answer.get("called") or []]
        except MALFORMED as error:
            self.sandbox.close()
            return Attempt(error=f"the checking process sent a malformed answer ({type(error).__name__})")
        if _printed_too_much(self.sandbox):
            outcome = Attempt(error=f"printed too much (more than {self.sandbox.limits.output_kb} kB of output)")
        return outcome

    def __call__(self, *args: Any) -> Any:
        outcome = self.attempt(args)
        if outcome.not_written:
            raise NotImplementedError(self.__name__)
        if outcome.error:
            raise RemoteError(outcome.error)
        return outcome.value

    def isolate(self, args: tuple, correct: dict[str, np.ndarray]) -> dict[str, Attempt] | None:
        """:func:`~tinygrad_edu.exercises.isolation.run_in_isolation` of this function, run in the child."""
        try:
            answer, decoder = self._request("isolate", args, None, correct=correct, runs=len(correct) + 2)
        except (TimeoutError, ChildFailure) as error:
            return {name: Attempt(error=str(error), timed_out=isinstance(error, TimeoutError)) for name in correct}
        if answer.get("lines") is None:
            return None
        try:
            return {str(name): _decode_attempt(decoder, line, self.sandbox.limits)
                    for name, line in answer["lines"].items()}
        except MALFORMED as error:
            self.sandbox.close()
            return {name: Attempt(error=f"the checking process sent a malformed answer ({type(error).__name__})")
                    for name in correct}


class RemoteError(Exception):
    """A student function run apart raised: the message is their error, located at their line."""

    runs_apart = True  # locate() shows the message as it is


def _tensor_type() -> type:
    from tinygrad_edu.tensor import Tensor

    return Tensor


def _decode_attempt(decoder: wire.Decoder, tree: dict, limits: Limits) -> Attempt:
    error = str(tree.get("error") or "")
    if "MemoryError" in error:
        error = error.replace("MemoryError", f"ran out of memory (the limit is {limits.memory_mb} MB): MemoryError", 1)
    seconds = tree.get("seconds")
    return Attempt(value=decoder.decode(tree.get("value")), not_written=bool(tree.get("not_written")), error=error,
                   timed_out=bool(tree.get("timed_out")),
                   seconds=float(seconds) if isinstance(seconds, (int, float)) else None)


def _update_in_place(before: tuple, after: Any, replaced: set[tuple[int, str]] = frozenset()) -> None:
    """Carry what the child's call changed in its arguments back to the judge's: arrays updated in place
    (``param -= ...``), dict entries added or ``replaced`` by new objects (``params[name] = ...``), so that the
    judge sees the same difference between the two as when the call runs in its own process."""
    if not isinstance(after, tuple) or len(after) != len(before):
        return
    for i, (mine, theirs) in enumerate(zip(before, after)):
        if isinstance(mine, np.ndarray) and isinstance(theirs, np.ndarray) and mine.shape == theirs.shape \
                and mine.flags.writeable:
            np.copyto(mine, theirs, casting="unsafe")
        elif isinstance(mine, dict) and isinstance(theirs, dict):
            for key, value in theirs.items():
                if isinstance(mine.get(key), np.ndarray) and isinstance(value, np.ndarray) \
                        and mine[key].shape == value.shape and (i, key) not in replaced:
                    np.copyto(mine[key], value, casting="unsafe")
                else:
                    mine[key] = value
            for key in [k for k in mine if k not in theirs]:
                del mine[key]
        elif isinstance(mine, list) and isinstance(theirs, list):
            _update_in_place(tuple(mine), tuple(theirs))


def _printed_too_much(sandbox: Sandbox) -> bool:
    if sandbox._folder is None:
        return False
    try:
        return os.path.getsize(os.path.join(sandbox._folder, "output.txt")) >= sandbox.limits.output_kb * 1024
    except OSError:
        return False


def _unprivileged_user(folder: str) -> int | None:
    """When the judge runs as root (a container, Gradescope): the user the child becomes, if Python is readable
    by it (else None, and the guard alone applies). The temporary folder is given to that user."""
    if os.geteuid() != 0:
        return None
    for path in {Path(sys.executable).resolve().parent, Path(np.__file__).parent, Path(__file__).parents[1],
                 Path(os.__file__).parent}:
        for part in (path, *path.parents):
            if not part.stat().st_mode & stat.S_IXOTH:
                return None
    for root, dirs, files in os.walk(folder):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.lchown(name, _NOBODY, _NOBODY)
    return _NOBODY


class Zygote:
    """The fork server (:func:`tinygrad_edu.sandbox.child.zygote`): one per judge process, started on first use."""

    def __init__(self) -> None:
        import subprocess

        ours, theirs = socket.socketpair()
        env = {"PATH": os.defpath, "LC_ALL": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-B", "-m", "tinygrad_edu.sandbox.child", str(theirs.fileno())], cwd="/", env=env,
            pass_fds=(theirs.fileno(),), start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        theirs.close()
        self.channel = ours
        self.lines = ours.makefile("rb")
        self.lock = threading.Lock()

    def _ask(self, request: dict, fds: tuple[int, ...] = ()) -> dict:
        with self.lock:
            socket.send_fds(self.channel, [json.dumps(request).encode()], list(fds))
            line = self.lines.readline()
        if not line:
            raise ChildFailure("the fork server of the checking processes ended")
        return json.loads(line)

    def spawn(self, requests: int, answers: int) -> int:
        return self._ask({"spawn": True}, (requests, answers))["pid"]

    def exit_code(self, pid: int, wait: float) -> int | None:
        """The child's exit code (negative: killed by that signal), or None if it still runs after ``wait`` s."""
        deadline = time.monotonic() + wait
        while True:
            code = self._ask({"status": pid})["code"]
            if code is not None or time.monotonic() > deadline:
                return code
            time.sleep(0.05)

    def close(self) -> None:
        self.channel.close()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except OSError:
            pass
        self.process.wait()


_ZYGOTE: list[Zygote] = []


def _zygote() -> Zygote:
    """The judge's fork server, started (again, if it ended) when needed; ended when the judge exits."""
    if not _ZYGOTE or _ZYGOTE[0].process.poll() is not None:
        if not _ZYGOTE:
            atexit.register(lambda: _ZYGOTE and _ZYGOTE.pop().close())
        else:
            _ZYGOTE.pop().close()
        _ZYGOTE.append(Zygote())
    return _ZYGOTE[0]

"""The child process that runs a student's file, forked from a fork server (:func:`zygote`) that the judge
starts once as ``python -I -B -m tinygrad_edu.sandbox.child SOCKET``.

A child only computes. It reads its setup from the judge (the file, the limits, the refused modules), limits
itself, loads the student's file, then answers requests until the judge kills it: ``call`` a function on
the arguments sent (Tensor graphs rebuilt here), or run ``isolate`` (each line of a backward fed the correct
upstream gradients, :mod:`tinygrad_edu.exercises.isolation`). Every answer is data (:mod:`.wire`): the
value, the error located at the student's line, the arguments after the call (for in-place updates), the
gradients the graph's tensors hold, and what the guard refused.

The student's output goes to a file the judge reads (limited in size); their code never sees the channel's
end of the judge, and nothing they do here changes the verdict but the numbers they return.
"""

from __future__ import annotations

import faulthandler
import inspect
import json
import linecache
import os
import resource
import signal
import socket
import sys
from typing import Any

import numpy as np

from tinygrad_edu.exercises.isolation import run_in_isolation
from tinygrad_edu.exercises.student import (Attempt, StudentFileError, attempt, load_file, locate,
                                            time_limit_per_call)
from tinygrad_edu.sandbox import guard, wire
from tinygrad_edu.tensor import Tensor


def _limit(kind: int, value: int) -> None:
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):  # a limit above the hard one the system set: keep the system's
        pass


def _confine(config: dict) -> None:
    """Send the output to its file, arm the traceback dump, drop root, set the resource limits."""
    output = os.open(config["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.close(nothing)
    # SIGUSR1 from the judge at the time limit: the stack of every thread, even inside a C loop.
    faulthandler.register(signal.SIGUSR1, file=open(config["trace"], "w"), all_threads=True)  # noqa: SIM115
    if config.get("user") is not None:
        os.setgroups([])
        os.setgid(config["user"])
        os.setuid(config["user"])
    limits = config["limits"]
    _limit(resource.RLIMIT_AS, limits["memory"])
    _limit(resource.RLIMIT_FSIZE, limits["output"])
    _limit(resource.RLIMIT_NOFILE, limits["files"])
    _limit(resource.RLIMIT_CPU, limits["cpu"])
    _limit(resource.RLIMIT_CORE, 0)
    if os.geteuid() != 0:  # root ignores it; the guard refuses fork for everyone
        _limit(resource.RLIMIT_NPROC, 0)
    os.chdir(config["work"])
    os.environ["HOME"] = config["work"]


def _early_exit(error: BaseException, filename: str) -> str:
    """The located message for SystemExit and the other BaseExceptions that are not errors of their numbers."""
    located = locate(error, filename)
    head, newline, code = located.partition("\n")
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    description = f"{type(error).__name__}: {message}" if message else type(error).__name__
    sentence = (f"exited early ({description}): a function of the exercise must return its result, never end "
                "the program")
    head = head[: -len(description)] + sentence if head.endswith(description) else sentence
    return head + newline + code


class Child:
    """The student's module and the requests on it."""

    def __init__(self, config: dict) -> None:
        self.filename = config["file"]
        self.seconds = config["seconds"]
        self.module = None
        self.refusals = lambda: []

    def load(self, wanted: list[str]) -> dict:
        try:
            with time_limit_per_call(self.seconds):
                self.module = load_file(self.filename)
        except StudentFileError as error:
            return {"load_error": str(error)}
        except BaseException as error:  # noqa: BLE001 - sys.exit() at the top of their file is theirs too
            return {"load_error": _early_exit(error, self.filename) + " (while loading the file)"}
        namespace = vars(self.module)
        defined = sorted(name for name, value in namespace.items()
                         if callable(value) and getattr(value, "__module__", None) == self.module.__name__)
        functions = [name for name in wanted if callable(namespace.get(name))]
        return {"functions": functions, "defined": defined,
                "parameters": {name: _parameters(namespace[name]) for name in functions}}

    def call(self, body: dict, arrays: list[np.ndarray]) -> tuple[dict, list[np.ndarray]]:
        decoder = wire.Decoder(arrays, tensor_type=Tensor)
        args = decoder.decode(body["args"])
        function = vars(self.module)[body["name"]]
        seconds = body.get("seconds") or self.seconds
        namespace = vars(self.module)
        saved = {name: namespace.get(name) for name in body.get("feed", {})}
        entries = _dict_entries(args)  # to tell an entry replaced (params[k] = ...) from one updated in place
        called = _record_backward_calls(decoder.nodes)
        namespace.update({name: _resolve(ref) for name, ref in body.get("feed", {}).items()})
        try:
            with time_limit_per_call(seconds):
                if body["op"] == "isolate":
                    correct = decoder.decode(body["correct"])
                    lines = run_in_isolation(function, args, correct)
                    outcome = Attempt(value=None)
                else:
                    outcome, lines = attempt(function, *args, time_limit=seconds), None
        except BaseException as error:  # noqa: BLE001 - SystemExit, GeneratorExit, KeyboardInterrupt: theirs
            outcome, lines = Attempt(error=_early_exit(error, self.filename)), None
        finally:
            namespace.update(saved)
        encoder = wire.Encoder(Tensor, {id(t): i for i, t in enumerate(decoder.nodes)})
        answer: dict[str, Any] = {"attempt": _encode_attempt(encoder, outcome)}
        if lines is not None:
            answer["lines"] = {name: _encode_attempt(encoder, line) for name, line in lines.items()}
        elif body["op"] == "isolate":
            answer["lines"] = None
        if body.get("return_args"):
            answer["args"] = encoder.encode(args)
            answer["replaced"] = [[i, key] for (i, key), value in _dict_entries(args).items()
                                  if (i, key) in entries and value is not entries[i, key]]
        answer["grads"] = [[i, encoder.encode(t.grad)] for i, t in enumerate(decoder.nodes) if t.grad is not None]
        answer["called"] = called
        return answer, encoder.arrays

    def serve(self, requests: int, answers: int) -> None:
        while True:
            try:
                body, arrays = wire.read(requests)
            except (wire.WireError, OSError):  # the judge is gone
                os._exit(0)
            linecache.checkcache()
            try:
                answer, out = self.call(body, arrays)
            except (wire.WireError, KeyError, TypeError, ValueError) as error:
                answer, out = {"failure": f"{type(error).__name__}: {error}"}, []
            answer["refused"] = self.refusals()
            _flush()
            wire.write(answers, answer, out)


def _record_backward_calls(nodes: list[Any]) -> list[int]:
    """Wrap each rebuilt op's backward to note, in order, which ones the student's code calls (by node index)."""
    called: list[int] = []
    for index, node in enumerate(nodes):
        if getattr(node, "_op", None) is not None:
            def recorded(g: Any, index: int = index, original: Any = node._backward) -> Any:
                called.append(index)
                return original(g)
            node._backward = recorded
    return called


def _dict_entries(args: Any) -> dict[tuple[int, str], Any]:
    """The values of the dict arguments, by (argument, key): the objects themselves, compared by identity."""
    if not isinstance(args, (tuple, list)):
        return {}
    return {(i, key): value for i, arg in enumerate(args) if isinstance(arg, dict)
            for key, value in arg.items() if isinstance(key, str)}


def _parameters(function: Any) -> list[str]:
    """The names of a function's parameters (for the judge's messages: "changed its input param in place")."""
    try:
        return [str(name) for name in inspect.signature(function).parameters]
    except (TypeError, ValueError):
        return []


def _flush() -> None:
    """Their printed output into its file, for the judge to read (their code may have closed or replaced it)."""
    for stream in (sys.__stdout__, sys.__stderr__, sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001, S110 - closed or replaced by their code: nothing to flush
            pass


def _encode_attempt(encoder: wire.Encoder, outcome: Attempt) -> dict:
    return {"value": encoder.encode(outcome.value), "not_written": outcome.not_written, "error": outcome.error,
            "timed_out": outcome.timed_out, "seconds": outcome.seconds}


def _resolve(reference: dict) -> Any:
    """A function the judge feeds in place of the student's (the engine's own, or a reference's source)."""
    if reference.get("source") is not None:
        namespace: dict[str, Any] = {"__name__": reference["module"]}
        exec(compile(reference["source"], f"<{reference['module']}>", "exec"), namespace)  # noqa: S102 - ours
        return namespace[reference["qualname"]]
    module = __import__(reference["module"], fromlist=["_"])
    return getattr(module, reference["qualname"])


def run(requests: int, answers: int) -> None:
    """One child's life: its setup from the judge, its confinement, the student's file, then the requests."""
    config, _ = wire.read(requests)
    _confine(config)
    child = Child(config)
    refused = tuple(config["refused"])
    child.refusals = guard.install(config["work"], refused, lambda what: config["refused_because"])
    answer = child.load(config["functions"])
    answer["refused"] = child.refusals()
    _flush()
    wire.write(answers, answer, [])
    child.serve(requests, answers)


def zygote(channel: socket.socket) -> None:
    """The fork server: Python, NumPy and this module imported once, then one fork per child (milliseconds,
    where starting Python and importing NumPy takes a quarter of a second).

    Requests, one JSON line each: ``{"spawn": true}`` with the child's two pipe ends passed along (SCM_RIGHTS)
    answers ``{"pid": ...}``; ``{"status": pid}`` answers ``{"code": exit code or None while it runs}``. The
    children are reaped here; the judge kills each one's process group itself.
    """
    finished: dict[int, int] = {}
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 4096, 2)
        except OSError:
            os._exit(0)
        if not message:  # the judge is gone
            os._exit(0)
        request = json.loads(message)
        _reap(finished)
        if "spawn" in request:
            pid = os.fork()
            if pid == 0:
                channel.close()
                os.setsid()  # its own session and process group: the judge kills the group
                try:
                    run(*fds)
                finally:
                    os._exit(0)
            for fd in fds:
                os.close(fd)
            channel.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        else:
            pid = request["status"]
            _reap(finished)
            channel.sendall(json.dumps({"code": finished.pop(pid, None)}).encode() + b"\n")


def _reap(finished: dict[int, int]) -> None:
    """Collect the children that ended (their exit codes, for the judge's questions); keep the last 1,000."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        finished[pid] = os.waitstatus_to_exitcode(status)
        while len(finished) > 1000:
            finished.pop(next(iter(finished)))


if __name__ == "__main__":
    zygote(socket.socket(fileno=int(sys.argv[1])))

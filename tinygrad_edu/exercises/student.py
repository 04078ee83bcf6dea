"""Running the student's code: load their file, call their functions, and report their mistakes against *their* lines.

Nothing here lets a traceback through our internals reach the student: a syntax error, an exception, a shape
NumPy refuses or a missing function becomes one short message naming their file and line, e.g.
``exercises/network_backprop.py:27: ValueError: matmul: Input operand 1 has a mismatch ...``. A loop that never
ends is interrupted after a time limit (:class:`TimeLimit`) and reported the same way, at the line still running.
"""

from __future__ import annotations

import contextlib
import linecache
import signal
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinygrad_edu.errors import TinygradEduError
from tinygrad_edu.manual.compare import NOT_WRITTEN  # noqa: F401 - the one spelling, shared with the comparison

# Seconds one call of a student function (or the loading of their file) may run. The checks feed small inputs
# that take milliseconds, so only a loop that never ends comes near it, even on a slow, busy machine; and each
# call that never ends keeps the student waiting only this long. Teachers change it with --time-limit.
DEFAULT_TIME_LIMIT = 30.0
# Once the limit has passed, the interruption is raised again this often, in case their code swallowed it with
# a bare ``except:`` inside the loop (one of the repeats lands outside the ``try``, e.g. on the ``while`` line).
_REPEAT_INTERRUPTION = 0.1


class StudentFileError(TinygradEduError, ValueError):
    """The student's file cannot be used at all: missing, unreadable, a syntax error, an error at import."""


@dataclass
class Attempt:
    """What calling one student function gave: a value, "not written yet", or an error located in their code."""

    value: Any = None
    not_written: bool = False
    error: str = ""  # "file:line: Type: message" when their code raised
    timed_out: bool = False  # their code was still running when its time limit passed (error says where)
    seconds: float | None = None  # the CPU time their function used, measured where it ran: neither the sending
    # of inputs to a child process nor the waiting of a busy machine counts (a quadratic loop does)
    called: list[Any] | None = None  # run apart on a Tensor graph: the judge's tensors whose op's backward the
    # student's code called, in order (the judge's own wrappers of _backward cannot see calls made in the child)

    @property
    def ok(self) -> bool:
        return not self.not_written and not self.error


class TimeLimitExceeded(BaseException):
    """Raised into the student's code when it overruns its time limit. Not an ``Exception``, so their
    ``except Exception`` cannot swallow it; its message is what :func:`locate` shows at their line."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"did not finish within {seconds:g} s: this line was still running; look for a loop that "
                         "never ends (a while whose condition never turns false)")


class TimeLimit:
    """``with TimeLimit(seconds):`` interrupts the block's code with :class:`TimeLimitExceeded` after ``seconds``.

    It uses SIGALRM, so it needs the main thread (where a script and a notebook's cells run) and a system that
    has it (not Windows); elsewhere the block runs without a limit. The previous SIGALRM handler and timer (an
    enclosing limit's) are restored on the way out. An interruption the block swallowed (a bare ``except:``)
    is raised again when the block ends: the code overran its limit either way.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.interruption: TimeLimitExceeded | None = None
        self._previous: tuple[Any, tuple[float, float], float] | None = None  # handler, timer, start: when armed

    def _interrupt(self, signum: int, frame: types.FrameType | None) -> None:
        if frame is not None and frame.f_code.co_filename == __file__:
            return  # in this module, between the block's end and __exit__: the timer is about to be stopped
        self.interruption = TimeLimitExceeded(self.seconds)
        raise self.interruption

    def __enter__(self) -> TimeLimit:
        try:
            handler = signal.signal(signal.SIGALRM, self._interrupt)
        except (AttributeError, ValueError):  # no SIGALRM (Windows), or not the main thread: no limit
            return self
        timer = signal.setitimer(signal.ITIMER_REAL, self.seconds, _REPEAT_INTERRUPTION)
        self._previous = (handler, timer, time.monotonic())
        return self

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        if self._previous is not None:
            handler, (delay, interval), started = self._previous
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL if handler is None else handler)
            if delay:  # an enclosing timer was running: it gets back what was left of it (at least a moment)
                signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - started), 1e-3), interval)
        if self.interruption is not None and error is not self.interruption:  # swallowed (a bare except:)
            raise self.interruption


# The limit of each student call in the current check: DEFAULT_TIME_LIMIT, or a teacher's (time_limit_per_call).
_time_limit: ContextVar[float] = ContextVar("time_limit", default=DEFAULT_TIME_LIMIT)


@contextlib.contextmanager
def time_limit_per_call(seconds: float | None) -> Iterator[None]:
    """In the block, each call of a student function (:func:`attempt`) and each :func:`load_file` may run
    ``seconds`` (None: :data:`DEFAULT_TIME_LIMIT`), unless the check gives that call a limit of its own."""
    token = _time_limit.set(DEFAULT_TIME_LIMIT if seconds is None else seconds)
    try:
        yield
    finally:
        _time_limit.reset(token)


def load_file(path: str | Path) -> types.ModuleType:
    """Execute the student's file as a fresh module (never cached in ``sys.modules``) and return it.

    Its module-level code runs under the current time limit (:func:`time_limit_per_call`).

    Raises:
        StudentFileError: the file does not exist, has a syntax error, raises while it is loaded, or is still
            running when the time limit passes.
    """
    path = Path(path)
    if not path.is_file():
        hint = "" if path.suffix == ".py" else " (a Python file ending in .py)"
        raise StudentFileError(f"{path}: no such file{hint}")
    try:
        source = path.read_bytes()  # bytes: compile reads a UTF-8 byte-order mark or a coding line as Python does
    except OSError as error:
        raise StudentFileError(f"{path}: cannot read it: {error}") from None
    filename = str(path)
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as error:
        where = f"{filename}:{error.lineno}" if error.lineno else filename
        text = (error.text or "").rstrip()
        shown = f"\n    {text.strip()}" if text else ""
        raise StudentFileError(f"{where}: SyntaxError: {error.msg}{shown}") from None
    module = types.ModuleType(path.stem)
    module.__file__ = filename
    linecache.checkcache(filename)  # a student edits and re-checks: show the current line, not a stale one
    try:
        with TimeLimit(_time_limit.get()):
            exec(code, module.__dict__)  # noqa: S102 - running the student's own file is the point
    except (Exception, TimeLimitExceeded) as error:  # noqa: BLE001 - any error at import is theirs to fix
        located, _, shown = locate(error, filename).partition("\n")  # the note on the message's line, not the code's
        raise StudentFileError(f"{located} (while loading the file)" + (f"\n{shown}" if shown else "")) from None
    return module


def locate(error: BaseException, filename: str | None = None) -> str:
    """``file:line: Type: message`` for an exception, at the deepest frame in the student's code.

    The student's code is ``filename`` when given, else any frame outside the tinygrad_edu package (their
    notebook cell or file); the line of our code that raised is never shown.
    """
    if getattr(type(error), "runs_apart", False):  # raised in the child: already located there
        return str(error)
    frames = []
    tb = error.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    package = str(Path(__file__).resolve().parents[1])

    def is_theirs(name: str) -> bool:
        if filename is not None:
            return name == filename
        if name.startswith("<frozen"):
            return False
        resolved = str(Path(name).resolve())
        return not resolved.startswith((package, sys.prefix, sys.base_prefix))  # not ours, NumPy's or Python's

    theirs = [(name, line) for name, line in frames if is_theirs(name)]
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    description = f"{type(error).__name__}: {message}" if message else type(error).__name__
    if isinstance(error, RecursionError):
        description = "RecursionError: maximum recursion depth exceeded"
    if isinstance(error, TimeLimitExceeded):  # not a Python error the student needs the name of
        description = message
    if not theirs:
        return description
    name, line = theirs[-1]
    text = linecache.getline(name, line).strip()
    shown = f"\n    {line} | {text}" if text else ""
    return f"{name}:{line}: {description}{shown}"


def attempt(function: Callable[..., Any], *args: Any, filename: str | None = None,
            time_limit: float | None = None) -> Attempt:
    """Call ``function(*args)``, a student's; turn NotImplementedError into "not written yet", and other errors
    and overrunning ``time_limit`` seconds (None: the current one, see :func:`time_limit_per_call`) into a
    message at their line. Keyword arguments are this function's own: none is passed on to theirs."""
    if getattr(type(function), "runs_apart", False):  # run in a child process (tinygrad_edu.sandbox): its limit
        return function.attempt(args, time_limit)
    if filename is None:
        filename = getattr(getattr(function, "__code__", None), "co_filename", None)
    try:
        with TimeLimit(_time_limit.get() if time_limit is None else time_limit):
            started = time.process_time()
            value = function(*args)
            return Attempt(value=value, seconds=time.process_time() - started)
    except NotImplementedError:
        return Attempt(not_written=True)
    except TimeLimitExceeded as error:
        return Attempt(error=locate(error, filename), timed_out=True)
    except RecursionError as error:
        return Attempt(error=locate(error, filename))
    except Exception as error:  # noqa: BLE001 - the student's error, reported against their line
        return Attempt(error=locate(error, filename))


def find_functions(source: Any, names: list[str]) -> tuple[dict[str, Callable[..., Any]], str]:
    """The student's functions by name, from a module, a dict (a notebook's globals) or a list of functions.

    Returns:
        ``(functions, where)``: the functions found (missing ones are left out) and a description of where
        they came from, for messages.
    """
    if isinstance(source, types.ModuleType):
        namespace, where = vars(source), getattr(source, "__file__", None) or source.__name__
    elif isinstance(source, dict):
        namespace, where = source, "your notebook"
    else:
        namespace = {getattr(f, "__name__", ""): f for f in source}
        where = "the functions you passed"
    found = {name: namespace[name] for name in names if callable(namespace.get(name))}
    return found, where

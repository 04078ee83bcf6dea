"""Running the student's code: load their file, call their functions, and report their mistakes against *their* lines.

Nothing here lets a traceback through our internals reach the student: a syntax error, an exception, a shape
NumPy refuses or a missing function becomes one short message naming their file and line, e.g.
``exercises/network_backprop.py:27: ValueError: matmul: Input operand 1 has a mismatch ...``.
"""

from __future__ import annotations

import linecache
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinygrad_edu.errors import TinygradEduError

NOT_WRITTEN = "not written yet"


class StudentFileError(TinygradEduError, ValueError):
    """The student's file cannot be used at all: missing, unreadable, a syntax error, an error at import."""


@dataclass
class Attempt:
    """What calling one student function gave: a value, "not written yet", or an error located in their code."""

    value: Any = None
    not_written: bool = False
    error: str = ""  # "file:line: Type: message" when their code raised

    @property
    def ok(self) -> bool:
        return not self.not_written and not self.error


def load_file(path: str | Path) -> types.ModuleType:
    """Execute the student's file as a fresh module (never cached in ``sys.modules``) and return it.

    Raises:
        StudentFileError: the file does not exist, has a syntax error, or raises while it is loaded.
    """
    path = Path(path)
    if not path.is_file():
        hint = "" if path.suffix == ".py" else " (a Python file ending in .py)"
        raise StudentFileError(f"{path}: no such file{hint}")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
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
        exec(code, module.__dict__)  # noqa: S102 - running the student's own file is the point
    except Exception as error:  # noqa: BLE001 - any error at import is theirs to fix
        raise StudentFileError(f"{locate(error, filename)} (while loading the file)") from None
    return module


def locate(error: BaseException, filename: str | None = None) -> str:
    """``file:line: Type: message`` for an exception, at the deepest frame in the student's code.

    The student's code is ``filename`` when given, else any frame outside the tinygrad_edu package (their
    notebook cell or file); the line of our code that raised is never shown.
    """
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
    if not theirs:
        return description
    name, line = theirs[-1]
    text = linecache.getline(name, line).strip()
    shown = f"\n    {line} | {text}" if text else ""
    return f"{name}:{line}: {description}{shown}"


def attempt(function: Callable[..., Any], *args: Any, filename: str | None = None, **kwargs: Any) -> Attempt:
    """Call a student function; turn NotImplementedError into "not written yet" and other errors into a message."""
    if filename is None:
        filename = getattr(getattr(function, "__code__", None), "co_filename", None)
    try:
        return Attempt(value=function(*args, **kwargs))
    except NotImplementedError:
        return Attempt(not_written=True)
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

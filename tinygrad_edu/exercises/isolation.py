"""Check each line of a student's backward on its own, fed the *correct* upstream gradients (makemore's ``cmp``).

A student's ``backward`` computes ``dZ2``, then ``dW2`` from ``dZ2``, and so on: one wrong line makes every
later one wrong too. To check each line on its own, :func:`run_in_isolation` runs their function under a
tracer (``sys.settrace``, as a debugger does). Just before a line *reads* a gradient it did not itself
compute, the student's value of that gradient is recorded and replaced by the correct one, so every line is
computed from correct inputs and fails only if it is itself wrong. A line that raises is skipped in a
further run (its gradient set to the correct value), so the lines after it are still checked.

Only gradients held in local variables named as in the reference (``dZ2``, ``dW1``...) can be fed this way;
the others are checked in the chain only.
"""

from __future__ import annotations

import ast
import copy
import inspect
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_edu.exercises.student import Attempt, attempt


@dataclass(frozen=True)
class _Statement:
    first: int  # line numbers in the file
    last: int
    reads: frozenset[str]
    writes: frozenset[str]


def _statements(function: Callable[..., Any]) -> list[_Statement] | None:
    """The simple statements of ``function`` with the names each reads and writes (None: no source)."""
    try:
        lines, start = inspect.getsourcelines(function)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None
    offset = start - 1
    statements = []
    compound = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.If, ast.With, ast.Try)
    for node in ast.walk(tree.body[0]):
        if not isinstance(node, ast.stmt) or isinstance(node, compound):
            continue
        reads, writes = set(), set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                (writes if isinstance(sub.ctx, ast.Store) else reads).add(sub.id)
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            writes.add(node.target.id)
        for sub in ast.walk(node):  # dZ2[...] = ... and dZ2 /= N change dZ2: it is still being computed
            if isinstance(sub, (ast.Subscript, ast.Attribute)) and isinstance(sub.ctx, ast.Store):
                base = sub.value
                while isinstance(base, (ast.Subscript, ast.Attribute)):
                    base = base.value
                if isinstance(base, ast.Name):
                    writes.add(base.id)
        statements.append(_Statement(node.lineno + offset, node.end_lineno + offset, frozenset(reads), frozenset(writes)))
    return sorted(statements, key=lambda s: s.first)


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


def run_in_isolation(
    function: Callable[..., Any], args: tuple[Any, ...], correct: dict[str, np.ndarray]
) -> dict[str, Attempt] | None:
    """Run ``function(*args)`` with each gradient line fed the correct upstream values.

    Args:
        function: the student's backward.
        args: its arguments.
        correct: the right value of every gradient, by the local variable name that should hold it.

    Returns:
        For each name of ``correct`` that the function assigns, an :class:`Attempt`: the student's value
        (computed from correct inputs), "not written yet", or the error of its line. None when the
        function's source cannot be read (then only the chain can be checked).
    """
    if getattr(type(function), "runs_apart", False):  # a function run in a child process: the tracing runs there
        return function.isolate(args, correct)
    statements = _statements(function)
    if statements is None:
        return None
    by_line = {line: s for s in statements for line in range(s.first, s.last + 1)}
    names = set(correct)
    code = function.__code__
    results: dict[str, Attempt] = {}
    skip: dict[int, _Statement] = {}  # lines that raised in an earlier run: jumped over, their gradient fed
    for _ in range(len(names) + 1):
        fed: set[str] = set()
        recorded: dict[str, Any] = {}
        current: list[_Statement | None] = [None]

        def local_trace(frame, event, arg):  # noqa: ANN001 - the sys.settrace protocol
            if event == "line":
                statement = by_line.get(frame.f_lineno)
                if statement is None or frame.f_lineno != statement.first:
                    return local_trace
                f_locals = frame.f_locals  # read once: each read re-syncs the dict from the frame
                for name in sorted(names & statement.reads - statement.writes - fed):
                    if name in f_locals:
                        recorded[name] = _copy(f_locals[name])
                        f_locals[name] = correct[name].copy()
                        fed.add(name)
                if statement.first in skip:
                    for name in names & statement.writes:
                        f_locals[name] = correct[name].copy()
                        recorded.setdefault(name, None)
                        fed.add(name)
                    following = [s.first for s in statements if s.first > statement.last]
                    if following:
                        try:
                            frame.f_lineno = following[0]
                        except ValueError:  # a jump Python refuses (into a block): leave the line to run
                            pass
                        else:
                            return local_trace
                current[0] = statement
            elif event == "return":
                f_locals = frame.f_locals
                for name in names - fed:
                    if name in f_locals:
                        recorded[name] = _copy(f_locals[name])
            return local_trace

        def global_trace(frame, event, arg):  # noqa: ANN001
            return local_trace if frame.f_code is code else None

        previous = sys.gettrace()
        sys.settrace(global_trace)
        try:
            outcome = attempt(function, *copy.deepcopy(args))  # fresh inputs for every run
        finally:
            sys.settrace(previous)
        for name, value in recorded.items():
            if name not in results and value is not None:
                results[name] = Attempt(value=value)
        failing = current[0]
        if outcome.ok or failing is None:
            if outcome.not_written:
                for name in names - set(results):
                    results[name] = Attempt(not_written=True)
            break
        if outcome.not_written:  # the stub's raise: everything not computed yet is not written yet
            for name in names - set(results):
                results[name] = Attempt(not_written=True)
            break
        assigned = names & failing.writes
        for name in assigned - set(results):
            results[name] = outcome  # its error (and whether it timed out)
        if not assigned or failing.first in skip:
            break
        skip[failing.first] = failing
    return results

"""Exercises: you write the gradients, the project checks each one and says what is most likely wrong.

From the command line::

    tinygrad-edu exercise list
    tinygrad-edu exercise start network-backprop      # writes exercises/network_backprop.py
    tinygrad-edu exercise check network-backprop      # a table: pass / FAIL / not written yet, and why

From Python or a notebook cell, with the functions you defined::

    from tinygrad_edu.exercises import check
    check("network-backprop", backward)

Each exercise lives in three parts (see :mod:`tinygrad_edu.exercises.catalogue`): its stub file, its checks and
its solution. :mod:`~tinygrad_edu.exercises.diagnose` names the mistake the numbers show, trying the candidates
:mod:`~.candidates` generates from each item's correct formula; :mod:`~.isolation` checks
each line of a backward on its own; :mod:`~.student` reports the student's errors against their own lines.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinygrad_edu.exercises.catalogue import EXERCISES, Exercise, get
from tinygrad_edu.exercises.report import Report
from tinygrad_edu.exercises.student import find_functions, time_limit_per_call

__all__ = ["EXERCISES", "Exercise", "Report", "check", "check_file", "get"]


def check_file(name: str, path: str | Path, time_limit: float | None = None) -> Report:
    """Check the exercise file at ``path``, its code run in a child process (:mod:`tinygrad_edu.sandbox`);
    raises :class:`~.student.StudentFileError` if it cannot be loaded; ``time_limit`` as in :func:`check`."""
    from tinygrad_edu.sandbox import Limits, check_apart

    limits = Limits() if time_limit is None else Limits(seconds=time_limit)
    return check_apart(get(name), path, limits)[0]


def check(name: str, *functions: Callable[..., Any] | types.ModuleType | dict | str | Path,
          time_limit: float | None = None) -> Report:
    """Check your functions for the exercise ``name`` and return the report (print it, or look at ``.passed``).

    Args:
        name: the exercise, e.g. ``"network-backprop"`` (``tinygrad-edu exercise list`` lists them).
        functions: your functions (matched by name), or a module or file path holding them (a file runs in a
            separate process, as with `tinygrad-edu exercise check`); give nothing in a
            notebook to check the functions of that name defined in it.
        time_limit: the seconds each of your functions (and the loading of your file) may run before it is
            stopped and reported at the line still running, e.g. a loop that never ends (default
            :data:`~.student.DEFAULT_TIME_LIMIT`, 30 s).

    >>> from tinygrad_edu.exercises import check
    >>> def backward(params, cache, y):
    ...     raise NotImplementedError
    >>> check("network-backprop", backward)["dZ2"].status
    'not written yet'
    """
    exercise = get(name)
    with time_limit_per_call(time_limit):
        if len(functions) == 1 and isinstance(functions[0], (str, Path)):  # a file: run apart, as the command
            return check_file(name, functions[0], time_limit)
        if len(functions) == 1 and isinstance(functions[0], (types.ModuleType, dict)):
            return _check(exercise, functions[0])
        if not functions:  # a notebook: the caller's globals
            return _check(exercise, sys._getframe(1).f_globals)
        return _check(exercise, list(functions))


def _check(exercise: Exercise, source: Any) -> Report:
    found, where = find_functions(source, list(exercise.functions))
    return exercise.checks.check(found, where)

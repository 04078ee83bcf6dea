"""Checking one item: call the student's function on fixed inputs and diagnose each array it returns."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_edu.exercises.diagnose import Mistake, Verdict, diagnose
from tinygrad_edu.exercises.report import FAIL, PASS, ItemResult
from tinygrad_edu.exercises.student import Attempt, attempt


def call(function: Callable[..., Any], *args: Any) -> Attempt:
    """Call the student's function on copies of ``args`` (so it cannot change the check's arrays)."""
    return attempt(function, *copy.deepcopy(args))


def check_parts(
    item: str,
    functions: dict[str, Callable[..., Any]],
    where: str,
    args: Sequence[Any],
    expected: dict[str, np.ndarray],
    mistakes: dict[str, Sequence[Mistake]] | None = None,
    batch: int | None = None,
    function: str | None = None,
) -> ItemResult:
    """Call ``functions[function or item](*args)`` and compare what it returns with ``expected``.

    ``expected`` maps a label ("da", "db") to the right array, in the order the function returns them; with
    one label the function returns that array alone, with several a tuple. The item passes when every part
    does; the first failing part's diagnosis is reported.
    """
    name = function or item
    if name not in functions:
        return ItemResult.missing(item, name, where)
    outcome = call(functions[name], *args)
    if not outcome.ok:
        result = ItemResult.from_attempt(item, outcome)
        if outcome.error and not outcome.timed_out:  # e.g. NumPy refused the shapes: say which shapes are wanted
            result.diagnosis += "\nwanted: " + ", ".join(f"{label} of shape {np.shape(value)}"
                                                        for label, value in expected.items())
        return result
    return compare_parts(item, outcome.value, expected, mistakes, batch)


def compare_parts(item: str, value: Any, expected: dict[str, np.ndarray],
                  mistakes: dict[str, Sequence[Mistake]] | None = None, batch: int | None = None) -> ItemResult:
    """Compare a returned value (one array, or a tuple of them) with the expected parts, diagnosing each."""
    labels = list(expected)
    if len(labels) == 1:
        parts = [value]
    elif isinstance(value, (tuple, list)) and len(value) == len(labels):
        parts = list(value)
    else:
        shown = f"a {type(value).__name__}" + (f" of {len(value)}" if isinstance(value, (tuple, list)) else "")
        return ItemResult(item, FAIL, diagnosis=f"{item} must return {len(labels)} arrays ({', '.join(labels)}), "
                          f"got {shown}")
    verdicts: list[Verdict] = []
    for label, part in zip(labels, parts):
        verdicts.append(diagnose(label, part, expected[label], (mistakes or {}).get(label, ()), batch))
    errors = [v.error for v in verdicts]
    error = float("nan") if any(np.isnan(errors)) else max(errors)
    failing = [v for v in verdicts if not v.passed]
    if not failing:
        return ItemResult(item, PASS, error)
    shown: list[str] = []  # the first two different diagnoses (parts wrong for one reason say it once)
    others = []
    for label, verdict in zip(labels, verdicts):
        if verdict.passed or verdict.diagnosis in shown:
            continue
        if len(shown) < 2:
            shown.append(verdict.diagnosis)
        else:
            others.append(label)
    if others:
        shown.append(f"(also wrong: {', '.join(others)})")
    return ItemResult(item, FAIL, error, "\n".join(shown), failing[0].mistake)

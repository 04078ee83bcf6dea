"""Checking one item: call the student's function on fixed inputs and diagnose each array it returns."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_edu.exercises.diagnose import Mistake, Verdict, diagnose
from tinygrad_edu.exercises.report import FAIL, PASS, ItemResult
from tinygrad_edu.exercises.student import Attempt, attempt


def call(function: Callable[..., Any], *args: Any) -> Attempt:
    """Call the student's function on copies of ``args`` (so it cannot change the check's arrays)."""
    return attempt(function, *copy.deepcopy(args))


def call_watched(function: Callable[..., Any], *args: Any) -> tuple[Attempt, str]:
    """:func:`call`, and the sentence naming an argument the function changed in place ("" when none did).

    The copies it was given are compared with the originals after the call: a backward that writes into its
    input (``dZ2 = P; dZ2[rows, y] -= 1``) returns the right numbers and corrupts the caller's array.
    """
    copies = copy.deepcopy(args)
    outcome = attempt(function, *copies)
    altered = [i for i, (before, after) in enumerate(zip(args, copies)) if changed(before, after)]
    if not outcome.ok or not altered:
        return outcome, ""
    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        names = []
    which = ", ".join(names[i] if i < len(names) else f"argument {i + 1}" for i in altered)
    return outcome, (f"your {getattr(function, '__name__', 'function')} changed its input {which} in place (an "
                     f"in-place operation such as -=, /= or x[...] = on it, or on a name bound to it): the caller's "
                     f"array changes too. Compute into a new array ({which.split(',')[0]}.copy(), or an expression)")


def changed(before: Any, after: Any) -> bool:
    """Whether ``after`` (a copy of ``before`` handed to the student) no longer equals ``before``."""
    if isinstance(before, np.ndarray):
        return not isinstance(after, np.ndarray) or before.shape != after.shape or \
            not np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
    if isinstance(before, dict):
        return before.keys() != getattr(after, "keys", lambda: None)() or \
            any(changed(before[key], after[key]) for key in before)
    if isinstance(before, (list, tuple)):
        return len(before) != len(after) or any(changed(b, a) for b, a in zip(before, after))
    return False


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
    outcome, changed = call_watched(functions[name], *args)
    if not outcome.ok:
        result = ItemResult.from_attempt(item, outcome)
        if outcome.error and not outcome.timed_out:  # e.g. NumPy refused the shapes: say which shapes are wanted
            result.diagnosis += "\nwanted: " + ", ".join(f"{label} of shape {np.shape(value)}"
                                                        for label, value in expected.items())
        return result
    result = compare_parts(item, outcome.value, expected, mistakes, batch)
    return with_side_effect(result, changed)


def key_problem(key: str, keys: Any) -> str:
    """The sentence for a dict without ``key``, naming the key the student most likely meant ("" if none)."""
    import difflib

    keys = [str(k) for k in keys]
    simple = {k.replace("_", "").lower(): k for k in keys}
    near = simple.get(key.replace("_", "").lower()) or next(iter(difflib.get_close_matches(key, keys, 1, 0.75)), None)
    return f"your dict has no {key!r}; it has {near!r}: name the keys exactly as asked" if near else ""


def with_side_effect(result: ItemResult, changed: str) -> ItemResult:
    """``result`` failed for an input changed in place (``changed``, from :func:`call_watched`), if there is one."""
    if not changed:
        return result
    if result.passed:
        return ItemResult(result.item, FAIL, result.error, changed, "mutated-input")
    result.diagnosis += f"\n{changed}"
    return result


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
                          f"got {shown}", mistake="returns")
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

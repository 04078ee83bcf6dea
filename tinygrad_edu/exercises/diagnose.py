"""What a wrong gradient most likely is: a catalogued mistake, or a generic signature the numbers show.

:func:`diagnose` compares the student's array with the right one. When they differ it tries, in order:

1. the catalogued mistakes of that item (e.g. :data:`tinygrad_edu.manual.mistakes.BUGS` for the network): each is the
   array that mistake produces from the same inputs, so a match means the student's numbers *are* that mistake;
2. generic signatures: a wrong shape (transposed, one row per example instead of a sum over the batch, the
   right numbers in the wrong shape), all zeros, the wrong sign, a constant factor (N, 1/N, 2, ...).

Each diagnosis is stated only when the numbers fit it to rounding; otherwise the message says where the
arrays differ most and claims no cause.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

TOLERANCE = 1e-7  # relative to the largest entry of the right answer; float64 checks agree to ~1e-15


@dataclass(frozen=True)
class Mistake:
    """A catalogued mistake for one item: the array it produces, and the sentence that names it."""

    name: str
    sentence: str
    value: Callable[[], Any]  # computes the array the mistake produces (may raise: then it cannot match)


@dataclass
class Verdict:
    """The student's array against the right one: passed, the relative error, and the diagnosis."""

    passed: bool
    error: float
    diagnosis: str = ""
    mistake: str | None = None  # the catalogued mistake's name when one matched


def close(a: np.ndarray, b: np.ndarray, tol: float = TOLERANCE) -> bool:
    """Same shape and ``max |a - b| <= tol * max |b|`` (NaN never matches)."""
    if a.shape != b.shape:
        return False
    scale = max(float(np.abs(b).max(initial=0.0)), float(np.abs(a).max(initial=0.0)), 1e-300)
    return bool(np.abs(a - b).max(initial=0.0) <= tol * scale)


def relative_error(student: np.ndarray, expected: np.ndarray) -> float:
    """``max |student - expected| / max |expected|`` (inf when expected is 0 and student is not)."""
    diff = float(np.abs(student - expected).max(initial=0.0))
    scale = float(np.abs(expected).max(initial=0.0))
    if scale == 0:
        return 0.0 if diff == 0 else float("inf")
    return diff / scale


def as_array(value: Any) -> np.ndarray | None:
    """The student's value as a float64 array, or None when it is not numeric (a Tensor counts: its data)."""
    value = getattr(value, "data", value) if not isinstance(value, np.ndarray) else value
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - a ragged list and the like
        return None
    if array.dtype.kind not in "fiub":
        return None
    return array.astype(np.float64)


def _factor_sentence(label: str, factor: float, batch: int | None) -> str:
    if batch and batch > 1 and np.isclose(factor, batch, rtol=1e-6):
        return (f"your {label} is exactly {batch} times too large: the loss is a mean over the batch of {batch}, "
                "so it needs the 1/N")
    if batch and batch > 1 and np.isclose(factor, 1 / batch, rtol=1e-6):
        return (f"your {label} is exactly {batch} times too small: it divides by the batch size {batch} once "
                "too often (the 1/N of the mean is already in the gradient coming from above)")
    if np.isclose(factor, 2, rtol=1e-6):
        return f"your {label} is exactly twice the right value: a contribution counted twice, or a factor 2 too many"
    if np.isclose(factor, 0.5, rtol=1e-6):
        return (f"your {label} is exactly half the right value: one of two equal contributions is missing, "
                "or a factor 1/2 too many")
    if factor > 0:
        return f"your {label} is the right value times {factor:.4g}: a constant factor is wrong"
    return f"your {label} is the right value times {factor:.4g}: the sign and a constant factor are wrong"


def _where_they_differ(student: np.ndarray, expected: np.ndarray) -> str:
    diff = np.abs(student - expected)
    index = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    where = "" if not index else f"[{', '.join(str(int(i)) for i in index)}]"
    wrong = int((diff > TOLERANCE * max(float(np.abs(expected).max(initial=0.0)), 1e-300)).sum())
    return (f"{wrong} of {expected.size} entries are wrong; the largest difference is at {where or 'the value'}: "
            f"yours {float(student[index]):.6g}, expected {float(expected[index]):.6g}")


def diagnose(
    label: str,
    student: Any,
    expected: np.ndarray,
    mistakes: Sequence[Mistake] = (),
    batch: int | None = None,
    tol: float = TOLERANCE,
) -> Verdict:
    """Compare one student array with the right one and name the most likely mistake when they differ.

    Args:
        label: what the array is ("dW1", "the gradient of b"), used in the sentence.
        student: what the student's code returned.
        expected: the right answer (from the project's engine or hand-derived reference).
        mistakes: catalogued mistakes for this item, tried before the generic signatures.
        batch: the batch size N, to recognise a missing or doubled 1/N.
        tol: the largest accepted relative error.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if student is None:
        return Verdict(False, float("nan"), f"your {label} is None: return the array")
    array = as_array(student)
    if array is None:
        return Verdict(False, float("nan"), f"your {label} is a {type(student).__name__}, not an array of numbers "
                       f"of shape {expected.shape}")
    if array.shape == expected.shape:
        error = relative_error(array, expected)
        if error <= tol:
            return Verdict(True, error)
    else:
        error = float("nan")
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        return Verdict(False, error, f"your {label} has {bad} NaN or infinite entries: a division by 0, or the log "
                       "of 0, on the way")
    generic = _generic_sentence(label, array, expected, batch, tol)
    for mistake in mistakes:
        try:
            value = as_array(mistake.value())
        except Exception:  # noqa: BLE001 - a mistake that cannot be computed here cannot match
            continue
        if value is not None and close(array, value, tol) and not close(value, expected, tol):
            if generic.startswith(f"your {label} differs"):  # the numbers say nothing simpler
                return Verdict(False, error, mistake.sentence, mistake.name)
            return Verdict(False, error, f"{generic}. {mistake.sentence[:1].upper()}{mistake.sentence[1:]}", mistake.name)
    return Verdict(False, error, generic)


def _generic_sentence(label: str, array: np.ndarray, expected: np.ndarray, batch: int | None, tol: float) -> str:
    """The simplest description of how ``array`` differs from ``expected`` that the numbers support."""
    if array.shape != expected.shape:
        return _shape_sentence(label, array, expected, batch)
    if not np.abs(array).any():
        return (f"your {label} is all zeros: no gradient reaches it (a missing term, or a result never written "
                "into the array)")
    if expected.size == 1:  # one number is always some multiple of another: no pattern to claim
        return f"your {label} is {float(array.reshape(-1)[0]):.6g}, expected {float(expected.reshape(-1)[0]):.6g}"
    if close(array, -expected, tol):
        return f"your {label} has the wrong sign: it is exactly minus the right value (a minus sign lost or added)"
    norm = float(expected.ravel() @ expected.ravel())
    if norm > 0:
        factor = float(array.ravel() @ expected.ravel()) / norm
        if factor != 0 and close(array, factor * expected, tol * 10):
            return _factor_sentence(label, factor, batch)
    return f"your {label} differs: {_where_they_differ(array, expected)}"


def _shape_sentence(label: str, array: np.ndarray, expected: np.ndarray, batch: int | None) -> str:
    shapes = f"shape {array.shape}, expected {expected.shape}"
    if array.ndim == 2 and array.shape == expected.shape[::-1] and close(array.T, expected):
        return f"your {label} is transposed ({shapes}): it is the transpose of the right answer"
    if array.ndim == expected.ndim + 1 and array.shape[1:] == expected.shape:
        if close(array.sum(axis=0), expected):
            return (f"your {label} has one row per example ({shapes}): sum it over the batch (axis 0), because "
                    "the same parameter is used by every example")
        if close(array.mean(axis=0), expected):
            return f"your {label} has one row per example ({shapes}), and averaging them is wrong too: sum over axis 0"
    if array.size == expected.size and close(array.reshape(expected.shape), expected):
        return f"your {label} has the right numbers in the wrong shape ({shapes}): reshape it"
    if expected.ndim == 1 and array.ndim == 1 and batch and array.shape[0] == batch:
        return f"your {label} has one entry per example ({shapes}): sum over the batch instead"
    return f"your {label} has the wrong {shapes}"

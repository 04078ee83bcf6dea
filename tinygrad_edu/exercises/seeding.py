"""Per-student problems: under ``grade``, each student's checks draw their inputs from the student's own seed.

Each check draws its inputs from :func:`problem_rng` with its fixed seed. Outside :func:`per_student` that is
``np.random.default_rng(seed)`` (the problem every student sees with ``exercise check``, the one the docs
show); inside it the student's key is mixed in, so each student of a class is checked on other numbers and
copied numbers (a hard-coded array, another student's printout) do not pass.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from contextvars import ContextVar

import numpy as np

_student_key: ContextVar[int | None] = ContextVar("student_key", default=None)


def student_key(student: str) -> int:
    """A stable number for a student's id (the same on every machine and run)."""
    return int.from_bytes(hashlib.sha256(student.encode("utf-8")).digest()[:8], "big")


@contextlib.contextmanager
def per_student(student: str | None) -> Iterator[None]:
    """In the block, :func:`problem_rng` draws the problems of ``student`` (None: the fixed problems)."""
    token = _student_key.set(None if student is None else student_key(student))
    try:
        yield
    finally:
        _student_key.reset(token)


def problem_rng(seed: int | list[int]) -> np.random.Generator:
    """The generator a check draws its inputs from: ``seed``'s, varied by the current student (if any)."""
    key = _student_key.get()
    seeds = list(seed) if isinstance(seed, (list, tuple)) else [seed]
    return np.random.default_rng(seeds if key is None else [*seeds, key])

"""Wrong and correct submissions to the exercises, written as students write them, each wrong one with the cause
a teacher would name (a stable cause id: ``ItemResult.mistake``).

Each :class:`Submission` is the exercise's solution with a few lines or functions replaced by the student's:
``"dZ1 = dA1 * (A1 > 0)"`` replaces the line assigning ``dZ1``, ``"def f(...): ..."`` replaces the function
``f``. ``catalogued`` marks the mistakes a hand-written catalogue of the check already lists (BUGS, the
checks' Mistake lists); the others must be found by the diagnosis's search. ``tests/test_diagnosis_corpus.py``
asserts each outcome; ``benchmarks/diagnosis.py`` prints the score per exercise. ``compare`` is
``tinygrad-edu compare --backward`` (a network of hidden width 12, batch 16).
"""

from __future__ import annotations

from .derivatives import LOCAL, SOFTMAX, TENSOR_OPS
from .later import LATER
from .networks import COMPARE, DEEP, NETWORK
from .steps import ENGINE, OPTIMIZERS, TRAINING
from .submission import OUTCOMES, VAGUE, Submission, first_failure, outcome, run

__all__ = ["OUTCOMES", "SUBMISSIONS", "VAGUE", "Submission", "first_failure", "outcome", "run"]

SUBMISSIONS: list[Submission] = [*NETWORK, *LOCAL, *TENSOR_OPS, *SOFTMAX, *DEEP, *TRAINING, *OPTIMIZERS, *COMPARE,
                                 *ENGINE, *LATER]

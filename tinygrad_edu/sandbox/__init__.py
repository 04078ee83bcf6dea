"""Run a student's file apart from the judge: a child process computes, the parent compares and decides.

``tinygrad-edu exercise check``, ``compare --backward`` and ``grade`` check a file through :func:`check_apart`:
the file runs in a child process (:mod:`.child`: ``python -I -B``, a temporary copy of the student's folder,
resource limits, an import guard, :mod:`.guard`), and the checks, the diagnosis, the report and the exit
code stay in this process, which only ever receives numbers from the child (:mod:`.wire`). What the child
did wrong becomes one line of the report: exited early, killed at the time limit, ran out of memory,
printed too much, returned something that is not numbers, imports the solution.

A notebook's ``check(...)`` runs the functions of the kernel in the kernel itself (a function defined in a
cell has no file a child could load); a student checking their own work there has nothing to gain by
cheating, and a teacher grades the exported file with ``grade``. Where there is no ``fork`` (Windows), a file
is checked in this process, as before (with the time limit, without the isolation).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from tinygrad_edu.exercises.catalogue import Exercise
from tinygrad_edu.exercises.report import FAIL, ItemResult, Report
from tinygrad_edu.sandbox.runner import Guard, Limits, RemoteFunction, Sandbox

__all__ = ["Guard", "Limits", "RemoteFunction", "Sandbox", "check_apart", "guard_for", "IMPORTS_THE_SOLUTION"]

IMPORTS_THE_SOLUTION = "imports-the-solution"
# The child is forked from a fork server and gets its pipes over a Unix socket: POSIX only.
SUPPORTED = os.name == "posix" and hasattr(socket, "send_fds") and hasattr(os, "fork")
SOLUTIONS = ("tinygrad_edu.exercises.solutions", "tinygrad_edu.exercises.checks")
# The project's code that answers an exercise outright, refused to the student's file for that exercise.
REFERENCE_BACKWARD = ("tinygrad_edu.manual", "tinygrad_edu.compare", "tinygrad_edu.train", "tinygrad_edu.training",
                      "tinygrad_edu.cli")
_REFERENCES = {
    "network-backprop": REFERENCE_BACKWARD,
    "deep-network": REFERENCE_BACKWARD,
    "training-step": ("tinygrad_edu.optim", "tinygrad_edu.train", "tinygrad_edu.training", "tinygrad_edu.cli"),
    "optimizers": ("tinygrad_edu.optim", "tinygrad_edu.train", "tinygrad_edu.training", "tinygrad_edu.cli"),
}


def guard_for(exercise: str) -> Guard:
    """The modules refused to a file of ``exercise``: the solutions and checks always, and the project's
    reference for that exercise (``tinygrad_edu.manual`` for the backward of lesson 5, ``optim`` for the
    optimizers); training-step's stub uses ``manual``, so it stays allowed there."""
    return Guard(SOLUTIONS + _REFERENCES.get(exercise, ()))


def check_apart(exercise: Exercise, path: str | Path, limits: Limits = Limits()) -> tuple[Report, str]:
    """Check the file at ``path`` for ``exercise``, its code run in a child process.

    Returns:
        ``(report, output)``: the report, and what the student's code printed (at most the output limit).

    Raises:
        StudentFileError: the file cannot be loaded (their error at their line, an early exit, the time limit).
    """
    if not SUPPORTED:  # no fork, no SCM_RIGHTS (Windows): the file runs here, as before, under the time limit
        from tinygrad_edu.exercises.student import find_functions, load_file, time_limit_per_call

        with time_limit_per_call(limits.seconds):
            found, _ = find_functions(load_file(path), list(exercise.functions))
            return exercise.checks.check(found, str(path)), ""
    with Sandbox(path, exercise.functions, guard_for(exercise.name), limits) as box:
        report = exercise.checks.check(dict(box.functions), str(path))
        if box.refusals:
            report = refused(report, box.refusals)
        return report, box.output


def refused(report: Report, refusals: list[str]) -> Report:
    """The report of a file that tried what the guard refuses: every item fails with that one reason."""
    reason = f"your file {refusals[0]}; it is not allowed while the file is checked, so no item counts"
    if len(refusals) > 1:
        reason += f" (also: {'; '.join(refusals[1:3])})"
    mistake = IMPORTS_THE_SOLUTION if refusals[0].startswith(("imports", "reads")) else "refused-operation"
    items = [ItemResult(item.item, FAIL, diagnosis=reason, mistake=mistake) for item in report.items]
    return Report(report.exercise, report.source, items, report.notes)

"""A submission of the corpus: the solution with a student's lines or functions swapped in, and how to run it."""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Submission:
    exercise: str  # an exercise's name, or "compare"
    item: str  # the row that must fail ("" for a correct submission)
    cause: str | None  # the cause id the check must name (None: a correct submission, which must pass)
    code: tuple[str, ...]  # replaced lines ("name = ...") or functions ("def name(...): ...")
    catalogued: bool = False
    what: str = ""
    vague: bool = False  # a known gap: the check fails it but names no cause (the test holds it to that)

    @property
    def correct(self) -> bool:
        return self.cause is None


def wrong(exercise: str, item: str, cause: str, *code: str, catalogued: bool = False, what: str = "",
          vague: bool = False) -> Submission:
    return Submission(exercise, item, cause, tuple(textwrap.dedent(c).strip("\n") for c in code), catalogued, what,
                      vague)


def right(exercise: str, *code: str, what: str = "") -> Submission:
    return Submission(exercise, "", None, tuple(textwrap.dedent(c).strip("\n") for c in code), False, what)


def source(solution: str, code: tuple[str, ...]) -> str:
    """The solution with the submission's lines and functions swapped in."""
    for piece in code:
        if piece.startswith("def "):
            tree = ast.parse(solution)
            function = ast.parse(piece).body[0].name
            node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
            lines = solution.splitlines()
            start = node.lineno - 1 - len(node.decorator_list)
            lines[start : node.end_lineno] = piece.splitlines()
            solution = "\n".join(lines) + "\n"
            continue
        first = piece.splitlines()[0]
        target = "return " if first.startswith("return ") else first.split("=")[0].strip() + " ="
        if first.startswith("@@ "):  # edit(): the line of the solution that starts so
            target, piece = first[3:], "\n".join(piece.splitlines()[1:])
        lines = solution.splitlines()
        statements = {node.lineno - 1 for node in ast.walk(ast.parse(solution)) if isinstance(node, ast.stmt)}
        for i, line in enumerate(lines):
            stripped = line.lstrip()
            if i in statements and stripped.startswith(target):  # code, not a docstring's example
                indent = line[: len(line) - len(stripped)]
                lines[i : i + 1] = [indent + text for text in piece.splitlines()]
                break
        else:
            raise ValueError(f"no line starting {target!r} in the solution")
        solution = "\n".join(lines) + "\n"
    return solution


def edit(line: str, *new: str) -> str:
    """The solution's line that starts with ``line`` (after its indentation), written as the ``new`` lines."""
    return "\n".join((f"@@ {line}", *new))


def fn(signature: str, body: str) -> str:
    """A function of the exercise file: ``def signature:`` and its body."""
    return f"def {signature}:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")


# How a wrong submission's diagnosis counts: the cause named; a failure with no cause, or only "some constant
# factor" or "NaN somewhere" (vague); another cause (wrong); or a pass (not caught).
VAGUE = {None, "scale", "not-finite"}
OUTCOMES = ("named right", "vague", "wrong cause", "not caught")


def run(submission: Submission, folder: Path) -> list[Any]:
    """The rows (ItemResult) the check gives the submission, written to a file in ``folder`` as a student's."""
    from tinygrad_edu.exercises import check_file, get

    exercise = "network-backprop" if submission.exercise == "compare" else submission.exercise
    path = folder / get(exercise).filename
    path.write_text(source(get(exercise).solution(), submission.code))
    if submission.exercise != "compare":
        return check_file(exercise, path).items
    from tinygrad_edu.exercises.checks.network_backprop import compare_student_backward, problem
    from tinygrad_edu.exercises.report import FAIL, PASS, ItemResult
    from tinygrad_edu.exercises.student import load_file

    params, x, y = problem(seed=3, hidden=12, batch=16)
    comparison = compare_student_backward(load_file(path).backward, params, x, y)
    problems = [row.problem for row in comparison.rows if row.problem]
    keys = any(problem.startswith("your dict has no") for problem in problems)
    chain = ItemResult("chain", PASS if comparison.passed_chain else FAIL, diagnosis="; ".join(problems),
                       mistake="dict-key" if keys else None)
    return [*comparison.lines, chain]


def outcome(submission: Submission, rows: list[Any]) -> str:
    """"passed" or "rejected" for a correct submission; one of :data:`OUTCOMES` for a wrong one."""
    passed = all(row.passed for row in rows)
    if submission.correct:
        return "passed" if passed else "rejected"
    if passed:
        return "not caught"
    row = next((r for r in rows if r.item == submission.item and not r.passed), None) or \
        next(r for r in rows if not r.passed)
    if row.mistake == submission.cause and row.item == submission.item:
        return "named right"
    return "vague" if row.mistake in VAGUE else "wrong cause"


def first_failure(rows: list[Any]) -> str:
    """The first failing row and its diagnosis, to show in a test's message."""
    row = next((r for r in rows if not r.passed), None)
    return "every row passes" if row is None else f"{row.item}: [{row.mistake}] {row.diagnosis}"

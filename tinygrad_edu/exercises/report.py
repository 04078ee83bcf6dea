"""The result of checking an exercise: one row per item (pass / FAIL / not written yet), and the table."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field

from tinygrad_edu.exercises.diagnose import Verdict
from tinygrad_edu.exercises.student import NOT_WRITTEN, Attempt

PASS, FAIL = "pass", "FAIL"
WIDTH = 88  # the report folds its sentences to fit a terminal and a code block on the site


@dataclass
class ItemResult:
    """One checked item.

    Attributes:
        item: the item's name (a function of the exercise file, or a gradient such as ``dW1``).
        status: ``"pass"``, ``"FAIL"`` or ``"not written yet"``.
        error: the measured relative error (NaN when there is no number to compare).
        diagnosis: for a failure, what is most likely wrong, in one or two plain sentences.
        mistake: the name of the catalogued mistake that matched, if any.
    """

    item: str
    status: str
    error: float = float("nan")
    diagnosis: str = ""
    mistake: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @classmethod
    def from_verdict(cls, item: str, verdict: Verdict) -> ItemResult:
        return cls(item, PASS if verdict.passed else FAIL, verdict.error, verdict.diagnosis, verdict.mistake)

    @classmethod
    def missing(cls, item: str, function: str, where: str) -> ItemResult:
        """The result for an item whose function the student's file does not define."""
        return cls(item, FAIL, diagnosis=f"{where} has no function {function}(): define it with this name, as in "
                   "the file `tinygrad-edu exercise start` writes")

    @classmethod
    def from_attempt(cls, item: str, attempt: Attempt) -> ItemResult:
        """The result for an attempt that gave no value: not written yet, or the student's error."""
        if attempt.not_written:
            return cls(item, NOT_WRITTEN)
        return cls(item, FAIL, diagnosis=attempt.error)


@dataclass
class Report:
    """Every item of one exercise, checked. ``print`` it for the table; ``passed`` when every item passes."""

    exercise: str
    source: str
    items: list[ItemResult]
    notes: list[str] = field(default_factory=list)  # printed under the table (e.g. what the chain gives)

    @property
    def passed(self) -> bool:
        return bool(self.items) and all(item.passed for item in self.items)

    @property
    def passing(self) -> int:
        return sum(item.passed for item in self.items)

    @property
    def started(self) -> bool:
        return any(item.status != NOT_WRITTEN for item in self.items)

    def __getitem__(self, name: str) -> ItemResult:
        return next(item for item in self.items if item.item == name)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython/Jupyter: the table, not a dataclass repr
        printer.text(str(self))

    def __str__(self) -> str:
        return format_report(self)


def _error_text(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1e}"


def format_items(items: list[ItemResult]) -> list[str]:
    """The rows of a table of items (item, result, rel err), each failure followed by its diagnosis."""
    width = max(len("item"), *(len(item.item) for item in items))
    status_width = len(NOT_WRITTEN)
    lines = [f"{'item'.ljust(width)}  {'result'.ljust(status_width)}  {'rel err':>8}"]
    for item in items:
        lines.append(f"{item.item.ljust(width)}  {item.status.ljust(status_width)}  {_error_text(item.error):>8}".rstrip())
        if item.diagnosis and item.status != PASS:
            for paragraph in item.diagnosis.splitlines():
                lines.append(textwrap.fill(paragraph, width=WIDTH, initial_indent="    ", subsequent_indent="      ",
                                           break_long_words=False, break_on_hyphens=False))
    return lines


def format_report(report: Report) -> str:
    """The aligned table of a report, each failure followed by its diagnosis, and the verdict."""
    lines = [f"Checking {report.exercise}: {report.source}", "", *format_items(report.items), ""]
    lines.extend(textwrap.fill(note, width=WIDTH, subsequent_indent="  ", break_long_words=False,
                               break_on_hyphens=False) for note in report.notes)
    if report.notes:
        lines.append("")
    total = len(report.items)
    if report.passed:
        lines.append(f"all {total} items pass: well done")
    elif not report.started:
        lines.append(f"0 of {total} items written yet: fill in the functions that raise NotImplementedError")
    else:
        failing = [item.item for item in report.items if item.status == FAIL]
        todo = [item.item for item in report.items if item.status == NOT_WRITTEN]
        parts = [f"{report.passing} of {total} items pass"]
        if failing:
            parts.append(f"FAIL: {_listed(failing)}")
        if todo:
            parts.append(f"not written yet: {_listed(todo)}")
        lines.append("; ".join(parts))
    return "\n".join(lines)


def _listed(names: list[str]) -> str:
    """Item names separated by commas; a name holding a comma itself is quoted, so that it still reads as one:
    ``train_epoch, "train_epoch, with your sgd_step"``."""
    return ", ".join(f'"{name}"' if "," in name else name for name in names)

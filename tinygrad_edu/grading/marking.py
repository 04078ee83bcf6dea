"""Grade one student's folder: every exercise checked apart (:mod:`tinygrad_edu.sandbox`), as plain data.

``grade`` runs :func:`grade_student` in one process per student (:mod:`.worker`: a crash, a leak or a stuck
check of one student cannot touch another's); Gradescope's ``run_autograder`` calls it too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tinygrad_edu import __version__
from tinygrad_edu.exercises.catalogue import get
from tinygrad_edu.exercises.report import FAIL, Report
from tinygrad_edu.exercises.seeding import per_student
from tinygrad_edu.exercises.student import StudentFileError
from tinygrad_edu.sandbox import Limits, check_apart

NOT_SUBMITTED = "not submitted"


def folder_hash(folder: Path, exercises: list[str], seconds: float) -> str:
    """What a result depends on: the folder's files (names and bytes), the exercises, the limit, our version."""
    digest = hashlib.sha256(f"{__version__}|{','.join(exercises)}|{seconds}".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def grade_exercise(name: str, folder: Path, limits: Limits, student: str | None = None) -> dict[str, Any]:
    """One exercise of one student: its items (status, diagnosis, mistake), passed and total. The problem's
    inputs are drawn from ``student``'s seed (:mod:`~tinygrad_edu.exercises.seeding`; None: the fixed ones)."""
    with per_student(student):
        return _grade_exercise(name, folder, limits)


def _grade_exercise(name: str, folder: Path, limits: Limits) -> dict[str, Any]:
    exercise = get(name)
    path = folder / exercise.filename
    items: list[dict[str, Any]]
    if not path.is_file():
        items = [_item(function, NOT_SUBMITTED, f"no file {exercise.filename} in the submission")
                 for function in exercise.functions]
    else:
        try:
            report, _ = check_apart(exercise, path, limits)
        except StudentFileError as error:
            reason = str(error).replace(str(path.resolve()), exercise.filename).replace(str(path), exercise.filename)
            items = [_item(function, FAIL, reason, "does-not-load") for function in exercise.functions]
        else:
            items = _items(report, path, exercise.filename)
    passed = sum(item["status"] == "pass" for item in items)
    return {"exercise": name, "passed": passed, "total": len(items), "items": items}


def _item(name: str, status: str, diagnosis: str = "", mistake: str | None = None) -> dict[str, Any]:
    return {"item": name, "status": status, "diagnosis": diagnosis, "mistake": mistake}


def _items(report: Report, path: Path, shown: str) -> list[dict[str, Any]]:
    """The report's items, their messages naming the file as the student named it (not the temporary path)."""
    def clean(text: str) -> str:
        return text.replace(str(path.resolve()), shown).replace(str(path), shown)

    return [_item(item.item, item.status, clean(item.diagnosis), item.mistake) for item in report.items]


def grade_student(folder: Path, exercises: list[str], limits: Limits, student: str | None = None) -> dict[str, Any]:
    """Every exercise of one student's folder, on the problems of ``student`` (default: the folder's name)."""
    student = folder.name if student is None else student
    results = [grade_exercise(name, folder, limits, student) for name in exercises]
    return {"student": folder.name, "hash": folder_hash(folder, exercises, limits.seconds), "exercises": results}

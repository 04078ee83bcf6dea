"""``tinygrad-edu exercise list | start NAME | check NAME | solution NAME``."""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from tinygrad_edu.support.atomic import atomic_write
from tinygrad_edu.support.options import input_folder, output_folder, time_limit
from tinygrad_edu.errors import UsageError
from tinygrad_edu.exercises.catalogue import EXERCISES, Exercise, get
from tinygrad_edu.exercises.student import DEFAULT_TIME_LIMIT, StudentFileError

DEFAULT_DIR = "exercises"
RESULTS_DIR = ".tinygrad_edu"  # in the exercises folder: the last check's result of each file, for `exercise list`


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tinygrad-edu exercise``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the exercises (with --dir, how far you are in each)")
    listing.add_argument("--dir", type=input_folder, metavar="DIR", help="your exercises folder, to show each exercise's status")
    for action, help_text in (
        ("start", "write the exercise file into your folder (never over an existing file without --force)"),
        ("check", "check your exercise file item by item: pass / FAIL / not written yet, and the likely mistake"),
        ("solution", "print a complete solved file (try first: it teaches more)"),
    ):
        sub = actions.add_parser(action, help=help_text, description=help_text)
        sub.add_argument("name", metavar="NAME", help="the exercise (tinygrad-edu exercise list)")
        if action != "solution":
            # start writes into the folder; check only reads it. Either is checked before any work.
            sub.add_argument("--dir", type=output_folder if action == "start" else input_folder, metavar="DIR",
                             default=DEFAULT_DIR,
                             help=f"your exercises folder (default ./{DEFAULT_DIR}/)")
        if action == "start":
            sub.add_argument("--force", action="store_true", help="overwrite the file if it exists")
        if action == "check":
            sub.add_argument("--time-limit", type=time_limit, metavar="SECONDS", default=DEFAULT_TIME_LIMIT,
                             help="stop any of your functions (or the loading of your file) still running after "
                                  "SECONDS and report the line it was on, e.g. a loop that never ends "
                                  f"(default {DEFAULT_TIME_LIMIT:g}; an autograder may want less)")


def _result_path(folder: Path, exercise: Exercise) -> Path:
    return folder / RESULTS_DIR / f"{exercise.name}.json"


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _save_result(folder: Path, exercise: Exercise, file_hash: str | None, result: dict[str, Any]) -> None:
    """Keep the result of a check beside the file (atomically), so ``exercise list`` never has to run student code."""
    path = _result_path(folder, exercise)
    try:
        path.parent.mkdir(exist_ok=True)
        with atomic_write(path) as out:
            out.write(json.dumps({"file_sha256": file_hash, **result}).encode("utf-8"))
    except OSError as error:  # a read-only folder: the check itself still counts
        print(f"note: could not save the result for `exercise list` in {path}: {error.strerror or error}",
              file=sys.stderr)


def _status(folder: Path, exercise: Exercise) -> str:
    """The exercise's status from the file's presence and the last check's saved result; nothing is run."""
    path = folder / exercise.filename
    if not path.is_file():
        return "not started"
    try:
        saved = json.loads(_result_path(folder, exercise).read_text(encoding="utf-8"))
        if saved.get("error"):
            last = "does not load"
        elif saved["passed"] is True:
            last = "done"
        else:
            last = f"{int(saved['passing'])} of {int(saved['items'])} items passing"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # never checked, or a damaged record
        return f"started, not checked yet ({_command('check', exercise.name, folder)})"
    if saved.get("file_sha256") != _file_hash(path):
        return f"changed since the last check ({last} then): {_command('check', exercise.name, folder)}"
    return last


def run(args: argparse.Namespace) -> int:
    """Run the chosen action; exit 0 on success (check: every item passes), 1 when items fail, 2 on bad usage."""
    try:
        return _ACTIONS[args.action](args)
    except StudentFileError as error:
        print(f"tinygrad-edu exercise {args.action}: {error}", file=sys.stderr)
        return 1
    except UsageError as error:  # as cli.main would report it, but naming the action too
        print(f"tinygrad-edu exercise {args.action}: error: {error}", file=sys.stderr)
        return 2


def _list(args: argparse.Namespace) -> int:
    folder = Path(args.dir) if args.dir else None
    if folder is not None and not folder.is_dir():
        raise UsageError(f"--dir {folder}: no such folder (tinygrad-edu exercise start NAME creates it)")
    width = max(map(len, EXERCISES))
    print(f"{'exercise'.ljust(width)}  lesson  goal")
    for exercise in EXERCISES.values():
        print(f"{exercise.name.ljust(width)}  {exercise.lessons.ljust(6)}  {exercise.goal}")
        if folder is not None:
            print(f"{''.ljust(width)}  {''.ljust(6)}  -> {_status(folder, exercise)}")
    print("\nStart one with: tinygrad-edu exercise start NAME")
    return 0


def _start(args: argparse.Namespace) -> int:
    exercise = get(args.name)
    folder = Path(args.dir)
    path = folder / exercise.filename
    if path.exists() and not args.force:
        print(f"tinygrad-edu exercise start: {path} already exists; it is not overwritten (your work is in it). "
              "Check it with:\n  " + _command("check", exercise.name, args.dir)
              + "\nor start again from the blank file with --force (which overwrites it).", file=sys.stderr)
        return 1
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # The file's header names the check command: with this --dir, if it is not the default.
        stub = exercise.stub().replace(_command("check", exercise.name, DEFAULT_DIR),
                                       _command("check", exercise.name, args.dir))
        with atomic_write(path) as out:
            out.write(stub.encode("utf-8"))
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    print(f"wrote {path}")
    print(f"fill in the functions that raise NotImplementedError, then check with:\n  {_command('check', exercise.name, args.dir)}")
    return 0


def _command(action: str, name: str, folder: str | Path) -> str:
    """The command line of ``action`` on exercise ``name``, with ``--dir`` only when it is not the default."""
    option = "" if Path(folder) == Path(DEFAULT_DIR) else f" --dir {shlex.quote(str(folder))}"
    return f"tinygrad-edu exercise {action} {name}{option}"


def _check(args: argparse.Namespace) -> int:
    from tinygrad_edu.sandbox import Limits, check_apart

    exercise = get(args.name)
    path = Path(args.dir) / exercise.filename
    if not path.is_file():
        print(f"tinygrad-edu exercise check: {path}: no such file. Start the exercise with:\n"
              f"  {_command('start', exercise.name, args.dir)}",
              file=sys.stderr)
        return 2
    file_hash = _file_hash(path)  # before the check: a file saved again meanwhile shows as changed
    try:
        report, output = check_apart(exercise, path, Limits(seconds=args.time_limit))
    except StudentFileError:
        _save_result(Path(args.dir), exercise, file_hash, {"error": "does not load"})
        raise
    _save_result(Path(args.dir), exercise, file_hash,
                 {"passed": report.passed, "passing": report.passing, "items": len(report.items)})
    if output.strip():  # their prints ran in the child: shown here, before the verdict
        lines = output.rstrip("\n").splitlines()
        shown = lines[:PRINTED_LINES] + ([f"... ({len(lines) - PRINTED_LINES} more lines)"]
                                         if len(lines) > PRINTED_LINES else [])
        print("your file printed:\n" + "\n".join(f"  | {line}" for line in shown) + "\n")
    print(report)
    return 0 if report.passed else 1


PRINTED_LINES = 20  # of the student's own output, shown above the report


def _solution(args: argparse.Namespace) -> int:
    sys.stdout.write(get(args.name).solution())
    return 0


_ACTIONS = {"list": _list, "start": _start, "check": _check, "solution": _solution}

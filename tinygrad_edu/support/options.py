"""Option types and output-folder checks shared by every command and by the lessons' options.

Each type checks its range, so a bad value is reported by argparse as
``tinygrad-edu train: error: argument --lr: must be a positive finite number, got -1`` with exit code 2,
before any work starts.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

from tinygrad_edu.errors import TinygradEduError

MNIST_TRAIN_SIZE = 60_000  # the largest sensible batch: the whole of MNIST's training set
MAX_TIME_LIMIT = 86_400


# ----------------------------------------------------------------------------------------------------
# Option types: each checks its range, so a bad value is reported by argparse as
#   tinygrad-edu train: error: argument --lr: must be a positive finite number, got -1
# with exit code 2, before any work starts. Every option of every command (and lesson) uses one of these.
# ----------------------------------------------------------------------------------------------------
def _parse_int(text: str, wanted: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None


def _parse_finite_float(text: str, wanted: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r} (NaN and infinity are refused)")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (sizes, counts, epochs)."""
    value = _parse_int(text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number of at least 0 (0 turns a feature off, e.g. ``--augment 0``)."""
    value = _parse_int(text, "a non-negative integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer (0 or more), got {text}")
    return value


def int_range(low: int, high: int) -> Callable[[str], int]:
    """An argparse type factory: a whole number in ``low..high`` (both included)."""

    def parse(text: str) -> int:
        value = _parse_int(text, f"an integer in {low}..{high}")
        if value < low and low in (0, 1):  # the same words as positive_int / non_negative_int
            (positive_int if low == 1 else non_negative_int)(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer in {low}..{high}, got {text}")
        return value

    parse.__name__ = f"int_range({low}, {high})"  # argparse names the type in some messages
    return parse


def seed(text: str) -> int:
    """An argparse type: a random seed, a whole number 0 .. 2**32 - 1 (what NumPy's generators accept)."""
    value = _parse_int(text, "a whole number 0 or more")
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be a whole number in 0..{2**32 - 1}, got {text}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (learning rates, tolerances). NaN and inf are refused."""
    value = _parse_finite_float(text, "a positive finite number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def time_limit(text: str) -> float:
    """An argparse type: a positive number of seconds, at most a day (a larger one overflows the system's clock)."""
    value = positive_float(text)
    if value > MAX_TIME_LIMIT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_TIME_LIMIT} seconds (a day), got {text}")
    return value


def file_path(text: str) -> Path:
    """An argparse type: a file name, not empty (Path("") would be the current folder). Existence is the command's check."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a file path, got an empty string")
    return Path(text).expanduser()


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number >= 0 (weight decay, momentum). NaN and inf are refused."""
    value = _parse_finite_float(text, "a non-negative finite number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative finite number (0 or more), got {text}")
    return value


def probability(text: str) -> float:
    """An argparse type: a number in [0, 1] (dropout rates, fractions)."""
    value = _parse_finite_float(text, "a number in [0, 1]")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text}")
    return value


def _unusable_name(text: str, error: OSError) -> str:
    """Why the system refused to even look at ``text`` (a name too long, a loop of links...), for a message."""
    shown = text if len(text) <= 60 else f"{text[:40]}...{text[-12:]} ({len(text)} characters)"
    return f"cannot use {shown}: {error.strerror or error}"


def _stat_checked(check: Callable[[str], Path], text: str) -> Path:
    """Run a path check; an OSError from merely looking at the path becomes argparse's message, not a traceback."""
    try:
        return check(text)
    except OutputFolderError:
        raise
    except OSError as error:  # "File name too long" (Path.exists raises it), "Too many levels of symbolic links"
        raise argparse.ArgumentTypeError(_unusable_name(text, error)) from None


def output_folder(text: str) -> Path:
    """An argparse type: a folder to write into. It may not exist yet; if it exists it must be a writable folder.

    The check is made when the options are parsed, before any data is loaded or any epoch run, so a
    typo in ``--out`` costs nothing. The folder itself is created by the command (see :func:`prepare_output_folder`).
    """
    try:
        return check_output_folder(text)
    except OutputFolderError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def output_file(text: str) -> Path:
    """An argparse type: a file to write (a figure, a graph). It must not be a folder; its folder must be writable."""
    return _stat_checked(_output_file, text)


def _output_file(text: str) -> Path:
    path = Path(text).expanduser()
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a file path, got an empty string")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name (for example {path / 'graph.svg'})")
    try:
        check_output_folder(str(path.parent))
    except OutputFolderError as error:
        raise argparse.ArgumentTypeError(f"cannot write {text}: {error}") from None
    return path


def existing_file(text: str) -> Path:
    """An argparse type: a file that exists and can be read (checkpoints, inputs)."""
    return _stat_checked(_existing_file, text)


def _existing_file(text: str) -> Path:
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text}: permission denied (cannot read it)")
    return path


def input_folder(text: str) -> Path:
    """An argparse type: a folder to read from (``--data-dir``). It must not be a file; if missing, the
    command says what should be in it (data folders may also be created by a download)."""
    return _stat_checked(_input_folder, text)


def _input_folder(text: str) -> Path:
    path = Path(text).expanduser()
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a folder path, got an empty string")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder; give the folder that holds the files")
    return path


def hidden_units(text: str) -> int:
    """An argparse type: a hidden-layer width H >= 1 whose 784-H-10 network fits in the memory available now.

    The estimate (parameters, gradients, optimizer state and a small batch, in float64) is a lower
    bound of what a command allocates; commands refine it once the batch size is known.
    """
    from tinygrad_edu.support.memory import MemoryBudgetError, check_fits, mlp_bytes

    value = positive_int(text)
    try:
        check_fits(mlp_bytes(value, batch=64, itemsize=8), f"a 784-{value}-10 network",
                   "choose a smaller hidden width (the course uses 10 to 1024)")
    except MemoryBudgetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


class OutputFolderError(TinygradEduError, OSError):
    """An output folder that is a file, lies under a file, or cannot be written."""


def check_output_folder(text: str | os.PathLike) -> Path:
    """Check that ``text`` can be used as an output folder (without creating it); return it as a Path.

    Raises:
        OutputFolderError: it is a file, one of its parents is a file, or the nearest existing
            folder is not writable.
    """
    if not str(text).strip():
        raise OutputFolderError("must be a folder path, got an empty string")
    try:
        return _check_output_folder(Path(text).expanduser())
    except OutputFolderError:
        raise
    except OSError as error:  # "File name too long": Path.exists raises it
        raise OutputFolderError(_unusable_name(str(text), error)) from None


def _check_output_folder(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise OutputFolderError(f"{path} is a file, not a folder; choose another name or move the file away")
    existing = path
    while not existing.exists():  # the nearest ancestor that exists decides whether we can create the rest
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise OutputFolderError(f"cannot create {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputFolderError(f"cannot write into {existing}: permission denied; choose a folder you own")
    return path


def prepare_output_folder(path: str | os.PathLike) -> Path:
    """Check ``path`` as an output folder and create it (with its parents); return it as a Path."""
    path = check_output_folder(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputFolderError(f"cannot create {path}: {exc.strerror or exc}") from None
    return path

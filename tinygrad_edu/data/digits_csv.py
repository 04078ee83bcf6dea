"""Read digits stored as CSV, the layout of Kaggle's MNIST files.

One image per line: the label in the first column, then the 784 pixel values (0-255) of the 28x28
image row by row. A header line (``label,pixel0,...,pixel783`` or ``label,1x1,...``) is optional and
recognised because it is not numeric. Kaggle's ``test.csv`` (784 columns, no label) is read too,
with ``labels`` returned as ``None``.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path

import numpy as np

from tinygrad_edu.data.errors import DataFileError

PIXELS = 28 * 28


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_text(path: Path) -> str:
    """The file's text (UTF-8), or a :class:`DataFileError` that names the file and the problem."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise DataFileError(f"{path} is a folder, but a CSV file should be there; remove or rename it.") from None
    except PermissionError:
        raise DataFileError(f"{path}: permission denied; make the file readable (chmod +r).") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataFileError(
            f"{path}: not a text CSV file (byte 0x{raw[exc.start]:02X} on line {line} is not UTF-8). "
            "Is it a binary file (an IDX or .gz file renamed)?"
        ) from None


def _first_bad_row(text: str, n_columns: int, first_data_line: int) -> str | None:
    """Find the first data line whose column count or values are wrong; describe it, or None."""
    for line_number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if line_number < first_data_line or not row:
            continue
        if len(row) != n_columns:
            return f"line {line_number} has {len(row)} columns, expected {n_columns}"
        for column, value in enumerate(row, start=1):
            if not _is_number(value):
                return f"line {line_number}, column {column}: {value!r} is not a number"
    return None


def read_digits_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a digits CSV file.

    Args:
        path: the CSV file (label first, then 784 pixels; header line optional).

    Returns:
        ``(images, labels)``: images ``(N, 784)`` ``uint8``; labels ``(N,)`` ``int64``, or ``None``
        when the file has only the 784 pixel columns.

    Raises:
        DataFileError: empty file, a row with the wrong number of columns, a non-numeric value,
            a pixel outside 0..255 or a label that is not a whole number.
    """
    path = Path(path)
    text = _read_text(path)
    first_line = text.split("\n", 1)[0]
    first_row = next(csv.reader([first_line]), [])
    has_header = bool(first_row) and not all(_is_number(v) for v in first_row)
    n_columns = len(first_row)
    if n_columns not in (PIXELS, PIXELS + 1):
        raise DataFileError(
            f"{path}: line 1 has {n_columns} columns; a digits CSV has {PIXELS + 1} "
            f"(label, then {PIXELS} pixels) or {PIXELS} (pixels only). Is this an MNIST CSV file?"
        )
    first_data_line = 2 if has_header else 1
    try:
        with warnings.catch_warnings():  # an empty file gets our own error below, not NumPy's warning
            warnings.filterwarnings("ignore", message="loadtxt: input contained no data")
            table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float32, skiprows=first_data_line - 1,
                               ndmin=2)
    except ValueError as exc:
        problem = _first_bad_row(text, n_columns, first_data_line) or str(exc)
        raise DataFileError(f"{path}: {problem}. Fix or remove that line, or download the file again.") from None
    if table.shape[0] == 0:
        raise DataFileError(f"{path}: no data rows{' after the header' if has_header else ''}.")
    has_labels = n_columns == PIXELS + 1
    pixels = table[:, 1:] if has_labels else table
    bad = ~np.isfinite(pixels) | (pixels < 0) | (pixels > 255) | (pixels != np.round(pixels))
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise DataFileError(
            f"{path}: line {row + first_data_line}, column {column + 1 + has_labels}: pixel value "
            f"{pixels[row, column]:g} is not a whole number in 0..255."
        )
    labels = None
    if has_labels:
        raw_labels = table[:, 0]
        not_whole = np.flatnonzero(~np.isfinite(raw_labels) | (raw_labels != np.round(raw_labels)))
        if not_whole.size:
            row = not_whole[0]
            raise DataFileError(
                f"{path}: line {row + first_data_line}, column 1: label {raw_labels[row]:g} is not a whole number."
            )
        labels = raw_labels.astype(np.int64)
    return pixels.astype(np.uint8), labels


def write_digits_csv(
    path: str | os.PathLike, images: np.ndarray, labels: np.ndarray | None, header: bool = True
) -> Path:
    """Write images ``(N, 784)`` (0-255) and labels ``(N,)`` in the Kaggle layout; inverse of :func:`read_digits_csv`."""
    path = Path(path)
    images = np.asarray(images).reshape(len(images), -1).astype(np.int64)
    columns = [images] if labels is None else [np.asarray(labels, dtype=np.int64)[:, None], images]
    table = np.concatenate(columns, axis=1)
    names = ([] if labels is None else ["label"]) + [f"pixel{i}" for i in range(images.shape[1])]
    np.savetxt(path, table, fmt="%d", delimiter=",", header=",".join(names) if header else "", comments="")
    return path

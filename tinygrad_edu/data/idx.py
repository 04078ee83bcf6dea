"""Read and write IDX files, the format of the original MNIST distribution.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension, then the values in
row-major order, big-endian::

    magic = 0x00 0x00 <type code> <number of dimensions>
    0x00000803  ->  unsigned bytes, 3 dimensions (MNIST images: N x 28 x 28)
    0x00000801  ->  unsigned bytes, 1 dimension  (MNIST labels: N)

Files may be gzip-compressed (the ``.gz`` files the mirrors serve) or raw; the reader looks at the
first bytes, not at the file name.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from tinygrad_edu.data.errors import DataFileError

# IDX type code -> big-endian NumPy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes_or_explain(path: Path) -> bytes:
    """``path.read_bytes()``, with a :class:`DataFileError` naming the file when it cannot be read."""
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise DataFileError(f"{path} is a folder, but a data file should be there; remove or rename it.") from None
    except PermissionError:
        raise DataFileError(f"{path}: permission denied; make the file readable (chmod +r) or copy it "
                            "somewhere you can read it.") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror or exc}).") from None


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """Return the bytes of ``path``, decompressed if it is gzip (detected by its first two bytes).

    Raises:
        DataFileError: the file is gzip but truncated or corrupt.
    """
    path = Path(path)
    raw = read_bytes_or_explain(path)
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFileError(
            f"{path}: corrupt or truncated gzip data ({exc}). "
            "Delete the file and download it again (or gunzip a good copy next to it)."
        ) from None


def read_idx(path: str | os.PathLike, expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip or raw) into an array of its shape, in native byte order.

    Args:
        path: the file.
        expected_ndim: if given, the number of dimensions the file must declare
            (3 for MNIST images, 1 for labels), so that swapped files are caught.

    Returns:
        The array with the shape from the header (e.g. ``(60000, 28, 28)`` ``uint8``).

    Raises:
        DataFileError: wrong magic number, wrong number of dimensions, truncated data or extra bytes.
    """
    path = Path(path)
    raw = read_file_bytes(path)
    if len(raw) < 4:
        raise DataFileError(
            f"{path}: only {len(raw)} bytes long, too short for the 4-byte IDX magic number. "
            "The file is empty or truncated: delete it and download it again."
        )
    magic = int.from_bytes(raw[:4], "big")
    type_code, ndim = raw[2], raw[3]
    if raw[:2] != b"\x00\x00" or type_code not in IDX_DTYPES or ndim == 0:
        raise DataFileError(
            f"{path}: wrong magic number 0x{magic:08X}; not an IDX file. An IDX file starts with two zero "
            "bytes, a type code (0x08 = unsigned bytes) and the number of dimensions: 0x00000803 for "
            "MNIST images, 0x00000801 for MNIST labels. Check that this is one of the original MNIST files."
        )
    if expected_ndim is not None and ndim != expected_ndim:
        raise DataFileError(
            f"{path}: magic number 0x{magic:08X} declares {ndim} dimension(s) but {expected_ndim} were "
            f"expected ({'0x00000803 for images' if expected_ndim == 3 else '0x00000801 for labels'}). "
            "Are the images and labels files swapped?"
        )
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataFileError(
            f"{path}: truncated inside its header ({len(raw)} bytes, the header alone needs {header_size}). "
            "Delete it and download it again."
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = IDX_DTYPES[type_code]
    count = math.prod(shape)
    expected_bytes = count * dtype.itemsize
    actual_bytes = len(raw) - header_size
    if actual_bytes < expected_bytes:
        raise DataFileError(
            f"{path}: truncated: the header announces shape {tuple(shape)} = {expected_bytes} bytes of "
            f"data but the file holds only {actual_bytes}. Delete it and download it again."
        )
    if actual_bytes > expected_bytes:
        raise DataFileError(
            f"{path}: {actual_bytes - expected_bytes} unexpected bytes after the {expected_bytes} bytes of "
            f"data announced by the header (shape {tuple(shape)}). The file is corrupt or not an IDX file."
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header_size).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``); the inverse of :func:`read_idx`.

    Args:
        path: where to write.
        array: an array of a dtype IDX can hold (uint8, int8, int16, int32, float32, float64).

    Returns:
        The path written.
    """
    path = Path(path)
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes or array.ndim == 0:
        raise DataFileError(
            f"{path}: cannot write a {array.dtype} array of {array.ndim} dimension(s) as IDX; "
            "IDX holds uint8, int8, int16, int32, float32 or float64 arrays with at least one dimension."
        )
    header = bytes([0, 0, codes[native], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = array.astype(native.newbyteorder(">"), copy=False).tobytes()
    payload = header + body
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path

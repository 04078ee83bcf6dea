"""Remember the arrays decoded from data files, so that the next run loads them instead of decoding again.

Decompressing and checking MNIST's training files took 0.20 s of CPU on every run, reading the same arrays
back from an uncompressed ``.npz`` takes 0.04 s, hash of the files included (medians of 5, on the course's
2-core machine, shared); the CSV layout, parsed line by line, gains more.

* **Where**: the loader's ``<cache>/decoded/`` (see :func:`~tinygrad_edu.data.mnist.default_cache_dir`), never beside
  the data: a user's data folder (or a shared one) is only read.
* **Key**: a hash of the bytes of every source file, so an entry can never be served for a file that has
  changed, even one with the same size and modification time. Hashing ten megabytes is ten times cheaper
  than decompressing them.
* **Written atomically** (:func:`~tinygrad_edu.support.atomic.atomic_write`): a run killed while writing
  leaves no entry, never half of one. An entry that cannot be read is decoded again and rewritten.
* **Bounded**: an entry replaces the earlier entries of the same files (a file that changed leaves no
  stale copy behind), at most :data:`MAX_ENTRIES` entries are kept (the least recently used go first), and
  sources smaller than :data:`MIN_SOURCE_BYTES` are decoded every time (that takes milliseconds).

If the cache folder cannot be written, the arrays are decoded as before and nothing is remembered.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from tinygrad_edu.support.atomic import atomic_write, remove_stale_temporaries

FORMAT_VERSION = b"decoded-arrays-1"  # change it when what the decoders return changes
MIN_SOURCE_BYTES = 1_000_000
MAX_ENTRIES = 8
SUFFIX = ".npz"


def _sources_digest(sources: Sequence[Path]) -> str:
    """sha1 of the format version and each source's bytes (sha1: a fingerprint here, not a security check)."""
    digest = hashlib.sha1(FORMAT_VERSION, usedforsecurity=False)
    for source in sources:
        with open(source, "rb") as f:
            digest.update(hashlib.file_digest(f, "sha1").digest())
    return digest.hexdigest()


def _entry_prefix(kind: str, sources: Sequence[Path]) -> str:
    """The part of an entry's name that names its decoder and source files (where they are, not what they hold)."""
    where = "\0".join([kind, *(str(source.resolve()) for source in sources)])
    return hashlib.sha1(where.encode(), usedforsecurity=False).hexdigest()[:16]


def _read_entry(path: Path) -> tuple[np.ndarray, ...] | None:
    """Every array of an entry, in order, or None if it is missing or unreadable (then it is rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as entry:
            arrays = tuple(entry[f"array{i}"] for i in range(len(entry.files)))
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None
    with contextlib.suppress(OSError):  # a read-only cache still serves its entries
        os.utime(path)  # recently used: kept when older entries are evicted
    return arrays


def _write_entry(folder: Path, prefix: str, name: str, arrays: tuple[np.ndarray, ...]) -> None:
    """Write an entry atomically, then drop the same files' earlier entries and the least recently used."""
    with atomic_write(folder / name) as f:
        np.savez(f, **{f"array{i}": array for i, array in enumerate(arrays)})
    entries = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    stale = [p for p in entries if p.name.startswith(prefix) and p.name != name]
    fresh = [p for p in entries if p not in stale]
    for old in stale + fresh[MAX_ENTRIES:]:
        old.unlink(missing_ok=True)


def cached_decode(kind: str, sources: Sequence[str | os.PathLike], decode: Callable[[], tuple[np.ndarray, ...]],
                  folder: str | os.PathLike, *, min_bytes: int | None = None) -> tuple[np.ndarray, ...]:
    """``decode()``'s arrays for the files ``sources``, from the cache when these exact bytes were decoded before.

    Args:
        kind: what ``decode`` makes of the files (``"mnist-idx"``...), part of the key: two decoders of the
            same files never share an entry.
        sources: the files ``decode`` reads; their bytes are the key.
        decode: reads and checks the files, returns a tuple of arrays (raises on a bad file: nothing is cached).
        folder: where entries live (the loader passes ``<cache>/decoded``).
        min_bytes: sources smaller than this in total are decoded without the cache
            (default :data:`MIN_SOURCE_BYTES`).

    Returns:
        The arrays, read-only (several callers may share them).
    """
    sources = [Path(source) for source in sources]
    folder = Path(folder)
    try:
        if sum(source.stat().st_size for source in sources) < (MIN_SOURCE_BYTES if min_bytes is None else min_bytes):
            return _read_only(decode())
        prefix = _entry_prefix(kind, sources)
        name = f"{prefix}-{_sources_digest(sources)}{SUFFIX}"
    except OSError:  # a source that cannot be read: decode() says so in its own words
        return _read_only(decode())
    arrays = _read_entry(folder / name)
    if arrays is None:
        arrays = decode()
        try:
            remove_stale_temporaries(folder)  # what runs killed while writing left behind
            _write_entry(folder, prefix, name, arrays)
        except OSError:
            pass  # a read-only or full cache: decode again next time
    return _read_only(arrays)


def _read_only(arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """``arrays``, marked read-only: a caller that changes them in place must copy them first."""
    for array in arrays:
        array.flags.writeable = False
    return arrays

"""Write a file, or a whole folder of files, so that it is either complete or absent: never half-written.

:func:`atomic_write`: the bytes go to a temporary file in the destination's folder; only when the
``with`` block ends without an exception is the file flushed to disk and renamed over the destination
(``os.replace`` is atomic on one filesystem). Any exception, including Ctrl-C, deletes the temporary file.

:func:`atomic_folder`: a set of files that belong together (a checkpoint and its metrics) is written into
a temporary sibling folder, then swapped with the destination folder in one step, so after a crash at
any moment the destination holds either the old set or the new one, never a mix.

Temporary names carry the writer's process id (``.model.npz.1234.x7f2.part``); a later run removes the
ones whose process is gone (:func:`remove_stale_temporaries`), so ``kill -9`` leaves nothing behind for long.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary binary file beside ``path``; on success it replaces ``path``, on error it vanishes.

    >>> with atomic_write("model.npz") as f:   # doctest: +SKIP
    ...     f.write(data)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes it private (0600); give it normal permissions
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


_TEMP_PATTERN = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.(?:part|staging|previous)$")
# Earlier versions named temporary files without the process id: removed once they are an hour old.
_LEGACY_PATTERN = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.part$")
LEGACY_AGE_S = 3600


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else (or we cannot tell): leave its files alone
    return True


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def remove_stale_temporaries(folder: str | os.PathLike, names: Iterable[str] | None = None) -> list[Path]:
    """Delete the temporary files and folders of our own naming in ``folder`` whose writer process is gone.

    Only names written by :func:`atomic_write` / :func:`atomic_folder` are touched
    (``.<name>.<pid>.<random>.part|staging|previous``), and only for the destination ``names`` if given.
    Files of the older naming without a process id (``.<name>.<random>.part``) are removed once they
    are an hour old. A ``.previous`` folder whose destination is missing (a crash between the two renames of the
    fallback swap) is renamed back into place instead of deleted.

    Returns:
        The paths removed.
    """
    folder = Path(folder)
    wanted = None if names is None else set(names)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_PATTERN.match(entry.name)
        if match is None:
            legacy = _LEGACY_PATTERN.match(entry.name)
            if legacy and (wanted is None or legacy["name"] in wanted) and entry.is_file() \
                    and _older_than(entry, LEGACY_AGE_S):
                entry.unlink(missing_ok=True)
                removed.append(entry)
            continue
        if (wanted is not None and match["name"] not in wanted) or _process_alive(int(match["pid"])):
            continue
        destination = folder / match["name"]
        try:
            if entry.name.endswith(".previous") and not destination.exists():
                os.rename(entry, destination)
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except FileNotFoundError:
            continue
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported here."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this filesystem or kernel cannot exchange
        return False
    raise OSError(errno, os.strerror(errno), str(a), None, str(b))


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary sibling folder of ``path``; on success it takes ``path``'s place in one step.

    Whatever ``path`` held before is discarded once the new folder is in place, so callers write the
    complete set of files (and copy over anything they want to keep). On error the temporary folder is
    deleted and ``path`` is left untouched.

    >>> with atomic_folder("runs/mnist") as tmp:   # doctest: +SKIP
    ...     save(tmp / "model.npz"); write_metrics(tmp / "metrics.json")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, [path.name])
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".staging"))
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private (0700)
        for entry in staging.iterdir():  # flush every file before the swap makes them visible
            if entry.is_file():
                with open(entry, "rb") as f:
                    os.fsync(f.fileno())
        _fsync_folder(staging)
        if not path.exists():
            os.rename(staging, path)
        elif _exchange(staging, path):
            shutil.rmtree(staging)  # now holds the previous contents
        else:  # no atomic exchange here: two renames; remove_stale_temporaries repairs a crash in between
            previous = staging.with_name(f".{path.name}.{os.getpid()}.old.previous")
            os.rename(path, previous)
            os.rename(staging, path)
            shutil.rmtree(previous)
        _fsync_folder(path.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

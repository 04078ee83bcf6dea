"""Download a file from a list of mirrors, safely and within bounds.

Each mirror is tried in turn. The bytes go to a temporary file in the destination folder, the md5
checksum is computed while they arrive, and only a complete file with the right checksum is renamed
into place (an atomic ``os.replace``). A cut connection, a wrong checksum, Ctrl-C or any other error
deletes the temporary file: the cache never holds a partial or corrupt file.

Bounds, so that a broken server cannot hang a run or fill the disk:

* ``size``: a mirror that announces or sends more bytes than the file's known size is abandoned at once;
* ``deadline``: the whole download of one file, over every mirror, stops after this many seconds
  (a server trickling a byte every few seconds never trips the per-read ``timeout``);
* temporary files left by a process that was killed (``kill -9`` cannot be caught) carry its process id
  and are removed the next time the folder is used (:func:`tinygrad_edu.support.atomic.remove_stale_temporaries`).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tinygrad_edu.support.atomic import atomic_write, remove_stale_temporaries
from tinygrad_edu.data.errors import DownloadError

CHUNK_BYTES = 1 << 16
DEFAULT_DEADLINE = 600.0  # seconds for one file over all mirrors (MNIST's largest file is 9.9 MB)
DEADLINE_ENV_VAR = "TINYGRAD_EDU_DOWNLOAD_DEADLINE"
USER_AGENT = "tinygrad-edu (https://pypi.org/project/tinygrad-edu/)"


class _MirrorFailed(Exception):
    """One mirror did not deliver a good file; the next one is tried."""


def file_md5(path: str | os.PathLike) -> str:
    """The md5 hex digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _deadline_from_env() -> float:
    try:
        value = float(os.environ.get(DEADLINE_ENV_VAR, DEFAULT_DEADLINE))
    except ValueError:
        return DEFAULT_DEADLINE
    return value if value > 0 else DEFAULT_DEADLINE


def _fetch(url: str, dest: Path, md5: str | None, progress: bool, timeout: float, size: int | None,
           deadline_at: float, deadline: float) -> None:
    """Stream ``url`` into a temporary file beside ``dest``, check length and md5, then rename it to ``dest``."""
    from tqdm.auto import tqdm

    remaining = deadline_at - time.monotonic()
    if remaining <= 0:
        raise _MirrorFailed(f"not tried: the {deadline:g} s deadline for this file had passed")
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=min(timeout, remaining)) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if size is not None and total is not None and total != size:
                raise _MirrorFailed(f"the server announces {total} bytes, but the file has {size}")
            digest = hashlib.md5(usedforsecurity=False)
            received = 0
            with atomic_write(dest) as out, tqdm(
                total=total or size, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
                disable=not progress,
            ) as bar:
                # read1: return whatever has arrived, so a trickling server cannot hold us past the deadline
                while chunk := response.read1(CHUNK_BYTES):
                    received += len(chunk)
                    if size is not None and received > size:
                        raise _MirrorFailed(f"the server sent more than the file's {size} bytes; stopped there")
                    if time.monotonic() > deadline_at:
                        raise _MirrorFailed(
                            f"too slow: {received} of {size or total or '?'} bytes after the {deadline:g} s deadline"
                        )
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
                # raising inside the with block discards the temporary file
                if total is not None and received != total:
                    raise _MirrorFailed(f"connection closed after {received} of {total} bytes")
                if size is not None and received != size:
                    raise _MirrorFailed(f"connection closed after {received} of {size} bytes")
                if md5 is not None and digest.hexdigest() != md5.lower():
                    raise _MirrorFailed(f"checksum mismatch: got md5 {digest.hexdigest()}, expected {md5.lower()}")
    except http.client.IncompleteRead as exc:
        raise _MirrorFailed(f"connection closed after {len(exc.partial)} more bytes (incomplete read)") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise _MirrorFailed(str(exc) or type(exc).__name__) from None


def download(
    urls: Sequence[str],
    dest: str | os.PathLike,
    md5: str | None = None,
    *,
    progress: bool = True,
    timeout: float = 30.0,
    size: int | None = None,
    deadline: float | None = None,
) -> Path:
    """Download one file, trying ``urls`` in turn, into ``dest`` (created only if complete and correct).

    Args:
        urls: full URLs of the same file on different mirrors, tried in order.
        dest: the final path; its folder is created if needed.
        md5: the expected md5 hex digest, or None to skip the check.
        progress: show a tqdm progress bar (bytes received / Content-Length).
        timeout: seconds to wait for a mirror to connect or send data.
        size: the file's known size in bytes; a mirror sending more (or announcing another size) is abandoned.
        deadline: seconds for the whole download over all mirrors (default ``$TINYGRAD_EDU_DOWNLOAD_DEADLINE``
            or 600); a mirror still sending when it passes is abandoned.

    Returns:
        ``dest`` as a Path.

    Raises:
        DownloadError: every mirror failed; the message lists each URL with its reason.
    """
    dest = Path(dest)
    if dest.is_dir():
        raise DownloadError(f"{dest} is a folder, but the file {dest.name} should be there; remove or rename the folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest.parent, [dest.name])
    if deadline is None:
        deadline = _deadline_from_env()
    deadline_at = time.monotonic() + deadline
    failures = []
    for url in urls:
        try:
            _fetch(url, dest, md5, progress, timeout, size, deadline_at, deadline)
            return dest
        except _MirrorFailed as exc:
            failures.append(f"  {url}: {exc}")
    tried = "\n".join(failures) if failures else "  (no mirror URLs given)"
    raise DownloadError(f"could not download {dest.name}; every mirror failed:\n{tried}")

"""Download a file from a list of mirrors, safely.

Each mirror is tried in turn. The bytes go to a temporary file in the destination folder, the md5
checksum is computed while they arrive, and only a complete file with the right checksum is renamed
into place (an atomic ``os.replace``). A cut connection, a wrong checksum, Ctrl-C or any other error
deletes the temporary file: the cache never holds a partial or corrupt file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tinygrad_edu.atomic import atomic_write
from tinygrad_edu.data.errors import DownloadError

CHUNK_BYTES = 1 << 16
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


def _fetch(url: str, dest: Path, md5: str | None, progress: bool, timeout: float) -> None:
    """Stream ``url`` into a temporary file beside ``dest``, check length and md5, then rename it to ``dest``."""
    from tqdm.auto import tqdm

    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with atomic_write(dest) as out, urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            digest = hashlib.md5(usedforsecurity=False)
            received = 0
            with tqdm(
                total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name, disable=not progress
            ) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            # raising inside the with block discards the temporary file
            if total is not None and received != total:
                raise _MirrorFailed(f"connection closed after {received} of {total} bytes")
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
) -> Path:
    """Download one file, trying ``urls`` in turn, into ``dest`` (created only if complete and correct).

    Args:
        urls: full URLs of the same file on different mirrors, tried in order.
        dest: the final path; its folder is created if needed.
        md5: the expected md5 hex digest, or None to skip the check.
        progress: show a tqdm progress bar (bytes received / Content-Length).
        timeout: seconds to wait for a mirror to connect or send data.

    Returns:
        ``dest`` as a Path.

    Raises:
        DownloadError: every mirror failed; the message lists each URL with its reason.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            _fetch(url, dest, md5, progress, timeout)
            return dest
        except _MirrorFailed as exc:
            failures.append(f"  {url}: {exc}")
    tried = "\n".join(failures) if failures else "  (no mirror URLs given)"
    raise DownloadError(f"could not download {dest.name}; every mirror failed:\n{tried}")

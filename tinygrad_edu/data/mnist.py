"""MNIST: find it, download it if needed, read it, check it.

Where the files are looked for, in order:

1. the ``data_dir`` argument (``--data-dir`` on the command line);
2. the environment variable ``TINYGRAD_EDU_DATA``;
3. the platform cache folder: ``$XDG_CACHE_HOME/tinygrad_edu/mnist`` or ``~/.cache/tinygrad_edu/mnist``
   on Linux, ``~/Library/Caches/tinygrad_edu/mnist`` on macOS, ``%LOCALAPPDATA%\\tinygrad_edu\\Cache\\mnist``
   on Windows.

The folder may hold the four original IDX files (gzip or uncompressed) or the two CSV files
``mnist_train.csv`` / ``mnist_test.csv`` (Kaggle layout). If neither is there, the four IDX files are
downloaded from the mirrors in :data:`MNIST_MIRRORS` (override with ``TINYGRAD_EDU_MNIST_MIRRORS``, a
comma-separated list of base URLs), each checked against its md5 checksum and known size.

Two kinds of folder, checked differently:

* the cache folder (3. above) is managed by the loader: every file in it is checked against its md5
  before first use and downloaded again if it fails; the result is remembered (by size and modification
  time, in ``<cache>/verified.json``) so the files are not hashed again on every run;
* a folder the user names (1. or 2.) holds the user's data, possibly another data set in MNIST's format:
  it must be coherent (as many labels as images, 28x28 images, labels 0..9, at least one image), and when
  its contents are not the canonical MNIST the loader says so in one line and goes on.
"""

from __future__ import annotations

import functools
import os
import sys
import hashlib
import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from tinygrad_edu.data.batching import as_float_pixels
from tinygrad_edu.data.batching import standardize as standardize_images
from tinygrad_edu.data.decoded_cache import cached_decode
from tinygrad_edu.data.digits_csv import read_digits_csv
from tinygrad_edu.support.atomic import atomic_write, remove_stale_temporaries
from tinygrad_edu.data.download import download, file_md5
from tinygrad_edu.data.errors import DataFileError, DownloadError
from tinygrad_edu.data.idx import read_idx
from tinygrad_edu.errors import TinygradEduError, UsageError

DATA_ENV_VAR = "TINYGRAD_EDU_DATA"
MIRRORS_ENV_VAR = "TINYGRAD_EDU_MNIST_MIRRORS"

# Base URLs, tried in this order. Each serves the four files below under their original names.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# role -> (original file name, md5 of the gzip file)
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}
# role -> size in bytes of the gzip file (bounds each download)
MNIST_SIZES: dict[str, int] = {"train_images": 9912422, "train_labels": 28881, "test_images": 1648877,
                               "test_labels": 4542}
# role -> md5 of the uncompressed IDX file, which is also the md5 of the decoded contents written as IDX
# (see content_md5): the same fingerprint for the .gz, the gunzipped file and a CSV of the canonical data.
MNIST_CONTENT_MD5: dict[str, str] = {
    "train_images": "6bbc9ace898e44ae57da46a324031adb",
    "train_labels": "a25bea736e30d166cdddb491f175f624",
    "test_images": "2646ac647ad5339dbf082846283269ea",
    "test_labels": "27ae3e4e09519cfbb04c329615203637",
}
MNIST_COUNTS = {"train": 60_000, "test": 10_000}
MNIST_CSV_FILES: dict[str, str] = {"train": "mnist_train.csv", "test": "mnist_test.csv"}
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)


class MnistNotFoundError(TinygradEduError, FileNotFoundError):
    """MNIST is not in the data folder and downloading was disabled."""


@dataclass(repr=False)
class Mnist:
    """The MNIST data set: pixels as float32 in [0, 1] (or standardised, or uint8 as stored), labels as int64 in 0..9.

    Attributes:
        train_images: ``(60000, 784)`` float32 (``load_mnist(dtype=...)`` chooses), one flattened 28x28 image per row.
        train_labels: ``(60000,)`` int64.
        test_images: ``(10000, 784)``, as ``train_images``.
        test_labels: ``(10000,)`` int64.
        source: the folder the files were read from.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: Path

    def __repr__(self) -> str:
        return (
            f"Mnist(train={self.train_images.shape[0]} images, test={self.test_images.shape[0]} images, "
            f"pixels {self.train_images.dtype} in [{self.train_images.min():.3g}, {self.train_images.max():.3g}], "
            f"source={str(self.source)!r})"
        )


def default_cache_dir() -> Path:
    """The per-user cache folder of tinygrad_edu on this platform (not created)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "tinygrad_edu" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "tinygrad_edu"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tinygrad_edu"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The MNIST folder: ``data_dir`` if given, else ``$TINYGRAD_EDU_DATA``, else ``<cache>/mnist``.

    Raises:
        DataFileError: the folder named is a file.
    """
    if data_dir is not None:
        folder, named_by = Path(data_dir).expanduser(), "the data folder"
    elif os.environ.get(DATA_ENV_VAR):
        folder, named_by = Path(os.environ[DATA_ENV_VAR]).expanduser(), f"{DATA_ENV_VAR}={os.environ[DATA_ENV_VAR]}"
    else:
        return default_cache_dir() / "mnist"
    if folder.exists() and not folder.is_dir():
        raise DataFileError(f"{named_by}: {folder} is a file, not a folder; name the folder that holds the MNIST files.")
    return folder


def is_managed_cache(data_dir: str | os.PathLike | None = None) -> bool:
    """True when MNIST comes from the loader's own cache folder (no ``data_dir``, no ``$TINYGRAD_EDU_DATA``)."""
    return data_dir is None and not os.environ.get(DATA_ENV_VAR)


def mirrors_from_env() -> tuple[str, ...]:
    """The mirror list: ``$TINYGRAD_EDU_MNIST_MIRRORS`` (comma-separated base URLs) or :data:`MNIST_MIRRORS`."""
    value = os.environ.get(MIRRORS_ENV_VAR, "")
    mirrors = tuple(m.strip() for m in value.split(",") if m.strip())
    return mirrors or MNIST_MIRRORS


def _idx_candidates(gz_name: str) -> list[str]:
    """Names under which an IDX file may be stored: gzip, gunzipped, and Kaggle's dotted variant."""
    raw_name = gz_name.removesuffix(".gz")
    dotted = raw_name.replace("-idx", ".idx")  # train-images.idx3-ubyte
    return [gz_name, raw_name, dotted]


def find_idx_files(folder: Path) -> dict[str, Path | None]:
    """For each role of :data:`MNIST_FILES`, the file found in ``folder`` or None."""
    return {role: _find_file(folder, gz_name) for role, (gz_name, _) in MNIST_FILES.items()}


def _find_file(folder: Path, gz_name: str) -> Path | None:
    for name in _idx_candidates(gz_name):
        candidate = folder / name
        if candidate.is_file():
            return candidate
        if candidate.is_symlink():  # a link to nowhere (or a loop): not "missing", or we would try to download over it
            raise DataFileError(f"{candidate} is a broken symbolic link (to {os.readlink(candidate)}); point it at "
                                "the MNIST file, or remove it.")
        if candidate.exists():
            raise DataFileError(f"{candidate} is a {'folder' if candidate.is_dir() else 'special file'}, but the "
                                f"MNIST file {name} should be there; remove or rename it.")
    return None


def _help_text(folder: Path) -> str:
    needed = "\n".join(f"  {name}  (md5 {md5})" for name, md5 in MNIST_FILES.values())
    return (
        f"MNIST needs these four files (gzip as listed, or gunzipped):\n{needed}\n"
        f"Download them from one of {', '.join(MNIST_MIRRORS)} on a machine with internet, then either\n"
        f"  - put them in {folder}, or\n"
        f"  - put them in any folder and pass --data-dir FOLDER (tinygrad-edu train --data-dir FOLDER;"
        f" in Python load_mnist(data_dir=FOLDER)), or\n"
        f"  - export {DATA_ENV_VAR}=FOLDER.\n"
        f"A folder with {MNIST_CSV_FILES['train']} and {MNIST_CSV_FILES['test']} (label, then 784 pixels per line)"
        " works too."
    )


def download_mnist(
    folder: str | os.PathLike,
    mirrors: Sequence[str] | None = None,
    *,
    files: dict[str, tuple[str, str]] | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> dict[str, Path]:
    """Download the MNIST files that are missing from ``folder``, each md5-checked, atomically.

    Args:
        folder: where the files go (created if needed).
        mirrors: base URLs tried in turn (default: :func:`mirrors_from_env`).
        files: role -> (file name, md5); default :data:`MNIST_FILES`.
        progress: show a progress bar per file.
        timeout: seconds before a silent mirror is abandoned.

    Returns:
        role -> path of each file.

    Raises:
        DownloadError: a file could not be fetched from any mirror; the message says what failed
            and how to provide the files by hand.
    """
    folder = Path(folder)
    mirrors = tuple(mirrors) if mirrors is not None else mirrors_from_env()
    files = MNIST_FILES if files is None else files
    paths: dict[str, Path] = {}
    for role, (name, md5) in files.items():
        present = _find_file(folder, name)
        if present is not None:
            paths[role] = present
            continue
        urls = [base.rstrip("/") + "/" + name for base in mirrors]
        size = MNIST_SIZES.get(role) if MNIST_FILES.get(role) == (name, md5) else None
        try:
            paths[role] = download(urls, folder / name, md5, progress=progress, timeout=timeout, size=size)
            if md5:  # checked while it arrived: no need to hash it again
                remembered_md5(paths[role], "md5", lambda md5=md5: md5)
        except DownloadError as exc:
            raise DownloadError(f"{exc}\n\n{_help_text(folder)}") from None
    return paths


def _check_labels(labels: np.ndarray, path: Path) -> np.ndarray:
    bad = np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))
    if bad.size:
        raise DataFileError(
            f"{path}: label {labels[bad[0]]} at index {bad[0]} is not a digit 0..9 ({bad.size} bad labels). "
            "Is this an MNIST labels file?"
        )
    return labels.astype(np.int64, copy=False)


def _check_counts(n_images: int, n_labels: int, images_path: Path, labels_path: Path) -> None:
    if n_images != n_labels:
        raise DataFileError(
            f"{images_path} holds {n_images} images but {labels_path} holds {n_labels} labels; "
            "they must match one to one. Are the files from different sets (train vs t10k) or truncated?"
        )


def _check_not_empty(n_images: int, path: Path) -> None:
    if n_images == 0:
        raise DataFileError(f"{path}: holds 0 images; a data set needs at least one. Is the file truncated?")


@functools.lru_cache(maxsize=4)
def _read_idx_pair(images_path: Path, labels_path: Path, _stamp: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Read one images/labels pair as uint8 (N, 784) and int64 (N,); remembered per file version, in this
    process and on disk (:mod:`~tinygrad_edu.data.decoded_cache`)."""
    return cached_decode("mnist-idx", (images_path, labels_path), lambda: _decode_idx_pair(images_path, labels_path),
                         default_cache_dir() / "decoded")


def _decode_idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, expected_ndim=3)
    if images.shape[1:] != IMAGE_SHAPE or images.dtype != np.uint8:
        raise DataFileError(
            f"{images_path}: holds {images.dtype} images of shape {images.shape[1:]}, "
            f"MNIST images are uint8 of shape {IMAGE_SHAPE}."
        )
    labels = _check_labels(read_idx(labels_path, expected_ndim=1), labels_path)
    _check_counts(len(images), len(labels), images_path, labels_path)
    _check_not_empty(len(images), images_path)
    return images.reshape(len(images), -1), labels


def _stamp(*paths: Path) -> tuple:
    return tuple((str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)


def _read_csv_pair(path: Path) -> tuple[np.ndarray, np.ndarray]:
    return cached_decode("mnist-csv", (path,), lambda: _decode_csv_pair(path), default_cache_dir() / "decoded")


def _decode_csv_pair(path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_digits_csv(path)
    if labels is None:
        raise DataFileError(
            f"{path}: has 784 columns (pixels only, like Kaggle's unlabelled test.csv); training and "
            "evaluation need labels in the first column (785 columns)."
        )
    _check_not_empty(len(images), path)
    return images, _check_labels(labels, path)


# ----------------------------------------------------------------------------------------------------
# Verification: md5 of the cache's files (remembered), fingerprints of a user's folder
# ----------------------------------------------------------------------------------------------------
def _verified_path() -> Path:
    return default_cache_dir() / "verified.json"


def remembered_md5(path: Path, kind: str, compute: Callable[[], str]) -> str:
    """``compute()``'s md5 for ``path``, remembered by the file's size and modification time.

    A file is hashed once; later runs find the result in ``<cache>/verified.json`` as long as the file
    has not changed (same size, same mtime). If the cache folder cannot be written, nothing is remembered.
    """
    stat = path.stat()
    key, stamp = f"{kind}:{path.resolve()}", [stat.st_size, stat.st_mtime_ns]
    store_path = _verified_path()
    try:
        store = json.loads(store_path.read_text())
        if not isinstance(store, dict):
            store = {}
    except (OSError, ValueError):
        store = {}
    entry = store.get(key)
    if isinstance(entry, list) and len(entry) == 3 and entry[:2] == stamp:
        return str(entry[2])
    digest = compute()
    store[key] = [*stamp, digest]
    try:
        with atomic_write(store_path) as f:
            f.write(json.dumps(store, indent=1).encode())
    except OSError:
        pass  # a read-only cache: hash again next time
    return digest


def content_md5(array: np.ndarray) -> str:
    """md5 of ``array`` written as an uncompressed uint8 IDX file: images as ``(N, 28, 28)``, labels as ``(N,)``.

    For the canonical MNIST this equals the md5 of the gunzipped original file, whatever the format
    the data was read from (gzip, raw IDX or CSV).
    """
    array = np.asarray(array)
    if array.ndim == 2:
        array = array.reshape(len(array), *IMAGE_SHAPE)
    array = array.astype(np.uint8, copy=False)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    digest = hashlib.md5(header, usedforsecurity=False)
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def _verify_cache(folder: Path, paths: dict[str, Path], mirrors: Sequence[str] | None, progress: bool,
                  log: Callable[[str], None]) -> dict[str, Path]:
    """Check each cached file's md5 (remembered); delete and download again those that fail."""
    bad = []
    for role, path in paths.items():
        name, gz_md5 = MNIST_FILES[role]
        expected = gz_md5 if path.name == name else MNIST_CONTENT_MD5[role]
        actual = remembered_md5(path, "md5", lambda p=path: file_md5(p))
        if actual != expected:
            log(f"note: {path} in the cache failed its md5 check (got {actual}, expected {expected}); "
                "downloading it again")
            path.unlink()
            bad.append(role)
    if bad:
        fresh = download_mnist(folder, mirrors, files={role: MNIST_FILES[role] for role in bad}, progress=progress)
        paths = {**paths, **fresh}
    return paths


def _describe_difference(folder: Path, arrays: dict[str, np.ndarray], sources: dict[str, list[Path]]) -> str | None:
    """None if ``arrays`` are the canonical MNIST, else a short description of how they differ."""
    counts = {split: len(arrays[f"{split}_labels"]) for split in MNIST_COUNTS}
    if counts != MNIST_COUNTS:
        return (f"{counts['train']:,} training and {counts['test']:,} test images; MNIST has "
                f"{MNIST_COUNTS['train']:,} and {MNIST_COUNTS['test']:,}")
    fingerprints = {role: remembered_md5(sources[role][0], f"content-{role}", lambda a=array: content_md5(a))
                    for role, array in arrays.items()}
    different = [role for role, md5 in fingerprints.items() if md5 != MNIST_CONTENT_MD5[role]]
    if not different:
        return None
    if fingerprints["train_images"] == MNIST_CONTENT_MD5["test_images"]:
        return "its training images are MNIST's test images, so test accuracy will not measure generalisation"
    return f"its {', '.join(role.replace('_', ' ') for role in different)} differ from MNIST's"


def _print_note(line: str) -> None:
    print(line, file=sys.stderr)


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    standardize: bool = False,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
    log: Callable[[str], None] = _print_note,
    dtype: DTypeLike = np.float32,
) -> Mnist:
    """Load MNIST, downloading it into the data folder first if it is not there.

    Args:
        data_dir: the folder (default ``$TINYGRAD_EDU_DATA``, else the cache folder, see module doc).
        download: fetch missing files from the mirrors; if False, a missing file is an error.
        standardize: subtract the training set's mean pixel and divide by its standard deviation
            (both sets, same statistics) instead of leaving pixels in [0, 1].
        mirrors: base URLs to download from (default :func:`mirrors_from_env`).
        progress: show download progress bars.
        log: where one-line notes go (a cache file downloaded again, a folder that is not the canonical
            MNIST); default: standard error.
        dtype: the pixels' type: a float type (pixel / 255, in [0, 1]), or ``np.uint8`` for the bytes as
            stored (0..255), a quarter of float32's memory: ``tinygrad-edu train`` keeps them so and
            converts each batch (:func:`~tinygrad_edu.data.as_float_pixels`).

    Returns:
        :class:`Mnist` with pixels ``(N, 784)`` of ``dtype`` and int64 labels ``(N,)``.

    Raises:
        MnistNotFoundError: files missing and ``download`` is False.
        DownloadError: files missing and every mirror failed.
        DataFileError: a file is corrupt (wrong magic number, truncated, counts that disagree, bad CSV).
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f" and (dtype != np.uint8 or standardize):
        raise UsageError(f"load_mnist: dtype must be a float type{'' if standardize else ' or uint8'}"
                         f"{' with standardize=True' if standardize else ''}, got {dtype}")
    folder = resolve_data_dir(data_dir)
    managed = is_managed_cache(data_dir)
    if folder.is_dir():
        remove_stale_temporaries(folder, [name for name, _ in MNIST_FILES.values()])
    found = find_idx_files(folder)
    csv_paths = {split: folder / name for split, name in MNIST_CSV_FILES.items()}
    csv_present = {split: p.is_file() for split, p in csv_paths.items()}
    if all(found.values()):
        paths = found
    elif not any(found.values()) and any(csv_present.values()):
        missing_csv = [str(csv_paths[split]) for split, present in csv_present.items() if not present]
        if missing_csv:
            raise MnistNotFoundError(
                f"{', '.join(missing_csv)} is missing: a CSV data folder needs both {MNIST_CSV_FILES['train']} "
                f"and {MNIST_CSV_FILES['test']} (label, then 784 pixels per line)."
            )
        paths = None
    elif download:
        paths = download_mnist(folder, mirrors, progress=progress)
    else:
        missing = ", ".join(MNIST_FILES[role][0] for role, p in found.items() if p is None)
        raise MnistNotFoundError(f"MNIST files missing from {folder}: {missing}.\n\n{_help_text(folder)}")

    if paths is None:
        train_x, train_y = _read_csv_pair(csv_paths["train"])
        test_x, test_y = _read_csv_pair(csv_paths["test"])
        sources = {f"{split}_{kind}": [csv_paths[split]] for split in MNIST_COUNTS for kind in ("images", "labels")}
    else:
        if managed:
            paths = _verify_cache(folder, paths, mirrors, progress, log)
        train = paths["train_images"], paths["train_labels"]
        test = paths["test_images"], paths["test_labels"]
        train_x, train_y = _read_idx_pair(*train, _stamp(*train))
        test_x, test_y = _read_idx_pair(*test, _stamp(*test))
        sources = {role: [path] for role, path in paths.items()}
    if not managed or paths is None:
        arrays = {"train_images": train_x, "train_labels": train_y, "test_images": test_x, "test_labels": test_y}
        difference = _describe_difference(folder, arrays, sources)
        if difference:
            log(f"note: {folder} does not hold the canonical MNIST ({difference}); using it as given.")

    if dtype == np.uint8:  # copies: the arrays read are remembered for the next call
        train_images, test_images = train_x.copy(), test_x.copy()
    else:
        train_images, test_images = as_float_pixels(train_x, dtype), as_float_pixels(test_x, dtype)
    if standardize:
        train_images, test_images = standardize_images(train_images, test_images)
    return Mnist(train_images, train_y.copy(), test_images, test_y.copy(), folder)


__all__ = [
    "Mnist",
    "MnistNotFoundError",
    "DataFileError",
    "DownloadError",
    "load_mnist",
    "download_mnist",
    "default_cache_dir",
    "resolve_data_dir",
    "mirrors_from_env",
    "find_idx_files",
    "MNIST_FILES",
    "MNIST_MIRRORS",
]

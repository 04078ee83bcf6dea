"""Data sets for the course: MNIST readers (IDX and CSV), a safe downloader, and batching helpers.

>>> from tinygrad_edu.data import load_mnist, BatchIterator   # doctest: +SKIP
>>> mnist = load_mnist()                                      # doctest: +SKIP
>>> for images, labels in BatchIterator(mnist.train_images, mnist.train_labels, 128, seed=0):  # doctest: +SKIP
...     ...
"""

from tinygrad_edu.data.batching import BatchIterator, as_float_pixels, prefetch, random_shift, standardize, train_val_split
from tinygrad_edu.data.digits_csv import read_digits_csv, write_digits_csv
from tinygrad_edu.data.download import download, file_md5
from tinygrad_edu.data.errors import DataFileError, DownloadError
from tinygrad_edu.data.idx import read_idx, write_idx
from tinygrad_edu.functional import one_hot
from tinygrad_edu.data.mnist import (
    MNIST_FILES,
    MNIST_MIRRORS,
    Mnist,
    MnistNotFoundError,
    default_cache_dir,
    download_mnist,
    load_mnist,
    resolve_data_dir,
)

__all__ = [
    "BatchIterator",
    "as_float_pixels",
    "DataFileError",
    "DownloadError",
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "Mnist",
    "MnistNotFoundError",
    "default_cache_dir",
    "download",
    "download_mnist",
    "file_md5",
    "load_mnist",
    "one_hot",
    "prefetch",
    "random_shift",
    "read_digits_csv",
    "read_idx",
    "resolve_data_dir",
    "standardize",
    "train_val_split",
    "write_digits_csv",
    "write_idx",
]

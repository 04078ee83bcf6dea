"""IDX and CSV readers: round trips on small files written here, and every bad-file error."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from tinygrad_edu.data import (
    DataFileError,
    MnistNotFoundError,
    load_mnist,
    read_digits_csv,
    read_idx,
    write_digits_csv,
    write_idx,
)
from tinygrad_edu.data.mnist import MNIST_FILES

RNG = np.random.default_rng(0)


def small_mnist(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n random 28x28 uint8 images and their labels."""
    return RNG.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), RNG.integers(0, 10, size=n).astype(np.uint8)


def write_fake_mnist(folder, n_train=12, n_test=5, gz=True) -> dict[str, np.ndarray]:
    """Write the four MNIST files with random content into ``folder``; return the arrays written."""
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = small_mnist(n)
    for role, (name, _) in MNIST_FILES.items():
        write_idx(folder / (name if gz else name.removesuffix(".gz")), arrays[role])
    return arrays


# --- IDX -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, suffix, dtype):
    array = (RNG.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = write_idx(tmp_path / f"a.idx{suffix}", array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, array)


def test_idx_header_layout_matches_the_mnist_spec(tmp_path):
    """Magic 0x00000803 then big-endian dims, as in the original files (not only our own round trip)."""
    images, _ = small_mnist(2)
    raw = gzip.decompress(write_idx(tmp_path / "x.gz", images).read_bytes())
    assert struct.unpack(">IIII", raw[:16]) == (0x803, 2, 28, 28)
    assert raw[16:] == images.tobytes()


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "too short for the 4-byte IDX magic number"),
        (b"PK\x03\x04" + bytes(100), "wrong magic number 0x504B0304"),
        (b"\x00\x00\x07\x01" + bytes(100), "wrong magic number 0x00000701"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated inside its header"),
        (struct.pack(">IIII", 0x803, 2, 28, 28) + bytes(1000), "truncated: the header announces shape (2, 28, 28)"),
        (struct.pack(">II", 0x801, 3) + bytes(5), "2 unexpected bytes after"),
    ],
)
def test_idx_bad_files_name_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataFileError) as info:
        read_idx(path)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_idx_wrong_number_of_dimensions_suggests_swapped_files(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.zeros(4, np.uint8))
    with pytest.raises(DataFileError, match=r"declares 1 dimension\(s\) but 3 were expected.*swapped"):
        read_idx(path, expected_ndim=3)


def test_idx_truncated_gzip(tmp_path):
    whole = write_idx(tmp_path / "whole.gz", np.zeros((10, 28, 28), np.uint8)).read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataFileError, match=r"cut\.gz: corrupt or truncated gzip"):
        read_idx(path)


# --- load_mnist on small files ---------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_from_small_idx_files(tmp_path, gz):
    arrays = write_fake_mnist(tmp_path, gz=gz)
    data = load_mnist(tmp_path, download=False)
    assert data.train_images.shape == (12, 784) and data.test_images.shape == (5, 784)
    assert data.train_images.dtype == np.float32 and data.train_labels.dtype == np.int64
    np.testing.assert_array_equal(data.train_images, arrays["train_images"].reshape(12, 784) / np.float32(255))
    np.testing.assert_array_equal(data.test_labels, arrays["test_labels"])
    assert 0.0 <= data.train_images.min() and data.train_images.max() <= 1.0


def test_load_mnist_standardize_uses_training_statistics(tmp_path):
    write_fake_mnist(tmp_path)
    plain = load_mnist(tmp_path, download=False)
    std = load_mnist(tmp_path, download=False, standardize=True)
    mean, sd = plain.train_images.mean(dtype=np.float64), plain.train_images.std(dtype=np.float64)
    assert abs(std.train_images.mean()) < 1e-5 and abs(std.train_images.std() - 1) < 1e-5
    np.testing.assert_allclose(std.test_images, (plain.test_images - mean) / sd, rtol=1e-5, atol=1e-5)


def test_load_mnist_count_mismatch_names_both_files(tmp_path):
    write_fake_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte.gz holds 12 images but .*train-labels-idx1-ubyte.gz holds 11 labels"):
        load_mnist(tmp_path, download=False)


def test_load_mnist_label_outside_0_to_9(tmp_path):
    write_fake_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 12, 3, 4], np.uint8))
    with pytest.raises(DataFileError, match=r"t10k-labels-idx1-ubyte.gz: label 12 at index 2 is not a digit"):
        load_mnist(tmp_path, download=False)


def test_load_mnist_images_of_the_wrong_size(tmp_path):
    write_fake_mnist(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((5, 32, 32), np.uint8))
    with pytest.raises(DataFileError, match=r"shape \(32, 32\), MNIST images are uint8 of shape \(28, 28\)"):
        load_mnist(tmp_path, download=False)


def test_load_mnist_missing_files_without_download_says_what_to_do(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", small_mnist(3)[0])
    with pytest.raises(MnistNotFoundError) as info:
        load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert "train-labels-idx1-ubyte.gz" in message and "t10k-images-idx3-ubyte.gz" in message
    assert str(tmp_path) in message and "--data-dir" in message and "TINYGRAD_EDU_DATA" in message


def test_load_mnist_reads_the_env_var_folder(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path, n_train=7)
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path))
    assert load_mnist(download=False).train_images.shape == (7, 784)


# --- CSV -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [True, False])
def test_csv_round_trip(tmp_path, header):
    images, labels = small_mnist(6)
    path = write_digits_csv(tmp_path / "d.csv", images.reshape(6, -1), labels, header=header)
    assert path.read_text().startswith("label,pixel0,") == header
    back_images, back_labels = read_digits_csv(path)
    np.testing.assert_array_equal(back_images, images.reshape(6, -1))
    np.testing.assert_array_equal(back_labels, labels)


def test_csv_pixels_only_like_kaggle_test_csv(tmp_path):
    images, _ = small_mnist(3)
    path = write_digits_csv(tmp_path / "test.csv", images.reshape(3, -1), None)
    back, labels = read_digits_csv(path)
    assert labels is None
    np.testing.assert_array_equal(back, images.reshape(3, -1))


def test_csv_in_the_exact_kaggle_text_layout(tmp_path):
    row = ["0"] * 784
    row[5] = "255"
    path = tmp_path / "train.csv"
    path.write_text("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n7," + ",".join(row) + "\n\n")
    images, labels = read_digits_csv(path)
    assert labels.tolist() == [7] and images.shape == (1, 784) and images[0, 5] == 255 and images.sum() == 255


def _csv_lines(n: int) -> list[str]:
    images, labels = small_mnist(n)
    return [f"{y}," + ",".join(map(str, x)) for x, y in zip(images.reshape(n, -1), labels)]


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda lines: lines.__setitem__(2, lines[2].rsplit(",", 1)[0]), "line 3 has 784 columns, expected 785"),
        (lambda lines: lines.__setitem__(1, lines[1] + ",0"), "line 2 has 786 columns, expected 785"),
        (lambda lines: lines.__setitem__(3, lines[3].replace(",", ",abc,", 1).rsplit(",", 1)[0]),
         "line 4, column 2: 'abc' is not a number"),
        (lambda lines: lines.__setitem__(0, "3," + "300," + lines[0].split(",", 2)[2]),
         "line 1, column 2: pixel value 300 is not a whole number in 0..255"),
        (lambda lines: lines.__setitem__(1, "2.5," + lines[1].split(",", 1)[1]), "line 2, column 1: label 2.5"),
        (lambda lines: lines.__setitem__(slice(None), ["1,2,3"]), "line 1 has 3 columns"),
    ],
)
def test_csv_bad_rows_name_file_line_and_problem(tmp_path, mutate, problem):
    lines = _csv_lines(5)
    mutate(lines)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFileError) as info:
        read_digits_csv(path)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_csv_header_only(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n")
    with pytest.raises(DataFileError, match="no data rows after the header"):
        read_digits_csv(path)


def test_load_mnist_from_csv_folder(tmp_path):
    for name, n in (("mnist_train.csv", 8), ("mnist_test.csv", 4)):
        images, labels = small_mnist(n)
        write_digits_csv(tmp_path / name, images.reshape(n, -1), labels)
    data = load_mnist(tmp_path, download=False)
    assert data.train_images.shape == (8, 784) and data.test_labels.shape == (4,)
    assert data.train_images.dtype == np.float32 and data.train_images.max() <= 1.0


def test_load_mnist_csv_without_labels_is_refused(tmp_path):
    for name in ("mnist_train.csv", "mnist_test.csv"):
        write_digits_csv(tmp_path / name, small_mnist(2)[0].reshape(2, -1), None)
    with pytest.raises(DataFileError, match="need labels in the first column"):
        load_mnist(tmp_path, download=False)


# --- the real files --------------------------------------------------------------------------------


def test_real_mnist_shapes_and_known_labels(mnist):
    assert mnist.train_images.shape == (60000, 784) and mnist.test_images.shape == (10000, 784)
    assert mnist.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # the well-known first labels
    assert mnist.test_labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(mnist.train_labels).tolist()[:2] == [5923, 6742]
    assert abs(mnist.train_images.mean() - 0.1307) < 1e-3 and abs(mnist.train_images.std() - 0.3081) < 1e-3


def test_mnist_as_bytes_is_the_files_pixels_and_converts_to_the_float_set(mnist, mnist_dir):
    from tinygrad_edu.data import as_float_pixels
    from tinygrad_edu.errors import UsageError

    raw = load_mnist(mnist_dir, download=False, dtype=np.uint8)
    assert raw.train_images.dtype == np.uint8 and raw.train_images.shape == (60000, 784)
    assert raw.train_images.max() == 255 and raw.train_images.min() == 0
    np.testing.assert_array_equal(as_float_pixels(raw.train_images), mnist.train_images)
    np.testing.assert_array_equal(as_float_pixels(raw.test_images), mnist.test_images)
    raw.train_images[0] = 7  # a copy: the arrays remembered for the next load are not changed
    assert (load_mnist(mnist_dir, download=False, dtype=np.uint8).train_images[0] != 7).any()
    for bad in (dict(dtype=np.int32), dict(dtype=np.uint8, standardize=True)):
        with pytest.raises(UsageError, match="load_mnist: dtype must be a float type"):
            load_mnist(mnist_dir, download=False, **bad)

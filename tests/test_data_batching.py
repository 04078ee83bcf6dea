"""one_hot, the seeded validation split, standardisation, the seeded shuffling batch iterator, cache folders."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu.data import (
    BatchIterator,
    as_float_pixels,
    default_cache_dir,
    one_hot,
    prefetch,
    random_shift,
    resolve_data_dir,
    standardize,
    train_val_split,
)
from tinygrad_edu.errors import ShapeError

X = np.arange(50, dtype=np.float32).reshape(25, 2)
Y = np.arange(25)


def test_one_hot():
    encoded = one_hot(np.array([2, 0, 9]), 10)
    assert encoded.dtype == np.float32 and encoded.shape == (3, 10)
    assert encoded.sum(axis=1).tolist() == [1, 1, 1] and encoded.argmax(axis=1).tolist() == [2, 0, 9]


@pytest.mark.parametrize("labels, error", [(np.array([0, 10]), ValueError), (np.array([[1]]), ShapeError),
                                           (np.array([0.5]), TypeError)])
def test_one_hot_rejects_bad_labels(labels, error):
    with pytest.raises(error, match="one_hot"):
        one_hot(labels, 10)


def test_split_is_seeded_disjoint_and_complete():
    xt, yt, xv, yv = train_val_split(X, Y, val_size=5, seed=3)
    assert len(yv) == 5 and len(yt) == 20
    assert sorted(np.concatenate([yt, yv]).tolist()) == Y.tolist()
    np.testing.assert_array_equal(xt[:, 0], yt * 2)  # images stay paired with their labels
    assert train_val_split(X, Y, 5, seed=3)[3].tolist() == yv.tolist()
    assert train_val_split(X, Y, 5, seed=4)[3].tolist() != yv.tolist()
    assert len(train_val_split(X, Y, 0.2)[3]) == 5


def test_split_rejects_mismatched_or_too_big():
    with pytest.raises(ShapeError, match="25 images but 24 labels"):
        train_val_split(X, Y[:-1])
    with pytest.raises(ValueError, match="val_size=25"):
        train_val_split(X, Y, 25)


def test_standardize_with_training_statistics():
    train, test = standardize(X, X[:3] + 1)
    mean, std = X.mean(), X.std()
    assert abs(train.mean()) < 1e-6 and abs(train.std() - 1) < 1e-6
    np.testing.assert_allclose(test, (X[:3] + 1 - mean) / std, rtol=1e-6)


def test_batches_cover_each_example_once_per_epoch_in_a_new_order():
    batches = BatchIterator(X, Y, batch_size=7, seed=0)
    assert len(batches) == 4
    epochs = [[yb for _, yb in batches] for _ in range(2)]
    for epoch in epochs:
        assert [len(b) for b in epoch] == [7, 7, 7, 4]
        assert sorted(np.concatenate(epoch).tolist()) == Y.tolist()
    assert np.concatenate(epochs[0]).tolist() != np.concatenate(epochs[1]).tolist()
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb * 2)


def test_batches_same_seed_same_order():
    def order(seed):
        it = BatchIterator(X, Y, 4, seed=seed)
        return [np.concatenate([yb for _, yb in it]).tolist() for _ in range(3)]

    assert order(5) == order(5) and order(5) != order(6)


def test_batches_options():
    assert len(BatchIterator(X, Y, 7, drop_last=True)) == 3
    assert [yb.tolist() for _, yb in BatchIterator(X, Y, 10, shuffle=False)][2] == list(range(20, 25))
    full = list(BatchIterator(X, Y, None))
    assert len(full) == 1 and full[0][0] is X
    with pytest.raises(ValueError, match="positive int or None"):
        BatchIterator(X, Y, 0)


def test_cache_dir_and_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "tinygrad_edu"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "tinygrad_edu"
    monkeypatch.setattr("sys.platform", "darwin")
    assert default_cache_dir() == Path.home() / "Library" / "Caches" / "tinygrad_edu"
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))
    assert default_cache_dir() == tmp_path / "tinygrad_edu" / "Cache"

    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("TINYGRAD_EDU_DATA")
    assert resolve_data_dir() == tmp_path / "tinygrad_edu" / "Cache" / "mnist"


def test_random_shift_moves_each_image_by_at_most_one_pixel():
    rng = np.random.default_rng(0)
    images = np.zeros((200, 784), np.float32)
    images[:, 14 * 28 + 14] = 1  # one lit pixel in the middle
    shifted = random_shift(images, 1, rng)
    rows, cols = np.divmod(shifted.argmax(axis=1), 28)
    assert shifted.shape == images.shape and shifted.dtype == np.float32 and (shifted.sum(axis=1) == 1).all()
    assert set(rows.tolist()) == {13, 14, 15} and set(cols.tolist()) == {13, 14, 15}  # all 9 offsets occur
    np.testing.assert_array_equal(random_shift(images, 1, np.random.default_rng(0)), shifted)  # seeded
    assert random_shift(images, 0, rng) is images


def test_as_float_pixels_divides_bytes_by_255_and_leaves_floats_alone():
    pixels = np.array([[0, 1, 128, 255]], dtype=np.uint8)
    converted = as_float_pixels(pixels)
    assert converted.dtype == np.float32
    np.testing.assert_array_equal(converted, np.array([[0, 1 / 255, 128 / 255, 1]], dtype=np.float32))
    assert as_float_pixels(pixels, np.float64).dtype == np.float64
    assert as_float_pixels(converted) is converted
    with pytest.raises(TypeError, match="as_float_pixels: expected uint8 or float pixels, got int16"):
        as_float_pixels(pixels.astype(np.int16))


def test_shifting_bytes_then_converting_equals_converting_then_shifting():
    """What train does (shift the uint8 batch, then divide) gives the numbers of dividing the whole set first."""
    images = np.random.default_rng(1).integers(0, 256, (50, 784), dtype=np.uint8)
    as_bytes = as_float_pixels(random_shift(images, 2, np.random.default_rng(7)))
    as_floats = random_shift(as_float_pixels(images), 2, np.random.default_rng(7))
    np.testing.assert_array_equal(as_bytes, as_floats)


def test_prefetch_yields_every_item_in_order_made_in_another_thread():
    made_in = []

    def items():
        for i in range(20):
            made_in.append(threading.current_thread().name)
            yield i

    assert list(prefetch(items())) == list(range(20))
    assert set(made_in) == {"prefetch"}
    assert list(prefetch([])) == []


def test_prefetch_raises_an_error_of_the_maker_at_its_place():
    def items():
        yield 1
        raise ValueError("bad batch 2")

    got = []
    with pytest.raises(ValueError, match="bad batch 2"):
        for item in prefetch(items()):
            got.append(item)
    assert got == [1]


def test_prefetch_stops_its_thread_when_the_loop_leaves_early():
    made = []

    def endless():
        i = 0
        while True:
            made.append(i)
            yield i
            i += 1

    before = threading.active_count()
    batches = prefetch(endless(), depth=2)
    for item in batches:
        if item == 3:
            break
    batches.close()  # what leaving a for loop over a generator does once it is no longer referenced
    assert threading.active_count() == before
    assert len(made) <= 3 + 1 + 2 + 1  # up to the item in hand, the queue, and the one being made

"""The cache of decoded data files: a second read comes from it, a changed file is decoded again, entries are
bounded, and a run killed while writing one leaves no half-written entry."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu.data import DataFileError, load_mnist, read_idx, write_idx
from tinygrad_edu.data import decoded_cache
from tinygrad_edu.data.decoded_cache import MAX_ENTRIES, cached_decode
from tests.test_data_files import write_fake_mnist


class CountingDecoder:
    """Reads IDX files like the loader does, and counts how often it had to."""

    def __init__(self, *paths: Path) -> None:
        self.paths, self.calls = paths, 0

    def __call__(self) -> tuple[np.ndarray, ...]:
        self.calls += 1
        return tuple(read_idx(path) for path in self.paths)


def idx_pair(folder: Path, seed: int = 0, n: int = 20) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    images = write_idx(folder / "images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    labels = write_idx(folder / "labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    return images, labels


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.npz")) if folder.is_dir() else []


def test_the_second_read_comes_from_the_cache(tmp_path):
    sources = idx_pair(tmp_path / "data")
    decode, cache = CountingDecoder(*sources), tmp_path / "cache"
    first = cached_decode("idx", sources, decode, cache, min_bytes=0)
    second = cached_decode("idx", sources, decode, cache, min_bytes=0)
    assert decode.calls == 1 and len(entries(cache)) == 1
    for cached, direct in zip(second, (read_idx(sources[0]), read_idx(sources[1]))):
        np.testing.assert_array_equal(cached, direct)
        assert cached.dtype == direct.dtype and cached.shape == direct.shape
    assert not any(array.flags.writeable for array in (*first, *second))  # shared arrays: read-only
    assert sorted(p.name for p in sources[0].parent.iterdir()) == sorted(p.name for p in sources)  # data folder untouched


def test_a_changed_file_is_decoded_again_even_with_the_same_size_and_time(tmp_path):
    images_path, labels_path = idx_pair(tmp_path / "data")
    decode, cache = CountingDecoder(images_path, labels_path), tmp_path / "cache"
    before = cached_decode("idx", (images_path, labels_path), decode, cache, min_bytes=0)
    stat = images_path.stat()
    changed = read_idx(images_path).copy()
    changed[3, 10, 10] ^= 0xFF  # one pixel: same size, and the time is put back below
    write_idx(images_path, changed)
    os.utime(images_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert images_path.stat().st_size == stat.st_size and images_path.stat().st_mtime_ns == stat.st_mtime_ns
    after = cached_decode("idx", (images_path, labels_path), decode, cache, min_bytes=0)
    assert decode.calls == 2
    np.testing.assert_array_equal(after[0], changed)
    assert after[0][3, 10, 10] != before[0][3, 10, 10]
    assert len(entries(cache)) == 1  # the stale entry of these files was replaced, not kept beside


def test_two_decoders_of_the_same_files_do_not_share_an_entry(tmp_path):
    sources = idx_pair(tmp_path / "data")
    cache = tmp_path / "cache"
    cached_decode("idx", sources, CountingDecoder(*sources), cache, min_bytes=0)
    other = cached_decode("first-only", sources, CountingDecoder(sources[0]), cache, min_bytes=0)
    assert len(other) == 1 and len(entries(cache)) == 2


def test_small_files_are_decoded_every_time_and_not_stored(tmp_path):
    sources = idx_pair(tmp_path / "data")  # a few kilobytes, under MIN_SOURCE_BYTES
    decode, cache = CountingDecoder(*sources), tmp_path / "cache"
    for _ in range(2):
        cached_decode("idx", sources, decode, cache)
    assert decode.calls == 2 and not cache.exists()


def test_an_unreadable_entry_is_decoded_again_and_rewritten(tmp_path):
    sources = idx_pair(tmp_path / "data")
    decode, cache = CountingDecoder(*sources), tmp_path / "cache"
    cached_decode("idx", sources, decode, cache, min_bytes=0)
    (entry,) = entries(cache)
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    arrays = cached_decode("idx", sources, decode, cache, min_bytes=0)
    assert decode.calls == 2
    np.testing.assert_array_equal(arrays[0], read_idx(sources[0]))
    assert cached_decode("idx", sources, decode, cache, min_bytes=0) and decode.calls == 2  # whole again


def test_a_failing_decode_stores_nothing(tmp_path):
    sources = idx_pair(tmp_path / "data")
    cache = tmp_path / "cache"

    def bad_file() -> tuple[np.ndarray, ...]:
        raise DataFileError("labels-idx1-ubyte: label 12 at index 0 is not a digit 0..9")

    with pytest.raises(DataFileError, match="label 12"):
        cached_decode("idx", sources, bad_file, cache, min_bytes=0)
    assert entries(cache) == []


def test_a_cache_that_cannot_be_written_still_gives_the_arrays(tmp_path):
    sources = idx_pair(tmp_path / "data")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    decode = CountingDecoder(*sources)
    arrays = cached_decode("idx", sources, decode, blocked / "decoded", min_bytes=0)
    np.testing.assert_array_equal(arrays[1], read_idx(sources[1]))
    assert blocked.read_text().startswith("a file")


def test_at_most_max_entries_are_kept_and_the_least_recently_used_go_first(tmp_path):
    cache = tmp_path / "cache"
    pairs = [idx_pair(tmp_path / f"data{i}", seed=i) for i in range(MAX_ENTRIES + 2)]
    for i, sources in enumerate(pairs[:MAX_ENTRIES]):
        cached_decode("idx", sources, CountingDecoder(*sources), cache, min_bytes=0)
        entry = max(entries(cache), key=lambda p: p.stat().st_mtime_ns)  # the one just written
        os.utime(entry, ns=(10**9 * i, 10**9 * i))  # entry i last used i seconds after 1970
    first = CountingDecoder(*pairs[0])
    cached_decode("idx", pairs[0], first, cache, min_bytes=0)  # the oldest, used again now
    for sources in pairs[MAX_ENTRIES:]:
        cached_decode("idx", sources, CountingDecoder(*sources), cache, min_bytes=0)
    assert len(entries(cache)) == MAX_ENTRIES
    again = {i: CountingDecoder(*pairs[i]) for i in (0, 3, 1, 2)}  # hits first: a miss writes and evicts
    for i, decode in again.items():
        cached_decode("idx", pairs[i], decode, cache, min_bytes=0)
    assert first.calls == 0 and again[0].calls == 0 and again[3].calls == 0  # used recently: kept
    assert again[1].calls == 1 and again[2].calls == 1  # the two least recently used went


KILLED_WRITER = """
import sys
import numpy as np
from tinygrad_edu.data.decoded_cache import cached_decode

def decode():
    print("decoded", flush=True)
    return (np.arange(5_000_000, dtype=np.int32), np.ones(5, np.int64))

cached_decode("kill-test", [sys.argv[1]], decode, sys.argv[2], min_bytes=0)
print("written", flush=True)
"""


def test_killed_while_writing_an_entry_leaves_none_or_a_whole_one(tmp_path):
    source, cache = tmp_path / "source.bin", tmp_path / "cache"
    source.write_bytes(b"the bytes that key the entry")
    command = [sys.executable, "-c", KILLED_WRITER, str(source), str(cache)]

    def start() -> tuple[subprocess.Popen, float]:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "decoded"
        return process, time.monotonic()

    process, decoded_at = start()
    assert process.stdout.readline().strip() == "written"
    writing_s = time.monotonic() - decoded_at
    process.wait(timeout=60)
    rng, outcomes = random.Random(0), set()
    for _ in range(4):
        for entry in entries(cache):
            entry.unlink()
        process, _ = start()
        time.sleep(rng.uniform(0, 1.2 * writing_s))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        for entry in entries(cache):  # whatever is there under an entry's name is complete
            with np.load(entry) as arrays:
                assert arrays["array0"].shape == (5_000_000,) and arrays["array0"][-1] == 4_999_999
        outcomes.add(len(entries(cache)))
    finished = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0 and "written" in finished.stdout
    assert [p.name for p in cache.iterdir() if p.suffix != ".npz"] == []  # temporaries of killed runs removed
    print(f"kills left {sorted(outcomes)} entries; writing took {writing_s:.2f} s")


def test_load_mnist_remembers_decoded_files_outside_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(decoded_cache, "MIN_SOURCE_BYTES", 0)  # the small files of this test are cached too
    data = tmp_path / "data"
    data.mkdir()
    write_fake_mnist(data)
    files = sorted(p.name for p in data.iterdir())
    first = load_mnist(data, download=False)
    assert len(entries(tmp_path / "cache" / "tinygrad_edu" / "decoded")) == 2  # the train pair and the test pair
    arrays = write_fake_mnist(data)  # new contents under the same names
    for path in data.iterdir():
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    second = load_mnist(data, download=False)
    np.testing.assert_array_equal(second.test_labels, arrays["test_labels"])
    assert not np.array_equal(first.train_images, second.train_images)
    assert len(entries(tmp_path / "cache" / "tinygrad_edu" / "decoded")) == 2
    assert sorted(p.name for p in data.iterdir()) == files

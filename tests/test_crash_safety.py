"""No result is ever lost: ``kill -9`` at any moment, a diverging run, an interrupted download.

The kill loop is bounded in count and time (``KILLS`` kills, no more started after ``KILL_BUDGET_S`` seconds
once ``MIN_KILLS`` are done, so a slow machine still does them); set ``TINYGRAD_EDU_KILLS=200`` to run a longer
one by hand. Everything runs on a small MNIST-format folder
and on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.test_bad_usage import write_small_mnist
from tinygrad_edu.training.checkpoint import load_checkpoint
from tinygrad_edu.training.loop import OUTPUT_FILES

KILLS = int(os.environ.get("TINYGRAD_EDU_KILLS", "4"))
KILL_BUDGET_S = float(os.environ.get("TINYGRAD_EDU_KILL_BUDGET", "25"))
MIN_KILLS = min(KILLS, 3)
TRAIN = ["train", "--hidden", "8", "--epochs", "1", "--val-size", "100", "--no-progress"]


def cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tinygrad_edu", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


def snapshot(folder: Path) -> dict[str, str]:
    """name -> md5 of every entry in ``folder`` (empty if it does not exist)."""
    if not folder.is_dir():
        return {}
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def complete_run_seed(folder: Path) -> int:
    """Check that ``folder`` holds one run's complete, mutually consistent outputs; return that run's seed."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(OUTPUT_FILES)
    params, meta = load_checkpoint(folder / "model.npz")
    metrics = json.loads((folder / "metrics.json").read_text())
    assert meta["config"] == metrics["config"] and meta["epochs"] == metrics["epochs"]
    csv_rows = (folder / "metrics.csv").read_text().splitlines()
    assert len(csv_rows) == 1 + len(metrics["epochs"]) and csv_rows[0].startswith("epoch,")
    for png in ("curves.png", "predictions.png", "confusion.png", "weights.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (folder / png).stat().st_size > 1000
    return metrics["config"]["seed"]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    return write_small_mnist(tmp_path_factory.mktemp("small-mnist") / "mnist", n_train=600, n_test=100)


def _start_and_wait_for_writing(args: list[str], env: dict) -> tuple[subprocess.Popen, float]:
    """Start a training run; return it once it prints its test accuracy (the outputs are written next)."""
    process = cli(*args, env=env)
    start = time.monotonic()
    for line in process.stdout:
        if line.startswith("test accuracy:"):
            break
    return process, time.monotonic() - start


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_old_or_new_outputs(small_data, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    out = tmp_path / "runs" / "run"
    common = [*TRAIN, "--data-dir", str(small_data), "--out", str(out)]
    first, until_writing_s = _start_and_wait_for_writing([*common, "--seed", "0"], env)
    writing_start = time.monotonic()
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    writing_s = time.monotonic() - writing_start
    assert complete_run_seed(out) == 0
    previous, rng = snapshot(out), random.Random(0)
    kills = consistent = replaced = 0
    budget_end = time.monotonic() + KILL_BUDGET_S
    for seed in range(1, KILLS + 1):
        if kills >= MIN_KILLS and time.monotonic() > budget_end:
            break
        if seed % 3 == 1:  # a third of the kills at any moment of the run
            process = cli(*common, "--seed", str(seed), env=env)
            time.sleep(rng.uniform(0, until_writing_s + writing_s))
        else:  # the others while the outputs are being written and swapped in
            process, _ = _start_and_wait_for_writing([*common, "--seed", str(seed)], env)
            time.sleep(rng.uniform(0, 1.2 * writing_s))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        kills += 1
        now = snapshot(out)
        if now == previous:
            consistent += 1
        else:
            assert complete_run_seed(out) == seed, f"kill {kills}: a mix of runs in {out}: {sorted(now)}"
            consistent += 1
            replaced += 1
            previous = now
    print(f"kill -9 loop: {kills} kills, {consistent} consistent ({kills - replaced} kept the previous run, "
          f"{replaced} the new one); writing takes {writing_s:.2f} s of a {until_writing_s + writing_s:.2f} s run")
    assert kills >= MIN_KILLS and consistent == kills
    # the next start removes what the killed runs left beside --out
    last = cli(*common, "--seed", "99", env=env)
    assert last.wait(timeout=120) == 0
    assert complete_run_seed(out) == 99
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]


def test_a_run_whose_loss_becomes_nan_stops_and_leaves_the_outputs(small_data, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = tmp_path / "run"
    ok = cli(*TRAIN, "--data-dir", str(small_data), "--out", str(out), env=env)
    assert ok.wait(timeout=120) == 0
    before = snapshot(out)
    diverging = cli(*TRAIN, "--data-dir", str(small_data), "--out", str(out), "--optimizer", "sgd", "--lr", "1e30",
                    env=env)
    stdout, stderr = diverging.communicate(timeout=120)
    assert diverging.returncode == 1 and "Traceback" not in stderr
    assert "the loss became nan at epoch 1, step" in stderr and "smaller learning rate" in stderr, stderr
    assert f"{out} is as it was" in stderr
    assert snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir() if p.name != "cache") == ["run"]


# ---------------------------------------------------------------------------------------------------------
# Downloads: a trickling server, an endless server, interrupted downloads, a wrong file in the cache
# ---------------------------------------------------------------------------------------------------------
class BadServer(http.server.BaseHTTPRequestHandler):
    """/trickle/NAME: announces ``size`` bytes, sends one every ``trickle_s`` (/drip/NAME: the same, unannounced);
    /endless/NAME: bytes without end;
    /liar/NAME: announces 10 GB; /good/NAME: ``files[NAME]``."""

    files: dict[str, bytes] = {}
    size = 300_000
    trickle_s = 0.2

    def do_GET(self) -> None:  # noqa: N802
        _, mode, name = self.path.split("/", 2)
        try:
            if mode == "good" and name in self.files:
                self.send_response(200)
                self.send_header("Content-Length", str(len(self.files[name])))
                self.end_headers()
                self.wfile.write(self.files[name])
            elif mode in ("trickle", "drip"):  # drip: the same without a Content-Length
                self.send_response(200)
                if mode == "trickle":
                    self.send_header("Content-Length", str(self.size))
                self.end_headers()
                for _ in range(self.size):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(self.trickle_s)
            elif mode == "endless":
                self.send_response(200)
                self.end_headers()
                chunk = b"\0" * 65536
                while True:
                    self.wfile.write(chunk)
            elif mode == "liar":
                self.send_response(200)
                self.send_header("Content-Length", str(10 * 10**9))
                self.end_headers()
                self.wfile.write(b"\0" * 1000)
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def bad_server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BadServer)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_trickling_server_is_abandoned_at_the_deadline(bad_server, tmp_path):
    from tinygrad_edu.data import DownloadError, download

    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"too slow: \d+ of 300000 bytes after the 1 s deadline"):
        download([f"{bad_server}/trickle/blob"], tmp_path / "blob", size=300_000, deadline=1.0, timeout=0.5,
                 progress=False)
    assert time.monotonic() - start < 30  # the deadline applied: unabandoned, the server would go on for hours
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("mode, reason", [("endless", "sent more than the file's 300000 bytes"),
                                          ("liar", "announces 10000000000 bytes, but the file has 300000")])
def test_a_server_sending_too_much_is_cut_at_the_known_size(bad_server, tmp_path, mode, reason):
    from tinygrad_edu.data import DownloadError, download

    start = time.monotonic()
    with pytest.raises(DownloadError, match=reason):
        download([f"{bad_server}/{mode}/blob"], tmp_path / "blob", size=300_000, deadline=30, progress=False)
    assert time.monotonic() - start < 30  # the deadline applied: unabandoned, the server would go on for hours
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_an_interrupted_download_leaves_no_temporary_file_behind(bad_server, tmp_path, how):
    """SIGTERM: the temporary file goes at once. kill -9: it stays until the next start, which removes it."""
    cache = tmp_path / "cache"
    folder = cache / "tinygrad_edu" / "mnist"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "TINYGRAD_EDU_MNIST_MIRRORS": f"{bad_server}/drip/"}
    env.pop("TINYGRAD_EDU_DATA", None)
    model = tmp_path / "model.npz"
    from tests.test_bad_usage import random_params
    from tinygrad_edu.training.checkpoint import save_checkpoint

    save_checkpoint(model, random_params(), {})
    for attempt in range(2):  # bounded: two interruptions, each within 20 s
        process = cli("evaluate", "--checkpoint", str(model), env=env)
        deadline = time.monotonic() + 20
        while not list(folder.glob(".*.part")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(folder.glob(".*.part")), "the download never started"
        process.send_signal(getattr(signal, how))
        _, stderr = process.communicate(timeout=30)
        assert "Traceback" not in stderr
        left = list(folder.glob(".*.part"))
        assert (left == []) if how == "SIGTERM" else (len(left) == 1), left
    env["TINYGRAD_EDU_MNIST_MIRRORS"] = f"{bad_server}/missing/"  # the next start: fails fast, cleans up first
    again = cli("evaluate", "--checkpoint", str(model), env=env)
    _, stderr = again.communicate(timeout=60)
    assert again.returncode == 1 and "every mirror failed" in stderr
    assert list(folder.glob(".*.part")) == []


def test_a_wrong_file_in_the_cache_is_downloaded_again_and_the_check_remembered(mnist_dir, bad_server, tmp_path,
                                                                               monkeypatch):
    """The test files copied under the training names: caught by md5, fetched again; the next load hashes nothing."""
    from tinygrad_edu.data import load_mnist
    from tinygrad_edu.data import mnist as mnist_module
    from tinygrad_edu.data.mnist import MNIST_FILES

    BadServer.files = {name: (mnist_dir / name).read_bytes() for name, _ in MNIST_FILES.values()}
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    cache = tmp_path / "tinygrad_edu" / "mnist"
    cache.mkdir(parents=True)
    for split in ("images", "labels"):
        (cache / MNIST_FILES[f"train_{split}"][0]).write_bytes(BadServer.files[MNIST_FILES[f"test_{split}"][0]])
        (cache / MNIST_FILES[f"test_{split}"][0]).write_bytes(BadServer.files[MNIST_FILES[f"test_{split}"][0]])
    notes: list[str] = []
    data = load_mnist(mirrors=[f"{bad_server}/good/"], progress=False, log=notes.append)
    assert len(data.train_labels) == 60_000 and len(data.test_labels) == 10_000
    assert len(notes) == 2 and all("failed its md5 check" in note and "downloading it again" in note for note in notes)
    assert {Path(note.split()[1]).name for note in notes} == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}

    def no_hashing(path):
        raise AssertionError(f"{path} hashed again")

    monkeypatch.setattr(mnist_module, "file_md5", no_hashing)
    load_mnist(mirrors=[f"{bad_server}/missing/"], progress=False, log=notes.append)
    assert len(notes) == 2
    # a file changed after its check is hashed again
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    os.utime(cache / "t10k-labels-idx1-ubyte.gz", ns=(1, 1))
    load_mnist(mirrors=[f"{bad_server}/missing/"], progress=False, log=notes.append)
    assert len(notes) == 2  # re-hashed, still good


def test_a_user_folder_with_test_files_as_training_files_gets_a_note(mnist_dir, tmp_path, monkeypatch):
    from tinygrad_edu.data import load_mnist
    from tinygrad_edu.data.mnist import MNIST_FILES

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "mine"
    folder.mkdir()
    for split in ("images", "labels"):
        for role in ("train", "test"):
            (folder / MNIST_FILES[f"{role}_{split}"][0]).write_bytes((mnist_dir / MNIST_FILES[f"test_{split}"][0]).read_bytes())
    notes: list[str] = []
    data = load_mnist(folder, download=False, log=notes.append)
    assert len(data.train_labels) == 10_000  # the user's data, used as given
    assert notes == [f"note: {folder} does not hold the canonical MNIST (10,000 training and 10,000 test images; "
                     "MNIST has 60,000 and 10,000); using it as given."]
    notes.clear()
    load_mnist(mnist_dir, download=False, log=notes.append)
    assert notes == []  # the canonical files: no note


# ---------------------------------------------------------------------------------------------------------
# The pieces: the folder swap without renameat2, its repair after a crash, unreadable files, unwritable --out
# ---------------------------------------------------------------------------------------------------------
def test_folder_swap_without_atomic_exchange_and_its_repair(tmp_path, monkeypatch):
    from tinygrad_edu.support import atomic

    out = tmp_path / "run"
    out.mkdir()
    (out / "model.npz").write_text("old")
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)  # macOS, Windows, filesystems without it
    with atomic.atomic_folder(out) as staging:
        (staging / "model.npz").write_text("new")
    assert (out / "model.npz").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["run"]
    # a crash between the two renames: the destination is gone, the previous folder waits beside it
    dead_pid = 2**22 + 12345  # above Linux's default pid_max: no such process
    out.rename(tmp_path / f".run.{dead_pid}.old.previous")
    (tmp_path / f".run.{dead_pid}.abcd1234.staging").mkdir()
    atomic.remove_stale_temporaries(tmp_path, ["run"])
    assert (out / "model.npz").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["run"]


def test_a_failed_write_leaves_the_previous_folder(tmp_path):
    from tinygrad_edu.support.atomic import atomic_folder

    out = tmp_path / "run"
    out.mkdir()
    (out / "model.npz").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(out) as staging:
        (staging / "model.npz").write_text("half")
        raise RuntimeError("disk full")
    assert (out / "model.npz").read_text() == "old" and sorted(os.listdir(tmp_path)) == ["run"]


def test_unreadable_data_files_are_named(tmp_path, monkeypatch):
    """Root reads everything, so the permission error is simulated where the file is read."""
    from tinygrad_edu.data import DataFileError, read_digits_csv, read_idx

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    (tmp_path / "x.csv").write_text("1,2\n")
    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(DataFileError, match=r"x\.idx: permission denied; make the file readable"):
        read_idx(tmp_path / "x.idx")
    with pytest.raises(DataFileError, match=r"x\.csv: permission denied"):
        read_digits_csv(tmp_path / "x.csv")


def test_an_unwritable_out_folder_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    """Root writes everywhere, so the permission check is simulated; the refusal comes from argparse."""
    from tinygrad_edu import cli
    from tinygrad_edu.support import options

    monkeypatch.setattr(options.os, "access", lambda path, mode: False)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "--out", str(tmp_path / "run"), "--data-dir", str(tmp_path / "never-read")])
    assert exit_.value.code == 2
    assert f"argument --out: cannot write into {tmp_path}: permission denied" in capsys.readouterr().err


def test_stale_temporaries_of_our_naming_only(tmp_path):
    from tinygrad_edu.support.atomic import remove_stale_temporaries

    dead, alive = 2**22 + 12345, os.getpid()
    names = {
        f".train-images-idx3-ubyte.gz.{dead}.k2j4h5g6.part": False,   # a killed download: removed
        f".train-images-idx3-ubyte.gz.{alive}.k2j4h5g6.part": True,   # a download still running: kept
        ".train-images-idx3-ubyte.gz.ab12cd34.part": False,           # the older naming, two hours old: removed
        ".t10k-labels-idx1-ubyte.gz.ab12cd34.part": True,             # the older naming, just written: kept
        f".notes.txt.{dead}.k2j4h5g6.part": True,                     # another destination: not ours to clean
        "train-images.part": True,                                    # not our naming at all
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(tmp_path / ".train-images-idx3-ubyte.gz.ab12cd34.part", (two_hours_ago, two_hours_ago))
    remove_stale_temporaries(tmp_path, ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
    assert sorted(os.listdir(tmp_path)) == sorted(name for name, kept in names.items() if kept)

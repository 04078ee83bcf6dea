"""The downloader against a real HTTP server on 127.0.0.1: success, fallback, bad checksum, cut connection."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu.data import DownloadError, download, download_mnist, file_md5, load_mnist
from tinygrad_edu.data.mnist import MNIST_FILES

PAYLOAD = np.random.default_rng(1).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``files`` under /good/, a corrupted copy under /corrupt/, half of it under /cut/."""

    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        _, mode, name = self.path.split("/", 2)
        body = self.files.get(name)
        if body is None or mode not in ("good", "corrupt", "cut"):
            self.send_error(404)
            return
        if mode == "corrupt":
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # a cut connection: the header promised every byte, the server dies halfway
        self.wfile.write(body[: len(body) // 2] if mode == "cut" else body)
        self.close_connection = True

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def server():
    """Base URL of a local HTTP server; set ``MirrorHandler.files`` to choose what it serves."""
    MirrorHandler.files = {"blob.bin": PAYLOAD}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def closed_port_url() -> str:
    """A URL on which nothing listens (connection refused, like a machine without network)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_download_success(server, tmp_path):
    dest = download([f"{server}/good/blob.bin"], tmp_path / "sub" / "blob.bin", PAYLOAD_MD5, progress=False)
    assert dest.read_bytes() == PAYLOAD and file_md5(dest) == PAYLOAD_MD5
    assert os.listdir(dest.parent) == ["blob.bin"]  # no temporary file left


@pytest.mark.parametrize("mode, reason", [("corrupt", "checksum mismatch"), ("cut", "connection closed after")])
def test_bad_mirror_leaves_no_file(server, tmp_path, mode, reason):
    with pytest.raises(DownloadError) as info:
        download([f"{server}/{mode}/blob.bin"], tmp_path / "blob.bin", PAYLOAD_MD5, progress=False)
    assert reason in str(info.value) and f"{server}/{mode}/blob.bin" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_mirrors_are_tried_in_turn(server, tmp_path):
    urls = [f"{closed_port_url()}/blob.bin", f"{server}/missing/blob.bin", f"{server}/cut/blob.bin",
            f"{server}/corrupt/blob.bin", f"{server}/good/blob.bin"]
    dest = download(urls, tmp_path / "blob.bin", PAYLOAD_MD5, progress=False)
    assert dest.read_bytes() == PAYLOAD and os.listdir(tmp_path) == ["blob.bin"]


def test_interrupted_download_leaves_no_file(server, tmp_path, monkeypatch):
    """Ctrl-C after the bytes arrived but before the rename: the temporary file is removed."""

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        download([f"{server}/good/blob.bin"], tmp_path / "blob.bin", PAYLOAD_MD5, progress=False)
    assert os.listdir(tmp_path) == []


def test_download_mnist_only_fetches_missing_files(server, tmp_path):
    MirrorHandler.files = {"a.gz": b"aaa", "b.gz": b"bbb"}
    files = {"a": ("a.gz", hashlib.md5(b"aaa").hexdigest()), "b": ("b.gz", hashlib.md5(b"bbb").hexdigest())}
    (tmp_path / "a.gz").write_bytes(b"already here")
    paths = download_mnist(tmp_path, [f"{server}/good/"], files=files, progress=False)
    assert paths["a"].read_bytes() == b"already here" and paths["b"].read_bytes() == b"bbb"


def test_no_network_message_says_which_files_where_and_how(tmp_path):
    with pytest.raises(DownloadError) as info:
        load_mnist(tmp_path / "cache", mirrors=[closed_port_url() + "/mnist/"], progress=False)
    message = str(info.value)
    for name, md5 in MNIST_FILES.values():
        assert name in message and md5 in message
    assert str(tmp_path / "cache") in message
    assert "--data-dir" in message and "TINYGRAD_EDU_DATA" in message and "Connection refused" in message
    assert not any((tmp_path / "cache").iterdir())


def test_load_mnist_downloads_real_files_through_env_mirrors(server, mnist_dir, tmp_path, monkeypatch):
    """End to end: the real files served over HTTP, md5-checked against the published sums, then read."""
    MirrorHandler.files = {name: (Path(mnist_dir) / name).read_bytes() for name, _ in MNIST_FILES.values()}
    monkeypatch.setenv("TINYGRAD_EDU_MNIST_MIRRORS", f"{server}/missing/, {server}/good/")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    data = load_mnist(progress=False)
    cache = tmp_path / "tinygrad_edu" / "mnist"
    assert data.source == cache and data.train_labels.shape == (60000,)
    assert sorted(os.listdir(cache)) == sorted(name for name, _ in MNIST_FILES.values())

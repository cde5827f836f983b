"""Dataset downloads against a local HTTP server (127.0.0.1 only): verify, resume, cancel, extract."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from gan_studio.data.download import SOURCES, DatasetSource, RemoteFile, download_file, ensure_dataset, extract_tar
from gan_studio.data.idx import load_idx_folder
from gan_studio.errors import DataError


class RangeRequestHandler(SimpleHTTPRequestHandler):
    """Serves files from the server's folder, honouring `Range: bytes=N-` (unless told to ignore it).

    Server attributes steer it: `ignore_range`, `drop_after` (send only that many body bytes, then
    hang up), and it records `requests` as (path, Range header) and `body_bytes` sent.
    """

    def do_GET(self):  # noqa: N802 - http.server's naming
        server = self.server
        range_header = self.headers.get("Range")
        with server.lock:
            server.requests.append((self.path, range_header))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if match and not server.ignore_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if server.drop_after is not None:
            body = body[: server.drop_after]
            self.close_connection = True
        with server.lock:  # counted before sending: the client may finish reading before this thread runs on
            server.body_bytes += len(body)
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass


@pytest.fixture
def server(tmp_path):
    """A Range-capable HTTP server on 127.0.0.1 serving `server.root`; `server.base` is its URL."""
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeRequestHandler, directory=str(root)))
    httpd.root, httpd.base = root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.lock, httpd.requests, httpd.body_bytes = threading.Lock(), [], 0
    httpd.ignore_range, httpd.drop_after = False, None
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def payload(size: int = 200_000) -> bytes:
    return np.random.default_rng(size).bytes(size)


def single_file_source(name: str, data: bytes) -> DatasetSource:
    return DatasetSource((RemoteFile(name, md5(data), len(data)),), mirrors=())


def dead_url() -> str:
    """A 127.0.0.1 URL on a port that nothing listens on."""
    probe = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    return f"http://127.0.0.1:{port}/"


# (a) a good download


def test_good_download_of_mnist_test_set(server, tmp_path, mnist_dir):
    test_files = tuple(f for f in SOURCES["mnist"].files if f.name.startswith("t10k-"))
    for remote in test_files:
        shutil.copy(mnist_dir / remote.name, server.root / remote.name)
    source = DatasetSource(test_files, mirrors=())
    calls = []
    folder = ensure_dataset(
        "mnist",
        cache_dir=tmp_path / "cache",
        mirrors=[dead_url(), server.base],
        source=source,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert folder == tmp_path / "cache" / "datasets" / "mnist"
    for remote in test_files:
        assert md5((folder / remote.name).read_bytes()) == remote.md5
        assert not (folder / f"{remote.name}.part").exists()
    total = sum(remote.size for remote in test_files)
    assert len(calls) > 2 and calls[-1] == (total, total)
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:], strict=False))  # monotonic
    raw = load_idx_folder(folder, split="test", name="mnist")
    assert raw.x.shape == (10000, 28, 28, 1)

    # Present and verified: no network even when allowed, and download=False works too.
    seen = len(server.requests)
    assert ensure_dataset("mnist", cache_dir=tmp_path / "cache", mirrors=[server.base], source=source) == folder
    assert ensure_dataset("mnist", cache_dir=tmp_path / "cache", download=False, source=source) == folder
    assert len(server.requests) == seen


def test_missing_without_download_explains(tmp_path):
    with pytest.raises(DataError, match="not downloaded") as info:
        ensure_dataset("mnist", cache_dir=tmp_path, download=False)
    assert "path" in str(info.value)


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(DataError, match="unknown"):
        ensure_dataset("imagenet", cache_dir=tmp_path)


def test_all_mirrors_failing_lists_what_was_tried(server, tmp_path):
    dead = dead_url()
    source = single_file_source("data.bin", payload(1000))  # not served: 404 on the live server
    with pytest.raises(DataError) as info:
        ensure_dataset("x", cache_dir=tmp_path, mirrors=[dead, server.base], source=source)
    message = str(info.value)
    assert dead + "data.bin" in message and server.base + "data.bin" in message and "404" in message


# (b) checksum mismatch


def test_corrupted_file_fails_checksum(server, tmp_path):
    good = payload()
    bad = bytearray(good)
    bad[1234] ^= 0xFF
    (server.root / "data.bin").write_bytes(bytes(bad))
    with pytest.raises(DataError, match="checksum") as info:
        ensure_dataset("x", cache_dir=tmp_path, mirrors=[server.base], source=single_file_source("data.bin", good))
    assert "data.bin" in str(info.value) and md5(good) in str(info.value) and md5(bytes(bad)) in str(info.value)
    folder = tmp_path / "datasets" / "x"
    assert not (folder / "data.bin").exists() and not (folder / "data.bin.part").exists()


# (c) interrupted downloads resume


def test_resume_from_existing_part(server, tmp_path):
    data = payload()
    (server.root / "data.bin").write_bytes(data)
    dest = tmp_path / "data.bin"
    Path(f"{dest}.part").write_bytes(data[:100_000])
    download_file([server.base + "data.bin"], dest, md5(data))
    assert server.requests == [("/data.bin", "bytes=100000-")]
    assert server.body_bytes == len(data) - 100_000
    assert dest.read_bytes() == data and not Path(f"{dest}.part").exists()


def test_server_ignoring_range_restarts(server, tmp_path):
    data = payload()
    (server.root / "data.bin").write_bytes(data)
    server.ignore_range = True
    dest = tmp_path / "data.bin"
    Path(f"{dest}.part").write_bytes(data[:100_000])
    download_file([server.base + "data.bin"], dest, md5(data))
    assert server.requests[0][1] == "bytes=100000-" and server.body_bytes == len(data)
    assert dest.read_bytes() == data


def test_stale_part_mismatch_retries_from_scratch(server, tmp_path):
    data = payload()
    (server.root / "data.bin").write_bytes(data)
    dest = tmp_path / "data.bin"
    Path(f"{dest}.part").write_bytes(b"\x00" * 100_000)  # from some other file
    download_file([server.base + "data.bin"], dest, md5(data))
    assert [r[1] for r in server.requests] == ["bytes=100000-", None]
    assert dest.read_bytes() == data


def test_complete_part_gets_416_and_verifies(server, tmp_path):
    data = payload(5000)
    (server.root / "data.bin").write_bytes(data)
    dest = tmp_path / "data.bin"
    Path(f"{dest}.part").write_bytes(data)
    download_file([server.base + "data.bin"], dest, md5(data))
    assert dest.read_bytes() == data and server.body_bytes == 0


def test_dropped_connection_then_resume(server, tmp_path):
    data = payload()
    (server.root / "data.bin").write_bytes(data)
    source = single_file_source("data.bin", data)
    server.drop_after = 60_000
    with pytest.raises(DataError, match="could not download") as info:
        ensure_dataset("x", cache_dir=tmp_path, mirrors=[server.base], source=source)
    assert "data.bin" in str(info.value)
    part = tmp_path / "datasets" / "x" / "data.bin.part"
    assert part.stat().st_size == 60_000
    assert not (tmp_path / "datasets" / "x" / "data.bin").exists()

    server.drop_after = None
    folder = ensure_dataset("x", cache_dir=tmp_path, mirrors=[server.base], source=source)
    assert server.requests[-1][1] == "bytes=60000-"
    assert (folder / "data.bin").read_bytes() == data and not part.exists()


# (d) cancellation


def test_cancel_keeps_part(server, tmp_path):
    data = payload(500_000)
    (server.root / "data.bin").write_bytes(data)
    cancel = threading.Event()

    def progress(done, total):
        if done > 0:
            cancel.set()

    with pytest.raises(DataError, match="download cancelled"):
        ensure_dataset(
            "x",
            cache_dir=tmp_path,
            mirrors=[server.base],
            source=single_file_source("data.bin", data),
            progress=progress,
            cancel=cancel,
        )
    part = tmp_path / "datasets" / "x" / "data.bin.part"
    assert 0 < part.stat().st_size < len(data)
    assert not (tmp_path / "datasets" / "x" / "data.bin").exists()
    assert data.startswith(part.read_bytes())


def test_cancel_before_start_makes_no_request(server, tmp_path):
    (server.root / "data.bin").write_bytes(payload(1000))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DataError, match="cancelled"):
        download_file([server.base + "data.bin"], tmp_path / "data.bin", "0" * 32, cancel=cancel)
    assert server.requests == []


# archives


def make_tar(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


def test_archive_download_is_extracted(server, tmp_path):
    archive = make_tar({"cifar-10-batches-py/data_batch_1": b"one", "cifar-10-batches-py/batches.meta": b"meta"})
    (server.root / "cifar-10-python.tar.gz").write_bytes(archive)
    source = DatasetSource((RemoteFile("cifar-10-python.tar.gz", md5(archive)),), (), extract="cifar-10-batches-py")
    folder = ensure_dataset("cifar10", cache_dir=tmp_path, mirrors=[server.base], source=source)
    assert folder == tmp_path / "datasets" / "cifar10" / "cifar-10-batches-py"
    assert (folder / "data_batch_1").read_bytes() == b"one"
    assert not (folder.parent / "cifar-10-python.tar.gz").exists()
    seen = len(server.requests)
    assert ensure_dataset("cifar10", cache_dir=tmp_path, download=False, source=source) == folder
    assert len(server.requests) == seen
    assert sorted(p.name for p in folder.parent.iterdir()) == ["cifar-10-batches-py"]  # no staging left


def test_a_cache_that_cannot_be_written_downloads_into_the_temporary_cache(server, tmp_path, monkeypatch):
    """With a read-only home the download could not even make its folder: it goes to this user's temporary cache
    folder, where the next start finds it without the network."""
    from gan_studio.paths import temporary_cache_dir

    archive = make_tar({"cifar-10-batches-py/data_batch_1": b"one"})
    (server.root / "cifar-10-python.tar.gz").write_bytes(archive)
    source = DatasetSource((RemoteFile("cifar-10-python.tar.gz", md5(archive)),), (), extract="cifar-10-batches-py")
    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "not-a-folder"))
    folder = ensure_dataset("cifar10", mirrors=[server.base], source=source)
    assert folder == temporary_cache_dir() / "datasets" / "cifar10" / "cifar-10-batches-py"
    assert (folder / "data_batch_1").read_bytes() == b"one"
    seen = len(server.requests)
    assert ensure_dataset("cifar10", download=False, source=source) == folder
    assert len(server.requests) == seen
    # offline, on a compute node: why the temporary folder, and the way to keep the files where every node sees them
    other = DatasetSource((RemoteFile("other.tar.gz", md5(archive)),), (), extract="other")
    with pytest.raises(DataError) as failed:
        ensure_dataset("other", mirrors=[dead_url()], source=other)
    message = str(failed.value)
    assert f"put the file into {temporary_cache_dir() / 'datasets' / 'other'}" in message
    assert "cannot be written, which is why the temporary folder: set GAN_STUDIO_CACHE" in message


@pytest.mark.parametrize(
    "members, symlinks",
    [
        ({"top/../../escaped.txt": b"x"}, None),
        ({"{tmp}/absolute.txt": b"x"}, None),
        ({"top/ok.txt": b"x"}, {"top/link": "/etc/passwd"}),
    ],
)
def test_unsafe_archive_members_refused(tmp_path, members, symlinks):
    members = {name.replace("{tmp}", str(tmp_path)): content for name, content in members.items()}
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(make_tar(members, symlinks))
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="refusing") as info:
        extract_tar(archive, dest, "top")
    assert "evil.tar.gz" in str(info.value)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "absolute.txt").exists()
    assert list(dest.iterdir()) == []


def test_corrupt_archive(tmp_path):
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(make_tar({"top/a": b"x" * 1000})[:40])
    with pytest.raises(DataError, match="broken.tar.gz"):
        extract_tar(archive, tmp_path / "dest", "top")


def test_no_network_says_so_and_where_to_put_the_file_which_is_then_used(tmp_path):
    data = payload(3000)
    source = single_file_source("data.bin", data)
    with pytest.raises(DataError) as info:  # a name no resolver knows (RFC 2606): as without a network
        ensure_dataset("x", cache_dir=tmp_path, mirrors=["http://gan-studio-test.invalid/"], source=source)
    message = str(info.value)
    folder = tmp_path / "datasets" / "x"
    assert "could not be looked up: no network connection?" in message and "Errno" not in message
    assert f"put the file into {folder} yourself" in message
    (folder / "data.bin").write_bytes(data)  # what the message says to do
    assert ensure_dataset("x", cache_dir=tmp_path, mirrors=["http://gan-studio-test.invalid/"], source=source) == folder

"""Download MNIST, Fashion-MNIST, KMNIST and CIFAR-10 into the user's cache, verified by MD5.

Files are fetched with urllib into `<file>.part`, resumed with an HTTP Range request after an
interruption, checked against their published MD5 and only then renamed into place, so a file
with its final name is always complete. CIFAR-10's archive is extracted with path checks.
Everything that can go wrong (network, checksum, cancellation) is a DataError.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import socket
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from gan_studio.data import ProgressCallback
from gan_studio.errors import DataError
from gan_studio.paths import can_write_into, private_temporary_cache_dir, user_cache_dir

TIMEOUT_S = 30.0
_CHUNK = 1 << 16
_USER_AGENT = "gan-studio (dataset download)"


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its name (appended to a mirror's base URL), MD5, and size if known."""

    name: str
    md5: str
    size: int = 0


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset's files come from; `extract` names the folder a downloaded archive unpacks to."""

    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...]
    extract: str | None = None


_IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _idx_source(md5s: tuple[str, ...], sizes: tuple[int, ...], mirrors: tuple[str, ...]) -> DatasetSource:
    return DatasetSource(tuple(RemoteFile(n, m, s) for n, m, s in zip(_IDX_FILES, md5s, sizes, strict=True)), mirrors)


SOURCES: dict[str, DatasetSource] = {
    "mnist": _idx_source(
        (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3",
            "ec29112dd5afa0611ce80d1b7f02629c",
        ),
        (9912422, 28881, 1648877, 4542),
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    ),
    "fashion-mnist": _idx_source(
        (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "25c81989df183df01b3e8a0aad5dffbe",
            "bef4ecab320f06d8554ea6380940ec79",
            "bb300cfdad3c16e7a12a480ee83cd310",
        ),
        (26421880, 29515, 4422102, 5148),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    ),
    "kmnist": _idx_source(
        (
            "bdb82020997e1d708af4cf47b453dcf7",
            "e144d726b3acfaa3e44228e80efcd344",
            "5c965bf0a639b31b8f53240b1b52f4d7",
            "7320c461ea6c1c855c0b718fb2a4b134",
        ),
        (18165135, 29497, 3041136, 5120),
        ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
    ),
    "cifar10": DatasetSource(
        (RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 170498071),),
        ("https://www.cs.toronto.edu/~kriz/",),
        extract="cifar-10-batches-py",
    ),
}


def file_md5(path: Path) -> str:
    """Hex MD5 of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Progress:
    """Adds up bytes over a dataset's files and reports (done, total) to the caller's callback."""

    def __init__(self, callback: ProgressCallback | None, sizes: list[int]):
        self.callback, self.sizes, self.done = callback, sizes, [0] * len(sizes)

    def update(self, index: int, done: int, total: int = 0) -> None:
        self.done[index] = done
        if total:
            self.sizes[index] = total
        if self.callback is not None:
            grand_total = sum(self.sizes) if all(self.sizes) else 0
            self.callback(sum(self.done), max(grand_total, sum(self.done)) if grand_total else 0)


def _check_cancel(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise DataError("download cancelled")


def _content_range_start(value: str | None) -> int | None:
    match = re.fullmatch(r"bytes ([0-9]+)-[0-9]+/([0-9]+|\*)", (value or "").strip())
    return int(match.group(1)) if match else None


def _fetch(url: str, part: Path, report: ProgressCallback, cancel, timeout: float) -> None:
    """Download `url` into `part`, continuing from its current size when the server honours Range."""
    _check_cancel(cancel)
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the .part is probably complete
            return
        raise
    with response:
        if offset and (response.status != 206 or _content_range_start(response.headers["Content-Range"]) != offset):
            offset = 0  # the server ignored the Range request: start again
        length = int(response.headers.get("Content-Length") or 0)
        total = offset + length if length else 0
        received = 0
        with open(part, "ab" if offset else "wb") as out:
            report(offset, total)
            while True:
                _check_cancel(cancel)
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                report(offset + received, total)
        if length and received < length:
            raise http.client.IncompleteRead(b"", length - received)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        if isinstance(exc.reason, socket.gaierror):
            return "its server's name could not be looked up: no network connection?"
        if isinstance(exc.reason, (ConnectionRefusedError, TimeoutError, socket.timeout)):
            return f"no connection to its server ({type(exc.reason).__name__})"
        return str(exc.reason)
    if isinstance(exc, http.client.IncompleteRead):
        return "connection closed before the end of the file"
    return str(exc) or type(exc).__name__


def download_file(
    urls: Sequence[str],
    dest: str | Path,
    md5: str,
    *,
    progress: ProgressCallback | None = None,
    cancel=None,
    timeout: float = TIMEOUT_S,
) -> Path:
    """Download one file from the first of `urls` that works into `dest`, verified against `md5`.

    An existing `dest.part` is resumed. On a checksum mismatch the .part is deleted (after one
    fresh retry when the mismatch may come from a stale resumed .part) and a DataError is raised.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the download folder ({exc.strerror or exc})", dest.parent) from exc
    part = dest.with_name(dest.name + ".part")
    report = progress or (lambda done, total: None)
    tried = []
    for url in urls:
        if not url.lower().startswith(("http://", "https://")):
            tried.append(f"{url} (not an http(s) URL)")
            continue
        for _attempt in range(2):
            resumed = part.exists() and part.stat().st_size > 0
            try:
                _fetch(url, part, report, cancel, timeout)
            except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError and timeouts are OSErrors
                tried.append(f"{url} ({_reason(exc)})")
                break
            actual = file_md5(part)
            if actual == md5:
                os.replace(part, dest)
                return dest
            part.unlink()
            if not resumed:
                raise DataError(
                    f"checksum mismatch for {dest.name} downloaded from {url}: expected md5 {md5}, got {actual} "
                    "(the partial download was deleted; try again)",
                    dest,
                )
    raise DataError(f"could not download {dest.name} from " + "; ".join(tried) + f". Without a connection, put "
                    f"the file into {dest.parent} yourself (it is checked and used from there), or train on a copy "
                    "you have as a local file or folder", dest.parent)  # fmt: skip


def _check_member(member: tarfile.TarInfo, dest: Path, archive: Path) -> None:
    """Refuse a member that could land outside `dest` or is anything but a plain file or folder."""
    name = member.name
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in re.split(r"[\\/]", name):
        raise DataError(f"refusing archive member with an unsafe path: {name}", archive)
    if not (member.isfile() or member.isdir()):
        raise DataError(f"refusing archive member that is not a plain file or folder: {name}", archive)
    if not (dest / name).resolve().is_relative_to(dest.resolve()):
        raise DataError(f"refusing archive member outside the destination: {name}", archive)


def extract_tar(archive: str | Path, dest: str | Path, top: str) -> Path:
    """Safely extract the folder `top` of a tar archive into `dest` (atomically); returns `dest/top`.

    Members with absolute paths, '..' components, links or devices are refused.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = tar.getmembers()
                for member in members:
                    _check_member(member, staging, archive)
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(staging, members=members, filter="data")
                else:  # pragma: no cover - Python without extraction filters; members were checked above
                    tar.extractall(staging, members=members)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DataError(f"cannot extract archive ({exc})", archive) from exc
        if not (staging / top).is_dir():
            raise DataError(f"the archive holds no '{top}' folder", archive)
        target = dest / top
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging / top, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _missing_files(source: DatasetSource, folder: Path) -> list:
    """The files of `source` not in `folder` with their MD5."""
    return [f for f in source.files if not ((folder / f.name).is_file() and file_md5(folder / f.name) == f.md5)]


def ensure_dataset(
    name: str,
    *,
    download: bool = True,
    progress: ProgressCallback | None = None,
    cancel=None,
    cache_dir: str | Path | None = None,
    mirrors: Sequence[str] | None = None,
    source: DatasetSource | None = None,
) -> Path:
    """Return the folder holding dataset `name`'s files, downloading and verifying them if needed.

    Files go to `<cache_dir or user_cache_dir()>/datasets/<name>/`. Files already there and
    matching their MD5 need no network. `mirrors` replaces the source's base URLs and `source`
    the whole source (name, MD5 and size of each file), for tests and private mirrors.
    """
    if source is None:
        if name not in SOURCES:
            raise DataError(f"unknown downloadable dataset '{name}' (known: {', '.join(SOURCES)})")
        source = SOURCES[name]
    folder = (Path(cache_dir) if cache_dir is not None else user_cache_dir()) / "datasets" / name
    read_only = cache_dir is None and not can_write_into(folder)  # a read-only home: the temporary cache serves
    temporary = private_temporary_cache_dir("datasets") if read_only else None
    places = [folder] + ([temporary / name] if temporary is not None else [])
    for place in places:
        if source.extract and (place / source.extract).is_dir():
            return place / source.extract  # only ever created from a verified archive
        missing = _missing_files(source, place)
        if not missing:
            folder = place
            break
    else:
        if download and read_only and (temporary := private_temporary_cache_dir("datasets", create=True)):
            folder = temporary / name  # downloaded there
        missing = missing if folder == places[-1] else _missing_files(source, folder)
    if missing and not download:
        raise DataError(
            f"dataset '{name}' is not downloaded (looked in {folder}); download it, "
            "or pass the path of a folder that holds its files"
        )
    bases = list(mirrors) if mirrors is not None else list(source.mirrors)
    tracker = _Progress(progress, [f.size for f in source.files])
    for index, remote in enumerate(source.files):
        if remote in missing:
            urls = [base.rstrip("/") + "/" + remote.name for base in bases]
            try:
                download_file(
                    urls, folder / remote.name, remote.md5, progress=partial(tracker.update, index), cancel=cancel
                )
            except DataError as exc:
                if temporary is None or folder.parent != temporary:
                    raise
                raise DataError(f"{exc.reason}; the dataset cache {user_cache_dir()} cannot be written, which is "
                                "why the temporary folder: set GAN_STUDIO_CACHE to a writable folder (one every "
                                "machine sees, on a cluster) to keep the files", exc.path) from None  # fmt: skip
        else:
            size = (folder / remote.name).stat().st_size
            tracker.update(index, size, size)
    if source.extract:
        for remote in source.files:
            extract_tar(folder / remote.name, folder, source.extract)
            (folder / remote.name).unlink()  # the extracted folder is what is kept
        return folder / source.extract
    return folder

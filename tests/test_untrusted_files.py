"""Untrusted files through the user's entry points: code in pickles never runs, nothing escapes the data folder.

Each pickle payload here would create a marker file when unpickled the ordinary way (checked first,
so the test proves something); GAN Studio must refuse the file with one clear line and the marker
must not appear. Archives and symlinks that lead outside the dataset folder are refused.
Hostile run directories are tested in tests/test_untrusted_runs.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_runs import train_tiny_run

from gan_studio import cli
from gan_studio.data import load_dataset
from gan_studio.data.download import DatasetSource, RemoteFile, ensure_dataset
from gan_studio.errors import CheckpointError, DataError
from gan_studio.store.checkpoint import load_checkpoint


class CreatesFile:
    """Unpickling this opens (creates) `marker`: a stand-in for any code an attacker would run."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def live_payload(tmp_path: Path, name: str) -> tuple[CreatesFile, Path]:
    """A payload and its marker, after proving that an ordinary unpickle really runs it."""
    probe = tmp_path / f"{name}-probe"
    pickle.loads(pickle.dumps(CreatesFile(probe))).close()
    assert probe.exists(), "the payload does not work, so this test would prove nothing"
    marker = tmp_path / f"{name}-marker"
    return CreatesFile(marker), marker


def cli_run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    return code, err.getvalue()


def assert_one_line_error(code: int, stderr: str, *words: str) -> None:
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("gan-studio: error: "), stderr
    for word in words:
        assert word in stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real, finished two-step VAE run on ring8."""
    out = tmp_path_factory.mktemp("untrusted") / "run"
    train_tiny_run(out, "vae", data="ring8", steps=2, keep_checkpoints=0, hidden=8, layers=1, latent_dim=2)
    return out


@pytest.fixture
def poisoned_run(run_dir, tmp_path):
    """A copy of the run whose last.pt is the real checkpoint plus a code payload (writer chosen by the test)."""
    import shutil

    copy = tmp_path / "poisoned"
    shutil.copytree(run_dir, copy)
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)

    def poison(writer: str) -> Path:
        payload, marker = live_payload(tmp_path, writer)
        target = copy / "checkpoints" / "last.pt"
        if writer == "torch-zip":
            torch.save({**state, "note": payload}, target)
        elif writer == "torch-legacy":
            torch.save({**state, "note": payload}, target, _use_new_zipfile_serialization=False)
        else:  # a bare pickle renamed .pt
            target.write_bytes(pickle.dumps({"format": "gan-studio-checkpoint", "note": payload}))
        return marker

    return copy, poison


@pytest.mark.parametrize("writer", ["torch-zip", "torch-legacy", "bare-pickle"])
def test_checkpoint_payload_is_refused_and_never_runs(poisoned_run, writer):
    run, poison = poisoned_run
    marker = poison(writer)
    with pytest.raises(CheckpointError, match="refused|corrupt"):
        load_checkpoint(run / "checkpoints" / "last.pt")
    assert_one_line_error(*cli_run(["sample", str(run), "--out", str(run / "grid.png")]), "last.pt")
    assert_one_line_error(*cli_run(["train", "--resume", str(run), "--steps", "4", "--quiet"]), "last.pt")
    assert not marker.exists(), "the pickled code ran"
    assert not (run / "grid.png").exists()


def test_npz_with_pickled_objects_is_refused_and_never_runs(tmp_path):
    payload, marker = live_payload(tmp_path, "npz")
    path = tmp_path / "data.npz"
    np.savez(path, x=np.array([payload, payload], dtype=object))
    with pytest.raises(DataError, match="data.npz"):
        load_dataset(str(path))
    code, stderr = cli_run(["train", "vae", "--data", str(path), "--out", str(tmp_path / "run"), "--quiet"])
    assert_one_line_error(code, stderr, "data.npz")
    assert not marker.exists() and not (tmp_path / "run").exists()


def test_cifar_batch_with_code_is_refused_and_never_runs(tmp_path):
    payload, marker = live_payload(tmp_path, "cifar")
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batch = {b"data": np.zeros((2, 3072), dtype=np.uint8), b"labels": payload}
    (folder / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataError, match="data_batch_1"):
        load_dataset(str(tmp_path))
    assert not marker.exists()


# --- archives and links that try to leave the data folder ---------------------------------------------


def tar_bytes(add) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        add(tar)
    return buffer.getvalue()


def _file(tar: tarfile.TarFile, name: str, content: bytes = b"x") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    tar.addfile(info, io.BytesIO(content))


def _link(tar: tarfile.TarFile, name: str, target: str, kind: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    tar.addfile(info)


ESCAPING_ARCHIVES = {
    "dot-dot": lambda tar: _file(tar, "cifar-10-batches-py/../../escaped.txt"),
    "absolute": lambda tar: _file(tar, "/tmp/gan-studio-escaped.txt"),
    "symlink-out": lambda tar: _link(tar, "cifar-10-batches-py/data_batch_1", "/etc/passwd", tarfile.SYMTYPE),
    "hardlink-out": lambda tar: _link(tar, "cifar-10-batches-py/data_batch_1", "../../escaped.txt", tarfile.LNKTYPE),
    "symlink-dir-then-write": lambda tar: (
        _link(tar, "cifar-10-batches-py/sub", "../..", tarfile.SYMTYPE),
        _file(tar, "cifar-10-batches-py/sub/escaped.txt"),
    ),
}


@pytest.mark.parametrize("name", sorted(ESCAPING_ARCHIVES))
def test_downloaded_archive_escaping_the_cache_is_refused(tmp_path, name):
    """The path `ensure_dataset` takes for CIFAR-10 (a verified archive already in the cache is extracted)."""
    archive = tar_bytes(ESCAPING_ARCHIVES[name])
    cache = tmp_path / "cache"
    folder = cache / "datasets" / "evil"
    folder.mkdir(parents=True)
    (folder / "evil.tar.gz").write_bytes(archive)
    source = DatasetSource((RemoteFile("evil.tar.gz", hashlib.md5(archive).hexdigest()),), (), "cifar-10-batches-py")
    with pytest.raises(DataError, match="refusing") as info:
        ensure_dataset("evil", cache_dir=cache, source=source)
    assert "evil.tar.gz" in str(info.value)
    escaped = [p for p in tmp_path.rglob("escaped.txt")] + [Path("/tmp/gan-studio-escaped.txt")]
    assert not any(p.exists() for p in escaped)
    assert not (folder / "cifar-10-batches-py").exists()  # nothing half-extracted is left to be trusted later


def test_image_folder_with_a_symlinked_class_folder_outside_is_refused(tmp_path):
    outside = tmp_path / "private"
    outside.mkdir()
    from PIL import Image

    Image.new("L", (8, 8), 200).save(outside / "secret.png")
    data = tmp_path / "data"
    (data / "cats").mkdir(parents=True)
    Image.new("L", (8, 8), 100).save(data / "cats" / "cat.png")
    os.symlink(outside, data / "dogs")
    code, stderr = cli_run(["train", "vae", "--data", str(data), "--out", str(tmp_path / "run"), "--quiet"])
    assert_one_line_error(code, stderr, "symlink", "dogs")
    assert not (tmp_path / "run").exists()

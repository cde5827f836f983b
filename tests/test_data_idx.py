"""IDX reading: the real MNIST test set (when present) and malformed files of every kind."""

from __future__ import annotations

import gzip
import hashlib
import struct
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from gan_studio.data import load_dataset
from gan_studio.data.download import SOURCES
from gan_studio.data.idx import is_idx_folder, load_idx_folder, read_idx
from gan_studio.errors import DataError


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """Serialise `array` as IDX with type `code` (big-endian payload)."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def raises_naming(path: Path, match: str | None = None) -> pytest.ExceptionInfo:
    with pytest.raises(DataError, match=match) as info:
        read_idx(path)
    assert path.name in str(info.value)
    return info


# --- the real MNIST test set ---


def test_mnist_files_match_published_md5(mnist_dir):
    published = {f.name: f for f in SOURCES["mnist"].files}  # the table the downloader verifies against
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        data = (mnist_dir / name).read_bytes()
        assert hashlib.md5(data).hexdigest() == published[name].md5
        assert len(data) == published[name].size


def test_mnist_test_set_contents(mnist_dir):
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert images.max() == 255 and images.min() == 0
    counts = np.bincount(labels, minlength=10)
    assert len(counts) == 10 and counts.sum() == 10000
    assert counts.min() > 800 and counts.max() < 1200  # every digit roughly 10 %
    assert counts[1] == 1135 and counts[5] == 892  # published test-set counts


def test_mnist_folder_through_load_dataset(mnist_dir):
    assert is_idx_folder(mnist_dir)
    ds = load_dataset(str(mnist_dir), image_size=32, value_range=(-1, 1))
    assert tuple(ds.x.shape) == (10000, 1, 32, 32)
    assert ds.x.min().item() == -1.0 and ds.x.max().item() == 1.0
    assert ds.class_names == [str(i) for i in range(10)]
    assert ds.y is not None and ds.y.shape == (10000,) and set(ds.y.tolist()) == set(range(10))
    # 28 -> 32 is zero padding: the 2-pixel border is background
    assert (ds.x[:, :, :2, :] == -1).all() and (ds.x[:, :, :, -2:] == -1).all()


# --- well-formed synthetic files ---


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "code, dtype",
    [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)],
)
def test_read_idx_all_type_codes(tmp_path, suffix, code, dtype):
    values = (np.arange(24).reshape(2, 3, 4) - (0 if code == 0x08 else 5)).astype(dtype)
    array = read_idx(write(tmp_path / f"a-idx3{suffix}", idx_bytes(values, code)))
    assert array.dtype == np.dtype(dtype) and array.dtype.isnative
    np.testing.assert_array_equal(array, values)


def test_folder_with_only_test_split_serves_train(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    write(tmp_path / "t10k-images-idx3-ubyte.gz", idx_bytes(images))
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.array([0, 1, 2, 9, 3])))
    raw = load_idx_folder(tmp_path, split="train", name="fashion-mnist")
    assert raw.x.shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(raw.x[..., 0], images)
    assert raw.y.tolist() == [0, 1, 2, 9, 3] and raw.y.dtype == np.int64
    assert raw.class_names[0] == "T-shirt/top" and raw.class_names[9] == "Ankle boot"
    assert load_idx_folder(tmp_path, name="kmnist").class_names[:3] == ["o", "ki", "su"]
    with pytest.raises(DataError, match="split"):
        load_idx_folder(tmp_path, split="validation")


# --- malformed files: each a DataError naming the file ---


def test_truncated_gzip(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    whole = gzip.compress(idx_bytes(images))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(whole[: len(whole) // 2])
    raises_naming(path, "gzip")


def test_not_gzip_at_all(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"this is not gzip data at all")
    raises_naming(path)


@pytest.mark.parametrize("magic", [b"\x12\x34\x08\x03", b"\x00\x00\x07\x03", b"\x00\x00\x08\x00", b"\x00\x00\x08\x20"])
def test_wrong_magic(tmp_path, magic):
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(magic + struct.pack(">3I", 1, 2, 2) + bytes(4))
    raises_naming(path, "IDX")


def test_raw_file_truncated(tmp_path):
    data = idx_bytes(np.zeros((10, 28, 28), np.uint8))
    path = write(tmp_path / "t10k-images-idx3-ubyte", data[:-100])
    info = raises_naming(path, "truncated")
    assert "7840" in str(info.value)  # the declared size is reported


def test_header_truncated(tmp_path):
    path = write(tmp_path / "t10k-images-idx3-ubyte", b"\x00\x00\x08\x03\x00\x00")
    raises_naming(path, "truncated")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_trailing_bytes_refused(tmp_path, suffix):
    path = write(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", idx_bytes(np.arange(10)) + b"\x00")
    raises_naming(path)


def test_gzip_shorter_than_declared(tmp_path):
    payload = np.random.default_rng(1).integers(0, 256, 1000, dtype=np.uint8).tobytes()
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 28, 28)  # declares 1568 bytes, holds 1000
    path = write(tmp_path / "t10k-images-idx3-ubyte.gz", header + payload)
    raises_naming(path, "1000")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_huge_declared_dims_do_not_allocate(tmp_path, suffix):
    header = bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    path = write(tmp_path / f"train-images-idx3-ubyte{suffix}", header + bytes(64))
    tracemalloc.start()
    start = time.perf_counter()
    try:
        raises_naming(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 8 * 2**20, f"peak allocation {peak} bytes"


def test_image_label_count_mismatch(tmp_path):
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(np.zeros((5, 28, 28), np.uint8)))
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(DataError, match="4 labels") as info:
        load_idx_folder(tmp_path)
    assert "train-labels-idx1-ubyte.gz" in str(info.value)


def test_wrong_kind_of_file_in_folder(tmp_path):
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((5, 28, 28), np.float32), 0x0D))
    with pytest.raises(DataError, match="uint8") as info:
        load_idx_folder(tmp_path)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_folder_without_idx_files(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    assert not is_idx_folder(tmp_path)
    with pytest.raises(DataError, match="no IDX"):
        load_idx_folder(tmp_path)


# --- labels without samples ---


def test_a_stray_label_is_said_by_data_prepare_and_refused_by_a_conditional_model(tmp_path, capsys):
    """One label byte 200 among 0-9 made a 201-class dataset unsaid, and cdcgan trained a 201-class model on it
    (image folders refuse an empty class folder). An unconditional model may train on the images: it is told."""
    from gan_studio.cli import main

    images = np.random.default_rng(0).integers(0, 256, (40, 8, 8), dtype=np.uint8)
    labels = np.arange(40) % 10
    labels[7] = 200
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(images))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels))
    assert main(["data", "prepare", str(tmp_path), "--image-size", "32", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "labels 10-199 (190 of 201 classes) have no samples: a stray label in the labels file?" in out
    common = ["--data", str(tmp_path), "--image-size", "32", "--steps", "1", "--batch-size", "4", "--sample-every",
              "0", "--checkpoint-every", "0", "--quiet"]  # fmt: skip
    assert main(["train", "cdcgan", *common, "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "cdcgan needs samples of every class it is made for" in err and "labels 10-199 (190 of 201" in err
    assert not (tmp_path / "c").exists()
    assert main(["train", "dcgan", *common, "--ngf", "8", "--ndf", "8", "--out", str(tmp_path / "u")]) == 0
    assert "note: labels 10-199 (190 of 201 classes) have no samples" in capsys.readouterr().err

"""Fuzzing the dataset readers: IDX files and folders, .npz archives, image folders.

Valid files of random shapes and types are generated, then truncated, bit-flipped, given huge
declared dimensions or the wrong dtype; the loaders may only answer with a DataError (see
tests/fuzz_support.py for the budget and the memory/time bounds).
"""

from __future__ import annotations

import gzip
import io
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fuzz_support import FUZZ, bounded, mutated
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from gan_studio.data import Dataset, load_dataset
from gan_studio.data.idx import IDX_DTYPES, read_idx
from gan_studio.errors import DataError

IDX_CODES = sorted(IDX_DTYPES)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-data")


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def check_dataset(result) -> None:
    """A loader either refused the input or produced a usable, finite dataset."""
    if isinstance(result, DataError):
        return
    assert isinstance(result, Dataset), f"expected a Dataset or a DataError, got {type(result).__name__}"
    assert len(result) > 0 and bool(result.x.isfinite().all())
    if result.y is not None:
        assert result.y.shape == (len(result),) and int(result.y.min()) >= 0


# --- IDX --------------------------------------------------------------------------------------------


@st.composite
def idx_files(draw, ndim=None) -> bytes:
    """A valid IDX file (random type code and small dimensions), before any mutation."""
    code = draw(st.sampled_from(IDX_CODES))
    rank = ndim or draw(st.integers(1, 4))
    dims = draw(st.lists(st.integers(0, 6), min_size=rank, max_size=rank))
    count = int(np.prod(dims))
    payload = draw(st.binary(min_size=count * IDX_DTYPES[code].itemsize, max_size=count * IDX_DTYPES[code].itemsize))
    return bytes([0, 0, code, rank]) + struct.pack(f">{rank}I", *dims) + payload


@st.composite
def maybe_gzipped(draw, raw: bytes) -> tuple[bytes, bool]:
    """(file bytes, is_gzip): mutated before compression, or the gzip stream itself mutated."""
    if not draw(st.booleans()):
        return draw(mutated(raw)), False
    if draw(st.booleans()):
        return gzip.compress(draw(mutated(raw)), mtime=0), True
    return draw(mutated(gzip.compress(raw, mtime=0))), True


@FUZZ
@given(data=st.data())
def test_fuzz_read_idx(scratch, data):
    content, gz = data.draw(maybe_gzipped(data.draw(idx_files())))
    path = scratch / ("file-idx.gz" if gz else "file-idx")
    path.write_bytes(content)
    result = bounded(read_idx, path)
    if not isinstance(result, DataError):
        assert isinstance(result, np.ndarray) and result.dtype.isnative


@FUZZ
@given(data=st.data())
def test_fuzz_idx_folder(scratch, data):
    folder = fresh_dir(scratch / "idx-folder")
    for stem, ndim in (("t10k-images-idx3-ubyte", 3), ("t10k-labels-idx1-ubyte", 1)):
        content, gz = data.draw(maybe_gzipped(data.draw(idx_files(ndim=ndim))))
        (folder / (stem + (".gz" if gz else ""))).write_bytes(content)
    check_dataset(bounded(load_dataset, str(folder), image_size=8))


def test_idx_header_declaring_terabytes_is_refused_without_allocating(scratch):
    for name, content in (
        ("huge-idx", bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + b"\0" * 64),
        ("huge-idx.gz", gzip.compress(bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 0x7FFFFFFF, 0x7FFFFFFF))),
    ):
        (scratch / name).write_bytes(content)
        assert isinstance(bounded(read_idx, scratch / name), DataError)


# --- npz --------------------------------------------------------------------------------------------

NPZ_DTYPES = ["uint8", "int8", "int16", "int64", "float16", "float32", "float64", "bool", "complex64", "<U3", "S2"]


@st.composite
def arrays(draw, min_rank=1, max_rank=4) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(NPZ_DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=min_rank, max_size=max_rank)))
    raw = draw(st.binary(min_size=int(np.prod(shape)) * dtype.itemsize, max_size=int(np.prod(shape)) * dtype.itemsize))
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy() if dtype.kind not in "US" else np.full(shape, "ab")
    if dtype.kind == "f" and draw(st.booleans()):
        array = np.nan_to_num(array, nan=0.5, posinf=1.0, neginf=0.0).clip(0, 1)  # often a plausible image
    return array


@st.composite
def npz_archives(draw) -> bytes:
    """An .npz with 'x' (and often 'y', 'class_names'), pickled objects, or a huge declared shape."""
    kind = draw(st.sampled_from(["arrays", "arrays", "arrays", "huge_header", "pickled"]))
    buffer = io.BytesIO()
    if kind == "huge_header":
        header = io.BytesIO()
        shape = tuple(draw(st.lists(st.sampled_from([2**31, 2**40, 10**6, 3]), min_size=1, max_size=4)))
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
        with zipfile.ZipFile(buffer, "w", draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))) as zf:
            zf.writestr("x.npy", header.getvalue() + b"\0" * draw(st.integers(0, 256)))
        return buffer.getvalue()
    contents = {"x": draw(arrays())}
    if kind == "pickled":
        contents["x"] = np.array([{"a": 1}, None], dtype=object)
    if draw(st.booleans()):
        contents["y"] = draw(arrays(max_rank=2))
    if draw(st.booleans()):
        contents["class_names"] = draw(arrays(max_rank=2))
    np.savez(buffer, **contents)
    return buffer.getvalue()


@FUZZ
@given(data=st.data())
def test_fuzz_npz(scratch, data):
    path = scratch / "fuzz.npz"
    path.write_bytes(data.draw(mutated(data.draw(npz_archives()))))
    check_dataset(bounded(load_dataset, str(path), image_size=8))


# --- image folders ----------------------------------------------------------------------------------

IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG", "bmp": "BMP", "webp": "WEBP"}
IMAGE_MODES = ["L", "RGB", "RGBA", "P", "1", "I;16", "LA"]


@st.composite
def image_files(draw) -> tuple[str, bytes]:
    """(extension, bytes) of a small image in a random mode and format, or a PNG declaring huge dimensions."""
    if draw(st.integers(0, 9)) == 0:
        return "png", _png_with_size(draw(st.sampled_from([(100_000, 100_000), (2**31 - 1, 1), (60_000, 2_000)])))
    ext = draw(st.sampled_from(sorted(IMAGE_FORMATS)))
    mode = draw(st.sampled_from(IMAGE_MODES))
    size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    image = Image.frombytes("L", size, draw(st.binary(min_size=size[0] * size[1], max_size=size[0] * size[1])))
    try:
        image = image.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(image).astype(np.uint16) * 257)
        out = io.BytesIO()
        image.save(out, format=IMAGE_FORMATS[ext])
    except (OSError, ValueError):  # a mode the format cannot hold: save it as PNG instead
        ext, out = "png", io.BytesIO()
        image.convert("RGB").save(out, format="PNG")
    return ext, out.getvalue()


def _png_with_size(size: tuple[int, int]) -> bytes:
    """A PNG whose header declares `size` (with a valid CRC) but holds almost no pixel data."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", size[0], size[1], 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@FUZZ
@given(data=st.data())
def test_fuzz_image_folder(scratch, data):
    folder = fresh_dir(scratch / "images")
    classes = data.draw(st.integers(0, 2))
    for c in range(max(1, classes)):
        target = fresh_dir(folder / f"class{c}") if classes else folder
        for i in range(data.draw(st.integers(1, 3))):
            ext, content = data.draw(image_files())
            (target / f"img{i}.{ext}").write_bytes(data.draw(mutated(content, max_mutations=2)))
    check_dataset(bounded(load_dataset, str(folder), image_size=8, trace_heap=False))


# --- regressions found by the fuzzers -----------------------------------------------------------------

REGRESSIONS = Path(__file__).parent / "regressions"


@pytest.mark.parametrize("name", sorted(p.name for p in REGRESSIONS.iterdir() if p.suffix != ".md"))
def test_inputs_that_once_crashed_a_loader_are_data_errors(name):
    assert isinstance(bounded(load_dataset, str(REGRESSIONS / name), image_size=8, trace_heap=False), DataError)


def test_npz_declaring_terabytes_is_refused_before_allocating(scratch):
    path = scratch / "huge.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.npy", header.getvalue() + b"\0" * 64)
    error = bounded(load_dataset, str(path))
    assert isinstance(error, DataError) and "declares shape" in str(error)


def test_npz_member_that_is_not_an_array_is_refused(scratch):
    path = scratch / "raw-member.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x", b"not an array")
    assert isinstance(bounded(load_dataset, str(path)), DataError)

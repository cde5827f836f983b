"""Image folders, .npz files, CIFAR-10 batches (safe unpickling) and the built-in datasets."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_studio.data import load_dataset, load_raw
from gan_studio.data.cifar import CIFAR10_CLASSES, is_cifar_folder, load_cifar10
from gan_studio.data.dataset import Dataset, RawImages
from gan_studio.data.folder import load_image_folder
from gan_studio.data.npz import load_npz
from gan_studio.data.shapes import make_shapes
from gan_studio.data.toy2d import grid25_modes
from gan_studio.errors import DataError

REPO_ROOT = Path(__file__).resolve().parents[1]

# --- image folders ---


def save_image(path: Path, array: np.ndarray, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)
    return path


def test_image_folder_with_classes(tmp_path):
    rng = np.random.default_rng(0)
    save_image(tmp_path / "cats" / "a.png", rng.integers(0, 256, (40, 60, 3), dtype=np.uint8))
    save_image(tmp_path / "cats" / "b.jpg", rng.integers(0, 256, (50, 30, 3), dtype=np.uint8))
    save_image(tmp_path / "dogs" / "c.png", rng.integers(0, 256, (16, 16), dtype=np.uint8))
    save_image(tmp_path / "dogs" / "nested" / "d.bmp", rng.integers(0, 256, (20, 20), dtype=np.uint8))
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    raw = load_image_folder(tmp_path, image_size=24)
    assert raw.class_names == ["cats", "dogs"]
    assert raw.y.tolist() == [0, 0, 1, 1] and raw.y.dtype == np.int64
    assert raw.x.shape == (4, 24, 24, 3) and raw.x.dtype == np.uint8  # RGB: some images have colour
    ds = load_dataset(str(tmp_path), image_size=24)
    assert tuple(ds.x.shape) == (4, 3, 24, 24) and ds.class_names == ["cats", "dogs"]


def test_image_folder_grayscale_unlabelled_and_centre_crop(tmp_path):
    wide = np.zeros((20, 60), np.uint8)
    wide[:, 20:40] = 255  # only the centre square is white
    save_image(tmp_path / "wide.png", wide)
    save_image(tmp_path / "tall.png", np.full((50, 10, 3), 128, np.uint8))  # grey content in RGB mode
    raw = load_image_folder(tmp_path, image_size=16)
    assert raw.y is None and raw.class_names == []
    assert raw.x.shape == (2, 16, 16, 1)
    assert (raw.x[1] == 255).all()  # sorted: tall.png, wide.png
    assert (raw.x[0] == 128).all()


def test_empty_image_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("no images")
    with pytest.raises(DataError, match="no images"):
        load_image_folder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(DataError, match="empty_class"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize("content", [b"this is not a png", "truncated"])
def test_corrupt_image_names_the_file(tmp_path, content):
    save_image(tmp_path / "good" / "ok.png", np.zeros((8, 8), np.uint8))
    if content == "truncated":
        buffer = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
        content = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    (tmp_path / "good" / "broken.png").write_bytes(content)
    with pytest.raises(DataError) as info:
        load_image_folder(tmp_path)
    assert "broken.png" in str(info.value)


def test_decompression_bomb_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a 40x40 image now triggers Pillow's bomb warning
    save_image(tmp_path / "big.png", np.zeros((40, 40), np.uint8))
    with pytest.raises(DataError, match="too large") as info:
        load_image_folder(tmp_path)
    assert "big.png" in str(info.value)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 400)  # beyond twice Pillow's limit: its error, our words
    with pytest.raises(DataError, match=r"big.png \(image is too large \(0 megapixels; at most 50 megapixels\)\)"):
        load_image_folder(tmp_path)


def test_transparency_is_the_same_black_whatever_the_png_encoding(tmp_path):
    """A colour-key PNG (grey or RGB with tRNS) kept its key colour while a palette PNG turned black."""
    from PIL import Image as PILImage

    white = np.full((16, 16), 255, np.uint8)
    grey = PILImage.fromarray(white, "L")
    grey.save(tmp_path / "grey.png", transparency=255)
    PILImage.fromarray(np.full((16, 16, 3), 255, np.uint8), "RGB").save(
        tmp_path / "rgb.png", transparency=(255, 255, 255)
    )
    grey.convert("P").save(tmp_path / "palette.png", transparency=255)
    raw = load_image_folder(tmp_path, 8)
    assert raw.x.max() == 0  # all three fully transparent: black, like RGBA images


def test_symlink_outside_folder_refused(tmp_path):
    outside = save_image(tmp_path / "outside" / "secret.png", np.zeros((8, 8), np.uint8))
    data = tmp_path / "data"
    save_image(data / "a" / "ok.png", np.zeros((8, 8), np.uint8))
    os.symlink(outside, data / "a" / "link.png")
    with pytest.raises(DataError, match="symlink") as info:
        load_image_folder(data)
    assert "link.png" in str(info.value)
    (data / "a" / "link.png").unlink()
    os.symlink(data / "a" / "ok.png", data / "a" / "inside.png")  # a link within the folder is fine
    assert load_image_folder(data).x.shape[0] == 2


# --- .npz ---


def test_npz_uint8_images_with_labels(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (6, 10, 10, 3), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 2, 0, 1, 2]), class_names=np.array(["a", "b", "c"]))
    raw = load_npz(tmp_path / "d.npz")
    assert isinstance(raw, RawImages)
    np.testing.assert_array_equal(raw.x, x)
    assert raw.y.tolist() == [0, 1, 2, 0, 1, 2] and raw.class_names == ["a", "b", "c"]


def test_npz_float_grayscale_images(tmp_path):
    x = np.linspace(0, 1, 4 * 8 * 8, dtype=np.float32).reshape(4, 8, 8)
    np.savez(tmp_path / "f.npz", x=x)
    raw = load_npz(tmp_path / "f.npz")
    assert raw.x.shape == (4, 8, 8, 1) and raw.x.dtype == np.uint8 and raw.y is None
    assert raw.x.min() == 0 and raw.x.max() == 255
    ds = load_dataset(str(tmp_path / "f.npz"), image_size=8)
    assert tuple(ds.x.shape) == (4, 1, 8, 8) and abs(ds.x.max().item() - 1.0) < 1e-6


def test_npz_points(tmp_path):
    points = np.random.default_rng(0).normal(size=(50, 2))
    np.savez(tmp_path / "p.npz", x=points, y=np.arange(50) % 2)
    ds = load_npz(tmp_path / "p.npz")
    assert isinstance(ds, Dataset) and ds.kind == "points"
    assert tuple(ds.x.shape) == (50, 2) and ds.class_names == ["0", "1"]
    np.testing.assert_allclose(ds.x.numpy(), points, rtol=1e-6)


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"x": np.full((3, 4, 4), np.nan)}, "NaN"),
        ({"x": np.full((3, 2), np.inf)}, "NaN or infinite"),
        ({"x": np.full((3, 4, 4), 1.5)}, r"\[0, 1\]"),
        ({"x": np.full((3, 4, 4), 300, dtype=np.int32)}, "0..255"),
        ({"x": np.zeros((3, 4, 4), dtype=np.complex64)}, "complex"),
        ({"x": np.zeros((3, 4, 4, 2), dtype=np.uint8)}, "channels"),
        ({"x": np.zeros((3,), dtype=np.uint8)}, "shape"),
        ({"x": np.zeros((3, 4, 4), np.uint8), "y": np.array([0, 1])}, "3 labels"),
        ({"x": np.zeros((3, 4, 4), np.uint8), "y": np.array([0.0, 1.0, 2.0])}, "integers"),
        ({"x": np.zeros((3, 4, 4), np.uint8), "y": np.array([0, -1, 2])}, "negative"),
        ({"x": np.zeros((3, 4, 4), np.uint8), "y": np.array([0, 1, 2]), "class_names": np.array(["a"])}, "names"),
        ({"images": np.zeros((3, 4, 4), np.uint8)}, "missing array 'x'.*images"),
    ],
)
def test_npz_bad_content(tmp_path, arrays, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=match) as info:
        load_npz(path)
    assert "bad.npz" in str(info.value)


def test_npz_object_array_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object))  # stored as a pickle inside the zip
    with pytest.raises(DataError, match="obj.npz"):
        load_npz(path)


@pytest.mark.parametrize("content", [b"PK\x03\x04 definitely not a zip", b"plain text", b""])
def test_npz_corrupt_file(tmp_path, content):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(content)
    with pytest.raises(DataError, match="corrupt.npz"):
        load_npz(path)


def test_npz_truncated_zip(tmp_path):
    path = tmp_path / "cut.npz"
    np.savez_compressed(path, x=np.random.default_rng(0).integers(0, 256, (20, 16, 16), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="cut.npz"):
        load_npz(path)
    assert not zipfile.is_zipfile(path)


# --- CIFAR-10 ---


class Py2StylePickler(pickle._Pickler):
    """Writes str and bytes as Python 2 `str` (BINSTRING), like the published CIFAR-10 batches."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str


def py2_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    Py2StylePickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")  # numpy 1 name


def write_cifar(folder: Path, sizes: dict[str, int], py2: bool = False, seed: int = 0) -> dict[str, np.ndarray]:
    """Tiny CIFAR-10 batches in the published layout; returns the data rows written per batch."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    dump = py2_pickle if py2 else (lambda obj: pickle.dumps(obj, protocol=2))
    meta = {b"label_names": [n.encode() for n in CIFAR10_CLASSES], b"num_cases_per_batch": 10, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(dump(meta))
    written = {}
    for name, n in sizes.items():
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        batch = {
            b"batch_label": name.encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": data,
            b"filenames": [f"img{i}.png".encode() for i in range(n)],
        }
        (folder / name).write_bytes(dump(batch))
        written[name] = data
    return written


@pytest.mark.parametrize("py2", [False, True])
def test_cifar_batches(tmp_path, py2):
    batches = tmp_path / "cifar-10-batches-py"
    sizes = {"data_batch_1": 4, "data_batch_2": 3, "data_batch_3": 1, "data_batch_4": 1, "data_batch_5": 1}
    written = write_cifar(batches, {**sizes, "test_batch": 2}, py2=py2)
    assert is_cifar_folder(tmp_path) and is_cifar_folder(batches)
    raw = load_cifar10(tmp_path)  # the parent folder works too
    assert raw.x.shape == (10, 32, 32, 3) and raw.x.dtype == np.uint8
    assert raw.class_names == CIFAR10_CLASSES and raw.y.dtype == np.int64 and raw.y.max() < 10
    first = written["data_batch_1"][0]
    np.testing.assert_array_equal(raw.x[0, :, :, 0].ravel(), first[:1024])  # red plane
    np.testing.assert_array_equal(raw.x[0, :, :, 2].ravel(), first[2048:])  # blue plane
    assert load_cifar10(batches, split="test").x.shape == (2, 32, 32, 3)
    ds = load_dataset(str(batches), image_size=32)
    assert tuple(ds.x.shape) == (10, 3, 32, 32) and len(ds.class_names) == 10
    (batches / "data_batch_4").unlink()  # a partial copy: refused by name, not trained on in part
    with pytest.raises(DataError, match="incomplete: data_batch_4 missing"):
        load_cifar10(batches)


def test_cifar_pickle_with_forbidden_global_does_not_run(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    folder = tmp_path / "cifar"
    write_cifar(folder, {"test_batch": 1})
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Exploit(), b"labels": [0]}, protocol=2))
    with pytest.raises(DataError, match="forbidden global") as info:
        load_cifar10(folder)
    assert "data_batch_1" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    "batch, match",
    [
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "uint8"),
        ({b"data": np.zeros((2, 1000), np.uint8), b"labels": [0, 1]}, "3072"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}, "labels"),
        ([1, 2, 3], "dict"),
    ],
)
def test_cifar_bad_batches(tmp_path, batch, match):
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataError, match=match) as info:
        load_cifar10(tmp_path)
    assert "data_batch_1" in str(info.value)


def test_cifar_truncated_pickle(tmp_path):
    write_cifar(tmp_path, {"data_batch_1": 2})
    path = tmp_path / "data_batch_1"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError, match="data_batch_1"):
        load_cifar10(tmp_path)


# --- built-in datasets ---


def test_ring8():
    ds = load_dataset("ring8")
    assert ds.kind == "points" and tuple(ds.x.shape) == (100000, 2)
    assert ds.y is not None and ds.y.shape == (100000,) and len(ds.class_names) == 8
    radius = ds.x.norm(dim=1)
    assert (radius - 1).abs().max().item() < 0.1


def test_grid25_points_near_centres():
    ds = load_dataset("grid25")
    centres, std = grid25_modes()
    assert tuple(ds.x.shape) == (100000, 2) and len(ds.class_names) == 25
    points = ds.x.numpy()
    distance = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2).min(axis=1)
    assert distance.max() < 5 * std * np.sqrt(2)  # per-axis within 5 std
    np.testing.assert_array_equal(np.linalg.norm(points - centres[ds.y.numpy()], axis=1) < 5 * std * np.sqrt(2), True)


@pytest.fixture(scope="module")
def shapes_dataset():
    return load_dataset("shapes", seed=0)


def test_shapes(shapes_dataset):
    ds = shapes_dataset
    assert tuple(ds.x.shape) == (12000, 1, 32, 32) and ds.kind == "images"
    assert ds.x.min().item() >= 0.0 and ds.x.max().item() <= 1.0 and ds.x.max().item() > 0.9
    assert len(ds.class_names) == 6 and sorted(set(ds.y.tolist())) == list(range(6))


def shapes_digest(seed: int) -> str:
    """MD5 of `load_dataset('shapes', seed=seed)` computed in a fresh interpreter (no in-process cache)."""
    code = (
        "import hashlib; from gan_studio.data import load_dataset; "
        f"print(hashlib.md5(load_dataset('shapes', seed={seed}).x.numpy().tobytes()).hexdigest())"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_shapes_deterministic_per_seed(shapes_dataset):
    assert shapes_digest(0) == hashlib.md5(shapes_dataset.x.numpy().tobytes()).hexdigest()
    a, _, _ = make_shapes(n=60, seed=1)
    c, _, _ = make_shapes(n=60, seed=2)
    assert not np.array_equal(a, c)


def test_nonexistent_path():
    with pytest.raises(DataError, match="nonexistent"):
        load_dataset("/nonexistent")


def test_unsupported_file(tmp_path):
    (tmp_path / "data.csv").write_text("1,2\n")
    with pytest.raises(DataError, match="data.csv"):
        load_raw(str(tmp_path / "data.csv"))


def _png(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_zip_with_one_top_folder_and_a_readme_beside_it_reads_the_folder(tmp_path):
    """A README.txt beside the one top folder made that folder the only class, silently."""
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("README.txt", "about these pets")
        z.writestr("data/cats/x.png", _png((255, 0, 0)))
        z.writestr("data/dogs/y.png", _png((0, 0, 255)))
    ds = load_dataset(str(archive), image_size=8)
    assert ds.class_names == ["cats", "dogs"] and sorted(ds.y.tolist()) == [0, 1]


@pytest.mark.parametrize("as_zip", [False, True])
def test_images_beside_the_class_folders_are_listed_not_dropped_silently(tmp_path, as_zip):
    files = {"a/0.png": (255, 0, 0), "a/1.png": (255, 0, 0), "b/0.png": (0, 0, 255), "top.png": (0, 255, 0)}
    if as_zip:
        data = tmp_path / "mixed.zip"
        with zipfile.ZipFile(data, "w") as z:
            for name, colour in files.items():
                z.writestr(name, _png(colour))
    else:
        data = tmp_path / "mixed"
        for name, colour in files.items():
            (data / name).parent.mkdir(parents=True, exist_ok=True)
            (data / name).write_bytes(_png(colour))
    with pytest.raises(DataError, match=r"top\.png.*beside the class folders"):
        load_dataset(str(data), image_size=8)
    ds = load_dataset(str(data), image_size=8, skip_bad_files=True)
    assert len(ds) == 3 and ds.class_names == ["a", "b"]
    assert [s["name"] for s in ds.skipped] == ["top.png"] and "in no class" in ds.skipped[0]["reason"]


@pytest.mark.parametrize("given", ["parent", "python folder"])
def test_a_cifar100_folder_is_named_as_a_format_not_read(tmp_path, given):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name in ("meta", "train", "test"):
        (folder / name).write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(DataError, match="a CIFAR-100 python folder"):
        load_dataset(str(tmp_path if given == "parent" else folder), image_size=8)


def test_npz_labels_saved_as_a_column_are_read_like_a_vector(tmp_path):
    """(N, 1) labels, as Keras and scikit-learn often save them, were refused."""
    from gan_studio.data import load_dataset

    x = np.random.default_rng(0).integers(0, 256, (12, 10, 10), dtype=np.uint8)
    np.savez(tmp_path / "column.npz", x=x, y=(np.arange(12) % 3)[:, None])
    data = load_dataset(str(tmp_path / "column.npz"), image_size=8)
    assert data.y.tolist() == [0, 1, 2] * 4
    np.savez(tmp_path / "wide.npz", x=x, y=np.zeros((12, 2), np.int64))
    with pytest.raises(DataError, match=r"expected 12 labels \(one per sample\), got shape \(12, 2\)"):
        load_dataset(str(tmp_path / "wide.npz"), image_size=8)


def test_a_misspelt_built_in_dataset_gets_a_suggestion(tmp_path, monkeypatch):
    """`--dat` and `trian` got "did you mean", `--data shapez` only the whole list (s12P)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"nor an existing path; did you mean shapes\?"):
        load_dataset("shapez")
    with pytest.raises(DataError, match=r"nor an existing path$"):
        load_dataset(str(tmp_path / "no-such-folder"))


def test_data_info_shows_each_file_split_and_data_clear_takes_the_path_prepared_with(tmp_path, capsys, monkeypatch):
    """Train and test files of one set looked like duplicates in `data info`; `data clear ./cifar` said 'no
    prepared dataset comes from cifar' although `data prepare ./cifar` had made one (it records the batches
    folder inside); a folder holding one split prepared it for --split test and train alike, unsaid."""
    from gan_studio.cli import main

    write_cifar(tmp_path / "cifar" / "cifar-10-batches-py", {**{f"data_batch_{i}": 3 for i in range(1, 6)},
                                                              "test_batch": 4})  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for split in ("train", "test"):
        assert main(["data", "prepare", "./cifar", "--split", split, "--quiet"]) == 0
    assert "split" not in capsys.readouterr().out  # both splits are there: nothing to say
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "cifar (training files): 15 images" in out and "cifar (test files): 4 images" in out
    assert f"from {tmp_path / 'cifar'} (" in out  # the path prepared with
    assert main(["data", "clear", "./cifar"]) == 0
    assert "removed 2 file(s)" in capsys.readouterr().out
    t10k = tmp_path / "mnist"
    t10k.mkdir()
    images = np.random.default_rng(0).integers(0, 256, (6, 28, 28), dtype=np.uint8)
    (t10k / "t10k-images-idx3-ubyte").write_bytes(
        bytes([0, 0, 8, 3]) + struct.pack(">3I", 6, 28, 28) + images.tobytes()
    )
    assert main(["data", "prepare", str(t10k), "--quiet"]) == 0
    assert (
        "holds only its test split: that was prepared, the same file serves as both splits" in capsys.readouterr().out
    )

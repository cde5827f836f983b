"""Prepared datasets: rebuilt when the data changes, never used when damaged, one valid file per concurrent build,
bad files listed or skipped, parallel decoding equal to serial, cancel, zip archives, and the `data` command."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_studio.cli import main as cli_main
from gan_studio.data import PreparationCancelled, load_dataset
from gan_studio.data import cache as cache_mod
from gan_studio.data import prepare as prepare_mod
from gan_studio.data.folder import load_image_folder
from gan_studio.errors import DataError

REPO = Path(__file__).resolve().parents[1]


def write_image(path: Path, seed: int, size=(40, 30), mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = 3 if mode == "RGB" else 1
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(path)


def make_folder(root: Path, per_class: int = 3, classes=("cats", "dogs")) -> Path:
    for c, name in enumerate(classes):
        for i in range(per_class):
            write_image(root / name / f"{i:03d}.png", seed=100 * c + i)
    return root


def prepared_files() -> list[Path]:
    root = cache_mod.cache_root()
    return sorted(root.glob(f"*{cache_mod.SUFFIX}")) if root.is_dir() else []


def temp_files() -> list[Path]:
    root = cache_mod.cache_root()
    return sorted(root.glob("*.tmp")) if root.is_dir() else []


# --- the cache follows the data ------------------------------------------------------------------


def test_second_load_maps_the_prepared_file_and_gives_the_same_pixels(tmp_path):
    folder = make_folder(tmp_path / "data")
    first = load_dataset(str(folder), image_size=16)
    assert first.prepared_file and isinstance(first.pixels, np.memmap)
    mtime = os.stat(first.prepared_file).st_mtime_ns
    second = load_dataset(str(folder), image_size=16)
    assert second.prepared_file == first.prepared_file
    assert os.stat(second.prepared_file).st_mtime_ns == mtime  # reused, not rebuilt
    np.testing.assert_array_equal(np.asarray(second.pixels), np.asarray(first.pixels))
    raw = load_image_folder(folder, 16)  # the same decoder, in memory
    np.testing.assert_array_equal(np.asarray(first.pixels), raw.x.transpose(0, 3, 1, 2))
    assert first.y.tolist() == raw.y.tolist() and first.class_names == ["cats", "dogs"]


@pytest.mark.parametrize("change", ["add", "remove", "modify", "rename"])
def test_cache_is_rebuilt_when_the_folder_changes(tmp_path, change):
    folder = make_folder(tmp_path / "data")
    before = load_dataset(str(folder), image_size=16)
    other_size = load_dataset(str(folder), image_size=8)
    before_rows = np.asarray(before.take([0, 5]))
    target = folder / "dogs" / "001.png"
    if change == "add":
        write_image(folder / "dogs" / "new.png", seed=999)
    elif change == "remove":
        target.unlink()
    elif change == "modify":
        write_image(target, seed=4242, size=(50, 30))  # other content (and size)
    else:
        target.rename(folder / "dogs" / "zzz.png")
    after = load_dataset(str(folder), image_size=16)
    assert after.prepared_file != before.prepared_file
    expected = load_image_folder(folder, 16)
    np.testing.assert_array_equal(np.asarray(after.pixels), expected.x.transpose(0, 3, 1, 2))
    assert len(after) == {"add": 7, "remove": 5}.get(change, 6)
    # the stale copy is gone (each edit of a large folder left a whole one), the other size's file stays,
    # and a dataset still open on the stale copy reads on
    assert prepared_files() == sorted([Path(after.prepared_file), Path(other_size.prepared_file)])
    np.testing.assert_array_equal(np.asarray(before.take([0, 5])), before_rows)


def test_a_changed_npz_replaces_its_prepared_file_and_leaves_other_data_alone(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "a.npz", x=rng.integers(0, 256, (40, 20, 20), dtype=np.uint8))
    np.savez(tmp_path / "b.npz", x=rng.integers(0, 256, (30, 20, 20), dtype=np.uint8))
    other = load_dataset(str(tmp_path / "b.npz"), image_size=16)
    load_dataset(str(tmp_path / "a.npz"), image_size=16)
    np.savez(tmp_path / "a.npz", x=rng.integers(0, 256, (41, 20, 20), dtype=np.uint8))  # one image more
    changed = load_dataset(str(tmp_path / "a.npz"), image_size=16)
    assert len(changed) == 41
    assert prepared_files() == sorted([Path(changed.prepared_file), Path(other.prepared_file)])


def test_cache_key_depends_on_the_image_size_and_an_idx_split_fallback_shares_one_file(tmp_path, mnist_dir):
    small = load_dataset(str(mnist_dir), image_size=28)
    large = load_dataset(str(mnist_dir), image_size=32)
    assert small.prepared_file != large.prepared_file and large.sample_shape == (1, 32, 32)
    test = load_dataset(str(mnist_dir), image_size=32, split="test")  # only t10k files: both splits read them
    assert test.prepared_file == large.prepared_file


# --- damaged files are rebuilt, never trained on ---------------------------------------------------


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        data = data[: len(data) // 2]
    elif how == "flip-pixel":
        data[5] ^= 0xFF
    elif how == "flip-label":
        meta = cache_mod.read_meta(path)
        data[meta.pixel_bytes] ^= 0x01
    elif how == "flip-meta":
        data[-cache_mod.TRAILER.size - 3] ^= 0x20
    elif how == "append":
        data += b"\0" * 10
    elif how == "empty":
        data = bytearray()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "flip-label", "flip-meta", "append", "empty"])
def test_a_prepared_file_with_a_bad_size_meta_or_labels_is_rebuilt_at_open(tmp_path, how):
    folder = make_folder(tmp_path / "data")
    good = np.array(load_dataset(str(folder), image_size=16).pixels)
    path = prepared_files()[0]
    _damage(path, how)
    with pytest.raises(cache_mod.CorruptCache):
        cache_mod.verify(path, cache_mod.read_meta(path))
    again = load_dataset(str(folder), image_size=16)
    np.testing.assert_array_equal(np.asarray(again.pixels), good)  # rebuilt: the damaged file was not used
    cache_mod.verify(Path(again.prepared_file), cache_mod.read_meta(Path(again.prepared_file)))


def test_damaged_pixels_are_caught_before_their_first_use_and_the_file_rebuilt_next_time(tmp_path):
    from gan_studio.engine.batches import BatchStream

    folder = make_folder(tmp_path / "data", per_class=150)  # 300 images: blocks 0 (rows 0..255) and 1
    good = np.array(load_dataset(str(folder), image_size=16).pixels)
    path = prepared_files()[0]
    data = bytearray(path.read_bytes())
    data[5] ^= 0xFF  # a pixel of row 0, in block 0
    path.write_bytes(bytes(data))
    damaged = load_dataset(str(folder), image_size=16)  # size, meta and labels are fine
    assert damaged.take([299]).shape == (1, 3, 16, 16)  # block 1 checks out
    with pytest.raises(DataError, match="damaged .rows 0..255 do not match their checksum"):
        damaged.take([3])
    assert not path.exists()  # removed at once
    again = load_dataset(str(folder), image_size=16)
    np.testing.assert_array_equal(np.asarray(again.pixels), good)
    path.write_bytes(bytes(data))  # damage the rebuilt file the same way: training must not read it either
    stream = BatchStream(load_dataset(str(folder), image_size=16), 0, 64, seed=0)
    with pytest.raises(DataError, match="damaged"):
        for _ in range(5):  # 4 batches of 64 per epoch: every block is read in the first epoch
            stream()


def test_a_dataset_in_use_keeps_working_when_its_prepared_file_is_cleared(tmp_path, capsys):
    """`gan-studio data clear` while a run trains on the data: the run goes on reading what it opened
    (it failed with 'the prepared dataset file is damaged (... unreadable (No such file or directory))')."""
    folder = make_folder(tmp_path / "data", per_class=150)
    expected = np.asarray(load_dataset(str(folder), image_size=16).take([3, 299]))
    in_use = load_dataset(str(folder), image_size=16)  # opened from the cache: no block checked yet
    assert cli_main(["data", "clear", str(folder)]) == 0 and not prepared_files()
    np.testing.assert_array_equal(np.asarray(in_use.take([3, 299])), expected)


# --- concurrent builders ---------------------------------------------------------------------------

BUILDER = """
import sys
from gan_studio.data import load_dataset
sys.stdin.readline()  # start together
ds = load_dataset(sys.argv[1], image_size=24, workers=1)
print(ds.prepared_file, ds.fingerprint(), flush=True)
"""


def test_two_processes_preparing_the_same_data_end_with_one_valid_file(tmp_path):
    folder = make_folder(tmp_path / "data", per_class=200)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", BUILDER, str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for _ in range(2)
    ]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    results = {out.strip() for out, _ in outputs}
    assert len(results) == 1  # same file, same content
    files = prepared_files()
    assert len(files) == 1 and not temp_files()
    cache_mod.verify(files[0], cache_mod.read_meta(files[0]))


def test_a_builder_waits_for_the_one_holding_the_lock(tmp_path):
    folder = make_folder(tmp_path / "data")
    from gan_studio.data.decode import DECODER_VERSION
    from gan_studio.data.imagefiles import list_image_folder

    listing = list_image_folder(folder)
    key = cache_mod.content_key({"v": DECODER_VERSION, "size": 16, **listing.key_parts()})
    final = cache_mod.cache_path("data", 16, key)
    done = threading.Event()
    result = {}

    told = []

    def build():
        result["ds"] = load_dataset(str(folder), image_size=16, progress=lambda done, total: told.append(total))
        done.set()

    with cache_mod.build_lock(final):
        worker = threading.Thread(target=build)
        worker.start()
        assert not done.wait(1.0)  # blocked on the lock
        assert not final.exists()
        assert told == [prepare_mod.WAITING]  # and says so once (a second `data prepare` printed nothing for 66 s)
    worker.join(60)
    assert done.is_set() and Path(result["ds"].prepared_file) == final


def test_commits_racing_without_a_lock_leave_one_valid_file(tmp_path):
    """Where the file system has no locks, the atomic rename alone keeps the file whole."""
    final = cache_mod.cache_root() / f"race{cache_mod.SUFFIX}"
    writers = [cache_mod.CacheWriter(final, 3, 1, 4) for _ in range(2)]
    for value, writer in enumerate(writers):
        rows = np.full((3, 1, 4, 4), value, np.uint8)
        prepare_mod.write_at(str(writer.temp), 0, rows)
        meta = cache_mod.CacheMeta(key="k", name="race", source="s", count=3, channels=1, side=4, labelled=False,
                                   class_names=[], block_crcs=cache_mod.block_crcs(rows))  # fmt: skip
        writer.commit(meta, None)
    assert [p.name for p in prepared_files()] == [final.name] and not temp_files()
    cache_mod.verify(final, cache_mod.read_meta(final))


# --- bad files ---------------------------------------------------------------------------------------


def make_folder_with_bad_files(root: Path, bad: int) -> Path:
    make_folder(root, per_class=4)
    for i in range(bad):
        target = root / ("cats" if i % 2 else "dogs")
        kind = i % 3
        if kind == 0:
            (target / f"bad{i:03d}.png").write_bytes(b"not an image at all")
        elif kind == 1:
            good = io.BytesIO()
            Image.new("RGB", (30, 30), (1, 2, 3)).save(good, format="JPEG")
            (target / f"bad{i:03d}.jpg").write_bytes(good.getvalue()[:200])  # truncated
        else:
            os.mkfifo(target / f"bad{i:03d}.png")  # must never be opened
    return root


def test_one_error_lists_every_bad_file_up_to_twenty_and_counts_the_rest(tmp_path):
    folder = make_folder_with_bad_files(tmp_path / "data", bad=25)
    with pytest.raises(DataError) as info:
        load_dataset(str(folder), image_size=16)
    message = str(info.value)
    assert "25 of 33 image files cannot be used" in message and "and 5 more" in message
    assert message.count("/bad0") == 20 and "\n" not in message
    assert "FIFO" in message and "--skip-bad-files" in message and '"skip bad files"' in message  # the app's box too
    (folder / "cats" / "bad000.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"bad000.png \(empty file \(0 bytes\)\)"):  # said so, not "corrupt"
        load_dataset(str(folder), image_size=16)


def test_skip_bad_files_trains_on_the_rest_and_records_them(tmp_path):
    from gan_studio.config import apply_values
    from gan_studio.engine.settings import TrainConfig
    from gan_studio.engine.trainer import Trainer
    from gan_studio.models import default_config
    from gan_studio.store.rundir import RunDir

    folder = make_folder_with_bad_files(tmp_path / "data", bad=3)
    ds = load_dataset(str(folder), image_size=32, skip_bad_files=True)
    assert len(ds) == 8 and ds.skipped_count == 3
    assert sorted(s["name"] for s in ds.skipped) == ["cats/bad001.jpg", "dogs/bad000.png", "dogs/bad002.png"]
    config = apply_values(default_config("dcgan"), {"image_size": 32, "ngf": 4, "ndf": 4, "latent_dim": 4})
    train = apply_values(TrainConfig(), {"data": str(folder), "steps": 2, "batch_size": 4, "skip_bad_files": True,
                                         "sample_every": 0, "checkpoint_every": 0})  # fmt: skip
    trainer = Trainer.new("dcgan", config, train, out=tmp_path / "run")
    list(trainer)
    info = RunDir(tmp_path / "run").read_info()
    assert info["dataset"]["skipped_files"] == 3 and len(info["dataset"]["skipped"]) == 3
    assert info["status"] == "finished"


def test_skipping_bad_files_compacts_in_place_and_keeps_the_good_pixels(tmp_path, monkeypatch):
    """The prepared file is never copied to leave bad rows out (a 2.5 GB set needed 5 GB of disk)."""
    folder = make_folder(tmp_path / "data", per_class=40)
    expected = np.array(load_dataset(str(folder), image_size=12).pixels)
    cache_mod.clear_prepared()
    for name in ("cats/000.png", "dogs/017.png", "dogs/039.png"):
        (folder / name).write_bytes(b"not an image")
    writers = []
    real_writer = cache_mod.CacheWriter

    def counted_writer(*args, **kwargs):
        writers.append(args)
        return real_writer(*args, **kwargs)

    monkeypatch.setattr(cache_mod, "CacheWriter", counted_writer)
    data = load_dataset(str(folder), image_size=12, skip_bad_files=True)
    kept = [i for i in range(80) if i not in (0, 40 + 17, 40 + 39)]
    assert len(writers) == 1 and np.array_equal(np.array(data.pixels), expected[kept])
    assert data.y.tolist() == [0] * 39 + [1] * 38


def test_a_class_whose_every_file_is_bad_is_refused_even_when_skipping(tmp_path):
    folder = make_folder(tmp_path / "data", per_class=2, classes=("cats", "dogs", "owls"))
    for name in ("owls/000.png", "owls/001.png"):
        (folder / name).write_bytes(b"truncated")
    with pytest.raises(DataError, match="no usable image is left in class folder 'owls'"):
        load_dataset(str(folder), image_size=8, skip_bad_files=True)


def test_skipped_list_in_the_descriptor_is_bounded(tmp_path):
    folder = make_folder(tmp_path / "data", per_class=1)
    for i in range(150):
        (folder / "cats" / f"x{i:03d}{'y' * 200}.png").write_bytes(b"junk")
    ds = load_dataset(str(folder), image_size=8, skip_bad_files=True)
    described = ds.describe()
    assert described["skipped_files"] == 150 and len(described["skipped"]) == cache_mod.MAX_SKIPPED_LISTED
    assert all(len(s["name"]) <= 300 for s in described["skipped"])


# --- parallel decoding, progress and cancel -------------------------------------------------------------


def test_parallel_decoding_gives_the_same_file_as_serial(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "data", per_class=300)
    serial = np.array(load_dataset(str(folder), image_size=12, workers=1).pixels)
    cache_mod.clear_prepared()
    monkeypatch.setattr(prepare_mod, "PARALLEL_MIN_IMAGES", 0)
    seen = []
    parallel = load_dataset(str(folder), image_size=12, workers=2, progress=lambda d, t: seen.append((d, t)))
    np.testing.assert_array_equal(np.asarray(parallel.pixels), serial)
    assert seen[-1] == (600, 600) and all(t == 600 for _, t in seen)


def test_too_little_disk_space_says_what_it_needs_including_the_spare_room(tmp_path, monkeypatch):
    """'needs 52.7 MB, 60.0 MB are free' read as a contradiction: the spare room is said too."""
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage._replace(free=60 * 2**20))
    with pytest.raises(DataError, match=r"it needs 50.0 MB and 64.0 MB to spare, 60.0 MB are free"):
        cache_mod.check_disk_space(tmp_path, 50 * 2**20)


def test_progress_counts_every_file_the_error_counts(tmp_path):
    """A stray top-level image of a class folder is left out before decoding: progress ends at the same total
    as the bad-files message ("1 of 601 image files"), not at 600/600."""
    folder = make_folder(tmp_path / "data", per_class=300)
    write_image(folder / "stray.png", seed=7)
    seen = []
    ds = load_dataset(str(folder), image_size=12, skip_bad_files=True, progress=lambda d, t: seen.append((d, t)))
    assert ds.describe()["skipped_files"] == 1
    assert seen[-1] == (601, 601) and all(t == 601 for _, t in seen)


@pytest.mark.parametrize("workers", [1, 2])
def test_cancel_stops_preparation_and_leaves_nothing(tmp_path, monkeypatch, workers):
    folder = make_folder(tmp_path / "data", per_class=400)
    monkeypatch.setattr(prepare_mod, "PARALLEL_MIN_IMAGES", 0)
    cancel = threading.Event()
    with pytest.raises(PreparationCancelled):
        load_dataset(str(folder), image_size=12, workers=workers, cancel=cancel, progress=lambda d, t: cancel.set())
    assert not prepared_files() and not temp_files()


# --- zip archives --------------------------------------------------------------------------------------


def zip_folder(folder: Path, archive: Path, top: str | None = None) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            zf.write(path, f"{top}/{name}" if top else name)
    return archive


@pytest.mark.parametrize("top", [None, "img_align_celeba"])
def test_a_zip_reads_like_its_folder(tmp_path, top):
    folder = make_folder(tmp_path / "data")
    archive = zip_folder(folder, tmp_path / "data.zip", top)
    from_zip = load_dataset(str(archive), image_size=16)
    from_folder = load_image_folder(folder, 16)
    np.testing.assert_array_equal(np.asarray(from_zip.pixels), from_folder.x.transpose(0, 3, 1, 2))
    assert from_zip.class_names == ["cats", "dogs"] and from_zip.y.tolist() == from_folder.y.tolist()


def test_a_zip_member_climbing_out_refuses_the_archive(tmp_path):
    archive = tmp_path / "evil.zip"
    image = io.BytesIO()
    Image.new("RGB", (8, 8)).save(image, format="PNG")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.png", image.getvalue())
        zf.writestr("../escape.png", image.getvalue())
    with pytest.raises(DataError, match="unsafe name"):
        load_dataset(str(archive), image_size=8)


# --- the data command and the user's folder ---------------------------------------------------------------


def test_data_clear_takes_a_built_in_sets_name(tmp_path, capsys, monkeypatch, mnist_dir):
    """`data clear mnist` looked for a folder ./mnist; `data clear ring8` said no such file (review s18H #9)."""
    import gan_studio.data.download as download

    monkeypatch.chdir(tmp_path)

    def not_downloaded(name, download=True):
        raise DataError(f"dataset '{name}' is not downloaded")

    monkeypatch.setattr(download, "ensure_dataset", not_downloaded)
    code = cli_main(["data", "clear", "mnist"])
    assert code == 2 and "mnist is not downloaded: nothing of it is prepared" in capsys.readouterr().err
    code = cli_main(["data", "clear", "ring8"])
    assert code == 2 and "ring8 is a built-in procedural set, drawn in memory" in capsys.readouterr().err
    monkeypatch.setattr(download, "ensure_dataset", lambda name, download=True: mnist_dir)  # downloaded there
    assert cli_main(["data", "prepare", str(mnist_dir), "--quiet"]) == 0 and len(prepared_files()) == 1
    capsys.readouterr()
    assert cli_main(["data", "clear", "mnist"]) == 0
    assert "removed 1 file(s)" in capsys.readouterr().out and not prepared_files()


def test_data_prepare_info_and_clear(tmp_path, capsys):
    folder = make_folder(tmp_path / "data")
    assert cli_main(["data", "prepare", str(folder), "--image-size", "16", "--quiet"]) == 0
    assert "6 images of 16x16 RGB, 2 classes" in capsys.readouterr().out
    assert cli_main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "data: 6 images 16x16 RGB, 2 classes" in out and str(folder) in out
    # what a `data prepare` killed mid-way leaves: its temporary file, beside the (idle) build lock
    final = prepared_files()[0]
    leftover = final.with_name(f"{final.name}.99999.123.tmp")
    leftover.write_bytes(b"\0" * 5000)
    assert cli_main(["data", "info"]) == 0
    assert "1 unfinished file(s) of stopped preparations" in capsys.readouterr().out
    assert cli_main(["data", "clear"]) == 0
    assert "removed 2 file" in capsys.readouterr().out and not prepared_files() and not leftover.exists()


def test_nothing_in_the_data_folder_is_written_and_a_read_only_folder_works(tmp_path):
    folder = make_folder_with_bad_files(tmp_path / "data", bad=3)

    def snapshot():
        return sorted((str(p), p.lstat().st_mode, p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*"))

    before = snapshot()
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o555)
    try:
        ds = load_dataset(str(folder), image_size=16, skip_bad_files=True)
        assert len(ds) == 8
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
    assert snapshot() == before


def test_dataset_contract_take_head_subset_and_channels(tmp_path):
    folder = make_folder(tmp_path / "data")
    ds = load_dataset(str(folder), image_size=16, value_range=(-1.0, 1.0), channels=1)
    assert ds.sample_shape == (1, 16, 16) and ds.pixels.shape == (6, 3, 16, 16)
    batch = ds.take([5, 0])
    assert batch.dtype == torch.float32 and batch.shape == (2, 1, 16, 16)
    assert float(batch.min()) >= -1.0 and float(batch.max()) <= 1.0
    torch.testing.assert_close(ds.head(2), ds.take([0, 1]))
    small = ds.subset([1, 3])
    assert len(small) == 2 and not isinstance(small.pixels, np.memmap) and small.y.tolist() == ds.y[[1, 3]].tolist()
    torch.testing.assert_close(small.take([1]), ds.take([3]))


def test_torchrun_ranks_share_one_prepared_file(tmp_path):
    from test_distributed import check_one_run_with_identical_ranks, torchrun

    folder = make_folder(tmp_path / "data", per_class=40)
    run, _ = torchrun(tmp_path, "dcgan", "--data", str(folder), "--ngf", "4", "--ndf", "4", "--latent-dim", "8",
                      "--batch-size", "8", "--flip", "true")  # fmt: skip
    check_one_run_with_identical_ranks(run, 12, 8)
    files = prepared_files()
    assert len(files) == 1 and not temp_files()  # built once (local rank 0), mapped by both ranks
    assert run.read_info()["dataset"]["source"] == str(folder.resolve())


def test_a_script_loading_data_without_a_main_guard_fails_clearly_instead_of_hanging(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    tiny = io.BytesIO()
    Image.new("RGB", (8, 8), (9, 9, 9)).save(tiny, format="PNG")
    for i in range(prepare_mod.PARALLEL_MIN_IMAGES + 100):  # enough for worker processes
        (folder / f"{i:05d}.png").write_bytes(tiny.getvalue())
    script = tmp_path / "unguarded.py"
    script.write_text(
        f"from gan_studio.data import load_dataset\nload_dataset({str(folder)!r}, image_size=8, workers=2)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode != 0 and 'if __name__ == "__main__":' in result.stderr
    assert not prepared_files() and not temp_files()


def test_large_npz_images_are_fitted_a_few_at_a_time_and_oversized_ones_refused(tmp_path, monkeypatch):
    """A small compressed .npz may hold gigabytes of pixels: they are read and fitted in chunks of a
    bounded number of bytes, not of a fixed number of images (1,024 images of 384 px took 3.5 GB)."""
    from gan_studio.data import budgets
    from gan_studio.data import dataset as dataset_mod

    monkeypatch.setattr(budgets, "CHUNK_BYTES", 3 * 96 * 96 * 3)  # three of these images at a time
    chunk_bytes = []
    real_fit = dataset_mod.fit_uint8

    def recording_fit(raw, image_size, start=0, stop=None):
        chunk_bytes.append(np.asarray(raw[start:stop]).nbytes)
        return real_fit(raw, image_size, start, stop)

    monkeypatch.setattr(dataset_mod, "fit_uint8", recording_fit)
    pixels = np.random.default_rng(0).integers(0, 256, (10, 96, 96, 3), dtype=np.uint8)
    np.savez_compressed(tmp_path / "photos.npz", x=pixels)
    data = load_dataset(str(tmp_path / "photos.npz"), image_size=32)
    assert len(data) == 10 and max(chunk_bytes) <= budgets.CHUNK_BYTES and len(chunk_bytes) == 4
    np.savez_compressed(tmp_path / "huge.npz", x=np.zeros((1, 8000, 7000), np.uint8))  # 56 megapixels
    with pytest.raises(DataError, match="7,000 x 8,000 pixels, beyond the limit of 50 megapixels per image"):
        load_dataset(str(tmp_path / "huge.npz"), image_size=32)


def test_decoding_workers_die_with_their_parent_even_when_it_is_killed(tmp_path):
    """SIGKILL (the OOM killer, a scheduler) gives the pool no chance to shut down: the workers go anyway."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, time\n"
        "from gan_studio.data.prepare import decoding_pool\n"
        "if __name__ == '__main__':\n"
        "    pool = decoding_pool(2)\n"
        "    print(*{pool.submit(time.sleep, 0.2) and pool.submit(os.getpid).result() for _ in range(8)}, flush=True)\n"
        "    time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert workers and all(_alive(pid) for pid in workers)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_system_folders_are_not_classes_and_a_stray_sub_folder_does_not_swallow_the_photos(tmp_path):
    """A NAS puts @eaDir/ (thumbnails) in every photo folder: the photos were then "in no class", and
    skipping bad files trained on the thumbnails alone."""
    photos = tmp_path / "photos"
    for i in range(6):
        write_image(photos / f"img{i}.jpg", seed=i)
    write_image(photos / "@eaDir" / "img0.jpg" / "SYNOPHOTO_THUMB_M.jpg", seed=50)
    write_image(photos / "#recycle" / "old.jpg", seed=51)
    data = load_dataset(str(photos), image_size=8, skip_bad_files=True)
    assert len(data) == 6 and data.y is None
    write_image(photos / "rejected" / "blurry.jpg", seed=52)
    # more photos at the top than in the sub-folder: one set of all of them, without classes, and said so (it
    # was refused: a photographer's "Edits" folder beside the photos had to be moved out, review s13V)
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(photos.rglob("*.jpg")):
            zf.write(path, path.relative_to(photos).as_posix())
    for source in (photos, archive):
        data = load_dataset(str(source), image_size=8)
        assert len(data) == 7 and data.y is None and data.class_names == []
        note = data.describe()["one_set"]
        assert note.startswith("6 images lie at the top beside 1 sub-folder ('rejected'): all are read as one set")
    for i in range(3):  # a class layout with a few strays at the top: still classes, the strays bad files
        write_image(photos / "rejected" / f"more{i}.jpg", seed=60 + i)
        write_image(photos / "kept" / f"k{i}.jpg", seed=70 + i)
    data = load_dataset(str(photos), image_size=8, skip_bad_files=True)
    assert data.class_names == ["kept", "rejected"] and len(data) == 7 and data.skipped_count == 6
    assert "one_set" not in data.describe()


def test_the_progress_line_says_when_it_waits_and_rates_from_the_first_images_on(monkeypatch):
    """The first ETA counted the workers' start-up: '34m51s' for a prepare that took 2m42s; and a rate from the
    first chunks alone, which finish together as the workers start, said 'ETA 1h03m' for one of 2m30s."""
    from gan_studio.commands import data as data_command

    clock = iter([30.0, 31.0, 35.0])  # the first images at 30 s; 100 more 1 s later; 400 more 4 s after that
    monkeypatch.setattr(data_command.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    line = data_command.ProgressLine("preparing", stream=out)
    line.tty = False
    line.update(0, prepare_mod.WAITING)
    for done in (100, 200, 600):
        line.last_print = -100.0
        line.update(done, 10_100)
    lines = out.getvalue().splitlines()
    assert lines[0] == "preparing: waiting for another process that is preparing the same data"
    assert lines[1:3] == ["preparing: 100/10,100 (1%)", "preparing: 200/10,100 (2%)"]  # no rate nor ETA yet
    assert lines[3] == "preparing: 600/10,100 (6%), 100/s, ETA 1m35s"  # 9,500 left at 100/s, from the first images


def test_pictures_in_formats_not_read_are_counted_and_named(tmp_path, capsys):
    """A folder of .heic photos said only "no images found"; .psd files beside PNGs were dropped unsaid."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        (photos / f"IMG_{i}.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    with pytest.raises(
        DataError,
        match=r"no images found .*; 2 \.heic files in formats not read "
        r"\(IMG_0.HEIC, IMG_1.HEIC\): convert them to PNG",
    ):
        load_dataset(str(photos), image_size=8)
    for i in range(3):
        write_image(photos / f"p{i}.png", seed=i)
    (photos / "layers.psd").write_bytes(b"8BPS")
    assert cli_main(["data", "prepare", str(photos), "--image-size", "8", "--quiet"]) == 0
    assert (
        "2 .heic and 1 .psd files in formats not read (IMG_0.HEIC, IMG_1.HEIC, layers.psd)" in capsys.readouterr().out
    )
    described = load_dataset(str(photos), image_size=8).describe()
    assert described["formats_not_read"] == {".heic": 2, ".psd": 1}
    assert described["formats_not_read_names"] == ["IMG_0.HEIC", "IMG_1.HEIC", "layers.psd"]  # run.json names them


def test_the_first_failing_prepare_names_the_files_in_formats_not_read_too(tmp_path, capsys):
    """The bad-files error (exit 2) said nothing of a .heic file; the next run counted it, never named it."""
    folder = make_folder_with_bad_files(tmp_path / "data", bad=1)
    (folder / "cats" / "2019").mkdir()
    (folder / "cats" / "2019" / "IMG_1.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    assert cli_main(["data", "prepare", str(folder), "--image-size", "8", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "1 of 9 image files cannot be used" in err
    assert "Also 1 .heic file in formats not read (cats/2019/IMG_1.HEIC): convert them to PNG or JPEG" in err
    assert cli_main(["data", "prepare", str(folder), "--image-size", "8", "--quiet", "--skip-bad-files"]) == 0
    assert "1 .heic file in formats not read (cats/2019/IMG_1.HEIC)" in capsys.readouterr().out


def test_tiff_scans_and_gifs_are_read_as_images(tmp_path):
    """Photographers keep TIFF scans (8 or 16 bits) and GIFs beside their JPEGs: they were counted as "formats
    not read" (review s13V). They are read: a GIF's first frame, 16-bit values scaled to 8 bits."""
    folder = tmp_path / "scans"
    folder.mkdir()
    Image.new("RGB", (12, 12), (200, 40, 10)).save(folder / "colour.tif")
    Image.fromarray(np.full((12, 12), 65535 // 2, np.uint16)).save(folder / "grey16.tiff")
    frames = [Image.new("P", (12, 12), colour) for colour in (3, 200)]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    dataset = load_dataset(str(folder), image_size=8)
    assert len(dataset) == 3 and "formats_not_read" not in dataset.describe()
    pixels = {name: dataset.pixels[i] for i, name in enumerate(sorted(["anim.gif", "colour.tif", "grey16.tiff"]))}
    assert abs(int(pixels["colour.tif"][0].mean()) - 200) <= 2 and abs(int(pixels["colour.tif"][2].mean()) - 10) <= 2
    assert abs(int(pixels["grey16.tiff"].mean()) - 127) <= 2  # 16 bits scaled, not clipped to white


def test_training_says_what_the_data_left_out_as_the_app_does(tmp_path, capsys):
    """`gan-studio train --skip-bad-files true` left 3 files out, and HEIC photos beside the others were not read,
    without a word on the command line; the app said the first in its status bar (review s13V). Both say both,
    from one function of the run's data descriptor."""
    from gan_studio.data.left_out import left_out_lines

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(12):
        write_image(photos / f"p{i}.png", seed=i)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    for i in range(2):
        (photos / f"IMG_{i}.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    run = tmp_path / "run"
    args = ["train", "gan", "--data", str(photos), "--image-size", "8", "--skip-bad-files", "true", "--steps", "1",
            "--batch-size", "4", "--g-hidden", "8", "--d-hidden", "8", "--sample-every", "0", "--checkpoint-every",
            "0", "--out", str(run), "--quiet"]  # fmt: skip
    assert cli_main(args) == 0
    err = capsys.readouterr().err
    assert "gan-studio: note: 1 bad file left out (broken.jpg): run.json lists them" in err, err
    assert "gan-studio: note: 2 .heic files in formats not read (IMG_0.heic, IMG_1.heic): convert them to PNG" in err
    dataset = json.loads((run / "run.json").read_text())["dataset"]
    assert left_out_lines(dataset) == [line.removeprefix("gan-studio: note: ") for line in err.splitlines()
                                       if line.startswith("gan-studio: note: ")]  # fmt: skip
    assert left_out_lines({"skipped_files": "3", "formats_not_read": []}) == []  # a damaged descriptor: nothing


def test_an_unconditional_model_says_the_folders_it_reads_as_classes(tmp_path, capsys):
    """A photo folder's year sub-folders became 5 classes of an unconditional DCGAN without a word, and the
    evaluation's classifier then learnt to tell the years apart (review s13V): the start says so, once; a
    conditional model, which trains on those classes on purpose, does not."""
    photos = tmp_path / "photos"
    for year in ("2023", "2024"):
        (photos / year).mkdir(parents=True)
        for i in range(4):
            write_image(photos / year / f"p{i}.png", seed=i)
    common = ["--data", str(photos), "--image-size", "8", "--steps", "1", "--batch-size", "4", "--sample-every",
              "0", "--checkpoint-every", "0", "--quiet"]  # fmt: skip
    assert cli_main(["train", "gan", "--g-hidden", "8", "--d-hidden", "8", "--out", str(tmp_path / "a"), *common]) == 0
    err = capsys.readouterr().err
    assert "gan-studio: note: the data's 2 sub-folders are read as classes (2023, 2024): this model" in err, err
    assert cli_main(["train", "cgan", "--g-hidden", "8", "--d-hidden", "8", "--out", str(tmp_path / "b"), *common]) == 0
    assert "sub-folders are read as classes" not in capsys.readouterr().err


def test_photos_at_the_top_beside_a_few_folders_train_as_one_set_and_the_start_says_so(tmp_path, capsys):
    """40 photos at the top and an Edits folder of 10 were refused ("move the sub-folders out", review s13V): an
    unconditional model trains on all 50, and the start says how the folder was read; a conditional one is
    refused with the same reason, since the folder gives it no classes."""
    photos = tmp_path / "photos"
    for i in range(6):
        write_image(photos / f"p{i}.png", seed=i)
    for i in range(2):
        write_image(photos / "Edits" / f"e{i}.png", seed=10 + i)
    common = ["--data", str(photos), "--image-size", "8", "--steps", "1", "--batch-size", "4", "--sample-every",
              "0", "--checkpoint-every", "0", "--quiet"]  # fmt: skip
    assert cli_main(["train", "gan", "--g-hidden", "8", "--d-hidden", "8", "--out", str(tmp_path / "a"), *common]) == 0
    err = capsys.readouterr().err
    assert "gan-studio: note: 6 images lie at the top beside 1 sub-folder ('Edits'): all are read as one set" in err
    assert json.loads((tmp_path / "a" / "run.json").read_text())["dataset"]["size"] == 8
    code = cli_main(["train", "cgan", "--g-hidden", "8", "--d-hidden", "8", "--out", str(tmp_path / "b"), *common])
    err = capsys.readouterr().err
    assert code == 2 and "cgan needs a labelled dataset" in err and "to train on classes, put every image" in err


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads the mapping's flags from Linux's smaps")
def test_a_prepared_file_larger_than_memory_is_mapped_for_random_reads(tmp_path):
    """Rows are drawn at random: for a file that cannot stay in the page cache, the kernel's read-around pulled
    in up to read_ahead_kb per row (review s16Q #1: a 2.5 GB file, RSS 1.9 GB after 3,840 samples). Such a map
    carries MADV_RANDOM ("rr" in its VmFlags); a file that fits keeps the read-around, which caches it fastest."""
    from gan_studio.data.cache import map_rows

    path = tmp_path / "rows.bin"
    path.write_bytes(bytes(range(256)) * 64)

    def flags(rows) -> list[str]:
        start = rows.ctypes.data
        with open("/proc/self/smaps") as fh:
            lines = fh.read().splitlines()
        for i, line in enumerate(lines):
            low, _, rest = line.partition("-")
            if rest and all(c in "0123456789abcdef" for c in low) and int(low, 16) <= start < int(rest.split()[0], 16):
                return next(x for x in lines[i + 1 :] if x.startswith("VmFlags:")).split()[1:]
        raise AssertionError("mapping not found")

    large = map_rows(path, (64, 256), memory=1)
    assert "rr" in flags(large) and large[3, 7] == 7
    small = map_rows(path, (64, 256), memory=1 << 40)
    assert "rr" not in flags(small) and small[63, 255] == 255


@pytest.mark.parametrize("problem", ["full", "read-only"])
def test_a_cache_that_cannot_be_written_is_named_with_the_way_out(tmp_path, monkeypatch, capsys, problem):
    """A full, read-only or misplaced cache said "<the data folder>: cannot prepare the dataset: No space left on
    device" (review s16Q #3): the photos were fine; the cache folder is named, with GAN_STUDIO_CACHE to move it,
    and a full disk exits 1 (the machine failed, not the input), as elsewhere."""
    import errno

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (20, 20), (i * 80, 0, 0)).save(folder / f"{i}.png")
    code = errno.ENOSPC if problem == "full" else errno.EROFS

    def fails(*_args, **_kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(prepare_mod, "_build_images", fails)
    exit_code = cli_main(["data", "prepare", str(folder), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert exit_code == (1 if problem == "full" else 2) and len(err.splitlines()) == 1, err
    assert f"in the dataset cache {cache_mod.cache_root()}" in err and "set GAN_STUDIO_CACHE" in err, err
    assert {"full": "the disk is full", "read-only": "it is read-only"}[problem] in err


@pytest.mark.parametrize("kind", ["folder", "idx"])
def test_data_is_prepared_in_a_temporary_folder_when_the_cache_cannot_be_written(
    tmp_path, monkeypatch, capsys, kind, mnist_dir
):
    """With a read-only home (a cluster, a locked-down laptop) even MNIST's 7.8 MB could not be trained on
    (review s16Q #4): the data is prepared in this user's private folder in the temporary folder instead, said
    once; the next start finds it there, `data info` lists it and `data clear` removes it."""
    if kind == "folder":
        data = tmp_path / "photos"
        data.mkdir()
        for i in range(3):
            Image.new("RGB", (20, 20), (i * 80, 0, 0)).save(data / f"{i}.png")
    else:
        data = mnist_dir
    (tmp_path / "not-a-folder").write_text("x")  # a cache that cannot be made (as a read-only home's)
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "not-a-folder"))
    fallback = cache_mod.fallback_root()
    quiet = ["--quiet"] if kind == "idx" else []  # a warning, said with --quiet too
    assert cli_main(["data", "prepare", str(data), "--image-size", "8", *quiet]) == 0
    err = capsys.readouterr().err
    assert (
        f"gan-studio: note: the dataset cache {cache_mod.cache_root()} cannot be written, so the data is prepared in {fallback}"
        in err
    )
    assert "set GAN_STUDIO_CACHE to a writable folder" in err and err.count("note:") == 1
    made = sorted(fallback.glob("*.gsdata"))
    assert len(made) == 1 and (fallback.parent.stat().st_mode & 0o077) == 0  # this user's alone
    told = []
    dataset = load_dataset(str(data), image_size=8, progress=lambda done, total: told.append(total))
    assert len(dataset) == (3 if kind == "folder" else 10_000) and told == []  # found there: not prepared again
    assert cli_main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert f"no prepared datasets in {cache_mod.cache_root()}\n" in out  # the user's own cache is named too
    assert f"prepared datasets in {fallback} (a temporary folder: the dataset cache cannot be written):" in out
    assert "1 file(s)" in out
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "writable"))  # the cache can be written again: used
    assert cli_main(["data", "info"]) == 0
    assert "used while the dataset cache could not be written; not used now" in capsys.readouterr().out
    told.clear()
    load_dataset(str(data), image_size=8, progress=lambda done, total: told.append(total))
    assert told and len(list(cache_mod.cache_root().glob("*.gsdata"))) == 1  # prepared there, not read from /tmp
    assert not list(fallback.glob("*.gsdata"))  # whose copy it supersedes
    assert cli_main(["data", "clear", str(data)]) == 0
    assert capsys.readouterr().out.endswith(f"from {cache_mod.cache_root()}\n")


def test_a_temporary_folder_that_is_not_this_users_alone_is_never_used(tmp_path, monkeypatch, capsys):
    """The temporary folder is shared by every user: a fallback folder someone else could write (or a link
    made there in advance) is refused, and the cache's error says why it did not serve; one the user made with
    `mkdir -p` (mode 755) is theirs alone to write, and serves."""
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (20, 20)).save(folder / "a.png")
    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "not-a-folder"))
    fallback = cache_mod.fallback_root()
    (tmp_path / "elsewhere").mkdir()
    fallback.parent.symlink_to(tmp_path / "elsewhere")
    assert cli_main(["data", "prepare", str(folder), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        "set GAN_STUDIO_CACHE" in err
        and f"(the temporary folder {fallback.parent} is not used instead: it is a link)" in err
    )
    assert not list((tmp_path / "elsewhere").iterdir())
    fallback.parent.unlink()
    fallback.parent.mkdir(mode=0o777)
    os.chmod(fallback.parent, 0o777)  # writable by all
    assert cli_main(["data", "prepare", str(folder), "--quiet"]) == 2
    assert "others may write into it (mode 777; chmod go-w fixes it)" in capsys.readouterr().err
    assert not list(fallback.parent.iterdir())
    os.chmod(fallback.parent, 0o755)  # made by `mkdir -p` with the usual umask: the user's own, only they write
    assert cli_main(["data", "prepare", str(folder), "--quiet"]) == 0
    assert len(list(fallback.glob("*.gsdata"))) == 1


# --- the cache folder keeps no litter, and `data info` says what each file is ------------------------------------


def lock_files() -> list[Path]:
    root = cache_mod.cache_root()
    return sorted(root.glob("*.lock")) if root.is_dir() else []


def test_preparations_leave_no_lock_file_and_data_clear_removes_those_nobody_holds(tmp_path, capsys):
    """Every prepare left a 0-byte .gsdata.lock, a failed one too, and `data clear` left all 32 of them."""
    folder = make_folder(tmp_path / "data")
    assert cli_main(["data", "prepare", str(folder), "--image-size", "8", "--quiet"]) == 0
    (tmp_path / "empty").mkdir()
    assert cli_main(["data", "prepare", str(tmp_path / "empty"), "--quiet"]) == 2  # failed: no images
    assert len(prepared_files()) == 1 and lock_files() == []
    # a lock file nobody holds (a `kill -9` mid-way, or an earlier version's), and one a builder holds now
    idle = cache_mod.cache_root() / f"old-8px-0123{cache_mod.SUFFIX}.lock"
    idle.touch()
    busy = cache_mod.cache_root() / f"busy-8px-4567{cache_mod.SUFFIX}"
    with cache_mod.build_lock(busy):
        assert cli_main(["data", "clear"]) == 0
        assert lock_files() == [busy.with_name(busy.name + ".lock")]  # a running build keeps its lock
    capsys.readouterr()
    assert lock_files() == [] and prepared_files() == []


def test_the_build_lock_stays_exclusive_although_each_holder_removes_its_file(tmp_path):
    """A holder removes the lock file before it lets go: a builder that waited on the removed file must not
    count as holding the lock while another holds the new file of the same name."""
    final = cache_mod.cache_root() / f"x-8px-89ab{cache_mod.SUFFIX}"
    lock_path = final.with_name(final.name + ".lock")
    inside, errors, active = [], [], []

    def build(name: str) -> None:
        with cache_mod.build_lock(final):
            active.append(name)
            fd = os.open(lock_path, os.O_RDWR)  # whoever is inside holds the lock of the file the name points to
            try:
                if cache_mod._try_lock(fd):
                    errors.append(f"{name} is inside but the lock file is free")
            finally:
                os.close(fd)
            time.sleep(0.05)
            if active != [name]:
                errors.append(f"inside together: {active}")
            inside.append(name)
            active.remove(name)

    with cache_mod.build_lock(final):
        waiters = [threading.Thread(target=build, args=(f"b{i}",)) for i in range(4)]
        for thread in waiters:
            thread.start()
        time.sleep(0.5)  # every waiter has opened the current lock file and waits on it
        assert inside == []
    for thread in waiters:
        thread.join(timeout=30)
    assert sorted(inside) == ["b0", "b1", "b2", "b3"] and errors == [] and not lock_path.exists()


def test_unfinished_files_are_counted_by_what_they_take_on_disk(tmp_path, capsys):
    """A `kill -9` mid-way leaves a sparse file: `data info` said 1.3 GB where `du` said 76 MB."""
    cache_mod.cache_root().mkdir(parents=True)
    leftover = cache_mod.cache_root() / f"photos-32px-0123{cache_mod.SUFFIX}.4242.99.tmp"
    with open(leftover, "wb") as fh:
        fh.truncate(2**30)  # 1 GB apparent size, as a preparation sizes its file before writing rows
        fh.write(b"\1" * 100_000)
    (leftover.parent / f"photos-32px-0123{cache_mod.SUFFIX}.lock").touch()  # the killed builder's lock
    used = leftover.stat().st_blocks * 512
    assert used < 2**20
    assert cli_main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "1 unfinished file(s) of stopped preparations" in out and "GB" not in out
    assert cli_main(["data", "clear"]) == 0
    out = capsys.readouterr().out
    assert "removed 1 file(s)" in out and "GB" not in out and "KB" in out
    assert not leftover.exists() and lock_files() == []


def test_data_info_names_five_bad_files_and_says_how_many_more(tmp_path, capsys):
    """It printed '6 bad files left out' and 5 names, nothing of the sixth."""
    folder = make_folder_with_bad_files(tmp_path / "data", bad=6)
    assert cli_main(["data", "prepare", str(folder), "--image-size", "8", "--skip-bad-files", "--quiet"]) == 0
    capsys.readouterr()
    assert cli_main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "6 bad files left out" in out and out.count("left out: ") == 5
    assert "and 1 more left out" in out


def test_data_info_marks_a_file_of_data_that_has_changed_since_as_stale(tmp_path, capsys):
    """After the folder changed, its file at another size was listed as if it were current."""
    folder = make_folder(tmp_path / "photos")
    other = make_folder(tmp_path / "other")
    for size in ("8", "16"):
        assert cli_main(["data", "prepare", str(folder), "--image-size", size, "--quiet"]) == 0
    assert cli_main(["data", "prepare", str(other), "--image-size", "8", "--quiet"]) == 0
    time.sleep(0.01)
    write_image(folder / "cats" / "new.png", seed=99)
    assert cli_main(["data", "prepare", str(folder), "--image-size", "16", "--quiet"]) == 0  # replaces the 16 px file
    capsys.readouterr()
    assert cli_main(["data", "info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    stale = [i for i, line in enumerate(lines) if line.strip().startswith("stale:")]
    assert len(stale) == 1 and "photos: 6 images 8x8" in lines[stale[0] - 1]  # the 8 px file of the old content
    assert sum("photos: 7 images 16x16" in line for line in lines) == 1 and len(prepared_files()) == 3
    assert "`gan-studio data clear --stale` removes the stale files" in lines[stale[0]]
    # the hint said `data clear PATH`, which removes the current file of that folder too (review s16R #6)
    assert cli_main(["data", "clear", str(folder), "--stale"]) == 0
    assert "removed 1 stale file(s)" in capsys.readouterr().out and len(prepared_files()) == 2
    assert cli_main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "stale:" not in out and "photos: 7 images 16x16" in out and "other: 6 images 8x8" in out


def test_preparing_the_test_split_of_data_without_one_says_what_was_prepared(tmp_path, capsys):
    """`data prepare FOLDER --split test` prepared the whole folder, the same file as for training, unsaid."""
    folder = make_folder(tmp_path / "data")
    assert cli_main(["data", "prepare", str(folder), "--image-size", "8", "--split", "test", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "has no test split of its own: the whole set was prepared, the same file as for training" in out
    assert "--hold-out true a fixed 80 %" in out and "other 20 %" in out
    assert cli_main(["data", "prepare", str(folder), "--image-size", "8", "--quiet"]) == 0
    assert "split" not in capsys.readouterr().out  # the usual case says nothing more


def test_a_folder_prepared_again_because_it_changed_says_so(tmp_path, capsys):
    """One photo added to 200,000 re-decoded them all (99 s where a start took 2 s) without a word (review s16Q
    #2): the preparation says the data changed since it was last prepared, and with how many images then."""
    from gan_studio.data.prepare import CHANGED

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (20, 20), (i * 80, 0, 0)).save(folder / f"{i}.png")
    told = []
    load_dataset(str(folder), image_size=8, progress=lambda done, total: told.append((done, total)))
    assert not [t for t in told if t[1] == CHANGED]  # prepared for the first time: nothing changed
    load_dataset(str(folder), image_size=8, progress=lambda done, total: told.append((done, total)))
    Image.new("RGB", (20, 20), (0, 200, 0)).save(folder / "new.png")
    told.clear()
    load_dataset(str(folder), image_size=8, progress=lambda done, total: told.append((done, total)))
    assert [t for t in told if t[1] == CHANGED] == [(3, CHANGED)]
    (folder / "another.png").write_bytes((folder / "new.png").read_bytes())
    capsys.readouterr()
    assert cli_main(["data", "prepare", str(folder), "--image-size", "8"]) == 0
    assert "again (it changed since it was last prepared, when it had 4 images)" in capsys.readouterr().err


def test_clearing_a_cache_that_cannot_be_written_says_so(tmp_path, monkeypatch, capsys):
    """From a read-only home, `data clear DATA` said "no prepared dataset comes from DATA" (data info listed it)
    and `data clear` "removed 0 file(s)", exit 0, the file still there: the file is named, with why, exit 1."""
    import errno

    folder = make_folder(tmp_path / "photos")
    assert cli_main(["data", "prepare", str(folder), "--image-size", "8", "--quiet"]) == 0
    capsys.readouterr()
    unlink = Path.unlink

    def read_only(path, *args, **kwargs):
        if path.suffix == ".gsdata":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", read_only)
    for command in (["data", "clear", str(folder)], ["data", "clear"]):
        assert cli_main(command) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "cannot remove the prepared file" in err, err
        assert "Read-only file system; 0 file(s) removed" in err


def test_data_info_as_json_for_scripts(tmp_path, capsys):
    """A script had to parse `data info`'s text to find what is prepared and how large it is."""
    folder = make_folder(tmp_path / "photos")
    assert cli_main(["data", "prepare", str(folder), "--image-size", "8", "--quiet"]) == 0
    capsys.readouterr()
    assert cli_main(["data", "info", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cache"] == str(cache_mod.cache_root()) and report["unfinished"] == {"count": 0, "bytes": 0}
    (entry,) = report["files"]
    assert entry["source"] == str(folder) and entry["count"] == 6 and entry["side"] == 8
    assert entry["class_names"] == ["cats", "dogs"] and entry["stale"] is False and entry["temporary"] is False
    assert Path(entry["file"]).is_file() and entry["bytes"] > 0

"""Fuzzing checkpoints: mutated bytes of a real checkpoint, mutated zip members, and wrong values inside.

`load_checkpoint` must refuse anything that is not an intact GAN Studio checkpoint with a
CheckpointError; `load_run` (what `gan-studio sample` and the explorer use) and `Trainer.from_checkpoint`
must answer a checkpoint holding wrong types, shapes or huge numbers with a GanStudioError.
Budget and bounds: tests/fuzz_support.py.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from fuzz_support import FUZZ, bounded, mutated
from hypothesis import given
from hypothesis import strategies as st
from tiny_runs import train_tiny_run

from gan_studio.data import load_dataset
from gan_studio.engine.trainer import Trainer
from gan_studio.errors import CheckpointError, GanStudioError
from gan_studio.store.checkpoint import load_checkpoint
from gan_studio.store.loaded import LoadedRun, load_run


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A real two-step run of a tiny conditional GAN (with BatchNorm buffers) on ring8."""
    out = tmp_path_factory.mktemp("fuzz-ckpt") / "run"
    train_tiny_run(out, "cgan", steps=2, keep_checkpoints=0, latent_dim=2, g_hidden=8, d_hidden=8, g_layers=1,
                   d_layers=1)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def checkpoint_bytes(trained_run) -> bytes:
    return (trained_run / "checkpoints" / "last.pt").read_bytes()


@pytest.fixture(scope="module")
def ring8():
    return load_dataset("ring8", value_range=(-1.0, 1.0))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-ckpt-scratch")


@FUZZ
@given(data=st.data())
def test_fuzz_checkpoint_bytes(scratch, checkpoint_bytes, data):
    path = scratch / "mutated.pt"
    path.write_bytes(data.draw(mutated(checkpoint_bytes)))
    result = bounded(load_checkpoint, path)
    assert isinstance(result, (dict, CheckpointError))


@st.composite
def zip_member_mutations(draw, original: bytes) -> bytes:
    """The checkpoint's zip re-written with one member (pickle, a tensor's storage, ...) mutated."""
    with zipfile.ZipFile(io.BytesIO(original)) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    index = draw(st.integers(0, len(members) - 1))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for i, (info, content) in enumerate(members):
            zf.writestr(info.filename, draw(mutated(content, max_mutations=2)) if i == index else content)
    return out.getvalue()


@FUZZ
@given(data=st.data())
def test_fuzz_checkpoint_zip_members(scratch, checkpoint_bytes, data):
    path = scratch / "member-mutated.pt"
    path.write_bytes(data.draw(zip_member_mutations(checkpoint_bytes)))
    assert isinstance(bounded(load_checkpoint, path), (dict, CheckpointError))


# --- wrong values inside a well-formed checkpoint --------------------------------------------------

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([-1, 0, 2**31, 2**63 - 1, 10**30, -(10**30)]),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from([[], {}, [1, "a"], {"a": 1}, (1, 2)]),
    st.builds(
        lambda shape, dtype: torch.zeros(shape, dtype=dtype),
        st.lists(st.integers(0, 3), max_size=3).map(tuple),
        st.sampled_from([torch.float32, torch.float64, torch.int64, torch.bool, torch.uint8]),
    ),
    st.just(torch.zeros(1).expand(100_000, 100_000)),  # declares 10^10 elements on a one-element storage
)


REMOVE = object()  # an edit that deletes the entry


def _paths(value, prefix=(), depth=3):
    """Every key path into nested dicts (up to `depth` levels), for choosing what to break."""
    if isinstance(value, dict) and depth:
        for key, child in value.items():
            yield prefix + (key,)
            yield from _paths(child, prefix + (key,), depth - 1)


def checkpoint_edits(original: dict):
    """One to three (key path, odd value or REMOVE) edits of a checkpoint's entries."""
    paths = sorted(_paths(original), key=repr)
    edit = st.tuples(st.sampled_from(paths), st.one_of(odd_values, st.just(REMOVE)))
    return st.lists(edit, min_size=1, max_size=3)


def apply_edits(original: dict, edits) -> dict:
    state = _copy_dicts(original)
    for path, value in edits:
        parent = state
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or path[-1] not in parent:
            continue  # an earlier edit replaced or removed this entry
        if value is REMOVE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return state


def _copy_dicts(value):
    return {k: _copy_dicts(v) for k, v in value.items()} if isinstance(value, dict) else value


@FUZZ
@given(data=st.data())
def test_fuzz_checkpoint_values_in_load_run_and_resume(trained_run, checkpoint_bytes, ring8, scratch, data):
    original = torch.load(io.BytesIO(checkpoint_bytes), weights_only=True)
    run = scratch / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(trained_run, run)
    torch.save(apply_edits(original, data.draw(checkpoint_edits(original))), run / "checkpoints" / "last.pt")
    loaded = bounded(load_run, run)
    assert isinstance(loaded, (LoadedRun, GanStudioError))
    resumed = bounded(Trainer.from_checkpoint, run, {"steps": 3}, dataset=ring8)
    assert isinstance(resumed, (Trainer, GanStudioError))


# --- regressions found by the fuzzers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "pickle_bytes",
    [b"\x80\x02J\x01", b"\x80\x02K\x05Q."],
    ids=["integer-cut-short-struct-error", "persistent-id-not-a-tuple-assertion-error"],
)
def test_malformed_pickles_that_once_escaped_are_checkpoint_errors(scratch, checkpoint_bytes, pickle_bytes):
    """Found by test_fuzz_checkpoint_bytes: torch.load raised struct.error, then AssertionError."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(checkpoint_bytes)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info.filename, pickle_bytes if info.filename.endswith("data.pkl") else content)
    path = scratch / "malformed.pt"
    path.write_bytes(out.getvalue())
    assert isinstance(bounded(load_checkpoint, path), CheckpointError)


@pytest.mark.parametrize("entry", ["optimizers", "rng"])
def test_tensor_where_a_dict_belongs_is_a_checkpoint_error_on_resume(
    trained_run, checkpoint_bytes, ring8, scratch, entry
):
    """Found by the values fuzzer: a 0-d tensor in place of a dict made Trainer.from_checkpoint raise IndexError."""
    original = torch.load(io.BytesIO(checkpoint_bytes), weights_only=True)
    run = scratch / "run-tensor-entry"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(trained_run, run)
    path = ("rng", "numpy") if entry == "rng" else ("optimizers",)
    torch.save(apply_edits(original, [(path, torch.zeros(()))]), run / "checkpoints" / "last.pt")
    assert isinstance(bounded(Trainer.from_checkpoint, run, {"steps": 3}, dataset=ring8), CheckpointError)


def test_huge_rng_state_is_refused_quickly(trained_run, checkpoint_bytes, ring8, scratch):
    """Found by the values fuzzer: a python RNG state of 10^10 declared elements kept resume busy for minutes."""
    original = torch.load(io.BytesIO(checkpoint_bytes), weights_only=True)
    run = scratch / "run-huge-rng"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(trained_run, run)
    huge = torch.zeros(1).expand(100_000, 100_000)
    torch.save(apply_edits(original, [(("rng", "python", "state"), huge)]), run / "checkpoints" / "last.pt")
    error = bounded(Trainer.from_checkpoint, run, {"steps": 3}, dataset=ring8)
    assert isinstance(error, CheckpointError) and "RNG" in str(error)


def test_a_weight_described_as_a_huge_view_of_a_small_storage_is_refused_within_memory(
    trained_run, checkpoint_bytes, ring8, scratch
):
    """Found by the values fuzzer: a bias stored as a 100,000 x 100,000 zero-stride view of a few floats made the
    finiteness check allocate 40 GB; the check reads the stored values, and the shape check refuses the weight."""
    original = torch.load(io.BytesIO(checkpoint_bytes), weights_only=True)
    original["model"]["discriminator.net.0.bias"] = torch.zeros(4).as_strided((100_000, 100_000), (0, 0))
    run = scratch / "run-huge-view"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(trained_run, run)
    torch.save(original, run / "checkpoints" / "last.pt")
    assert isinstance(bounded(load_run, run), GanStudioError)
    assert isinstance(bounded(Trainer.from_checkpoint, run, {"steps": 3}, dataset=ring8), GanStudioError)


def test_a_huge_tensor_for_the_python_rng_state_is_refused_at_once():
    """A hostile checkpoint's state of 10 million numbers: tuple() of it took minutes before random refused it
    (the fuzzer's 30 s limit caught it on a loaded machine)."""
    import time

    from gan_studio.engine.rng import rng_state, set_rng_state

    state = rng_state()
    state["python"] = {**state["python"], "state": torch.zeros(10_000_000)}
    started = time.monotonic()
    with pytest.raises(ValueError, match="python RNG state of Tensor, not 625 words"):
        set_rng_state(state)
    assert time.monotonic() - started < 1.0
    set_rng_state(rng_state())  # a real one still restores

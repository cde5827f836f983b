"""Structure-aware fuzzing of run folders: every entry a run may hold replaced by a symlink (to a file, a
folder or a loop, inside or outside the run), a FIFO, a folder or a garbled file, in any combination.

Every reader and writer of runs must end in a result or one GanStudioError, never hang (FIFOs), never
follow a link out of the run, and never write or delete anything outside it. Random byte mutation
rarely builds such layouts; this test builds them on purpose. Budget: tests/fuzz_support.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fuzz_support import FUZZ, bounded
from hypothesis import given
from hypothesis import strategies as st
from tiny_runs import train_tiny_run

from gan_studio.engine.trainer import Trainer
from gan_studio.errors import GanStudioError
from gan_studio.state.run_state import RunState
from gan_studio.store.fork import fork_run
from gan_studio.store.loaded import load_run
from gan_studio.store.rundir import list_runs

ENTRIES = ("run.json", "metrics.jsonl", "events.jsonl", "checkpoints", "checkpoints/last.pt", "samples",
           "samples/step-0000002.png", "exports", "eval", "frames", ".lock")  # fmt: skip
KINDS = ("symlink-outside-file", "symlink-outside-folder", "symlink-inside", "symlink-loop", "fifo", "folder", "garbage",
         "missing")  # fmt: skip


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("layout") / "good"
    train_tiny_run(out, "gan", steps=2, checkpoint_every=1, keep_checkpoints=2, sample_every=2)
    return out


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """Files and a folder outside every run: nothing may read through to them or change them."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "secret.txt").write_text("not a run's")
    (folder / "folder").mkdir()
    (folder / "folder" / "keep.pt").write_bytes(b"keep me")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def plant(run: Path, entry: str, kind: str, outside: Path) -> None:
    path = run / entry
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "symlink-outside-file":
        path.symlink_to(outside / "secret.txt")
    elif kind == "symlink-outside-folder":
        path.symlink_to(outside / "folder", target_is_directory=True)
    elif kind == "symlink-inside":
        path.symlink_to(run / "metrics.jsonl" if entry != "metrics.jsonl" else run / "run.json")
    elif kind == "symlink-loop":
        path.symlink_to(path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "garbage":
        path.write_bytes(b"\x00\xffnot what belongs here\n" * 3)


@FUZZ
@given(layout=st.dictionaries(st.sampled_from(ENTRIES), st.sampled_from(KINDS), min_size=1, max_size=4))
def test_hostile_run_layouts_never_escape_hang_or_crash(good_run, outside, tmp_path_factory, layout):
    run = tmp_path_factory.mktemp("hostile") / "run"
    shutil.copytree(good_run, run, symlinks=True)
    for entry, kind in sorted(layout.items()):  # parents before children
        if (run / entry).parent.is_symlink() or not (run / entry).parent.is_dir():
            continue
        plant(run, entry, kind, outside)
    before = snapshot(outside)
    for call in (lambda: list_runs(run.parent), lambda: RunState.load(run), lambda: load_run(run),
                 lambda: Trainer.from_checkpoint(run, {"steps": 3}),
                 lambda: fork_run(run, "last", run.parent / "fork")):  # fmt: skip
        result = bounded(call)
        if isinstance(result, Trainer):
            for _ in result:  # it trained: it must stay inside the run too
                pass
        assert (
            result is None
            or isinstance(result, (GanStudioError, list, RunState, Trainer, Path))
            or hasattr(result, "model")
        ), result
    assert snapshot(outside) == before, f"something outside the run changed with layout {layout}"

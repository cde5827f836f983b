"""Forking a run: a new run folder that starts from one of another run's kept checkpoints.

The fork holds the source's settings, its metrics, events and sample grids up to that step, and the
checkpoint as its last.pt, so `gan-studio train --resume FORK` continues from there (with other
rates, or more steps) while the source run stays as it was. Nothing of the source is changed, and
nothing is read through a symlink.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

from gan_studio.errors import GanStudioError, RunError
from gan_studio.events import Metrics, Sample, event_from_json
from gan_studio.files import atomic_write, read_regular
from gan_studio.store.checkpoint import mismatch_error, numbered_checkpoints, run_mismatch, save_checkpoint
from gan_studio.store.jsonl import iter_jsonl
from gan_studio.store.loaded import load_run_checkpoint, resolve_checkpoint
from gan_studio.store.pictures import MAX_PICTURE_PIXELS
from gan_studio.store.rundir import MAX_FRAME_BYTES, RunDir, check_new_run_folder, make_new_run_folder

MAX_SAMPLE_BYTES = MAX_PICTURE_PIXELS * 4


def kept_checkpoints(run_path: str | Path) -> list[str]:
    """The names a fork (or `--from`) accepts for this run: step-N for each kept checkpoint, and last.
    RunError when there is no such run (an empty list would read as a run without checkpoints)."""
    run = RunDir(Path(run_path))
    run.check_layout()
    run.read_info()  # a folder that is not a run is an error, not a run without checkpoints
    names = [f"step-{step}" for step, _ in numbered_checkpoints(run.checkpoints_dir)]
    return names + (["last"] if run.last_checkpoint.is_file() else [])


def fork_run(source: str | Path, start_from: str = "last", out: str | Path | None = None) -> Path:
    """Create a new run from `source`'s checkpoint `start_from` ('last' or 'step-N'); returns its folder."""
    src = RunDir(Path(source))
    src.check_layout()
    info = src.read_info()
    checkpoint_path = resolve_checkpoint(src, start_from)
    if not checkpoint_path.exists() and not checkpoint_path.is_symlink():
        raise RunError("the run has no checkpoint to fork from", src.path)
    state = load_run_checkpoint(src, checkpoint_path)  # refuses a FIFO, a symlink or a damaged file, naming it
    mismatch = run_mismatch(state, info)
    if mismatch:
        raise mismatch_error(checkpoint_path, info, mismatch, f"the checkpoint does not belong to this run: {mismatch}")
    model = str(info.get("model") or state["model_name"])
    train_config = info.get("train_config")
    data = str(train_config.get("data", "data")) if isinstance(train_config, dict) else "data"
    dest = RunDir(Path(out) if out is not None else make_new_run_folder(f"{model}-fork", data, src.path.parent))
    if dest.path.resolve().is_relative_to(src.path.resolve()):
        raise RunError(f"the fork's folder is the run being forked ({src.path}) or inside it: choose a folder "
                       "outside it", dest.path)  # fmt: skip
    made = _make_empty_folder(dest.path)
    try:
        _fill_fork(src, dest, info, state, checkpoint_path)
    except BaseException:  # a half-made fork is not left behind (a full disk, Ctrl-C); a folder the user made stays
        if made:
            shutil.rmtree(dest.path, ignore_errors=True)
        else:
            _empty(dest.path)
        raise
    return dest.path


def _empty(folder: Path) -> None:
    """Remove what a failed fork wrote into a folder the user had made (the folder itself stays)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)


def _make_empty_folder(path: Path) -> bool:
    """Create the fork's folder (True) or take the empty one there (False); RunError when --out is taken (a file, a
    symlink, a non-empty folder) or unwritable."""
    check_new_run_folder(path)
    existed = path.is_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the fork's folder: {exc.strerror or exc}", path) from None
    return not existed


def _fill_fork(src: RunDir, dest: RunDir, info: dict, state: dict, checkpoint_path: Path) -> None:
    step = int(state["step"])
    dest.create()
    save_checkpoint(state, dest.last_checkpoint)
    dest.copy_metrics_until(src.metrics_file, step)
    for record in iter_jsonl(src.events_file):
        event = event_from_json(record)
        if event is None or isinstance(event, Metrics) or event.step > step:
            continue
        if isinstance(event, Sample):
            copied = _copy_sample(src, dest, event.path)
            if not copied:
                continue
        dest.record(event)
    for grid_step, path in src.sample_steps():  # grids of runs that did not record Sample events
        if grid_step <= step and not dest.sample_path(grid_step).exists():
            _copy_sample(src, dest, src.relative(path))
    _copy_sample(src, dest, "samples/real.png")
    for frame_step, path in src.frame_steps():  # the 2D view's frames of the history the fork keeps
        if frame_step <= step:
            _copy_file(path, dest.frames_dir / path.name, MAX_FRAME_BYTES)
    dest.write_info({**info, "status": "stopped", "step": step, "created": time.time(), "updated": time.time(),
                     "forked_from": {"run": str(src.path), "checkpoint": src.relative(checkpoint_path),
                                     "step": step}})  # fmt: skip


def _copy_sample(src: RunDir, dest: RunDir, relative: str) -> bool:
    source = src.resolve(relative)
    target = dest.resolve(relative)
    if source is None or target is None or target.parent != dest.samples_dir:
        return False
    return _copy_file(source, target, MAX_SAMPLE_BYTES)


def _copy_file(source: Path, target: Path, limit: int) -> bool:
    """Copy a regular file of at most `limit` bytes; one missing, unsafe, unreadable or larger is left out."""
    try:
        data = read_regular(source, limit)
    except (OSError, GanStudioError):
        return False
    if len(data) > limit:
        return False
    target.parent.mkdir(exist_ok=True)
    atomic_write(target, data, durable=False)
    return True

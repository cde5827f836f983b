"""Saved frames of the 2D view: what a model of 2D points looked like at each sample step, for playback.

While a model of 2D points trains, `FrameRecorder` (a trainer callback) computes the live 2D view's
frame from the training weights at every sample step (the same fixed z, and one extent for the
whole run, so points move smoothly from frame to frame) and saves it as RUN/frames/step-NNNNNNN.npz
(float16, tens of KB; float32 for points in units too large for float16). The app plays them back,
steps through them, or shows them in slow motion with `tween` between two saved frames. Frames hold arrays only: they load with allow_pickle=False.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import torch

from gan_studio.engine.callbacks import TrainerCallback
from gan_studio.errors import GanStudioError, RunError, shorten
from gan_studio.events import Sample
from gan_studio.explore.live2d import Live2DFrame, model_frame, plane_extent
from gan_studio.files import atomic_write, read_regular
from gan_studio.store.rundir import FRAMES_FOLDER, MAX_FRAME_BYTES, RunDir

FRAME_FILE = re.compile(r"^step-([0-9]{1,12})\.npz$")
MAX_FRAME_ARRAY_BYTES = 64 * 2**20  # ... and its arrays unpack to a few hundred KB
REAL_POINTS_FOR_EXTENT = 2000
_ARRAYS = ("generated", "heatmap", "mesh", "gradients", "generated_labels")


def frame_path(run_path: str | Path, step: int) -> Path:
    return Path(run_path) / FRAMES_FOLDER / f"step-{step:07d}.npz"


def save_frame(frame: Live2DFrame, path: str | Path) -> None:
    """Write a frame as .npz (float16 arrays; the contour as one array of points with NaN rows between lines)."""
    arrays: dict[str, np.ndarray] = {"step": np.asarray(frame.step, np.int64), "extent": np.asarray(frame.extent)}
    for name in _ARRAYS:
        value = getattr(frame, name)
        if value is not None:
            arrays[name] = np.asarray(value, np.int32) if name == "generated_labels" else _compact(value)
    if frame.contour:
        gap = np.full((1, 2), np.nan, np.float32)
        arrays["contour"] = _compact(np.concatenate([np.vstack([line, gap]) for line in frame.contour]))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write(path, buffer.getvalue(), durable=False)


FLOAT16_LARGEST = 6e4  # float16 holds up to 65,504


def _compact(values) -> np.ndarray:
    """float16 (small files) when every finite value fits it, else float32: points in large units
    (pixel coordinates, survey metres) must not turn into inf."""
    array = np.asarray(values, np.float32)
    finite = array[np.isfinite(array)]
    return array.astype(np.float16) if not finite.size or float(np.abs(finite).max()) < FLOAT16_LARGEST else array


def load_frame(path: str | Path, caption: str = "") -> Live2DFrame:
    """A saved frame (RunError when the file is not one)."""
    try:
        data = read_regular(path, MAX_FRAME_BYTES)
        if len(data) > MAX_FRAME_BYTES:
            raise ValueError("too large for a frame")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            wanted = [name for name in npz.files if name in (*_ARRAYS, "step", "extent", "contour")]
            _check_unpacked_size(npz, wanted)
            arrays = {name: npz[name] for name in wanted}
        extent = tuple(float(v) for v in arrays["extent"].reshape(4))
        frame = Live2DFrame(step=int(arrays["step"]), generated=arrays["generated"].astype(np.float32).reshape(-1, 2),
                            extent=extent, caption=caption)  # fmt: skip
    except GanStudioError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, MemoryError, zipfile.BadZipFile) as exc:
        raise RunError(f"not a readable 2D-view frame ({shorten(exc, 200)})", path) from None
    for name in ("heatmap", "mesh", "gradients"):
        if name in arrays:
            setattr(frame, name, arrays[name].astype(np.float32))
    if "generated_labels" in arrays:
        frame.generated_labels = arrays["generated_labels"].astype(np.int64)
    if frame.heatmap is not None:
        frame.field_range = (float(np.nanmin(frame.heatmap)), float(np.nanmax(frame.heatmap)))
    if "contour" in arrays:
        points = arrays["contour"].astype(np.float32)
        breaks = np.flatnonzero(np.isnan(points[:, 0]))
        pieces = (piece[~np.isnan(piece[:, 0])] for piece in np.split(points, breaks))
        frame.contour = [line for line in pieces if len(line) > 1]
    return frame


def _check_unpacked_size(npz, names: list[str]) -> None:
    """ValueError when the arrays' headers declare more than MAX_FRAME_ARRAY_BYTES (a few MB can unpack to GBs)."""
    total = 0
    for name in names:
        with npz.zip.open(f"{name}.npy") as fh:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(fh)
        total += math.prod(shape) * dtype.itemsize
    if total > MAX_FRAME_ARRAY_BYTES:
        raise ValueError(f"its arrays declare {total:,} bytes, far more than a frame holds")


def saved_frames(run_path: str | Path) -> list[tuple[int, Path]]:
    """The run's saved frames as (step, path), oldest first ([] for runs without any)."""
    folder = Path(run_path) / FRAMES_FOLDER
    try:
        entries = [e for e in folder.iterdir() if not e.is_symlink() and e.is_file()]
    except OSError:
        return []
    return sorted((int(m.group(1)), e) for e in entries if (m := FRAME_FILE.match(e.name)))


class FrameRecorder(TrainerCallback):
    """Saves the 2D view's frame of a model of 2D points at each of its sample steps."""

    def __init__(self):
        self._extent: tuple[float, float, float, float] | None = None

    def on_event(self, trainer, event):
        info = trainer.data_info
        if not isinstance(event, Sample) or info.kind != "points" or tuple(info.shape) != (2,):
            return ()
        if self._extent is None:
            self._extent = plane_extent(trainer.dataset.head(REAL_POINTS_FOR_EXTENT).numpy())
            RunDir(trainer.run.path).ensure_folder(FRAMES_FOLDER)
        device = trainer.device

        def generate(z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
            y = None if labels is None else torch.from_numpy(labels).to(device)
            return trainer.recipe.generate(torch.from_numpy(z).to(device), y).cpu().numpy()

        model = trainer.model
        frame = model_frame(generate, trainer.recipe.family, model.latent_dim, model.num_classes, event.step,
                            model=model if trainer.recipe.family == "gan" else None, extent=self._extent)  # fmt: skip
        save_frame(frame, frame_path(trainer.run.path, event.step))
        return ()

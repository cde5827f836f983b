"""What the latent explorer shows, without Qt: the open source, z, y and seed, and the render jobs that draw them.

The explorer panel keeps one `ExplorerState`; its tabs change z and y through it, and every picture
is made by a job (a plain function with no arguments) that the state builds from a snapshot of
itself, so the job can run in the render thread while the user keeps dragging. Tests drive the
state and call its jobs directly, with no widget.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_studio.errors import ConfigError, GanStudioError
from gan_studio.explore import latent as latent_ops
from gan_studio.explore.backends import ExplorerSource, is_onnx_file, open_source
from gan_studio.explore.encoding import run_dataset
from gan_studio.explore.live2d import fixed_inputs, plane_extent
from gan_studio.store.pictures import grid_cells, plane_pixels, samples_picture, to_uint8

NEIGHBOUR_RADIUS = 0.5  # per-dimension std of a neighbour's offset from z
NEIGHBOURS = 8  # around the current z, in a 3 x 3 grid with z in the middle
CLOUD_POINTS = 1500  # generated points drawn behind 2D point samples
REAL_POINTS = 2000  # training points kept for the 2D views


@dataclass
class RenderedBatch:
    """A rendered batch: the raw samples and the picture the UI shows (with its grid cells)."""

    samples: np.ndarray
    picture: np.ndarray
    cells: tuple | None
    points_px: np.ndarray | None = None  # 2D points on the plane picture: their pixel positions, for clicks


@dataclass
class LoadedSource:
    """What the render thread prepares when a source opens: the source and, for 2D points, a backdrop."""

    source: ExplorerSource
    checkpoint_mtime: int | None
    backdrop: tuple[np.ndarray, tuple] | None = None  # (generated cloud, extent) for point models
    real: np.ndarray | None = None  # training points (2D models), when the dataset loads
    keep_state: bool = False


def checkpoint_mtime(path: Path | None) -> int | None:
    try:
        return os.stat(path).st_mtime_ns if path else None
    except OSError:
        return None


def load_job(path: Path, backend: str, keep_state: bool) -> Callable[[], LoadedSource]:
    """A job opening a run directory or an .onnx file (and, for 2D point models, drawing its backdrop)."""
    path = Path(path)
    checkpoint = None if is_onnx_file(path) else path / "checkpoints" / "last.pt"

    def work() -> LoadedSource:
        mtime = checkpoint_mtime(checkpoint)
        source = open_source(path, backend="auto" if is_onnx_file(path) else backend)
        return LoadedSource(source, mtime, *point_backdrop(source), keep_state=keep_state)

    return work


def point_backdrop(source: ExplorerSource):
    """(backdrop, real points) for 2D point models; (None, None) for images."""
    if source.kind != "points":
        return None, None
    z, y = fixed_inputs(CLOUD_POINTS, source.latent_dim, source.num_classes, seed=1)
    cloud = np.asarray(source.backend.generate(z, y), np.float32).reshape(-1, 2)
    real = training_points(source.info, source.sample_shape, source.value_range) if source.info else None
    extent = plane_extent(real if real is not None else cloud)
    return (cloud, extent), real


def training_points(info: dict, sample_shape=(2,), value_range=(-np.inf, np.inf)) -> np.ndarray | None:
    """Up to REAL_POINTS of the points a run (its run.json `info`) trains on, evenly spread; None when they do not load."""
    try:
        dataset = run_dataset(info, tuple(sample_shape), tuple(value_range))
        return dataset.take(range(0, len(dataset), max(1, len(dataset) // REAL_POINTS))).numpy()
    except GanStudioError:
        return None


class ExplorerState:
    """The explorer's source, z, y and seed; `generation` changes whenever another model is opened."""

    def __init__(self):
        self.loaded: LoadedSource | None = None
        self.z = np.zeros(1, np.float32)
        self.y: np.ndarray | None = None
        self.seed: int | None = 0
        self.generation = 0

    @property
    def source(self) -> ExplorerSource | None:
        return self.loaded.source if self.loaded is not None else None

    # opening and closing --------------------------------------------------------------------------
    def take(self, loaded: LoadedSource) -> bool:
        """Make a freshly loaded source current; True when z and y were kept (same model, new weights)."""
        same_shape = (
            self.source is not None
            and loaded.keep_state
            and (self.source.latent_dim, self.source.num_classes)
            == (loaded.source.latent_dim, loaded.source.num_classes)
        )
        self.loaded = loaded
        if not same_shape:
            source = loaded.source
            self.seed = 0
            self.z = latent_ops.seed_latent(0, source.latent_dim)
            self.y = latent_ops.one_hot_vector(0, source.num_classes) if source.num_classes else None
        return same_shape

    def close(self) -> None:
        self.generation += 1
        self.loaded = None

    # changing z and y ------------------------------------------------------------------------------
    def set_latent(self, z: np.ndarray, seed: int | None = None) -> None:
        """Make z current (ConfigError when its size does not fit the model); `seed` None means edited."""
        if self.source is None:
            return
        z = np.asarray(z, np.float32).reshape(-1)
        if z.size != self.source.latent_dim:
            raise ConfigError(f"z has {z.size} values, this model takes {self.source.latent_dim}")
        self.z = z.copy()
        self.seed = seed

    def set_condition(self, y: np.ndarray) -> None:
        self.y = np.asarray(y, np.float32).reshape(-1)

    def batch_condition(self, n: int) -> np.ndarray | None:
        """The current y repeated for a batch of n, or None for unconditional models."""
        return None if self.y is None else np.repeat(self.y[None], n, axis=0)

    def neighbour_latents(self) -> np.ndarray:
        """Nine latents for a 3 x 3 grid: eight neighbours of z around z itself (index 4)."""
        near = latent_ops.neighbours(self.z, NEIGHBOURS, NEIGHBOUR_RADIUS, seed=self.seed or 0)
        return np.concatenate([near[:4], self.z[None], near[4:]])

    # render jobs ------------------------------------------------------------------------------------
    def main_job(self) -> Callable[[], np.ndarray]:
        """A job drawing the sample of the current z (and y), as the main image shows it."""
        source, backdrop = self._need_source(), self.loaded.backdrop
        z, y = self.z.copy(), None if self.y is None else self.y.copy()

        def work() -> np.ndarray:
            samples = source.backend.generate(z[None], None if y is None else y[None])
            if samples.ndim == 4:
                return to_uint8(samples, source.value_range)[0]
            return samples_picture(samples, source.value_range, 1, backdrop=backdrop)

        return work

    def batch_job(self, z: np.ndarray, y: np.ndarray | None, columns: int) -> Callable[[], RenderedBatch]:
        """A job generating a batch (z (N, latent), y (N, K) or None) and its picture, `columns` wide."""
        source, backdrop = self._need_source(), self.loaded.backdrop
        z, y = np.array(z, np.float32), None if y is None else np.array(y, np.float32)

        def work() -> RenderedBatch:
            samples = source.backend.generate(z, y)
            classes = None if y is None else y.argmax(axis=1)
            picture = samples_picture(samples, source.value_range, columns, backdrop=backdrop, classes=classes)
            if samples.ndim == 4:
                return RenderedBatch(samples, picture, grid_cells(len(z), columns, samples.shape[2:]))
            on_plane = backdrop is not None and samples.ndim == 2
            return RenderedBatch(samples, picture, None, plane_pixels(samples, backdrop[1], len(picture)) if on_plane
                                 else None)  # fmt: skip

        return work

    def _need_source(self) -> ExplorerSource:
        if self.source is None:
            raise ConfigError("no model is open in the explorer")
        return self.source

    # describing ------------------------------------------------------------------------------------------
    def caption(self) -> str:
        parts = [f"seed {self.seed}" if self.seed is not None else "edited z"]
        if self.y is not None and self.source is not None:
            parts.append("class " + latent_ops.describe_condition(self.y, self.source.condition_names()))
        return " · ".join(parts)

    def about(self) -> dict:
        """Where the current sample comes from (stored beside saved pictures and latents)."""
        source = self._need_source()
        return {
            "model": source.model_name,
            "source": str(source.path),
            "step": source.step,
            "seed": self.seed,
            "class_names": source.condition_names() if source.num_classes else None,
            "condition": latent_ops.describe_condition(self.y, source.condition_names()) or None,
        }

"""What the explorer draws from: a run (torch) or an exported generator (ONNX Runtime), one interface.

`open_source(path)` accepts a run directory or an .onnx file. For a run it prefers ONNX Runtime
when the run has an export of the same training step in RUN/exports/ (faster on CPU), and torch
otherwise; `backend="torch"` or `"onnx"` forces one. The torch model of a run stays available
(`source.loaded`) for what an exported generator cannot do: encoding images (VAE), the
discriminator's heatmap and the KL ordering of latent dimensions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from gan_studio.errors import ConfigError, ExportError, RunError
from gan_studio.files import describe_kind
from gan_studio.models import get_spec
from gan_studio.store.loaded import LoadedRun, load_run
from gan_studio.store.rundir import RunDir

BACKEND_CHOICES = ("auto", "torch", "onnx")


class Backend(Protocol):
    """Anything that turns latents into samples: `generate(z (N, latent), y (N, K) | None) -> (N, ...)`."""

    name: str

    def generate(self, z: np.ndarray, y: np.ndarray | None) -> np.ndarray: ...


class TorchBackend:
    """A run's model in torch (eval mode)."""

    def __init__(self, loaded: LoadedRun):
        self.loaded = loaded
        device = next(loaded.model.parameters()).device
        self.name = f"torch ({device.type})"

    def generate(self, z: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        zt = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))
        yt = None if y is None else torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
        return self.loaded.generate(zt, yt).numpy()


class OnnxBackend:
    """An exported generator run by ONNX Runtime (`gan_studio.export.inference.OnnxGenerator`)."""

    def __init__(self, generator):
        self.generator = generator
        provider = str(getattr(generator, "provider", "CPUExecutionProvider"))
        self.name = f"ONNX Runtime ({provider.replace('ExecutionProvider', '') or 'CPU'})"

    def generate(self, z: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        z = np.ascontiguousarray(z, dtype=np.float32)
        y = None if y is None else np.ascontiguousarray(y, dtype=np.float32)
        return np.asarray(self.generator.generate(z, y))


class TorchEncoder:
    """A run's VAE encoder on numpy batches: `(x, y) -> (mu, logvar)`."""

    def __init__(self, vae):
        self.vae = vae

    @torch.no_grad()
    def __call__(self, x: np.ndarray, y: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        device = next(self.vae.parameters()).device
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
        yt = None if y is None else torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)).to(device)
        mu, logvar = self.vae.encode(xt, yt)
        return mu.cpu().numpy(), logvar.cpu().numpy()


@dataclass
class ExplorerSource:
    """A model opened in the explorer, with everything the panel needs to know about it."""

    path: Path  # the run directory or the .onnx file opened
    backend: Backend
    model_name: str
    family: str  # "gan" | "vae"
    latent_dim: int
    num_classes: int
    class_names: list[str]
    kind: str  # "images" | "points"
    sample_shape: tuple[int, ...]
    value_range: tuple[float, float]
    step: int
    run_path: Path | None = None  # the run directory, when there is one
    loaded: LoadedRun | None = None  # torch model (runs only)
    onnx_path: Path | None = None  # the .onnx file in use, if any
    encoder: Callable[[np.ndarray, np.ndarray | None], tuple[np.ndarray, np.ndarray]] | None = None  # VAEs
    note: str = ""  # why this backend was chosen, shown to the user
    info: dict = field(default_factory=dict)  # run.json

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def checkpoint_path(self) -> Path | None:
        return RunDir(self.run_path).last_checkpoint if self.run_path else None

    @property
    def title(self) -> str:
        return f"{self.model_name} · {self.path.name} · step {self.step}"

    def condition_names(self) -> list[str]:
        """A name per class (the dataset's, or the class index when it has none)."""
        return [self.class_names[i] if i < len(self.class_names) else str(i) for i in range(self.num_classes)]


def is_onnx_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".onnx"


def open_source(path: str | Path, backend: str = "auto", device: str = "cpu") -> ExplorerSource:
    """Open a run directory or an exported .onnx file for exploring (see module docstring)."""
    if backend not in BACKEND_CHOICES:
        raise ConfigError(f"unknown backend '{backend}' (choose {', '.join(BACKEND_CHOICES)})")
    path = Path(path).expanduser()
    if is_onnx_file(path):
        if backend == "torch":
            raise ConfigError("an .onnx file runs in ONNX Runtime; open its run directory to use torch")
        return _open_onnx_file(path)
    if not path.exists():
        raise RunError("no such run directory or .onnx file", path)
    if path.is_file():
        raise RunError("open a run directory or an exported .onnx file", path)
    loaded = load_run(path, device=device)
    source = _source_from_run(loaded)
    if backend == "torch":
        source.note = "torch (chosen)"
        return source
    export, why = matching_export(path, loaded.step)
    if export is None:
        if backend == "onnx":
            raise ExportError(f"{why}; export it first (gan-studio export {path})", path)
        source.note = why
        return source
    try:
        gen = _onnx_generator(export)
    except ExportError as exc:
        if backend == "onnx":
            raise
        source.note = f"torch: the export could not be used ({exc})"
        return source
    source.backend = OnnxBackend(gen)
    source.onnx_path = export
    source.note = f"ONNX Runtime: {export.name}"
    return source


def _source_from_run(loaded: LoadedRun) -> ExplorerSource:
    data = loaded.data_info
    return ExplorerSource(
        path=loaded.path,
        backend=TorchBackend(loaded),
        model_name=loaded.model_name,
        family=loaded.family,
        latent_dim=loaded.latent_dim,
        num_classes=loaded.num_classes,
        class_names=list(loaded.class_names),
        kind=data.kind,
        sample_shape=tuple(data.shape),
        value_range=tuple(loaded.model.output_range),
        step=loaded.step,
        run_path=loaded.path,
        loaded=loaded,
        info=loaded.info,
        encoder=TorchEncoder(loaded.model) if loaded.family == "vae" else None,
    )


def exports_of(run_path: str | Path) -> list[tuple[Path, float]]:
    """The run's exported .onnx files and their mtimes, newest first: regular files only (no symlinks, FIFOs
    or folders)."""
    folder = RunDir(Path(run_path)).exports_dir
    found = []
    try:
        entries = list(os.scandir(folder)) if folder.is_dir() and not folder.is_symlink() else []
    except OSError:
        return []
    for entry in entries:
        try:
            if entry.name.endswith(".onnx") and entry.is_file(follow_symlinks=False):
                found.append((entry.stat(follow_symlinks=False).st_mtime, Path(entry.path)))
        except OSError:  # gone or unreadable since the listing
            continue
    return [(path, mtime) for mtime, path in sorted(found, key=lambda item: item[0], reverse=True)]


def matching_export(run_path: str | Path, step: int) -> tuple[Path | None, str]:
    """The newest generator export of `run_path` made from its current checkpoint of step `step`, or None
    and why not. An export older than the checkpoint is of an earlier history (the run was rewound with
    --from and trained again to the same step): not used. Unreadable files are passed over."""
    files = exports_of(run_path)
    if not files:
        return None, "torch: the run has no ONNX export"
    checkpoint = RunDir(Path(run_path)).last_checkpoint
    try:
        checkpoint_time = checkpoint.stat().st_mtime
    except OSError:
        checkpoint_time = 0.0
    steps, stale = [], False
    for candidate, made in files:
        meta_step, part = _export_step_and_part(candidate)
        if meta_step is None or part not in ("generator", "decoder"):
            continue
        if meta_step != step:
            steps.append(meta_step)
        elif made < checkpoint_time:
            stale = True
        else:
            return candidate, ""
    if stale:
        return None, f"torch: the ONNX export of step {step} is older than the checkpoint (the run was rewound since)"
    if steps:
        return None, f"torch: the ONNX export is from step {max(steps)}, the checkpoint from step {step}"
    return None, "torch: the run has no readable ONNX export of its generator"


def _export_step_and_part(path: Path) -> tuple[int | None, str | None]:
    """Training step and part recorded in an .onnx file's metadata (None, None when it cannot be read)."""
    try:
        import onnx

        from gan_studio.export.inference import read_onnx_bytes

        model = onnx.load_model_from_string(read_onnx_bytes(path))
    except Exception:  # noqa: BLE001 - refused, unreadable or not ONNX: passed over while choosing
        return None, None
    meta = {p.key: p.value for p in model.metadata_props}
    step = meta.get("step", "")
    if not (step.isascii() and step.isdigit() and len(step) <= 12):
        return None, None
    return int(step), meta.get("part")


def _inference():
    try:
        from gan_studio.export import inference
    except ImportError as exc:
        raise ExportError(f"ONNX inference is not available ({exc})") from None
    return inference


def _onnx_generator(path: Path):
    return _inference().OnnxGenerator(path)


def _sibling_encoder(decoder_path: Path, step: int):
    """The encoder exported beside a VAE decoder at the same step (None when there is none)."""
    for candidate in sorted(decoder_path.parent.glob("*.onnx")):
        if candidate != decoder_path and _export_step_and_part(candidate) == (step, "encoder"):
            try:
                return _inference().OnnxEncoder(candidate)
            except ExportError:
                continue
    return None


def _open_onnx_file(path: Path) -> ExplorerSource:
    if not path.is_file():
        try:
            mode = os.stat(path).st_mode
        except OSError:
            raise ExportError("no such .onnx file", path) from None
        raise ExportError(f"not a regular file: it is {describe_kind(mode)} (expected an exported .onnx file)", path)
    gen = _onnx_generator(path)
    model_name = str(getattr(gen, "model_type", None) or "onnx")
    try:
        family = get_spec(model_name).family
    except ConfigError:
        family = "gan"
    shape = tuple(int(s) for s in gen.image_shape)
    run_path = path.parent.parent if (path.parent.parent / "run.json").is_file() else None
    step = int(getattr(gen, "step", 0) or 0)
    encoder = _sibling_encoder(path, step) if family == "vae" else None
    value_range = gen.value_range if gen.value_range is not None else (-float("inf"), float("inf"))
    return ExplorerSource(
        path=path,
        backend=OnnxBackend(gen),
        model_name=model_name,
        family=family,
        latent_dim=int(gen.latent_dim),
        num_classes=int(gen.num_classes or 0),
        class_names=list(gen.class_names or []),
        kind="points" if len(shape) == 1 else "images",
        sample_shape=shape,
        value_range=tuple(float(v) for v in value_range),
        step=step,
        run_path=run_path,
        onnx_path=path,
        note=f"ONNX Runtime: {path.name}",
        encoder=None if encoder is None else encoder.encode,
        info=_run_info(run_path),
    )


def _run_info(run_path: Path | None) -> dict:
    """run.json of the run an export sits in (for its dataset), {} when unknown or unreadable."""
    if run_path is None:
        return {}
    try:
        return RunDir(run_path).read_info()
    except RunError:
        return {}

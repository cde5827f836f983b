"""Checkpoints: written atomically, read with `weights_only=True`, checked against the model.

A checkpoint is a dict of tensors and plain Python values only. Files with pickled objects
are refused (never unpickled), and so are checkpoints of another model or an incompatible config.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path

import torch

from gan_studio.errors import CheckpointError

CHECKPOINT_FORMAT = "gan-studio-checkpoint"
CHECKPOINT_VERSION = 1


def atomic_torch_save(obj, path: str | Path) -> None:
    """torch.save to a temp file, fsync it, rename over `path`, fsync the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a GAN Studio checkpoint safely; CheckpointError for anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint not found", path)
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"refused: the file contains pickled Python objects, which are never loaded ({_first_line(exc)})", path
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError, IndexError,
            TypeError, AttributeError, UnicodeDecodeError, MemoryError) as exc:  # fmt: skip
        raise CheckpointError(f"corrupt or truncated checkpoint ({_first_line(exc)})", path) from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError("not a GAN Studio checkpoint", path)
    if data.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"unsupported checkpoint version {data.get('version')!r}", path)
    for key in ("model_name", "model_config", "data_info", "model", "step"):
        if key not in data:
            raise CheckpointError(f"checkpoint lacks '{key}'", path)
    return data


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def check_compatible(data: dict, model_name: str, model, path: str | Path) -> None:
    """Refuse a checkpoint of another model, or whose tensors don't fit this model's config."""
    if data["model_name"] != model_name:
        raise CheckpointError(f"checkpoint is for model '{data['model_name']}', not '{model_name}'", path)
    expected = model.state_dict()
    found = data["model"]
    if not isinstance(found, dict):
        raise CheckpointError("checkpoint has no model weights", path)
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint does not match the model config (missing {missing[:3]}, unexpected {unexpected[:3]})", path
        )
    for key, tensor in expected.items():
        other = found[key]
        if not isinstance(other, torch.Tensor) or other.shape != tensor.shape:
            shape = tuple(other.shape) if isinstance(other, torch.Tensor) else type(other).__name__
            raise CheckpointError(
                f"checkpoint does not match the model config: {key} is {shape}, expected {tuple(tensor.shape)}", path
            )


_STEP_FILE = re.compile(r"^step-(\d+)\.pt$")


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Keep the newest `keep` step-N.pt files (last.pt is never touched)."""
    numbered = sorted(
        (int(m.group(1)), p) for p in folder.glob("step-*.pt") if (m := _STEP_FILE.match(p.name))
    )
    for _, path in numbered[: max(0, len(numbered) - keep)]:
        try:
            path.unlink()
        except OSError:
            pass

"""Checkpoints: written atomically, read with `weights_only=True`, checked against the model.

A checkpoint is a dict of tensors and plain Python values only. Files with pickled objects
are refused (never unpickled), and so are checkpoints of another model or an incompatible config.
"""

from __future__ import annotations

import os
import pickle
import re
import struct
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


def remove_stale_temp_files(folder: Path) -> None:
    """Delete temp files left by a process killed while writing a checkpoint (never valid ones)."""
    for path in Path(folder).glob(".*.tmp-*"):
        try:
            path.unlink()
        except OSError:
            pass


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
    # what torch.load raises for damaged files, struct.error and AssertionError included (found by fuzzing)
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError, IndexError,
            TypeError, AttributeError, UnicodeDecodeError, MemoryError, struct.error,
            AssertionError) as exc:  # fmt: skip
        raise CheckpointError(f"corrupt or truncated checkpoint ({_first_line(exc)})", path) from None
    if not isinstance(data, dict) or not _is_plain(data.get("format"), str) or data["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError("not a GAN Studio checkpoint", path)
    if not _is_plain(data.get("version"), int) or data["version"] != CHECKPOINT_VERSION:
        raise CheckpointError(f"unsupported checkpoint version {_describe(data.get('version'))}", path)
    for key in ("model_name", "model_config", "data_info", "model", "step"):
        if key not in data:
            raise CheckpointError(f"checkpoint lacks '{key}'", path)
    problem = _structure_problem(data)
    if problem:
        raise CheckpointError(f"corrupt checkpoint: {problem}", path)
    return data


MAX_DATA_ELEMENTS = 1 << 24  # values in one sample (a 4096x4096 RGB image); beyond that the data_info is corrupt
MAX_CLASSES = 100_000


def _is_plain(value, kind: type) -> bool:
    """`value` is of exactly this plain type (an int that is not a bool, ...)."""
    return type(value) is kind


def _describe(value) -> str:
    return f"{type(value).__name__} {tuple(value.shape)}" if isinstance(value, torch.Tensor) else repr(value)[:60]


def _structure_problem(data: dict) -> str | None:
    """What is wrong with the plain values of a checkpoint (types, sizes), or None when they are sane."""
    if not _is_plain(data["model_name"], str):
        return f"model_name is {_describe(data['model_name'])}"
    if not _is_plain(data["step"], int) or data["step"] < 0:
        return f"step is {_describe(data['step'])}"
    for key in ("model_config", "train_config"):
        config = data.get(key, {})
        if not isinstance(config, dict):
            return f"{key} is {_describe(config)}"
        for name, value in config.items():
            if not isinstance(name, str) or type(value) not in (bool, int, float, str):
                return f"{key} entry {name!r} is {_describe(value)}"
    if not isinstance(data["model"], dict):
        return f"model weights are {_describe(data['model'])}"
    info = data["data_info"]
    if not isinstance(info, dict) or not {"kind", "shape", "num_classes", "class_names"} <= set(info):
        return "data_info lacks kind, shape, num_classes or class_names"
    shape, classes, names = info["shape"], info["num_classes"], info["class_names"]
    if info["kind"] not in ("images", "points"):
        return f"data_info kind is {_describe(info['kind'])}"
    if not isinstance(shape, (list, tuple)) or not shape or not all(_is_plain(n, int) and n > 0 for n in shape):
        return f"data_info shape is {_describe(shape)}"
    elements = 1
    for n in shape:
        elements *= n
    if elements > MAX_DATA_ELEMENTS or len(shape) != (3 if info["kind"] == "images" else 1):
        return f"data_info shape {list(shape)} is impossible for {info['kind']}"
    if not _is_plain(classes, int) or not 0 <= classes <= MAX_CLASSES:
        return f"data_info num_classes is {_describe(classes)}"
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(names) < classes:
        return "data_info class_names is not a list of one name per class"
    if "rng" in data:
        return _rng_problem(data["rng"])
    return None


def _rng_problem(rng) -> str | None:
    """What is wrong with a saved RNG state (checked before restoring it: a huge one would take ages)."""
    python = rng.get("python") if isinstance(rng, dict) else None
    numpy_state = rng.get("numpy") if isinstance(rng, dict) else None
    if not isinstance(python, dict) or not isinstance(python.get("state"), list) or len(python["state"]) > 1000:
        return "the python RNG state is malformed"
    keys = numpy_state.get("keys") if isinstance(numpy_state, dict) else None
    if not isinstance(keys, torch.Tensor) or keys.numel() != 624:
        return "the numpy RNG state is malformed"
    if not isinstance(rng.get("torch"), torch.Tensor) or rng["torch"].dtype != torch.uint8:
        return "the torch RNG state is malformed"
    return None


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
    numbered = sorted((int(m.group(1)), p) for p in folder.glob("step-*.pt") if (m := _STEP_FILE.match(p.name)))
    for _, path in numbered[: max(0, len(numbered) - keep)]:
        try:
            path.unlink()
        except OSError:
            pass

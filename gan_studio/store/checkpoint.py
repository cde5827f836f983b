"""Checkpoints: verified before saving, written atomically, read with `weights_only=True`, checked
against the model.

A checkpoint is a dict of tensors and plain Python values only. Files with pickled objects are
refused (never unpickled), and so are checkpoints of another model or config. A state is saved only
after every weight and optimizer value was checked finite (`nonfinite_entry`), so last.pt is always
the newest verified checkpoint: pruning keeps the newest N numbered ones and never touches last.pt.
"""

from __future__ import annotations

import math
import os
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gan_studio.errors import CheckpointError, GanStudioError, RunError, shorten
from gan_studio.files import DiskFullError, UnsafeFileError, atomic_write, open_regular
from gan_studio.models import live_hparams
from gan_studio.store.checkpoint_files import check_run_still_there, numbered_checkpoints

CHECKPOINT_FORMAT = "gan-studio-checkpoint"
CHECKPOINT_VERSION = 1


def save_checkpoint(state: dict, path: str | Path) -> None:
    """torch.save `state` atomically (see gan_studio.files.atomic_write); the folder is created if missing."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: torch.save(state, fh))


def save_run_checkpoint(state: dict, run_path: Path, keep: int, previous_step: int | None) -> None:
    """A run's checkpoints/last.pt of state["step"] and, when `keep`, its kept copy step-N.pt (the `keep`
    newest stay). A full disk or a read-only folder is a RunError naming the checkpoint really on disk
    (`previous_step`: the step of last.pt before this save, None when the run had none)."""
    folder, step = Path(run_path) / "checkpoints", int(state["step"])
    numbered, saved = f"step-{step:07d}.pt", previous_step
    check_run_still_there(run_path, f"the checkpoint of step {step}")
    try:
        save_checkpoint(state, folder / "last.pt")
        saved = step
        if keep:
            save_checkpoint(state, folder / numbered)
            prune_checkpoints(folder, keep)
    except DiskFullError:
        if saved == step:
            kept = f"checkpoints/last.pt holds step {step}, but its kept copy {numbered} was not saved"
        elif saved is not None:
            kept = f"the checkpoint of step {step} was not saved; checkpoints/last.pt (step {saved}) is intact"
        else:
            kept = f"the checkpoint of step {step} was not saved, and the run has no earlier one"
        raise RunError(f"the disk is full: {kept}", run_path) from None
    except PermissionError:
        raise RunError("the run folder is read-only: cannot save checkpoints", run_path) from None


def _stored_values(tensor: torch.Tensor) -> torch.Tensor:
    """The values a tensor's storage really holds, as one flat tensor. A file can describe a view far larger
    than its data (zero or overlapping strides): checking the view itself could allocate gigabytes."""
    storage = tensor.untyped_storage()
    count = storage.nbytes() // tensor.element_size()
    return tensor.new_empty(0).set_(storage, 0, (count,), (1,))


def nonfinite_entry(state: dict) -> str | None:
    """The first weight or optimizer value of a checkpoint state that is NaN or inf (None when all are finite)."""

    def walk(value, where: str) -> str | None:
        if isinstance(value, torch.Tensor):
            if value.is_floating_point() and not bool(torch.isfinite(_stored_values(value)).all()):
                return where
            return None
        if isinstance(value, dict):
            for key, item in value.items():
                found = walk(item, f"{where}.{key}" if where else str(key))
                if found:
                    return found
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                found = walk(item, f"{where}[{i}]")
                if found:
                    return found
        return None

    return walk({"model": state.get("model"), "optimizers": state.get("optimizers")}, "")


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a GAN Studio checkpoint safely; CheckpointError for anything else."""
    path = Path(path)
    try:
        with open_regular(path) as fh:
            _verify_checksums(fh, path)
            fh.seek(0)
            data = torch.load(fh, map_location=map_location, weights_only=True)
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError("checkpoint not found", path) from None
    except UnsafeFileError as exc:
        raise CheckpointError(exc.reason, path) from None
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
    bad = nonfinite_entry(data)  # GAN Studio never saves such a state: the file was damaged or planted
    if bad:
        raise CheckpointError(f"refused: {bad[:120]} holds NaN or infinite values", path)
    return data


def _verify_checksums(fh, path: Path) -> None:
    """Check the CRC-32 torch.save stores with every part of a checkpoint (torch.load does not): a
    damaged byte anywhere is found here, instead of loading silently into weights or optimizer state."""
    with zipfile.ZipFile(fh) as archive:
        members = archive.infolist()
        if any(m.compress_type != zipfile.ZIP_STORED for m in members):
            raise CheckpointError("not a checkpoint written by GAN Studio (compressed parts)", path)
        damaged = archive.testzip()  # reads each part once, comparing its checksum
    if damaged is not None:
        raise CheckpointError(f"damaged checkpoint: {shorten(damaged, 120)} fails its checksum", path)


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
    offset, scale = info.get("offset", []), info.get("scale", 1.0)
    if not isinstance(offset, (list, tuple)) or (offset and (info["kind"] != "points" or len(offset) != shape[0])):
        return f"data_info offset is {_describe(offset)}"
    if not all(_is_plain(v, float) and math.isfinite(v) for v in offset):
        return "data_info offset holds a value that is not a finite number"
    if not _is_plain(scale, float) or not math.isfinite(scale) or not 0 < scale < 1e30:
        return f"data_info scale is {_describe(scale)}"
    if "rng" in data and (problem := _rng_problem(data["rng"])):
        return problem
    others = data.get("rng_other_ranks")
    if others is not None:
        if not isinstance(others, list) or len(others) >= MAX_PROCESSES:
            return "rng_other_ranks is not a list of one RNG state per other process"
        return next((problem for state in others if (problem := _rng_problem(state))), None)
    return None


MAX_PROCESSES = 65536  # torchrun processes whose RNG states a checkpoint may hold


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


# settings a resume may change besides the models' live ones (length, cadences, device); checkpoints are fp32 and
# layout-free, so device, precision, layout and compilation may change on resume
RESUMABLE_SETTINGS = ("steps", "epochs", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints",
                      "eval_every", "device", "precision", "channels_last", "compile", "deterministic")  # fmt: skip


# a resume may give the run's data in a new place (--data: it checks it is the same data); run.json then
# lists the earlier places in "data_moved_from", so that checkpoints saved before the move still belong
MOVABLE_SETTINGS = ("data",)
MAX_DATA_MOVES = 20


def config_differences(saved: dict, recorded: dict) -> list[str]:
    """The settings (keys present in both) that differ between a checkpoint's config and run.json's,
    leaving out those a resume may change; as 'key (run.json value, checkpoint value)' texts."""
    may_change = {*RESUMABLE_SETTINGS, *live_hparams()}
    differ = sorted(k for k in saved if k not in may_change and k in recorded and recorded[k] != saved[k])
    return [f"{k} ({_shown(recorded[k])} in run.json, {_shown(saved[k])} in the checkpoint)" for k in differ]


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


MISMATCH_CHECKS = 4  # other checkpoints read to tell a foreign checkpoint from an edited run.json


@dataclass
class Mismatch:
    """How a checkpoint differs from its run's run.json in what no resume can change (empty: they agree)."""

    model: str = ""  # "model ('gan' in run.json, 'vae' in the checkpoint)"
    settings: list[str] = field(default_factory=list)  # config_differences of the model and train configs
    data: list[str] = field(default_factory=list)  # the data_info keys that differ

    def __bool__(self) -> bool:
        return bool(self.model or self.settings or self.data)

    def __str__(self) -> str:
        parts = [self.model] if self.model else []
        parts += self.settings[:5] + ([f"the data's {', '.join(self.data)}"] if self.data else [])
        return "; ".join(parts)


def run_mismatch(data: dict, info: dict) -> Mismatch:
    """How a loaded checkpoint differs from its run's run.json: the model, its settings (all but those a
    resume may change), the data's shape and classes. What run.json does not say is not compared."""
    mismatch = Mismatch()
    if isinstance(info.get("model"), str) and info["model"] != data["model_name"]:
        mismatch.model = f"model ({_shown(info['model'])} in run.json, {_shown(data['model_name'])} in the checkpoint)"
    moved_from = info.get("data_moved_from") if isinstance(info.get("data_moved_from"), list) else []
    for key in ("model_config", "train_config"):
        recorded, saved = info.get(key), data.get(key)
        if key == "train_config" and isinstance(saved, dict) and saved.get("data") in moved_from:
            saved = {**saved, "data": recorded.get("data") if isinstance(recorded, dict) else None}  # moved since
        if isinstance(recorded, dict) and isinstance(saved, dict):
            mismatch.settings += config_differences(saved, recorded)
    recorded = info.get("data_info")
    if isinstance(recorded, dict):
        saved = data["data_info"]
        mismatch.data = [k for k in ("class_names", "kind", "num_classes", "shape", "offset", "scale")
                         if k in recorded and list_or_value(recorded[k]) != list_or_value(saved.get(k))]  # fmt: skip
    return mismatch


def mismatch_error(path: str | Path, info: dict, mismatch: Mismatch, said: str) -> CheckpointError:
    """The error of a checkpoint that differs from run.json (`said`), unless the run's other checkpoints (up to
    MISMATCH_CHECKS of them) all differ from it too: then run.json is what changed (edited by hand, or put back from
    another run), and the error names run.json, not the checkpoints (whose --from step-N would fail the same way)."""
    path = Path(path)
    folder = path.parent
    if folder.name != "checkpoints":
        return CheckpointError(said, path)
    others = [other for _, other in reversed(numbered_checkpoints(folder)) if other != path]
    others = ([folder / "last.pt"] if path.name != "last.pt" else []) + others
    differing = 0
    for other in others[:MISMATCH_CHECKS]:
        try:
            if not run_mismatch(load_checkpoint(other), info):
                return CheckpointError(said, path)  # another checkpoint agrees with run.json: this one is foreign
        except GanStudioError:
            continue  # damaged: says nothing either way
        differing += 1
    if not differing:
        return CheckpointError(said, path)
    return CheckpointError(f"run.json does not match the run's checkpoints ({mismatch}): was it edited, or put back "
                           "from another run? Put back the run's own run.json", folder.parent / "run.json")  # fmt: skip


def list_or_value(value):
    return list(value) if isinstance(value, tuple) else value


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Keep the newest `keep` step-N.pt files (last.pt is never touched, nor anything else)."""
    numbered = numbered_checkpoints(folder)
    for _, path in numbered[: max(0, len(numbered) - keep)]:
        try:
            os.unlink(path)
        except OSError:
            pass

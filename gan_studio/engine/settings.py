"""How to train: the TrainConfig every run records, the settings that may change live, device choice,
and recipe files (TOML) that give a model and its settings."""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gan_studio.config import (
    FieldSpec,
    apply_values,
    config_from_saved,
    field_specs,
    live_fields,
    param,
    read_toml,
    to_dict,
)
from gan_studio.engine.precision import CHANNELS_LAST_CHOICES, PRECISIONS
from gan_studio.errors import CheckpointError, ConfigError, DataError
from gan_studio.models import MODELS, DataInfo, get_spec
from gan_studio.store.checkpoint import MAX_DATA_MOVES, RESUMABLE_SETTINGS, mismatch_error, run_mismatch
from gan_studio.store.rundir import run_data_spec


@dataclass
class TrainConfig:
    """How to train: data, length, batch, seed, device and logging cadence."""

    data: str = param(
        "shapes", "dataset: a built-in name or a path (image folder or .zip of one, IDX or CIFAR-10 folder, .npz)"
    )
    steps: int = param(2000, "training steps (generator updates for GANs)", low=1, high=10**9)
    epochs: float = param(0.0, "train for this many passes over the data instead of steps (0 = use steps)",
                          low=0.0, high=1e6)  # fmt: skip
    batch_size: int = param(64, "samples per batch (per process under torchrun)", low=1, high=65536)
    seed: int = param(0, "random seed: same seed, same CPU run", low=0, high=2**31 - 1)
    device: str = param("auto", "where to train", choices=("auto", "cpu", "cuda", "mps"))
    log_every: int = param(10, "steps between logged metrics", low=1, high=10**6)
    sample_every: int = param(200, "steps between saved sample grids (0 = only at the end)", low=0, high=10**9)
    checkpoint_every: int = param(500, "steps between checkpoints (0 = only at the end)", low=0, high=10**9)
    keep_checkpoints: int = param(3, "numbered checkpoints kept besides last.pt", low=0, high=1000, advanced=True)
    eval_every: int = param(0, "steps between quality metrics during training (0 = off)", low=0, high=10**9,
                            advanced=True)  # fmt: skip
    sync_batchnorm: bool = param(False, "SyncBatchNorm across processes under torchrun (CUDA)", advanced=True)
    skip_bad_files: bool = param(False, "train on the readable images when some files of the data cannot be used "
                                 "(they are listed in run.json)")  # fmt: skip
    hold_out: bool = param(False, "train on a fixed 80 % of a dataset that comes as one set (a folder, MNIST's test "
                           "files alone), so that `gan-studio eval` judges on the other 20 %, unseen (as the quality "
                           "table does); a dataset with a test split of its own trains whole", advanced=True)  # fmt: skip
    flip: bool = param(False, "random horizontal flip of training images (per batch; the same after a resume)")
    precision: str = param("auto", "arithmetic of the forward passes: bf16 or fp16 autocast (fp16 with loss scaling) "
                           "or fp32; auto = bf16 on a CUDA GPU that has it, fp32 elsewhere. Weights, losses and "
                           "checkpoints stay fp32. fp16 is for GPUs: on a CPU it is several times slower than bf16",
                           choices=PRECISIONS, advanced=True)  # fmt: skip
    channels_last: str = param("auto", "NHWC memory layout of convolutional models (auto = on CUDA only)",
                               choices=CHANNELS_LAST_CHOICES, advanced=True)  # fmt: skip
    compile: bool = param(False, "torch.compile the networks a training step runs (the first steps are slower "
                          "while it compiles; falls back to eager with a note when it fails)", advanced=True)  # fmt: skip
    deterministic: bool = param(False, "on a GPU, deterministic kernels: the same seed gives the same run and a "
                                "resume equals an uninterrupted run, a little slower (CPU runs always repeat)",
                                advanced=True)  # fmt: skip


def resolve_device(choice: str) -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then CPU; an unavailable explicit choice is an error."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if choice == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if choice == "cuda" and not cuda:
        if torch.version.cuda is None:
            raise ConfigError(f"device 'cuda' requested but this torch ({torch.__version__}) is a CPU build: install "
                              "a CUDA build of torch (see the README's 'CPU or GPU torch')")  # fmt: skip
        raise ConfigError(f"device 'cuda' requested but torch (CUDA {torch.version.cuda}) sees no GPU: check the "
                          "driver (nvidia-smi) and CUDA_VISIBLE_DEVICES")  # fmt: skip
    if choice == "mps" and not mps:
        raise ConfigError("device 'mps' requested but Apple MPS is not available")
    return torch.device(choice)


RUN_PLACE_KEYS = ("out", "workspace")  # recipe keys that are not settings but say where the run goes


def all_field_specs() -> list[FieldSpec]:
    """Train-config fields, then every model-config field: the first definition of a name gives its help and
    limits, and the choices are those of every model that has the field (a model may offer more)."""
    specs: dict[str, FieldSpec] = {}
    for cls in [TrainConfig] + [spec.config_cls for spec in MODELS.values()]:
        for spec in field_specs(cls):
            first = specs.setdefault(spec.name, spec)
            if first.choices is not None and spec.choices is not None:
                more = tuple(choice for choice in spec.choices if choice not in first.choices)
                specs[spec.name] = dataclasses.replace(first, choices=first.choices + more)
    return list(specs.values())


def read_recipe(path: str | Path) -> tuple[str | None, dict, dict]:
    """A TOML recipe as (model, settings, run place {out, workspace}); tables are merged in."""
    values = read_toml(path)
    model = values.pop("model", None)
    if model is not None and not isinstance(model, str):
        raise ConfigError("'model' must be a string", path)
    place = {key: str(values.pop(key)) for key in RUN_PLACE_KEYS if key in values}
    return model, values, place


def _did_you_mean(key: str, names: set[str], prefix: str) -> str:
    """' (it has --lr-g, --lr-d)' for a setting another model has under a longer or similar name."""
    similar = sorted(n for n in names if n.startswith(key + "_")) or difflib.get_close_matches(key, sorted(names), 3)
    if not similar:
        return ""
    return " (it has " + ", ".join(prefix + (n.replace("_", "-") if prefix else n) for n in similar) + ")"


def configs_from_values(model: str, values: dict, source: str | Path | None = None):
    """(model spec, TrainConfig, model config) from flat settings; a ConfigError names any bad one."""
    spec = get_spec(model)
    train_names = {s.name for s in field_specs(TrainConfig)}
    model_names = {s.name for s in field_specs(spec.config_cls)}
    train_values, model_values = {}, {}
    for name, value in values.items():
        key = name.replace("-", "_")
        if key in train_names:
            train_values[key] = value
        elif key in model_names:
            model_values[key] = value
        elif source:
            hint = _did_you_mean(key, train_names | model_names, "")
            raise ConfigError(f"'{name}' is not a setting of {model} or of training{hint}", source)
        else:
            raise ConfigError(
                f"--{key.replace('_', '-')} does not apply to {model}{_did_you_mean(key, model_names, '--')}"
            )
    try:
        return spec, apply_values(TrainConfig(), train_values), apply_values(spec.config_cls(), model_values)
    except ConfigError as exc:
        if source and exc.path is None:
            raise ConfigError(exc.reason, source) from None
        raise


def check_live_change(model_name: str, model_config, changes: dict[str, Any]) -> None:
    """Raise ConfigError unless every change is a valid live setting of this model."""
    unknown = [k for k in changes if k not in live_fields(type(model_config))]
    if unknown:
        raise ConfigError(f"cannot change {', '.join(unknown)} while training {model_name}")
    apply_values(model_config, changes)  # raises ConfigError for bad values


def check_same_data(saved: DataInfo, now: DataInfo, path: Path, labelled: bool = False, source: str = "") -> None:
    """ConfigError when the data no longer fits the weights (checkpoint `path`): another shape or class
    count; DataError (naming `source`) when a model trained on its labels (`labelled`) would now read them
    as other classes (classes renamed, added or removed)."""
    if saved.shape != now.shape or saved.num_classes != now.num_classes:
        raise ConfigError(f"the dataset now gives shape {now.shape} with {now.num_classes} classes, "
                          f"but the run was trained on {saved.shape} with {saved.num_classes}", path)  # fmt: skip
    change = data_change(classes_then=saved.class_names, classes_now=now.class_names) if labelled else None
    if change:
        raise DataError(f"{change}: its labels would now mean other classes; a resume continues on the same data, "
                        "so put the folders back or start a new run", source or None)  # fmt: skip


def data_change(size_then: int | None = None, size_now: int | None = None, classes_then: list[str] | None = None,
                classes_now: list[str] | None = None, since: str = "the run started") -> str | None:  # fmt: skip
    """How the data differs from what a run recorded, for a message ("the data changed since the run started
    (64 samples then, 80 now)", "the classes changed … (gone: 'cat')"), or None when it does not."""
    if isinstance(size_then, int) and size_now is not None and size_then != size_now:
        return f"the data changed since {since} ({size_then:,} samples then, {size_now:,} now)"
    if classes_then and classes_now and list(classes_then) != list(classes_now):
        return f"the classes changed since {since} ({class_change(classes_then, classes_now)})"
    return None


def class_change(before: list[str], after: list[str]) -> str:
    """How two class lists differ, in a few words: names gone and new, or the same names in another order."""
    gone = [name for name in before if name not in after]
    new = [name for name in after if name not in before]
    if not gone and not new:
        moved = next(i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b)
        return f"label {moved} was '{before[moved][:40]}', now '{after[moved][:40]}'"
    parts = [f"{label} {', '.join(repr(n[:40]) for n in names[:3])}{' …' if len(names) > 3 else ''}"
             for label, names in (("gone:", gone), ("new:", new)) if names]  # fmt: skip
    return "; ".join(parts)


def check_data_still_there(data: str, doing: str = "resume") -> None:
    """DataError naming the way out when the folder or file a run trained on is no longer where it was
    (moved, renamed, or the run copied to another machine): a resume (or an evaluation: `doing`) reads the same
    data, at its new place."""
    from gan_studio.data import BUILTIN_NAMES
    from gan_studio.data.stacked import digits_source, is_stacked

    place = digits_source(data) if data and is_stacked(data) else data  # stacked-mnist:FOLDER: that folder
    if place and place not in BUILTIN_NAMES and not os.path.lexists(place):
        raise DataError(f"the run's data is no longer here: {doing} with --data NEW_PLACE (the same data, checked), "
                        "put it back, or link it from where it is now (ln -s NEW_PLACE this path)", data)  # fmt: skip


def configs_to_continue(data: dict, info: dict, overrides: dict[str, Any], path: Path):
    """(model config, train config, live changes) to continue a run: the checkpoint's configs, checked against
    run.json, with the allowed overrides applied, except the live rates that change (name -> new value): the
    trainer applies those as it would a live edit, so the run records each change (old -> new) at its step."""
    spec = get_spec(data["model_name"])
    try:
        model_config = config_from_saved(spec.config_cls, data["model_config"])
        train_config = apply_values(TrainConfig(), data.get("train_config", {}), strict=False)
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint holds an invalid config ({exc})", path) from None
    # compared as the configs they load into, so a setting an older checkpoint lacks counts as its default
    mismatch = run_mismatch({**data, "model_config": to_dict(model_config), "train_config": to_dict(train_config)},
                            info)  # fmt: skip
    if mismatch.model:
        raise mismatch_error(
            path, info, mismatch, f"the checkpoint belongs to another model than this run: {mismatch.model}"
        )
    if mismatch.settings:
        raise mismatch_error(path, info, mismatch, "the checkpoint belongs to another configuration than this run: "
                             f"{', '.join(mismatch.settings[:5])}")  # fmt: skip
    if mismatch.data:
        raise mismatch_error(path, info, mismatch, f"the checkpoint was trained on other data than this run "
                             f"({', '.join(mismatch.data)} differ)")  # fmt: skip
    overrides = dict(overrides)
    given = overrides.pop("data", None)
    train_config = dataclasses.replace(train_config, data=_data_now(info, train_config.data, given))
    if given is None:
        check_data_still_there(train_config.data)
    changed = []
    for key in sorted(set(overrides) - set(RESUMABLE_SETTINGS) - set(live_fields(type(model_config)))):
        config = train_config if hasattr(train_config, key) else model_config
        flag = "--" + key.replace("_", "-")
        if not hasattr(config, key):
            changed.append(flag)
        elif _same_setting(config, key, overrides[key]):
            del overrides[key]  # the run's own value given again: the same command line, or its recipe
        else:
            changed.append(f"{flag} ({_short(getattr(config, key))} in the run, {_short(overrides[key])} given)")
    if changed:
        raise ConfigError(f"cannot change {', '.join(changed)} when resuming (only steps, cadences, device, "
                          "precision and rates)")  # fmt: skip
    live = {k: overrides.pop(k) for k in list(overrides) if k in live_fields(type(model_config))}
    if "steps" in overrides and "epochs" not in overrides:
        overrides["epochs"] = 0.0
    changed = apply_values(model_config, {k: v for k, v in live.items() if hasattr(model_config, k)})
    live_changes = {k: getattr(changed, k) for k in live if hasattr(model_config, k)
                    and getattr(changed, k) != getattr(model_config, k)}  # fmt: skip
    return model_config, apply_values(train_config, overrides), live_changes


def _data_now(info: dict, trained_on: str, given: Any) -> str:
    """Where the run's data is: `given` (--data on resume, checked later to be the same data), else where
    run.json says (a resume may have followed it), else where the checkpoint trained on it."""
    from gan_studio.data import BUILTIN_NAMES
    from gan_studio.data.loading import absolute_data_spec

    now = run_data_spec(info) or trained_on
    if given is None:
        return now
    given = absolute_data_spec(str(given))
    if given != now and (given in BUILTIN_NAMES or now in BUILTIN_NAMES):  # not the same data moved elsewhere
        raise ConfigError(f"cannot change --data when resuming ({_short(now)} in the run, {_short(given)} given): "
                          "--data on resume only follows the run's own data to a new place")  # fmt: skip
    return given


def checked_data_record(info: dict, dataset, data: str) -> dict[str, Any]:
    """What a resume records in run.json of the data it trains on (`dataset`, found at `data`): its description
    and, when it found the data in a new place, the places it was in before (checkpoints saved there still
    belong to the run). A DataError unless it is the data the run trained on: the same size (run.json's) and
    the same samples (their fingerprint, when run.json holds one), in its place or a new one."""
    recorded = info["dataset"] if isinstance(info.get("dataset"), dict) else {}
    change = data_change(recorded.get("size"), len(dataset))
    if change:
        raise DataError(f"{change}: a resume continues on the same data; start a new run to train on this", data)
    record: dict[str, Any] = {"dataset": dataset.describe()}  # its sample fingerprint included
    before = run_data_spec(info)
    if not before or before == data:  # the same place: the same samples, unless replaced in place
        if (
            recorded.get("sample_fingerprint")
            and record["dataset"]["sample_fingerprint"] != recorded["sample_fingerprint"]
        ):
            raise DataError("the data here changed since the run trained on it (other samples, as many as before): "
                            "a resume continues on the same data; put it back, or start a new run to train on this",
                            data)  # fmt: skip
        return record
    if not recorded.get("sample_fingerprint"):
        raise DataError("this run's record holds no fingerprint of its data (it was started by an older version), "
                        "so moved data cannot be checked: put the data back, or link it from its new place", data)  # fmt: skip
    if record["dataset"]["sample_fingerprint"] != recorded["sample_fingerprint"]:
        raise DataError("this is not the data the run trained on (other samples, or in another order): a resume "
                        "continues on the same data; start a new run to train on this", data)  # fmt: skip
    moved = info.get("data_moved_from")
    earlier = [p for p in moved if isinstance(p, str)] if isinstance(moved, list) else []
    record["data_moved_from"] = [*earlier, before][-MAX_DATA_MOVES:]
    return record


def _same_setting(config, key: str, value: Any) -> bool:
    """Whether `value` (as typed, or from a recipe) is what `config` already holds for `key`."""
    try:
        given = getattr(apply_values(config, {key: value}), key)
    except ConfigError:
        return False
    held = getattr(config, key)
    if given == held:
        return True
    if key == "data":  # the same dataset named by another path (relative, through a link)
        try:
            return Path(given).expanduser().exists() and Path(given).expanduser().samefile(Path(held).expanduser())
        except OSError:
            return False
    return False


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def recipe_title(path: str | Path) -> str:
    """A recipe's one-line description: its first comment line, else its file name."""
    try:
        with open(path, encoding="utf-8") as file:
            first = file.readline(500).strip()
    except (OSError, UnicodeDecodeError):
        first = ""
    return first.lstrip("#").strip() or Path(path).stem

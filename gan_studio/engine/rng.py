"""Seeding and saving every random number generator training touches (torch, numpy, python, CUDA),
and deterministic GPU kernels for runs that must repeat exactly there.

The saved state holds tensors and plain values only, so it fits a `weights_only=True` checkpoint,
and restoring it makes a resumed run draw the same noise as an uninterrupted one.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def use_deterministic_kernels(device: torch.device) -> None:
    """On a GPU, kernels that give the same bits every time (cuDNN's deterministic algorithms, no
    autotuning, cuBLAS with a fixed workspace): same seed, same run, and a resume equal to an
    uninterrupted run, at some cost in speed. CPU kernels already are; for the whole process."""
    if device.type != "cuda":
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS makes its handle
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)  # an op without such a kernel warns, not fails


def rng_state() -> dict[str, Any]:
    """The state of every RNG, as tensors and plain values."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },  # fmt: skip
        "python": {"version": version, "state": list(py_state), "gauss": py_gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


PYTHON_STATE_WORDS = len(random.getstate()[1])  # Mersenne Twister: 624 words and a position


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` saved."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    words = p["state"]
    if not isinstance(words, (list, tuple)) or len(words) != PYTHON_STATE_WORDS:  # a hostile checkpoint's huge
        raise ValueError(f"python RNG state of {type(words).__name__}, not {PYTHON_STATE_WORDS} words")  # tensor: no
    random.setstate((p["version"], tuple(words), p["gauss"]))  # minutes turning it into a tuple
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def rank_rng_states(states: list[dict[str, Any]]) -> dict[str, Any]:
    """The checkpoint entries for every process's RNG state (in rank order): rank 0's as "rng", the
    others' (none when training alone) as "rng_other_ranks"."""
    return {"rng": states[0], "rng_other_ranks": states[1:]}


def restore_process_rng(checkpoint: dict[str, Any], rank: int, world_size: int, seed: int) -> None:
    """Each process continues its own random stream from the checkpoint (so a resumed torchrun job
    draws exactly what an uninterrupted one would). Resumed with another number of processes, the
    extra ones start fresh streams from (seed, rank, step), distinct from each other's."""
    by_rank = [checkpoint["rng"], *(checkpoint.get("rng_other_ranks") or [])]
    if len(by_rank) == world_size or rank == 0:
        set_rng_state(by_rank[rank])
    else:
        seed_everything((seed + rank * 1_000_003 + int(checkpoint["step"]) * 7919) % 2**31)

"""What a failure while training says: one clear line for the failures a user meets and can act on
(out of memory, a folder that cannot be written, a full disk, a torchrun process that died), or None for a bug."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from gan_studio.errors import GanStudioError, RunError, shorten
from gan_studio.files import DiskFullError


def readable_failure(exc: Exception, step: int, checkpoint_step: int | None, distributed: bool,
                     run_path: Path) -> GanStudioError | None:  # fmt: skip
    """The one-line error for `exc` raised at `step` (None: show the error whole, it is a bug); a GanStudioError
    is one already, and a full disk's (a record or a grid not written) also names where a resume goes on from.

    `checkpoint_step`: the newest checkpoint on disk, named as the place a resume starts from."""
    kept = f"checkpoints/last.pt (step {checkpoint_step}) is intact" if checkpoint_step else ""
    if isinstance(exc, DiskFullError):
        where = (
            f"{kept}: free some space and resume"
            if kept
            else "no checkpoint was saved yet: a resume starts again from step 0"
        )
        return DiskFullError(f"{exc.reason}; {where}", exc.path)
    if isinstance(exc, GanStudioError):
        return exc
    text = str(exc)
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "can't allocate memory" in text:
        return RunError(f"out of memory at step {step}: try a smaller --batch-size or model", run_path)
    if isinstance(exc, OSError):
        where = f" ({shorten(exc.filename, 200)})" if getattr(exc, "filename", None) else ""
        return RunError(f"cannot write to the run folder at step {step}: {exc.strerror or exc}{where}"
                        + (f"; {kept}" if kept else ""), run_path)  # fmt: skip
    if distributed and isinstance(exc, RuntimeError) and ("gloo" in text or "NCCL" in text or "Connection" in text):
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        first = re.sub(r"^\[[^\]]*\]\s*", "", first).split(". ")[0][:160]  # "[.../pair.cc:553] Connection closed"
        return RunError(f"another process of the torchrun job stopped at step {step} ({first}); "
                        + (f"{kept}: " if kept else "") + "run the same torchrun command with --resume",
                        run_path)  # fmt: skip
    return None

"""Watching the losses for NaN and inf without a device sync per step.

Each step's losses stay on the device until the Trainer needs them (a logged step, a sample, a
checkpoint, or every MAX_UNCHECKED_STEPS steps); `check()` then looks at all of them with one sync,
keeps the newest values for the metrics, and finds the first step whose loss was not finite. Under
torchrun the ranks agree: if any rank diverged, every rank stops at the same step.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gan_studio.engine import distributed as dist_utils
from gan_studio.engine.distributed import DistContext
from gan_studio.events import Diverged

MAX_UNCHECKED_STEPS = 256  # losses are checked at least this often (one device sync each)


class LossWatch:
    """The losses of steps not yet looked at; `found` is the first divergence ({step, loss, value}) or None."""

    def __init__(self, dist: DistContext, device: torch.device):
        self.dist, self.device = dist, device
        self.unchecked: list[dict[str, torch.Tensor]] = []
        self.last: dict[str, float] = {}  # the newest checked value of each loss
        self.found: dict[str, Any] | None = None

    def add(self, losses: dict[str, torch.Tensor]) -> None:
        self.unchecked.append(losses)

    @property
    def due(self) -> bool:
        return len(self.unchecked) >= MAX_UNCHECKED_STEPS

    def check(self, step: int) -> None:
        """Look at the losses of the steps up to `step` since the last check (one device sync for all)."""
        if not self.unchecked:
            return
        names = list(self.unchecked[0])
        flat = [value for losses in self.unchecked for value in losses.values()]
        values = torch.stack(flat).float().view(len(self.unchecked), len(names)).cpu()
        first = step - len(self.unchecked) + 1
        self.unchecked = []
        self.last = dict(zip(names, values[-1].tolist(), strict=True))
        bad_rows = (~torch.isfinite(values).all(dim=1)).nonzero().flatten().tolist()
        local = None
        if bad_rows:
            row = values[bad_rows[0]].tolist()
            name, value = next((n, v) for n, v in zip(names, row, strict=True) if not math.isfinite(v))
            local = {"step": first + bad_rows[0], "loss": name, "value": value}
        self.found = self.agree(local)

    def agree(self, local: dict[str, Any] | None) -> dict[str, Any] | None:
        """The earliest divergence any rank found (`local` itself when not distributed)."""
        if self.dist.enabled and dist_utils.max_over_ranks(self.dist, int(local is not None), self.device):
            found = [d for d in dist_utils.gather_objects(self.dist, local) if d]
            return min(found, key=lambda d: d["step"])
        return local

    def diverged_event(self, checkpoint_step: int | None) -> Diverged:
        """The Diverged event of `found`, saying which checkpoint (verified finite) is kept."""
        d = self.found
        if checkpoint_step is None:
            kept = "no checkpoint was saved before it"
        else:
            kept = f"checkpoints/last.pt (step {checkpoint_step}, verified finite) is kept"
        what = f"{d['loss']} became {d['value']}" if d["value"] != "non-finite" else f"{d['loss']} is not finite"
        return Diverged(d["step"], loss=str(d["loss"]), value=d["value"], message=f"{what} at step {d['step']}; {kept}")

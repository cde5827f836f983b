"""Shuffled mini-batches over an in-memory dataset, resumable from (epoch, position).

The order of each epoch is a function of (seed, epoch) alone, through a DistributedSampler (one
replica when not distributed), so a resumed run sees the same batches as an uninterrupted one and
each process of a torchrun job sees its own shard.
"""

from __future__ import annotations

import torch
from torch.utils.data import DistributedSampler

from gan_studio.errors import ConfigError
from gan_studio.models.base import one_hot


class BatchStream:
    """Callable giving the next (x, one-hot y or None) batch; wraps to a new shuffle each epoch."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None, num_classes: int, batch_size: int, seed: int,
                 rank: int = 0, world_size: int = 1):  # fmt: skip
        self.x, self.y, self.num_classes = x, y, num_classes
        self.batch_size = batch_size
        self.sampler = DistributedSampler(range(len(x)), num_replicas=world_size, rank=rank, shuffle=True,
                                          seed=seed, drop_last=True)  # fmt: skip
        self.batches_per_epoch = len(self.sampler) // batch_size
        if self.batches_per_epoch == 0:
            raise ConfigError(
                f"batch size {batch_size} x {world_size} process(es) is larger than the dataset ({len(x)} samples)"
            )
        self.epoch, self.position = 0, 0
        self._order: torch.Tensor | None = None

    def _epoch_order(self) -> torch.Tensor:
        if self._order is None:
            self.sampler.set_epoch(self.epoch)
            self._order = torch.tensor(list(iter(self.sampler)), dtype=torch.long, device=self.x.device)
        return self._order

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.position >= self.batches_per_epoch:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        start = self.position * self.batch_size
        idx = self._epoch_order()[start : start + self.batch_size]
        self.position += 1
        y = one_hot(self.y[idx], self.num_classes) if self.num_classes else None
        return self.x[idx], y

    @property
    def epoch_progress(self) -> float:
        """Passes over the data so far (fractional)."""
        return self.epoch + self.position / self.batches_per_epoch

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def restore(self, state: dict[str, int]) -> None:
        self.epoch, self.position, self._order = int(state["epoch"]), int(state["position"]), None

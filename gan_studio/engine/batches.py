"""Shuffled mini-batches of a Dataset on the training device, resumable from (epoch, position).

The order of each epoch is a function of (seed, epoch) alone, through a DistributedSampler (one
replica when not distributed), so a resumed run sees the same batches as an uninterrupted one and
each process of a torchrun job reads its own shard (of the same memory-mapped file).

Images travel as uint8 and become float in the model's value range on the device, batch by batch:
- on a CPU, each batch is gathered from the dataset's pixels (in RAM, or the memory map of a
  prepared file: memory stays flat however large the set);
- on a CUDA GPU, the whole uint8 set is copied to the GPU once when it takes at most half the free
  GPU memory; otherwise each batch is gathered into pinned host memory (two buffers, alternating)
  and copied with non_blocking=True, so the copy overlaps the previous step's work.
An optional random horizontal flip is drawn from (seed, epoch, position, rank), so it is the same
after a resume.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DistributedSampler

from gan_studio.data.dataset import Dataset, gather_rows, to_model_range
from gan_studio.errors import ConfigError
from gan_studio.models.base import one_hot

DEVICE_FRACTION = 0.5  # share of free GPU memory the whole uint8 set may take to live on the GPU
_UPLOAD_BYTES = 64 * 2**20  # bytes per copy when moving a set to the GPU (never the whole set in host RAM)


def flip_mask(seed: int, epoch: int, position: int, rank: int, n: int) -> np.ndarray:
    """Which of a batch's n images to flip: a function of (seed, epoch, position, rank) only."""
    rng = np.random.default_rng([seed, epoch, position, rank, 0x466C6970])  # "Flip"
    return rng.random(n) < 0.5


class _HostFeeder:
    """Batches gathered from host memory (RAM or a memory map): on the CPU, or copied to a GPU."""

    def __init__(self, dataset: Dataset, device: torch.device, batch_size: int):
        self.dataset, self.storage, self.device = dataset, dataset.storage, device
        storage = self.storage
        self.pinned: list[torch.Tensor] = []
        self.copied: list[torch.cuda.Event | None] = []
        self.turn = 0
        if device.type == "cuda":
            shape = (batch_size, *storage.shape[1:])
            self.pinned = [torch.empty(shape, dtype=torch.from_numpy(storage[:1]).dtype, pin_memory=True)
                           for _ in range(2)]  # fmt: skip
            self.copied = [None, None]

    def gather(self, index: np.ndarray) -> torch.Tensor:
        self.dataset.verify_rows(index)  # blocks of a prepared file are checked before their first use
        if not self.pinned:
            rows = torch.from_numpy(gather_rows(self.storage, index))
            return rows.to(self.device) if self.device.type != "cpu" else rows
        slot, self.turn = self.turn, 1 - self.turn
        if self.copied[slot] is not None:
            self.copied[slot].synchronize()  # the copy that last read this buffer has finished
        buffer = self.pinned[slot][: len(index)]
        gather_rows(self.storage, index, out=buffer.numpy())
        on_device = buffer.to(self.device, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self.copied[slot] = event
        return on_device


class _DeviceFeeder:
    """Batches indexed from a copy of the whole set that lives on the device."""

    def __init__(self, dataset: Dataset, device: torch.device):
        self.device = device
        storage = dataset.pixels if dataset.kind == "images" else dataset.storage  # pixels: every block checked
        self.data = torch.empty(storage.shape, dtype=torch.from_numpy(storage[:1]).dtype, device=device)
        step = max(1, _UPLOAD_BYTES // max(1, storage[:1].nbytes))
        for start in range(0, len(storage), step):
            chunk = np.ascontiguousarray(storage[start : start + step])
            self.data[start : start + len(chunk)].copy_(torch.from_numpy(chunk))

    def gather(self, index: np.ndarray) -> torch.Tensor:
        return self.data[torch.from_numpy(index).to(self.device)]


def _fits_on_device(nbytes: int, device: torch.device) -> bool:
    if device.type == "cpu":
        return False
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return nbytes <= DEVICE_FRACTION * free
    return nbytes < 2**31  # other accelerators (Apple MPS): small sets only


def make_feeder(dataset: Dataset, device: torch.device, batch_size: int):
    """Where batches come from: the whole set on the device when it fits there, else host memory."""
    if device.type != "cpu" and _fits_on_device(dataset.storage.nbytes, device):
        return _DeviceFeeder(dataset, device)
    return _HostFeeder(dataset, device, batch_size)


class BatchStream:
    """Callable giving the next (x, one-hot y or None) batch on `device`; a new shuffle each epoch."""

    def __init__(self, dataset: Dataset, num_classes: int, batch_size: int, seed: int, rank: int = 0,
                 world_size: int = 1, device: torch.device | str = "cpu", flip: bool = False):  # fmt: skip
        if flip and dataset.kind != "images":
            raise ConfigError("flip applies to images only (this dataset holds 2D points)")
        self.dataset, self.num_classes = dataset, num_classes
        self.batch_size, self.seed, self.rank, self.world_size, self.flip = batch_size, seed, rank, world_size, flip
        self.resized_from: int | None = None  # the global batch of a restored stream saved by another world size
        self.device = torch.device(device)
        self.sampler = DistributedSampler(range(len(dataset)), num_replicas=world_size, rank=rank, shuffle=True,
                                          seed=seed, drop_last=True)  # fmt: skip
        self.batches_per_epoch = len(self.sampler) // batch_size
        if self.batches_per_epoch == 0:
            processes = f" x {world_size} processes" if world_size > 1 else ""  # torchrun: each takes a batch
            raise ConfigError(f"batch size {batch_size}{processes} is larger than the dataset ({len(dataset)} samples)",
                              setting="batch_size")  # fmt: skip
        self.feeder = make_feeder(dataset, self.device, batch_size)
        self.y = dataset.y.to(self.device) if dataset.y is not None and num_classes else None
        self.epoch, self.position = 0, 0
        self._order: np.ndarray | None = None

    def _epoch_order(self) -> np.ndarray:
        if self._order is None:
            self.sampler.set_epoch(self.epoch)
            self._order = np.fromiter(iter(self.sampler), dtype=np.int64, count=len(self.sampler))
        return self._order

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.position >= self.batches_per_epoch:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        start = self.position * self.batch_size
        index = self._epoch_order()[start : start + self.batch_size]
        x = self.feeder.gather(index)
        if self.dataset.kind == "images":
            x = to_model_range(x, self.dataset.value_range, self.dataset.channels)
            if self.flip:
                mask = torch.from_numpy(flip_mask(self.seed, self.epoch, self.position, self.rank, len(index)))
                x = torch.where(mask.to(x.device).view(-1, 1, 1, 1), x.flip(-1), x)
        self.position += 1
        y = None
        if self.y is not None:
            y = one_hot(self.y[torch.from_numpy(index).to(self.device)], self.num_classes)
        return x, y

    @property
    def epoch_progress(self) -> float:
        """Passes over the data so far (fractional)."""
        return self.epoch + self.position / self.batches_per_epoch

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position, "global_batch": self.global_batch}

    def restore(self, state: dict[str, int]) -> None:
        """Continue where a saved stream stopped. Saved by another number of processes (torchrun), its position
        counted other batches: it continues after the same samples of the epoch (every world size takes them
        from one order: process r of w reads items r, r+w, ... of it), rounded to a whole batch;
        `resized_from` then holds the saved global batch."""
        epoch, position = int(state["epoch"]), int(state["position"])
        saved = int(state.get("global_batch", self.global_batch))  # checkpoints before the field: same size
        if saved != self.global_batch and saved > 0:
            position = min(round(position * saved / self.global_batch), self.batches_per_epoch)
            self.resized_from = saved
        self.epoch, self.position, self._order = epoch, position, None

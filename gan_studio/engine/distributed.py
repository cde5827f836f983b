"""Multi-process training under torchrun: process group, device per rank, and consistency checks.

Under `torchrun --nproc_per_node=N` the environment carries RANK, WORLD_SIZE and LOCAL_RANK; the
trainer then wraps G and D (or the VAE) in DistributedDataParallel with gloo on CPU and nccl on
CUDA, shards the data with a DistributedSampler, and only rank 0 writes the run directory.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group torchrun set up (no-op for a single process)."""
    if not launched_by_torchrun():
        return DistContext()
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), backend)


def parameter_digest(module: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer, for checking that ranks agree."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def sync_buffers_and_check(module: torch.nn.Module, ctx: DistContext) -> list[str]:
    """Broadcast rank 0's buffers (BatchNorm running stats), then gather every rank's digest."""
    if not ctx.enabled:
        return [parameter_digest(module)]
    for buffer in module.buffers():
        dist.broadcast(buffer.data, src=0)
    digests: list[str | None] = [None] * ctx.world_size
    dist.all_gather_object(digests, parameter_digest(module))
    return [d or "" for d in digests]


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()

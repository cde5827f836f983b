"""Multi-process training under torchrun: process group, device per rank, and consistency checks.

Under `torchrun --nproc_per_node=N` the environment carries RANK, WORLD_SIZE and LOCAL_RANK; the
trainer then wraps G and D (or the VAE) in DistributedDataParallel with gloo on CPU and nccl on
CUDA, shards the data with a DistributedSampler, and only rank 0 writes the run directory.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

from gan_studio.errors import ConfigError, DataError


@dataclass
class DistContext:
    """This process's place in a torchrun job (rank 0 of 1 when run alone)."""

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


def launch_rank() -> int:
    """This process's rank as torchrun announced it (0 when not launched by torchrun)."""
    return int(os.environ.get("RANK", "0"))


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group torchrun set up (no-op for a single process)."""
    if not launched_by_torchrun():
        return DistContext()
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        with _sigterm_ends_the_wait():
            dist.init_process_group(backend=backend)
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), backend)


@contextmanager
def _sigterm_ends_the_wait():
    """SIGTERM ends this process at once while it waits for the others to join. torchrun sends it when
    another process failed before joining (a refused folder or lock): Python's handler (a graceful stop)
    could only run once the wait in C++ ended, so torchrun waited 30 s and killed it. Nothing is trained yet."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def parameter_digest(module: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer, for checking that ranks agree."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def sync_buffers_and_check(module: torch.nn.Module, ctx: DistContext) -> list[str]:
    """Broadcast rank 0's buffers (BatchNorm running stats), then gather every rank's digest.

    Parameters are kept equal by DDP's gradient all-reduce; buffers are updated by each rank's own
    forward passes, so they are made equal here before the digests are compared.
    """
    if ctx.enabled:
        for buffer in module.buffers():
            dist.broadcast(buffer.data, src=0)
    return [d or "" for d in gather_objects(ctx, parameter_digest(module))]


def broadcast_from_main(module: torch.nn.Module, ctx: DistContext) -> None:
    """Give every rank rank 0's parameters and buffers of a module DDP does not hold (G's moving average):
    each rank built its own from its own random initialisation, and DDP makes only what it wraps equal."""
    if ctx.enabled:
        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)


def max_over_ranks(ctx: DistContext, value: int, device: torch.device) -> int:
    """The largest `value` any rank holds (the value itself when not distributed)."""
    if not ctx.enabled:
        return value
    tensor = torch.tensor([value], dtype=torch.long, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return int(tensor.item())


def gather_objects(ctx: DistContext, obj) -> list:
    """Every rank's `obj` (picklable), in rank order."""
    if not ctx.enabled:
        return [obj]
    out: list = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


@contextmanager
def local_main_first(ctx: DistContext):
    """Run the block on each node's local rank 0 before the node's other ranks (e.g. a download). When local
    rank 0 fails (it says why), the others stop with one line pointing to its message, not a gloo traceback."""
    if ctx.enabled and ctx.local_rank != 0:
        try:
            dist.barrier()
        except RuntimeError:
            raise DataError("the first process of this machine could not load the data: its message says why") from None
    yield
    if ctx.enabled and ctx.local_rank == 0:
        dist.barrier()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def shutdown(ctx: DistContext) -> None:
    """Leave the process group together: every rank waits for the others before it is destroyed (a rank
    tearing gloo down while another still talks to it aborts with "terminate called...")."""
    if ctx.enabled and dist.is_initialized():
        try:
            dist.barrier()
        except RuntimeError:  # another rank already failed: leave anyway
            pass
        dist.destroy_process_group()


def join(device: torch.device, sync_batchnorm: bool = False) -> tuple[torch.device, DistContext]:
    """Join the torchrun job (if any) and pick this rank's device: (device, context)."""
    ctx = init_distributed(device)
    if ctx.enabled and device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    if ctx.enabled and sync_batchnorm and device.type != "cuda":
        raise ConfigError("sync_batchnorm needs CUDA devices (torch's SyncBatchNorm does not run on CPU)")
    return device, ctx

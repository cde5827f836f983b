"""One line on what a training runs with: the networks' sizes, the data, the device and the batch (for logs).

    setup_line(trainer) -> "setup: dcgan, generator 1.07M + discriminator 661K parameters; mnist: 10,000
                            images 1x32x32, 10 classes; cpu fp32, 1 thread; batch 64 (1 process); 3,000 steps"
A log read later (a cluster job's, a bug report) then says what ran, not only how it went.
"""

from __future__ import annotations

import torch


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def short_count(count: int) -> str:
    """'1.07M', '38.9K', '512' (parameters); 999,999 is '1M', not '1e+03K'."""
    if count >= 999_500:
        return f"{count / 1e6:.3g}M"
    return f"{count / 1e3:.3g}K" if count >= 1_000 else str(count)


def networks_line(model: torch.nn.Module) -> str:
    """'generator 1.07M + discriminator 661K parameters' (a VAE: encoder + decoder)."""
    counts = [(name, parameter_count(child)) for name, child in model.named_children()]
    parts = [(name, count) for name, count in counts if count]
    if not parts:
        return f"{short_count(parameter_count(model))} parameters"
    return " + ".join(f"{name} {short_count(count)}" for name, count in parts) + " parameters"


def device_line(device: torch.device, precision: str) -> str:
    """'cpu fp32, 1 thread' or 'cuda:0 (NVIDIA H200) bf16'."""
    if device.type == "cuda":
        try:
            return f"{device} ({torch.cuda.get_device_name(device)}) {precision}"
        except (RuntimeError, AssertionError):
            return f"{device} {precision}"
    threads = torch.get_num_threads()
    return f"{device} {precision}, {threads} thread{'s' * (threads != 1)}"


def data_line(dataset, data_info) -> str:
    """'mnist: 10,000 images 1x28x28, 10 classes' or 'ring8: 100,000 points in 2D'."""
    count = len(dataset)
    name = f"{dataset.name}: " if dataset.name else ""
    if data_info.kind == "points":
        text = f"{name}{count:,} points in {data_info.shape[0]}D"
    else:
        text = f"{name}{count:,} image{'s' * (count != 1)} {'x'.join(map(str, data_info.shape))}"
    if data_info.num_classes:
        text += f", {data_info.num_classes} classes"
    return text


def batch_line(batch_size: int, world_size: int, global_batch: int) -> str:
    """'batch 64 (1 process)' or 'batch 128 (2 processes x 64)'."""
    if world_size == 1:
        return f"batch {global_batch} (1 process)"
    return f"batch {global_batch} ({world_size} processes x {batch_size})"


def setup_line(trainer) -> str:
    """The one line a log opens with (see the module's docstring)."""
    return "; ".join([
        f"setup: {trainer.model_name}, {networks_line(trainer.model)}",
        data_line(trainer.dataset, trainer.data_info),
        device_line(trainer.device, trainer.recipe.amp.name),
        batch_line(trainer.stream.batch_size, trainer.stream.world_size, trainer.stream.global_batch),
        f"{trainer.total_steps:,} steps",
    ])  # fmt: skip

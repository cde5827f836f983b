"""Mixed precision, memory layout and compilation of a training step: what `--precision`, `--channels-last`
and `--compile` choose.

- precision: "fp32", "bf16" or "fp16" autocast for the forward passes (weights, optimizer state and
  checkpoints stay fp32, losses are computed in fp32 by autocast's own rules, so NaN checks and resume
  work the same); fp16 also scales the losses (GradScaler) so small gradients do not underflow.
  "auto" is bf16 on a CUDA GPU that supports it and fp32 elsewhere (on a CPU bf16 is measured to gain
  little; benchmarks/train_throughput.py --precision).
- channels-last: the NHWC memory layout for convolutional models on CUDA ("auto"), where cuDNN's
  fastest kernels want it; off on the CPU.
- compile: torch.compile of G and D (or the VAE); when compiling fails, training goes on eagerly and
  says so in one line.
"""

from __future__ import annotations

import contextlib
import sys

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_precision(choice: str, device: torch.device) -> str:
    """The precision `choice` means on `device` ("auto" resolved); a precision the device lacks falls back to fp32."""
    if choice == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return "bf16"
        return "fp32"
    if choice == "fp16" and device.type == "mps":
        return "fp16"
    return choice


class Precision:
    """The autocast context and (fp16) gradient scaler of one training."""

    def __init__(self, choice: str, device: torch.device):
        self.name = resolve_precision(choice, device)
        self.device_type = device.type
        self.dtype = DTYPES.get(self.name)
        self.scaler = torch.amp.GradScaler(device.type) if self.name == "fp16" else None

    @property
    def mixed(self) -> bool:
        return self.dtype is not None

    def autocast(self):
        """The context the forward passes run in (nothing for fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """optimizer.step(), through the scaler for fp16 (which skips a step whose gradients overflowed)."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict:
        return {"scaler": self.scaler.state_dict()} if self.scaler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and isinstance(state.get("scaler"), dict) and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])


def wants_channels_last(choice: str, device: torch.device, images: bool) -> bool:
    """Whether to train in the NHWC layout: "on", or "auto" for image models on CUDA."""
    return images and (choice == "on" or (choice == "auto" and device.type == "cuda"))


def compiled(module: torch.nn.Module, enabled: bool) -> torch.nn.Module:
    """torch.compile(module) when `enabled` (compilation itself happens at the first call)."""
    if not enabled:
        return module
    try:
        return torch.compile(module)
    except Exception as exc:  # noqa: BLE001 - any failure: train eagerly
        note_eager(exc)
        return module


def note_eager(exc: BaseException) -> None:
    print(f"gan-studio: torch.compile failed, training without it ({type(exc).__name__}: "
          f"{str(exc).splitlines()[0][:160] if str(exc) else ''})", file=sys.stderr)  # fmt: skip

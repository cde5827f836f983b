"""Mixed precision, memory layout and compilation of a training step: what `--precision`, `--channels-last`
and `--compile` choose.

- precision: "fp32", "bf16" or "fp16" autocast for the forward passes. Weights, optimizer state and
  checkpoints stay fp32 and the losses are computed in fp32 from fp32 logits, so the NaN checks and
  a resume on another device or precision work the same; fp16 also scales each optimizer's loss
  (one GradScaler per optimizer, its state in the checkpoint) so small gradients do not underflow.
  "auto" is bf16 on a CUDA GPU that supports it and fp32 elsewhere (on a CPU bf16 gains little and
  costs accuracy: benchmarks/train_throughput.py --precision measures it).
- channels-last: the NHWC memory layout for convolutional models; "auto" turns it on for CUDA only,
  where cuDNN's fastest (tensor-core) kernels want it.
- compile: torch.compile of the modules a step calls (G and D, or the VAE). Compilation happens at
  the first call; when it fails there, training goes on eagerly and says so in one line.
"""

from __future__ import annotations

import contextlib
import sys

import torch

from gan_studio.errors import another_process_says_it

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
CHANNELS_LAST_CHOICES = ("auto", "on", "off")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_precision(choice: str, device: torch.device) -> str:
    """The precision `choice` means on `device`: "auto" is bf16 on a CUDA GPU with bf16, else fp32."""
    if choice == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    return choice


class Precision:
    """The autocast context and the fp16 gradient scalers of one training."""

    def __init__(self, choice: str, device: torch.device):
        self.name = resolve_precision(choice, device)
        self.device_type = device.type
        if self.name == "fp16" and device.type == "cpu" and not another_process_says_it():
            print("gan-studio: fp16 on the CPU is several times slower than bf16 (CPUs have no fast fp16 "
                  "arithmetic); bf16 is the CPU's reduced precision", file=sys.stderr)  # fmt: skip
        self.dtype = DTYPES.get(self.name)
        self.scalers: dict[str, torch.amp.GradScaler] = {}

    def autocast(self):
        """The context the forward passes run in (nothing for fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def _scaler(self, name: str) -> torch.amp.GradScaler | None:
        if self.name != "fp16":
            return None
        if name not in self.scalers:
            self.scalers[name] = torch.amp.GradScaler(self.device_type)
        return self.scalers[name]

    def loss_scale(self, optimizer_name: str, device: torch.device | str = "cpu") -> torch.Tensor | float:
        """The factor the named optimizer's loss is scaled by now: 1.0 unless fp16, where it is the
        scaler's current scale as a tensor on `device` (read without waiting for the device)."""
        scaler = self._scaler(optimizer_name)
        return scaler.scale(torch.ones((), device=device)) if scaler is not None else 1.0

    def backward(self, loss: torch.Tensor, optimizer_name: str) -> None:
        """loss.backward(), scaled for fp16 by the named optimizer's scaler."""
        scaler = self._scaler(optimizer_name)
        (scaler.scale(loss) if scaler is not None else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer, optimizer_name: str) -> None:
        """optimizer.step(); for fp16 through its scaler, which skips a step whose gradients overflowed."""
        scaler = self._scaler(optimizer_name)
        if scaler is None:
            optimizer.step()
            return
        scaler.step(optimizer)
        scaler.update()

    def state_dict(self) -> dict:
        return {name: scaler.state_dict() for name, scaler in self.scalers.items()}

    def load_state_dict(self, state: dict) -> None:
        """Scaler states of an fp16 run; ignored in another precision (a run may change precision on resume)."""
        if self.name != "fp16" or not isinstance(state, dict):
            return
        for name, scaler_state in state.items():
            if isinstance(scaler_state, dict) and scaler_state:
                self._scaler(name).load_state_dict(scaler_state)


FP32 = Precision("fp32", torch.device("cpu"))  # plain fp32 steps (no autocast, no scaling), on any device


def wants_channels_last(choice: str, device: torch.device, convolutional: bool) -> bool:
    """Whether to train in the NHWC layout: "on", or "auto" for convolutional models on CUDA."""
    return convolutional and (choice == "on" or (choice == "auto" and device.type == "cuda"))


class CompileAttempt:
    """One training's use of torch.compile: the first failure is said once (one line on stderr), and the
    networks not compiled yet then run eagerly without trying (they would fail alike, slowly)."""

    def __init__(self, enabled: bool):
        self.enabled, self.failed = enabled, False

    def fail(self, exc: BaseException) -> None:
        if not self.failed:
            note_eager(exc)
        self.failed = True


class CompiledOrEager(torch.nn.Module):
    """Calls torch.compile(module); if compiling fails at the first call, the attempt says so and `module`
    runs eagerly.

    The wrapped module's parameters are the original ones (no `_orig_mod.` in state dicts: checkpoints
    are saved from the model, not from this wrapper).
    """

    def __init__(self, module: torch.nn.Module, attempt: CompileAttempt):
        super().__init__()
        self.module, self.attempt = module, attempt
        self._compiled = torch.compile(module)
        self._tried = False

    def forward(self, *args, **kwargs):
        if self._compiled is None or (self.attempt.failed and not self._tried):
            return self.module(*args, **kwargs)
        if self._tried:
            return self._compiled(*args, **kwargs)
        try:
            out = self._compiled(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure to compile: train eagerly
            self.attempt.fail(exc)
            self._compiled = None
            return self.module(*args, **kwargs)
        self._tried = True
        return out


def compiled(module, attempt: CompileAttempt):
    """`module` compiled at its first call when the attempt is enabled (eager once it failed)."""
    if not attempt.enabled or attempt.failed:
        return module
    try:
        return CompiledOrEager(module, attempt)
    except Exception as exc:  # noqa: BLE001 - torch.compile itself refused (e.g. an unsupported platform)
        attempt.fail(exc)
        return module


def note_eager(exc: BaseException) -> None:
    if another_process_says_it():  # the same failure in every process of the machine: said once
        return
    first_line = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
    print(f"gan-studio: torch.compile failed, training without it ({type(exc).__name__}: {first_line})",
          file=sys.stderr)  # fmt: skip

"""--precision, --channels-last and --compile on the CPU: autocast really runs, losses, weights and
checkpoints stay fp32, fp16 scales its losses, runs resume (bit-identically) and change precision on
resume, a failed compile falls back with one line, and a bf16-trained generator exports at fp32 parity."""

from __future__ import annotations

import os

import pytest
import torch
from tiny_runs import make_trainer, tiny_dataset, train_tiny_run

from gan_studio.engine import precision, steps
from gan_studio.engine.precision import resolve_precision
from gan_studio.engine.trainer import Trainer
from gan_studio.errors import ConfigError
from gan_studio.events import Diverged, Metrics
from gan_studio.export.onnx_export import export_run
from gan_studio.store.checkpoint import load_checkpoint
from gan_studio.store.rundir import RunDir

LOSS_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "loss", "recon", "kl")


def images(value_range=(-1.0, 1.0)):
    return tiny_dataset("images", 1, 32, value_range)


def losses(run_path) -> dict[int, tuple]:
    return {r["step"]: tuple(r[k] for k in LOSS_NAMES if k in r) for r in RunDir(run_path).read_metrics()}


def output_dtypes(module: torch.nn.Module, kind) -> list[torch.dtype]:
    """Records the output dtype of every `kind` layer of `module` in each training forward pass (sample grids,
    drawn in eval mode and fp32, are left out)."""
    seen: list[torch.dtype] = []
    for layer in module.modules():
        if isinstance(layer, kind):
            layer.register_forward_hook(lambda m, _i, out: seen.append(out.dtype) if m.training else None)
    return seen


def test_auto_is_fp32_on_a_cpu_and_bf16_on_a_gpu_that_has_it(monkeypatch):
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision("auto", torch.device("cuda", 0)) == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision("auto", torch.device("cuda", 0)) == "fp32"
    assert resolve_precision("fp16", torch.device("cpu")) == "fp16"


def test_bf16_runs_the_networks_in_bf16_and_keeps_weights_losses_and_checkpoints_fp32(tmp_path):
    trainer = make_trainer(tmp_path / "run", "dcgan", images(), precision="bf16", steps=4, checkpoint_every=2)
    convs = output_dtypes(trainer.model.discriminator, torch.nn.Conv2d)
    for _ in trainer:
        pass
    assert convs and set(convs) == {torch.bfloat16}  # autocast really ran the convolutions in bf16
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    records = [r for r in RunDir(trainer.run.path).read_metrics() if "d_loss" in r]
    assert records and all(isinstance(r["d_loss"], float) and r["d_loss"] == r["d_loss"] for r in records)
    saved = load_checkpoint(trainer.run.last_checkpoint)
    assert all(t.dtype == torch.float32 for t in saved["model"].values() if t.is_floating_point())
    assert RunDir(trainer.run.path).read_info()["precision"] == "bf16"


def test_fp32_runs_the_networks_in_fp32(tmp_path):
    trainer = make_trainer(tmp_path / "run", "dcgan", images(), precision="fp32", steps=2)
    convs = output_dtypes(trainer.model.discriminator, torch.nn.Conv2d)
    for _ in trainer:
        pass
    assert set(convs) == {torch.float32}


def test_the_vae_trains_in_bf16_with_its_elbo_in_fp32(tmp_path):
    trainer = make_trainer(tmp_path / "run", "vae", images((0.0, 1.0)), precision="bf16", steps=3,
                           image_size=32, channels=4, hidden=16)  # fmt: skip
    decoder_convs = output_dtypes(trainer.model.decoder, torch.nn.ConvTranspose2d)
    events = list(trainer)
    assert decoder_convs and set(decoder_convs) == {torch.bfloat16}
    metrics = [e for e in events if isinstance(e, Metrics) and "loss" in e.values]
    assert metrics and all(torch.isfinite(torch.tensor(e.values["loss"])) for e in metrics)


def test_fp16_scales_each_optimizers_loss_and_keeps_the_scaler_state_in_checkpoints(tmp_path, capsys):
    trainer = train_tiny_run(tmp_path / "run", "dcgan", images(), precision="fp16", steps=4)
    assert "fp16 on the CPU is several times slower than bf16" in capsys.readouterr().err  # said once, on the CPU
    saved = load_checkpoint(trainer.run.last_checkpoint)
    assert set(saved["precision"]) == {"g", "d"}
    scale = saved["precision"]["d"]["scale"]
    assert 0 < scale < 2.0**16  # the first steps overflowed at 65536 and were skipped, so the scale came down
    resumed = Trainer.from_checkpoint(trainer.run.path, {"steps": 6}, dataset=images())
    assert resumed.recipe.amp.scalers["d"].get_scale() == scale
    list(resumed)


def test_a_bf16_run_resumes_bit_identically_on_the_cpu(tmp_path):
    full = train_tiny_run(tmp_path / "full", "dcgan", images(), precision="bf16", steps=8)
    part = make_trainer(tmp_path / "part", "dcgan", images(), precision="bf16", steps=8)
    for event in part:
        if isinstance(event, Metrics) and event.step == 4:
            part.stop()
    resumed = Trainer.from_checkpoint(part.run.path, dataset=images())
    assert resumed.recipe.amp.name == "bf16"
    list(resumed)
    assert losses(part.run.path) == losses(full.run.path)


def test_an_fp32_run_can_continue_in_bf16_and_back(tmp_path):
    trainer = train_tiny_run(tmp_path / "run", "gan", steps=4)
    resumed = Trainer.from_checkpoint(trainer.run.path, {"steps": 8, "precision": "bf16"})
    list(resumed)
    info = RunDir(trainer.run.path).read_info()
    assert info["precision"] == "bf16" and info["status"] == "finished"
    back = Trainer.from_checkpoint(trainer.run.path, {"steps": 10, "precision": "fp32"})
    list(back)
    assert max(losses(trainer.run.path)) == 10


def test_nan_checks_still_stop_a_bf16_run(tmp_path):
    trainer = make_trainer(tmp_path / "run", "gan", precision="bf16", steps=10)
    with torch.no_grad():
        next(trainer.model.discriminator.parameters()).fill_(float("inf"))
    assert isinstance(list(trainer)[-1], Diverged)


def test_channels_last_on_the_cpu_trains_and_its_checkpoint_loads_anywhere(tmp_path):
    trainer = train_tiny_run(tmp_path / "run", "dcgan", images(), channels_last="on", steps=3)
    conv = next(m for m in trainer.model.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    resumed = Trainer.from_checkpoint(trainer.run.path, {"steps": 5, "channels_last": "off"}, dataset=images())
    conv = next(m for m in resumed.model.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous()
    list(resumed)
    assert max(losses(trainer.run.path)) == 5


def test_a_compile_failure_falls_back_to_eager_with_one_note(tmp_path, monkeypatch, capsys):
    attempts = []

    def broken_compile(module):
        def call(*args, **kwargs):
            attempts.append(type(module).__name__)
            raise RuntimeError("no C++ compiler found\nlong details")

        return call

    monkeypatch.setattr(torch, "compile", broken_compile)
    trainer = train_tiny_run(tmp_path / "run", "gan", compile=True, steps=4)
    notes = [line for line in capsys.readouterr().err.splitlines() if "torch.compile failed" in line]
    assert len(notes) == 1  # one for the run, as the README says; never one per network or per step
    assert len(attempts) == 1  # the first network's failure: the other runs eagerly without trying
    assert "no C++ compiler found" in notes[0] and "long details" not in notes[0]
    assert max(losses(trainer.run.path)) == 4


def test_notes_about_the_settings_are_said_once_per_machine_under_torchrun(monkeypatch, capsys):
    """Every process of a machine fails to compile, or runs fp16 on CPUs, alike: one line, not one per GPU."""
    from gan_studio.engine.precision import Precision, note_eager

    monkeypatch.setenv("LOCAL_RANK", "1")
    Precision("fp16", torch.device("cpu"))
    note_eager(RuntimeError("no C++ compiler found"))
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("LOCAL_RANK", "0")
    note_eager(RuntimeError("no C++ compiler found"))
    assert "torch.compile failed" in capsys.readouterr().err


def test_compiled_modules_are_called_and_their_weights_are_the_models(tmp_path, monkeypatch):
    calls = []

    def counting_compile(module):
        def call(*args, **kwargs):
            calls.append(type(module).__name__)
            return module(*args, **kwargs)

        return call

    monkeypatch.setattr(torch, "compile", counting_compile)
    trainer = train_tiny_run(tmp_path / "run", "gan", compile=True, steps=2)
    assert calls  # the step went through the compiled callables
    saved = load_checkpoint(trainer.run.last_checkpoint)
    assert not any("_orig_mod" in k or k.startswith("module.") for k in saved["model"])
    assert isinstance(trainer.recipe.train_g, precision.CompiledOrEager)


def test_the_onnx_export_of_a_bf16_trained_generator_passes_parity_in_fp32(tmp_path):
    trainer = train_tiny_run(tmp_path / "run", "dcgan", images(), precision="bf16", steps=3)
    report = export_run(trainer.run.path)
    assert report.max_abs_diff <= 1e-4


def test_deterministic_turns_on_reproducible_gpu_kernels_and_leaves_a_cpu_process_alone(monkeypatch):
    """`--deterministic true`: what a bit-identical resume needs on a GPU (tested without one: the switches)."""
    from gan_studio.engine.rng import use_deterministic_kernels

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
              torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())  # fmt: skip
    use_deterministic_kernels(torch.device("cpu"))
    assert (torch.backends.cudnn.deterministic, torch.are_deterministic_algorithms_enabled()) == (before[0], before[2])
    try:
        use_deterministic_kernels(torch.device("cuda"))
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[0], before[1]
        torch.use_deterministic_algorithms(before[2], warn_only=before[3])


def test_deterministic_may_be_switched_when_resuming(tmp_path):
    trainer = train_tiny_run(tmp_path, "gan", steps=2)
    resumed = Trainer.from_checkpoint(trainer.run.path, {"steps": 3, "deterministic": True})
    assert resumed.train_config.deterministic and resumed.step == 2


def test_r1_under_fp16_is_taken_through_the_loss_scale_so_small_gradients_do_not_underflow():
    """D's input gradient here is 1e-8 per input: zero in fp16 unless scaled, as the AMP recipe for penalties says."""
    torch.manual_seed(0)
    first, second = torch.nn.Linear(4, 4, bias=False), torch.nn.Linear(4, 1, bias=False)
    torch.nn.init.constant_(first.weight, 1e-4)
    torch.nn.init.constant_(second.weight, 1e-4 / 4)
    x = torch.randn(8, 4).requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.float16):
        logits = second(first(x)).float()
    expected = 4 * 1e-8**2  # every input gets gradient 1e-8; 4 inputs per decision
    assert steps.r1_penalty(logits, x).item() == 0.0  # unscaled: underflows
    scaled = steps.r1_penalty(logits, x, 1024.0)
    assert abs(scaled.item() - expected) < 0.01 * expected
    # gan_step passes the scaler's current scale (2^16 at first: too much here, so that step's
    # penalty is inf and the scaler skips it and halves the scale, as for any overflow)
    amp = precision.Precision("fp16", torch.device("cpu"))
    assert amp.loss_scale("d") == 2.0**16
    assert precision.Precision("bf16", torch.device("cpu")).loss_scale("d") == 1.0


def test_an_fp16_gan_step_takes_r1_through_its_discriminator_scalers_scale(tmp_path, monkeypatch):
    scales = []
    penalty = steps.r1_penalty
    monkeypatch.setattr(steps, "r1_penalty", lambda *args: scales.append(args[2]) or penalty(*args))
    train_tiny_run(tmp_path / "run", "gan", precision="fp16", r1_gamma=1.0, steps=3)
    assert scales and scales[0] == 2.0**16 and all(s >= 1.0 for s in scales)


def test_asking_for_cuda_without_a_gpu_says_which_of_the_two_reasons_it_is(monkeypatch):
    """A CUDA build of torch on a machine without a GPU was told to install a CUDA build of torch."""
    from gan_studio.engine.settings import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(ConfigError, match="is a CPU build: install a CUDA build of torch"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    with pytest.raises(ConfigError, match=r"torch \(CUDA 13.0\) sees no GPU: check the driver"):
        resolve_device("cuda")

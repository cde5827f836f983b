"""The Trainer: controls at step boundaries, determinism, resume equality, NaN handling, failures."""

from __future__ import annotations

import threading
import time

import pytest
import tiny_runs
import torch
from tiny_runs import TINY_MODELS

from gan_studio.config import apply_values
from gan_studio.data import RawImages
from gan_studio.data.dataset import images_from_raw
from gan_studio.data.shapes import make_shapes
from gan_studio.engine.batches import BatchStream
from gan_studio.engine.settings import TrainConfig
from gan_studio.engine.trainer import Trainer
from gan_studio.errors import ConfigError, DataError, GanStudioError
from gan_studio.events import Checkpoint, Diverged, Failed, Finished, HParamChanged, Metrics, Paused, Resumed, Sample
from gan_studio.models import default_config
from gan_studio.store.checkpoint import load_checkpoint
from gan_studio.store.rundir import RunDir

torch.set_num_threads(1)  # tiny ops on a shared 2-core machine: threads only contend

LOSSES = ("d_loss", "g_loss", "d_real", "d_fake", "loss", "recon", "kl")


def tiny_images(value_range=(-1.0, 1.0)):
    """96 real 32 px shapes (6 classes): enough for the convolutional models' tests."""
    x, y, names = make_shapes(n=96, size=32, seed=0)
    return images_from_raw(RawImages(x, y, names, "shapes"), "shapes", 32, None, value_range)


def make_trainer(tmp_path, model="gan", name="run", dataset=None, **train):
    return tiny_runs.make_trainer(tmp_path / name, model, dataset, **{"steps": 40, "seed": 3, **train})


def losses_by_step(run_path) -> dict[int, tuple]:
    records = RunDir(run_path).read_metrics()
    return {r["step"]: tuple(r[k] for k in LOSSES if k in r) for r in records}


def consume(trainer, until=None, action=None):
    """Iterate the trainer; call `action()` once a metrics record reaches step `until`."""
    updates = []
    for update in trainer:
        updates.append(update)
        if until is not None and isinstance(update, Metrics) and update.step == until:
            action()
    return updates


# controls -----------------------------------------------------------------------------------------
def test_pause_single_step_resume_and_stop(tmp_path):
    trainer = make_trainer(tmp_path, steps=1000, log_every=5)
    run = trainer.run
    updates = iter(trainer)
    while not isinstance(u := next(updates), Metrics):
        pass
    assert u.step == 5
    trainer.controls.pause()
    u = next(updates)
    assert isinstance(u, Paused) and u.step == 5
    assert run.read_info()["status"] == "paused"
    u = next(updates)  # the paused weights are saved, so the Explorer can open them
    assert isinstance(u, Checkpoint) and u.step == 5 and load_checkpoint(run.last_checkpoint)["step"] == 5

    threading.Timer(0.3, trainer.controls.single_step).start()
    started = time.perf_counter()
    u = next(updates)  # blocks while paused, until the single step
    assert time.perf_counter() - started >= 0.25
    assert isinstance(u, Metrics) and u.step == 6  # a single step is logged even off the log cadence
    u = next(updates)
    assert isinstance(u, Checkpoint) and u.step == 6  # once per step while paused
    assert trainer.controls.paused and run.read_info()["status"] == "paused"
    # in last.pt alone: kept copies of paused steps pushed the kept every-N checkpoints out (review s13V)
    assert [p.name for p in run.checkpoints_dir.iterdir()] == ["last.pt"]

    threading.Timer(0.2, trainer.controls.resume).start()
    u = next(updates)
    assert isinstance(u, Resumed) and u.step == 6
    assert run.read_info()["status"] == "running"
    while not isinstance(u := next(updates), Metrics):
        pass
    assert u.step == 10  # back on the cadence
    trainer.stop()
    rest = list(updates)
    assert isinstance(rest[-1], Finished) and (rest[-1].status, rest[-1].step) == ("stopped", 10)
    info = run.read_info()
    assert (info["status"], info["step"]) == ("stopped", 10)
    events = [(e["type"], e["step"]) for e in run.read_events() if e["type"] not in ("checkpoint", "sample")]
    assert events == [("start", 0), ("pause", 5), ("resume", 6), ("finish", 10)]
    assert run.read_events()[-1]["status"] == "stopped"
    assert load_checkpoint(run.last_checkpoint)["step"] == 10  # a stopped run can be resumed
    # ... from last.pt alone: each Ctrl-C of a pre-empted job pushed a kept every-N checkpoint out (review s14W)
    assert [p.name for p in run.checkpoints_dir.iterdir()] == ["last.pt"]

    unpaused = make_trainer(tmp_path, name="unpaused", steps=10, log_every=5)
    list(unpaused)
    assert losses_by_step(unpaused.run.path)[10] == losses_by_step(run.path)[10]  # saving drew no random numbers


def test_stop_from_another_thread_returns_within_one_step(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, steps=10_000, log_every=1000)
    step_seconds = 0.2
    real_step = trainer.recipe.step

    def slow_step(stream, step):
        time.sleep(step_seconds)
        return real_step(stream, step)

    monkeypatch.setattr(trainer.recipe, "step", slow_step)
    result = {}
    worker = threading.Thread(target=lambda: result.update(updates=list(trainer)))
    worker.start()
    time.sleep(3 * step_seconds)
    requested_at, step_at_request = time.perf_counter(), trainer.step
    trainer.stop()
    worker.join(timeout=10)
    assert not worker.is_alive()
    finished = result["updates"][-1]
    assert isinstance(finished, Finished) and finished.status == "stopped"
    assert finished.step <= step_at_request + 1
    assert time.perf_counter() - requested_at < step_seconds + 2.0  # the step in flight, then save and return


def test_hparam_changes_apply_at_the_next_step_and_are_recorded(tmp_path):
    trainer = make_trainer(tmp_path, steps=6, log_every=1)
    updates = consume(trainer, until=2, action=lambda: trainer.set_hparams(lr_g=1e-3, d_steps=3))
    changes = [u for u in updates if isinstance(u, HParamChanged)]
    assert [(u.name, u.old, u.new, u.step) for u in changes] == [
        ("lr_g", 2e-4, 1e-3, 2),
        ("d_steps", 1, 3, 2),
    ]
    assert trainer.recipe.optimizers["g"].param_groups[0]["lr"] == 1e-3
    assert trainer.recipe.optimizers["d"].param_groups[0]["lr"] == 2e-4
    assert trainer.stream.position == 2 * 1 + 4 * 3  # steps 3..6 drew three real batches each (k = 3)
    events = [e for e in trainer.run.read_events() if e["type"] == "hparam"]
    assert [(e["name"], e["new"], e["step"]) for e in events] == [("lr_g", 1e-3, 2), ("d_steps", 3, 2)]
    assert load_checkpoint(trainer.run.last_checkpoint)["model_config"]["lr_g"] == 1e-3


def test_vae_beta_change_applies_to_the_next_step(tmp_path):
    trainer = make_trainer(tmp_path, model="vae", steps=4, log_every=1)
    updates = consume(trainer, until=2, action=lambda: trainer.set_hparams(beta=0.0))
    metrics = {u.step: u.values for u in updates if isinstance(u, Metrics)}
    assert metrics[2]["loss"] == pytest.approx(metrics[2]["recon"] + metrics[2]["kl"])
    assert metrics[3]["loss"] == pytest.approx(metrics[3]["recon"])  # beta 0: the KL term no longer counts
    assert metrics[3]["kl"] > 0


@pytest.mark.parametrize("changes", [{"lr_g": -1.0}, {"lr": 1e-3}, {"ngf": 8}, {"d_steps": 0}])
def test_bad_hparam_changes_are_refused_at_once(tmp_path, changes):
    trainer = make_trainer(tmp_path)
    with pytest.raises(ConfigError):
        trainer.set_hparams(**changes)


# determinism and resume ----------------------------------------------------------------------------
def test_seeded_cpu_runs_are_bit_for_bit_identical(tmp_path):
    runs = [make_trainer(tmp_path, name=f"run{i}", steps=15, seed=seed) for i, seed in enumerate((5, 5, 6))]
    for trainer in runs:
        consume(trainer)
    a, b, c = (losses_by_step(t.run.path) for t in runs)
    assert a == b and len(a) == 15
    assert a != c
    weights = [load_checkpoint(t.run.last_checkpoint)["model"] for t in runs]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


@pytest.mark.parametrize("model", ["gan", "vae", "cgan", "cdcgan"])
def test_resumed_run_logs_the_same_numbers_as_an_uninterrupted_one(tmp_path, model):
    dataset = tiny_images() if model == "cdcgan" else None
    steps = 20 if model == "cdcgan" else 40
    full = make_trainer(tmp_path, model, "full", dataset=dataset, steps=steps)
    consume(full)
    part = make_trainer(tmp_path, model, "part", dataset=dataset, steps=steps)
    consume(part, until=steps // 2, action=part.stop)
    assert RunDir(part.run.path).read_info()["status"] == "stopped"
    resumed = Trainer.from_checkpoint(part.run.path, dataset=dataset)
    assert resumed.step == steps // 2
    updates = consume(resumed)
    assert updates[-1].status == "finished"
    expected, got = losses_by_step(full.run.path), losses_by_step(part.run.path)
    assert sorted(got) == list(range(1, steps + 1))
    assert got == expected  # exact: same batches, noise, dropout of BatchNorm statistics and Adam state
    final = [load_checkpoint(t.run.last_checkpoint)["model"] for t in (full, part)]
    assert all(torch.equal(final[0][k], final[1][k]) for k in final[0])
    starts = [e for e in part.run.read_events() if e["type"] == "start"]
    assert starts[1]["step"] == steps // 2 and starts[1]["resumed_from"].endswith("last.pt")


def test_resume_after_a_crash_drops_metrics_logged_after_the_checkpoint(tmp_path):
    full = make_trainer(tmp_path, name="full", steps=30)
    consume(full)
    crashed = make_trainer(tmp_path, name="crashed", steps=30, checkpoint_every=10)
    updates = iter(crashed)
    while not (isinstance(u := next(updates), Metrics) and u.step == 25):
        pass
    updates.close()  # the consumer gives up: no checkpoint past step 20
    run = RunDir(crashed.run.path)
    assert run.read_info()["status"] == "running"  # not "stopped" at 25, a step no checkpoint holds: interrupted
    assert max(losses_by_step(run.path)) == 25
    resumed = Trainer.from_checkpoint(run.path)
    assert resumed.step == 20
    assert max(losses_by_step(run.path)) == 20  # 21..25 were dropped: the resumed run logs them again
    consume(resumed)
    steps = [r["step"] for r in run.read_metrics()]
    assert steps == list(range(1, 31))
    assert losses_by_step(run.path) == losses_by_step(full.run.path)


def test_resume_can_extend_a_finished_run_and_change_rates(tmp_path):
    trainer = make_trainer(tmp_path, steps=5)
    consume(trainer)
    before = trainer.model_config.lr_d
    resumed = Trainer.from_checkpoint(trainer.run.path, {"steps": 8, "lr_d": 1e-3})
    assert (resumed.step, resumed.total_steps) == (5, 8)
    events = consume(resumed)
    assert resumed.recipe.optimizers["d"].param_groups[0]["lr"] == 1e-3
    # the new rate applies from the resume step on, recorded as a change (as a live edit is); run.json keeps
    # the settings the run began with, so its history says it trained at both rates
    changes = [e for e in events if isinstance(e, HParamChanged)]
    assert [(c.step, c.name, c.old, c.new) for c in changes] == [(5, "lr_d", before, 1e-3)]
    info = RunDir(trainer.run.path).read_info()
    assert (info["status"], info["step"], info["model_config"]["lr_d"]) == ("finished", 8, before)


# divergence -------------------------------------------------------------------------------------------
class PoisonAfter:
    """A batch stream that starts giving inf data after `good` batches."""

    def __init__(self, stream, good: int):
        self.stream, self.good, self.calls = stream, good, 0

    def __call__(self):
        x, y = self.stream()
        self.calls += 1
        return (torch.full_like(x, float("inf")) if self.calls > self.good else x), y

    def __getattr__(self, name):
        return getattr(self.stream, name)


def test_nan_loss_stops_the_run_as_diverged_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path, steps=100, log_every=10, checkpoint_every=5, keep_checkpoints=5)
    trainer.stream = PoisonAfter(trainer.stream, good=7)
    updates = iter(trainer)
    good_bytes = None
    for update in updates:
        if isinstance(update, Metrics):
            pytest.fail(f"a metrics record was logged after the divergence: {update}")
        if trainer.run.last_checkpoint.exists() and good_bytes is None:
            good_bytes = trainer.run.last_checkpoint.read_bytes()
        if isinstance(update, Diverged):
            break
    diverged = update
    assert isinstance(diverged, Diverged) and diverged.step == 8 and diverged.loss == "d_loss"
    assert "step 8" in diverged.message and "d_loss" in diverged.message
    assert "step 5, verified finite" in diverged.message
    info = trainer.run.read_info()
    assert (info["status"], info["diverged_step"]) == ("diverged", 8)
    event = trainer.run.read_events()[-1]
    assert (event["type"], event["step"], event["loss"]) == ("diverged", 8, "d_loss")
    assert event["value"] in ("nan", "inf")  # JSON-safe spelling of the bad value
    # the checkpoint due at step 10 (after the divergence) was not written over the good one from step 5
    assert trainer.run.last_checkpoint.read_bytes() == good_bytes
    saved = load_checkpoint(trainer.run.last_checkpoint)
    assert saved["step"] == 5
    assert all(torch.isfinite(v).all() for v in saved["model"].values() if v.is_floating_point())
    assert sorted(p.name for p in trainer.run.checkpoints_dir.iterdir()) == ["last.pt", "step-0000005.pt"]
    assert list(updates) == []


def test_vae_divergence_names_the_step_and_loss(tmp_path):
    trainer = make_trainer(tmp_path, model="vae", steps=50, log_every=1, checkpoint_every=2)
    trainer.stream = PoisonAfter(trainer.stream, good=3)
    updates = consume(trainer)
    assert [type(u) for u in updates[-2:]] == [Metrics, Diverged]
    assert (updates[-2].step, updates[-1].step, updates[-1].loss) == (3, 4, "loss")
    assert trainer.run.read_info()["status"] == "diverged"
    assert load_checkpoint(trainer.run.last_checkpoint)["step"] == 2


# failures ---------------------------------------------------------------------------------------------
def test_unexpected_exception_marks_the_run_failed(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, steps=10)
    real_step = trainer.recipe.step

    def failing_step(stream, step):
        if step == 3:
            raise RuntimeError("simulated bug")
        return real_step(stream, step)

    monkeypatch.setattr(trainer.recipe, "step", failing_step)
    seen = []
    with pytest.raises(RuntimeError, match="simulated bug"):
        for update in trainer:
            seen.append(update)
    assert isinstance(seen[-1], Failed) and (seen[-1].step, seen[-1].message) == (3, "RuntimeError: simulated bug")
    info = trainer.run.read_info()
    assert info["status"] == "failed" and "simulated bug" in info["error"]
    assert trainer.run.read_events()[-1]["type"] == "error"


@pytest.mark.parametrize(
    "model, data, error",
    [("gan", "no/such/folder", DataError), ("dcgan", "ring8", ConfigError), ("cgan", "ring8", None)],
)
def test_bad_data_is_a_clear_error_and_writes_nothing(tmp_path, model, data, error):
    config = apply_values(default_config(model), TINY_MODELS[model])
    train = apply_values(TrainConfig(), {"steps": 1, "data": data})
    if error is None:  # the control case: good input does create the run
        Trainer.new(model, config, train, out=tmp_path / "run")
        assert (tmp_path / "run" / "run.json").is_file()
        return
    with pytest.raises(error):
        Trainer.new(model, config, train, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cuda"):
        make_trainer(tmp_path, device="cuda")


def test_unlabelled_data_for_a_conditional_model(tmp_path):
    data = tiny_images()
    data.y, data.class_names = None, []
    with pytest.raises(GanStudioError, match="label"):
        make_trainer(tmp_path, "cdcgan", dataset=data)
    assert not (tmp_path / "run").exists()


def test_batch_larger_than_the_dataset_names_the_setting_and_the_processes_only_when_there_are_several(tmp_path):
    """One process said "batch size 20000 x 1 process(es)": cluster wording where there is no cluster (review s16Z
    #7); the app marks the batch size field from the error's setting."""
    with pytest.raises(ConfigError) as refused:
        make_trainer(tmp_path, "dcgan", dataset=tiny_images(), batch_size=128)
    assert str(refused.value) == "batch size 128 is larger than the dataset (96 samples)"
    assert refused.value.setting == "batch_size"
    with pytest.raises(ConfigError, match=r"^batch size 32 x 4 processes is larger than the dataset \(96 samples\)$"):
        BatchStream(tiny_images(), 0, 32, seed=0, rank=1, world_size=4)  # torchrun: each process takes a batch


def test_existing_run_is_not_overwritten(tmp_path):
    make_trainer(tmp_path)
    with pytest.raises(GanStudioError, match="already holds a run"):
        make_trainer(tmp_path)


EVERY_STABILISER = {
    "gan": {"d_activation": "maxout", "maxout_pieces": 3, "weight_init": "normal", "pack": 2, "loss": "hinge",
            "spectral_norm": True, "r1_gamma": 1.0, "r1_every": 3, "ema_decay": 0.9, "lr_g": 1e-3, "lr_d": 4e-3},
    "dcgan": {"spectral_norm": True, "loss": "hinge", "r1_gamma": 0.5, "r1_every": 2, "ema_decay": 0.9,
              "diffaugment": "color,translation,cutout", "pack": 2},
}  # fmt: skip


@pytest.mark.parametrize("model", ["gan", "dcgan"])
def test_resume_is_bit_identical_with_every_stabiliser_on(tmp_path, model):
    """Maxout, spectral norm (its u/v vectors), hinge, lazy R1, EMA of G and DiffAugment all survive a resume."""
    dataset = tiny_images() if model == "dcgan" else None
    steps = 12 if model == "dcgan" else 30

    def trainer(name):
        values = {"data": "ring8", "steps": steps, "batch_size": 16, "log_every": 1, "sample_every": 0,
                  "checkpoint_every": 0, "seed": 3}  # fmt: skip
        config = apply_values(default_config(model), {**TINY_MODELS[model], **EVERY_STABILISER[model]})
        return Trainer.new(model, config, apply_values(TrainConfig(), values), out=tmp_path / name, dataset=dataset)

    full = trainer("full")
    consume(full)
    part = trainer("part")
    consume(part, until=steps // 2, action=part.stop)
    resumed = Trainer.from_checkpoint(part.run.path, dataset=dataset)
    assert resumed.model.generator_ema is not None
    consume(resumed)
    assert losses_by_step(part.run.path) == losses_by_step(full.run.path)
    final = [load_checkpoint(t.run.last_checkpoint)["model"] for t in (full, part)]
    assert any(k.startswith("generator_ema.") for k in final[0])
    assert any(k.endswith("_u") for k in final[0])  # spectral norm's power-iteration vector is saved
    assert all(torch.equal(final[0][k], final[1][k]) for k in final[0])


def test_ema_generator_is_kept_in_checkpoints_and_draws_the_sample_grids(tmp_path):
    config = apply_values(default_config("gan"), {**TINY_MODELS["gan"], "ema_decay": 0.95})
    values = {"data": "ring8", "steps": 20, "batch_size": 16, "log_every": 5, "sample_every": 0, "seed": 3}
    ema_run = Trainer.new("gan", config, apply_values(TrainConfig(), values), out=tmp_path / "ema")
    consume(ema_run)
    saved = load_checkpoint(ema_run.run.last_checkpoint)["model"]
    averaged = {k.removeprefix("generator_ema."): v for k, v in saved.items() if k.startswith("generator_ema.")}
    trained = {k.removeprefix("generator."): v for k, v in saved.items() if k.startswith("generator.")}
    assert averaged.keys() == trained.keys()
    assert not all(torch.equal(averaged[k], trained[k]) for k in trained)  # a real average, not a copy
    grid = ema_run.generate_fixed()
    ema_run.model.eval()
    with torch.no_grad():
        assert torch.equal(grid, ema_run.model.generator_ema(ema_run.fixed_z, None))
        assert not torch.equal(grid, ema_run.model.generator(ema_run.fixed_z, None))


def test_weights_gone_non_finite_while_paused_end_the_run_as_diverged_without_saving_them(tmp_path):
    trainer = make_trainer(tmp_path, steps=1000, log_every=5)
    updates = iter(trainer)
    while not isinstance(next(updates), Metrics):
        pass
    trainer.controls.pause()
    assert isinstance(next(updates), Paused)
    with torch.no_grad():
        next(trainer.model.parameters()).fill_(float("nan"))
    rest = list(updates)  # the pause checkpoint finds the weights not finite: the run ends, nothing waits
    assert isinstance(rest[0], Diverged) and "no checkpoint was saved before it" in rest[0].message
    assert trainer.run.read_info()["status"] == "diverged" and not trainer.run.last_checkpoint.exists()


def test_what_callbacks_write_for_an_event_is_on_disk_when_the_event_is_yielded(tmp_path):
    """The app hears of a Sample and reads its 2D-view frame at once: the frame was written after the event,
    so the Explorer's 'live' view was always one sample step behind."""
    from gan_studio.explore.frames import FrameRecorder, frame_path

    trainer = make_trainer(tmp_path, steps=6, sample_every=2, callbacks=[FrameRecorder()])
    samples = 0
    for event in trainer:
        if isinstance(event, Sample):
            samples += 1
            assert frame_path(trainer.run.path, event.step).is_file(), event.step
    assert samples == 3


def test_sample_grids_of_a_conditional_point_model_colour_each_class(tmp_path):
    """A cGAN on ring8 draws its fixed-noise points in their class's colour (as the Explorer does), so a grid
    shows whether each class lands on its own mode; an unconditional one keeps one colour."""
    import numpy as np

    from gan_studio.store.pictures import CLASS_COLOURS, read_picture

    def colours_of(model: str) -> set[tuple[int, ...]]:
        trainer = tiny_runs.train_tiny_run(tmp_path / model, model, data="ring8", steps=2, sample_every=2)
        grid = read_picture(trainer.run.sample_path(2))
        return {tuple(int(c) for c in pixel) for pixel in np.asarray(grid).reshape(-1, 3)}

    conditional = colours_of("cgan")
    assert all(colour in conditional for colour in CLASS_COLOURS[:8])  # ring8: eight classes
    unconditional = colours_of("gan")
    assert not any(colour in unconditional for colour in CLASS_COLOURS[1:8])

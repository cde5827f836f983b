"""Nothing lost, nothing trusted: atomic checkpoints, kill -9, truncated logs, refused checkpoints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tiny_runs import make_trainer, train_tiny_run

from gan_studio.engine.trainer import Trainer
from gan_studio.errors import CheckpointError, GanStudioError, RunError
from gan_studio.events import Metrics
from gan_studio.store import checkpoint as ckpt
from gan_studio.store.jsonl import JsonlTail, read_jsonl
from gan_studio.store.loaded import load_run
from gan_studio.store.rundir import RunDir, summarise_run

torch.set_num_threads(1)  # tiny ops on a shared 2-core machine: threads only contend


def trained_run(tmp_path, model="gan", name="run", steps=6, **train) -> Trainer:
    return train_tiny_run(tmp_path / name, model, **{"data": "ring8", "steps": steps, "checkpoint_every": 3, **train})


# atomic writes ---------------------------------------------------------------------------------------
def test_crash_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    trainer = trained_run(tmp_path)
    last = trainer.run.last_checkpoint
    good = last.read_bytes()
    real_save = torch.save

    def crash_midway(obj, fh):
        real_save(obj, fh)
        fh.truncate(fh.tell() // 2)  # half the bytes reached the disk, then the machine died
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt.torch, "save", crash_midway)
    with pytest.raises(GanStudioError, match="disk is full.*intact"):
        ckpt.save_checkpoint(trainer.checkpoint_state(), last)
    assert last.read_bytes() == good
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.pt", "step-0000003.pt", "step-0000006.pt"]
    assert ckpt.load_checkpoint(last)["step"] == 6


def test_a_failing_checkpoint_write_fails_the_run_but_keeps_the_good_file(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path / "run", "gan", steps=9, checkpoint_every=3)
    updates = iter(trainer)
    while not (isinstance(u := next(updates), Metrics) and u.step == 4):
        pass
    good = trainer.run.last_checkpoint.read_bytes()
    monkeypatch.setattr(ckpt.torch, "save", lambda obj, fh: (fh.write(b"PK\x03\x04partial"), 1 / 0))
    with pytest.raises(ZeroDivisionError):
        list(updates)
    assert trainer.run.last_checkpoint.read_bytes() == good
    assert trainer.run.read_info()["status"] == "failed"
    assert not [p for p in trainer.run.checkpoints_dir.iterdir() if ".tmp" in p.name]


def test_keep_last_n_numbered_checkpoints(tmp_path):
    trainer = trained_run(tmp_path, steps=15, keep_checkpoints=2)
    names = sorted(p.name for p in trainer.run.checkpoints_dir.iterdir())
    assert names == ["last.pt", "step-0000012.pt", "step-0000015.pt"]
    assert ckpt.load_checkpoint(trainer.run.checkpoints_dir / "step-0000012.pt")["step"] == 12
    checkpoint_events = [e["step"] for e in trainer.run.read_events() if e["type"] == "checkpoint"]
    assert checkpoint_events == [3, 6, 9, 12, 15]  # the final step is saved once, not twice


# kill -9 ----------------------------------------------------------------------------------------------
def test_kill_9_mid_run_leaves_loadable_checkpoints_and_readable_logs(tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "gan_studio.cli", "train", "gan", "--data", "ring8", "--steps", "100000",
           "--batch-size", "16", "--g-hidden", "16", "--d-hidden", "16", "--log-every", "1",
           "--checkpoint-every", "7", "--keep-checkpoints", "3", "--sample-every", "0", "--out", str(out), "--quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(list((out / "checkpoints").glob("step-*.pt"))) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        with pytest.raises(RunError, match=rf"being trained by gan-studio train \(pid {proc.pid} "):
            Trainer.from_checkpoint(out)  # a second trainer on a live run would interleave its writes
        time.sleep(0.037)  # land somewhere inside a step, a log write or a checkpoint write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    run = RunDir(out)
    assert run.read_info()["status"] == "running"  # nobody got to say otherwise
    saved = [ckpt.load_checkpoint(p) for p in sorted(run.checkpoints_dir.glob("*.pt"))]
    assert len(saved) >= 3 and all(s["model_name"] == "gan" for s in saved)
    records = run.read_metrics()
    steps = [r["step"] for r in records]
    assert steps == list(range(1, len(steps) + 1))
    assert summarise_run(out)["step"] == steps[-1]
    last_step = ckpt.load_checkpoint(run.last_checkpoint)["step"]
    assert last_step % 7 == 0 and last_step <= steps[-1]

    stale = run.checkpoints_dir / ".last.pt.tmp-99999"  # what a kill during a checkpoint write leaves
    stale.write_bytes(b"PK\x03\x04half a checkpoint")
    resumed = Trainer.from_checkpoint(out, {"steps": last_step + 3})
    assert not stale.exists()
    assert resumed.step == last_step  # at most the steps since the last checkpoint are lost
    for _ in resumed:
        pass
    steps = [r["step"] for r in run.read_metrics()]
    assert steps == list(range(1, last_step + 4))
    assert run.read_info()["status"] == "finished"


# readers tolerate truncated lines -----------------------------------------------------------------------
def test_truncated_last_metrics_line_is_skipped(tmp_path):
    trainer = trained_run(tmp_path, steps=4)
    metrics = trainer.run.metrics_file
    with open(metrics, "a", encoding="utf-8") as fh:
        fh.write('{"step": 5, "d_loss": 1.3')  # killed mid-write
    records = trainer.run.read_metrics()
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    summary = summarise_run(trainer.run.path)
    assert summary["step"] == 4 and summary["status"] == "finished"
    assert read_jsonl(Path(tmp_path / "missing.jsonl")) == []


def test_live_tail_waits_for_the_rest_of_a_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = JsonlTail(path)
    assert tail.read_new() == []
    path.write_text('{"step": 1}\n{"step": 2, "lo')
    assert tail.read_new() == [{"step": 1}]
    with open(path, "a") as fh:
        fh.write('ss": 0.5}\n')
    assert tail.read_new() == [{"step": 2, "loss": 0.5}]
    path.write_text('{"step": 1}\n')  # rewritten by a resume: the tail starts over
    assert tail.read_new() == [{"step": 1}]


# refusing checkpoints ------------------------------------------------------------------------------------
class CreatesAFile:
    """Unpickling this runs open(path, 'w'): the kind of payload weights_only loading must refuse."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_checkpoint_with_a_pickled_object_is_refused_and_never_run(tmp_path):
    trainer = trained_run(tmp_path, steps=3)
    state = torch.load(trainer.run.last_checkpoint, weights_only=True)
    target = tmp_path / "pwned.txt"
    state["extra"] = CreatesAFile(target)
    torch.save(state, trainer.run.last_checkpoint)
    assert not target.exists()

    with pytest.raises(CheckpointError, match="pickled"):
        ckpt.load_checkpoint(trainer.run.last_checkpoint)
    with pytest.raises(CheckpointError, match="pickled"):
        Trainer.from_checkpoint(trainer.run.path)
    with pytest.raises(CheckpointError, match="pickled"):
        load_run(trainer.run.path)
    assert not target.exists()

    # the payload is live: an unsafe loader would have created the file
    torch.load(trainer.run.last_checkpoint, weights_only=False)
    assert target.exists()


def test_checkpoint_of_another_model_is_refused(tmp_path):
    gan = trained_run(tmp_path, "gan", "gan-run", steps=3)
    vae = trained_run(tmp_path, "vae", "vae-run", steps=3, data="moons")
    gan.run.last_checkpoint.write_bytes(vae.run.last_checkpoint.read_bytes())
    with pytest.raises(CheckpointError, match="'vae'"):
        Trainer.from_checkpoint(gan.run.path)
    data = ckpt.load_checkpoint(vae.run.last_checkpoint)
    with pytest.raises(CheckpointError, match="for model 'vae', not 'gan'"):
        ckpt.check_compatible(data, "gan", gan.model, vae.run.last_checkpoint)


def test_checkpoint_with_an_incompatible_config_is_refused(tmp_path):
    trainer = trained_run(tmp_path, steps=3)
    state = torch.load(trainer.run.last_checkpoint, weights_only=True)
    state["model_config"]["g_hidden"] = 32  # the weights are for 16 units
    torch.save(state, trainer.run.last_checkpoint)
    with pytest.raises(CheckpointError, match=r"another configuration than this run: g_hidden \(16 in run.json, 32"):
        Trainer.from_checkpoint(trainer.run.path)
    with pytest.raises(CheckpointError, match=r"does not belong to this run: g_hidden \(16 in run.json, 32"):
        load_run(trainer.run.path)


def _flip_byte_in_the_middle(path: Path) -> None:
    """A damaged disk sector: torch.load reads such a file without a word (here into a weight)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "corrupt or truncated"),
        (lambda p: p.write_bytes(b""), "corrupt or truncated"),
        (lambda p: torch.save({"weights": torch.zeros(2)}, p), "not a GAN Studio checkpoint"),
        (
            lambda p: p.unlink(),
            "checkpoints/last.pt is missing .the run recorded step 3.: deleted or moved; it keeps step-3",
        ),
        (lambda p: _flip_byte_in_the_middle(p), "damaged checkpoint: .* fails its checksum"),
    ],
    ids=["truncated", "empty", "foreign", "missing", "one-byte"],
)
def test_damaged_checkpoints_are_clear_errors(tmp_path, damage, message):
    trainer = trained_run(tmp_path, steps=3)
    damage(trainer.run.last_checkpoint)
    with pytest.raises(GanStudioError, match=message):
        Trainer.from_checkpoint(trainer.run.path)


def test_checkpoints_hold_only_tensors_and_plain_values(tmp_path):
    trainer = trained_run(tmp_path, steps=3)
    state = torch.load(trainer.run.last_checkpoint, weights_only=True)  # would raise on any other object

    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, (str, int)) and plain(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (torch.Tensor, str, int, float, bool))

    assert plain(state)
    assert json.loads(json.dumps(state["model_config"])) == state["model_config"]


def test_a_plain_resume_never_goes_back_past_a_newer_kept_checkpoint(tmp_path):
    """An older last.pt put back (a backup, a sync tool): a plain resume went back to its step without a word and
    deleted the newer, intact step-N.pt, its grid and its metrics (review s15X #1). It is refused, naming both ways."""
    import shutil

    run = trained_run(tmp_path, steps=6).run
    newest = run.checkpoints_dir / "step-0000006.pt"
    shutil.copyfile(run.checkpoints_dir / "step-0000003.pt", run.last_checkpoint)
    metrics_before = run.metrics_file.read_bytes()
    with pytest.raises(RunError, match=r"last.pt holds step 3, but the run keeps step-6.*--from step-6.*--from last"):
        Trainer.from_checkpoint(run.path, {"steps": 9})
    assert newest.is_file() and run.metrics_file.read_bytes() == metrics_before  # nothing removed
    onward = Trainer.from_checkpoint(run.path, {"steps": 9}, start_from="step-6")
    assert onward.step == 6
    onward.lock.release()


def test_a_run_stopped_before_its_first_checkpoint_starts_again_on_resume(tmp_path):
    """Killed (or failed) before any checkpoint: `--resume` starts it again from step 0 with its
    recorded settings, exactly as a fresh run, instead of leaving a folder that can be neither resumed
    nor trained into."""
    whole = train_tiny_run(tmp_path / "whole", "gan", steps=6, log_every=1)
    killed = make_trainer(tmp_path / "killed", "gan", steps=6, log_every=1, checkpoint_every=0)
    killed.lock.release()  # created (run.json says running), then the process died before any checkpoint
    assert not killed.run.last_checkpoint.exists()
    again = Trainer.from_checkpoint(killed.run.path)
    assert again.step == 0 and again.resumed_from is None
    for _ in again:
        pass
    assert [r["d_loss"] for r in killed.run.read_metrics()] == [r["d_loss"] for r in whole.run.read_metrics()]
    assert killed.run.read_info()["status"] == "finished"
    with pytest.raises(RunError, match="no checkpoint"):  # a named checkpoint that is not there is still an error
        Trainer.from_checkpoint(tmp_path / "whole", start_from="step-3")


def test_a_conditional_vae_saved_before_label_layers_existed_loads_resumes_and_forks_as_it_trained(tmp_path):
    """Runs made before a model setting existed have no value for it: they load with what the code did then
    (VAEConfig.OLDER_RUNS_HAD), not with today's default, whose network has other weight shapes."""
    from gan_studio.store.fork import fork_run

    trainer = train_tiny_run(tmp_path / "old", "cvae", data="shapes", steps=2, channels=4, image_size=32,
                             label_layers="heads")  # fmt: skip
    run = trainer.run
    z, y = torch.randn(3, 2), torch.eye(6)[[0, 2, 5]]
    before = load_run(run.path).model.eval().generate(z, y)
    info = json.loads((run.path / "run.json").read_text())
    del info["model_config"]["label_layers"]  # as an older version wrote them
    (run.path / "run.json").write_text(json.dumps(info))
    state = ckpt.load_checkpoint(run.last_checkpoint)
    del state["model_config"]["label_layers"]
    ckpt.save_checkpoint(state, run.last_checkpoint)

    loaded = load_run(run.path)
    assert loaded.model.decoder.label_in_body is False
    assert torch.allclose(loaded.model.eval().generate(z, y), before)
    resumed = Trainer.from_checkpoint(run.path, {"steps": 4})
    for _ in resumed:
        pass
    assert resumed.step == 4 and run.read_info()["model_config"]["label_layers"] == "heads"
    forked = fork_run(run.path)
    assert load_run(forked).model.decoder.label_in_body is False
    # a new conditional conv VAE gives the label to every layer; an unconditional one has none to give
    assert make_trainer(tmp_path / "new", "cvae", data="shapes", channels=4).model.decoder.label_in_body
    assert not make_trainer(tmp_path / "vae", "vae", data="shapes", channels=4).model.encoder.label_in_body


def test_a_torn_last_event_line_does_not_swallow_the_next_event(tmp_path):
    """events.jsonl cut mid-line (a crash, a full disk): the resume's start event was glued onto the torn line and
    lost with it (review s15X #2). It goes on a line of its own; the torn line stays one unreadable line."""
    run = trained_run(tmp_path, steps=6).run
    data = run.events_file.read_bytes()
    run.events_file.write_bytes(data[:-30])
    resumed = Trainer.from_checkpoint(run.path, {"steps": 9})
    for _ in resumed:
        pass
    events = [e for e in read_jsonl(run.events_file)]
    starts = [e for e in events if e.get("type") == "start"]
    assert len(starts) == 2 and starts[-1]["step"] == 6 and starts[-1]["resumed_from"] == "checkpoints/last.pt"
    assert events[-1]["type"] == "finish" and events[-1]["step"] == 9


def test_a_resume_says_what_it_dropped_of_the_metrics_and_when_it_starts_again(tmp_path, capsys):
    """Damaged metrics lines were dropped by a resume without a word, and a run with no checkpoint started again
    from step 0 silently (review s15X #3, #8): the start event carries the notes, and the CLI prints them."""
    from gan_studio.cli import main
    from gan_studio.events import Started

    run = trained_run(tmp_path, steps=6, log_every=1).run
    lines = run.metrics_file.read_bytes().splitlines(keepends=True)
    run.metrics_file.write_bytes(b"".join(lines[:2]) + b"\x00\x00 garbage\n" + b"".join(lines[2:]))
    resumed = Trainer.from_checkpoint(run.path, {"steps": 8})
    started = next(iter(resumed))
    assert isinstance(started, Started)
    assert started.notes == ("metrics.jsonl: 1 unreadable line (damaged or cut short) left out",)
    for _ in resumed:
        pass
    assert [e for e in read_jsonl(run.events_file) if e["type"] == "start"][-1]["notes"] == list(started.notes)

    killed = make_trainer(tmp_path / "killed", "gan", steps=6, log_every=1, checkpoint_every=0)
    killed.lock.release()  # run.json written, then the process died before any checkpoint
    for step in (1, 2, 3):  # what it logged before it died
        killed.run.record(Metrics(step, values={"d_loss": 1.0}))
    capsys.readouterr()
    assert main(["train", "--resume", str(killed.run.path), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "note: the run has no checkpoint: it starts again from step 0" in err
    assert "note: metrics.jsonl: 3 records after step 0 removed" in err

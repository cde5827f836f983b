"""The run folder as a safe store: no symlink followed, no non-regular file opened, one trainer per run
(the lock), only verified checkpoints, forks and --from, one-line errors for read-only folders and full
disks, and exit codes that tell a stop from a finish."""

from __future__ import annotations

import errno
import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_runs import make_trainer, train_tiny_run

from gan_studio.cli import main
from gan_studio.commands import train as train_command
from gan_studio.data.dataset import points_dataset
from gan_studio.engine.callbacks import TrainerCallback
from gan_studio.engine.trainer import Trainer
from gan_studio.errors import CheckpointError, DataError, RunError
from gan_studio.events import Checkpoint, Diverged, Finished
from gan_studio.state.run_state import RunState
from gan_studio.store import checkpoint as ckpt
from gan_studio.store.fork import fork_run, kept_checkpoints
from gan_studio.store.loaded import model_from_checkpoint
from gan_studio.store.lock import RunLock, holder_of
from gan_studio.store.rundir import RunDir, list_runs

pytestmark = pytest.mark.usefixtures("one_thread")
TINY_CLI = ["--g-hidden", "8", "--d-hidden", "8", "--latent-dim", "2", "--batch-size", "16", "--sample-every", "0"]


@pytest.fixture
def cli(capsys):
    """Run `gan-studio ARGV` in this process: (exit code, stderr)."""

    def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(list(argv))
        return code, capsys.readouterr().err

    return run


def assert_one_line(code: int, stderr: str, *words: str, expected: int = 2) -> None:
    assert code == expected, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("gan-studio: error: ") and "Traceback" not in stderr, stderr
    for word in words:
        assert word in stderr, stderr


@pytest.fixture
def finished(tmp_path) -> Path:
    return train_tiny_run(tmp_path / "run", steps=6, checkpoint_every=2, keep_checkpoints=3, sample_every=2).run.path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# 1. symlinks inside a run folder are refused, never followed ------------------------------------------------
@pytest.mark.parametrize("entry", ["checkpoints", "events.jsonl", "metrics.jsonl", "samples", "eval", "run.json"])
def test_a_symlinked_entry_is_refused_and_what_it_points_to_is_untouched(finished, tmp_path, entry, cli):
    outside = tmp_path / "outside"
    outside.mkdir()
    inside = finished / entry
    target = outside / entry
    if inside.is_dir():
        inside.rename(target)
    elif inside.exists():
        inside.rename(target)
    else:
        target.mkdir()
        (target / "precious.txt").write_text("not the tool's to touch")
    inside.symlink_to(target, target_is_directory=target.is_dir())
    before = snapshot(outside)
    for argv in (["train", "--resume", str(finished), "--steps", "9"], ["eval", str(finished), "--n", "50"],
                 ["sample", str(finished), "--out", str(tmp_path / "grid.png")],
                 ["export", str(finished)], ["fork", str(finished), "--out", str(tmp_path / "fork")]):  # fmt: skip
        code, stderr = cli(*argv)
        assert_one_line(code, stderr, entry)
    assert snapshot(outside) == before
    with pytest.raises(RunError, match=entry):
        RunState.load(finished)
    assert "error" in next(r for r in list_runs(finished.parent) if r["name"] == "run")


def test_a_symlinked_run_in_the_workspace_is_not_followed_and_says_its_real_path(finished, tmp_path, cli, capsys):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "linked").symlink_to(finished, target_is_directory=True)
    summary = list_runs(workspace)[0]
    assert "not followed here: use it by its own path" in summary["error"] and str(finished) in summary["error"]
    assert summary["status"] == "link" and summary["target"] == str(finished.resolve())
    for argv in (["runs", str(workspace)], ["runs", str(workspace), "--json"]):  # the CLI lists it as the app does
        capsys.readouterr()
        assert main(argv) == 0
        listed = capsys.readouterr().out
        assert "linked" in listed and "not followed here: use it by its own path" in listed, (argv, listed)
    code, _ = cli("sample", str(finished), "--out", str(tmp_path / "s.png"))  # as the message says: it works
    assert code == 0


def test_a_symlinked_sample_grid_is_not_listed(finished, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"outside")
    (finished / "samples" / "step-0000099.png").symlink_to(secret)
    steps = [s for s, _ in RunState.load(finished).samples]
    assert 99 not in steps and steps == [2, 4, 6]


# 2. non-regular files are refused without blocking ---------------------------------------------------------
@pytest.mark.parametrize("entry", ["run.json", "metrics.jsonl", "events.jsonl"])
def test_a_fifo_in_a_run_marks_it_broken_and_nothing_hangs(finished, entry, cli):
    (finished / entry).unlink()
    os.mkfifo(finished / entry)
    started = time.monotonic()
    code, _ = cli("runs", str(finished.parent))
    assert code == 0 and time.monotonic() - started < 30
    summary = list_runs(finished.parent)[0]
    assert "FIFO" in summary["error"] and entry in summary["error"]
    code, stderr = cli("train", "--resume", str(finished))
    assert_one_line(code, stderr, entry, "FIFO")


def test_a_fifo_as_checkpoint_is_refused(finished, cli):
    last = finished / "checkpoints" / "last.pt"
    last.unlink()
    os.mkfifo(last)
    code, stderr = cli("sample", str(finished))
    assert_one_line(code, stderr, "FIFO")


# 4. one trainer per run ------------------------------------------------------------------------------------------
def test_a_second_trainer_is_refused_and_told_who_holds_the_run(finished, cli):
    with RunLock(finished, who="the GAN Studio app"):
        assert "the GAN Studio app" in holder_of(finished)
        with pytest.raises(RunError, match=r"being trained by the GAN Studio app \(pid"):
            Trainer.from_checkpoint(finished, {"steps": 8})
        code, stderr = cli("train", "--resume", str(finished), "--steps", "8")
        assert_one_line(code, stderr, "being trained by the GAN Studio app")
    assert holder_of(finished) is None
    events = [e["type"] for e in RunDir(finished).read_events()]
    assert events.count("start") == 1  # the refused trainers wrote nothing


def test_a_lock_file_deleted_while_the_run_trains_does_not_let_a_second_trainer_in(finished):
    """A sync tool or a clean-up of dot files removes RUN/.lock: the run folder's own lock still holds it."""
    with RunLock(finished, who="the GAN Studio app"):
        (finished / ".lock").unlink()
        assert holder_of(finished) == "another process (its .lock file was removed)"
        with pytest.raises(RunError, match="being trained by another process"):
            Trainer.from_checkpoint(finished, {"steps": 8})
    assert holder_of(finished) is None
    Trainer.from_checkpoint(finished, {"steps": 8}).lock.release()  # free again once the holder let go


def test_two_resumes_at_once_train_the_run_once(finished):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "gan_studio.cli", "train", "--resume", str(finished), "--steps", "400", "--quiet"]
    procs = [subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    assert any("being trained by gan-studio train" in err for _, err in results)
    steps = [r["step"] for r in RunDir(finished).read_metrics()]
    assert steps == sorted(set(steps)) and steps[-1] == 400  # no duplicated or out-of-order lines
    assert [e["type"] for e in RunDir(finished).read_events()].count("start") == 2


def _start_another_while_loading(monkeypatch, start_other) -> list:
    """Make the next Trainer.new run `start_other()` while it loads its data (after it chose its folder and
    before it wrote anything): two trainings started at the same moment. Returns what start_other returned."""
    import gan_studio.engine.trainer as trainer_module

    load, started = trainer_module.load_training_data, []

    def loading(*args, **kwargs):
        monkeypatch.setattr(trainer_module, "load_training_data", load)  # once: the other training loads as usual
        started.append(start_other())
        return load(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "load_training_data", loading)
    return started


def test_trainings_started_in_the_same_second_each_get_their_own_folder(tmp_path, monkeypatch):
    """A sweep launched in a loop names every run model-data-TIME: the second-resolution names collide, and
    the folder must be claimed at once, or two trainings write one run.json (seed of one, weights of other)."""
    monkeypatch.setattr(time, "strftime", lambda *_: "20261130-120000")
    workspace = tmp_path / "sweep"
    other = _start_another_while_loading(monkeypatch, lambda: train_tiny_run(None, workspace=workspace, seed=2))
    first = train_tiny_run(None, workspace=workspace, seed=1)
    second = other[0]
    assert first.run.path != second.run.path and sorted(p.name for p in workspace.iterdir()) == [
        "gan-ring8-20261130-120000", "gan-ring8-20261130-120000-2"]  # fmt: skip
    for trainer, seed in ((first, 1), (second, 2)):
        assert (
            trainer.run.read_info()["seed"]
            == seed
            == ckpt.load_checkpoint(trainer.run.last_checkpoint)["train_config"]["seed"]
        )
    with pytest.raises(DataError, match="no such dataset"):  # bad input still leaves no run folder behind
        train_tiny_run(None, workspace=workspace, data=str(tmp_path / "missing.npz"))
    assert len(list(workspace.iterdir())) == 2


def test_of_two_trainings_started_into_one_out_folder_the_refused_one_writes_nothing(tmp_path, monkeypatch):
    out = tmp_path / "run"
    other = _start_another_while_loading(monkeypatch, lambda: make_trainer(out, seed=2))
    with pytest.raises(RunError, match="another training has just started in this folder"):
        make_trainer(out, seed=1)
    holder = other[0]
    assert holder.run.read_info()["seed"] == 2  # run.json is still the one of the training that holds the run
    list(holder)
    assert ckpt.load_checkpoint(out / "checkpoints" / "last.pt")["train_config"]["seed"] == 2


def test_a_disk_too_full_to_record_the_lock_holder_is_one_line_and_changes_nothing(finished, monkeypatch, cli):
    before = snapshot(finished)

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    code, stderr = cli("train", "--resume", str(finished), "--steps", "8")
    assert_one_line(code, stderr, "the disk is full", ".lock", expected=1)  # 1 failed (README), not 2 bad input
    monkeypatch.undo()
    assert snapshot(finished) == before and holder_of(finished) is None


# 5. only verified checkpoints; --from and fork -------------------------------------------------------------------
def test_weights_that_turn_nan_are_never_saved(tmp_path):
    trainer = make_trainer(tmp_path / "run", steps=20, checkpoint_every=4, keep_checkpoints=10)
    real_step = trainer.recipe.step

    def poison_at_step_8(stream, step):
        losses = real_step(stream, step)
        if trainer.step + 1 == 8:  # the update of step 8 leaves a NaN in Adam's state; its losses are finite
            optimizer = trainer.recipe.optimizers["g"]
            next(iter(optimizer.state.values()))["exp_avg"].view(-1)[0] = float("nan")
        return losses

    trainer.recipe.step = poison_at_step_8
    events = list(trainer)
    diverged = events[-1]
    assert isinstance(diverged, Diverged) and diverged.step == 8 and "optimizers.g" in diverged.message
    assert "is not finite" in diverged.message
    assert "checkpoints/last.pt (step 4, verified finite) is kept" in diverged.message
    assert [e.step for e in events if isinstance(e, Checkpoint)] == [4]
    saved = ckpt.load_checkpoint(trainer.run.last_checkpoint)
    assert saved["step"] == 4 and ckpt.nonfinite_entry(saved) is None
    resumed = Trainer.from_checkpoint(trainer.run.path, {"steps": 6})
    assert isinstance(list(resumed)[-1], Finished)


def test_divergence_before_any_checkpoint_says_so(tmp_path):
    trainer = make_trainer(tmp_path / "run", steps=20, checkpoint_every=10)
    real_step = trainer.recipe.step
    trainer.recipe.step = lambda stream, step: {k: v * float("nan") for k, v in real_step(stream, step).items()}
    diverged = list(trainer)[-1]
    assert isinstance(diverged, Diverged) and "no checkpoint was saved before it" in diverged.message
    assert "step 0" not in diverged.message


def test_a_vae_on_points_far_from_unit_size_trains(tmp_path):
    """It turned NaN at step 1 before the point models standardised such data inside (test_point_scaling.py)."""
    points = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32) * 4000
    dataset = points_dataset("far", points, None, [], "far.npz")
    events = list(make_trainer(tmp_path / "run", "vae", dataset, steps=5))
    assert isinstance(events[-1], Finished) and not any(isinstance(e, Diverged) for e in events)


def test_fork_and_resume_from_a_kept_checkpoint(finished, tmp_path):
    assert kept_checkpoints(finished) == ["step-2", "step-4", "step-6", "last"]
    source_before = snapshot(finished)
    fork = fork_run(finished, "step-2", tmp_path / "fork")
    assert snapshot(finished) == source_before  # the source is left as it was
    state = RunState.load(fork)
    assert state.status == "stopped" and state.step == 2 and [s for s, _ in state.samples] == [2]
    assert state.info["forked_from"]["checkpoint"] == "checkpoints/step-0000002.pt"
    assert max(r["step"] for r in RunDir(fork).read_metrics()) == 2
    code = main(["train", "--resume", str(fork), "--steps", "4", "--quiet"])
    assert code == 0 and RunDir(fork).read_info()["step"] == 4
    with pytest.raises(RunError, match=r"no checkpoint step-3 \(kept: step-2, step-4, step-6, last\)"):
        fork_run(finished, "step-3", tmp_path / "fork-3")
    with pytest.raises(RunError, match="already holds a run"):
        fork_run(finished, "last", fork)

    # rewinding in place: what came after step 4 belonged to a history that no longer exists
    resumed = Trainer.from_checkpoint(finished, {"steps": 5}, start_from="step-4")
    assert resumed.step == 4 and resumed.resumed_from == "checkpoints/step-0000004.pt"
    # last.pt already is step 4: killed before its next checkpoint, the run resumes from step 4, never
    # from the step-6 history whose records and grids the rewind removed
    assert ckpt.load_checkpoint(finished / "checkpoints" / "last.pt")["step"] == 4
    list(resumed)
    assert [r["step"] for r in RunDir(finished).read_metrics()] == [1, 2, 3, 4, 5]
    assert kept_checkpoints(finished) == ["step-2", "step-4", "step-5", "last"]
    assert [s for s, _ in RunState.load(finished).samples] == [2, 4, 5]


def test_a_fork_and_the_advice_of_a_long_log_stream_it(finished, tmp_path, monkeypatch):
    """A fork read the whole metrics.jsonl as a list of dicts and wrote a record at a time (300 MB: 4 minutes and
    2.6 GB), and `runs --advice` fed a million records to the advisor (review s18H #3)."""
    import gan_studio.evaluate.advisor as advisor_module

    records = [f'{{"step": {step % 7}, "d_loss": 0.5, "g_loss": 1.0}}\n'.encode() for step in range(60_000)]
    log = RunDir(finished).metrics_file
    log.write_bytes(b"".join(records) + b"\x00 garbled\n" + b'{"step": 1, "d_loss": 0.7}\n')

    def read_whole(self):
        raise AssertionError("a whole metrics.jsonl read as a list")

    monkeypatch.setattr(RunDir, "read_metrics", read_whole)
    fork = fork_run(finished, "step-2", tmp_path / "fork")
    kept = [line for line in log.read_bytes().splitlines(keepends=True) if line.startswith(b'{"step": ')
            and int(line[9:10]) <= 2]  # fmt: skip
    assert RunDir(fork).metrics_file.read_bytes() == b"".join(kept)  # every record up to step 2, nothing else

    observed = []
    monkeypatch.setattr(advisor_module, "REPLAYED_RECORDS", 100)
    monkeypatch.setattr(advisor_module.Advisor, "observe", lambda self, record: observed.append(record) or [])
    advisor_module.advise_run(finished)
    assert len(observed) == 100 and observed[-1] == {"step": 1, "d_loss": 0.7}  # the newest, a bounded number


def test_runs_says_a_damaged_last_checkpoint_and_the_kept_ones_to_go_on_from(finished, capsys):
    """`runs` showed a run whose last.pt was garbage, empty or a folder as a normal run; only a missing one had a
    word (review s18H #9)."""
    last = finished / "checkpoints" / "last.pt"
    for damage in (lambda: last.write_bytes(b"garbage"), lambda: last.write_bytes(b""), lambda: last.mkdir()):
        if last.is_file():
            last.unlink()
        damage()
        assert main(["runs", str(finished.parent)]) == 0
        assert (
            "  checkpoints/last.pt is damaged (not a checkpoint file) (it keeps step-2, step-4, step-6: fork or "
            "resume one with --from step-N)"
        ) in capsys.readouterr().out.splitlines()
        if last.is_dir():
            last.rmdir()
    shutil.copy(finished / "checkpoints" / "step-0000006.pt", last)
    (finished / "metrics.jsonl").write_bytes(b"\x00garbage" * 1000)  # a run with unreadable curves is said so too
    assert main(["runs", str(finished.parent)]) == 0
    assert "  metrics.jsonl holds no readable record at its end (damaged): its curves are missing" in (
        capsys.readouterr().out.splitlines())  # fmt: skip


def test_a_fork_of_a_2d_run_keeps_the_2d_views_frames_of_its_history(tmp_path):
    from gan_studio.explore.frames import FrameRecorder, saved_frames

    run = train_tiny_run(tmp_path / "run", steps=6, checkpoint_every=2, keep_checkpoints=3, sample_every=2,
                         callbacks=[FrameRecorder()]).run.path  # fmt: skip
    assert [s for s, _ in saved_frames(run)] == [2, 4, 6]
    fork = fork_run(run, "step-4", tmp_path / "fork")
    assert [s for s, _ in saved_frames(fork)] == [2, 4]  # the playback of the fork's own history
    assert (fork / "frames" / "step-0000004.npz").read_bytes() == (run / "frames" / "step-0000004.npz").read_bytes()


# 6. a checkpoint of another configuration or dataset is refused ---------------------------------------------------
def test_a_checkpoint_trained_on_other_data_is_refused(finished, tmp_path):
    other = train_tiny_run(tmp_path / "other", steps=2, checkpoint_every=2, data="grid25").run.path
    info = RunDir(other).read_info()  # a run of other classes: its checkpoint put into this run
    shutil.copy(other / "checkpoints" / "last.pt", finished / "checkpoints" / "last.pt")
    with pytest.raises(
        CheckpointError, match="another configuration than this run: data \\('ring8' in run.json"
    ) as caught:
        Trainer.from_checkpoint(finished, {"steps": 9}, start_from="last")
    assert caught.value.path.endswith("last.pt") and info["data_info"] != RunDir(finished).read_info()["data_info"]


def test_an_edited_run_json_is_named_not_the_checkpoints_that_agree_with_each_other(finished, cli):
    """run.json changed by hand (class names, a latent size typed as text): every command blamed the checkpoint,
    and the --from step-N it offered failed the same way (review s15X #7). When all the run's checkpoints differ
    from run.json alike, the message names run.json."""
    info = RunDir(finished).read_info()
    info["data_info"]["class_names"] = ["a", "b"]
    info["model_config"]["latent_dim"] = str(info["model_config"]["latent_dim"])
    RunDir(finished).write_info(info)
    with pytest.raises(CheckpointError, match="run.json does not match the run's checkpoints") as caught:
        Trainer.from_checkpoint(finished, {"steps": 9})
    assert caught.value.path.endswith("run.json")
    for argv in (["sample", str(finished), "--out", str(finished.parent / "g.png")], ["fork", str(finished), "--from",
                 "step-4", "--out", str(finished.parent / "fork")]):  # fmt: skip
        code, stderr = cli(*argv)
        assert_one_line(code, stderr, "run.json does not match the run's checkpoints", "latent_dim", "was it edited")


def test_a_checkpoint_of_another_configuration_is_refused_by_fork_sample_and_resume(finished, tmp_path, cli):
    step_2 = finished / "checkpoints" / "step-0000002.pt"
    state = torch.load(step_2, weights_only=True)
    state["train_config"]["seed"] = 12345  # another run's checkpoint: same model and data, other settings
    torch.save(state, step_2)
    code, err = cli("fork", str(finished), "--from", "step-2", "--out", str(tmp_path / "fork"))
    assert code == 2 and "seed (0 in run.json, 12345 in the checkpoint)" in err
    assert not (tmp_path / "fork").exists()
    code, err = cli("train", "--resume", str(finished), "--from", "step-2", "--steps", "8")
    assert code == 2 and "seed" in err


def test_settings_a_resume_may_change_do_not_block_a_fork(finished, tmp_path):
    info = RunDir(finished).read_info()
    info["train_config"].update(steps=99, lr=0.5)  # a longer resume, and a rate changed while training
    info["model_config"]["lr_g"] = 0.5
    RunDir(finished).write_info(info)
    fork = fork_run(finished, "step-4", tmp_path / "fork")
    assert main(["train", "--resume", str(fork), "--steps", "5", "--quiet"]) == 0


# 7. read-only folders and full disks are one line ----------------------------------------------------------------
def test_a_full_disk_while_saving_a_checkpoint_is_one_line_and_last_pt_stays(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main(["train", "gan", "--data", "ring8", *TINY_CLI, "--steps", "4", "--checkpoint-every", "2",
                 "--out", str(out), "--quiet"]) == 0  # fmt: skip
    good = (out / "checkpoints" / "last.pt").read_bytes()

    def full_disk(obj, fh):
        fh.write(b"PK\x03\x04 half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt.torch, "save", full_disk)
    code = main(["train", "--resume", str(out), "--steps", "8", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err[-1].startswith("gan-studio: error: ") and "disk is full" in err[-1]
    assert "checkpoints/last.pt (step 4) is intact" in err[-1]
    assert (out / "checkpoints" / "last.pt").read_bytes() == good
    assert not [p for p in (out / "checkpoints").iterdir() if ".tmp-" in p.name]


def test_a_start_on_a_full_disk_leaves_no_folder_behind_and_the_retry_works(tmp_path, monkeypatch, cli):
    """--out new/run on a full disk: the folders it made go again (as the message says); a user's empty folder stays,
    and the bare skeleton a killed start leaves (empty sub-folders, a .lock nobody holds) takes a new run."""
    real_pwrite = os.pwrite
    monkeypatch.setattr(os, "pwrite", lambda *args: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
    start = ["train", "gan", "--data", "ring8", *TINY_CLI, "--steps", "2", "--quiet", "--out"]
    assert_one_line(*cli(*start, str(tmp_path / "new" / "run")), "disk is full", "nothing in it changed", expected=1)
    assert not (tmp_path / "new").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    assert_one_line(*cli(*start, str(mine)), "disk is full", expected=1)
    assert mine.is_dir()
    monkeypatch.setattr(os, "pwrite", real_pwrite)  # space freed: the retry into the same folder trains
    assert cli(*start, str(mine))[0] == 0 and RunDir(mine).read_info()["status"] == "finished"
    held = tmp_path / "held"
    (held / "checkpoints").mkdir(parents=True)
    with RunLock(held):  # a start that is building its run there now: not a bare skeleton
        assert_one_line(*cli(*start, str(held)), "not an empty folder")


def test_a_read_only_run_folder_is_one_line(finished, monkeypatch, capsys):
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if str(path).startswith(str(finished)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    for argv in (["train", "--resume", str(finished), "--steps", "9"], ["eval", str(finished), "--n", "50"],
                 ["export", str(finished)]):  # fmt: skip
        code = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and "read-only" in err[0], (argv, err)


# 8. signals and exit codes --------------------------------------------------------------------------------------------
def _training_process(out: Path, **popen) -> subprocess.Popen:
    """`gan-studio train` of a long tiny run into `out`, once it logged a few steps."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "gan_studio.cli", "train", "gan", "--data", "ring8", *TINY_CLI, "--steps",
            "1000000", "--log-every", "1", "--out", str(out), "--quiet"]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True, **popen)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(RunDir(out).read_metrics()) < 5:
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_stops_saves_and_exits_with_its_own_code(tmp_path, signum, code):
    """SIGHUP: the terminal of a headless training closed (a dropped ssh session)."""
    out = tmp_path / "run"
    proc = _training_process(out, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))  # the suite
    proc.send_signal(signum)  # itself may run under nohup, which its children would inherit
    assert proc.wait(timeout=60) == code, proc.stderr.read()
    info = RunDir(out).read_info()
    assert info["status"] == "stopped"
    assert ckpt.load_checkpoint(out / "checkpoints" / "last.pt")["step"] == info["step"]
    assert main(["train", "--resume", str(out), "--steps", str(info["step"] + 2), "--quiet"]) == 0


class SignalAtStep(TrainerCallback):
    """Sends `signum` to this process `times` times right after step `step` (a scheduler's SIGTERM, at a known
    moment; under torchrun, the scheduler's and torchrun's)."""

    def __init__(self, step: int, signum: int, times: int = 1):
        self.step, self.signum, self.times = step, signum, times

    def on_step(self, trainer):
        for _ in range(self.times if trainer.step == self.step else 0):
            os.kill(os.getpid(), self.signum)
        return ()


def test_the_stop_of_a_signal_is_said_once_without_a_blank_line_in_a_log(tmp_path, monkeypatch, capsys):
    """Off a terminal there is no progress line to end: the stop's line is a line of its own (review s17C)."""
    monkeypatch.setattr(train_command, "default_callbacks", lambda: [SignalAtStep(3, signal.SIGTERM, times=2)])
    out = tmp_path / "run"
    assert main(["train", "gan", "--data", "ring8", *TINY_CLI, "--steps", "100", "--log-every", "1",
                 "--out", str(out)]) == 143  # fmt: skip
    lines = capsys.readouterr().err.splitlines()
    assert lines[-2:] == ["SIGTERM: stopping after this step...", f"stopped at step 3: {out}"]
    assert "" not in lines and lines.count(lines[-2]) == 1, lines


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_once_the_run_finished_leaves_it_finished_with_exit_0(tmp_path, monkeypatch, capsys, signum):
    """A scheduler's SIGTERM that lands as the finished run leaves (review s17C: exit 143 and "train stopped by
    SIGTERM" after "finished at step 6"; a requeue-on-143 script ran it again)."""
    leave = train_command.shutdown

    def shutdown_signalled(context):
        os.kill(os.getpid(), signum)
        leave(context)

    monkeypatch.setattr(train_command, "shutdown", shutdown_signalled)
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}  # (SIGINT is ignored under CI's `&`)
    out = tmp_path / "run"
    assert main(["train", "gan", "--data", "ring8", *TINY_CLI, "--steps", "6", "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == f"finished at step 6: {out}"
    assert RunDir(out).read_info()["status"] == "finished"
    assert {s: signal.getsignal(s) for s in before} == before  # the handlers from before are back


def test_a_training_whose_output_reader_went_away_stops_with_a_checkpoint(tmp_path):
    """`gan-studio train ... 2>&1 | head -n 1`: the broken pipe must not end the run unsaved, yet "stopped"."""
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "gan_studio.cli", "train", "gan", "--data", "ring8", *TINY_CLI, "--steps",
            "1000000", "--log-every", "1", "--checkpoint-every", "100000", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline().startswith("run: ")
    proc.stderr.close()  # the reader has all it wants
    assert proc.wait(timeout=90) == 141
    info = RunDir(out).read_info()
    assert info["status"] == "stopped" and ckpt.load_checkpoint(out / "checkpoints" / "last.pt")["step"] == info["step"]


def test_a_run_given_up_between_checkpoints_is_not_called_stopped(tmp_path):
    """Ctrl-C twice (or a caller that stops iterating) ends it unsaved: it reads as interrupted and resumes from
    its last checkpoint, instead of claiming "stopped" at a step no checkpoint holds."""
    trainer = make_trainer(tmp_path / "run", steps=1000, checkpoint_every=5)
    for _event in trainer:
        if trainer.step >= 8:
            break  # the caller stops iterating: the trainer's generator is closed at step 8, last saved at 5
    assert trainer.step == 8
    trainer.lock.release()
    info = RunDir(tmp_path / "run").read_info()
    assert info["status"] == "running"
    assert list_runs(tmp_path)[0]["status"] == "interrupted"
    resumed = Trainer.from_checkpoint(tmp_path / "run", {"steps": 9})
    assert resumed.step == 5


def test_a_run_folder_moved_away_while_it_trains_is_not_made_again(tmp_path):
    """Writing on would make a new folder at the old path (checkpoints, grids, no run.json) and split the run."""
    out = tmp_path / "run"
    trainer = make_trainer(out, steps=1000, checkpoint_every=5, sample_every=5)
    with pytest.raises(RunError, match="the run folder was moved or deleted while it trained"):
        for event in trainer:
            if isinstance(event, Checkpoint) and event.step == 5:
                out.rename(tmp_path / "moved")
    assert not out.exists() and RunDir(tmp_path / "moved").read_info()["step"] <= 5


def test_a_training_started_under_nohup_goes_on_after_a_hangup(tmp_path):
    out = tmp_path / "run"
    proc = _training_process(out, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))  # as nohup
    proc.send_signal(signal.SIGHUP)
    logged = len(RunDir(out).read_metrics())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(RunDir(out).read_metrics()) < logged + 20:
        time.sleep(0.05)
    assert proc.poll() is None and len(RunDir(out).read_metrics()) >= logged + 20
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143


@pytest.mark.parametrize("command", ["eval", "sample", "export", "fork", "runs", "data"])
def test_sigterm_during_any_other_command_exits_143_with_one_line(command, monkeypatch, capsys):
    module = importlib.import_module(f"gan_studio.commands.{command}")

    def terminated_midway(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the handler interrupts this at once
        return 0

    monkeypatch.setattr(module, "run", terminated_midway)
    argv = {"runs": ["runs"], "data": ["data", "info"]}.get(command, [command, "some-run"])
    stopped = "data info" if command == "data" else command  # a command with actions names the action
    started = time.monotonic()
    assert main(argv) == 143
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gan-studio: {stopped} stopped by SIGTERM"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # pytest's own handling restored

    def interrupted_midway(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "run", interrupted_midway)
    assert main(argv) == 130  # Ctrl-C: the same line ('interrupted' said less, review s14W)
    assert capsys.readouterr().err.strip().splitlines() == [f"gan-studio: {stopped} stopped by Ctrl-C"]


# found by the second outside probe ------------------------------------------------------------------------------------
def test_export_and_eval_create_nothing_through_a_symlinked_output_folder(finished, tmp_path, cli):
    outside = tmp_path / "outside"
    outside.mkdir()
    for entry, argv in (("exports", ["export", str(finished)]), ("eval", ["eval", str(finished), "--n", "50"])):
        shutil.rmtree(finished / entry, ignore_errors=True)
        (finished / entry).symlink_to(outside, target_is_directory=True)
        before = os.stat(outside).st_mtime_ns  # a write check that made and removed a file there would change it
        code, stderr = cli(*argv)
        assert_one_line(code, stderr, entry, "symbolic link")
        assert os.stat(outside).st_mtime_ns == before and not list(outside.iterdir())
        (finished / entry).unlink()


@pytest.mark.parametrize("name", ["report.json", "nearest.png"])
def test_eval_refuses_a_symlinked_report_file_before_it_evaluates(finished, tmp_path, cli, monkeypatch, name):
    """It was refused only after every stage had run, minutes later."""
    from gan_studio.evaluate import report as report_mod

    (finished / "eval").mkdir(exist_ok=True)
    (finished / "eval" / name).unlink(missing_ok=True)
    (finished / "eval" / name).symlink_to(tmp_path / "elsewhere")
    monkeypatch.setattr(report_mod, "reference_for_run", lambda *a, **k: pytest.fail("evaluation started"))
    code, stderr = cli("eval", str(finished), "--n", "50")
    assert_one_line(code, stderr, f"eval/{name} is a symlink: nothing is written through it")
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("entry", [".lock", "events.jsonl", "metrics.jsonl"])
def test_a_hard_linked_log_or_lock_is_refused_and_the_other_copy_untouched(finished, tmp_path, entry, cli):
    other = tmp_path / "someone-elses-file.txt"
    other.write_text("precious\n")
    (finished / entry).unlink(missing_ok=True)
    os.link(other, finished / entry)
    code, stderr = cli("train", "--resume", str(finished), "--steps", "9")
    assert_one_line(code, stderr, entry, "hard links")
    assert other.read_text() == "precious\n"  # the lock was not truncated, nothing was appended


def test_a_hard_linked_backup_of_a_run_stays_readable(finished, tmp_path, cli):
    """`cp -al RUN BACKUP` links every file: listing, sampling and evaluating either copy are reads and
    work; only training it (which appends to the logs) is refused."""
    backup = tmp_path / "backup"
    shutil.copytree(finished, backup, copy_function=os.link)
    assert os.stat(finished / "metrics.jsonl").st_nlink == 2
    for argv in (["runs", str(tmp_path)], ["sample", str(finished), "--n", "4", "--out", str(tmp_path / "s.png")]):
        code, stderr = cli(*argv)
        assert code == 0, stderr
    code, stderr = cli("train", "--resume", str(finished), "--steps", "9")
    assert_one_line(code, stderr, "metrics.jsonl", "hard links")


def test_fork_out_that_is_taken_or_unwritable_is_one_line(finished, tmp_path, cli):
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    for out in (a_file, dangling):
        code, stderr = cli("fork", str(finished), "--out", str(out))
        assert_one_line(code, stderr, "choose a")
    assert a_file.read_text() == "mine" and not (tmp_path / "nowhere").exists()
    code, stderr = cli("fork", str(finished), "--out", str(a_file / "fork"))
    assert_one_line(code, stderr, "cannot create the fork's folder")


def test_a_fifo_as_a_kept_checkpoint_is_named_not_called_missing(finished, tmp_path, cli):
    kept = finished / "checkpoints" / "step-0000004.pt"
    kept.unlink()
    os.mkfifo(kept)
    code, stderr = cli("fork", str(finished), "--from", "step-4", "--out", str(tmp_path / "fork"))
    assert_one_line(code, stderr, "step-0000004.pt", "FIFO")
    assert not (tmp_path / "fork").exists()


def test_a_checkpoint_holding_nan_is_refused_by_every_command(finished, tmp_path, cli):
    state = ckpt.load_checkpoint(finished / "checkpoints" / "last.pt")
    name = next(iter(state["model"]))
    state["model"][name].view(-1)[0] = float("nan")
    torch.save(state, finished / "checkpoints" / "last.pt")  # planted: GAN Studio never saves one
    for argv in (["train", "--resume", str(finished), "--steps", "9"], ["sample", str(finished), "--out",
                 str(tmp_path / "g.png")], ["export", str(finished)], ["fork", str(finished), "--out",
                 str(tmp_path / "fork")]):  # fmt: skip
        code, stderr = cli(*argv)
        assert_one_line(code, stderr, "last.pt", name, "NaN or infinite")
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "fork").exists()


def test_fork_and_sample_refuse_a_checkpoint_of_another_model_or_data(finished, tmp_path, cli):
    other = train_tiny_run(tmp_path / "other", steps=2, checkpoint_every=2, data="grid25").run.path
    shutil.copy(other / "checkpoints" / "last.pt", finished / "checkpoints" / "step-0000004.pt")
    code, stderr = cli("fork", str(finished), "--from", "step-4", "--out", str(tmp_path / "fork"))
    assert_one_line(code, stderr, "does not belong to this run", "'grid25' in the checkpoint")
    shutil.copy(other / "checkpoints" / "last.pt", finished / "checkpoints" / "last.pt")
    code, stderr = cli("sample", str(finished), "--out", str(tmp_path / "g.png"))
    assert_one_line(code, stderr, "does not belong to this run", "num_classes")


def test_from_names_a_kept_checkpoint_never_a_path(finished, tmp_path, cli):
    elsewhere = tmp_path / "elsewhere.pt"
    shutil.copy(finished / "checkpoints" / "last.pt", elsewhere)
    for argv in (["train", "--resume", str(finished), "--from", str(elsewhere), "--steps", "9"],
                 ["fork", str(finished), "--from", "../../x.pt", "--out", str(tmp_path / "fork")]):  # fmt: skip
        code, stderr = cli(*argv)
        assert_one_line(code, stderr, "--from must be 'last' or step-N")


def test_a_disk_that_fills_inside_torch_save_is_one_line_and_last_pt_stays(finished, monkeypatch, capsys):
    """The real torch.save turns the OSError of a failed write into its own RuntimeError."""
    good = (finished / "checkpoints" / "last.pt").read_bytes()
    real_save = torch.save

    class FillingFile:  # the disk fills after 1,000 bytes of the checkpoint
        def __init__(self, fh):
            self.fh, self.left = fh, 1000

        def write(self, data):
            self.left -= len(data)
            if self.left < 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(data)

        def flush(self):
            self.fh.flush()

    monkeypatch.setattr(ckpt.torch, "save", lambda obj, fh: real_save(obj, FillingFile(fh)))
    code = main(["train", "--resume", str(finished), "--steps", "8", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and "disk is full" in err[-1] and "checkpoints/last.pt (step 6) is intact" in err[-1], err
    assert (finished / "checkpoints" / "last.pt").read_bytes() == good


def test_a_checkpoint_asking_for_a_huge_model_allocates_nothing(finished):
    state = ckpt.load_checkpoint(finished / "checkpoints" / "last.pt")
    state["data_info"] = {**state["data_info"], "shape": [16_000_000]}
    state["model_config"] = {**state["model_config"], "g_hidden": 4096, "d_hidden": 4096}  # 16M x 4096 weights: 500 GB
    with pytest.raises(CheckpointError, match="does not match the model config"):
        model_from_checkpoint(state, finished / "checkpoints" / "last.pt")


# what a failing write says ---------------------------------------------------------------------------
def _full_disk_for(monkeypatch, names: set[str]):
    """save_checkpoint raises DiskFullError for files of these names (the disk fills there)."""
    from gan_studio.files import DiskFullError

    real = ckpt.save_checkpoint

    def save(state, path):
        if Path(path).name in names:
            raise DiskFullError(f"the disk is full: {Path(path).name} was not written", path)
        return real(state, path)

    monkeypatch.setattr(ckpt, "save_checkpoint", save)


@pytest.mark.parametrize(
    "full, expected",
    [
        ({"last.pt", "step-0000003.pt"}, "the checkpoint of step 3 was not saved, and the run has no earlier one"),
        ({"step-0000003.pt"}, "checkpoints/last.pt holds step 3, but its kept copy step-0000003.pt was not saved"),
    ],
)
def test_a_full_disk_names_the_checkpoint_that_is_really_on_disk(tmp_path, monkeypatch, full, expected):
    _full_disk_for(monkeypatch, full)
    trainer = make_trainer(tmp_path / "run", "gan", steps=6, checkpoint_every=3)
    with pytest.raises(RunError) as info:
        list(trainer)
    assert expected in str(info.value)
    assert trainer.run.last_checkpoint.exists() == ("last.pt" not in full)


def test_a_read_only_samples_folder_and_a_cpu_out_of_memory_are_one_line_each(tmp_path, monkeypatch):
    import gan_studio.engine.trainer as trainer_module

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "samples/.step-0000004.png.tmp-1")

    trainer = make_trainer(tmp_path / "ro", "gan", steps=6, sample_every=4)
    short_of_memory = make_trainer(tmp_path / "oom", "gan", steps=6)
    monkeypatch.setattr(trainer_module, "save_png", refuse)  # samples/ turned read-only while training
    with pytest.raises(RunError, match="cannot write to the run folder at step 4: Permission denied") as info:
        list(trainer)
    assert "step-0000004.png" in str(info.value)
    assert trainer.run.read_info()["status"] == "failed"

    def no_memory(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(short_of_memory.recipe, "step", no_memory)
    with pytest.raises(RunError, match="out of memory at step 0: try a smaller --batch-size"):
        list(short_of_memory)


def test_rewinding_metrics_streams_the_file_and_keeps_every_earlier_record(tmp_path, monkeypatch):
    """A resume drops records after its checkpoint a line at a time: nothing before it is lost however
    large the file (it used to read at most 1 GB, then rewrite the file from what it had read)."""
    import gan_studio.store.rundir as rundir_module

    run = RunDir(tmp_path / "run")
    run.create()
    lines = [f'{{"step": {s}, "d_loss": {s / 10}}}\n' for s in range(1, 201)]
    lines.insert(50, "x" * (2 << 20) + "\n")  # a 2 MB garbage line
    run.metrics_file.write_text("".join(lines) + '{"step": 201, "d_lo', encoding="utf-8")  # half-written
    monkeypatch.setattr(rundir_module, "read_jsonl", lambda *a, **k: pytest.fail("read the whole file"))
    run.truncate_metrics_after(150)
    monkeypatch.undo()
    assert [r["step"] for r in run.read_metrics()] == list(range(1, 151))
    assert run.metrics_file.stat().st_size < 10_000


def test_a_dead_torchrun_peer_is_one_line_naming_the_checkpoint_to_resume_from(tmp_path):
    trainer = train_tiny_run(tmp_path / "run", "gan", steps=4)
    from gan_studio.engine.failures import readable_failure

    def readable(exc):
        return readable_failure(exc, trainer.step, trainer._checkpoint_step, True, trainer.run.path)

    error = readable(RuntimeError("[/src/gloo/transport/tcp/pair.cc:553] Connection closed by peer "
                                  "[127.0.0.1]:11160. This is typically caused by a remote worker"))  # fmt: skip
    assert error is not None
    text = str(error)
    assert "another process of the torchrun job stopped at step 4 (Connection closed by peer [127.0.0.1]:11160)" in text
    assert "checkpoints/last.pt (step 4) is intact" in text and "--resume" in text
    assert readable(RuntimeError("some bug")) is None  # a bug stays a traceback


def test_a_run_whose_trainer_let_go_without_recording_its_end_is_not_listed_as_running(tmp_path):
    """Its folder turned read-only: the trainer stopped and released the run, but could not write its
    status. `gan-studio runs` and the app show it interrupted (resumable), not running forever."""
    from gan_studio.store.rundir import summarise_run

    trainer = train_tiny_run(tmp_path / "run", "gan", steps=3)
    run = trainer.run
    run.set_status("running")  # what run.json still says
    assert (run.path / ".lock").stat().st_size == 0  # released
    assert summarise_run(run.path)["status"] == "interrupted"
    with RunLock(run.path, "another trainer"):  # someone trains it now: running it is
        assert summarise_run(run.path)["status"] == "running"


def test_listing_a_workspace_again_reads_only_the_runs_that_changed(tmp_path, monkeypatch):
    """The app lists its workspace every 3 s; with 400 runs each listing read every run (0.2 s, 1.1 s for 2,000)
    on the UI thread. With the cache, an unchanged run is not read again, a changed one is, a deleted one goes."""
    import gan_studio.store.rundir as rundir

    first = train_tiny_run(tmp_path / "ws" / "a", "gan", data="ring8", steps=2).run.path
    for name in ("b", "c"):
        shutil.copytree(first, tmp_path / "ws" / name)
    read = []
    real = rundir.summarise_run
    monkeypatch.setattr(rundir, "summarise_run", lambda path: read.append(Path(path).name) or real(path))
    cache: dict = {}
    listed = rundir.list_runs(tmp_path / "ws", cache)
    assert sorted(read) == ["a", "b", "c"] and len(listed) == 3
    read.clear()
    assert rundir.list_runs(tmp_path / "ws", cache) == listed and read == []  # nothing changed: nothing read
    with open(tmp_path / "ws" / "b" / "metrics.jsonl", "a") as f:
        f.write('{"step": 99, "d_loss": 0.5}\n')
    shutil.rmtree(tmp_path / "ws" / "c")
    again = {run["name"]: run for run in rundir.list_runs(tmp_path / "ws", cache)}
    assert read == ["b"] and set(again) == {"a", "b"} and set(cache) == {str(tmp_path / "ws" / n) for n in "ab"}
    assert again["b"]["last"]["d_loss"] == 0.5 and again["b"]["step"] == 99
    (tmp_path / "ws" / "a" / "checkpoints" / "last.pt").unlink()  # no file of the listing changed but this one
    assert (
        "last.pt is missing" in {run["name"]: run for run in rundir.list_runs(tmp_path / "ws", cache)}["a"]["problem"]
    )


def test_a_run_path_that_is_a_loop_of_symlinks_is_one_line_not_a_traceback(tmp_path, capsys):
    """`gan-studio app LOOP` printed an OSError traceback with a silent window; `train --resume LOOP` the same."""
    (tmp_path / "one").symlink_to(tmp_path / "two")
    (tmp_path / "two").symlink_to(tmp_path / "one")
    with pytest.raises(RunError, match="a loop of symbolic links, not a run folder"):
        RunState.load(tmp_path / "one")
    assert main(["train", "--resume", str(tmp_path / "one")]) == 2
    err = capsys.readouterr().err
    assert "a loop of symbolic links" in err and "Traceback" not in err


def test_a_disk_that_fills_while_logging_names_where_a_resume_goes_on_from(finished, tmp_path, monkeypatch, cli):
    """The commonest full disk, in metrics.jsonl (written far more often than checkpoints), said only 'a record could
    not be written', where a full disk at a checkpoint names the intact one (review s15X #3)."""
    import gan_studio.store.rundir as rundir_module
    from gan_studio.files import DiskFullError

    real_append = rundir_module.append_line

    def filling(path, line):
        if Path(path).name == "metrics.jsonl" and '"step":9' in line.replace(" ", ""):
            raise DiskFullError("the disk is full: a record could not be written", path)
        real_append(path, line)

    monkeypatch.setattr(rundir_module, "append_line", filling)
    code, err = cli("train", "--resume", str(finished), "--steps", "12", "--log-every", "1", "--quiet")
    last = err.strip().splitlines()[-1]
    assert (
        code == 1 and "a record could not be written; checkpoints/last.pt (step 8) is intact: free some space" in last
    )
    code, err = cli("train", "gan", "--data", "ring8", "--steps", "12", "--log-every", "1", "--g-hidden", "8",
                    "--d-hidden", "8", "--checkpoint-every", "0", "--out", str(tmp_path / "new"), "--quiet")  # fmt: skip
    assert (
        code == 1 and "no checkpoint was saved yet: a resume starts again from step 0" in err.strip().splitlines()[-1]
    )


def test_a_failed_fork_into_a_folder_the_user_made_leaves_that_folder_empty(finished, tmp_path, monkeypatch):
    """A fork that fails (a full disk) removed the whole --out folder, also one the user had made (s15 review)."""
    import gan_studio.store.fork as fork_module
    from gan_studio.files import DiskFullError

    def full(state, path):
        raise DiskFullError("the disk is full", path)

    monkeypatch.setattr(fork_module, "save_checkpoint", full)
    mine = tmp_path / "mine"
    mine.mkdir()
    for out in (mine, tmp_path / "made" / "fork"):
        with pytest.raises(DiskFullError):
            fork_run(finished, "last", out)
    assert mine.is_dir() and list(mine.iterdir()) == []  # the user's folder stays, emptied of the half-made fork
    assert not (tmp_path / "made" / "fork").exists()  # one the fork made is gone


def test_a_run_of_an_archive_is_named_by_the_archive_without_its_extension(tmp_path):
    """`train --data photos.zip` made `dcgan-photos.zip-…` while the Runs table said `photos`, and an .npz's run
    was named without it: runs are model-data-time with the dataset's own short name."""
    from gan_studio.store.rundir import new_run_folder

    for data, name in (("/x/photos.zip", "photos"), ("pts.NPZ", "pts"), ("/x/my photos/", "my photos"),
                       ("ring8", "ring8")):  # fmt: skip
        assert new_run_folder("dcgan", data, tmp_path).name.startswith(f"dcgan-{name}-20"), data


def test_a_workspace_that_cannot_be_made_says_how_to_put_the_runs_elsewhere(tmp_path, monkeypatch):
    """A read-only home on a cluster: the first run's error named the folder but not the way out."""
    import errno

    from gan_studio.errors import RunError
    from gan_studio.store.rundir import make_new_run_folder

    workspace = tmp_path / "home" / "runs"
    mkdir = Path.mkdir

    def read_only(path, *args, **kwargs):
        if path == workspace:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return mkdir(path, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(RunError, match="Read-only file system .--workspace DIR or GAN_STUDIO_HOME=DIR puts the runs"):
        make_new_run_folder("gan", "ring8", workspace)

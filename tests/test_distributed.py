"""`gan-studio train` under torchrun: 2 CPU processes with gloo, one run directory, identical weights."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from gan_studio.engine.distributed import parameter_digest
from gan_studio.store.loaded import load_run
from gan_studio.store.rundir import RunDir

pytest.importorskip("torch.distributed.run")
if not __import__("torch").distributed.is_available():  # pragma: no cover
    pytest.skip("this torch build has no torch.distributed", allow_module_level=True)


def torchrun(tmp_path, *train_args, steps=12, name="run", resume=False, check=True):
    """`gan-studio train` on 2 CPU processes into tmp_path/name (or `--resume` it, to `steps`)."""
    out = tmp_path / name
    where = ["--resume", str(out)] if resume else [*train_args, "--out", str(out)]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "gan_studio.cli", "train", *where, "--steps", str(steps), "--log-every", "4",
           "--checkpoint-every", "8", "--sample-every", "0", "--device", "cpu", "--quiet"]  # fmt: skip
    temporary = tmp_path / "tmp"  # torchrun leaves a torchelastic_* log folder in the temporary folder per job
    temporary.mkdir(exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "TMPDIR": str(temporary)}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0 or not check, result.stderr[-3000:]
    return RunDir(out), result


def check_one_run_with_identical_ranks(run: RunDir, steps: int, batch: int):
    info = run.read_info()
    assert info["world_size"] == 2 and info["status"] == "finished" and info["step"] == steps
    digests = info["rank_digests"]
    assert len(digests) == 2 and digests[0] == digests[1] and info["ranks_in_sync"] is True
    # the digest is of the weights rank 0 saved
    assert parameter_digest(load_run(run.path).model) == digests[0]
    # rank 0 alone wrote: one start, one finish, each metrics step once
    events = [e["type"] for e in run.read_events()]
    assert events.count("start") == 1 and events.count("finish") == 1
    records = run.read_metrics()
    assert [r["step"] for r in records] == list(range(4, steps + 1, 4))
    names = {p.name for p in run.checkpoints_dir.iterdir()}
    assert names == {"last.pt", "step-0000008.pt", f"step-{steps:07d}.pt"}
    assert info["dataset"]["size"] >= 2 * batch


def test_mlp_gan_with_batchnorm_on_two_processes(tmp_path):
    """With a moving average of G too: each rank made its own from its own initial G, so the ranks ended
    with different averages and run.json said ranks_in_sync false for every recipe with EMA (review s12P)."""
    run, result = torchrun(tmp_path, "gan", "--data", "ring8", "--g-hidden", "16", "--d-hidden", "16",
                           "--batch-size", "32", "--ema-decay", "0.99")  # fmt: skip
    check_one_run_with_identical_ranks(run, 12, 32)
    assert result.stderr.count("finished at step 12") == 1  # only rank 0 reports


def test_a_refused_out_folder_or_missing_data_stops_every_process_at_once(tmp_path):
    """Every process checks --out: the others must not wait for the refused writer until torchrun kills them."""
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    started = time.monotonic()
    _, result = torchrun(tmp_path, "gan", "--data", "ring8", name="taken", check=False)
    assert result.returncode != 0 and "already exists and is not an empty folder" in result.stderr
    assert "forcefully exiting" not in result.stderr and time.monotonic() - started < 25

    # data the first process cannot load: its one line, and the other's pointer to it, no gloo traceback
    _, result = torchrun(tmp_path, "gan", "--data", str(tmp_path / "missing"), name="new", check=False)
    assert result.returncode != 0 and "no such dataset" in result.stderr
    assert "[rank1]" not in result.stderr and "GLHF" not in result.stderr, result.stderr[-3000:]  # (torchrun's
    # own agent still prints its ChildFailedError banner)


def test_a_resume_refused_by_the_run_lock_stops_every_process_at_once(tmp_path):
    """Only the first process takes the lock, before the job joins: the other must not sit in the join (deaf to
    torchrun's SIGTERM) until torchrun kills it 30 s later."""
    from tiny_runs import trained_run_path

    from gan_studio.store.lock import RunLock

    trained_run_path(tmp_path / "run", "gan", "ring8", steps=4)
    lock = RunLock(tmp_path / "run", "another training").acquire()
    try:
        started = time.monotonic()
        _, result = torchrun(tmp_path, steps=20, resume=True, check=False)
        elapsed = time.monotonic() - started
    finally:
        lock.release()
    assert result.returncode != 0 and "another training" in result.stderr, result.stderr[-3000:]
    assert "forcefully exiting" not in result.stderr and elapsed < 25, (elapsed, result.stderr[-3000:])


def test_conditional_dcgan_on_two_processes(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "images.npz"
    np.savez(data, x=rng.integers(0, 256, size=(64, 32, 32), dtype=np.uint8), y=np.arange(64) % 4)
    run, _ = torchrun(tmp_path, "cdcgan", "--data", str(data), "--ngf", "4", "--ndf", "4", "--latent-dim", "8",
                      "--batch-size", "8")  # fmt: skip
    check_one_run_with_identical_ranks(run, 12, 8)


def test_a_resumed_torchrun_job_ends_exactly_where_an_uninterrupted_one_does(tmp_path):
    """Each process keeps its own random stream in the checkpoint: after a resume the two processes
    do not both continue rank 0's (duplicated noise), and the job is bit-identical to one that never stopped."""
    args = ("gan", "--data", "ring8", "--g-hidden", "16", "--d-hidden", "16", "--batch-size", "16")
    straight, _ = torchrun(tmp_path, *args, steps=16, name="straight")
    torchrun(tmp_path, *args, steps=8, name="resumed")
    resumed, _ = torchrun(tmp_path, steps=16, name="resumed", resume=True)
    assert [r for r in resumed.read_metrics() if r["step"] > 8] == [
        {**r, "time": r2["time"], "samples_per_s": r2["samples_per_s"]}
        for r, r2 in zip(
            [r for r in straight.read_metrics() if r["step"] > 8],
            [r for r in resumed.read_metrics() if r["step"] > 8],
            strict=True,
        )
    ]
    assert resumed.read_info()["rank_digests"] == straight.read_info()["rank_digests"]

    # continued by one process: it says that the global batch halves, and the epoch goes on, not back
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    alone = subprocess.run([sys.executable, "-m", "gan_studio.cli", "train", "--resume", str(resumed.path), "--steps",
                            "24", "--quiet"], capture_output=True, text=True, env=env, timeout=240)  # fmt: skip
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert "global batch of 32 (2 processes x 16); it continues with 16 (1 process x 16)" in alone.stderr
    epochs = [r["epoch"] for r in resumed.read_metrics()]
    assert epochs == sorted(epochs) and resumed.read_info()["world_size"] == 1

"""`gan-studio train`, `runs` and `sample`: flags, --config, progress, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_checks import one_line_error
from PIL import Image

from gan_studio.cli import build_parser, main
from gan_studio.config import field_specs
from gan_studio.engine.settings import TrainConfig
from gan_studio.models import MODELS
from gan_studio.store.rundir import RunDir

torch.set_num_threads(1)  # tiny ops on a shared 2-core machine: threads only contend

TINY_GAN = ["--g-hidden", "8", "--d-hidden", "8", "--latent-dim", "3", "--batch-size", "16", "--sample-every", "0"]


def train(tmp_path, *argv, name="run", model="gan", data="ring8"):
    """Run `gan-studio train` in-process; returns (exit code, run dir)."""
    out = tmp_path / name
    head = [model] if model else []
    head += ["--data", data] if data else []
    code = main(["train", *head, *argv, "--out", str(out)])
    return code, out


def test_every_config_field_is_a_flag():
    parser = build_parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == "train")[1]
    flags = {opt for action in train._actions for opt in action.option_strings}
    expected = {spec.flag for spec in field_specs(TrainConfig)}
    for spec in MODELS.values():
        expected |= {f.flag for f in field_specs(spec.config_cls)}
    assert expected <= flags
    for flag in ("--steps", "--epochs", "--batch-size", "--lr-g", "--lr-d", "--d-steps", "--beta", "--latent-dim",
                 "--image-size", "--seed", "--device", "--out", "--log-every", "--sample-every",
                 "--checkpoint-every", "--resume", "--config"):  # fmt: skip
        assert flag in flags


def test_flags_reach_the_run_and_progress_is_shown(tmp_path, capsys):
    code, out = train(tmp_path, *TINY_GAN, "--steps", "4", "--lr-g", "1e-3", "--lr-d", "3e-4", "--d-steps", "2",
                      "--g-loss", "saturating", "--batchnorm", "false", "--seed", "7", "--log-every", "2",
                      "--checkpoint-every", "2", "--keep-checkpoints", "1", "--device", "cpu")  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "step 4/4" in err and "samples/s" in err and "ETA" in err and "D loss" in err
    info = json.loads((out / "run.json").read_text())
    m, t = info["model_config"], info["train_config"]
    assert (m["lr_g"], m["lr_d"], m["d_steps"], m["g_loss"], m["batchnorm"], m["g_hidden"]) == (
        1e-3, 3e-4, 2, "saturating", False, 8)  # fmt: skip
    assert (t["steps"], t["seed"], t["log_every"], t["batch_size"], t["device"]) == (4, 7, 2, 16, "cpu")
    assert info["status"] == "finished" and info["world_size"] == 1
    assert [r["step"] for r in RunDir(out).read_metrics()] == [2, 4]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["last.pt", "step-0000004.pt"]


def test_steps_and_epochs_together_are_refused_and_steps_overrides_a_recipes_epochs(tmp_path, capsys):
    code = main(["train", "gan", "--data", "ring8", "--steps", "10", "--epochs", "2", "--out", str(tmp_path / "a")])
    assert "give --steps or --epochs, not both" in one_line_error(capsys, code) and not (tmp_path / "a").exists()
    recipe = tmp_path / "epochs.toml"
    recipe.write_text('model = "gan"\ndata = "ring8"\n[training]\nepochs = 5.0\nbatch_size = 16\n'
                      '[gan]\ng_hidden = 8\nd_hidden = 8\n')  # fmt: skip
    assert main(["train", "--config", str(recipe), "--steps", "3", "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert RunDir(tmp_path / "b").read_info()["step"] == 3


def test_epochs_set_the_length(tmp_path):
    data = tmp_path / "points.npz"
    np.savez(data, x=np.random.default_rng(0).normal(size=(64, 2)).astype("float32"))
    code, out = train(tmp_path, *TINY_GAN, "--epochs", "2.5", model="gan", data=str(data))
    assert code == 0
    assert RunDir(out).read_info()["step"] == 10  # 64 points / 16 per batch = 4 steps an epoch


def test_config_file_with_flags_overriding(tmp_path, capsys):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('model = "vae"\ndata = "moons"\n[training]\nsteps = 5\nbatch_size = 8\nseed = 3\n'
                      '[vae]\nhidden = 8\nlatent_dim = 2\nlr = 0.01\n')  # fmt: skip
    code, out = train(tmp_path, "--config", str(recipe), "--steps", "2", "--lr", "0.002", model=None, data=None)
    assert code == 0, capsys.readouterr().err
    info = RunDir(out).read_info()
    assert info["model"] == "vae" and info["dataset"]["name"] == "moons"
    assert info["train_config"]["steps"] == 2 and info["train_config"]["seed"] == 3  # flag wins, file fills in
    assert info["model_config"]["lr"] == 0.002 and info["model_config"]["hidden"] == 8


def test_resume_from_the_command_line(tmp_path, capsys):
    code, out = train(tmp_path, *TINY_GAN, "--steps", "3", "--log-every", "1")
    assert code == 0
    assert main(["train", "--resume", str(out), "--steps", "5", "--quiet"]) == 0
    assert [r["step"] for r in RunDir(out).read_metrics()] == [1, 2, 3, 4, 5]
    assert "finished at step 5" in capsys.readouterr().err
    # resumed again with nothing left to train: still exit 0 (a resume-until-done loop ends), with the way out said
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    said = capsys.readouterr()
    assert "trained all its 5 steps" in said.err and RunDir(out).read_info()["step"] == 5
    assert said.out == f"{out}\n"  # the run on stdout, as a training prints it: `RUN=$(… --resume …)` held "" (s14W)
    assert main(["train", "--resume", str(out), "--steps", "3", "--quiet"]) == 0  # read as "3 more"
    assert "--steps is the run's whole length" in capsys.readouterr().err and RunDir(out).read_info()["step"] == 5
    assert main(["train", "--resume", str(out), "--epochs", "0.0001", "--quiet"]) == 0  # a length in epochs, too
    assert "--epochs is the run's whole length" in capsys.readouterr().err  # (it blamed --steps, never given)
    # and none touched the run: no start and finish of nothing, its length still 5 (not 3 at step 5)
    assert [e["type"] for e in RunDir(out).read_events()].count("start") == 2
    assert RunDir(out).read_info()["steps_total"] == 5


def test_a_resumed_runs_log_says_from_which_step_and_checkpoint(tmp_path, capsys):
    """A log of `train --resume` said only `run: …`, then steps (review s17C)."""
    code, out = train(tmp_path, *TINY_GAN, "--steps", "4", "--checkpoint-every", "2", "--quiet")
    assert code == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--steps", "6", "--quiet"]) == 0
    assert capsys.readouterr().err.splitlines() == [f"run: {out}", "resumed from step 4 (checkpoints/last.pt)",
                                                    f"finished at step 6: {out}"]  # fmt: skip
    assert main(["train", "--resume", str(out), "--from", "step-2", "--steps", "5", "--quiet"]) == 0
    assert "resumed from step 2 (checkpoints/step-0000002.pt)" in capsys.readouterr().err.splitlines()


def test_a_log_opens_with_what_the_run_trains_on_and_with(tmp_path, capsys):
    """A cluster job's log said the run's folder, then steps: not the model's size, the data, the device or
    the batch, nor did `runs --json` give the process count (review s17C #9, #10). --quiet keeps to the run
    and its end."""
    code, out = train(tmp_path, *TINY_GAN, "--steps", "2", model="cgan")
    assert code == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"run: {out}"
    setup = lines[1]
    assert setup.startswith("setup: cgan, generator ") and " + discriminator " in setup
    from gan_studio.engine.setup_summary import parameter_count, short_count
    from gan_studio.store.loaded import load_run

    generator = load_run(out).model.generator
    assert f"generator {short_count(parameter_count(generator))} + " in setup
    assert "ring8: 100,000 points in 2D, 8 classes" in setup and "cpu fp32, 1 thread" in setup
    assert setup.endswith("; batch 16 (1 process); 2 steps")
    assert main(["train", "--resume", str(out), "--steps", "3", "--quiet"]) == 0
    assert not any(line.startswith("setup:") for line in capsys.readouterr().err.splitlines())
    assert main(["runs", str(tmp_path), "--json"]) == 0  # and scripts read the same from `runs --json`
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["world_size"], listed["device"], listed["precision"], listed["steps_total"]) == (1, "cpu", "fp32", 3)


def test_setup_line_parts():
    from gan_studio.engine.setup_summary import batch_line, short_count

    assert [short_count(n) for n in (512, 38_912, 999_999, 1_070_000)] == ["512", "38.9K", "1M", "1.07M"]
    assert batch_line(64, 1, 64) == "batch 64 (1 process)" and batch_line(16, 4, 64) == "batch 64 (4 processes x 16)"


def test_runs_lists_status_step_and_last_metrics(tmp_path, capsys):
    train(tmp_path, *TINY_GAN, "--steps", "3", name="a-run")
    train(tmp_path, "--hidden", "8", "--steps", "2", "--batch-size", "8", "--eval-every", "2", name="b-run", model="vae",
          data="moons")  # fmt: skip
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    capsys.readouterr()
    assert main(["runs", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["RUN", "MODEL", "DATA", "STATUS", "STEP"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["a-run"].split()[1:5] == ["gan", "ring8", "finished", "3"] and "D loss" in rows["a-run"]
    assert rows["b-run"].split()[1:5] == ["vae", "moons", "finished", "2"] and "recon" in rows["b-run"]
    assert "  FD " in rows["b-run"]  # the live quality metric (Frechet distance), as the Runs panel names it
    assert "broken" in rows["broken"] and "not valid JSON" in rows["broken"]


def test_runs_takes_its_folder_as_an_argument_or_as_workspace_like_the_other_commands(tmp_path, capsys):
    train(tmp_path, *TINY_GAN, "--steps", "2", name="a-run")
    capsys.readouterr()
    assert main(["runs", "--workspace", str(tmp_path)]) == 0
    assert "a-run" in capsys.readouterr().out
    code = main(["runs", str(tmp_path), "--workspace", str(tmp_path / "other")])
    assert "give the folder once" in one_line_error(capsys, code)


def test_runs_on_an_empty_folder(tmp_path, capsys):
    assert main(["runs", str(tmp_path)]) == 0
    assert "no runs" in capsys.readouterr().out


def test_runs_given_a_run_folder_lists_that_run(tmp_path, capsys):
    train(tmp_path, *TINY_GAN, "--steps", "2", name="a-run")
    train(tmp_path, *TINY_GAN, "--steps", "3", name="b-run")
    capsys.readouterr()
    assert main(["runs", str(tmp_path / "b-run")]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["b-run"]  # not "no runs in b-run"


def test_sample_writes_the_same_grid_for_the_same_seed(tmp_path, capsys):
    code, out = train(tmp_path, "--steps", "2", "--batch-size", "16", "--ngf", "4", "--ndf", "4", "--latent-dim",
                      "4", "--sample-every", "0", model="cdcgan", data=str(_tiny_image_npz(tmp_path)))  # fmt: skip
    assert code == 0
    grids = []
    for name, seed in (("a.png", 1), ("b.png", 1), ("c.png", 2)):
        assert (
            main(["sample", str(out), "--n", "6", "--seed", str(seed), "--label", "1", "--out", str(tmp_path / name)])
            == 0
        )
        grids.append((tmp_path / name).read_bytes())
    assert grids[0] == grids[1] != grids[2]
    assert Image.open(tmp_path / "a.png").size[0] > 32
    # the line names the run sampled (a name's prefix picks one) and its step (review s18H #9)
    assert main(["sample", "ru", "--workspace", str(tmp_path), "--n", "4", "--out", str(tmp_path / "d.png")]) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1]
        == f"wrote {tmp_path / 'd.png'} (4 samples, seed 0, run run at step 2, torch)"
    )


def test_sample_export_and_eval_take_a_kept_checkpoint_with_from(tmp_path, capsys):
    """The way out that a damaged or NaN last.pt names (--from step-N) exists in every command that reads one."""
    code, out = train(tmp_path, *TINY_GAN, "--steps", "8", "--checkpoint-every", "4", "--lr-g", "0.05")
    assert code == 0 and (out / "checkpoints" / "step-0000004.pt").is_file()
    assert main(["sample", str(out), "--from", "step-4", "--out", str(tmp_path / "early.png")]) == 0
    assert main(["sample", str(out), "--out", str(tmp_path / "last.png")]) == 0
    assert (tmp_path / "early.png").read_bytes() != (tmp_path / "last.png").read_bytes()
    assert "step 4" in capsys.readouterr().out
    assert main(["export", str(out), "--from", "step-4", "--reference-samples", "0"]) == 0
    assert (out / "exports" / "generator-step-0000004.onnx").is_file()
    assert main(["eval", str(out), "--from", "step-4", "--n", "200", "--quiet", "--no-save", "--json"]) == 0
    assert '"step": 4' in (printed := capsys.readouterr().out) and '"checkpoint": "step-4"' in printed  # named (s14W)
    last = out / "checkpoints" / "last.pt"
    damaged = bytearray(last.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # a flipped byte: the message's advice must work
    last.write_bytes(bytes(damaged))
    line = one_line_error(capsys, main(["sample", str(out), "--out", str(tmp_path / "x.png")]))
    assert "--from step-N" in line and "the run keeps step-4, step-8" in line and "good" not in line
    last.write_bytes(last.read_bytes()[:1000])  # truncated (a copy cut short): the same way out
    for argv in (["sample", str(out)], ["train", "--resume", str(out), "--steps", "9"], ["fork", str(out)]):
        line = one_line_error(capsys, main(argv))
        assert "corrupt or truncated" in line and "the run keeps step-4, step-8" in line, line
    assert main(["sample", str(out), "--from", "step-8", "--out", str(tmp_path / "x.png")]) == 0
    # kept checkpoints damaged too (a disk that filled during a copy): not offered as the way out (s11O O5)
    (out / "checkpoints" / "step-0000008.pt").write_bytes(b"")
    line = one_line_error(capsys, main(["sample", str(out), "--out", str(tmp_path / "x.png")]))
    assert "the run keeps step-4:" in line and "step-8" not in line
    (out / "checkpoints" / "step-0000004.pt").write_bytes(b"PK")
    line = one_line_error(capsys, main(["sample", str(out), "--out", str(tmp_path / "x.png")]))
    assert "other checkpoints (step-4, step-8) are damaged too" in line and "--from" not in line
    line = one_line_error(capsys, main(["sample", str(tmp_path / "early.png"), "--from", "step-4"]))
    assert "no such run directory" in line or "--from" in line


def test_resuming_from_an_earlier_checkpoint_removes_the_later_exports_and_evaluation(tmp_path, capsys):
    """After --from step-4 the old history's step-8 export and report showed other pictures under step 8."""
    code, out = train(tmp_path, *TINY_GAN, "--steps", "8", "--checkpoint-every", "4", "--lr-g", "0.05")
    assert code == 0
    for argv in (["export", str(out), "--reference-samples", "0"], ["export", str(out), "--from", "step-4"],
                 ["eval", str(out), "--n", "200", "--quiet"]):  # fmt: skip
        assert main(argv) == 0
    (out / "exports" / "mine.onnx").write_bytes((out / "exports" / "generator-step-0000008.onnx").read_bytes())
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--from", "step-4", "--steps", "6", "--lr-g", "0.01"]) == 0
    # and the resume's notes say so, not only of the metrics and events (review s18H #7)
    err = capsys.readouterr().err
    assert (
        "note: removed with the history after step 4: checkpoint step-8; 1 sample grid; 1 frame of the 2D view; "
        "1 export; 2 evaluation files"
    ) in err
    exports = sorted(p.name for p in (out / "exports").iterdir())
    assert exports == ["generator-step-0000004.onnx", "mine.onnx"]  # a name of the person's own stays
    assert not (out / "eval" / "report.json").exists()
    # and events.jsonl keeps no event of the history left (its finish at step 8; advice there was read as said)
    assert [e["step"] for e in RunDir(out).read_events() if e["type"] == "finish"] == [6]
    assert max(e["step"] for e in RunDir(out).read_events()) == 6
    assert main(["eval", str(out), "--n", "200", "--quiet"]) == 0  # a report of step 6 survives a resume at 6
    assert main(["train", "--resume", str(out), "--steps", "7"]) == 0
    assert (out / "eval" / "report.json").is_file()


def _tiny_image_npz(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, x=rng.integers(0, 256, size=(32, 32, 32), dtype=np.uint8), y=np.arange(32) % 2)
    return path


# invalid input: one clear line on stderr, exit 2 ------------------------------------------------------
@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "gan", "--data", "ring8", "--lr-g", "-0.1"], "--lr-g must be >= 0"),
        (["train", "gan", "--data", "ring8", "--lr-d", "0"], "learning rates must be > 0"),
        (["train", "dcgan", "--data", "shapes", "--image-size", "48"], "--image-size must be one of 32, 64"),
        (["train", "gan", "--data", "ring8", "--steps", "many"], "--steps must be a whole number, got 'many'"),
        (["train", "gan", "--data", "ring8", "--batchnorm", "maybe"], "--batchnorm: takes true or false, got 'maybe'"),
        (["train", "vae", "--data", "moons", "--ngf", "8"], "--ngf does not apply to vae"),
        # a setting another family has under its own names points at them
        (["train", "gan", "--data", "ring8", "--lr", "1e-3"], "--lr does not apply to gan (it has --lr-d, --lr-g)"),
        (["train", "gan", "--data", "ring8", "--device", "tpu"], "device must be one of"),
        (["train", "transformer", "--data", "ring8"], "unknown model 'transformer'"),
        (["train", "--data", "ring8"], "which model?"),
        (["train", "gan", "--data", "ring8", "--frobnicate", "3"], "unrecognized arguments: --frobnicate"),
        (["train", "--resume", "no/such/run"], "no such run directory"),
        (["train", "dcgan", "--data", "ring8", "--steps", "1"], "dcgan is for images"),
        (["runs", "--all"], "unrecognized arguments"),
        # nan, 0 or a negative limit took 8 pictures of a run stopped at once (review s18H #5)
        (["screenshot", "shots", "--timeout", "nan"], "--timeout must be a number of seconds above 0, got 'nan'"),
        (["screenshot", "shots", "--timeout", "0"], "--timeout must be a number of seconds above 0"),
        (["screenshot", "shots", "--timeout", "-1"], "--timeout must be a number of seconds above 0"),
        (["train", "gan", "--data", "ring8", "--batch-size", "1"], "--batch-size 1 is too small for the BatchNorm"),
        # an empty text would mean the current folder: --out "" wrote a run among whatever was there
        (["train", "gan", "--data", "ring8", "--out", ""], "--out is empty"),
        (["train", "--resume", " "], "--resume is empty"),
        (["train", "--config", ""], "--config is empty"),
        (["train", "gan", "--data", ""], "--data is empty"),
        (["sample", ""], "RUN|FILE.ONNX is empty"),
        (["data", "clear", ""], "DATA is empty"),  # removed every prepared dataset
        (["data", "prepare", "photos/", "--image-size", "4096"], "--image-size must be a size a model trains at"),
        (["fork", "some-run", "--out", ""], "--out is empty"),
    ],
)
def test_invalid_input_is_one_line_and_exit_2(argv, expected, capsys):
    line = one_line_error(capsys, _main_exit_code(argv))
    assert expected in line


def _main_exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return exc.code


def test_missing_dataset_path_creates_no_run_directory(tmp_path, capsys):
    code, out = train(tmp_path, data=str(tmp_path / "no-such-data"))
    line = one_line_error(capsys, code)
    assert "no-such-data" in line and "neither a built-in" in line
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_toml_names_the_file(tmp_path, capsys):
    recipe = tmp_path / "bad.toml"
    recipe.write_text("model = dcgan\n")  # unquoted string
    line = one_line_error(capsys, main(["train", "--config", str(recipe)]))
    assert "bad.toml" in line and "invalid TOML" in line
    recipe.write_text('model = "vae"\ndata = "moons"\nngf = 3\n')
    line = one_line_error(capsys, main(["train", "--config", str(recipe)]))
    assert "bad.toml" in line and "'ngf' is not a setting of vae" in line
    recipe.write_text('model = "dcgan"\n[training]\nstpes = 10\nbatchsize = 2\n')  # typos of training settings
    line = one_line_error(capsys, main(["train", "--config", str(recipe)]))
    assert "'stpes' is not a setting of dcgan or of training (it has steps" in line
    line = one_line_error(capsys, main(["train", "--config", str(tmp_path / "absent.toml")]))
    assert "config file not found" in line


def test_resume_refuses_changes_that_would_break_the_run(tmp_path, capsys):
    code, out = train(tmp_path, *TINY_GAN, "--steps", "2")
    assert code == 0
    capsys.readouterr()
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--g-hidden", "32"]))
    assert "--g-hidden" in line and "resuming" in line


def test_label_for_an_unconditional_model(tmp_path, capsys):
    code, out = train(tmp_path, *TINY_GAN, "--steps", "1")
    assert code == 0
    capsys.readouterr()
    line = one_line_error(capsys, main(["sample", str(out), "--label", "2", "--out", str(tmp_path / "g.png")]))
    assert "--label is only for conditional models" in line
    assert not (tmp_path / "g.png").exists()


def test_errors_from_a_real_process_have_no_traceback(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "gan_studio.cli", "train", "dcgan", "--data", str(tmp_path / "missing"),
         "--image-size", "48"],  # fmt: skip
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["gan-studio: error: --image-size must be one of 32, 64, got 48"]


def test_diverged_run_exits_3(tmp_path, capsys, monkeypatch):
    from gan_studio.engine import recipes as trainer_module

    real_step, calls = trainer_module.gan_step, []

    def nan_from_step_3(*args, **kwargs):
        losses = real_step(*args, **kwargs)
        calls.append(1)
        return {**losses, "g_loss": losses["g_loss"] * float("nan")} if len(calls) >= 3 else losses

    monkeypatch.setattr(trainer_module, "gan_step", nan_from_step_3)
    code, out = train(tmp_path, *TINY_GAN, "--steps", "5")
    assert code == 3
    assert "diverged: g_loss became nan at step 3" in capsys.readouterr().err
    assert RunDir(out).read_info()["status"] == "diverged"


# resuming and the folders a command writes: what the user typed is checked, never ignored -----------
def test_resume_accepts_the_runs_own_settings_again_and_names_what_would_change(tmp_path, capsys):
    code, run = train(tmp_path, *TINY_GAN, "--steps", "2")
    assert code == 0
    # the same command line again (the README's torchrun advice), with --resume and a longer run
    code, _ = train(tmp_path, *TINY_GAN, "--steps", "3", "--resume", str(run))
    assert code == 0 and RunDir(run).read_info()["step"] == 3
    capsys.readouterr()
    line = one_line_error(capsys, main(["train", "--resume", str(run), "--steps", "4", "--batch-size", "32"]))
    assert "cannot change --batch-size (16 in the run, 32 given)" in line
    line = one_line_error(capsys, main(["train", "dcgan", "--resume", str(run), "--steps", "4"]))
    assert "continues a gan run, not dcgan" in line
    line = one_line_error(capsys, main(["train", "--resume", str(run), "--steps", "4", "--out", str(tmp_path / "b")]))
    assert "--out does not go with --resume" in line and not (tmp_path / "b").exists()
    for start in ("step-\u00b2", "step-\u0663"):  # digits int() or isdigit() accept, but no checkpoint is named so
        line = one_line_error(capsys, main(["train", "--resume", str(run), "--from", start, "--steps", "4"]))
        assert "--from must be 'last' or step-N" in line
        line = one_line_error(capsys, main(["fork", str(run), "--from", start, "--out", str(tmp_path / "f")]))
        assert "--from must be 'last' or step-N" in line
    assert RunDir(run).read_info()["step"] == 3


def test_a_new_run_never_goes_into_a_folder_that_holds_other_files(tmp_path, capsys):
    mine = tmp_path / "my-configs"
    mine.mkdir()
    (mine / "notes.toml").write_text("keep me")
    line = one_line_error(capsys, train(tmp_path, *TINY_GAN, "--steps", "1", name="my-configs")[0])
    assert "my-configs" in line and "not an empty folder" in line
    assert [p.name for p in mine.iterdir()] == ["notes.toml"]
    (tmp_path / "a-file").write_text("keep me")  # a file or a FIFO is not called a folder (review s18H #9)
    line = one_line_error(capsys, train(tmp_path, *TINY_GAN, "--steps", "1", name="a-file")[0])
    assert "a-file: is a file, not a folder: choose a new or empty folder" in line
    os.mkfifo(tmp_path / "a-fifo")
    line = one_line_error(capsys, train(tmp_path, *TINY_GAN, "--steps", "1", name="a-fifo")[0])
    assert "a-fifo: is a FIFO (named pipe), not a folder" in line
    line = one_line_error(capsys, train(tmp_path, *TINY_GAN, "--steps", "1", name="two\nlines")[0])
    assert "control character" in line and not (tmp_path / "two\nlines").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert train(tmp_path, *TINY_GAN, "--steps", "1", name="empty")[0] == 0  # an empty folder is fine
    bare = tmp_path / "bare"  # killed after making the run's sub-folders, before writing run.json
    for folder in ("samples", "checkpoints", "exports", "eval", "frames"):
        (bare / folder).mkdir(parents=True)
    assert train(tmp_path, *TINY_GAN, "--steps", "1", name="bare")[0] == 0
    (mine / "samples").mkdir()  # sub-folders of a run beside other files: still refused
    assert train(tmp_path, *TINY_GAN, "--steps", "1", name="my-configs")[0] == 2


def test_a_folder_that_is_not_a_run_is_named_as_such(tmp_path, capsys):
    code, run = train(tmp_path, *TINY_GAN, "--steps", "1")
    assert code == 0
    capsys.readouterr()
    other = tmp_path / "not-a-run"
    other.mkdir()
    for argv in (["sample", str(other)], ["export", str(other)], ["eval", str(other), "--no-save"],
                 ["fork", str(other), "--list"]):  # fmt: skip
        assert "not a run directory" in one_line_error(capsys, _main_exit_code(argv))
    inner = run / "checkpoints" / "inner"
    line = one_line_error(capsys, main(["fork", str(run), "--out", str(inner)]))
    assert "is the run being forked" in line and "or inside it" in line and not inner.exists()


def test_a_run_json_with_a_section_of_the_wrong_type_is_one_line(tmp_path, capsys):
    code, run = train(tmp_path, *TINY_GAN, "--steps", "1")
    assert code == 0
    capsys.readouterr()
    info = json.loads((run / "run.json").read_text())
    for key, value in (("dataset", "x"), ("train_config", [1]), ("data_info", 3)):
        (run / "run.json").write_text(json.dumps({**info, key: value}))
        for argv in (["eval", str(run), "--no-save"], ["sample", str(run), "--out", str(tmp_path / "g.png")]):
            line = one_line_error(capsys, main(argv))
            assert f"'{key}' must be a JSON object" in line and "run.json" in line


def test_data_prepare_of_points_and_clear_of_a_missing_path(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    points = tmp_path / "points.npz"
    np.savez(points, x=np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32))
    assert main(["data", "prepare", str(points), "--quiet"]) == 0
    assert "50 points of 2 dimensions" in capsys.readouterr().err
    line = one_line_error(capsys, main(["data", "clear", str(tmp_path / "typo")]))
    assert "typo: no such file or folder" in line


def test_runs_shows_a_run_folder_named_with_a_newline_on_one_line(tmp_path, capsys):
    code, run = train(tmp_path, *TINY_GAN, "--steps", "1")
    assert code == 0
    run.rename(tmp_path / "two\nlines")  # made by something else than gan-studio
    capsys.readouterr()
    assert main(["runs", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("two\\nlines ") and "finished" in lines[1]


def test_resume_of_a_conditional_model_refuses_classes_renamed_since_the_run_started(tmp_path, capsys):
    """Renamed class folders keep the count but shift every label: a conditional run must not go on."""
    data = tmp_path / "labelled.npz"
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 2)).astype(np.float32), np.arange(60) % 3
    np.savez(data, x=x, y=y, class_names=np.array(["circle", "square", "star"]))
    code, out = train(tmp_path, *TINY_GAN, "--steps", "2", model="cgan", data=str(data))
    assert code == 0
    np.savez(data, x=x, y=y, class_names=np.array(["square", "star", "zigzag"]))  # 'circle' renamed
    capsys.readouterr()
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--steps", "3"]))
    assert "the classes changed since the run started (gone: 'circle'; new: 'zigzag')" in line
    assert str(data) in line and RunDir(out).read_info()["step"] == 2
    np.savez(data, x=x, y=y, class_names=np.array(["circle", "star", "square"]))  # same names, other labels
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--steps", "3"]))
    assert "label 1 was 'square', now 'star'" in line
    code, plain = train(tmp_path, *TINY_GAN, "--steps", "2", name="plain", data=str(data))  # labels unused
    np.savez(data, x=x, y=y, class_names=np.array(["a", "b", "c"]))
    assert code == 0 and main(["train", "--resume", str(plain), "--steps", "3"]) == 0
    np.savez(data, x=x, y=y, class_names=np.array(["circle", "square", "star"]))  # as it was: it goes on
    assert main(["train", "--resume", str(out), "--steps", "3"]) == 0


def test_a_run_on_a_relative_data_path_resumes_and_evaluates_from_any_folder(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    np.savez(data / "points.npz", x=np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32))
    monkeypatch.chdir(data)
    code, out = train(tmp_path, *TINY_GAN, "--steps", "2", data="./points.npz")
    assert code == 0
    info = RunDir(out).read_info()
    assert info["train_config"]["data"] == str(data / "points.npz")  # recorded absolute
    monkeypatch.chdir(tmp_path)  # elsewhere: the same run still finds its data
    assert main(["train", "--resume", str(out), "--steps", "3"]) == 0
    monkeypatch.chdir(data)  # and the path as first typed is the same data, not a change
    assert main(["train", "--resume", str(out), "--steps", "4", "--data", "points.npz"]) == 0


def test_resuming_a_run_whose_data_moved_names_the_way_out(tmp_path, capsys):
    data = tmp_path / "points.npz"
    np.savez(data, x=np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32))
    code, out = train(tmp_path, *TINY_GAN, "--steps", "2", data=str(data))
    assert code == 0
    data.rename(tmp_path / "moved.npz")
    capsys.readouterr()
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--steps", "3"]))
    assert f"{data}: the run's data is no longer here: resume with --data NEW_PLACE (the same data, checked)" in line
    (tmp_path / "points.npz").symlink_to(tmp_path / "moved.npz")  # a way out it names
    assert main(["train", "--resume", str(out), "--steps", "3"]) == 0


def test_resume_follows_moved_data_given_with_data_and_refuses_other_data(tmp_path, capsys):
    data = tmp_path / "points.npz"
    points = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    np.savez(data, x=points)
    code, out = train(tmp_path, *TINY_GAN, "--steps", "2", "--checkpoint-every", "1", "--keep-checkpoints", "3",
                      data=str(data))  # fmt: skip
    assert code == 0
    moved = tmp_path / "elsewhere" / "points.npz"
    moved.parent.mkdir()
    data.rename(moved)
    other = tmp_path / "other.npz"
    np.savez(other, x=points[::-1].copy())  # the same count and shape, other order: not the run's data
    capsys.readouterr()
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--steps", "3", "--data", str(other)]))
    assert "this is not the data the run trained on" in line
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--steps", "3", "--data", "ring8"]))
    assert "cannot change --data when resuming" in line
    assert main(["train", "--resume", str(out), "--steps", "3", "--data", str(moved)]) == 0
    info = RunDir(out).read_info()
    assert info["train_config"]["data"] == str(moved) and info["dataset"]["source"].endswith("elsewhere/points.npz")
    assert info["data_moved_from"] == [str(data)]  # so checkpoints saved before the move still belong to the run
    assert main(["train", "--resume", str(out), "--steps", "4"]) == 0  # run.json remembers the new place
    assert (
        main(["train", "--resume", str(out), "--from", "step-0000002", "--steps", "4"]) == 0
    )  # an older checkpoint too
    capsys.readouterr()
    assert main(["eval", str(out), "--n", "100", "--quiet", "--no-save"]) == 0  # eval reads it from its new place


def test_eval_reads_moved_or_copied_data_given_with_data_and_refuses_other_data(tmp_path, capsys):
    """A photographer's folder grew by one photo: eval refused ("evaluate it on the data it trained on") and had no
    --data to point it at a copy of the old data; data moved away got the resume's advice (review s13V). eval
    --data PLACE reads the run's data from another place, checked as a resume checks it."""
    data = tmp_path / "points.npz"
    points = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    np.savez(data, x=points)
    code, out = train(tmp_path, *TINY_GAN, "--steps", "2", data=str(data))
    assert code == 0
    copy = tmp_path / "kept" / "points.npz"
    copy.parent.mkdir()
    copy.write_bytes(data.read_bytes())
    np.savez(data, x=np.concatenate([points, points[:1]]))  # the folder grew by one sample
    capsys.readouterr()
    line = one_line_error(capsys, main(["eval", str(out), "--n", "100", "--quiet", "--no-save"]))
    assert "(64 samples then, 65 now)" in line and "--data COPY" in line
    assert main(["eval", str(out), "--n", "100", "--quiet", "--no-save", "--json", "--data", str(copy)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert any(f"the data was read from {copy}" in note for note in report["notes"])
    other = tmp_path / "other.npz"
    np.savez(other, x=points[::-1].copy())  # as many samples, other order: not the run's data
    line = one_line_error(capsys, main(["eval", str(out), "--n", "100", "--quiet", "--no-save", "--data", str(other)]))
    assert "this is not the data the run trained on" in line and str(other) in line
    data.unlink()  # moved away: the way out is eval's own
    line = one_line_error(capsys, main(["eval", str(out), "--n", "100", "--quiet", "--no-save"]))
    assert "the run's data is no longer here: evaluate with --data NEW_PLACE" in line


def test_resume_refuses_data_that_changed_since_the_run_started(tmp_path, capsys):
    data = tmp_path / "points.npz"
    rng = np.random.default_rng(0)
    points = rng.normal(size=(64, 2)).astype(np.float32)
    np.savez(data, x=points)
    code, out = train(tmp_path, *TINY_GAN, "--steps", "2", data=str(data))
    assert code == 0
    np.savez(data, x=rng.normal(size=(80, 2)).astype(np.float32))  # 16 points added
    capsys.readouterr()
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--steps", "3"]))
    assert "the data changed since the run started (64 samples then, 80 now)" in line
    np.savez(data, x=rng.normal(size=(64, 2)).astype(np.float32))  # replaced in place by as many other points
    line = one_line_error(capsys, main(["train", "--resume", str(out), "--steps", "3"]))
    assert "the data here changed since the run trained on it" in line and "points.npz" in line
    np.savez(data, x=points)  # put back: the resume goes on
    assert main(["train", "--resume", str(out), "--steps", "3"]) == 0


def test_a_yes_no_setting_given_bare_is_true_and_a_model_name_after_it_is_not_taken_for_its_value(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(["train", "gan", "--data", "ring8", "--steps", "1", "--deterministic", "--out", str(run), "--quiet"]) == 0
    )
    assert json.loads((run / "run.json").read_text())["train_config"]["deterministic"] is True
    capsys.readouterr()
    line = one_line_error(capsys, main(["train", "--deterministic", "gan", "--data", "ring8", "--steps", "1"]))
    assert "--deterministic: takes true or false, got 'gan' (give the model first: gan-studio train gan" in line


def test_train_leaves_a_core_to_the_rest_of_the_machine_unless_omp_num_threads_says(tmp_path, monkeypatch):
    """With a thread on every core, a small model trained 10-25x slower whenever anything else ran (s11N N10)."""
    from gan_studio.engine.threads import available_cores

    before = torch.get_num_threads()
    try:
        monkeypatch.setattr("gan_studio.engine.threads.available_cores", lambda: 4)
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        torch.set_num_threads(4)
        assert train(tmp_path, *TINY_GAN, "--steps", "1", name="a")[0] == 0
        assert torch.get_num_threads() == 3
        monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's choice wins
        torch.set_num_threads(2)
        assert train(tmp_path, *TINY_GAN, "--steps", "1", name="b")[0] == 0
        assert torch.get_num_threads() == 2
        assert available_cores() >= 1
    finally:
        torch.set_num_threads(before)


def test_a_resume_with_new_rates_records_each_change_as_a_live_edit_does(tmp_path):
    """Resumed with --lr-g, the run trained at two rates: events.jsonl says when and from what, and the settings
    the app shows now (run.json + changes) have the new rate; before, run.json was overwritten, no change kept."""
    from gan_studio.state.run_state import RunState
    from gan_studio.store.checkpoint import load_checkpoint

    code, out = train(tmp_path, *TINY_GAN, "--steps", "4", "--lr-g", "2e-3")
    assert code == 0
    assert main(["train", "--resume", str(out), "--lr-g", "1e-3", "--steps", "6", "--quiet"]) == 0
    changes = [e for e in RunDir(out).read_events() if e["type"] == "hparam"]
    assert [(c["step"], c["name"], c["old"], c["new"]) for c in changes] == [(4, "lr_g", 0.002, 0.001)]
    assert RunDir(out).read_info()["model_config"]["lr_g"] == 0.002  # as it began; the change is an event
    assert RunState.load(out).settings_now()["model_config"]["lr_g"] == 0.001
    state = load_checkpoint(RunDir(out).last_checkpoint)
    assert state["model_config"]["lr_g"] == 0.001
    assert main(["train", "--resume", str(out), "--lr-g", "1e-3", "--steps", "8", "--quiet"]) == 0  # the same again
    assert len([e for e in RunDir(out).read_events() if e["type"] == "hparam"]) == 1


def test_data_prepare_takes_skip_bad_files_as_train_does(tmp_path, capsys, monkeypatch):
    """`--skip-bad-files true` (the README's and train's form) was refused by `data prepare` as an extra argument."""
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "photos" / "cats"
    folder.mkdir(parents=True)
    for i in range(6):
        Image.new("RGB", (40, 40), (40 * i, 90, 200)).save(folder / f"{i}.png")
    (folder / "broken.png").write_bytes(b"not a picture")
    line = one_line_error(capsys, main(["data", "prepare", str(tmp_path / "photos"), "--quiet"]))
    assert "broken.png" in line
    for flag in (["--skip-bad-files", "true"], ["--skip-bad-files"]):
        assert main(["data", "prepare", str(tmp_path / "photos"), "--quiet", *flag]) == 0
    assert "takes true or false" in one_line_error(
        capsys, main(["data", "prepare", str(tmp_path / "photos"), "--skip-bad-files", "maybe"]))  # fmt: skip


def test_runs_names_a_path_dataset_by_its_file_name(tmp_path, capsys):
    """photos, photos.zip and photos.npz are three datasets, all called 'photos' by their loaders."""
    points = tmp_path / "points.npz"
    np.savez(points, x=np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32))
    train(tmp_path, *TINY_GAN, "--steps", "2", name="on-npz", data=str(points))
    capsys.readouterr()
    assert main(["runs", str(tmp_path)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("on-npz"))
    assert row.split()[2] == "points.npz"


def test_a_workspace_that_is_a_file_is_said_so(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    for workspace in (tmp_path / "notes.txt", tmp_path / "notes.txt" / "runs"):
        line = one_line_error(capsys, main(["train", "gan", "--data", "ring8", "--workspace", str(workspace)]))
        assert "a file stands where it (or a folder above it) would be" in line
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_the_progress_line_shows_live_quality_beside_the_last_losses_and_rate(capsys):
    """An evaluation's record (no losses, no rate) printed '| | 0 samples/s' and its modes never showed."""
    from gan_studio.commands.train import ProgressBar
    from gan_studio.events import Metrics

    bar = ProgressBar(500)
    bar.update(Metrics(500, values={"d_loss": 1.37, "g_loss": 0.733, "samples_per_s": 13377.0, "time": 2.0}))
    bar.update(Metrics(500, values={"modes": 8, "high_quality": 0.9612, "reverse_kl": 0.01}))
    bar.finish()
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("step 500/500") and lines[-1].endswith(
        "| D loss 1.37  G loss 0.733 | modes 8  HQ 96% | 13377 samples/s ETA 0s"
    )  # the metrics named as the app names them (it said d_loss here, D in the app's Runs panel: review s13V)
    # off a terminal the last step is one line, with its own evaluation: it printed the step before's modes and HQ
    # under step 500, then a second step-500 line with this step's (review s15Y)
    assert [line for line in lines if line.startswith("step 500/500")] == [lines[-1]]


def test_the_last_step_of_a_real_run_is_one_line_with_its_own_evaluation(tmp_path, capsys):
    code, run = train(tmp_path, "--steps", "40", "--log-every", "10", "--eval-every", "20", "--g-hidden", "8",
                      "--d-hidden", "8")  # fmt: skip
    assert code == 0
    last = [line for line in capsys.readouterr().err.splitlines() if line.startswith("step 40/40")]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evaluation = [r for r in records if r["step"] == 40 and "modes" in r][-1]
    assert len(last) == 1 and f"modes {evaluation['modes']}" in last[0]


def test_sync_batchnorm_in_one_process_says_it_does_nothing(tmp_path, capsys):
    """Accepted silently in one process, refused under torchrun on CPUs: now the one process says so (s12P)."""
    code, _ = train(tmp_path, *TINY_GAN, "--steps", "1", "--sync-batchnorm", "true", "--quiet")
    assert code == 0 and "--sync-batchnorm does nothing in one process" in capsys.readouterr().err


def test_points_of_one_class_are_drawn_on_the_whole_plane(tmp_path, capsys):
    """`sample --label K` of a 2D model zoomed to that class's blob, without axes or the rest (s12P)."""
    from PIL import Image

    code, run = train(tmp_path, "--steps", "2", "--g-hidden", "8", "--d-hidden", "8", model="cgan")
    assert code == 0
    assert main(["sample", str(run), "--n", "32", "--label", "1", "--out", str(tmp_path / "one.png")]) == 0
    assert "every class in grey around them" in capsys.readouterr().out
    pixels = np.asarray(Image.open(tmp_path / "one.png").convert("RGB")).reshape(-1, 3)
    grey = (pixels == (150, 150, 150)).all(1).sum()
    assert grey > 100  # the other classes' points, as context


def test_g_loss_with_a_loss_that_fixes_g_says_it_does_nothing(tmp_path, capsys):
    """--loss hinge --g-loss saturating was taken without a word (the app hides g loss then; review s12U)."""
    code, _ = train(tmp_path, *TINY_GAN, "--steps", "1", "--loss", "hinge", "--g-loss", "saturating", "--quiet")
    assert code == 0 and "--g-loss does nothing with --loss hinge" in capsys.readouterr().err
    code, _ = train(tmp_path, *TINY_GAN, "--steps", "1", "--g-loss", "saturating", "--quiet", name="bce")
    assert code == 0 and "--g-loss does nothing" not in capsys.readouterr().err


def test_a_bad_flag_is_named_as_the_flag_and_a_recipes_setting_as_the_file_names_it(tmp_path, capsys):
    """`--lr-g -1` said "lr_g must be >= 0" (review s14W): the person typed a flag. A recipe's own bad setting
    keeps the recipe's name for it, beside the file's."""
    cases = {("--lr-g", "-1"): "--lr-g must be >= 0, got -1", ("--batch-size", "0"): "--batch-size must be >= 1",
             ("--image-size", "48"): "--image-size must be one of 32, 64", ("--lr-d", "abc"): "--lr-d must be a number, got 'abc'",
             ("--batch-size", "1e9"): "--batch-size must be <= 65,536, got 1,000,000,000",  # not 65536, got 1e+09
             ("--seed", "99999999999"): "--seed must be <= 2,147,483,647, got 99,999,999,999"}  # fmt: skip
    for flag, said in cases.items():
        line = one_line_error(capsys, main(["train", "dcgan", "--data", "shapes", *flag, "--out", str(tmp_path / "r")]))
        assert said in line, line
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('model = "dcgan"\n[dcgan]\nlr_g = -1\n')
    line = one_line_error(capsys, main(["train", "--config", str(recipe), "--out", str(tmp_path / "r")]))
    assert str(recipe) in line and "lr_g must be >= 0" in line


def test_hold_out_trains_on_the_fixed_part_that_eval_does_not_judge_on_and_resumes(tmp_path, capsys):
    """The quality table trains on a fixed 80 % of a one-set dataset and judges on the other 20 %; by hand,
    `train` trained on all of it, so `eval` judged on samples seen in training, and a run the benchmark made
    could not be resumed ("the data changed", review s14W). --hold-out true is that protocol."""
    data = tmp_path / "points.npz"
    np.savez(data, x=np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32))
    code, out = train(tmp_path, *TINY_GAN, "--steps", "2", "--hold-out", "true", data=str(data))
    assert code == 0 and RunDir(out).read_info()["dataset"]["size"] == 80
    capsys.readouterr()
    assert main(["eval", str(out), "--n", "100", "--quiet", "--no-save", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "80 train / 20 test" in report["reference"]["note"] and not report["reference"]["test_seen_in_training"]
    assert main(["train", "--resume", str(out), "--steps", "3", "--quiet"]) == 0  # the same part again
    assert RunDir(out).read_info()["step"] == 3
    code, whole = train(tmp_path, *TINY_GAN, "--steps", "2", data=str(data), name="whole")
    assert code == 0 and RunDir(whole).read_info()["dataset"]["size"] == 100
    capsys.readouterr()
    assert main(["eval", str(whole), "--n", "100", "--quiet", "--no-save", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reference"]["test_seen_in_training"]
    sizes = []
    for hold_out in ("true", "false"):  # a procedural set: whole (its evaluation draws unseen samples of its own)
        code, ring = train(tmp_path, *TINY_GAN, "--steps", "1", "--hold-out", hold_out, name=f"ring-{hold_out}")
        sizes.append(RunDir(ring).read_info()["dataset"]["size"])
    assert sizes[0] == sizes[1]


def test_train_help_lists_every_flag(capsys):
    """A setting's help holding '%' ("80 % of a dataset") broke `train --help` (argparse formats help with %)."""
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["train", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "--hold-out" in out and "80 % of a dataset" in out

"""The command line as people use it: `python -m gan_studio`, no flag abbreviations, "did you mean",
run names from `gan-studio runs`, and one line with exit code 2 for hostile numbers, output paths,
read-only run folders and ONNX files whose metadata belongs to another graph (issue 14, class 7)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx.helper as oh
import pytest
import torch
from cli_checks import one_line_error
from tiny_runs import exported

from gan_studio.cli import _subparsers, build_parser, main
from gan_studio.errors import ExportError
from gan_studio.export.inference import OnnxGenerator
from gan_studio.paths import default_workspace

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--g-hidden", "8", "--d-hidden", "8", "--latent-dim", "2", "--batch-size", "16", "--sample-every", "0",
        "--log-every", "2", "--quiet"]  # fmt: skip

torch.set_num_threads(1)


def run_cli(argv: list[str]) -> int:
    """main(argv), with argparse's own exit (SystemExit) turned into its code."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A workspace with two tiny trained runs, named as `gan-studio train` names them."""
    root = tmp_path_factory.mktemp("cli-usage") / "runs"
    for name in ("gan-ring8-first", "gan-ring8-second"):
        assert main(["train", "gan", "--data", "ring8", *TINY, "--steps", "4", "--out", str(root / name)]) == 0
    return root


# --- parsing -----------------------------------------------------------------------------------------


def test_python_dash_m_runs_the_cli():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "gan_studio", "--version"], capture_output=True, text=True,
                            env=env, timeout=120)  # fmt: skip
    assert result.returncode == 0 and result.stdout.startswith("gan-studio ")
    result = subprocess.run([sys.executable, "-m", "gan_studio", "sample", "x", "--sed", "1"], capture_output=True,
                            text=True, env=env, timeout=120)  # fmt: skip
    assert result.returncode == 2 and "did you mean --seed?" in result.stderr


def test_output_into_a_pipe_closed_early_ends_quietly_without_a_traceback(tmp_path):
    """`gan-studio runs | head -1`: the reader leaves before the writer is done."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "gan_studio", "runs", str(tmp_path)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)  # fmt: skip
    process.stdout.close()  # before the interpreter has even started: every write meets a closed pipe
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141 and stderr == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_onto_a_full_disk_or_a_closed_stream_is_one_line_or_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "gan_studio", "runs", str(tmp_path)]
    with open("/dev/full", "w") as full:
        result = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert (
        result.returncode == 1
        and result.stderr == "gan-studio: error: cannot write the output: No space left on device\n"
    )
    closed = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, timeout=120,
                            pass_fds=(), preexec_fn=lambda: os.close(1))  # fmt: skip  # as `>&-`
    assert closed.returncode == 0 and "Traceback" not in closed.stderr


@pytest.mark.parametrize("command", ["eval", "export", "fork"])
def test_a_file_given_as_the_run_is_named_as_a_file(tmp_path, capsys, command):
    """eval and export said "cannot create the folder ... use --no-save", then "no such run directory"."""
    exported = tmp_path / "generator.onnx"
    exported.write_bytes(b"onnx bytes")
    assert main([command, str(exported)]) == 2
    err = capsys.readouterr().err
    assert "not a run folder: this is a file (an exported model: `gan-studio sample` draws from one)" in err
    assert len(err.strip().splitlines()) == 1


def test_no_parser_accepts_abbreviations():
    parser = build_parser()
    parsers = [parser, *_subparsers(parser).values()]
    assert len(parsers) >= 7 and all(p.allow_abbrev is False for p in parsers)


def test_an_abbreviated_flag_is_refused_with_the_full_name(tmp_path, capsys):
    code = run_cli(["train", "gan", "--data", "ring8", "--step", "3", "--out", str(tmp_path / "r")])
    line = one_line_error(capsys, code)
    assert "--step" in line and "did you mean --steps?" in line
    assert not (tmp_path / "r").exists()  # nothing was trained with a guessed flag


@pytest.mark.parametrize(
    "argv, hint",
    [
        (["sample", "r", "--seeed", "3"], "did you mean --seed?"),
        (["eval", "r", "--neighbors", "5"], "did you mean --neighbours?"),
        (["export", "r", "--opset=17", "--prat", "encoder"], "did you mean --part?"),
        (["trian", "gan"], "did you mean train?"),
        (["runs", "--advise"], "did you mean --advice?"),
    ],
)
def test_misspellings_get_a_did_you_mean(argv, hint, capsys):
    assert hint in one_line_error(capsys, run_cli(argv))


def test_an_unknown_flag_with_nothing_close_points_to_help(capsys):
    assert "see `gan-studio sample --help`" in one_line_error(capsys, run_cli(["sample", "r", "--zzzzzz"]))


# --- run names ---------------------------------------------------------------------------------------------


def test_runs_prints_the_names_that_the_commands_accept(workspace, tmp_path, capsys):
    assert main(["runs", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert "gan-ring8-first" in out and "gan-ring8-second" in out
    png = tmp_path / "grid.png"
    assert main(["sample", "gan-ring8-first", "--workspace", str(workspace), "--out", str(png), "--n", "16"]) == 0
    assert png.is_file() and "step 4" in capsys.readouterr().out
    assert main(["sample", "gan-ring8-fi", "--workspace", str(workspace), "--out", str(png), "--n", "16"]) == 0
    onnx_file = tmp_path / "g.onnx"
    assert main(["export", "gan-ring8-second", "--workspace", str(workspace), "--out", str(onnx_file),
                 "--reference-samples", "0"]) == 0  # fmt: skip
    assert onnx_file.is_file()
    assert main(["eval", "gan-ring8-second", "--workspace", str(workspace), "--n", "200", "--quiet", "--no-save"]) == 0
    assert "modes" in capsys.readouterr().out


def test_runs_flags_a_finished_run_whose_checkpoint_is_gone(tmp_path, capsys):
    import shutil

    from gan_studio.store.rundir import RunDir

    code = main(["train", "gan", "--data", "ring8", "--steps", "2", "--g-hidden", "8", "--d-hidden", "8",
                 "--sample-every", "0", "--out", str(tmp_path / "ws" / "emptied")])  # fmt: skip
    assert code == 0
    shutil.rmtree(RunDir(tmp_path / "ws" / "emptied").checkpoints_dir)
    capsys.readouterr()
    assert main(["runs", str(tmp_path / "ws")]) == 0
    assert "checkpoints/last.pt is missing: it cannot be sampled, exported or resumed" in capsys.readouterr().out


def test_train_resume_takes_a_name(workspace, capsys):
    assert main(["train", "--resume", "gan-ring8-first", "--workspace", str(workspace), "--steps", "6", "--quiet"]) == 0
    assert "finished at step 6" in capsys.readouterr().err


def test_fork_takes_a_name_and_a_missing_run_is_an_error_not_an_empty_list(workspace, tmp_path, capsys):
    assert main(["fork", "gan-ring8-second", "--workspace", str(workspace), "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()  # the shared workspace's runs may have been resumed by other tests
    listed = [line.split()[0] for line in lines]  # what --from takes first, then when it was written and its size
    assert listed[-1] == "last" and listed[0] == "step-4" and all(n.startswith("step-") for n in listed[:-1])
    assert all(re.search(r" written \d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d+\.\d MB", line) for line in lines)
    assert "(the newest: what --from last takes)" in lines[-1]
    fork = tmp_path / "fork"
    assert main(["fork", "gan-ring8-second", "--workspace", str(workspace), "--out", str(fork)]) == 0
    assert (fork / "checkpoints" / "last.pt").is_file()
    code = main(["fork", "no/such/run", "--list"])
    assert "no such run directory" in one_line_error(capsys, code)
    last = fork / "checkpoints" / "last.pt"  # truncated (a copy cut short): listed as damaged, not as the way on
    last.write_bytes(last.read_bytes()[:6000])
    assert main(["fork", str(fork), "--list"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("last")]
    assert "damaged: not a whole checkpoint" in line and "what --from last takes" not in line  # review s15X #9


def test_names_resolve_in_the_default_workspace(workspace, tmp_path, capsys):
    default = default_workspace()  # GAN_STUDIO_HOME points into this test's folder
    default.mkdir(parents=True)
    shutil.copytree(workspace / "gan-ring8-second", default / "gan-ring8-second")
    assert main(["sample", "gan-ring8-second", "--out", str(tmp_path / "g.png"), "--n", "4"]) == 0


@pytest.mark.parametrize(
    "name, message",
    [
        ("gan-ring8-", "matches 2 runs"),
        ("gan-ring8-frist", "did you mean gan-ring8-first?"),
        ("nothing-like-it", "see `gan-studio runs`"),
        ("no/such/folder", "no such run directory"),
    ],
)
def test_unknown_or_ambiguous_names_are_one_line(workspace, tmp_path, capsys, name, message):
    code = main(["sample", name, "--workspace", str(workspace), "--out", str(tmp_path / "g.png")])
    assert message in one_line_error(capsys, code)


def test_a_folder_path_wins_over_a_name(workspace, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(workspace)
    assert main(["sample", "gan-ring8-first", "--out", str(tmp_path / "g.png"), "--n", "4"]) == 0  # ./gan-ring8-first


# --- hostile numbers and output paths (issue 14, class 7) -----------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "1e23"], "--seed must be a whole number from 0 to 9223372036854775807, got '1e23'"),
        (["--seed", "100000000000000000000000"], "--seed must be at most 9223372036854775807"),
        (["--seed", "-1"], "--seed must be at least 0, got -1"),
        (["--n", "100000000"], "--n must be at most 10000, got 100000000"),
        (["--n", "0"], "--n must be at least 1, got 0"),
        (["--label", "99999999999999999999999"], "--label is only for conditional models"),
        (["--device", "tpu"], "argument --device: invalid choice"),
    ],
)
def test_sample_refuses_hostile_numbers(workspace, tmp_path, capsys, args, message):
    code = run_cli(["sample", str(workspace / "gan-ring8-first"), "--out", str(tmp_path / "g.png"), *args])
    assert message in one_line_error(capsys, code)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "gan", "--data", "ring8", "--steps", "\u0661\u0660"],  # Arabic-Indic "10": Python's int() reads it
        ["train", "gan", "--data", "ring8", "--steps", "10", "--lr-g", "\uff10.1"],  # a full-width 0
        ["sample", "RUN", "--n", "\u0664"],
        ["data", "prepare", "shapes", "--workers", "\u0663"],
        ["export", "RUN", "--opset", "\u0661\u0668"],
    ],
)
def test_numbers_are_ascii_digits(workspace, tmp_path, capsys, argv):
    """`--steps ١٠` trained 10 steps (review s15X #10): a number written in other digits is a typo to name, not one
    to guess."""
    argv = [str(workspace / "gan-ring8-first") if a == "RUN" else a for a in argv]
    out = (
        ["--out", str(tmp_path / ("g.png" if argv[0] == "sample" else "out"))] if argv[0] in ("train", "sample") else []
    )
    line = one_line_error(capsys, run_cli([*argv, *out]))
    assert argv[-1] in line and ("whole number" in line or "must be a number" in line), line
    assert not (tmp_path / "out").exists()


def test_decoding_workers_are_bounded_by_memory():
    from gan_studio.data.budgets import DECODE_WORKER_BYTES, MAX_DECODE_WORKERS, available_memory, decode_workers

    by_memory = max(1, available_memory() // DECODE_WORKER_BYTES)
    assert decode_workers(5000) == min(by_memory, MAX_DECODE_WORKERS)  # 5,000 processes were started
    assert decode_workers(1) == 1


def test_sample_bounds_n_by_the_size_of_a_sample(capsys, tmp_path):
    run, _ = exported("dcgan-64")  # 1 x 64 x 64 images: 8192 of them would be 128 MB
    code = main(["sample", str(run), "--n", "9000", "--out", str(tmp_path / "g.png")])
    assert "at most 8192 samples of 1x64x64 fit one grid" in one_line_error(capsys, code)
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize("kind", ["folder", "not png", "fifo", "missing parent under a file"])
def test_sample_checks_the_output_path_before_work(workspace, tmp_path, capsys, kind):
    out = {"folder": tmp_path, "not png": tmp_path / "grid.jpg", "fifo": tmp_path / "pipe.png",
           "missing parent under a file": tmp_path / "afile" / "g.png"}[kind]  # fmt: skip
    if kind == "fifo":
        os.mkfifo(out)
    if kind == "missing parent under a file":
        (tmp_path / "afile").write_text("x")
    line = one_line_error(capsys, run_cli(["sample", str(workspace / "gan-ring8-first"), "--out", str(out)]))
    assert str(out) in line or str(tmp_path / "afile") in line
    expected = {"folder": "is a folder: give the file to write", "not png": "must be a .png file",
                "fifo": "not a regular file", "missing parent under a file": "is not a folder"}[kind]  # fmt: skip
    assert expected in line


def test_an_export_onto_a_full_disk_exits_1_as_sample_does(workspace, tmp_path, capsys, monkeypatch):
    """export said "the disk is full" with exit 2 (bad input) while sample and train exit 1 (review s16R #1)."""
    import errno

    import gan_studio.export.onnx_export as onnx_export

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(onnx_export, "atomic_write", full)
    code = main(["export", str(workspace / "gan-ring8-first"), "--out", str(tmp_path / "g.onnx")])
    assert "the disk is full" in one_line_error(capsys, code, expected=1)


def test_ctrl_c_while_a_command_is_still_loading_is_one_line(monkeypatch, capsys):
    """A Ctrl-C in the seconds a command takes to import torch printed a 70-line traceback (review s16R #2)."""
    import gan_studio.cli as cli

    def interrupted(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["data", "prepare", "x"]) == 130
    assert capsys.readouterr().err == "gan-studio: data stopped by Ctrl-C\n"


def test_an_output_file_makes_one_new_folder_not_a_path_of_them(workspace, tmp_path, capsys):
    """`sample --out /new/dir/x.png` created /new and /new/dir (review s15X #10), while export's --out DIR/ makes one
    level: a file's folder may be new, a path of typos is refused before any work."""
    run = str(workspace / "gan-ring8-first")
    line = one_line_error(capsys, run_cli(["sample", run, "--out", str(tmp_path / "typo" / "dir" / "g.png")]))
    assert f"the folder {tmp_path / 'typo'} does not exist" in line and not (tmp_path / "typo").exists()
    line = one_line_error(capsys, run_cli(["export", run, "--out", str(tmp_path / "typo" / "dir" / "g.onnx")]))
    assert "does not exist" in line and not (tmp_path / "typo").exists()
    assert main(["sample", run, "--out", str(tmp_path / "new" / "g.png"), "--n", "4"]) == 0
    assert (tmp_path / "new" / "g.png").is_file()


def test_eval_and_export_refuse_hostile_numbers(workspace, capsys):
    run = str(workspace / "gan-ring8-first")
    for argv in (["eval", run, "--seed", "1e23"], ["eval", run, "--n", "10000000000"], ["eval", run, "--k", "0"],
                 ["export", run, "--opset", "99999999999999999999"], ["export", run, "--reference-samples", "-1"]):  # fmt: skip
        assert "must be " in one_line_error(capsys, run_cli(argv))


def test_export_out_must_be_onnx_or_a_folder(workspace, tmp_path, capsys):
    code = main(["export", str(workspace / "gan-ring8-first"), "--out", str(tmp_path / "model.txt")])
    assert "must be a .onnx file name" in one_line_error(capsys, code)
    assert main(["export", str(workspace / "gan-ring8-first"), "--out", f"{tmp_path / 'new'}/"]) == 0
    assert [p.suffix for p in (tmp_path / "new").iterdir()] == [".onnx"]  # a name ending in / is a folder to make
    code = main(["export", str(workspace / "gan-ring8-first"), "--out", f"{tmp_path / 'absent' / 'new'}/"])
    line = one_line_error(capsys, code)  # one level is made, not a whole path of typos: the missing one named
    assert f"the folder {tmp_path / 'absent'} does not exist" in line


# --- read-only run folders --------------------------------------------------------------------------------------


def _read_only_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the CLI where permission bits bind: as a normal user, or as root without CAP_DAC_OVERRIDE."""
    command = [sys.executable, "-m", "gan_studio", *args]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: read-only folders cannot be made read-only for root")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def read_only_run(workspace, tmp_path):
    run = tmp_path / "ro-run"
    shutil.copytree(workspace / "gan-ring8-second", run)
    for path in sorted(run.rglob("*"), reverse=True) + [run]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    yield run
    for path in [run, *run.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.mark.parametrize(
    "args, message",
    [
        (["sample", "."], "cannot write --out grid.png: the folder {run} is read-only"),  # the folder named whole
        (["export", "."], "exports (give --out a writable file or folder)"),
        (["eval", ".", "--n", "200", "--quiet"], "(use --no-save to only print it)"),
    ],
)
def test_a_read_only_run_folder_is_one_line_and_exit_2(read_only_run, args, message):
    result = _read_only_cli(args, cwd=read_only_run)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message.format(run=read_only_run) in lines[0] and "Traceback" not in result.stderr


def test_a_read_only_run_can_still_be_sampled_exported_and_evaluated_elsewhere(read_only_run, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for args in (["sample", str(read_only_run), "--out", str(out / "g.png"), "--n", "8"],
                 ["export", str(read_only_run), "--out", str(out), "--reference-samples", "0"],
                 ["eval", str(read_only_run), "--n", "200", "--quiet", "--no-save"]):  # fmt: skip
        result = _read_only_cli(args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert (out / "g.png").is_file() and list(out.glob("*.onnx"))


def test_a_write_that_fails_anyway_is_one_line(workspace, tmp_path, capsys, monkeypatch):
    """Disk full (or a folder made read-only after the check) while writing: one line, not a traceback."""
    import errno

    import gan_studio.commands.sample as sample_command

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sample_command, "save_png", full)
    code = main(["sample", str(workspace / "gan-ring8-first"), "--out", str(tmp_path / "g.png"), "--n", "4"])
    assert "the disk is full" in one_line_error(capsys, code, expected=1)  # the machine failed, not the input


# --- ONNX metadata copied onto another graph -------------------------------------------------------------------


def _graph_with_metadata(source: Path, path: Path, outputs: list, nodes, initializers=(), inputs=None) -> Path:
    """A graph of our own making that carries every metadata entry of a real export."""
    real = onnx.load(str(source))
    inputs = inputs or [oh.make_tensor_value_info("z", onnx.TensorProto.FLOAT, [None, 4])]
    graph = oh.make_graph(nodes, "other", inputs, outputs, initializer=list(initializers))
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)], ir_version=real.ir_version)
    for prop in real.metadata_props:
        model.metadata_props.add(key=prop.key, value=prop.value)
    onnx.save(model, str(path))
    return path


def _weights(name: str, rows: int, cols: int):
    return oh.make_tensor(name, onnx.TensorProto.FLOAT, [rows, cols], np.ones(rows * cols, np.float32).tolist())


def _other_graphs(src: Path, tmp: Path) -> dict[str, tuple[Path, str]]:
    point = onnx.TensorProto.FLOAT
    return {
        "wrong output width": (_graph_with_metadata(src, tmp / "a.onnx", [oh.make_tensor_value_info("points", point, [None, 3])],
                               [oh.make_node("MatMul", ["z", "w"], ["points"])], [_weights("w", 4, 3)]),
                               "output 'points' gives shape [None, 3], but the metadata says (N, 2)"),
        "other output name": (_graph_with_metadata(src, tmp / "b.onnx", [oh.make_tensor_value_info("image", point, [None, 2])],
                              [oh.make_node("MatMul", ["z", "w"], ["image"])], [_weights("w", 4, 2)]),
                              "the model's outputs are ['image']"),
        "hidden width": (_graph_with_metadata(src, tmp / "c.onnx", [oh.make_tensor_value_info("points", point, ["N", "K"])],
                         [oh.make_node("MatMul", ["z", "w"], ["wide"]), oh.make_node("Shape", ["z"], ["zs"]),
                          oh.make_node("Slice", ["zs", "zero", "one"], ["rows"]),
                          oh.make_node("Concat", ["rows", "minus_one"], ["to"], axis=0),
                          oh.make_node("Reshape", ["wide", "to"], ["points"])],  # a width known only when it runs
                         [_weights("w", 4, 5), oh.make_tensor("zero", onnx.TensorProto.INT64, [1], [0]),
                          oh.make_tensor("one", onnx.TensorProto.INT64, [1], [1]),
                          oh.make_tensor("minus_one", onnx.TensorProto.INT64, [1], [-1])]),
                         "output 'points' gives shape ['N', 'K'], but the metadata says (N, 2)"),  # refused at load
        "extra input": (_graph_with_metadata(src, tmp / "d.onnx", [oh.make_tensor_value_info("points", point, [None, 2])],
                        [oh.make_node("MatMul", ["z", "w"], ["points"])], [_weights("w", 4, 2)],
                        inputs=[oh.make_tensor_value_info("z", point, [None, 4]),
                                oh.make_tensor_value_info("extra", point, [None, 1])]),
                        "the model's inputs are ['z', 'extra']"),
        "integer input": (_graph_with_metadata(src, tmp / "e.onnx", [oh.make_tensor_value_info("points", onnx.TensorProto.INT64, [None, 4])],
                          [oh.make_node("Identity", ["z"], ["points"])],
                          inputs=[oh.make_tensor_value_info("z", onnx.TensorProto.INT64, [None, 4])]),
                          "input 'z' is a tensor(int64), not a float tensor"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "kind", ["wrong output width", "other output name", "hidden width", "extra input", "integer input"]
)
def test_metadata_copied_onto_another_graph_is_refused(tmp_path, capsys, kind):
    _, report = exported("gan-points")  # an unconditional GAN on points: z (N, 4) -> points (N, 2)
    path, message = _other_graphs(report.path, tmp_path)[kind]
    with pytest.raises(ExportError) as caught:
        OnnxGenerator(path, providers=["cpu"]).generate(np.zeros((4, 4), np.float32))
    assert message in str(caught.value)
    line = one_line_error(capsys, run_cli(["sample", str(path), "--out", str(tmp_path / "g.png"), "--n", "4"]))
    assert message in line
    assert not (tmp_path / "g.png").exists()


def test_metadata_on_a_graph_that_loops_is_refused_before_it_runs(tmp_path, capsys):
    """A Loop of 10^12 turns hangs `sample` for ever; an export never loops, so a graph with one is refused.
    (10^6 turns here, so that a regression fails rather than hangs.)"""
    _, report = exported("gan-points")
    point, boolean, int64 = onnx.TensorProto.FLOAT, onnx.TensorProto.BOOL, onnx.TensorProto.INT64
    body = oh.make_graph(
        [oh.make_node("Identity", ["cond_in"], ["cond_out"]), oh.make_node("Relu", ["v_in"], ["v_out"])],
        "body",
        [oh.make_tensor_value_info("i", int64, []), oh.make_tensor_value_info("cond_in", boolean, []),
         oh.make_tensor_value_info("v_in", point, None)],
        [oh.make_tensor_value_info("cond_out", boolean, []), oh.make_tensor_value_info("v_out", point, None)],
    )  # fmt: skip
    looping = oh.make_node("Loop", ["trips", "go", "mm"], ["points"], body=body)
    points = oh.make_tensor_value_info("points", point, [None, 2])
    branch = oh.make_graph([looping], "then", [], [points])
    nested = oh.make_node("If", ["go"], ["points"], then_branch=branch, else_branch=branch)
    constants = [
        _weights("w", 4, 2),
        oh.make_tensor("trips", int64, [], [10**6]),
        oh.make_tensor("go", boolean, [], [True]),
    ]
    for name, last in (("top.onnx", looping), ("nested.onnx", nested)):
        nodes = [oh.make_node("MatMul", ["z", "w"], ["mm"]), last]
        path = _graph_with_metadata(report.path, tmp_path / name, [points], nodes, constants)
        line = one_line_error(capsys, run_cli(["sample", str(path), "--out", str(tmp_path / "g.png"), "--n", "4"]))
        assert "Loop operators" in line and name in line


def test_runs_of_a_folder_that_is_not_there_says_so(tmp_path, capsys):
    for path, message in ((tmp_path / "typo", "no such folder"), (tmp_path / "f.txt", "is not a folder")):
        path.parent.mkdir(exist_ok=True)
        if path.suffix:
            path.write_text("x")
        assert message in one_line_error(capsys, run_cli(["runs", str(path)]))
    assert run_cli(["runs", str(tmp_path)]) == 0 and "no runs in" in capsys.readouterr().out


def test_runs_of_a_gan_studio_home_points_to_its_runs_folder(tmp_path, capsys):
    """GAN_STUDIO_HOME=DIR keeps its runs in DIR/runs, but `runs --workspace DIR` lists DIR itself: "no runs in DIR"
    alone read as if the 60 runs were gone."""
    for name in ("a", "b"):
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "run.json").write_text('{"model": "gan", "status": "finished", "step": 2}')
    assert run_cli(["runs", "--workspace", str(tmp_path)]) == 0
    out = capsys.readouterr().out.strip()
    assert out == f"no runs in {tmp_path} ({tmp_path / 'runs'} holds 2: gan-studio runs {tmp_path / 'runs'})", out


def test_the_real_export_still_passes_every_check():
    _, report = exported("gan-points")
    out = OnnxGenerator(report.path, providers=["cpu"]).generate(np.zeros((3, 4), np.float32))
    assert out.shape == (3, 2)


def test_bounded_int_is_an_argparse_type():
    from gan_studio.commands.arguments import bounded_int

    parse = bounded_int(1, 5)
    assert parse("5") == 5 and parse(" 3 ") == 3
    for bad in ("0", "6", "1.5", "1e3", "x" * 500, "", "-" + "9" * 60):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(bad)


def test_under_torchrun_a_settings_error_is_said_once_per_machine(monkeypatch, capsys, tmp_path):
    """Every process of a torchrun job reads the same command line: a typo or a bad value printed one identical
    line per GPU. Only LOCAL_RANK 0 says it (a missing run too: one machine, one file system); every process
    still exits 2; a data problem is said by each (the others point to the first's message while training)."""
    bad_commands = (["train", "gan", "--data", "ring8", "--lr-g", "-1"], ["train", "gan", "--stepz", "5"],
                    ["train", "gan", "--seed="], ["train", "--resume", str(tmp_path / "no-such-run")])  # fmt: skip
    for local_rank, silent in (("1", True), ("0", False)):
        monkeypatch.setenv("LOCAL_RANK", local_rank)
        for argv in bad_commands:
            code = main(argv)
            err = capsys.readouterr().err
            assert code == 2 and (err == "" if silent else err.startswith("gan-studio: error: ")), (argv, err)
    monkeypatch.setenv("LOCAL_RANK", "1")
    code = main(["data", "prepare", str(tmp_path / "no-such-folder")])
    assert code == 2 and "gan-studio: error: no such dataset" in capsys.readouterr().err


def test_the_app_opens_a_run_given_by_its_name(workspace, monkeypatch, capsys):
    """`gan-studio app NAME` said "no such run directory" in its window: every other command takes the name."""
    import gan_studio.ui.app

    opened = []
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(
        gan_studio.ui.app, "main", lambda run=None, workspace=None: opened.append((run, workspace)) or 0
    )
    assert main(["app", "gan-ring8-sec", "--workspace", str(workspace)]) == 0  # a unique start of a name, too
    # the window lists that workspace too (it listed the remembered one: the run's neighbours were not shown)
    assert opened == [(workspace / "gan-ring8-second", str(workspace))]
    code = main(["app", "gan-ring8-thrid", "--workspace", str(workspace)])
    assert "did you mean gan-ring8-first?" in one_line_error(capsys, code) and len(opened) == 1


def test_the_app_can_draw_everything_larger_for_a_projector(monkeypatch, capsys):
    """Plot text of ~11 px and class labels of ~7 px were too small for the back of a lecture hall (review s15Y
    #21): `--scale 1.5` scales the whole window (Qt's QT_SCALE_FACTOR, set before the application is made)."""
    import gan_studio.ui.app

    scales = []
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("QT_SCALE_FACTOR", "1")  # recorded, so that the test's 1.5 does not outlive it
    monkeypatch.setattr(gan_studio.ui.app, "main",
                        lambda run=None, workspace=None: scales.append(os.environ.get("QT_SCALE_FACTOR")) or 0)  # fmt: skip
    assert main(["app", "--scale", "1.5"]) == 0 and scales == ["1.5"]
    for bad in ("0.1", "9", "big", "\u0662"):
        assert "--scale must be a number from 0.5 to 4" in one_line_error(capsys, run_cli(["app", "--scale", bad]))


def test_the_app_refuses_what_is_not_a_run_before_opening_a_window(workspace, tmp_path, monkeypatch, capsys):
    """A folder that is not a run opened the window only to show the error in a banner, while a missing run or a
    file exited 2: each is refused as every command refuses it, and before the display check (without a
    display, the run's problem is the more useful line)."""
    import gan_studio.ui.app

    opened = []
    monkeypatch.setattr(gan_studio.ui.app, "main", lambda run=None, workspace=None: opened.append(run) or 0)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    (tmp_path / "photos").mkdir()
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "run.json").write_text("{not json")
    for target, said in ((tmp_path / "photos", "not a run directory (no run.json)"),
                         (tmp_path / "damaged", "run.json: not valid JSON"),  # the file named once
                         (tmp_path / "gone" / "run", "no such run folder")):  # fmt: skip
        error = one_line_error(capsys, main(["app", str(target)]))
        assert said in error and str(target) in error, error
    assert opened == []
    code = main(["app", str(workspace / "gan-ring8-second")])
    assert code == 2 and "no display found" in capsys.readouterr().err  # a good run: then the display is checked


def test_the_app_without_a_screen_or_without_qts_x11_libraries_says_what_to_do(monkeypatch, capsys):
    """No display: the hint was "set QT_QPA_PLATFORM=offscreen", which opens an app nobody can see; a display
    without libxcb-cursor0 (many desktops): Qt aborted, core dumped, "Reinstalling the application may fix this"."""
    import gan_studio.commands.app as app_command

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)

    def one_line(code: int) -> str:
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("gan-studio: "), err
        return err

    error = one_line(main(["app"]))
    assert "xvfb-run" in error and "gan-studio train" in error and "offscreen" not in error
    monkeypatch.setenv("DISPLAY", ":99")
    loads = app_command._loads
    monkeypatch.setattr(app_command, "_loads", lambda library: library != "libxcb-cursor.so.0")
    error = one_line(main(["app"]))
    assert "missing: sudo apt-get install libxcb-cursor0 (" in error, error
    assert loads("libc.so.6") and not loads("libno-such-library.so.0")


def test_the_app_opened_on_a_run_lists_that_runs_folder(workspace, tmp_path, monkeypatch):
    """`gan-studio app RUN` opened the run, but the Runs panel listed the window's last folder, without it: the
    panel lists the run's folder, unless --workspace names another."""
    import gan_studio.ui.app

    opened = []
    monkeypatch.setattr(gan_studio.ui.app, "main", lambda run=None, workspace=None: opened.append(workspace) or 0)
    monkeypatch.setattr("gan_studio.commands.app.display_problem", lambda: None)
    run = workspace / "gan-ring8-second"
    assert main(["app", str(run)]) == 0 and opened[-1] == str(workspace)
    assert main(["app", str(run), "--workspace", str(tmp_path)]) == 0 and opened[-1] == str(tmp_path)
    assert main(["app"]) == 0 and opened[-1] is None  # the window's last folder


LONG_NAME = "a" * 300  # a pasted line as a run's name: no file system takes a name over 255 bytes


@pytest.mark.parametrize("argv", [
    ["eval", LONG_NAME], ["sample", LONG_NAME], ["export", LONG_NAME], ["fork", LONG_NAME], ["runs", LONG_NAME],
    ["train", "--resume", LONG_NAME], ["app", LONG_NAME], ["sample", f"{LONG_NAME}.onnx"],
    ["data", "clear", LONG_NAME], ["train", "gan", "--data", "ring8", "--out", LONG_NAME],
    ["sample", "run", "--workspace", LONG_NAME],
])  # fmt: skip
def test_a_name_too_long_for_any_file_system_is_one_line_in_every_command(tmp_path, monkeypatch, capsys, argv):
    """A name over 255 bytes raised OSError (File name too long) from whichever check met it first: a traceback
    in nine commands (review s18H #1)."""
    monkeypatch.chdir(tmp_path)
    line = one_line_error(capsys, main(argv))
    assert "cannot be used: File name too long (a name in it has 30" in line and "aaaa" in line
    assert list(tmp_path.iterdir()) == []  # nothing made


def test_a_name_or_value_that_starts_with_a_dash_says_how_to_give_it(tmp_path, capsys):
    """`sample -dash` said only "the following arguments are required: RUN|FILE.onnx" (review s18H #9)."""
    line = one_line_error(capsys, main(["sample", "--workspace", str(tmp_path), "-dash"]))
    assert line.endswith("RUN|FILE.onnx ('-dash' was read as a flag: give a name that starts with '-' after `--`, "
                         "or as ./-dash)")  # fmt: skip
    line = one_line_error(capsys, main(["train", "gan", "--data", "ring8", "--out", "-x"]))
    assert line.endswith("argument --out: expected one argument ('-x' was read as a flag: give it as --out=-x)")
    line = one_line_error(capsys, main(["sample"]))  # a name simply left out: no word on dashes
    assert line == "gan-studio: error: the following arguments are required: RUN|FILE.onnx"

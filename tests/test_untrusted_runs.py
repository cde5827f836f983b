"""Hostile run directories: run.json and metrics.jsonl with wrong types, huge numbers, deep nesting, huge size.

A workspace may hold runs copied from anywhere. Listing it (`list_runs`, `gan-studio runs`) must
still list every run, reporting the broken one with a reason or with sane values; opening the broken
run (`gan-studio sample RUN`, `Trainer.from_checkpoint`) must fail with one clear line.
"""

from __future__ import annotations

import contextlib
import io
import math
import shutil
import tracemalloc
from pathlib import Path

import pytest
from tiny_runs import train_tiny_run

from gan_studio import cli
from gan_studio.engine.trainer import Trainer
from gan_studio.errors import GanStudioError
from gan_studio.store.jsonl import JsonlTail
from gan_studio.store.rundir import RunDir, list_runs, summarise_run

HUGE_INT = "1" + "0" * 400  # valid JSON, but beyond any float

HOSTILE_RUN_JSON = {
    "wrong-types": '{"model": 123, "status": ["x"], "created": "yesterday", "dataset": 5, "model_config": 7}',
    "huge-numbers": f'{{"model": "gan", "status": "finished", "created": {HUGE_INT}, "steps_total": {HUGE_INT}}}',
    "non-finite": '{"model": "gan", "created": 1e999, "step": -1e999}',
    "unknown-model": '{"model": "stylegan9", "status": "running", "created": 1.0}',
    "not-an-object": '["a", "list"]',
    "deeply-nested": "[" * 100_000 + "]" * 100_000,
    "deeply-nested-value": '{"model": "gan", "dataset": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}",
    "not-utf8": b'{"model": "\xff\xfe"}',
    "empty": "",
}

HOSTILE_METRICS = {
    "huge-loss": f'{{"step": 5, "d_loss": {HUGE_INT}, "g_loss": 1e999}}\n',
    "huge-step": f'{{"step": {HUGE_INT}, "loss": 1.0}}\n',
    "wrong-types": '{"step": "five", "d_loss": "low", "loss": [1]}\n[1, 2]\n"text"\n',
    "deeply-nested": "[" * 100_000 + "]" * 100_000 + "\n",
    "binary": b"\x00\xff" * 1000,
}


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    """A real, finished two-step GAN run on ring8."""
    out = tmp_path_factory.mktemp("hostile") / "good"
    train_tiny_run(out, "gan", steps=2, keep_checkpoints=0, latent_dim=2, g_hidden=8, d_hidden=8, g_layers=1,
                   d_layers=1)  # fmt: skip
    return out


def workspace_with(good_run: Path, tmp_path: Path, run_json=None, metrics=None) -> tuple[Path, Path]:
    """A workspace holding the good run and a copy of it with a hostile run.json and/or metrics.jsonl."""
    workspace = tmp_path / "workspace"
    shutil.copytree(good_run, workspace / "good")
    hostile = workspace / "hostile"
    shutil.copytree(good_run, hostile)
    for name, content in (("run.json", run_json), ("metrics.jsonl", metrics)):
        if content is not None:
            data = content if isinstance(content, bytes) else content.encode()
            (hostile / name).write_bytes(data)
    return workspace, hostile


def cli_run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_sane_summary(summary: dict) -> None:
    """Either an error explaining the problem, or values of the types a listing prints."""
    if "error" in summary:
        assert isinstance(summary["error"], str) and summary["error"]
        return
    assert all(isinstance(summary[k], str) for k in ("model", "data", "status"))
    assert isinstance(summary["step"], int) and isinstance(summary["last"], dict)
    assert isinstance(summary["created"], (int, float)) and math.isfinite(summary["created"])


def assert_listing_survives(workspace: Path) -> None:
    runs = list_runs(workspace)
    assert sorted(r["name"] for r in runs) == ["good", "hostile"]
    for summary in runs:
        assert_sane_summary(summary)
    code, out, err = cli_run(["runs", str(workspace)])
    assert code == 0, err
    assert "good" in out and "hostile" in out and "Traceback" not in out + err


@pytest.mark.parametrize("name", sorted(HOSTILE_RUN_JSON))
def test_hostile_run_json_is_reported_not_crashed_on(good_run, tmp_path, name):
    workspace, hostile = workspace_with(good_run, tmp_path, run_json=HOSTILE_RUN_JSON[name])
    assert_listing_survives(workspace)
    code, _, err = cli_run(["sample", str(hostile), "--out", str(tmp_path / "grid.png")])
    if code != 0:  # the checkpoint is intact, so sampling may work; if it refuses, it says why in one line
        assert code == 2 and err.count("\n") == 1 and err.startswith("gan-studio: error: "), err
    try:
        Trainer.from_checkpoint(hostile, {"steps": 3})
    except GanStudioError as exc:
        assert str(exc)


@pytest.mark.parametrize("name", sorted(HOSTILE_METRICS))
def test_hostile_metrics_are_reported_not_crashed_on(good_run, tmp_path, name):
    workspace, hostile = workspace_with(good_run, tmp_path, metrics=HOSTILE_METRICS[name])
    assert_listing_survives(workspace)
    for records in (RunDir(hostile).read_metrics(), JsonlTail(hostile / "metrics.jsonl").read_new()):
        assert all(isinstance(r, dict) for r in records)  # what the app's plots read


def test_run_json_of_100_mb_is_refused_without_reading_it_all(good_run, tmp_path):
    workspace, hostile = workspace_with(good_run, tmp_path)
    with open(hostile / "run.json", "w", encoding="utf-8") as fh:  # written in pieces: no 100 MB string here
        fh.write('{"model": "gan", "pad": "')
        for _ in range(100):
            fh.write("x" * 2**20)
        fh.write('"}')
    tracemalloc.start()
    try:
        summary = summarise_run(hostile)
        assert_listing_survives(workspace)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "error" in summary and "too large" in summary["error"]
    assert peak < 40 * 2**20, f"listing allocated {peak / 2**20:.0f} MiB"


def test_a_2d_view_frame_that_unpacks_to_gigabytes_is_refused_from_its_headers(tmp_path):
    """A 3 MB frames/step-N.npz whose 'generated' declares 3 GB: refused before anything is unpacked."""
    import zipfile

    import numpy as np

    from gan_studio.errors import RunError
    from gan_studio.explore.frames import load_frame

    path = tmp_path / "step-0000040.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in (("step", np.asarray(40)), ("extent", np.zeros(4))):
            buffer = io.BytesIO()
            np.save(buffer, array)
            archive.writestr(f"{name}.npy", buffer.getvalue())
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (37_500_000, 2)})
        with archive.open("generated.npy", "w", force_zip64=True) as fh:
            fh.write(header.getvalue())
            for _ in range(300):
                fh.write(bytes(1_000_000))
    tracemalloc.start()
    try:
        with pytest.raises(RunError, match="not a readable 2D-view frame .*declare 300,000,040 bytes"):
            load_frame(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB"

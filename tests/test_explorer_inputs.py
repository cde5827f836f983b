"""What the explorer reads from outside (a run's exports/, an image to encode, a latent file or the
clipboard) and the exporter's and evaluator's settings: refused by name, never a hang, a traceback
or a silently wrong model."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest
from cli_checks import one_line_error
from PIL import Image
from tiny_runs import train_tiny_run

from gan_studio.cli import main
from gan_studio.errors import ConfigError, DataError
from gan_studio.explore.backends import matching_export
from gan_studio.explore.encoding import load_image_file
from gan_studio.explore.latent import mix_condition, z_from_text
from gan_studio.explore.saving import load_latent
from gan_studio.export.onnx_export import MIN_OPSET, export_run, highest_runnable_opset


@pytest.fixture
def exported_run(tmp_path):
    trainer = train_tiny_run(tmp_path / "run", "gan", steps=4, checkpoint_every=2)
    return trainer.run.path, export_run(trainer.run.path).path


def test_hostile_entries_in_exports_are_passed_over_and_the_real_export_is_used(exported_run):
    run, export = exported_run
    exports = export.parent
    os.mkfifo(exports / "zz-fifo.onnx")  # reading it would block for ever
    (exports / "zz-dangling.onnx").symlink_to(exports / "nowhere.onnx")
    (exports / "zz-garbage.onnx").write_bytes(b"not onnx")
    (exports / "zz-link.onnx").symlink_to(export)  # a symlink is not read, even to a good file
    assert matching_export(run, 4) == (export, "")


def test_an_export_older_than_the_checkpoint_of_its_step_is_not_used(exported_run):
    """After a rewind (--resume --from step-2) and training to step 4 again, the old step-4 export
    is of another history: the explorer draws with torch, and says why."""
    run, export = exported_run
    past = time.time() - 60
    os.utime(export, (past, past))  # the checkpoint was written after the export
    found, why = matching_export(run, 4)
    assert found is None and "older than the checkpoint" in why and "rewound" in why


def test_an_image_to_encode_is_read_like_the_training_images(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(DataError, match="not a regular file: it is a FIFO"):
        load_image_file(tmp_path / "pipe.png", (1, 32, 32))
    big = tmp_path / "big.png"
    Image.new("L", (8000, 8000)).save(big)  # 64 megapixels in a small file
    with pytest.raises(DataError, match="too large"):
        load_image_file(big, (1, 32, 32))
    wide = tmp_path / "wide.png"
    picture = np.zeros((20, 60, 3), np.uint8)
    picture[:, 20:40] = 255  # the centre square is white, the sides black
    Image.fromarray(picture).save(wide)
    x = load_image_file(wide, (3, 32, 32))
    assert x.shape == (3, 32, 32) and x.min() > 0.95  # centre-cropped, as training images are


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"z": [0, 0, 0, 0], "y": [NaN, 1]}', "must be class weights"),
        ('{"z": [0, 0, 0, 0], "y": [-5, 3]}', "must be class weights"),
        ('{"z": [0, 0, 0, 0], "y": [0, 0]}', "must be class weights"),
        ('{"z": [0, 0, 0, 0], "y": [1e39, 0]}', "must be class weights"),
        ('{"z": [%s, 0, 0, 0]}' % ("9" * 400), "too large"),
        ('{"z": [%s, 0, 0, 0]}' % ("9" * 5000), "a number too long"),
        ("[" * 100_000, "nesting too deep"),
        ('{"z": [1e30, 0, 0, 0]}', "beyond"),
    ],
)
def test_a_latent_file_with_bad_values_is_refused_by_name(tmp_path, content, message):
    path = tmp_path / "latent.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_latent(path, 4, 2)
    assert "latent.json" in str(caught.value)
    with pytest.raises(ConfigError):
        z_from_text(content, 4)  # the same text pasted


def test_condition_weights_are_checked_and_huge_ones_do_not_overflow():
    assert np.allclose(mix_condition([1e308, 1e308], 2), [0.5, 0.5])
    for weights in ({"x": 1}, ["a", "b"]):
        with pytest.raises(ConfigError, match="class weights must be numbers"):
            mix_condition(weights, 2)


def test_export_opset_beyond_what_onnx_runtime_runs_is_refused_up_front(exported_run, capsys):
    run, _ = exported_run
    highest = highest_runnable_opset()
    assert MIN_OPSET <= highest
    for opset in (highest + 1, 99999, 0):  # one range in every message, not "at most 1000" for some
        line = one_line_error(capsys, main(["export", str(run), "--opset", str(opset)]))
        assert f"--opset must be between {MIN_OPSET} and {highest}" in line
    for text in ("17.0", "1e308", "abc"):  # not "a whole number from -2147483648 to 2147483647" (review s18H #8)
        line = one_line_error(capsys, main(["export", str(run), "--opset", text]))
        assert f"--opset must be an ONNX opset version, a whole number ({MIN_OPSET} or newer), got '{text}'" in line


def test_eval_refuses_more_neighbours_than_samples(exported_run, capsys):
    run, _ = exported_run
    shutil.rmtree(run / "exports")
    line = one_line_error(capsys, main(["eval", str(run), "--n", "10", "--neighbours", "10", "--no-save"]))
    assert "--neighbours (10) must be below --n (10)" in line


def test_opening_a_fifo_or_folder_as_an_onnx_file_says_what_it_is(tmp_path):
    """Explorer → Open .onnx… on a FIFO said "no such .onnx file" (the CLI said it right)."""
    from gan_studio.errors import ExportError
    from gan_studio.explore.backends import open_source

    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match="not a regular file: it is a FIFO"):
        open_source(fifo)
    with pytest.raises(ExportError, match="no such .onnx file"):
        open_source(tmp_path / "missing.onnx")

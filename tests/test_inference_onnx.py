"""Inference from exported files: provider choice, quiet start-up, the same grid as the run, and one
clear error for each kind of bad file or bad request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx.helper as oh
import onnxruntime as ort
import pytest
from PIL import Image
from tiny_runs import CLASS_NAMES, exported

from gan_studio.cli import main
from gan_studio.errors import ConfigError, ExportError
from gan_studio.export import inference
from gan_studio.export.inference import CPU, PROVIDER_PRIORITY, OnnxGenerator, usable_providers

REPO_ROOT = Path(__file__).resolve().parents[1]
NO_GPU = inference._cuda_device_count() == 0


def test_providers_are_chosen_in_priority_order_and_cpu_is_always_there():
    usable = usable_providers()
    assert usable[-1] == CPU
    assert list(usable) == [p for p in PROVIDER_PRIORITY if p in usable]
    if NO_GPU:  # the GPU build lists CUDA/TensorRT here, but they cannot load without a GPU
        assert usable == (CPU,)


def test_generator_reports_what_it_is_and_which_provider_runs_it():
    _, report = exported("cdcgan-32")
    gen = OnnxGenerator(report.path)
    assert gen.provider == usable_providers()[0]
    assert (gen.model_type, gen.latent_dim, gen.num_classes, gen.step) == ("cdcgan", 8, 3, 3)
    assert gen.class_names == CLASS_NAMES
    assert gen.value_range == (-1.0, 1.0) and gen.image_shape == (1, 32, 32)
    assert gen.metadata.part == "generator"
    z = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    labels = np.array([0, 1, 2, 1])
    images = gen.generate(z, np.eye(3, dtype=np.float32)[labels])
    assert images.shape == (4, 1, 32, 32) and images.dtype == np.float32
    assert np.array_equal(images, gen.generate(z, labels))  # integer labels are one-hot encoded
    assert OnnxGenerator(report.path, providers=["cpu"]).provider == CPU


def _run_quietly(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_loading_and_sampling_print_nothing_but_the_result(tmp_path):
    _, report = exported("dcgan-32")
    out = tmp_path / "grid.png"
    code = (
        "import sys; from gan_studio.cli import main; "
        f"sys.exit(main(['sample', {str(report.path)!r}, '--n', '8', '--out', {str(out)!r}]))"
    )
    result = _run_quietly(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # fd-level: no ONNX Runtime provider errors from the GPU package
    assert result.stdout.strip().splitlines() == [
        f"wrote {out} (8 samples, seed 0, ONNX Runtime ({usable_providers()[0]}))"
    ]
    assert out.is_file()


@pytest.mark.parametrize("allowed", ["", "0"])
def test_onnx_runtime_sends_no_telemetry_and_keeps_no_device_id_unless_the_user_allows_it(tmp_path, allowed):
    """ONNX Runtime 1.31 on Linux uploads usage events and writes a device id into ~/.cache by default (and
    warned at each start when the home was read-only); GAN Studio opts out unless ORT_DISABLE_TELEMETRY says."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "c")}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    if allowed:
        env["ORT_DISABLE_TELEMETRY"] = allowed
    code = "import os, gan_studio.export.inference; print(os.environ['ORT_DISABLE_TELEMETRY'])"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [allowed or "1"]  # the user's own choice stands
    if not allowed:
        assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(int)


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("cdcgan-32", []),
        ("cdcgan-32", ["--label", "2"]),
        ("cdcgan-32", ["--label", "triangle"]),
        ("dcgan-64", []),
        ("cgan-images", []),
        ("vae-images", []),
    ],
)
def test_sample_from_the_onnx_file_draws_the_same_grid_as_the_run(tmp_path, name, extra, capsys):
    run, report = exported(name)
    from_run, from_onnx = tmp_path / "run.png", tmp_path / "onnx.png"
    assert main(["sample", str(run), "--n", "12", "--seed", "5", "--out", str(from_run), *extra]) == 0
    assert main(["sample", str(report.path), "--n", "12", "--seed", "5", "--out", str(from_onnx), *extra]) == 0
    a, b = _png(from_run), _png(from_onnx)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= 1  # within 1/255 per pixel
    assert a.std() > 0  # a real picture, not a blank one
    assert main(["sample", str(run), "--n", "12", "--seed", "6", "--out", str(tmp_path / "other.png"), *extra]) == 0
    assert np.abs(_png(tmp_path / "other.png") - a).max() > 1  # another seed, another grid


def test_point_model_samples_a_scatter_plot(tmp_path, capsys):
    _, report = exported("gan-points")
    out = tmp_path / "points.png"
    assert main(["sample", str(report.path), "--n", "200", "--out", str(out)]) == 0
    assert _png(out).shape[2] == 3
    assert OnnxGenerator(report.path).generate(np.zeros((5, 4), np.float32)).shape == (5, 2)


# --- bad files ------------------------------------------------------------------------------------


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _edited_copy(src: Path, dst: Path, edit) -> Path:
    model = onnx.load(str(src))
    edit(model)
    onnx.save(model, str(dst))
    return dst


def _set_prop(model, key, value):
    for prop in model.metadata_props:
        if prop.key == key:
            prop.value = value


def _with_prop(name: str, key: str, value: str):
    """A BAD_FILES maker: a copy of the export named `name` whose metadata `key` says `value`."""
    return lambda src, tmp: _edited_copy(src, tmp / name, lambda m: _set_prop(m, key, value))


def _rename_input(model, old, new):
    for value in model.graph.input:
        if value.name == old:
            value.name = new
    for node in model.graph.node:
        node.input[:] = [new if name == old else name for name in node.input]


def _foreign_model(path: Path) -> Path:
    graph = oh.make_graph([oh.make_node("Relu", ["x"], ["out"])], "relu",
                          [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, 8])],
                          [oh.make_tensor_value_info("out", onnx.TensorProto.FLOAT, [None, 8])])  # fmt: skip
    onnx.save(oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)]), str(path))
    return path


BAD_FILES = {
    "missing": (lambda src, tmp: tmp / "nope.onnx", "no such ONNX file"),
    "empty": (lambda src, tmp: _write(tmp / "e.onnx", b""), "the file is empty"),
    "garbage": (lambda src, tmp: _write(tmp / "g.onnx", np.random.default_rng(0).bytes(3000)), "not an ONNX model"),
    "truncated": (lambda src, tmp: _write(tmp / "t.onnx", src.read_bytes()[:-200]), "not a readable ONNX model"),
    "foreign": (lambda src, tmp: _foreign_model(tmp / "f.onnx"), "not a GAN Studio ONNX export"),
    "renamed input": (lambda src, tmp: _edited_copy(src, tmp / "r.onnx", lambda m: _rename_input(m, "z", "noise")),
                      "the model's inputs are ['noise', 'y']"),
    "wrong z width": (_with_prop("w.onnx", "latent_dim", "5"),
                      "input 'z' has shape"),
    "bad metadata": (_with_prop("b.onnx", "num_classes", "x"),
                     "metadata 'num_classes' should be an integer"),
    "directory": (lambda src, tmp: tmp, "not a regular file: it is a folder"),
    # metadata that would make sampling allocate gigabytes, or fail deep inside with a traceback
    "images without a range": (_with_prop("v.onnx", "value_range", "null"),
                               "metadata 'value_range' is null"),
    "2-axis image shape": (_with_prop("s.onnx", "image_shape", "[32, 32]"),
                           "is not (channels 1 or 3, height, width)"),
    "5 channels": (_with_prop("c.onnx", "image_shape", "[5, 8, 8]"),
                   "is not (channels 1 or 3, height, width)"),
    "huge image": (_with_prop("h.onnx", "image_shape", "[1, 100000, 100000]"),
                   "with sides up to 4096"),
    "huge latent": (_with_prop("l.onnx", "latent_dim", "10000000000"),
                    "metadata 'latent_dim' 10000000000 is beyond 65536"),
    "long class name": (lambda src, tmp: _edited_copy(src, tmp / "n.onnx", lambda m: _set_prop(
        m, "class_names", json.dumps(["x" * 300, "b", "c"]))), "a name of over 256 characters"),
    "3 GB file": (lambda src, tmp: _sparse(tmp / "big.onnx", 3 * 2**30), "file is too large"),
    # a real first tag, then 1.5 GB: refused by its size, not read whole (14 s and 1.8 GB of memory)
    "1.5 GB behind a real start": (lambda src, tmp: _grown(tmp / "grown.onnx", src, 3 * 2**29), "file is too large"),
    "fifo": (lambda src, tmp: _fifo(tmp / "pipe.onnx"), "not a regular file: it is a FIFO"),
    # refused from its first bytes, not after reading 800 MB into memory
    "800 MB of zeros": (lambda src, tmp: _sparse(tmp / "zeros.onnx", 3 * 2**28), "not an ONNX model: its first bytes"),
    "a PNG renamed": (lambda src, tmp: _write(tmp / "p.onnx", b"\x89PNG\r\n\x1a\n" + bytes(100)), "not an ONNX model"),
}  # fmt: skip


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(size)  # takes no disk space, and must not be read into memory either
    return path


def _grown(path: Path, source: Path, size: int) -> Path:
    path.write_bytes(source.read_bytes())
    with open(path, "r+b") as fh:
        fh.truncate(size)  # sparse: no disk taken
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)  # opening it for reading would block for ever
    return path


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_each_bad_file_gets_one_clear_error(tmp_path, capsys, kind):
    _, report = exported("cdcgan-32")
    make, message = BAD_FILES[kind]
    path = make(report.path, tmp_path)
    with pytest.raises(ExportError) as caught:
        OnnxGenerator(path)
    assert message in str(caught.value)
    if kind != "directory":  # a folder given to `sample` is read as a run directory instead
        assert main(["sample", str(path), "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_only_the_batch_of_an_outputs_shape_may_be_symbolic():
    """A symbolic height could be anything at run time (a crafted file made 20000x20000 per sample)."""
    gen = OnnxGenerator(exported("dcgan-32")[1].path)
    gen._check_shape("image", ["batch", 3, 32, 32], (3, 32, 32), static=True)
    with pytest.raises(ExportError, match="output 'image' gives shape"):
        gen._check_shape("image", ["batch", 3, "height", 32], (3, 32, 32), static=True)


def test_an_encoder_file_is_not_a_generator():
    _, report = exported("vae-images", "encoder")
    with pytest.raises(ExportError, match="drawing samples needs a generator or decoder export"):
        OnnxGenerator(report.path)


# --- bad requests ---------------------------------------------------------------------------------


def test_bad_generate_arguments_are_config_errors():
    gen = OnnxGenerator(exported("cdcgan-32")[1].path)
    z = np.zeros((2, 8), np.float32)
    with pytest.raises(ConfigError, match=r"z must have shape \(N, 8\)"):
        gen.generate(np.zeros((2, 5), np.float32), np.array([0, 1]))
    with pytest.raises(ConfigError, match="conditional: give labels y"):
        gen.generate(z)
    with pytest.raises(ConfigError, match="labels must be between 0 and 2"):
        gen.generate(z, np.array([0, 3]))
    with pytest.raises(ConfigError, match="one-hot of shape"):
        gen.generate(z, np.zeros((2, 4), np.float32))
    with pytest.raises(ConfigError, match=r"integer labels, got float64 values of shape \(2,\)"):
        gen.generate(z, np.array([0.0, 1.5]))  # not the shape it names as accepted, but float labels
    unconditional = OnnxGenerator(exported("dcgan-32")[1].path)
    with pytest.raises(ConfigError, match="unconditional"):
        unconditional.generate(z, np.array([0, 1]))


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("cdcgan-32", ["--label", "3"], "--label must be between 0 and 2 (circle, square, triangle), got 3"),
        ("cdcgan-32", ["--label", "-1"], "--label must be between 0 and 2 (circle, square, triangle), got -1"),
        ("cdcgan-32", ["--label", "Square"], "--label 'Square' is not a class index or name; did you mean 'square'?"),
        ("cdcgan-32", ["--label", "9" * 5000], "is not a class index or name (classes: circle, square, triangle)"),
        ("dcgan-32", ["--label", "0"], "--label is only for conditional models"),
        ("dcgan-32", ["--n", "0"], "--n must be at least 1"),
        ("dcgan-32", ["--provider", "NoSuchExecutionProvider"], "cannot run on this machine"),
        ("dcgan-32", ["--device", "cuda"], "--device is for runs (torch); an .onnx file runs in ONNX Runtime"),
    ],
)
def test_bad_sample_requests_get_one_clear_line(tmp_path, capsys, name, args, message):
    _, report = exported(name)
    assert main(["sample", str(report.path), "--out", str(tmp_path / "x.png"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


@pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU, so CUDA may well be usable")
def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    assert "CUDAExecutionProvider" in ort.get_available_providers()  # the GPU build of onnxruntime
    with pytest.raises(ExportError, match="'CUDAExecutionProvider' cannot run on this machine"):
        OnnxGenerator(exported("dcgan-32")[1].path, providers=["CUDAExecutionProvider"])


def test_a_model_that_draws_nan_is_an_error_not_a_blank_grid(tmp_path, capsys):
    _, report = exported("cdcgan-32")

    def poison(model):
        weights = max(model.graph.initializer, key=lambda t: len(onnx.numpy_helper.to_array(t).ravel()))
        values = onnx.numpy_helper.to_array(weights).copy()
        values.flat[0] = np.nan
        weights.CopyFrom(onnx.numpy_helper.from_array(values, weights.name))

    path = _edited_copy(report.path, tmp_path / "nan.onnx", poison)
    assert main(["sample", str(path), "--out", str(tmp_path / "grid.png")]) == 2
    err = capsys.readouterr().err
    assert "the model gave NaN or infinite values in 'image' for 64 of 64 inputs" in err
    assert not (tmp_path / "grid.png").exists()


def test_control_codes_in_class_names_reach_the_terminal_as_escapes(tmp_path, capsys):
    """A class name holding ESC [ 2 J (clear the screen), quoted in an error, must not act on the terminal."""
    _, report = exported("cdcgan-32")
    names = json.dumps(["circle\x1b[2J", "square\x07", "tri\nangle"])
    path = _edited_copy(report.path, tmp_path / "codes.onnx", lambda m: _set_prop(m, "class_names", names))
    assert main(["sample", str(path), "--label", "7", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "circle\\x1b[2J" in err and "\x1b" not in err and "\x07" not in err and err.count("\n") == 1


def test_label_takes_a_class_name_as_well_as_an_index(tmp_path):
    run, report = exported("cdcgan-32")
    for source in (run, report.path):
        by_name, by_index = tmp_path / "name.png", tmp_path / "index.png"
        assert main(["sample", str(source), "--label", "triangle", "--out", str(by_name)]) == 0
        assert main(["sample", str(source), "--label", "2", "--out", str(by_index)]) == 0
        assert by_name.read_bytes() == by_index.read_bytes()

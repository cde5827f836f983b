"""ONNX export: every model type passes parity, carries metadata, runs in onnx.reference, has no
BatchNorm left, takes any batch size, and a failed parity check leaves no file and exits non-zero."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
from onnx.reference import ReferenceEvaluator
from tiny_runs import CLASS_NAMES, TINY_RUNS, exported

import gan_studio
from gan_studio.cli import main
from gan_studio.export import onnx_export
from gan_studio.export.inference import OnnxEncoder, OnnxGenerator
from gan_studio.export.metadata import ExportMetadata
from gan_studio.export.onnx_export import TOLERANCE, fold_batchnorm
from gan_studio.models import get_spec
from gan_studio.models.base import one_hot
from gan_studio.store.loaded import load_run

EXPORTS = [(name, "generator") for name in TINY_RUNS] + [("vae-images", "encoder"), ("cvae-images", "encoder")]


def torch_part(model, part):
    return model.encoder if part == "encoder" else model.generator if model.family == "gan" else model.decoder


@pytest.mark.parametrize(("name", "part"), EXPORTS)
def test_every_model_type_exports_a_checked_self_contained_file(name, part):
    run, report = exported(name, part)
    model_name = TINY_RUNS[name][0]
    stored_part = "encoder" if part == "encoder" else "generator" if get_spec(model_name).family == "gan" else "decoder"
    assert report.path == run / "exports" / f"{stored_part}-step-0000003.onnx"
    assert report.path.is_file()
    assert report.max_abs_diff <= TOLERANCE
    assert report.reference_max_abs_diff is not None and report.reference_max_abs_diff <= TOLERANCE
    assert report.parity_samples == 64

    model = onnx.load(str(report.path))
    onnx.checker.check_model(model, full_check=True)
    assert "BatchNormalization" not in {node.op_type for node in model.graph.node}
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    assert sorted(p.name for p in report.path.parent.iterdir() if not p.name.endswith(".onnx")) == []
    loaded = load_run(run)
    batchnorms = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in torch_part(loaded.model, part).modules())
    assert report.batchnorm_folded == batchnorms
    if get_spec(model_name).channels is not None:  # the convolutional models
        assert batchnorms > 0

    sample = "image" if TINY_RUNS[name][2] == "images" else "points"
    labels = ["y"] if loaded.num_classes else []
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    if part == "encoder":
        assert (inputs, outputs) == ([sample, *labels], ["mu", "logvar"])
    else:
        assert (inputs, outputs) == (["z", *labels], [sample])
    for value in [*model.graph.input, *model.graph.output]:
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"

    summary = report.summary()
    assert "max abs diff" in summary and str(report.path) in summary and "onnx.reference" in summary


@pytest.mark.parametrize("name", ["cdcgan-32", "vae-points", "dcgan-64"])
def test_metadata_describes_the_model(name):
    run, report = exported(name)
    model_name, _, kind, channels, size = TINY_RUNS[name]
    proto = onnx.load(str(report.path))
    props = {p.key: p.value for p in proto.metadata_props}
    meta = ExportMetadata.from_props(props)
    loaded = load_run(run)
    docs = {value.name: value.doc_string for value in [*proto.graph.input, *proto.graph.output]}
    assert f"latent vectors (N, {loaded.latent_dim})" in docs["z"]  # each tensor says what it is (Netron shows it)
    assert "y" not in docs or "one-hot" in docs["y"] and CLASS_NAMES[0] in docs["y"]
    assert all(docs.values()), docs
    assert meta.model_type == model_name and props["model_type"] == model_name
    assert meta.latent_dim == loaded.latent_dim
    assert meta.num_classes == loaded.num_classes
    assert list(meta.class_names) == (CLASS_NAMES if loaded.num_classes else [])
    assert meta.step == 3 and meta.run_name == name
    assert meta.gan_studio_version == gan_studio.__version__
    assert meta.data_kind == kind
    if kind == "images":
        assert meta.image_shape == (channels, size, size)
        assert meta.value_range == loaded.model.output_range
        assert "uint8" in meta.pixel_mapping
    else:
        assert meta.image_shape == (2,) and meta.value_range is None
    assert props == report.metadata


def _torch_outputs(loaded, part, inputs):
    with torch.no_grad():
        if part == "encoder":
            return [t.numpy() for t in loaded.model.encode(*inputs)]
        return [loaded.model.generate(*inputs).numpy()]


def _random_inputs(loaded, part, n, seed):
    gen = torch.Generator().manual_seed(seed)
    if part == "encoder":
        first = torch.rand(n, *loaded.data_info.shape, generator=gen)
    else:
        first = torch.randn(n, loaded.latent_dim, generator=gen)
    if not loaded.num_classes:
        return [first]
    return [first, one_hot(torch.arange(n) % loaded.num_classes, loaded.num_classes)]


@pytest.mark.parametrize(("name", "part"), EXPORTS)
def test_any_batch_size_and_the_reference_evaluator_match_torch(name, part):
    run, report = exported(name, part)
    loaded = load_run(run)
    runner = OnnxEncoder(report.path) if part == "encoder" else OnnxGenerator(report.path)
    for batch in (1, 7):
        inputs = _random_inputs(loaded, part, batch, seed=batch)
        arrays = [t.numpy() for t in inputs]
        got = runner.encode(*arrays) if part == "encoder" else [runner.generate(*arrays)]
        for a, e in zip(got, _torch_outputs(loaded, part, inputs), strict=True):
            assert a.shape == e.shape and a.shape[0] == batch
            assert np.abs(a - e).max() <= TOLERANCE
    inputs = _random_inputs(loaded, part, 2, seed=11)
    feeds = {i.name: t.numpy() for i, t in zip(onnx.load(str(report.path)).graph.input, inputs, strict=True)}
    reference = ReferenceEvaluator(str(report.path)).run(None, feeds)
    for a, e in zip(reference, _torch_outputs(loaded, part, inputs), strict=True):
        assert np.abs(a - e).max() <= TOLERANCE


def test_fold_batchnorm_keeps_the_function_and_removes_every_batchnorm():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
        nn.ConvTranspose2d(4, 5, 4, 2, 1), nn.BatchNorm2d(5), nn.Flatten(),
        nn.Linear(5 * 8 * 8, 6), nn.BatchNorm1d(6),
    )  # fmt: skip
    for bn in (net[1], net[4], net[7]):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-1, 1)
    net.eval()
    x = torch.randn(3, 3, 4, 4)
    with torch.no_grad():
        before = net(x)
        assert fold_batchnorm(net) == 3
        after = net(x)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
    assert torch.allclose(before, after, atol=1e-5)


def test_cli_export_prints_the_report_and_honours_out_and_opset(tmp_path, capsys):
    run, _ = exported("cgan-images")
    out = tmp_path / "g.onnx"
    assert main(["export", str(run), "--out", str(out), "--opset", "17", "--reference-samples", "0"]) == 0
    printed = capsys.readouterr().out
    assert "max abs diff" in printed and "every one of the 3 classes" in printed and "reference   not run" in printed
    model = onnx.load(str(out))
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    assert ExportMetadata.from_props({p.key: p.value for p in model.metadata_props}).model_type == "cgan"
    # --json: scripts read the file and the figures, not the words (review s17C #10)
    assert main(["export", str(run), "--out", str(tmp_path / "j.onnx"), "--reference-samples", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["path"] == str(tmp_path / "j.onnx") and (tmp_path / "j.onnx").stat().st_size == report["size_bytes"]
    assert report["inputs"]["z"][0] == "batch" and report["metadata"]["model_type"] == "cgan"
    assert 0 <= report["max_abs_diff"] <= report["tolerance"] and report["reference_samples"] == 2


def corrupt_every_export(monkeypatch) -> None:
    """Exports built from now on have their largest weight shifted by 0.05: parity must fail."""
    real_build = onnx_export.build_onnx

    def corrupted_build(*args, **kwargs):
        model = real_build(*args, **kwargs)
        weights = max(model.graph.initializer, key=lambda t: len(onnx.numpy_helper.to_array(t).ravel()))
        weights.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(weights) + 0.05, weights.name))
        return model

    monkeypatch.setattr(onnx_export, "build_onnx", corrupted_build)


def test_failed_parity_check_leaves_no_file_and_exits_non_zero(monkeypatch, capsys):
    run, _ = exported("gan-points")
    corrupt_every_export(monkeypatch)
    before = sorted((run / "exports").iterdir())
    assert main(["export", str(run), "--part", "generator"]) == 2
    err = capsys.readouterr().err
    assert "parity check failed" in err and "no file was written" in err
    assert sorted((run / "exports").iterdir()) == before  # neither the file nor its temporary copy


def test_points_in_large_units_export_with_a_limit_scaled_to_their_size_and_a_broken_file_still_fails(
    tmp_path, monkeypatch, capsys
):
    """2D points in units of hundreds: float32 rounding alone is above 1e-4 there, so the limit is 1e-4 of
    the largest output; a corrupted graph is refused all the same."""
    angles = np.random.default_rng(0).uniform(0, 2 * np.pi, 256)
    np.savez(tmp_path / "wide.npz", x=(500 * np.stack([np.cos(angles), np.sin(angles)], 1)).astype(np.float32))
    run = tmp_path / "run"
    assert main(["train", "gan", "--data", str(tmp_path / "wide.npz"), "--steps", "20", "--g-hidden", "16",
                 "--d-hidden", "16", "--sample-every", "0", "--out", str(run)]) == 0  # fmt: skip
    assert main(["export", str(run)]) == 0
    out = capsys.readouterr().out
    limit = float(out.split("limit ")[1].split(")")[0])
    assert 1e-4 < limit < 0.5  # scaled to outputs of a few hundred, not to anything
    assert onnx_export.parity_limit([np.array([[0.3, -1.0]], np.float32)]) == TOLERANCE  # pixels keep 1e-4
    corrupt_every_export(monkeypatch)
    assert main(["export", str(run), "--out", str(tmp_path / "broken.onnx")]) == 2
    assert "parity check failed" in capsys.readouterr().err and not (tmp_path / "broken.onnx").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "{missing}"], "no such run directory"),
        (["export", "{gan}", "--part", "encoder"], "only VAEs have an encoder"),
        (["export", "{gan}", "--opset", "5"], "--opset must be between"),
        (["export", "{gan}", "--out", "{file}/g.onnx"], "cannot create the folder for the export"),
    ],
)
def test_bad_export_requests_get_one_clear_line(tmp_path, capsys, args, message):
    run, _ = exported("gan-points")
    (tmp_path / "file").write_text("a file, not a folder")
    args = [a.format(missing=tmp_path / "nope", gan=run, file=tmp_path / "file") for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_export_of_an_ema_generator_passes_parity_and_draws_the_averaged_weights(tmp_path):
    """The exported generator is the moving average (what grids and evaluation show), BatchNorm folded."""
    from gan_studio.config import apply_values
    from gan_studio.engine.settings import TrainConfig
    from gan_studio.engine.trainer import Trainer
    from gan_studio.export.onnx_export import export_run
    from gan_studio.models import default_config

    config = apply_values(default_config("gan"), {"g_hidden": 16, "d_hidden": 16, "latent_dim": 4, "ema_decay": 0.9})
    train = apply_values(TrainConfig(), {"data": "ring8", "steps": 12, "batch_size": 16, "sample_every": 0})
    trainer = Trainer.new("gan", config, train, out=tmp_path / "ema")
    for _ in trainer:
        pass
    report = export_run(trainer.run.path)
    assert report.max_abs_diff <= TOLERANCE and report.batchnorm_folded == 3
    loaded = load_run(trainer.run.path)
    z = torch.randn(32, 4, generator=torch.Generator().manual_seed(1))
    onnx_out = OnnxGenerator(report.path).generate(z.numpy())
    with torch.no_grad():
        averaged, trained = loaded.model.generator_ema(z), loaded.model.generator(z)
    assert np.allclose(onnx_out, averaged.numpy(), atol=TOLERANCE)
    assert not np.allclose(onnx_out, trained.numpy(), atol=TOLERANCE)

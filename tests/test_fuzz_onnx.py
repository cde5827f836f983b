"""Fuzzing ONNX files: mutated bytes of a real export, and real exports with mutated metadata or inputs.

`OnnxGenerator` (what `gan-studio sample FILE.onnx` and the explorer use) must refuse anything it
cannot use with a GanStudioError (ExportError for the file, ConfigError for inputs), and a file
it accepts must generate. Budget and bounds: tests/fuzz_support.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from fuzz_support import FUZZ, bounded, mutated
from hypothesis import given
from hypothesis import strategies as st
from tiny_runs import train_tiny_run

from gan_studio.errors import ExportError, GanStudioError
from gan_studio.export.inference import OnnxGenerator
from gan_studio.export.onnx_export import export_run


@pytest.fixture(scope="module")
def export_bytes(tmp_path_factory) -> bytes:
    """The generator of a real two-step run of a tiny conditional GAN, exported to ONNX."""
    root = tmp_path_factory.mktemp("fuzz-onnx")
    train_tiny_run(root / "run", "cgan", steps=2, keep_checkpoints=0, latent_dim=2, g_hidden=8, d_hidden=8,
                   g_layers=1, d_layers=1)  # fmt: skip
    return export_run(root / "run", out=root / "generator.onnx").path.read_bytes()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-onnx-scratch")


def open_and_generate(path: Path) -> np.ndarray:
    """What `gan-studio sample FILE.onnx` does: open the file, then draw one sample per class."""
    generator = OnnxGenerator(path, providers=["cpu"])
    if generator.latent_dim > 4096:
        raise AssertionError(f"accepted an absurd latent size {generator.latent_dim}")
    n = max(1, generator.num_classes)
    z = np.zeros((n, generator.latent_dim), dtype=np.float32)
    labels = np.arange(n) if generator.num_classes else None
    return generator.generate(z, labels)


def check_outcome(result) -> None:
    assert isinstance(result, (np.ndarray, GanStudioError))
    if isinstance(result, np.ndarray):
        assert result.dtype == np.float32 and result.shape[0] >= 1


@FUZZ
@given(data=st.data())
def test_fuzz_onnx_bytes(scratch, export_bytes, data):
    path = scratch / "mutated.onnx"
    path.write_bytes(data.draw(mutated(export_bytes)))
    check_outcome(bounded(open_and_generate, path))


METADATA_KEYS = ["gan_studio.format", "model_type", "family", "part", "latent_dim", "num_classes", "class_names",
                 "data_kind", "image_shape", "value_range", "inputs", "outputs", "step"]  # fmt: skip
odd_texts = st.one_of(
    st.sampled_from(
        [
            "",
            "-1",
            "0",
            "1",
            "3",
            "999999999999",
            "1e9",
            "nan",
            "null",
            "[]",
            "[1, 2]",
            '["a"]',
            "[-1, 1]",
            "[1, 1]",
            "[1e308, -1e308]",
            "{}",
            "generator",
            "decoder",
            "encoder",
            "gan",
            "vae",
            "images",
            "points",
            "gan-studio-onnx/1",
            "[" * 5000,
            f"[0, {'9' * 400}]",
        ]
    ),  # fmt: skip
    st.text(max_size=12),
)


def write_with_metadata(export_bytes: bytes, edits: dict, path: Path, input_width: int | None = None) -> Path:
    """The export with metadata entries replaced (None removes one) and, optionally, z's declared width."""
    proto = onnx.load_from_string(export_bytes)
    props = {p.key: p.value for p in proto.metadata_props}
    for key, value in edits.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    del proto.metadata_props[:]
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=value)
    if input_width is not None:  # the graph itself is left as it was
        proto.graph.input[0].type.tensor_type.shape.dim[1].dim_value = input_width
    path.write_bytes(proto.SerializeToString())
    return path


@FUZZ
@given(
    edits=st.dictionaries(st.sampled_from(METADATA_KEYS), st.one_of(odd_texts, st.none()), min_size=1, max_size=3),
    input_width=st.one_of(st.none(), st.integers(-1, 5), st.sampled_from([2**31 - 1, 2**40])),
)
def test_fuzz_onnx_metadata_and_inputs(scratch, export_bytes, edits, input_width):
    path = write_with_metadata(export_bytes, edits, scratch / "edited.onnx", input_width)
    check_outcome(bounded(open_and_generate, path))


# --- regressions found by the fuzzers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "edits",
    [{"class_names": "[" * 5000}, {"value_range": f"[0, {'9' * 400}]"}],
    ids=["deeply-nested-json", "range-beyond-float"],
)
def test_metadata_that_once_crashed_the_reader_is_an_export_error(scratch, export_bytes, edits):
    path = write_with_metadata(export_bytes, edits, scratch / "regression.onnx")
    assert isinstance(bounded(open_and_generate, path), ExportError)


def test_model_that_fails_inside_onnx_runtime_is_an_export_error(scratch, export_bytes):
    """ONNX Runtime's own exception escaped from generate() (found by test_fuzz_onnx_bytes: a damaged weight)."""
    path = write_with_metadata(export_bytes, {"latent_dim": "3"}, scratch / "runtime-failure.onnx")
    proto = onnx.load(path)
    proto.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "width"  # so the file passes the width check
    path.write_bytes(proto.SerializeToString())
    error = bounded(open_and_generate, path)
    assert isinstance(error, ExportError) and "failed to run" in str(error)

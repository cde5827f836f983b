"""Export a run's generator, VAE decoder or VAE encoder to one self-contained ONNX file, verified.

Every export: a CPU eval-mode copy of the model with BatchNorm folded into the preceding
(transposed) convolution or linear layer; the torch.export-based ONNX exporter with a dynamic batch
axis; GAN Studio metadata (see metadata.py); then a parity check of ONNX Runtime against the
original torch model on 64 random inputs (every class for conditional models) and, with
`check=True`, ONNX's pure-Python reference evaluator on a few of them. Above 1e-4 the export is
refused: the file is written to a temporary name and only renamed into place once it passes.

Graph names: inputs `z` (N, latent) and `y` (N, K one-hot float, conditional models only); output
`image` (N, C, H, W), or `points` (N, 2) for 2D point models. Encoders: input `image` (or
`points`) [+ `y`], outputs `mu` and `logvar` (N, latent).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import logging
import time
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

import gan_studio
from gan_studio.errors import ConfigError, ExportError, GanStudioError
from gan_studio.export.inference import CPU, create_session, first_line
from gan_studio.export.metadata import ExportMetadata
from gan_studio.files import DISK_FULL_ERRNOS, DiskFullError, atomic_write
from gan_studio.models.base import one_hot
from gan_studio.store.loaded import load_run
from gan_studio.store.rundir import RunDir

DEFAULT_OPSET = 18  # the torch.export-based exporter's native opset; ONNX Runtime and TensorRT run it
MIN_OPSET = 17
PARITY_SAMPLES = 64  # random inputs compared between torch and ONNX Runtime
REFERENCE_SAMPLES = (
    2  # inputs run through onnx.reference (pure Python: about 2 s each for a 64 px DCGAN); 2 exercise the batch axis
)
TOLERANCE = 1e-4  # largest accepted difference from torch, relative to the outputs' scale (at least 1)
EXAMPLE_BATCH = 2  # batch of the tracing inputs (not 0 or 1, so the batch axis stays symbolic)
PART_CHOICES = ("generator", "decoder", "encoder")


@dataclass
class ExportReport:
    """The outcome of an export: where the file is, what it takes and gives, and how well it matches torch."""

    path: Path
    part: str
    max_abs_diff: float
    reference_max_abs_diff: float | None
    inputs: dict[str, list]  # name -> shape, "batch" for the dynamic axis
    metadata: dict[str, str]
    seconds: float
    outputs: dict[str, list] = field(default_factory=dict)
    parity_samples: int = PARITY_SAMPLES
    reference_samples: int = 0
    opset: int = DEFAULT_OPSET
    size_bytes: int = 0
    batchnorm_folded: int = 0
    tolerance: float = TOLERANCE

    def summary(self) -> str:
        """Readable multi-line report for the CLI and the app."""
        meta = self.metadata
        classes = int(meta.get("num_classes", 0))
        every_class = f", every one of the {classes} classes" if classes else ""
        reference = (
            f"{self.reference_max_abs_diff:.2e} on {self.reference_samples} inputs (onnx.reference evaluator)"
            if self.reference_max_abs_diff is not None
            else "not run"
        )
        lines = [
            f"exported {meta.get('model_type')} {self.part} of run '{meta.get('run_name')}' at step {meta.get('step')}",
            f"  file        {self.path} ({self.size_bytes / 1e6:.2f} MB, opset {self.opset}, self-contained)",
            f"  inputs      {_describe_io(self.inputs)}",
            f"  outputs     {_describe_io(self.outputs)}",
            f"  values      {meta.get('pixel_mapping') if self.part != 'encoder' else _encoder_input(meta)}",
            f"  BatchNorm   {self.batchnorm_folded} layer(s) folded into the preceding weights; none left in the graph",
            f"  parity      max abs diff {self.max_abs_diff:.2e} vs torch on {self.parity_samples} inputs"
            f"{every_class} (ONNX Runtime CPU; limit {self.tolerance:g})",
            f"  reference   {reference}",
            f"  took        {self.seconds:.1f} s",
        ]
        return "\n".join(lines)

    def to_json(self) -> dict:
        """The report for scripts (`gan-studio export --json`): every field, the file's path as a string."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "path": str(self.path)}


def _encoder_input(meta: dict[str, str]) -> str:
    if meta.get("data_kind") == "points":
        return "input rows are 2D points (x, y) in the data's coordinates"
    lo, hi = json.loads(meta["value_range"])
    return f"input images in [{lo:g}, {hi:g}], as the model was trained on"


def _describe_io(io_shapes: dict[str, list]) -> str:
    return ", ".join(f"{name} ({', '.join(map(str, shape))}) float32" for name, shape in io_shapes.items())


# --- what to export --------------------------------------------------------------------------------


class _GenerateGraph(nn.Module):
    """The traced function of a generator/decoder export: model.generate(z, y) (VAE: with the sigmoid)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.model.generate(z, y)  # (N, C, H, W) or (N, D)


class _EncodeGraph(nn.Module):
    """The traced function of an encoder export: model.encode(x, y) -> (mu, logvar)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(x, y)  # (N, latent) each


def resolve_part(family: str, part: str) -> str:
    """The part name stored in the file: GANs export their generator; VAEs their decoder or encoder."""
    if part not in PART_CHOICES:
        raise ConfigError(f"--part must be one of {', '.join(PART_CHOICES)}, got '{part}'")
    if part == "encoder":
        if family != "vae":
            raise ConfigError("only VAEs have an encoder; a GAN exports its generator (--part generator)")
        return "encoder"
    return "generator" if family == "gan" else "decoder"


def _part_module(model: nn.Module, part: str) -> nn.Module:
    """The sub-network a part runs: the GAN generator, or the VAE decoder or encoder."""
    return model.encoder if part == "encoder" else model.sampler if part == "generator" else model.decoder


def _io_names(model: nn.Module, part: str) -> tuple[list[str], list[str]]:
    sample_name = "image" if model.data.kind == "images" else "points"
    labels = ["y"] if model.num_classes else []
    if part == "encoder":
        return [sample_name, *labels], ["mu", "logvar"]
    return ["z", *labels], [sample_name]


def parity_inputs(model: nn.Module, part: str, n: int = PARITY_SAMPLES, seed: int = 0) -> list[torch.Tensor]:
    """Random inputs for the checks: n latents (or samples) with labels cycling through every class."""
    gen = torch.Generator().manual_seed(seed)
    k = model.num_classes
    n = max(n, k)
    if part == "encoder":
        if model.data.kind == "images":
            lo, hi = model.output_range
            first = lo + (hi - lo) * torch.rand(n, *model.data.shape, generator=gen)
        else:
            first = torch.randn(n, *model.data.shape, generator=gen)
    else:
        first = torch.randn(n, model.latent_dim, generator=gen)
    if not k:
        return [first]
    return [first, one_hot(torch.arange(n) % k, k)]


# --- BatchNorm folding -----------------------------------------------------------------------------


def fold_batchnorm(module: nn.Module) -> int:
    """Fold every eval-mode BatchNorm that follows a Conv2d, ConvTranspose2d or Linear inside an
    nn.Sequential into that layer's weights (in place; the BatchNorm becomes Identity). Returns the count."""
    folded = 0
    for container in list(module.modules()):
        if not isinstance(container, nn.Sequential):
            continue
        names = list(container._modules)
        for prev_name, name in zip(names, names[1:], strict=False):
            prev, bn = container._modules[prev_name], container._modules[name]
            if not isinstance(bn, nn.modules.batchnorm._BatchNorm) or not bn.track_running_stats:
                continue
            if isinstance(prev, nn.ConvTranspose2d) and prev.groups == 1:
                fused = fuse_conv_bn_eval(prev, bn, transpose=True)
            elif isinstance(prev, nn.Conv2d):
                fused = fuse_conv_bn_eval(prev, bn)
            elif isinstance(prev, nn.Linear) and bn.num_features == prev.out_features:
                fused = fuse_linear_bn_eval(prev, bn)
            else:
                continue
            container._modules[prev_name] = fused
            container._modules[name] = nn.Identity()
            folded += 1
    return folded


# --- the export ------------------------------------------------------------------------------------


def default_export_path(run_path: str | Path, part: str, step: int) -> Path:
    return RunDir(Path(run_path)).export_path(part, step)


def export_run(run_path: str | Path, out: str | Path | None = None, part: str = "generator",
               opset: int | None = None, *, check: bool = True, reference_samples: int = REFERENCE_SAMPLES,
               checkpoint: str | None = None) -> ExportReport:  # fmt: skip
    """Export a run's generator (GAN), decoder or encoder (VAE) to ONNX; see the module docstring.

    Default file: RUN/exports/<part>-step-<step>.onnx. ExportError (no file left) when the parity
    check fails. `check` also runs the onnx.reference evaluator on `reference_samples` inputs.
    """
    loaded = load_run(run_path, checkpoint=checkpoint)
    resolved = resolve_part(loaded.family, part)
    if out is None:
        RunDir(loaded.path).ensure_folder("exports")  # a symlinked exports/ is refused, never written through
        out = default_export_path(loaded.path, resolved, loaded.step)
    elif Path(out).is_dir():
        out = Path(out) / default_export_path(loaded.path, resolved, loaded.step).name
    return export_model(loaded.model, out, part, opset, model_type=loaded.model_name, step=loaded.step,
                        run_name=loaded.path.name, check=check, reference_samples=reference_samples)  # fmt: skip


def export_model(model: nn.Module, out: str | Path, part: str = "generator", opset: int | None = None, *,
                 model_type: str, step: int = 0, run_name: str = "", check: bool = True,
                 reference_samples: int = REFERENCE_SAMPLES) -> ExportReport:  # fmt: skip
    """Export a GAN Studio model object (see `export_run`, which loads one from a run)."""
    started = time.perf_counter()
    part = resolve_part(model.family, part)
    opset = _check_opset(opset)
    out = Path(out)
    try:  # fail before the slow part when the file cannot be written
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the folder for the export: {exc.strerror or exc}", out) from None
    reference = copy.deepcopy(model).cpu().float().eval()
    folded = copy.deepcopy(reference)
    folded_count = fold_batchnorm(_part_module(folded, part))
    graph_cls = _EncodeGraph if part == "encoder" else _GenerateGraph
    input_names, output_names = _io_names(model, part)

    inputs = parity_inputs(reference, part)
    with torch.no_grad():
        expected = _as_list(graph_cls(reference)(*inputs))
    proto = build_onnx(graph_cls(folded).eval(), [t[:EXAMPLE_BATCH] for t in inputs], input_names, output_names, opset)
    _check_no_batchnorm(proto)
    metadata = _metadata(reference, part, model_type, step, run_name, input_names, output_names)
    _attach_metadata(proto, metadata)
    data = _serialise(proto)

    feeds = {name: t.numpy() for name, t in zip(input_names, inputs, strict=True)}
    ref_count = min(reference_samples, len(inputs[0])) if check else 0
    max_diff, ref_diff, limit = _write_verified(out, data, proto, feeds, expected, ref_count)
    return ExportReport(
        path=out,
        part=part,
        max_abs_diff=max_diff,
        reference_max_abs_diff=ref_diff,
        inputs=_graph_shapes(proto.graph.input),
        outputs=_graph_shapes(proto.graph.output),
        metadata=metadata.to_props(),
        seconds=time.perf_counter() - started,
        parity_samples=len(inputs[0]),
        reference_samples=ref_count if ref_diff is not None else 0,
        opset=opset,
        size_bytes=len(data),
        batchnorm_folded=folded_count,
        tolerance=limit,
    )


def _write_verified(out: Path, data: bytes, proto: onnx.ModelProto, feeds: dict[str, np.ndarray],
                    expected: list[np.ndarray], reference_count: int) -> tuple[float, float | None, float]:  # fmt: skip
    """Check `data` against torch's `expected` outputs, then write it to `out` atomically.
    Returns (ONNX Runtime diff, reference evaluator diff or None, the limit); on failure nothing is written."""
    limit = parity_limit(expected)
    max_diff = _runtime_diff(data, feeds, expected)
    if not max_diff <= limit:
        raise ExportError(
            f"parity check failed: ONNX Runtime differs from torch by up to {max_diff:.3g} on "
            f"{len(expected[0])} inputs (limit {limit:.3g}); the export was refused and no file was written",
            out,
        )
    ref_diff = None
    if reference_count > 0:
        ref_diff = _reference_diff(proto, {k: v[:reference_count] for k, v in feeds.items()},
                                   [e[:reference_count] for e in expected])  # fmt: skip
        if not ref_diff <= limit:
            raise ExportError(
                f"reference check failed: onnx.reference differs from torch by up to {ref_diff:.3g} "
                f"(limit {limit:.3g}); the export was refused and no file was written",
                out,
            )
    try:
        atomic_write(out, data)
    except DiskFullError:
        raise  # a full disk exits 1 (the machine failed), not 2 as an export's bad input
    except GanStudioError as exc:
        raise ExportError(exc.reason, out) from None
    except PermissionError:
        raise ExportError("cannot write the export: the folder is read-only", out) from None
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            raise DiskFullError("cannot write the export: the disk is full", out) from None
        raise ExportError(f"cannot write the export: {exc.strerror or exc}", out) from None
    return max_diff, ref_diff, limit


def _check_opset(opset: int | None) -> int:
    if opset is None:
        return DEFAULT_OPSET
    highest = highest_runnable_opset()
    if not MIN_OPSET <= opset <= highest:
        raise ConfigError(f"--opset must be between {MIN_OPSET} and {highest} (the newest this onnx and ONNX Runtime "
                          f"both run), got {opset}")  # fmt: skip
    return opset


@functools.cache
def highest_runnable_opset() -> int:
    """The newest opset that onnx knows and ONNX Runtime loads (onnx may know opsets still being drafted,
    which ONNX Runtime refuses): probed once with a one-node model."""
    import onnxruntime as ort

    for opset in range(onnx.defs.onnx_opset_version(), MIN_OPSET, -1):
        graph = onnx.helper.make_graph(
            [onnx.helper.make_node("Identity", ["x"], ["y"])], "probe",
            [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
            [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
        )  # fmt: skip
        imports = [onnx.helper.make_opsetid("", opset)]
        model = onnx.helper.make_model(graph, opset_imports=imports)
        model.ir_version = onnx.helper.find_min_ir_version_for(imports)  # not onnx's newest, which may be unknown
        try:
            ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001, S112 - ONNX Runtime's own error types: not this opset
            continue
        return opset
    return MIN_OPSET


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter's progress lines, warnings and log messages (errors still raise)."""
    names = ("torch.onnx", "torch.export", "torch._export", "torch.fx", "onnxscript", "onnx_ir")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def build_onnx(graph: nn.Module, example_inputs: list[torch.Tensor], input_names: list[str],
               output_names: list[str], opset: int) -> onnx.ModelProto:  # fmt: skip
    """Trace `graph` with the torch.export-based exporter into an ONNX model with a dynamic batch axis."""
    batch = torch.export.Dim("batch")
    dynamic_shapes = tuple({0: batch} for _ in example_inputs)
    try:
        with _quiet_exporter(), torch.no_grad():
            program = torch.onnx.export(graph, tuple(example_inputs), None, input_names=input_names,
                                        output_names=output_names, opset_version=opset, dynamo=True,
                                        dynamic_shapes=dynamic_shapes, external_data=False, verbose=False)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the exporter raises many types; report them as one kind
        raise ExportError(f"the ONNX exporter failed: {first_line(exc)}") from None
    proto = program.model_proto
    for value in [*proto.graph.input, *proto.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"  # one readable name for the batch axis
    return proto


def _check_no_batchnorm(proto: onnx.ModelProto) -> None:
    ops = [node.op_type for node in proto.graph.node]
    ops += [node.op_type for function in proto.functions for node in function.node]
    if "BatchNormalization" in ops:
        raise ExportError("BatchNorm could not be folded: the graph still has BatchNormalization nodes")


def _metadata(model: nn.Module, part: str, model_type: str, step: int, run_name: str,
              input_names: list[str], output_names: list[str]) -> ExportMetadata:  # fmt: skip
    images = model.data.kind == "images"
    return ExportMetadata(
        model_type=model_type,
        family=model.family,
        part=part,
        latent_dim=model.latent_dim,
        num_classes=model.num_classes,
        class_names=tuple(model.data.class_names) if model.num_classes else (),
        data_kind=model.data.kind,
        image_shape=tuple(int(s) for s in model.data.shape),
        value_range=tuple(float(v) for v in model.output_range) if images else None,
        inputs=tuple(input_names),
        outputs=tuple(output_names),
        step=int(step),
        run_name=run_name,
        gan_studio_version=gan_studio.__version__,
        torch_version=torch.__version__,
        observation_sigma=_observation_sigma(model, part),
    )


def _observation_sigma(model: nn.Module, part: str) -> tuple[float, ...]:
    """σ of a VAE decoder's Gaussian p(x|z) on points, in the data's units: what a user of the file needs to
    sample the model (the graph gives the mean). Empty for anything else."""
    if part != "decoder" or getattr(model, "likelihood", "") != "gaussian" or model.data.kind != "points":
        return ()
    return tuple(float(s) for s in model.observation_log_sigma().detach().exp().flatten().tolist())


def _tensor_doc(name: str, metadata: ExportMetadata) -> str:
    """One line on an input or output of an export."""
    classes = ", ".join(metadata.class_names[:10]) + (", ..." if len(metadata.class_names) > 10 else "")
    docs = {
        "z": f"latent vectors (N, {metadata.latent_dim}), drawn from a standard normal",
        "y": f"the class of each row, one-hot float (N, {metadata.num_classes}), in the order of class_names: "
             f"{classes}",
        "image": ("images (N, C, H, W) in value_range; " + metadata.pixel_mapping if metadata.part != "encoder"
                  else "images (N, C, H, W) in the model's value_range"),
        "points": ("2D points (N, 2) in the data's coordinates" if metadata.part == "encoder"
                   else metadata.pixel_mapping),
        "mu": f"mean of q(z|x) (N, {metadata.latent_dim})",
        "logvar": f"log variance of q(z|x) (N, {metadata.latent_dim})",
    }  # fmt: skip
    return docs.get(name, "")


def _attach_metadata(proto: onnx.ModelProto, metadata: ExportMetadata) -> None:
    del proto.metadata_props[:]
    for key, value in metadata.to_props().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "gan-studio"
    proto.producer_version = gan_studio.__version__
    proto.doc_string = f"GAN Studio {metadata.model_type} {metadata.part}: {metadata.pixel_mapping}"
    for value in [*proto.graph.input, *proto.graph.output]:  # what each tensor is, where viewers (Netron) show it
        value.doc_string = _tensor_doc(value.name, metadata)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ExportError(f"the exported graph is not valid ONNX: {first_line(exc)}") from None


def _serialise(proto: onnx.ModelProto) -> bytes:
    """The whole model, weights included, as one protobuf (no external-data side file)."""
    for tensor in proto.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise ExportError("the exporter produced external weight data; expected one self-contained file")
    try:
        return proto.SerializeToString()
    except ValueError as exc:  # protobuf refuses messages over 2 GB
        raise ExportError(f"the model is too large for one self-contained ONNX file: {first_line(exc)}") from None


def _runtime_diff(model: bytes, feeds: dict[str, np.ndarray], expected: list[np.ndarray]) -> float:
    """Largest |ONNX Runtime - torch| over all outputs, on the CPU provider (deterministic float32)."""
    try:
        session = create_session(model, providers=[CPU])
        actual = session.run(None, feeds)
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises several unrelated types
        raise ExportError(f"ONNX Runtime cannot run the exported model: {first_line(exc)}") from None
    return max_abs_diff(actual, expected)


def _reference_diff(proto: onnx.ModelProto, feeds: dict[str, np.ndarray], expected: list[np.ndarray]) -> float:
    """Largest |onnx.reference - torch|: the file is standard ONNX, not tied to one runtime."""
    from onnx.reference import ReferenceEvaluator

    try:
        actual = ReferenceEvaluator(proto).run(None, feeds)
    except Exception as exc:  # noqa: BLE001 - any failure of the evaluator means the check failed
        raise ExportError(f"onnx.reference cannot run the exported model: {first_line(exc)}") from None
    return max_abs_diff(actual, expected)


def parity_limit(expected: list[np.ndarray]) -> float:
    """The largest accepted |ONNX - torch|: TOLERANCE, times the outputs' largest finite magnitude when
    that is above 1. Pixels in [-1, 1] keep 1e-4; 2D points in units of hundreds would fail on float32
    rounding alone (a few ulps of 500 are 3e-4)."""
    finite = [np.abs(e[np.isfinite(e)]) for e in expected]
    scale = max((float(f.max()) for f in finite if f.size), default=1.0)
    return TOLERANCE * max(1.0, scale)


def max_abs_diff(actual: list[np.ndarray], expected: list[np.ndarray]) -> float:
    """Largest absolute difference; NaN in the same place counts as equal, elsewhere as infinite."""
    if len(actual) != len(expected):
        return float("inf")
    worst = 0.0
    for a, e in zip(actual, expected, strict=True):
        a, e = np.asarray(a, dtype=np.float64), np.asarray(e, dtype=np.float64)
        if a.shape != e.shape:
            return float("inf")
        both_nan = np.isnan(a) & np.isnan(e)
        diff = np.where(both_nan, 0.0, np.abs(a - e))
        if diff.size:
            worst = max(worst, float(np.nan_to_num(diff, nan=np.inf).max()))
    return worst


def _graph_shapes(values) -> dict[str, list]:
    shapes = {}
    for value in values:
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_param or d.dim_value for d in dims]
    return shapes


def _as_list(output) -> list[np.ndarray]:
    outputs = output if isinstance(output, (tuple, list)) else (output,)
    return [t.detach().cpu().numpy() for t in outputs]

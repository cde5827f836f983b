"""Fast inference from exported ONNX files with ONNX Runtime: provider choice, sessions, generation.

Providers are tried in the order TensorRT, CUDA, CPU, keeping only those that can really run here:
the GPU build of onnxruntime lists CUDA and TensorRT even on machines without a GPU and prints
errors when asked for them, so each GPU provider is first probed quietly (a CUDA driver with at
least one device, and a provider library whose dependencies load). `OnnxGenerator` checks that a
file is a GAN Studio export before it generates anything: its metadata, and that the metadata
describes this very graph (input and output names, input widths, output shapes, float tensors),
so metadata copied onto another graph is refused; each output is checked again when it is made.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import ctypes.util
import functools
import os
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from gan_studio.errors import ConfigError, ExportError
from gan_studio.export.metadata import ExportMetadata
from gan_studio.user_files import RefusedFile, os_reason, read_user_file

PROVIDER_PRIORITY = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
CPU = "CPUExecutionProvider"
_PROVIDER_LIBRARIES = {"TensorrtExecutionProvider": "tensorrt", "CUDAExecutionProvider": "cuda"}
QUIET_SEVERITY = 3  # ONNX Runtime log levels: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal

ort.set_default_logger_severity(QUIET_SEVERITY)  # no warning spam from the runtime (e.g. node placement)


@functools.lru_cache(maxsize=1)
def usable_providers() -> tuple[str, ...]:
    """The providers that can run here, best first (a subset of TensorRT, CUDA, CPU)."""
    available = set(ort.get_available_providers())
    return tuple(p for p in PROVIDER_PRIORITY if p in available and _can_load(p))


def _can_load(provider: str) -> bool:
    if provider == CPU:
        return True
    return _cuda_device_count() > 0 and _provider_library_loads(_PROVIDER_LIBRARIES[provider])


@functools.lru_cache(maxsize=1)
def _cuda_device_count() -> int:
    """CUDA devices the driver sees (0 without a driver or GPU), asked of the driver library directly."""
    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", ctypes.util.find_library("cuda")]
    for name in filter(None, names):
        try:
            driver = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return count.value
    return 0


def _provider_library_loads(short_name: str) -> bool:
    """True when onnxruntime's provider library and everything it links (CUDA, cuDNN, TensorRT) load."""
    capi = Path(ort.__file__).parent / "capi"
    candidates = sorted(capi.glob(f"*onnxruntime_providers_{short_name}.*"))
    if not candidates:
        return False
    _preload_cuda_libraries()
    try:
        ctypes.CDLL(str(candidates[0]))
    except OSError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _preload_cuda_libraries() -> None:
    """Load CUDA and cuDNN from NVIDIA's pip packages when they are installed (best effort, silent)."""
    if not hasattr(ort, "preload_dlls"):
        return
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            ort.preload_dlls(directory="")
    except Exception:  # noqa: BLE001 - best effort; the library probe decides
        pass


def resolve_providers(providers: list[str] | tuple[str, ...] | None) -> list[str]:
    """The providers to ask for: the usable ones by default, or the caller's (each must be usable)."""
    usable = usable_providers()
    if not providers:
        return list(usable)
    chosen = []
    for name in providers:
        full = _full_provider_name(name)
        if full not in usable:
            raise ExportError(
                f"ONNX Runtime provider '{name}' cannot run on this machine (usable here: {', '.join(usable)})"
            )
        chosen.append(full)
    return chosen


def _full_provider_name(name: str) -> str:
    """Accept 'cuda', 'CUDA' or 'CUDAExecutionProvider' alike."""
    for full in PROVIDER_PRIORITY:
        if name.lower() in (full.lower(), full.lower().removesuffix("executionprovider")):
            return full
    return name


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Quiet, fully optimised session options; `threads` caps intra-op threads (default: ORT's choice)."""
    options = ort.SessionOptions()
    options.log_severity_level = QUIET_SEVERITY
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


def create_session(model: bytes | str | Path, providers=None, threads: int | None = None) -> ort.InferenceSession:
    """An InferenceSession on the best usable providers; falls back to CPU (quietly) if a GPU one fails."""
    chosen = resolve_providers(providers)
    source = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(source, sess_options=session_options(threads), providers=chosen,
                                    enable_fallback=0)  # fmt: skip
    except Exception:
        if chosen == [CPU] or providers:
            raise
    return ort.InferenceSession(source, sess_options=session_options(threads), providers=[CPU], enable_fallback=0)


class _OnnxPart(abc.ABC):
    """An exported GAN Studio file loaded in ONNX Runtime, with its metadata checked."""

    expected_parts: tuple[str, ...] = ()
    use = ""  # what the file is loaded for, in a message

    def __init__(self, path: str | Path, providers: list[str] | None = None, threads: int | None = None):
        self.path = Path(path)
        data = read_onnx_bytes(self.path)
        self.metadata = ExportMetadata.from_props(_metadata_props(data, self.path), self.path)
        if self.metadata.part not in self.expected_parts:
            raise ExportError(
                f"this file is a {self.metadata.model_type} {self.metadata.part}; "
                f"{self.use} needs a {' or '.join(self.expected_parts)} export",
                self.path,
            )
        try:
            self.session = create_session(data, providers, threads)
        except ExportError:
            raise
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises several unrelated types for bad files
            raise ExportError(f"ONNX Runtime cannot load the model: {first_line(exc)}", self.path) from None
        self._check_inputs()
        self._check_outputs()

    # what the file is ------------------------------------------------------------------------
    provider = property(lambda self: self.session.get_providers()[0], doc="the provider actually in use")
    model_type = property(lambda self: self.metadata.model_type)
    latent_dim = property(lambda self: self.metadata.latent_dim)
    num_classes = property(lambda self: self.metadata.num_classes)
    class_names = property(lambda self: list(self.metadata.class_names))
    value_range = property(lambda self: self.metadata.value_range)
    image_shape = property(lambda self: self.metadata.image_shape)
    step = property(lambda self: self.metadata.step)
    input_names = property(lambda self: [i.name for i in self.session.get_inputs()])

    @abc.abstractmethod
    def expected_inputs(self) -> dict[str, tuple[int, ...]]:
        """Input name -> expected shape of one sample, without the batch axis (each part says its own)."""

    @abc.abstractmethod
    def expected_outputs(self) -> dict[str, tuple[int, ...]]:
        """Output name -> expected shape of one sample (without the batch axis)."""

    def _check_inputs(self) -> None:
        expected = self.expected_inputs()
        found = {i.name: i.shape for i in self.session.get_inputs()}
        if list(found) != list(expected) or list(found) != list(self.metadata.inputs):
            raise ExportError(
                f"the model's inputs are {list(found)}, but a {self.metadata.model_type} {self.metadata.part} "
                f"takes {list(expected)} (metadata copied from another file?)",
                self.path,
            )
        for value in self.session.get_inputs():
            shape, sample = value.shape, expected[value.name]
            if value.type != "tensor(float)":
                raise ExportError(f"input '{value.name}' is a {value.type}, not a float tensor", self.path)
            dims = list(shape)[1:]
            if len(dims) != len(sample) or any(
                isinstance(d, int) and d != s for d, s in zip(dims, sample, strict=True)
            ):
                raise ExportError(f"input '{value.name}' has shape {shape}, but the metadata says it is "
                                  f"(batch, {', '.join(map(str, sample))})", self.path)  # fmt: skip

    def _check_outputs(self) -> None:
        """The graph's outputs must be the metadata's: names, float type, and each sample's shape."""
        expected = self.expected_outputs()
        outputs = self.session.get_outputs()
        names = [o.name for o in outputs]
        if names != list(expected) or names != list(self.metadata.outputs):
            raise ExportError(
                f"the model's outputs are {names}, but its metadata says a {self.metadata.model_type} "
                f"{self.metadata.part} gives {list(expected)} (metadata copied from another file?)",
                self.path,
            )
        for value in outputs:
            if value.type != "tensor(float)":
                raise ExportError(f"output '{value.name}' is a {value.type}, not a float tensor", self.path)
            self._check_shape(value.name, value.shape, expected[value.name], static=True)

    def _check_shape(self, name: str, shape, sample: tuple[int, ...], static: bool = False) -> None:
        """ExportError unless `shape` is (batch, *sample). Only the batch may be symbolic: an export's other
        sizes are fixed, and a symbolic one could be anything at run time (gigabytes per sample)."""
        dims = list(shape)[1:]
        fits = len(dims) == len(sample) and all(d == s for d, s in zip(dims, sample, strict=True))
        if not fits:
            where = "gives" if static else "gave"
            raise ExportError(
                f"output '{name}' {where} shape {list(shape)}, but the metadata says (N, {', '.join(map(str, sample))}) "
                "(metadata copied from another file?)",
                self.path,
            )

    def _checked_outputs(self, outputs: list[np.ndarray], n: int) -> list[np.ndarray]:
        """The outputs as float32 after checking their real shapes against the metadata."""
        checked = []
        for array, (name, sample) in zip(outputs, self.expected_outputs().items(), strict=False):
            array = np.asarray(array, dtype=np.float32)
            if array.shape[:1] != (n,):
                raise ExportError(f"output '{name}' gave {array.shape[:1]} rows for {n} inputs", self.path)
            self._check_shape(name, array.shape, sample)
            bad = int((~np.isfinite(array.reshape(n, -1))).any(axis=1).sum()) if n else 0
            if bad:  # a blank grid and exit 0 said nothing; a checkpoint holding NaN is refused likewise
                raise ExportError(f"the model gave NaN or infinite values in '{name}' for {bad} of {n} inputs "
                                  "(a model that diverged, or a damaged file)", self.path)  # fmt: skip
            checked.append(array)
        return checked

    def _run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The session's outputs; a graph that cannot run (a damaged file) is an ExportError."""
        try:
            return self.session.run(None, feeds)
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises its own types (InvalidArgument, Fail, ...)
            raise ExportError(f"the ONNX model failed to run (damaged file?): {first_line(exc)}", self.path) from None

    def _feeds(self, **arrays) -> dict[str, np.ndarray]:
        return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in arrays.items()}

    def _labels(self, y, n: int) -> np.ndarray | None:
        """One-hot float labels (n, K) from one-hot rows or integer class indices; None when unconditional."""
        if not self.num_classes:
            if y is not None:
                raise ConfigError(f"{self.model_type} is unconditional: it takes no labels y")
            return None
        if y is None:
            raise ConfigError(f"{self.model_type} is conditional: give labels y ({self.num_classes} classes)")
        y = np.asarray(y)
        if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise ConfigError(f"labels must be between 0 and {self.num_classes - 1}, got {y.min()}..{y.max()}")
            y = np.eye(self.num_classes, dtype=np.float32)[y]
        if y.shape != (n, self.num_classes):
            got = f"{y.dtype} values of shape {y.shape}" if y.ndim == 1 else f"shape {y.shape}"
            raise ConfigError(f"y must be one-hot of shape ({n}, {self.num_classes}) or ({n},) integer labels, "
                              f"got {got}")  # fmt: skip
        return y


class OnnxGenerator(_OnnxPart):
    """A GAN generator or VAE decoder export: `generate(z, y)` -> samples (N, C, H, W) or points (N, 2)."""

    expected_parts = ("generator", "decoder")
    use = "drawing samples"

    def expected_inputs(self) -> dict[str, tuple[int, ...]]:
        return {"z": (self.latent_dim,), **({"y": (self.num_classes,)} if self.num_classes else {})}

    def expected_outputs(self) -> dict[str, tuple[int, ...]]:
        return {"image" if self.metadata.data_kind == "images" else "points": tuple(self.image_shape)}

    def generate(self, z: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """Samples (float32) from latents z (N, latent_dim) and, for conditional models, labels y."""
        z = np.asarray(z)
        if z.ndim != 2 or z.shape[1] != self.latent_dim or z.shape[0] < 1:
            raise ConfigError(f"z must have shape (N, {self.latent_dim}) with N >= 1, got {z.shape}")
        y = self._labels(y, z.shape[0])
        feeds = self._feeds(z=z) if y is None else self._feeds(z=z, y=y)
        return self._checked_outputs(self._run(feeds), z.shape[0])[0]


class OnnxEncoder(_OnnxPart):
    """A VAE encoder export: `encode(x, y)` -> (mu, logvar), each (N, latent_dim)."""

    expected_parts = ("encoder",)
    use = "encoding"

    def expected_inputs(self) -> dict[str, tuple[int, ...]]:
        name = "image" if self.metadata.data_kind == "images" else "points"
        return {name: tuple(self.image_shape), **({"y": (self.num_classes,)} if self.num_classes else {})}

    def expected_outputs(self) -> dict[str, tuple[int, ...]]:
        return {"mu": (self.latent_dim,), "logvar": (self.latent_dim,)}

    def encode(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x)
        if x.shape[1:] != tuple(self.image_shape) or x.shape[0] < 1:
            raise ConfigError(f"x must have shape (N, {', '.join(map(str, self.image_shape))}), got {x.shape}")
        y = self._labels(y, x.shape[0])
        name = self.input_names[0]
        feeds = self._feeds(**{name: x}) if y is None else self._feeds(**{name: x, "y": y})
        mu, logvar = self._checked_outputs(self._run(feeds), x.shape[0])
        return mu, logvar


MAX_ONNX_BYTES = 2**30  # an exported generator is megabytes; reading a 1.5 GB impostor took 14 s and 1.8 GB


_VARINT = onnx.ModelProto.DESCRIPTOR.fields_by_name["ir_version"].type
# ModelProto's field numbers and the protobuf wire type each is written with (0 varint, 2 length-delimited)
MODEL_FIELD_WIRE_TYPES = {f.number: 0 if f.type == _VARINT else 2 for f in onnx.ModelProto.DESCRIPTOR.fields}


def check_onnx_start(head: bytes) -> None:
    """Refuse (RefusedFile) bytes that cannot begin a serialised ONNX model: its first protobuf tag (a
    varint of at most 5 bytes) must name one of ModelProto's fields with that field's wire type. An
    empty head passes (the caller says 'empty')."""
    if not head:
        return
    tag = 0
    for shift, byte in zip(range(0, 35, 7), head, strict=False):
        tag |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
    else:  # no last byte within five: not a tag
        tag = -1
    if tag < 0 or MODEL_FIELD_WIRE_TYPES.get(tag >> 3) != tag & 7:
        raise RefusedFile("not an ONNX model: its first bytes are not those of one")


def read_onnx_bytes(path: Path) -> bytes:
    """The bytes of an .onnx file: a regular file (a FIFO would block) of at most MAX_ONNX_BYTES."""
    if not path.exists() and not path.is_symlink():
        raise ExportError("no such ONNX file", path)
    try:
        data = read_user_file(path, MAX_ONNX_BYTES, check_onnx_start)
    except RefusedFile as exc:
        raise ExportError(f"{exc} (expected an exported .onnx file)", path) from None
    except OSError as exc:
        raise ExportError(f"cannot read: {os_reason(exc)}", path) from None
    if not data:
        raise ExportError("the file is empty (an interrupted export or copy?)", path)
    return data


def _metadata_props(data: bytes, path: Path) -> dict[str, str]:
    """The metadata_props of a serialised model; ExportError when the bytes are not an ONNX model."""
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise ExportError(f"not a readable ONNX model (corrupt or truncated?): {first_line(exc)}", path) from None
    if not model.graph.node:
        raise ExportError("not a readable ONNX model (corrupt or truncated?): it has no graph", path)
    looping = sorted(_op_types(model.graph) & LOOPING_OPS)
    if looping:  # a GAN Studio export is a straight feed-forward graph; a loop can run for ever
        raise ExportError(f"not a GAN Studio export: the graph has {', '.join(looping)} operators, which an exported "
                          "generator never has (metadata copied onto another graph?)", path)  # fmt: skip
    return {prop.key: prop.value for prop in model.metadata_props}


LOOPING_OPS = frozenset({"Loop", "Scan", "SequenceMap"})


def _op_types(graph, depth: int = 0) -> set[str]:
    """The operator types of a graph and of the sub-graphs its nodes hold (If branches, loop bodies)."""
    found = set()
    for node in graph.node:
        found.add(node.op_type)
        for attribute in node.attribute:
            subgraphs = [attribute.g] if attribute.HasField("g") else []
            for sub in [*subgraphs, *attribute.graphs]:
                found |= _op_types(sub, depth + 1) if depth < 32 else {"Loop"}  # absurd nesting: treated as a loop
    return found


def first_line(exc: BaseException) -> str:
    """The first line of an error, without ONNX Runtime's source location and C++ signature."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    if "onnxruntime_src" in text and ") " in text:
        text = text.rsplit(") ", 1)[1]
    return text[:300]

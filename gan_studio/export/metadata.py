"""The metadata every exported ONNX file carries (`metadata_props`), and reading it back safely.

All values are strings (ONNX's rule); lists and ranges are JSON. Keys:

    gan_studio.format    "gan-studio-onnx/1" (marks our files)
    model_type           vae | cvae | gan | cgan | dcgan | cdcgan;  family: gan | vae
    part                 generator | decoder | encoder
    latent_dim           size of z;  num_classes: 0 for unconditional models
    class_names          JSON list of the class names (index = one-hot position of y)
    data_kind            images | points
    image_shape          JSON [C, H, W] of one sample ([D] for 2D point models)
    value_range          JSON [lo, hi] of the generated values (null for points: data coordinates)
    pixel_mapping        how to turn the output into uint8 pixels, in words
    inputs, outputs      JSON lists of the graph's input and output names
    step, run_name       the training step and run folder the weights come from
    gan_studio_version, torch_version
    observation_sigma    JSON list, per output coordinate: the learned σ of a VAE decoder's Gaussian p(x|z) on
                         points (its output is the mean; sample the model as mean + σ · N(0, 1)); absent otherwise
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gan_studio.errors import ExportError

MAX_LATENT_DIM = 1 << 16
MAX_EXPORT_CLASSES = 10_000
MAX_NAME_CHARS = 256
MAX_IMAGE_SIDE = 4096  # as the data loaders
FORMAT_KEY = "gan_studio.format"
FORMAT_VALUE = "gan-studio-onnx/1"
PARTS = ("generator", "decoder", "encoder")


@dataclass(frozen=True)
class ExportMetadata:
    """What an exported file is: model, part, latent size, classes, sample shape and value range."""

    model_type: str
    family: str
    part: str
    latent_dim: int
    num_classes: int
    class_names: tuple[str, ...]
    data_kind: str
    image_shape: tuple[int, ...]
    value_range: tuple[float, float] | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    step: int
    run_name: str
    gan_studio_version: str
    torch_version: str = ""
    observation_sigma: tuple[float, ...] = ()  # a Gaussian VAE decoder on points: σ of p(x|z) per coordinate

    @property
    def pixel_mapping(self) -> str:
        """How to turn the output into 8-bit pixels (or what the output is, for point models)."""
        if self.value_range is None:
            noise = (" (the mean of p(x|z): add observation_sigma · N(0, 1) to sample the model)"
                     if self.observation_sigma else "")  # fmt: skip
            return f"not an image: each row is one 2D point (x, y) in the data's coordinates{noise}"
        lo, hi = self.value_range
        shifted = "x" if lo == 0 else f"(x - {lo:g})" if lo > 0 else f"(x + {-lo:g})"
        scaled = shifted if hi - lo == 1 else f"{shifted} / {hi - lo:g}"
        return f"uint8 = round(clip({scaled}, 0, 1) * 255), channels first (N, C, H, W)"

    def to_props(self) -> dict[str, str]:
        """The `metadata_props` entries to write into the ONNX file."""
        return {
            FORMAT_KEY: FORMAT_VALUE,
            "model_type": self.model_type,
            "family": self.family,
            "part": self.part,
            "latent_dim": str(self.latent_dim),
            "num_classes": str(self.num_classes),
            "class_names": json.dumps(list(self.class_names)),
            "data_kind": self.data_kind,
            "image_shape": json.dumps(list(self.image_shape)),
            "value_range": json.dumps(list(self.value_range) if self.value_range is not None else None),
            "pixel_mapping": self.pixel_mapping,
            "inputs": json.dumps(list(self.inputs)),
            "outputs": json.dumps(list(self.outputs)),
            "step": str(self.step),
            "run_name": self.run_name,
            "gan_studio_version": self.gan_studio_version,
            "torch_version": self.torch_version,
            **({"observation_sigma": json.dumps(list(self.observation_sigma))} if self.observation_sigma else {}),
        }

    @classmethod
    def from_props(cls, props: dict[str, str], source: str | Path | None = None) -> ExportMetadata:
        """Parse and check metadata read from a file; ExportError naming the file when it is not ours."""
        if props.get(FORMAT_KEY) != FORMAT_VALUE:
            found = f" (it says {props[FORMAT_KEY]!r})" if FORMAT_KEY in props else ""
            raise ExportError(
                f"not a GAN Studio ONNX export: the file has no GAN Studio metadata{found} (a model from "
                "elsewhere, or a truncated copy); export a run with `gan-studio export RUN`",
                source,
            )
        reader = _PropReader(props, source)
        meta = cls(
            model_type=reader.text("model_type"),
            family=reader.choice("family", ("gan", "vae")),
            part=reader.choice("part", PARTS),
            latent_dim=reader.integer("latent_dim", low=1),
            num_classes=reader.integer("num_classes", low=0),
            class_names=tuple(str(n) for n in reader.json_list("class_names")),
            data_kind=reader.choice("data_kind", ("images", "points")),
            image_shape=tuple(reader.integer_list("image_shape")),
            value_range=reader.value_range("value_range"),
            inputs=tuple(str(n) for n in reader.json_list("inputs")),
            outputs=tuple(str(n) for n in reader.json_list("outputs")),
            step=reader.integer("step", low=0),
            run_name=props.get("run_name", ""),
            gan_studio_version=props.get("gan_studio_version", ""),
            torch_version=props.get("torch_version", ""),
            observation_sigma=reader.sigma_list("observation_sigma") if "observation_sigma" in props else (),
        )
        if meta.num_classes and len(meta.class_names) != meta.num_classes:
            raise ExportError(
                f"metadata lists {len(meta.class_names)} class names for {meta.num_classes} classes", source
            )
        meta.check_sizes(source)
        return meta

    def check_sizes(self, source) -> None:
        """ExportError unless the sizes are ones GAN Studio exports (a huge latent or sample would take
        gigabytes before the graph could say otherwise)."""
        if self.latent_dim > MAX_LATENT_DIM:
            raise ExportError(f"metadata 'latent_dim' {self.latent_dim} is beyond {MAX_LATENT_DIM}", source)
        if self.num_classes > MAX_EXPORT_CLASSES:
            raise ExportError(f"metadata 'num_classes' {self.num_classes} is beyond {MAX_EXPORT_CLASSES}", source)
        if any(len(name) > MAX_NAME_CHARS for name in self.class_names):
            raise ExportError(f"metadata 'class_names' holds a name of over {MAX_NAME_CHARS} characters", source)
        shape = self.image_shape
        if self.data_kind == "images":
            if len(shape) != 3 or shape[0] not in (1, 3) or max(shape[1:]) > MAX_IMAGE_SIDE:
                raise ExportError(f"metadata 'image_shape' {list(shape)[:8]} is not (channels 1 or 3, height, width) "
                                  f"with sides up to {MAX_IMAGE_SIDE}", source)  # fmt: skip
            if self.value_range is None:
                raise ExportError("metadata 'value_range' is null, but an image model's output needs one", source)
        elif list(shape) != [2]:
            raise ExportError(f"metadata 'image_shape' {list(shape)[:8]} should be [2] for 2D points", source)


class _PropReader:
    """Typed access to string metadata, with one clear error per bad or missing key."""

    def __init__(self, props: dict[str, str], source):
        self.props = props
        self.source = source

    def text(self, key: str) -> str:
        if key not in self.props:
            raise ExportError(f"GAN Studio metadata lacks '{key}' (the file was edited or is damaged)", self.source)
        return self.props[key]

    def fail(self, key: str, expected: str):
        shown = repr(self.props.get(key))
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ExportError(f"metadata '{key}' should be {expected}, got {shown}", self.source)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in allowed:
            self.fail(key, "one of " + ", ".join(allowed))
        return value

    def integer(self, key: str, low: int) -> int:
        text = self.text(key)
        try:
            value = int(text) if len(text) <= 30 else None  # a 5,000-digit number is refused by int() itself
        except ValueError:
            value = None
        if value is None:
            self.fail(key, "an integer")
        if value < low:
            self.fail(key, f"at least {low}")
        return value

    def json_value(self, key: str):
        try:
            return json.loads(self.text(key))
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting; ValueError: 5,000 digits
            self.fail(key, "JSON")

    def json_list(self, key: str) -> list:
        value = self.json_value(key)
        if not isinstance(value, list):
            self.fail(key, "a JSON list")
        return value

    def integer_list(self, key: str) -> list[int]:
        value = self.json_list(key)
        if not value or not all(type(v) is int and 0 < v < 2**31 for v in value):
            self.fail(key, "a JSON list of positive integers")
        return value

    def sigma_list(self, key: str) -> tuple[float, ...]:
        value = self.json_list(key)
        if not value or len(value) > 16 or not all(type(v) in (int, float) and 0 < v < 1e30 for v in value):
            self.fail(key, "a JSON list of positive numbers, one per output coordinate")
        return tuple(float(v) for v in value)

    def value_range(self, key: str) -> tuple[float, float] | None:
        value = self.json_value(key)
        if value is None:
            return None
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)):
            self.fail(key, "a JSON pair [lo, hi] or null")
        lo, hi = (float(v) if abs(v) < 1e300 else float("nan") for v in value)  # a huge int would overflow float()
        if not lo < hi:
            self.fail(key, "a range with lo < hi")
        return lo, hi

"""ONNX export of trained generators, decoders and encoders, and fast inference with ONNX Runtime (no Qt).

- `onnx_export.export_run(RUN)`: write RUN/exports/<part>-step-N.onnx, BatchNorm folded, dynamic batch,
  with GAN Studio metadata, after a parity check against torch (refused above 1e-4).
- `inference.OnnxGenerator(FILE)`: load an exported generator with the best available ONNX Runtime
  provider (TensorRT, CUDA, CPU) and generate from latents z (and one-hot labels y).
- `metadata`: the metadata_props keys every exported file carries, and their validation.
"""

import os

# ONNX Runtime 1.31's Linux and macOS builds send usage telemetry and keep a device id in ~/.cache unless told
# not to; a desktop tool does not report on its users on their behalf (set ORT_DISABLE_TELEMETRY=0 to allow it).
# It is read once, when onnxruntime is first loaded: every module of this package that loads it is below here.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

#!/bin/bash
# The prepared GPU check of issue 17: one call of the device tool (about 8 minutes on one H200).
#
# It runs the engine's tests on CUDA (tiny runs on GAN_STUDIO_TEST_DEVICE=cuda: precision, resume,
# checkpoints, batches on the device, with --deterministic), then the training-throughput benchmark
# (engine and a plain PyTorch loop, fp32 and bf16, DCGAN at 32 and 64 px, batch 64 and 256), the
# inference-latency benchmark (torch CUDA and the ONNX Runtime providers it finds), and last the
# compiled engine at 64 px, batch 256. Everything it prints goes to $OUT/gpu-session.log as well;
# bring the figures into the README.
#
# The device machine has python3 with a CUDA torch, onnx, onnxruntime, numpy, Pillow, pytest and
# hypothesis, but no ../shared: copy the MNIST test set into the repository first (an ignored folder
# that travels with `carry`), from the repository root here:
#   mkdir -p .gpu-data && cp -r ../shared/datasets/mnist .gpu-data/ && echo /.gpu-data/ >> .git/info/exclude
# then call the device tool's run with command "bash benchmarks/gpu_session.sh", carry [".gpu-data"],
# timeout_s 560.
#
# ONNX Runtime there is the CPU build, so inference_latency.py finds only the CPU provider. The CUDA
# provider needs onnxruntime-gpu: 1.31.1 (cp312, manylinux_2_28) is built for CUDA 13 like the
# device's torch (libcublas.so.13, libcudart.so.13, cuDNN 9 for CUDA 13), but its wheel is 255 MB,
# four times what one call may carry (64 MiB). To get the ORT CUDA figure, split the wheel here
# (`split -b 60M`), carry one part per call in back-to-back calls on the warm machine (it keeps
# ignored files between calls, and goes back after 30 s idle), `cat` the parts together and
# `pip install --no-deps --target` it there before this script. TensorRT is not on that machine.
#
# A dry run on a CPU checks the script itself (a few steps, minutes):
#   DEVICE=cpu STEPS=10 PATH=.venv/bin:$PATH bash benchmarks/gpu_session.sh
set -uo pipefail
out=${OUT:-runs/gpu-session}
device=${DEVICE:-cuda}
steps=${STEPS:-60}
mkdir -p "$out"
exec > >(tee "$out/gpu-session.log") 2>&1
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 GAN_STUDIO_TEST_DEVICE=$device
mnist=.gpu-data/mnist
[ -d "$mnist" ] || mnist=../shared/datasets/mnist
python3 - <<'PY'
import onnxruntime, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "NO GPU")
print("onnxruntime", onnxruntime.__version__, onnxruntime.get_available_providers())
PY
echo "== engine tests on $device"
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_precision.py tests/test_engine_trainer.py \
    tests/test_engine_checkpoints.py tests/test_engine_batches.py tests/test_export_onnx.py
echo "== training throughput, eager"
timeout 150 python3 benchmarks/train_throughput.py --device "$device" --mnist "$mnist" --models dcgan \
    --image-size 32 64 --batch 64 256 --precision fp32 bf16 --steps "$steps"
echo "== inference latency"
timeout 90 python3 benchmarks/inference_latency.py --json "$out/inference.json"
echo "== training throughput, compiled too (one size: each compilation takes a minute or more)"
timeout 180 python3 benchmarks/train_throughput.py --device "$device" --mnist "$mnist" --models dcgan \
    --image-size 64 --batch 256 --precision fp32 bf16 --compile --steps "$steps"

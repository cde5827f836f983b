"""Real-size image folders: time to the first training step (cold and warm), peak memory, and samples/s from
the memory-mapped prepared file against the same set held in RAM.

    python benchmarks/data_scale.py [--sizes 10000 50000 200000] [--image-size 64] [--root DIR]

For each size it generates (or reuses, in --root, outside the repository) a folder of synthetic JPEG
photos of 178x218 pixels (CelebA's size), then measures, each in a fresh process:
- serial decode: preparing the folder with one decoding process (the reference the cold start is held to);
- cold start: launch to the end of the first DCGAN step with nothing prepared (decoding on every core);
- warm start: the same launch again, the prepared file now in place;
- peak RSS (VmHWM) of those processes, against the uint8 size of the set;
- training samples/s of the same DCGAN reading batches from the memory map and from a copy in RAM,
  in alternating blocks of steps within one process (the order swapped every round).
Targets (issue 13, 200k images at 64 px on a 2-core machine): warm <= 5 s, cold <= 0.6x serial
decode, peak RSS <= 1.5x the uint8 set + the process without data, memmap/RAM samples/s >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZE = (178, 218)  # width, height of CelebA's aligned images


def default_root() -> Path:
    sys.path.insert(0, str(REPO))
    from gan_studio.paths import user_cache_dir

    return user_cache_dir().parent / "gan-studio-benchmarks" / "data_scale"


# --- synthetic photos -------------------------------------------------------------------------------------


def _write_images(args: tuple[str, int, int]) -> int:
    """Smooth random 'photos' (a random 12x10 colour field upsampled, plus grain), JPEG quality 90."""
    import numpy as np
    from PIL import Image

    folder, start, stop = args
    for i in range(start, stop):
        rng = np.random.default_rng(i)
        field = Image.fromarray(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)).resize(SIZE, Image.BICUBIC)
        pixels = np.asarray(field, dtype=np.int16) + rng.integers(-12, 13, (SIZE[1], SIZE[0], 3), dtype=np.int16)
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(Path(folder) / f"{i:06d}.jpg", quality=90)
    return stop - start


def ensure_folder(root: Path, n: int) -> Path:
    """root/jpeg-178x218-N/images holding n JPEGs side by side (unlabelled, like CelebA's img_align_celeba)."""
    folder = root / f"jpeg-178x218-{n}" / "images"
    done = folder.parent / "complete"
    if done.exists():
        return folder
    shutil.rmtree(folder.parent, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    chunks = [(str(folder), s, min(n, s + 2000)) for s in range(0, n, 2000)]
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        made = sum(pool.map(_write_images, chunks))
    done.write_text(str(made))
    print(f"  generated {made:,} JPEGs in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


# --- measurements in fresh processes ------------------------------------------------------------------------

FIRST_STEP = r"""
import json, os, sys, time
launched = float(os.environ["DSB_LAUNCHED"])  # set by the parent just before starting this process
import torch
torch.set_num_threads(1)
from gan_studio.config import apply_values
from gan_studio.data import load_dataset
from gan_studio.engine.settings import TrainConfig
from gan_studio.engine.trainer import Trainer
from gan_studio.events import Metrics
from gan_studio.models import default_config

def status():
    out = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) * 1024
    return out

times = {"imports_s": time.time() - launched}
size = int(sys.argv[2])
dataset = load_dataset(sys.argv[1], image_size=size, value_range=(-1.0, 1.0))  # what Trainer.new does
times["data_s"] = time.time() - launched
config = apply_values(default_config("dcgan"), {"image_size": size})
train = apply_values(TrainConfig(), {"data": sys.argv[1], "steps": 1000, "batch_size": 64, "log_every": 1,
                                     "sample_every": 0, "checkpoint_every": 0, "device": "cpu"})
trainer = Trainer.new("dcgan", config, train, out=sys.argv[4], dataset=dataset)
times["trainer_s"] = time.time() - launched
class TimedStream(type(trainer.stream)):  # notes when the first batch is drawn: the first step begins
    def __call__(self):
        times.setdefault("step_begins_s", time.time() - launched)
        return super().__call__()
trainer.stream.__class__ = TimedStream
for event in trainer:
    if isinstance(event, Metrics):
        break
times["step_done_s"] = time.time() - launched
print(json.dumps({**times, **status()}), flush=True)
os._exit(0)
"""

SERIAL = r"""
import json, sys, time
from gan_studio.data import load_dataset
t = time.perf_counter()
ds = load_dataset(sys.argv[1], image_size=int(sys.argv[2]), workers=1)
print(json.dumps({"seconds": time.perf_counter() - t, "n": len(ds), "bytes": int(ds.pixels.nbytes)}), flush=True)
"""

THROUGHPUT = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from gan_studio.config import apply_values
from gan_studio.data import load_dataset
from gan_studio.data.dataset import Dataset
from gan_studio.engine.settings import TrainConfig
from gan_studio.engine.trainer import Trainer
from gan_studio.events import Metrics
from gan_studio.models import default_config

folder, size, out, rounds, block = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
mapped = load_dataset(folder, image_size=size, value_range=(-1.0, 1.0))
in_ram = Dataset(mapped.name, "images", np.array(mapped.pixels), mapped.y, mapped.class_names, mapped.value_range,
                 mapped.source)
config = apply_values(default_config("dcgan"), {"image_size": size})
train = apply_values(TrainConfig(), {"data": folder, "steps": 10**6, "batch_size": 64, "log_every": 1,
                                     "sample_every": 0, "checkpoint_every": 0, "device": "cpu"})
runs = {name: iter(Trainer.new("dcgan", config, train, out=f"{out}/{name}", dataset=ds))
        for name, ds in (("memmap", mapped), ("ram", in_ram))}

def advance(it, steps):
    done = 0
    while done < steps:
        if isinstance(next(it), Metrics):
            done += 1

for it in runs.values():
    advance(it, 2)  # warm-up
seconds = {"memmap": 0.0, "ram": 0.0}
for r in range(rounds):
    for name in (("memmap", "ram") if r % 2 == 0 else ("ram", "memmap")):
        t = time.perf_counter()
        advance(runs[name], block)
        seconds[name] += time.perf_counter() - t
steps = rounds * block
result = {k: 64 * steps / v for k, v in seconds.items()}
# the data path alone (gather + convert to float, no model): what a fast GPU would wait for
from gan_studio.engine.batches import BatchStream
streams = {name: BatchStream(ds, 0, 64, seed=1) for name, ds in (("memmap", mapped), ("ram", in_ram))}
batch_seconds = {"memmap": 0.0, "ram": 0.0}
for r in range(2 * rounds):
    for name in (("memmap", "ram") if r % 2 == 0 else ("ram", "memmap")):
        t = time.perf_counter()
        for _ in range(50):
            streams[name]()
        batch_seconds[name] += time.perf_counter() - t
result.update({f"{k}_batches": 64 * 50 * 2 * rounds / v for k, v in batch_seconds.items()})
print(json.dumps(result), flush=True)
"""


def run_child(script: str, args: list[str], cache: Path, timeout: float = 7200, tries: int = 3) -> dict:
    """Run `script` in a fresh interpreter; its last stdout line is JSON.

    The script is written to a file as the body of a function called under `if __name__ == "__main__":`
    (the decoding processes that "spawn" starts import the main script again), with its arguments in the
    environment, so the command line names no dataset; a child stopped by SIGTERM (another job's cleanup
    on a shared machine) is run again, and said so.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO), "GAN_STUDIO_CACHE": str(cache), "OMP_NUM_THREADS": "1",
           "DSB_ARGS": json.dumps(args)}  # fmt: skip
    body = 'import json, os, sys\nsys.argv = [sys.argv[0], *json.loads(os.environ["DSB_ARGS"])]\n' + script
    with tempfile.TemporaryDirectory(prefix="dsb-") as folder:
        path = Path(folder) / "child.py"
        path.write_text(f"def main():\n{textwrap.indent(body, '    ')}\n\nif __name__ == '__main__':\n    main()\n")
        for attempt in range(tries):
            env["DSB_LAUNCHED"] = repr(time.time())
            proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env,
                                  timeout=timeout)  # fmt: skip
            if proc.returncode != -15:
                break
            print(f"  (a child was stopped by SIGTERM from outside; running it again, try {attempt + 2})", flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def first_step(folder: Path, size: int, cache: Path, work: Path, name: str) -> dict:
    out = work / name
    shutil.rmtree(out, ignore_errors=True)
    return run_child(FIRST_STEP, [str(folder), str(size), "", str(out)], cache)


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def measure(n: int, args, root: Path) -> dict:
    folder = ensure_folder(root, n)
    caches = root / "caches"
    work = Path(tempfile.mkdtemp(prefix="data-scale-"))
    try:
        result = {"n": n, "load_before": load_average()}
        tiny_cache = caches / "tiny"
        result["base"] = first_step(ensure_folder(root, 256), args.image_size, tiny_cache, work, "tiny")
        serial_cache = caches / f"serial-{n}"
        shutil.rmtree(serial_cache, ignore_errors=True)
        serial = run_child(SERIAL, [str(folder), str(args.image_size)], serial_cache)
        shutil.rmtree(serial_cache, ignore_errors=True)
        result["serial_s"], result["uint8_bytes"] = serial["seconds"], serial["bytes"]
        cache = caches / f"parallel-{n}"
        shutil.rmtree(cache, ignore_errors=True)
        result["cold"] = first_step(folder, args.image_size, cache, work, "cold")
        result["warm"] = first_step(folder, args.image_size, cache, work, "warm")
        result["throughput"] = run_child(THROUGHPUT, [str(folder), str(args.image_size), str(work / "tp"),
                                                      str(args.rounds), str(args.block)], cache)  # fmt: skip
        result["load_after"] = load_average()
        if not args.keep_caches:
            shutil.rmtree(cache, ignore_errors=True)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(r: dict) -> None:
    gb = 2**30
    cold, warm, tp, base = r["cold"], r["warm"], r["throughput"], r["base"]
    allowance = 1.5 * r["uint8_bytes"] + base["VmHWM"]
    print(
        f"\n{r['n']:,} images ({r['uint8_bytes'] / gb:.2f} GB as uint8), load {r['load_before']} -> {r['load_after']}"
    )
    print(f"  serial decode {r['serial_s']:.1f} s | cold: first step begins at {cold['step_begins_s']:.1f} s "
          f"(ratio to serial decode {cold['step_begins_s'] / r['serial_s']:.2f})")  # fmt: skip
    for name, m in (("cold", cold), ("warm", warm)):
        print(
            f"  {name}: imports {m['imports_s']:.2f} s, data ready {m['data_s']:.2f} s, trainer ready "
            f"{m['trainer_s']:.2f} s, first step begins {m['step_begins_s']:.2f} s, done {m['step_done_s']:.2f} s"
        )
        print(f"  {name}: peak RSS {m['VmHWM'] / gb:.2f} GB (at the end: anon {m['RssAnon'] / gb:.2f} GB, file "
              f"{m['RssFile'] / gb:.2f} GB); allowance 1.5 x uint8 + {base['VmHWM'] / gb:.2f} GB (same run on 256 "
              f"images) = {allowance / gb:.2f} GB: ratio {m['VmHWM'] / allowance:.2f}")  # fmt: skip
    print(f"  training samples/s: memmap {tp['memmap']:.1f} | in RAM {tp['ram']:.1f} | memmap / RAM "
          f"{tp['memmap'] / tp['ram']:.3f}")  # fmt: skip
    if "memmap_batches" in tp:
        print(
            f"  data path alone (samples/s of batches, no model): memmap {tp['memmap_batches']:,.0f} | in RAM "
            f"{tp['ram_batches']:,.0f} | memmap / RAM {tp['memmap_batches'] / tp['ram_batches']:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--root", type=Path, default=None, help="where the JPEG folders and caches live")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds of the throughput comparison")
    parser.add_argument("--block", type=int, default=8, help="training steps per round and mode")
    parser.add_argument("--keep-caches", action="store_true", help="keep the prepared files afterwards")
    args = parser.parse_args()
    root = (args.root or default_root()).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    print(f"data scale benchmark: {os.cpu_count()} cores, folders in {root}, load {load_average()}", flush=True)
    for n in args.sizes:
        print(f"\n== {n:,} images", flush=True)
        report(measure(n, args, root))


if __name__ == "__main__":
    main()

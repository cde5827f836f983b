"""Random batches from a memory-mapped prepared file: what the kernel reads and maps with and without
MADV_RANDOM, side by side in one run (the cache marks a file larger than half the available memory so).

    .venv/bin/python benchmarks/mapped_reads.py [--images 80000] [--side 64] [--batches 60] [--rounds 2]

Writes a prepared-size file of uint8 images (N x 3 x side x side) in a temporary folder on the disk the
cache uses, then, for each way of mapping it (alternating, the file evicted from the page cache before each
with posix_fadvise DONTNEED): draws `--batches` random batches of 64 rows, as training does, and reports the
bytes read from the disk (/proc/self/io read_bytes), the file pages mapped into the process (RssFile
growth) and the time per batch. Training reads rows at random: the kernel's read-around for a normal map
reads up to read_ahead_kb around each row (a laptop's disk read ~100x what is trained on, and `top`
showing the process grow towards the file's size).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan_studio.data.cache import map_rows  # noqa: E402
from gan_studio.paths import user_cache_dir  # noqa: E402

BATCH = 64


def read_bytes() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("read_bytes"))


def rss_file_kb() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("RssFile"))


def evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def plain_map(path: Path, shape) -> np.ndarray:
    return np.memmap(path, dtype=np.uint8, mode="r", shape=shape)  # what the cache did before MADV_RANDOM


def one_round(name: str, opener, path: Path, shape, batches: int, rng) -> dict:
    evict(path)
    rows = opener(path, shape)
    before_read, before_rss = read_bytes(), rss_file_kb()
    started = time.perf_counter()
    for _ in range(batches):
        index = np.sort(rng.choice(shape[0], BATCH, replace=False))
        batch = np.asarray(np.take(rows, index, axis=0))
        assert batch.shape[0] == BATCH
    seconds = time.perf_counter() - started
    result = {"name": name, "read_mb": (read_bytes() - before_read) / 1e6,
              "mapped_mb": (rss_file_kb() - before_rss) / 1e3, "ms_per_batch": 1000 * seconds / batches}  # fmt: skip
    del rows
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=80_000)
    parser.add_argument("--side", type=int, default=64)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    shape = (args.images, 3, args.side, args.side)
    folder = user_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix="mapped-reads-") as temp:
        path = Path(temp) / "rows.bin"
        chunk = np.random.default_rng(0).integers(0, 256, (1000, *shape[1:]), dtype=np.uint8).tobytes()
        with open(path, "wb") as fh:
            for start in range(0, args.images, 1000):
                fh.write(chunk[: min(1000, args.images - start) * len(chunk) // 1000])
        size_mb = path.stat().st_size / 1e6
        used_mb = args.batches * BATCH * int(np.prod(shape[1:])) / 1e6
        print(f"{args.images:,} images of {args.side} px ({size_mb:,.0f} MB), {args.batches} random batches of "
              f"{BATCH} ({used_mb:.1f} MB of rows); read_ahead_kb of the disks: {read_ahead()}")  # fmt: skip
        advised = "MADV_RANDOM (map_rows, a large file)"
        results: dict[str, list[dict]] = {"normal map": [], advised: []}
        rng = np.random.default_rng(1)
        openers = {"normal map": plain_map, advised: lambda p, s: map_rows(p, s, memory=1)}
        for round_index in range(args.rounds):
            names = list(openers) if round_index % 2 == 0 else list(reversed(openers))
            for name in names:
                results[name].append(one_round(name, openers[name], path, shape, args.batches, rng))
        for name, rounds in results.items():
            read = statistics.median(r["read_mb"] for r in rounds)
            mapped = statistics.median(r["mapped_mb"] for r in rounds)
            ms = statistics.median(r["ms_per_batch"] for r in rounds)
            print(f"{name:<36} read from disk {read:8.1f} MB   mapped {mapped:8.1f} MB   {ms:6.2f} ms/batch")
        normal = statistics.median(r["read_mb"] for r in results["normal map"])
        random = statistics.median(r["read_mb"] for r in results[advised])
        print(f"disk reads, normal / MADV_RANDOM: {normal / max(random, 1e-9):.1f}x")
    return 0


def read_ahead() -> str:
    values = sorted({p.read_text().strip() for p in Path("/sys/block").glob("*/queue/read_ahead_kb")})
    return ", ".join(values) or "?"


if __name__ == "__main__":
    sys.exit(main())

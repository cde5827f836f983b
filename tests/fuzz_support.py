"""Shared pieces of the fuzz tests (tests/test_fuzz_*.py): budgets, byte mutations, and the bounded call.

Not a test module itself. Every fuzz target feeds mutated files to a reader through `bounded()`,
which fails the test when anything other than a GanStudioError comes out, when the error message
is empty, when a call allocates more than `MEMORY_LIMIT` bytes (Python/numpy allocations via
tracemalloc, and resident-memory growth), or when it runs longer than `TIME_LIMIT_S` (a hang).

Budgets: CI runs a short one (`GAN_STUDIO_FUZZ_EXAMPLES`, default 40 examples per target). A long
run is the same tests with a bigger number, e.g.
`GAN_STUDIO_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_fuzz_*.py -q`.
"""

from __future__ import annotations

import os
import resource
import signal
import struct
import tracemalloc

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from gan_studio.errors import GanStudioError

EXAMPLES = int(os.environ.get("GAN_STUDIO_FUZZ_EXAMPLES", "40"))
MEMORY_LIMIT = 200 * 2**20  # bytes one call may allocate
TIME_LIMIT_S = 30  # seconds one call may take (generous: the CI machine is shared)

settings.register_profile(
    "gan-studio-fuzz",
    max_examples=EXAMPLES,
    deadline=None,  # the CI machine is shared: timing varies; hangs are caught by TIME_LIMIT_S instead
    database=None,  # failures become explicit regression tests, not a local cache
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
FUZZ = settings.get_profile("gan-studio-fuzz")


class FuzzTimeout(Exception):
    """A call under test ran past TIME_LIMIT_S: treated as a hang."""


def _on_alarm(signum, frame):
    raise FuzzTimeout(f"call ran longer than {TIME_LIMIT_S} s")


def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def bounded(fn, *args, trace_heap: bool = True, memory_limit: int = MEMORY_LIMIT, **kwargs):
    """`fn(*args, **kwargs)`, or the GanStudioError it raised; any other outcome fails the test.

    `trace_heap=False` skips the tracemalloc bound (for Pillow, which reserves large read buffers it
    never touches); resident-memory growth is still bounded, by `memory_limit`.
    """
    rss_before = _max_rss_bytes()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TIME_LIMIT_S)
    if trace_heap:
        tracemalloc.start()
    try:
        try:
            result = fn(*args, **kwargs)
        except GanStudioError as exc:
            result = exc
        peak = tracemalloc.get_traced_memory()[1] if trace_heap else 0
    finally:
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert peak < MEMORY_LIMIT, f"{fn.__name__} allocated {peak / 2**20:.0f} MiB"
    grew = _max_rss_bytes() - rss_before
    assert grew < memory_limit, f"{fn.__name__} grew resident memory by {grew / 2**20:.0f} MiB"
    if isinstance(result, GanStudioError):
        assert str(result).strip(), f"{type(result).__name__} with an empty message"
    return result


# --- byte mutations -------------------------------------------------------------------------------

HUGE_WORDS = (0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x40000000, 0x00FFFFFF, 0x00010000)


@st.composite
def _position(draw, size: int) -> int:
    """An offset in a buffer of `size` bytes, often inside the first 64 (where headers live)."""
    if size <= 1:
        return 0
    return draw(st.one_of(st.integers(0, min(size, 64) - 1), st.integers(0, size - 1)))


@st.composite
def _mutate_once(draw, data: bytes) -> bytes:
    op = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert", "huge_word", "zero", "append"]))
    if not data and op != "append":
        op = "append"
    if op == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    if op == "append":
        return data + draw(st.binary(min_size=1, max_size=64))
    pos = draw(_position(len(data)))
    if op == "flip":
        return data[:pos] + bytes([data[pos] ^ (1 << draw(st.integers(0, 7)))]) + data[pos + 1 :]
    if op == "overwrite":
        chunk = draw(st.binary(min_size=1, max_size=16))
        return data[:pos] + chunk + data[pos + len(chunk) :]
    if op == "insert":
        return data[:pos] + draw(st.binary(min_size=1, max_size=16)) + data[pos:]
    if op == "zero":
        length = draw(st.integers(1, 64))
        return data[:pos] + bytes(min(length, len(data) - pos)) + data[pos + length :]
    word = struct.pack(draw(st.sampled_from([">I", "<I"])), draw(st.sampled_from(HUGE_WORDS)))
    return data[:pos] + word + data[pos + 4 :]


@st.composite
def mutated(draw, data: bytes, max_mutations: int = 3) -> bytes:
    """`data` after 0 to `max_mutations` random edits: truncation, bit flips, overwrites, huge words."""
    for _ in range(draw(st.integers(0, max_mutations))):
        data = draw(_mutate_once(data))
    return data

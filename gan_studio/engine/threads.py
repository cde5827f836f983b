"""How many threads torch computes with: one fewer than the cores this process may use, unless OMP_NUM_THREADS says.

With as many busy torch threads as cores, anything else on the machine (a browser, the app following the run,
another training) takes a core from one of them, and every parallel op then waits for the thread that lost its
core: a small model trained 10-25x slower on a busy 2-core machine (review s11N N10). The app leaves the
core to its UI; `gan-studio train` and `eval` leave it to the rest of the machine.
"""

from __future__ import annotations

import os


def available_cores() -> int:
    """The cores this process may run on (its affinity mask; all of them where that is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def leave_a_core_free() -> int:
    """torch computes with (cores - 1) threads, at least one, unless OMP_NUM_THREADS is set; returns the count."""
    import torch

    if not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(max(1, available_cores() - 1))
    return torch.get_num_threads()

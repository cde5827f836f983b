"""The signals that stop a training or the app cleanly, and what to do with output once its reader is gone.

Ctrl-C (SIGINT), SIGTERM and the hangup of a closed terminal (SIGHUP, unless started under nohup, which
ignores it) stop after the current step with a checkpoint, in `gan-studio train` and in the app alike.
"""

from __future__ import annotations

import os
import signal
import sys

HANGUP = getattr(signal, "SIGHUP", None)  # none on Windows


def stopping_signals() -> list[int]:
    """Ctrl-C, SIGTERM and the hangup of a closed terminal (unless started under nohup, which ignores it)."""
    signals = [signal.SIGINT, signal.SIGTERM]
    if HANGUP is not None and signal.getsignal(HANGUP) is not signal.SIG_IGN:
        signals.append(HANGUP)
    return signals


def mute_output() -> None:
    """Send the rest of the process's output nowhere: where it went can no longer take it."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process

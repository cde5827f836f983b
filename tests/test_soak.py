"""Kill-and-resume soak, short version: every kind of SIGKILL once, then the run must equal an uninterrupted one.

The full soak (20 kills per model) is `python benchmarks/soak.py`; see its docstring for the checks.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SOAK_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


def load_soak():
    spec = importlib.util.spec_from_file_location("gan_studio_soak", SOAK_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


soak = load_soak()


@pytest.mark.slow
@pytest.mark.parametrize(
    "model, kinds",
    [("gan", ["checkpoint-write", "sample-write", "random"]), ("vae", ["metrics-line", "checkpoint-rename"])],
)
def test_killed_and_resumed_run_equals_the_uninterrupted_one(tmp_path, model, kinds):
    report = soak.soak_model(model, len(kinds), tmp_path, seed=3, log=lambda text: None, kinds=kinds)
    assert sum(report.kills.values()) == len(kinds)
    assert report.checkpoints_checked > 0


def test_soak_detects_a_lost_metrics_step(tmp_path):
    """The final comparison is able to fail: a run missing one logged step is reported."""
    run, reference = tmp_path / "run", tmp_path / "reference"
    for folder, steps in ((run, [1, 3]), (reference, [1, 2, 3])):
        folder.mkdir()
        (folder / "metrics.jsonl").write_text("".join(f'{{"step": {s}, "loss": 1.0}}\n' for s in steps))
    with pytest.raises(soak.SoakFailure, match="missing \\[2\\]"):
        soak.compare_with_reference(run, reference, 3)

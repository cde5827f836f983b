"""Comparing two runs' curves: short names for a plot's legend, and what makes two runs unlike (another dataset,
another model family), which a person comparing them should be told."""

from __future__ import annotations

import re

from gan_studio.state.run_state import RunState

SHORT_NAME_CHARS = 20  # a legend entry stays about this long: the run's name beside every metric
STAMP = re.compile(r"-(\d{8})-(\d{2})(\d{2})(\d{2})$")  # a run folder's default ending: -YYYYMMDD-HHMMSS


def short_run_name(name: str) -> str:
    """A run's name for a legend: a default time stamp as "HH:MM", a long name cut in the middle."""
    name = STAMP.sub(lambda m: f" {m.group(2)}:{m.group(3)}", name)
    if len(name) <= SHORT_NAME_CHARS:
        return name
    head = (SHORT_NAME_CHARS - 1) // 2
    return f"{name[:head]}…{name[-(SHORT_NAME_CHARS - 1 - head) :]}"


def dataset_name(run: RunState) -> str:
    dataset = run.info.get("dataset")
    name = dataset.get("name") if isinstance(dataset, dict) else None
    return str(name or run.settings.get("data") or "")


def differences(run: RunState, other: RunState) -> list[str]:
    """How two runs differ in what their curves measure ([] when alike): dataset, model family."""
    found = []
    for what, mine, theirs in (
        ("dataset", dataset_name(run), dataset_name(other)),
        ("model", run.model_name, other.model_name),
    ):
        if mine and theirs and mine != theirs:
            found.append(f"{what} {mine} vs {theirs}")
    return found

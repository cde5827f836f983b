"""The run directory: run.json, metrics.jsonl, events.jsonl, samples/, checkpoints/, exports/.

Writers append and flush one JSON line per record; readers tolerate a truncated last line (a run
may be killed mid-write or still running). run.json is replaced atomically on every status change.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_studio.errors import RunError

STATUSES = ("running", "paused", "finished", "stopped", "diverged", "failed")
_SAMPLE_FILE = re.compile(r"^step-(\d+)\.png$")


def _clean(value):
    """JSON-safe copy: non-finite floats become strings ('nan', 'inf') rather than invalid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


MAX_RUN_JSON_BYTES = 16 * 2**20  # a real run.json is a few KB: a bigger one is not read


def _int_or_float(text: str) -> int | float:
    """JSON integers beyond 64 bits become floats (inf at worst), so formatting them cannot overflow."""
    return int(text) if len(text.lstrip("-")) <= 18 else float(text)


def parse_json(data: str | bytes) -> Any:
    """`json.loads` for files from anywhere: ValueError (JSONDecodeError included) for invalid or absurd JSON."""
    try:
        return json.loads(data, parse_int=_int_or_float)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_jsonl(path: Path, max_bytes: int | None = None) -> list[dict]:
    """Records of a .jsonl file; a truncated or garbled last line is skipped, earlier garbage too."""
    records: list[dict] = []
    try:
        with open(path, "rb") as fh:
            data = fh.read() if max_bytes is None else fh.read(max_bytes)
    except FileNotFoundError:
        return records
    except OSError as exc:
        raise RunError(f"cannot read: {exc.strerror or exc}", path) from None
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            item = parse_json(line)
        except ValueError:  # JSONDecodeError, UnicodeDecodeError, too deep
            continue
        if isinstance(item, dict):
            records.append(item)
    return records


class JsonlTail:
    """Incremental reader for a file another process is appending to (live following)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self._partial = b""

    def read_new(self) -> list[dict]:
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self.offset:  # file was rewritten (e.g. resumed run): start over
                    self.offset, self._partial = 0, b""
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # incomplete last line (no newline yet)
        out = []
        for line in lines:
            try:
                item = parse_json(line)
            except ValueError:  # JSONDecodeError, UnicodeDecodeError, too deep
                continue
            if isinstance(item, dict):
                out.append(item)
        return out


@dataclass
class RunDir:
    """Paths and writers of one run directory."""

    path: Path

    def __post_init__(self):
        self.path = Path(self.path)

    run_json = property(lambda self: self.path / "run.json")
    metrics_file = property(lambda self: self.path / "metrics.jsonl")
    events_file = property(lambda self: self.path / "events.jsonl")
    samples_dir = property(lambda self: self.path / "samples")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    exports_dir = property(lambda self: self.path / "exports")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.pt")

    @property
    def name(self) -> str:
        return self.path.name

    def exists(self) -> bool:
        return self.run_json.is_file()

    def create(self) -> None:
        for folder in (self.path, self.samples_dir, self.checkpoints_dir, self.exports_dir):
            folder.mkdir(parents=True, exist_ok=True)

    # run.json -------------------------------------------------------------------------------
    def read_info(self) -> dict[str, Any]:
        try:
            with open(self.run_json, "rb") as fh:
                data = fh.read(MAX_RUN_JSON_BYTES + 1)
        except FileNotFoundError:
            raise RunError("not a run directory (no run.json)", self.path) from None
        except OSError as exc:
            raise RunError(f"cannot read run.json: {exc}", self.run_json) from None
        if len(data) > MAX_RUN_JSON_BYTES:
            raise RunError(f"run.json is too large (over {MAX_RUN_JSON_BYTES // 2**20} MB): not a run", self.run_json)
        try:
            info = parse_json(data.decode("utf-8"))
        except json.JSONDecodeError as exc:
            raise RunError(f"run.json is not valid JSON ({exc.msg}, line {exc.lineno})", self.run_json) from None
        except ValueError as exc:  # not UTF-8, or nested too deeply
            raise RunError(f"cannot read run.json: {exc}", self.run_json) from None
        if not isinstance(info, dict):
            raise RunError("run.json must hold a JSON object", self.run_json)
        return info

    def write_info(self, info: dict[str, Any]) -> None:
        tmp = self.run_json.with_name(".run.json.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(_clean(info), fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.run_json)

    def set_status(self, status: str, **extra) -> dict[str, Any]:
        assert status in STATUSES, status
        info = self.read_info()
        info["status"] = status
        info["updated"] = time.time()
        info.update(extra)
        self.write_info(info)
        return info

    # jsonl logs -----------------------------------------------------------------------------
    def append_metrics(self, record: dict) -> None:
        _append_line(self.metrics_file, record)

    def append_event(self, event: dict) -> None:
        _append_line(self.events_file, {"time": time.time(), **event})

    def read_metrics(self) -> list[dict]:
        return read_jsonl(self.metrics_file)

    def read_events(self) -> list[dict]:
        return read_jsonl(self.events_file)

    def truncate_metrics_after(self, step: int) -> None:
        """Drop metric records past `step` (written after the checkpoint a resume starts from)."""
        records = [r for r in self.read_metrics() if isinstance(r.get("step"), int) and r["step"] <= step]
        tmp = self.metrics_file.with_name(".metrics.jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.metrics_file)

    # samples ---------------------------------------------------------------------------------
    def sample_path(self, step: int) -> Path:
        return self.samples_dir / f"step-{step:07d}.png"

    def sample_steps(self) -> list[tuple[int, Path]]:
        """Saved grids as (step, path), oldest first."""
        if not self.samples_dir.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.samples_dir.iterdir() if (m := _SAMPLE_FILE.match(p.name))]
        return sorted(found)


def _append_line(path: Path, record: dict) -> None:
    line = json.dumps(_clean(record), separators=(",", ":")) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()


def list_runs(workspace: str | Path) -> list[dict[str, Any]]:
    """Summaries of the runs directly inside `workspace` (newest first); broken ones are reported."""
    root = Path(workspace)
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        if not (child / "run.json").is_file():
            continue
        runs.append(summarise_run(child))
    runs.sort(key=lambda r: r.get("created") or 0, reverse=True)
    return runs


def summarise_run(path: str | Path) -> dict[str, Any]:
    """status, model, data, step and last metrics of a run; an 'error' entry when unreadable."""
    run = RunDir(Path(path))
    summary: dict[str, Any] = {"path": str(run.path), "name": run.name}
    try:
        info = run.read_info()
    except RunError as exc:
        summary["error"] = str(exc)
        return summary
    created = info.get("created")
    summary.update(
        model=str(info.get("model", "?")),
        data=str((info.get("dataset") or {}).get("name", "?")) if isinstance(info.get("dataset"), dict) else "?",
        status=str(info.get("status", "?")),
        created=created if isinstance(created, (int, float)) and math.isfinite(created) else 0,
    )
    metrics = _tail_records(run.metrics_file)
    summary["last"] = metrics[-1] if metrics else {}
    steps = [s for s in (summary["last"].get("step"), info.get("step")) if isinstance(s, int)]
    summary["step"] = max(steps, default=0)  # metrics lead while running; run.json after a stop
    return summary


def _tail_records(path: Path, tail_bytes: int = 65536) -> list[dict]:
    """The last few records of a jsonl file without reading all of it."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - tail_bytes))
            data = fh.read()
    except OSError:
        return []
    lines = data.splitlines()
    if size > tail_bytes and lines:
        lines = lines[1:]  # first line is probably cut
    out = []
    for line in lines:
        try:
            item = parse_json(line)
        except ValueError:  # JSONDecodeError, UnicodeDecodeError, too deep
            continue
        if isinstance(item, dict):
            out.append(item)
    return out

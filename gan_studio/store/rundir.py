"""One run directory: run.json, metrics.jsonl, events.jsonl, samples/, checkpoints/, exports/, eval/.

Writers append one JSON line per record (never through a symlink) and replace run.json atomically;
readers tolerate a truncated last line. A run folder holding a symlink or a non-regular file where
one of these entries belongs, or a hard-linked log or lock (appends would reach the other copies),
is refused with a message naming the entry (`check_layout`), so nothing is ever written, read or
deleted outside the run through it.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import stat
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_studio.errors import GanStudioError, RunError, shorten
from gan_studio.events import ACTIVE_STATUSES, RUN_STATUSES, Event, Metrics
from gan_studio.files import (
    DISK_FULL_ERRNOS,
    HARD_LINKED,
    DiskFullError,
    UnsafeFileError,
    append_line,
    atomic_write,
    describe_kind,
    open_regular,
    read_regular,
    remove_stale_temp_files,
)
from gan_studio.paths import data_name
from gan_studio.store.checkpoint_files import check_run_still_there, numbered_checkpoints
from gan_studio.store.jsonl import (
    dumps_line,
    filtered_lines,
    iter_jsonl,
    json_safe,
    parse_json,
    read_jsonl,
    tail_records,
)
from gan_studio.store.lock import abandoned_here, holder_of
from gan_studio.store.pictures import save_png

MAX_RUN_JSON_BYTES = 16 * 2**20  # a real run.json is a few KB: a bigger one is not read
MAX_REPORT_BYTES = 16 * 2**20  # eval/report.json is a few KB: a bigger one is not read
MAX_TEXT = 4096  # characters of one string kept in run.json
MAX_ITEMS = 10_000  # items of one list kept in run.json (class names, skipped files)
MAX_DEPTH = 8
SAMPLE_FILE = re.compile(r"^step-([0-9]{1,12})\.png$")
STEP_FILE = re.compile(r"^step-([0-9]{1,12})\.\w+$")  # any file a run keeps per step (grids, 2D-view frames)
KEPT_REPORT_FILE = re.compile(r"^step-([0-9]{1,12})-seed-([0-9]{1,20})\.json$")  # eval's report of a (step, seed)
EXPORT_FILE = re.compile(r"^(generator|decoder|encoder)-step-([0-9]{1,12})\.onnx$")  # what `export` names by default
FILES = ("run.json", "metrics.jsonl", "events.jsonl", ".lock")
OBJECT_SECTIONS = ("model_config", "train_config", "dataset", "data_info", "versions")  # of run.json
FRAMES_FOLDER = "frames"  # the 2D view's frames of a model of points, one per sample step (explore/frames.py)
MAX_FRAME_BYTES = 8 * 2**20  # a 2D-view frame is a few tens of KB
FOLDERS = ("samples", "checkpoints", "exports", "eval", FRAMES_FOLDER)
APPENDED = ("metrics.jsonl", "events.jsonl", ".lock")  # written in place, not replaced: never hard-linked


def bounded(value, depth: int = 0):
    """A copy of a JSON-able value with strings, lists and nesting cut to sane sizes (for run.json)."""
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return {}
        return {bounded(str(k)): bounded(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            return []
        return [bounded(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return value


def kept_report_name(step: int, seed: int) -> str:
    """eval/'s file that keeps the report of one (checkpoint step, noise seed) beside the latest (KEPT_REPORT_FILE)."""
    return f"step-{step}-seed-{seed}.json"


@dataclass
class RunDir:
    """Paths, readers and writers of one run directory."""

    path: Path

    def __post_init__(self):
        self.path = Path(self.path)

    run_json = property(lambda self: self.path / "run.json")
    metrics_file = property(lambda self: self.path / "metrics.jsonl")
    events_file = property(lambda self: self.path / "events.jsonl")
    samples_dir = property(lambda self: self.path / "samples")
    frames_dir = property(lambda self: self.path / FRAMES_FOLDER)
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    exports_dir = property(lambda self: self.path / "exports")
    eval_dir = property(lambda self: self.path / "eval")
    lock_file = property(lambda self: self.path / ".lock")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.pt")

    @property
    def name(self) -> str:
        return self.path.name

    def exists(self) -> bool:
        try:
            return stat.S_ISREG(os.lstat(self.run_json).st_mode)
        except OSError:
            return False

    # safety ------------------------------------------------------------------------------------------
    def check_layout(self, writing: bool = False) -> None:
        """Refuse a run whose known entries are symlinks or of the wrong kind (RunError naming the entry);
        `writing` (training it): also a hard-linked log or lock. Reading a hard-linked copy (a `cp -al`
        backup) is harmless, so `runs`, `sample`, `eval` and `export` still work on one."""
        try:
            top = os.lstat(self.path)
        except FileNotFoundError:
            raise RunError("no such run directory", self.path) from None
        except OSError as exc:
            raise RunError(f"cannot read the run directory: {exc.strerror or exc}", self.path) from None
        try:
            mode = os.stat(self.path).st_mode if stat.S_ISLNK(top.st_mode) else top.st_mode
        except OSError as exc:  # a link to nothing, or a loop of links (a bad `ln -s`, a sync tool)
            broken = "a loop of symbolic links" if exc.errno == errno.ELOOP else "a symbolic link to nothing"
            raise RunError(f"{broken}, not a run folder", self.path) from None
        if not stat.S_ISDIR(mode):
            raise RunError("is not a folder", self.path)
        for name in FILES + FOLDERS:
            entry = self.path / name
            try:
                info = os.lstat(entry)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise RunError(f"cannot read it: {exc.strerror or exc}", entry) from None
            mode = info.st_mode
            wanted = stat.S_ISDIR if name in FOLDERS else stat.S_ISREG
            if stat.S_ISLNK(mode) or not wanted(mode):
                raise RunError(f"is {describe_kind(mode)}; a run folder may only hold real "
                               f"{'folders' if name in FOLDERS else 'files'} there: refused", entry)  # fmt: skip
            if writing and name in APPENDED and info.st_nlink > 1:  # appending would write into the other copies too
                raise RunError(HARD_LINKED, entry)

    def create(self) -> None:
        for folder in (self.path, self.samples_dir, self.checkpoints_dir, self.exports_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.check_layout(writing=True)

    def ensure_folder(self, name: str) -> Path:
        """A sub-folder of the run (created if missing); a symlink there is refused."""
        folder = self.path / name
        try:
            folder.mkdir(exist_ok=True)
        except FileExistsError:
            pass
        except OSError as exc:
            raise RunError(f"cannot create {name}/: {exc.strerror or exc}", folder) from None
        mode = os.lstat(folder).st_mode
        if not stat.S_ISDIR(mode):
            raise RunError(f"{name} is {describe_kind(mode)}, not a folder: refused", folder)
        return folder

    # run.json -------------------------------------------------------------------------------------------
    def read_info(self) -> dict[str, Any]:
        try:
            data = read_regular(self.run_json, MAX_RUN_JSON_BYTES)
        except FileNotFoundError:
            raise RunError("not a run directory (no run.json)", self.path) from None
        except UnsafeFileError as exc:
            raise RunError(exc.reason, self.run_json) from None
        except OSError as exc:
            raise RunError(f"cannot read it: {exc.strerror or exc}", self.run_json) from None
        if len(data) > MAX_RUN_JSON_BYTES:
            raise RunError(f"too large (over {MAX_RUN_JSON_BYTES // 2**20} MB): not a run", self.run_json)
        try:
            info = parse_json(data.decode("utf-8"))
        except ValueError as exc:  # JSONDecodeError, not UTF-8, nested too deeply
            raise RunError(f"not valid JSON ({str(exc).splitlines()[0][:120]})", self.run_json) from None
        if not isinstance(info, dict):
            raise RunError("must hold a JSON object", self.run_json)
        for key in OBJECT_SECTIONS:
            if key in info and not isinstance(info[key], dict):
                raise RunError(f"damaged: '{key}' must be a JSON object, not {json_kind(info[key])}",
                               self.run_json)  # fmt: skip
        return info

    def write_info(self, info: dict[str, Any]) -> None:
        text = json.dumps(bounded(json_safe(info)), indent=2)
        self._write(lambda: atomic_write(self.run_json, text.encode("utf-8")))

    def set_status(self, status: str, **extra) -> dict[str, Any]:
        if status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        info = self.read_info()
        info["status"] = status
        info["updated"] = time.time()
        info.update(extra)
        self.write_info(info)
        return info

    # jsonl logs ----------------------------------------------------------------------------------------
    def record(self, event: Event) -> None:
        """Append an event: Metrics to metrics.jsonl, anything else to events.jsonl."""
        if isinstance(event, Metrics):
            self._write(lambda: append_line(self.metrics_file, dumps_line(event.to_json())))
        else:
            line = dumps_line(bounded(event.to_json()))
            self._write(lambda: append_line(self.events_file, line))

    def read_metrics(self) -> list[dict]:
        return read_jsonl(self.metrics_file)

    def iter_metrics(self) -> Iterator[dict]:
        """read_metrics a record at a time (a run of a million records never holds them all as dicts)."""
        return iter_jsonl(self.metrics_file)

    def read_events(self) -> list[dict]:
        return read_jsonl(self.events_file)

    def truncate_metrics_after(self, step: int) -> list[str]:
        """Drop metric records past `step` (written after the checkpoint a resume starts from), and unreadable
        lines; what was dropped, in words ([] when nothing was)."""
        return self._drop_records_after(self.metrics_file, step, "record", _at_most(step))

    def truncate_events_after(self, step: int) -> list[str]:
        """Drop events past `step` (the advice, stops and changes of a history a resume leaves), and unreadable
        lines; events without a step are kept. What was dropped, in words ([] when nothing was)."""
        at_most = _at_most(step)
        return self._drop_records_after(self.events_file, step, "event", lambda s: not isinstance(s, int) or at_most(s))

    def copy_metrics_until(self, source: Path, step: int) -> None:
        """metrics.jsonl := the readable records of the metrics file `source` up to `step` (a fork's), streamed a
        line at a time (a fork of a 300 MB log took 4 minutes and 2.6 GB as a list of records: review s18H #3)."""
        self._drop_records_after(self.metrics_file, step, "record", _at_most(step), source=source)

    def _drop_records_after(self, path: Path, step: int, noun: str, keep_step: Callable[[object], bool],
                            source: Path | None = None) -> list[str]:  # fmt: skip
        """`path` keeps the records of `source` (itself by default) that `keep_step` accepts the step of."""
        source = source or path
        if not source.exists():
            return []
        left_out: dict[str, int] = {}

        def write(fh) -> None:  # a line at a time: a log of any size keeps every earlier record
            for line in filtered_lines(source, lambda r: keep_step(r.get("step")), left_out):
                fh.write(line)

        self._write(lambda: atomic_write(path, write))
        said = []
        if left_out.get("unreadable"):
            n = left_out["unreadable"]
            said.append(f"{path.name}: {n:,} unreadable line{'s' * (n != 1)} (damaged or cut short) left out")
        if left_out.get("not kept"):
            n = left_out["not kept"]
            said.append(f"{path.name}: {n:,} {noun}{'s' * (n != 1)} after step {step:,} removed: they were logged "
                        "after the checkpoint the run goes on from")  # fmt: skip
        return said

    def check_writable(self, name: str, replaces: tuple[str, ...] = ()) -> Path:
        """The sub-folder `name` (created if missing), after checking a file can be created in it and that
        the files of `replaces` are regular files or absent (a symlink there is refused now, before the
        minutes of work whose result it would have refused)."""
        folder = self.ensure_folder(name)
        for file_name in replaces:
            try:
                mode = os.lstat(folder / file_name).st_mode
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise RunError(f"cannot use {name}/{file_name}: {exc.strerror or exc}", self.path) from None
            if not stat.S_ISREG(mode):
                kind = "a symlink" if stat.S_ISLNK(mode) else "not a regular file"
                raise RunError(f"{name}/{file_name} is {kind}: nothing is written through it; remove it", self.path)
        probe = folder / f".write-test-{os.getpid()}"
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
            os.unlink(probe)
        except PermissionError:
            raise RunError(f"the run folder is read-only: nothing can be saved in {name}/", self.path) from None
        except OSError as exc:
            raise RunError(f"cannot write in {name}/: {exc.strerror or exc}", self.path) from None
        return folder

    def rewind(self, step: int, checkpoint: Path | None = None) -> list[str]:
        """Continue the run from `step`: metrics, sample grids, numbered checkpoints, exports and the
        evaluation after it belong to a history that no longer exists and are removed (`gan-studio fork`
        keeps a copy instead), as are the temporary files a killed writer left. (An export or report of
        step 150 left beside the new history's step 150 showed other pictures under the same step.)
        `checkpoint`, the kept file the run continues from, first becomes last.pt (atomically): a crash
        before the next checkpoint then resumes from `step`, never from the history removed here. Returns what
        was dropped of the metrics, in words."""
        for folder in (self.path, self.samples_dir, self.checkpoints_dir):
            remove_stale_temp_files(folder)
        if checkpoint is not None and checkpoint != self.last_checkpoint:
            self._write(lambda: _copy_atomically(checkpoint, self.last_checkpoint))
        said = self.truncate_metrics_after(step) + self.truncate_events_after(step)
        checkpoints = [(s, p) for s, p in numbered_checkpoints(self.checkpoints_dir) if s > step]
        later = {  # what belongs to the history after `step`, by what it is (for the note)
            "sample grid": [p for s, p in self.sample_steps() if s > step],
            "frame of the 2D view": [p for s, p in self.frame_steps() if s > step],
            "export": [Path(e.path) for e in _scan(self.exports_dir)
                       if (m := EXPORT_FILE.match(e.name)) and int(m.group(2)) > step],
            "evaluation": [Path(e.path) for e in _scan(self.eval_dir)
                           if (m := KEPT_REPORT_FILE.match(e.name)) and int(m.group(1)) > step],
        }  # fmt: skip
        report = self.read_report()
        if report is not None and isinstance(report.get("step"), int) and report["step"] > step:
            later["evaluation"] += [self.eval_dir / name for name in ("report.json", "nearest.png")]
        removed_checkpoints = [f"step-{s}" for s, p in checkpoints if _removed(p)]
        removed = {kind: sum(map(_removed, paths)) for kind, paths in later.items()}
        parts = (
            [f"checkpoint{'s' * (len(removed_checkpoints) != 1)} {', '.join(removed_checkpoints)}"]
            if removed_checkpoints
            else []
        )
        parts += [f"{n} {kind if n == 1 else HISTORY_FILES_PLURAL[kind]}" for kind, n in removed.items() if n]
        if parts:  # the resume's note names what went, not only the metrics and events
            said.append(f"removed with the history after step {step:,}: {'; '.join(parts)}")
        return said

    def frame_steps(self) -> list[tuple[int, Path]]:
        """The 2D view's saved frames as (step, path), oldest first (regular files only)."""
        return sorted((int(m.group(1)), Path(e.path)) for e in _scan(self.frames_dir) if (m := STEP_FILE.match(e.name)))

    def read_report(self) -> dict | None:
        """eval/report.json, the run's last evaluation, as a dict (None when absent or unreadable)."""
        try:
            data = json.loads(read_regular(self.eval_dir / "report.json", MAX_REPORT_BYTES).decode("utf-8"))
        except (GanStudioError, OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def export_path(self, part: str, step: int) -> Path:
        """Where `gan-studio export` writes a part of the model at `step` by default (EXPORT_FILE names)."""
        return self.exports_dir / f"{part}-step-{step:07d}.onnx"

    def _write(self, write) -> None:
        """Run a write; turn a read-only folder or a full disk into one readable RunError."""
        try:
            write()
        except GanStudioError:
            raise
        except PermissionError:
            raise RunError("the run folder is read-only: cannot record anything in it", self.path) from None
        except OSError as exc:
            raise RunError(f"cannot write to the run folder: {exc.strerror or exc}", self.path) from None

    def write_picture(self, picture, path: Path) -> Path:
        """save_png into the run; a read-only folder or a full disk is one RunError."""
        check_run_still_there(self.path, self.relative(path))
        written: list[Path] = []
        self._write(lambda: written.append(save_png(picture, path)))
        return written[0]

    # samples -----------------------------------------------------------------------------------------
    def sample_path(self, step: int) -> Path:
        return self.samples_dir / f"step-{step:07d}.png"

    def sample_steps(self) -> list[tuple[int, Path]]:
        """Saved grids as (step, path), oldest first (regular files only)."""
        found = [(int(m.group(1)), Path(e.path)) for e in _scan(self.samples_dir) if (m := SAMPLE_FILE.match(e.name))]
        return sorted(found)

    def relative(self, path: Path) -> str:
        """`path` relative to the run folder (what events record, so a copied run still resolves)."""
        try:
            return Path(path).relative_to(self.path).as_posix()
        except ValueError:
            return Path(path).name

    def resolve(self, relative: str) -> Path | None:
        """A path an event recorded, inside this run (None when it would leave the run folder)."""
        candidate = Path(relative)
        if candidate.is_absolute() or ".." in candidate.parts:
            return None
        return self.path / candidate


def _scan(folder: Path) -> Iterable[os.DirEntry]:
    """Regular files directly in `folder` ([] when it is missing, a symlink or unreadable)."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return []
        return [e for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []


def runs_folder_near(folder: Path) -> tuple[Path, int] | None:
    """Where the runs are when `folder` holds none, with how many: its runs/ sub-folder (GAN_STUDIO_HOME=DIR means
    DIR/runs, a workspace DIR means DIR) or, for a run's own folder, the workspace above it; None when neither."""
    near = [folder / "runs"] + ([folder.parent] if os.path.lexists(folder / "run.json") else [])
    for candidate in near:
        if candidate.is_dir() and not candidate.is_symlink():
            count = len(list_runs(candidate))
            if count:
                return candidate, count
    return None


def list_runs(workspace: str | Path, cache: dict | None = None) -> list[dict[str, Any]]:
    """Summaries of the runs directly inside `workspace` (newest first); broken ones say why.

    `cache` (a dict the caller keeps between calls, e.g. the app's Runs panel refreshing every few seconds)
    keeps each summary with the size, time and inode of the files it was read from: a run whose run.json,
    metrics.jsonl, events.jsonl and last.pt did not change is not read again (400 runs took 0.2 s a listing).
    Runs that are or were training are always read again: whether one was abandoned is no file's change."""
    root = Path(workspace)
    try:
        children = list(os.scandir(root))
    except OSError:
        return []
    runs = []
    for child in children:
        path = Path(child.path)
        if child.is_symlink():
            if (path / "run.json").exists():  # a link in the workspace is not followed; a path given by hand is
                target = shorten(os.path.realpath(path), 200)
                runs.append({"path": str(path), "name": child.name, "status": "link", "target": os.path.realpath(path),
                             "error": f"the run folder is a symlink, not followed here: use it by its own path {target}"})  # fmt: skip
            continue
        if not child.is_dir(follow_symlinks=False):
            continue
        try:
            mode = os.lstat(path / "run.json").st_mode
        except OSError:
            continue
        runs.append(_summary(path, cache) if stat.S_ISREG(mode) else
                    {"path": str(path), "name": child.name, "status": "broken",
                     "error": f"run.json is {describe_kind(mode)}"})  # fmt: skip
    if cache is not None:
        listed = {run["path"] for run in runs}
        for gone in [key for key in cache if key not in listed]:
            del cache[gone]
    runs.sort(key=lambda r: r.get("created") or 0, reverse=True)
    return runs


def _summary(path: Path, cache: dict | None) -> dict[str, Any]:
    if cache is None:
        return summarise_run(path)
    key = []
    for name in ("run.json", "metrics.jsonl", "events.jsonl", "checkpoints/last.pt"):
        try:
            st = os.stat(path / name)
            key.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            key.append(None)
    hit = cache.get(str(path))
    if hit is not None and hit[0] == key and hit[1].get("status") not in (*ACTIVE_STATUSES, "interrupted"):
        return dict(hit[1])
    summary = summarise_run(path)
    cache[str(path)] = (key, summary)
    return dict(summary)


def check_new_run_folder(path: Path) -> None:
    """RunError unless `path` can become a new run's folder: new, or an empty folder; its name printable."""
    if any(ord(c) < 32 or ord(c) == 127 for c in path.name):
        raise RunError("the folder name holds a control character (a newline or a tab?): choose another", path)
    if path.is_symlink() or (path / "run.json").exists():
        raise RunError("already holds a run (or is a symlink): resume that run, or choose another folder", path)
    if path.exists() and not path.is_dir():  # a file, a FIFO, a device
        mode = os.stat(path).st_mode
        kind = "a file" if stat.S_ISREG(mode) else describe_kind(mode)
        raise RunError(f"is {kind}, not a folder: choose a new or empty folder for the run", path)
    if path.exists() and not _empty_or_bare_skeleton(path):
        raise RunError("already exists and is not an empty folder: choose a new or empty folder for the run", path)


def _empty_or_bare_skeleton(path: Path) -> bool:
    """An empty folder, or only what a start killed (or failed) before it wrote run.json leaves: the run's empty
    sub-folders and a .lock file nobody holds."""
    try:
        entries = list(os.scandir(path))
        return all(e.name in FOLDERS and e.is_dir(follow_symlinks=False) and not any(os.scandir(e.path))
                   or e.name == ".lock" and e.is_file(follow_symlinks=False) and holder_of(path) is None
                   for e in entries)  # fmt: skip
    except OSError:
        return False


def json_kind(value: Any) -> str:
    """'a string', 'a list', ... for messages about a JSON value of the wrong type."""
    names = {str: "a string", list: "a list", bool: "true or false", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def run_data_spec(info: dict) -> str:
    """The dataset a run trains on, as given to --data, from its run.json `info` (where a resume with --data
    found it, when the data moved); "" when run.json does not say."""
    train_config = info.get("train_config") if isinstance(info.get("train_config"), dict) else {}
    dataset = info.get("dataset") if isinstance(info.get("dataset"), dict) else {}
    return str(train_config.get("data") or dataset.get("source") or "")


def _data_shown(info: dict, dataset) -> str:
    """The data a run trained on, as a list shows it: a built-in's name, or the file or folder name of a path
    (photos, photos.zip and photos.npz are three datasets; their loaders all call them 'photos')."""
    spec = (info.get("train_config") or {}).get("data") if isinstance(info.get("train_config"), dict) else None
    if isinstance(spec, str) and ("/" in spec or os.sep in spec) and Path(spec).name:
        return Path(spec).name[:80]
    return str(dataset.get("name", "?"))[:80] if isinstance(dataset, dict) else "?"


def summarise_run(path: str | Path) -> dict[str, Any]:
    """Status, model, data, step, last metrics and latest advice of a run; an 'error' entry when broken (its
    status then "broken", or "link" for a symlinked run `list_runs` does not follow, with its real path `target`)."""
    run = RunDir(Path(path))
    summary: dict[str, Any] = {"path": str(run.path), "name": run.name}
    try:
        run.check_layout()
        info = run.read_info()
    except RunError as exc:
        summary.update(status="broken", error=str(exc))
        return summary
    created = info.get("created")
    dataset = info.get("dataset")
    summary.update(
        model=str(info.get("model", "?"))[:40],
        data=_data_shown(info, dataset),
        status=info["status"] if info.get("status") in RUN_STATUSES else "?",  # not a status: {'a': 1} was shown
        created=created if isinstance(created, (int, float)) and math.isfinite(created) else 0,
    )
    for key in ("steps_total", "world_size"):  # how long the run is to train, on how many processes
        value = info.get(key)
        summary[key] = value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
    for key in ("device", "precision"):
        summary[key] = info[key][:40] if isinstance(info.get(key), str) else None
    if summary["status"] in ("running", "paused") and abandoned_here(run.path):
        summary["status"] = "interrupted"  # its trainer was killed: resume it
    last: dict[str, Any] = {}
    for record in tail_records(run.metrics_file):  # the newest value of each metric (records hold some each)
        last.update(record)
    summary["last"] = last
    advice = [e for e in tail_records(run.events_file) if e.get("type") == "advice"]
    summary["advice"] = advice[-1] if advice else None
    if summary["status"] == "?":
        summary["problem"] = f"run.json's status is {shorten(repr(info.get('status')), 40)}, not a run's status"
    steps = [
        s
        for s in (summary["last"].get("step"), info.get("step"))
        if isinstance(s, int) and not isinstance(s, bool) and s >= 0
    ]
    summary["step"] = max(steps, default=0)  # metrics lead while running; run.json after a stop
    if summary["status"] in ("finished", "stopped") and not os.path.lexists(run.last_checkpoint):
        summary["problem"] = "checkpoints/last.pt is missing: it cannot be sampled, exported or resumed"
    elif not last and _size(run.metrics_file):  # garbage, or one line too long to read: not an empty history
        summary["problem"] = "metrics.jsonl holds no readable record at its end (damaged): its curves are missing"
    elif os.path.lexists(run.last_checkpoint) and not looks_whole(run.last_checkpoint):
        kept = [f"step-{s}" for s, p in numbered_checkpoints(run.checkpoints_dir) if looks_whole(p)]
        way_out = f" (it keeps {', '.join(kept[-3:])}: fork or resume one with --from step-N)" if kept else ""
        summary["problem"] = f"checkpoints/last.pt is damaged (not a checkpoint file){way_out}"
    return summary


HISTORY_FILES_PLURAL = {"sample grid": "sample grids", "frame of the 2D view": "frames of the 2D view",
                        "export": "exports", "evaluation": "evaluation files"}  # fmt: skip


def looks_whole(path: Path) -> bool:
    """A cheap look at a kept checkpoint: a regular, non-empty zip archive (what torch.save writes); a truncated
    or 0-byte file (a disk that filled during a copy, a sync placeholder) is not offered as the way out."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode) and zipfile.is_zipfile(path)
    except OSError:
        return False


def _at_most(step: int) -> Callable[[object], bool]:
    """Whether a record's "step" is a step number (not true/false) no later than `step`."""
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and value <= step


def _size(path: Path) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def _removed(path: Path) -> bool:
    """Remove one file of a history left behind; whether it went."""
    try:
        os.unlink(path)
        return True
    except OSError:
        return False


def _copy_atomically(source: Path, destination: Path) -> None:
    with open_regular(source) as fh:
        atomic_write(destination, lambda out: shutil.copyfileobj(fh, out))


@contextmanager
def new_run_folder_claim(out: str | Path | None, model_name: str, data: str, workspace: str | Path,
                         writer: bool = True) -> Iterator[Path]:  # fmt: skip
    """The folder of a new run, for the block that builds it: `out` (checked to be new or empty), or a fresh
    model-data-time folder of `workspace` made at once (`mkdir`, which only one process can win), so that
    trainings started in the same second each get their own (-2, -3...). A folder made here is removed again
    when the block fails before the run wrote its run.json: bad input leaves no run folder behind.
    `writer`: whether this process writes the run (torchrun's other ranks only name it; they check `out` too,
    so that a refused folder stops every process at once instead of leaving the others waiting for it)."""
    made: list[Path] = []  # the folders this start made, deepest first: removed again if it fails
    if out is not None:
        path = Path(out)
        check_new_run_folder(path)  # by every torchrun process: one that waited for a refused writer would hang
        if writer:
            made = _make_out_folder(path)
    elif not writer:
        path = new_run_folder(model_name, data, workspace, free=False)  # the name rank 0 has just made
    else:
        path = make_new_run_folder(model_name, data, Path(workspace))
        made = [path]
    try:
        yield path
    except BaseException:
        if made and _remove_unwritten_run_folder(made[0]):
            for parent in made[1:]:  # --out a/b/c made a/ and a/b/ too
                try:
                    os.rmdir(parent)
                except OSError:
                    break
        raise


def _make_out_folder(path: Path) -> list[Path]:
    """Create --out's folder (and the missing folders above it); the folders made, deepest first, or [] when it
    was there already (an empty folder of the user's, or one another start has just made: not ours to remove)."""
    missing = []
    for folder in (path, *path.parents):
        if os.path.lexists(folder):
            break
        missing.append(folder)
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        return []
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            raise DiskFullError("cannot create the run folder: the disk is full", path) from None
        raise RunError(f"cannot create the run folder: {exc.strerror or exc}", path) from None
    return missing


def make_new_run_folder(model_name: str, data: str, workspace: Path) -> Path:
    """Make a fresh folder for a run in `workspace` (see new_run_folder), by `mkdir`, which only one process
    can win: of two started in the same second, the second gets the next free name."""
    try:
        workspace.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTDIR):  # a file where the folder (or one above it) would be
            raise RunError("cannot be the workspace: a file stands where it (or a folder above it) would be; choose a "
                           "folder for the runs", workspace) from None  # fmt: skip
        raise RunError(f"cannot create the workspace folder: {exc.strerror or exc} (--workspace DIR or "
                       "GAN_STUDIO_HOME=DIR puts the runs in a writable folder)", workspace) from None  # fmt: skip
    for _ in range(1000):
        path = new_run_folder(model_name, data, workspace)
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue  # another training took the name between the look and the mkdir
        except OSError as exc:
            raise RunError(f"cannot create the run folder: {exc.strerror or exc}", path) from None
    raise RunError("could not find a free folder name for the run", workspace)


def _remove_unwritten_run_folder(path: Path) -> bool:
    """Remove a run folder made for a run that failed before writing run.json (its empty sub-folders and
    released lock file go too); anything else in it is left alone. Whether it is gone."""
    try:
        entries = list(os.scandir(path))
        if any(e.name == "run.json" for e in entries):
            return False
        for entry in entries:
            if entry.name in FOLDERS and entry.is_dir(follow_symlinks=False):
                os.rmdir(entry.path)  # fails, and keeps it, unless empty
            elif entry.name == ".lock" and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        os.rmdir(path)
    except OSError:
        return False
    return True


def new_run_folder(model_name: str, data: str, workspace: str | Path, free: bool = True) -> Path:
    """A fresh folder name in `workspace` for a run: model-data-time (plus -2, -3... if taken, when `free`)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = data_name(data)[:40]
    base = Path(workspace)
    out = base / f"{model_name}-{name}-{stamp}"
    suffix = 1
    while free and (out.exists() or out.is_symlink()):
        suffix += 1
        out = base / f"{model_name}-{name}-{stamp}-{suffix}"
    return out

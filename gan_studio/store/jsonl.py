"""JSON and JSON-lines reading for files from anywhere: bounded, tolerant of a truncated last line.

A run may be killed mid-write or still be running, so readers skip a garbled or unfinished line
instead of failing; absurd JSON (nesting, 10,000-digit integers) becomes a ValueError, never a crash.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gan_studio.errors import GanStudioError, RunError
from gan_studio.files import open_regular, read_bounded

MAX_JSONL_BYTES = 1 << 30  # a metrics file beyond 1 GB is not read whole


def _int_or_float(text: str) -> int | float:
    """JSON integers beyond 64 bits become floats (inf at worst), so formatting them cannot overflow."""
    return int(text) if len(text.lstrip("-")) <= 18 else float(text)


_DECODER = json.JSONDecoder(parse_int=_int_or_float)  # one for all: json.loads(parse_int=...) builds one per call


def parse_json(data: str | bytes) -> Any:
    """`json.loads` for files from anywhere: ValueError (JSONDecodeError included) for invalid or absurd JSON."""
    try:
        if isinstance(data, (bytes, bytearray)):
            data = data.decode(json.detect_encoding(data), "surrogatepass")
        return _DECODER.decode(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def json_safe(value):
    """JSON-safe copy: non-finite floats become strings ('nan', 'inf') rather than invalid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def dumps_line(record: dict) -> str:
    return json.dumps(json_safe(record), separators=(",", ":"))


def parse_lines(data: bytes) -> list[dict]:
    """The JSON objects of complete lines; garbled lines are skipped."""
    return list(iter_records(data))


def iter_records(data: bytes) -> Iterator[dict]:
    """parse_lines, a line at a time: a reader of a large file holds one record, not all of them, at once."""
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            item = parse_json(line)
        except ValueError:  # JSONDecodeError, UnicodeDecodeError, too deep
            continue
        if isinstance(item, dict):
            yield item


def read_jsonl(path: Path, max_bytes: int = MAX_JSONL_BYTES) -> list[dict]:
    """Records of a .jsonl file ([] when missing); a truncated or garbled line is skipped."""
    return list(iter_jsonl(path, max_bytes))


def iter_jsonl(path: Path, max_bytes: int = MAX_JSONL_BYTES) -> Iterator[dict]:
    """read_jsonl's records one by one (the file is read at the first `next`, then parsed as they are taken)."""
    try:
        with open_regular(path) as fh:
            data = read_bounded(fh, max_bytes)[:max_bytes]
    except FileNotFoundError:
        return
    except GanStudioError:
        raise
    except OSError as exc:
        raise RunError(f"cannot read: {exc.strerror or exc}", path) from None
    yield from iter_records(data)


MAX_RECORD_LINE_BYTES = 1 << 20  # a metrics or events record is a few hundred bytes; longer lines are garbage


def filtered_lines(path: Path, keep: Callable[[dict], bool], left_out: dict[str, int] | None = None) -> Iterator[bytes]:
    """The complete lines of a .jsonl file whose record `keep` accepts, read a line at a time (memory stays
    flat however large the file). Garbled lines, lines over MAX_RECORD_LINE_BYTES and a half-written
    last line are left out. `left_out` counts what was: "unreadable" lines and records "not kept"."""
    counts = left_out if left_out is not None else {}
    counts.setdefault("unreadable", 0)
    counts.setdefault("not kept", 0)
    try:
        fh = open_regular(path)
    except FileNotFoundError:
        return
    with fh:
        while line := fh.readline(MAX_RECORD_LINE_BYTES + 1):
            if not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # too long (or cut short at the end): skip it whole
                    line = fh.readline(MAX_RECORD_LINE_BYTES + 1)
                counts["unreadable"] += 1
                continue
            records = parse_lines(line)
            if not records:
                counts["unreadable"] += bool(line.strip())
            elif keep(records[0]):
                yield line
            else:
                counts["not kept"] += 1


def tail_records(path: Path, tail_bytes: int = 65536) -> list[dict]:
    """The last few records of a jsonl file without reading all of it ([] when missing or unreadable)."""
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - tail_bytes))
            data = fh.read()
    except (OSError, GanStudioError):
        return []
    lines = data.splitlines()
    if size > tail_bytes and lines:
        lines = lines[1:]  # the first line is probably cut
    return parse_lines(b"\n".join(lines))


class JsonlTail:
    """Incremental reader of a file another process appends to (live following)."""

    def __init__(self, path: Path, offset: int = 0):
        self.path = Path(path)
        self.offset = offset
        self._partial = b""

    def skip_existing(self) -> None:
        """Start after the last complete line the file holds now."""
        try:
            with open_regular(self.path) as fh:
                data = read_bounded(fh, MAX_JSONL_BYTES)
        except (OSError, GanStudioError):
            self.offset = 0
            return
        self.offset = data.rfind(b"\n") + 1

    def read_new(self) -> list[dict]:
        try:
            with open_regular(self.path) as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self.offset:  # the file was rewritten (a resumed run): start over
                    self.offset, self._partial = 0, b""
                fh.seek(self.offset)
                chunk = read_bounded(fh, MAX_JSONL_BYTES)
        except (OSError, GanStudioError):
            return []
        self.offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an unfinished last line (no newline yet)
        return parse_lines(b"\n".join(lines))

"""`gan-studio data prepare|info|clear`: prepared datasets (decoded once, memory-mapped) in the user cache folder.

`prepare DATA --image-size 64` decodes and resizes a dataset ahead of time (e.g. before a cluster
job), on all cores, with progress and an ETA; training on the same data and size then starts in
seconds. `info` lists the prepared files, `clear [DATA]` removes them (all, or those of DATA).
"""

from __future__ import annotations

import sys
import time

from gan_studio.commands.arguments import bounded_int, switch_value
from gan_studio.config import coerce, field_specs
from gan_studio.data.budgets import MAX_DECODE_WORKERS, human_bytes
from gan_studio.data.left_out import empty_classes_note, formats_not_read
from gan_studio.data.prepare import CHANGED, ELSEWHERE, WAITING, prepared_elsewhere
from gan_studio.errors import ConfigError, DataError, printable
from gan_studio.progress_rate import ProgressRate

CHANNEL_NAMES = {1: "grey", 3: "RGB"}
BAD_FILES_LISTED = 5  # bad files `data info` names per prepared file, before "and N more"


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="prepare, list and remove prepared datasets", description=__doc__)
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    prep = actions.add_parser("prepare", help="decode and resize a dataset now, into the cache")
    prep.add_argument("data", help="a dataset path (image folder, .zip, IDX or CIFAR folder, .npz) or built-in name")
    prep.add_argument(
        "--image-size",
        type=bounded_int(1, 65_536),
        default=32,
        help="image side in pixels, as the model's [default: 32]",
    )
    prep.add_argument("--split", default="train", choices=("train", "test"), help="split [default: train]")
    prep.add_argument("--skip-bad-files", nargs="?", const="true", default=None, metavar="BOOL",  # (argparse
                      # parses a text default with `type` while it reads the line: TrainConfig's module imports torch)
                      type=switch_value(_skip_spec), help="succeed even if some files cannot be used, as "
                      "train's [default: false]")  # fmt: skip
    prep.add_argument(
        "--workers",
        type=bounded_int(1, MAX_DECODE_WORKERS),
        default=None,
        help="decoding processes [default: every core, fewer when memory is short]",
    )
    prep.add_argument("--quiet", action="store_true", help="no progress line")
    info = actions.add_parser("info", help="list prepared datasets")
    info.add_argument("--json", action="store_true", help="print the list as JSON, for scripts")
    clear = actions.add_parser("clear", help="remove prepared datasets (all, or those of DATA)")
    clear.add_argument("data", nargs="?", help="only the prepared files of this dataset path")
    clear.add_argument("--stale", action="store_true", help="only the files `data info` marks stale (of data that "
                       "has changed since)")  # fmt: skip
    p.set_defaults(handler=run)


def _skip_spec():
    """train's --skip-bad-files field, so that `data prepare` takes it the same way (`--skip-bad-files true`)."""
    from gan_studio.engine.settings import TrainConfig

    return next(spec for spec in field_specs(TrainConfig) if spec.name == "skip_bad_files")


def run(args) -> int:
    if args.action == "prepare":
        return _prepare(args)
    if args.action == "info":
        return _info_json() if args.json else _info()
    if args.action == "clear":
        return _clear(args)
    raise ConfigError("which action? gan-studio data prepare|info|clear")


def _prepare(args) -> int:
    from gan_studio.data import GENERATED, load_dataset

    if args.data in GENERATED:
        print(f"'{args.data}' is made in memory at each start: nothing to prepare", file=sys.stderr)
        return 0
    low, high = trainable_image_sizes()
    if not low <= args.image_size <= high:
        raise ConfigError(f"--image-size must be a size a model trains at ({low} to {high}), got {args.image_size}")
    line = ProgressLine(f"preparing {args.data}", enabled=not args.quiet)
    started = time.perf_counter()
    try:
        dataset = load_dataset(args.data, image_size=args.image_size, split=args.split,
                               skip_bad_files=coerce(_skip_spec(), args.skip_bad_files or "false"), progress=line.update,
                               workers=args.workers)  # fmt: skip
    finally:
        line.close()
    seconds = time.perf_counter() - started
    if dataset.kind != "images":
        print(f"{len(dataset):,} points of {dataset.storage.shape[1]} dimensions in {args.data}: they load in "
              f"moments at each start, nothing to prepare", file=sys.stderr)  # fmt: skip
        return 0
    c, h, w = dataset.pixels.shape[1:]
    classes = f", {counted(dataset.num_classes, 'class', 'classes')}" if dataset.num_classes else ""
    print(f"{counted(len(dataset), 'image', 'images')} of {w}x{h} {CHANNEL_NAMES.get(c, c)}{classes} ready in "
          f"{seconds:.1f} s: {dataset.prepared_file}")  # fmt: skip
    if dataset.skipped_count:
        print(f"{dataset.skipped_count:,} file(s) could not be used and are left out (see gan-studio data info)")
    if dataset.other_formats:
        print(formats_not_read(dataset.other_formats, dataset.other_format_names))
    empty = dataset.classes_without_samples()
    if empty:
        print(empty_classes_note(empty))
    note = _split_note(args.data, args.split, dataset.prepared_file)
    if note:
        print(note)
    return 0


def _split_note(data: str, asked: str, prepared_file: str) -> str:
    """What was prepared when the data has no `asked` split of its own: the whole set (a folder, an archive, an
    .npz) or its other split (an IDX or CIFAR folder holding one), as training and `eval` use it."""
    from pathlib import Path

    from gan_studio.data.cache import CorruptCache, read_meta

    try:
        read = read_meta(Path(prepared_file)).extra.get("split")
    except (CorruptCache, OSError):
        return ""
    uses = ("training uses all of it, or with --hold-out true a fixed 80 %, and `gan-studio eval` tests on the "
            "other 20 %")  # fmt: skip
    if read == "" and asked == "test":
        return f"{data} has no test split of its own: the whole set was prepared, the same file as for training; {uses}"
    if read in ("train", "test") and read != asked:
        return (f"{data} holds only its {read} split: that was prepared, the same file serves as both splits; "
                f"{uses}")  # fmt: skip
    return ""


def counted(n: int, one: str, many: str) -> str:
    """'1 image', '2,000 images'."""
    return f"{n:,} {one if n == 1 else many}"


def trainable_image_sizes() -> tuple[int, int]:
    """The smallest and largest image side some model trains at (from the models' image_size settings)."""
    from gan_studio.config import field_specs
    from gan_studio.models import MODELS

    sides = [side for spec in MODELS.values() for f in field_specs(spec.config_cls) if f.name == "image_size"
             for side in (f.choices or (f.low, f.high))]  # fmt: skip
    return int(min(sides)), int(max(sides))


def _info() -> int:
    from gan_studio.data.cache import cache_root, list_prepared, stale_prepared, unfinished_builds

    entries = list_prepared()
    leftovers = unfinished_builds()
    if leftovers:
        size = human_bytes(sum(n for _, n in leftovers))
        print(f"{len(leftovers)} unfinished file(s) of stopped preparations, {size}: `gan-studio data clear` "
              "removes them (the next preparation of the same data does too)")  # fmt: skip
    if not entries or entries[0].path.parent != cache_root():  # the user's own cache is named, even when empty
        print(f"no prepared datasets in {cache_root()}")
    if not entries:
        return 0
    stale = stale_prepared(entries)
    total, folder = 0, None
    for entry in entries:
        if entry.path.parent != folder:
            folder = entry.path.parent
            print(f"prepared datasets in {folder}{_temporary_note(folder)}:")
        total += entry.bytes
        meta = entry.meta
        if meta is None:
            print(f"  {entry.path.name}  {human_bytes(entry.bytes)}  unusable ({entry.problem}); rebuilt on next use")
            continue
        split = meta.extra.get("split")
        split = f" ({'training' if split == 'train' else 'test'} files)" if split in ("train", "test") else ""
        classes = f", {len(meta.class_names)} classes" if meta.labelled else ""
        skipped = f", {meta.skipped_count:,} bad files left out" if meta.skipped_count else ""
        given = meta.extra.get("given")
        print(printable(f"  {meta.name}{split}: {meta.count:,} images {meta.side}x{meta.side} "
                        f"{CHANNEL_NAMES.get(meta.channels)}{classes}{skipped}, {human_bytes(entry.bytes)}, from "
                        f"{given if isinstance(given, str) and given else meta.source} "
                        f"({time.strftime('%Y-%m-%d %H:%M', time.localtime(meta.created))})"))  # fmt: skip
        if entry.path in stale:
            print("      stale: the data has changed since (a newer preparation of it differs); it is not used while "
                  "the data stays as it is now (`gan-studio data clear --stale` removes the stale files)")  # fmt: skip
        for bad in meta.skipped[:BAD_FILES_LISTED]:
            print(printable(f"      left out: {bad.get('name')} ({bad.get('reason')})"))
        if meta.skipped_count > BAD_FILES_LISTED:
            print(f"      and {meta.skipped_count - BAD_FILES_LISTED:,} more left out")
    print(f"{len(entries)} file(s), {human_bytes(total)}")
    return 0


class CannotClear(DataError):
    """Prepared files that could not be removed (a read-only cache): the command failed, its input was fine."""

    exit_code = 1


def _info_json() -> int:
    """`data info --json`: the cache folder, and each prepared file with what `data info` says of it."""
    import json

    from gan_studio.data.cache import cache_root, list_prepared, stale_prepared, unfinished_builds

    entries = list_prepared()
    stale = stale_prepared(entries)
    files = []
    for entry in entries:
        meta = entry.meta
        item = {"file": str(entry.path), "bytes": entry.bytes, "temporary": entry.path.parent != cache_root()}
        if meta is None:
            files.append({**item, "problem": entry.problem})
            continue
        given = meta.extra.get("given")
        files.append({**item, "name": meta.name, "source": given if isinstance(given, str) and given else meta.source,
                      "split": meta.extra.get("split") or None, "count": meta.count, "side": meta.side,
                      "channels": meta.channels, "class_names": list(meta.class_names) if meta.labelled else None,
                      "skipped_files": meta.skipped_count, "stale": entry.path in stale,
                      "created": meta.created})  # fmt: skip
    unfinished = unfinished_builds()
    report = {"cache": str(cache_root()), "files": files,
              "unfinished": {"count": len(unfinished), "bytes": sum(n for _, n in unfinished)}}  # fmt: skip
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def _temporary_note(folder) -> str:
    """What a folder of prepared files other than the dataset cache is (the temporary one: see cache_roots)."""
    from gan_studio.data.cache import cache_root
    from gan_studio.paths import can_write_into

    if folder == cache_root():
        return ""
    if can_write_into(cache_root()):
        return (" (the temporary folder used while the dataset cache could not be written; not used now that it "
                "can be: `gan-studio data clear` removes its files)")  # fmt: skip
    return " (a temporary folder: the dataset cache cannot be written)"


def _built_in_source(name: str):
    """The folder a built-in set named `name` is prepared from (a downloaded one's); None for another name.
    ConfigError for a procedural set (drawn in memory, never prepared) and a set not downloaded."""
    from gan_studio.data import DOWNLOADABLE, GENERATED

    if name in GENERATED:
        raise ConfigError(f"{name} is a built-in procedural set, drawn in memory at each start: nothing of it is "
                          "prepared (gan-studio data info lists what is)")  # fmt: skip
    if name not in DOWNLOADABLE:
        return None
    from gan_studio.data.download import ensure_dataset

    try:
        return ensure_dataset(name, download=False)
    except DataError:
        raise ConfigError(f"{name} is not downloaded: nothing of it is prepared (gan-studio data info lists what "
                          "is)") from None  # fmt: skip


def _clear(args) -> int:
    import os
    from pathlib import Path

    from gan_studio.data.cache import cache_root, clear_prepared, list_prepared, unfinished_builds

    before = {entry.path for entry in list_prepared()}
    source = Path(os.path.abspath(Path(args.data).expanduser())) if args.data is not None else None
    if source is not None and not os.path.lexists(args.data):
        source = _built_in_source(args.data) or source  # `data clear mnist`: its downloaded files' folder
    removed, freed, failed = clear_prepared(None if source is None else [source, source.resolve()],
                                            stale_only=args.stale)  # fmt: skip
    if failed:  # a read-only cache: said, not "nothing comes from it" or "removed 0 files"
        path, why = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise CannotClear(f"cannot remove the prepared file {path}{more}: {why}; {removed} file(s) removed")
    emptied = sorted({path.parent for path in before - {entry.path for entry in list_prepared()}})
    folders = " and ".join(str(folder) for folder in emptied) or str(cache_root())  # those it removed files from
    if args.stale:
        print(f"removed {removed} stale file(s), {human_bytes(freed)}, from {folders}")
        return 0
    if source is not None and not removed:
        if not source.exists():
            raise ConfigError(f"{source}: no such file or folder, and no prepared dataset comes from it "
                              "(gan-studio data info lists them)")  # fmt: skip
        print(f"no prepared dataset comes from {source}: nothing removed (gan-studio data info lists them)")
        if unfinished_builds():
            print("unfinished files of stopped preparations remain: `gan-studio data clear` removes them")
        return 0
    print(f"removed {removed} file(s), {human_bytes(freed)}, from {folders}")
    return 0


class StatusLine:
    """One line that rewrites itself on a terminal; elsewhere (a log file, CI) each `show` is a new line."""

    def __init__(self, enabled: bool = True, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_print = 0.0
        self.shown = False

    def show(self, text: str, pad: int = 80) -> None:
        if self.tty:
            self.stream.write("\r" + text[:160].ljust(pad))
            self.shown = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


class ProgressLine(StatusLine):
    """`progress(done, total)` as one self-rewriting line with rate and ETA (a line every ~10 s off a terminal);
    the rate and the ETA once they have settled (see gan_studio/progress_rate.py)."""

    def __init__(self, label: str, enabled: bool = True, stream=None, notes: bool = True):
        super().__init__(enabled, stream)
        self.label = label
        self.rate = ProgressRate()
        self.notes = notes  # warnings, said even when the progress is not (--quiet)

    def update(self, done: int, total: int) -> None:
        if total == ELSEWHERE and self.notes:  # where the data goes, and that it is temporary: a warning
            self.close()
            self.stream.write(f"gan-studio: note: {prepared_elsewhere()}\n")
            return
        if not self.enabled:
            return
        if total == WAITING:
            self.show(f"{self.label}: waiting for another process that is preparing the same data")
            return
        if total == CHANGED:  # said on every line after: why a start that took seconds now takes minutes
            self.label += f" again (it changed since it was last prepared, when it had {done:,} images)"
            return
        now = time.monotonic()
        rate = self.rate.update(done, now)
        if now - self.last_print < (0.2 if self.tty else 10.0) and done < total:
            return
        self.last_print = now
        if total:
            left = self.rate.seconds_left(done, total)
            eta = f", ETA {duration(left)}" if left is not None else ""
            speed = f", {rate:,.0f}/s" if rate > 0 else ""
            text = f"{self.label}: {done:,}/{total:,} ({done / total:.0%}){speed}{eta}"
        else:
            text = f"{self.label}: {done:,}"
        self.show(text)


def duration(seconds: float) -> str:
    """12345 -> '3h25m', 75 -> '1m15s'."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"

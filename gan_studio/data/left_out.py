"""What a run's data left out, or read in a way worth saying, in one line each: bad files skipped, pictures
in formats not read, sub-folders taken for classes by a model that does not use them, and sub-folders read
with the images at the top as one set.

Read from the dataset descriptor run.json records (`Dataset.describe()`), so the command line and the
app say the same thing at the start of a run; `gan-studio data prepare` says the same of a folder.
"""

from __future__ import annotations

NAMES_SHOWN = 3  # bad files named before "and N more"


def formats_not_read(other_formats: dict[str, int], names: object = ()) -> str:
    """'12 .heic and 3 .psd files in formats not read (a/IMG_1.HEIC, a/IMG_2.HEIC, b/x.psd and 12 more): convert
    them to PNG or JPEG to use them' (`names`: the first few, relative to the dataset's top)."""
    counts = " and ".join(f"{n:,} {suffix}" for suffix, n in sorted(other_formats.items(), key=lambda kv: -kv[1]))
    total = sum(other_formats.values())
    names = [str(name)[:80] for name in names[:NAMES_SHOWN]] if isinstance(names, (list, tuple)) else []
    named = f" ({', '.join(names)}{f' and {total - len(names):,} more' if total > len(names) else ''})" if names else ""
    return (
        f"{counts} file{'s' if total > 1 else ''} in formats not read{named}: convert them to PNG or JPEG to use them"
    )


def empty_classes_note(empty: str) -> str:
    """What an unconditional model is told of labels without samples (a conditional one is refused)."""
    return f"{empty}: a stray label in the labels file? A model with classes refuses this data"


def left_out_lines(dataset: object, uses_classes: bool = True) -> list[str]:
    """One line per thing the data left out (nothing for a descriptor without any, or one that is not a dict).
    `uses_classes` False (an unconditional model): a folder's sub-folders read as classes are named, since
    only the evaluation uses them (a photo folder's years became its classifier's classes unsaid)."""
    if not isinstance(dataset, dict):
        return []
    lines = []
    names = dataset.get("class_names")
    if not uses_classes and dataset.get("classes_from") == "sub-folders" and isinstance(names, list) and names:
        shown = ", ".join(str(name)[:40] for name in names[:NAMES_SHOWN]) + (", …" if len(names) > NAMES_SHOWN else "")
        lines.append(f"the data's {len(names)} sub-folders are read as classes ({shown}): this model trains without "
                     "them; `gan-studio eval` judges samples with a classifier of them")  # fmt: skip
    if isinstance(dataset.get("one_set"), str) and dataset["one_set"]:
        lines.append(dataset["one_set"][:400])
    if isinstance(dataset.get("empty_classes"), str) and dataset["empty_classes"]:
        lines.append(empty_classes_note(dataset["empty_classes"][:200]))
    count, skipped = dataset.get("skipped_files"), dataset.get("skipped") or []
    if isinstance(count, int) and count > 0:
        names = [str(s.get("name", "?"))[:80] for s in skipped[:NAMES_SHOWN] if isinstance(s, dict)]
        more = f" and {count - len(names):,} more" if count > len(names) else ""
        lines.append(f"{count:,} bad file{'s' if count > 1 else ''} left out ({', '.join(names)}{more}): run.json "
                     "lists them")  # fmt: skip
    others = dataset.get("formats_not_read")
    if isinstance(others, dict) and others and all(isinstance(n, int) for n in others.values()):
        lines.append(formats_not_read(others, dataset.get("formats_not_read_names")))
    return lines

"""Image files as a dataset: the images of a folder or of a .zip archive, their classes, and reading one.

Layout (folders and archives alike): one sub-folder per class (sorted names are the classes; images
lying directly at the top are then in no class, and listed as bad files, "beside the class folders"),
or images anywhere below the top (unlabelled). A .zip whose images all sit in one top folder (CelebA's
img_align_celeba.zip) reads as that folder, whatever other files (a README) lie beside it.

Safety: hidden entries (and `__MACOSX`) are skipped. A symlink to a folder outside the folder, or an
archive member whose name climbs out of it, refuses the whole dataset. A FIFO, socket or device
named like an image, a broken symlink, a symlink to an image outside the folder, or an encrypted,
oversized or bomb-like archive member is a *bad file*: listed with its reason, never opened. A symlink
to another kind of file is ignored, as the file would be. Nothing is ever written. Torch-free, so decoding
worker processes can import it cheaply.
"""

from __future__ import annotations

import hashlib
import operator
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gan_studio.data.budgets import MAX_CLASSES, MAX_FILES, MAX_IMAGE_FILE_BYTES, check_class_names
from gan_studio.errors import DataError, shorten
from gan_studio.user_files import RefusedFile, describe_kind, open_user_file, os_reason, read_user_file

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif"}  # a GIF: its first frame
_IMAGE_SUFFIXES = tuple(sorted(IMAGE_EXTENSIONS))
# pictures in formats that are not read: counted, so that a folder of them is explained, not "no images"
OTHER_IMAGE_EXTENSIONS = (".heic", ".heif", ".avif", ".jxl", ".jp2", ".ico", ".svg",
                          ".psd", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raw")  # fmt: skip
OTHER_FORMAT_NAMES_KEPT = 20  # of those, named in the prepared file's meta (messages show a few)
_BY_NAME = operator.attrgetter("name")
MAX_DEPTH = 64  # nested folders below the dataset folder
MAX_ZIP_RATIO = 1000  # uncompressed / compressed size of one member beyond which it is treated as a bomb
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


@dataclass(slots=True)
class ImageItem:
    """One image of the dataset, before decoding."""

    name: str  # path relative to the dataset's top, '/'-separated (messages, cache key)
    ref: str  # what to read: an absolute file path (folders) or the member's index in the archive (zip)
    label: int  # class index; -1 when unlabelled
    stamp: tuple[int, int]  # identity for the cache key: (size, mtime_ns) of a file, (size, CRC-32) of a member


@dataclass
class ImageListing:
    """Every image of a folder or archive (as columns: a warm start needs only the key), its class names,
    and the bad files found while listing."""

    kind: str  # "folder" | "zip"
    path: Path  # the folder or the archive, resolved
    class_names: list[str]
    labelled: bool
    bad: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    names: list[str] = field(default_factory=list)  # see ImageItem for the meaning of each column
    refs: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    stamps: list[int] = field(default_factory=list)  # mtime_ns of a file, CRC-32 of a member
    other_formats: dict[str, int] = field(default_factory=dict)  # ".heic" -> files in formats not read
    other_format_names: list[str] = field(default_factory=list)  # the first OTHER_FORMAT_NAMES_KEPT of them
    one_set: str = ""  # why sub-folders were read with the images at the top as one set, not as classes

    def count_other_format(self, name: str) -> None:
        """Count (and name the first few of) the files `name` (relative to the top) in a format not read."""
        suffix = os.path.splitext(name)[1].lower()
        if suffix in OTHER_IMAGE_EXTENSIONS:
            self.other_formats[suffix] = self.other_formats.get(suffix, 0) + 1
            if len(self.other_format_names) < OTHER_FORMAT_NAMES_KEPT:
                self.other_format_names.append(name)

    def add(self, name: str, ref: str, label: int, size: int, stamp: int) -> None:
        self.names.append(name)
        self.refs.append(ref)
        self.labels.append(label)
        self.sizes.append(size)
        self.stamps.append(stamp)

    @property
    def items(self) -> list[ImageItem]:
        return [ImageItem(*row[:3], row[3:]) for row in zip(self.names, self.refs, self.labels, self.sizes,
                                                             self.stamps, strict=True)]  # fmt: skip

    def key_parts(self) -> dict:
        """What identifies the content, for the cache key (names, sizes, modification times or CRCs)."""
        lines = "\n".join(map("{}\0{}\0{}\0{}".format, self.names, self.labels, self.sizes, self.stamps))
        bad = "\n".join(name for name, _ in self.bad)
        return {
            "kind": self.kind,
            "path": str(self.path),
            "classes": self.class_names,
            "items": hashlib.sha256(lines.encode("utf-8", "surrogateescape")).hexdigest(),
            "count": len(self.names),
            "bad": hashlib.sha256(bad.encode("utf-8", "surrogateescape")).hexdigest(),
        }


# folders an operating system, a NAS or an archiver adds beside photos: thumbnails and trash, never a class
SYSTEM_FOLDERS = frozenset({"__MACOSX", "@eaDir", "#recycle", "#snapshot", "$RECYCLE.BIN", "System Volume Information",
                            "lost+found"})  # fmt: skip


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name in SYSTEM_FOLDERS


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(_IMAGE_SUFFIXES)


# --- folders ----------------------------------------------------------------------------------------


def _sorted_entries(folder: str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            entries = [e for e in it if not _is_hidden(e.name)]
        entries.sort(key=_BY_NAME)
        return entries
    except OSError as exc:
        raise DataError(f"cannot list this folder: {os_reason(exc)}", shorten(folder, 300)) from None


def _symlink_target(entry: os.DirEntry, root: Path) -> Path | None:
    """Where a symlink leads (None when it is broken or loops). One to a folder outside `root` refuses the dataset
    (the images in it would be left out unseen); one to a file outside is returned, for the caller to leave unread."""
    try:
        target = Path(entry.path).resolve(strict=True)
    except (OSError, RuntimeError):  # broken, or a loop (RuntimeError before Python 3.13)
        return None
    if not target.is_relative_to(root) and target.is_dir():
        raise DataError(f"refusing symlink that points outside the dataset folder (to {shorten(target, 200)}): give "
                        "--data a folder that holds both, or copy the files in (cp -rL)", entry.path)  # fmt: skip
    return target


def _walk_images(top: Path, prefix: str, root: Path, label: int, seen: set[Path], listing: ImageListing) -> int:
    """Add the image files below `top` to `listing` in sorted depth-first order (as `sorted(Path.iterdir())`
    recursion gives); returns how many were added."""
    names, refs, labels, sizes, stamps, bad = (listing.names, listing.refs, listing.labels, listing.sizes,
                                               listing.stamps, listing.bad)  # fmt: skip
    before = len(names)
    stack = [(iter(_sorted_entries(str(top))), prefix)]
    while stack:
        entries, rel = stack[-1]
        for entry in entries:  # the hot loop: one stat per image file, nothing more
            is_image = entry.name.lower().endswith(_IMAGE_SUFFIXES)
            try:
                if entry.is_symlink():
                    resolved = _symlink_target(entry, root)
                    if resolved is None:
                        if is_image:
                            bad.append((rel + entry.name, "broken symlink or symlink loop"))
                        continue
                    if not resolved.is_relative_to(root):  # a file outside: never read
                        if is_image:
                            bad.append((rel + entry.name, f"a symlink to {shorten(resolved, 90)}, outside the "
                                        "dataset folder: not followed; copy the file in"))  # fmt: skip
                        else:
                            listing.count_other_format(rel + entry.name)
                        continue
                    target = str(resolved)
                    st = os.stat(target)
                elif is_image or entry.is_dir(follow_symlinks=False):
                    target = entry.path
                    st = entry.stat(follow_symlinks=False)
                else:
                    listing.count_other_format(rel + entry.name)  # another kind of file: only counted when a picture
                    continue
            except OSError as exc:
                if is_image:
                    bad.append((rel + entry.name, f"cannot access: {os_reason(exc)}"))
                continue
            mode = st.st_mode
            if is_image and stat.S_ISREG(mode):
                names.append(rel + entry.name)
                refs.append(target)
                labels.append(label)
                sizes.append(st.st_size)
                stamps.append(st.st_mtime_ns)
            elif stat.S_ISDIR(mode):
                real = Path(target).resolve()
                if real in seen:  # a symlink loop, or a folder already listed through another link
                    continue
                if len(stack) >= MAX_DEPTH:
                    raise DataError(f"folders nested more than {MAX_DEPTH} levels deep", shorten(entry.path, 300))
                seen.add(real)
                stack.append((iter(_sorted_entries(target)), f"{rel}{entry.name}/"))
                break  # into the sub-folder first; this folder's iterator continues after it
            elif is_image:
                bad.append((rel + entry.name, f"not a regular file: it is {describe_kind(mode)}"))
        else:
            stack.pop()
        if len(names) > MAX_FILES:
            raise DataError(f"more than {MAX_FILES:,} image files", root)
    return len(names) - before


BESIDE_CLASSES = "beside the class folders, so in no class (move it into one)"
MAX_LISTED_BESIDE = 100_000


def list_image_folder(folder: str | Path) -> ImageListing:
    """Every image file of an image folder (see the module docstring), without opening any of them."""
    folder = Path(folder)
    try:
        root = folder.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        reason = os_reason(exc) if isinstance(exc, OSError) else "a symlink loop"
        raise DataError(f"cannot use this folder: {reason}", shorten(folder, 300)) from None
    if not root.is_dir():
        raise DataError("not a folder", folder)
    seen = {root}
    top = _sorted_entries(str(root))
    class_dirs = []
    for entry in top:
        if entry.is_symlink():
            target = _symlink_target(entry, root)
            if target is not None and target.is_dir():
                class_dirs.append((entry.name, target))
        elif entry.is_dir(follow_symlinks=False):
            class_dirs.append((entry.name, Path(entry.path)))
    if len(class_dirs) > MAX_CLASSES:
        raise DataError(f"{len(class_dirs):,} sub-folders (classes): at most {MAX_CLASSES:,} are supported", folder)
    if not class_dirs:
        listing = ImageListing("folder", root, [], False)
        _walk_images(root, "", root, -1, seen, listing)
        return listing
    sub_folders = [name for name, _ in class_dirs]
    listing = ImageListing("folder", root, sub_folders, True)
    found = []
    for label, (name, path) in enumerate(class_dirs):
        seen.add(path.resolve())
        found.append(_walk_images(path, f"{name}/", root, label, seen, listing))
    beside = sum(1 for entry in top if _is_image_name(entry.name) and not entry.is_dir())
    if beside > len(listing.names):
        # more images at the top than in the sub-folders: a photo collection with a few folders in it (Edits,
        # Best of), not classes: every image of the tree, one set (skipping the top ones as "in no class"
        # would have trained on the sub-folders alone)
        whole = ImageListing("folder", root, [], False, one_set=one_set_note(beside, sub_folders))
        _walk_images(root, "", root, -1, {root}, whole)
        return whole
    listing.class_names = check_class_names(sub_folders, folder)
    for entry in top:
        if _is_image_name(entry.name) and not entry.is_dir() and len(listing.bad) < MAX_LISTED_BESIDE:
            listing.bad.append((entry.name, BESIDE_CLASSES))
    for (name, path), count in zip(class_dirs, found, strict=True):
        if not count and not any(b.startswith(f"{name}/") for b, _ in listing.bad):
            raise DataError(f"class folder '{shorten(name, 80)}' holds no images", path)
    return listing


def one_set_note(beside: int, sub_folders: list[str]) -> str:
    """Why a folder's sub-folders were read as part of one set: more images lie at its top than in them."""
    shown = ", ".join(f"'{shorten(n, 40)}'" for n in sub_folders[:3]) + (" …" if len(sub_folders) > 3 else "")
    return (f"{beside:,} images lie at the top beside {len(sub_folders)} sub-folder{'s' if len(sub_folders) > 1 else ''} "
            f"({shown}): all are read as one set, without classes (to train on classes, put every image into a "
            "class folder)")  # fmt: skip


# --- zip archives -----------------------------------------------------------------------------------


class _Archive:
    """A .zip archive open for reading (regular files only), with its member list."""

    def __init__(self, path: Path):
        self.file = open_user_file(path, "archive")
        try:
            self.zip = zipfile.ZipFile(self.file)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            self.file.close()
            raise DataError(f"not a readable .zip archive ({shorten(exc, 200)})", path) from None
        self.infos = self.zip.infolist()

    def close(self) -> None:
        self.zip.close()
        self.file.close()

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an image member cannot be read safely, or None."""
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link inside the archive"
    if info.flag_bits & 0x1:
        return "encrypted"
    if info.compress_type not in _ZIP_METHODS:
        return f"unsupported compression method {info.compress_type}"
    if info.file_size > MAX_IMAGE_FILE_BYTES:
        return f"too large ({info.file_size:,} bytes; at most {MAX_IMAGE_FILE_BYTES:,})"
    if info.file_size > 2**20 and info.file_size > MAX_ZIP_RATIO * max(1, info.compress_size):
        return f"expands {info.file_size // max(1, info.compress_size):,} times (a decompression bomb?)"
    return None


def _member_parts(name: str, archive: Path) -> tuple[str, ...]:
    """The path components of a member name; a name that could climb out of a folder refuses the archive."""
    path = PurePosixPath(name.replace("\\", "/"))
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if path.is_absolute() or ".." in parts or (parts and ":" in parts[0]):
        raise DataError(f"refusing archive member with an unsafe name: {shorten(name, 200)!r}", archive)
    return parts


def list_image_zip(path: str | Path) -> ImageListing:
    """Every image member of a .zip archive (see the module docstring), without decompressing any."""
    path = Path(path)
    try:
        path = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise DataError("cannot use this archive (missing, or a symlink loop)", shorten(path, 300)) from None
    with _Archive(path) as archive:
        infos = archive.infos
    if len(infos) > MAX_FILES:
        raise DataError(f"more than {MAX_FILES:,} archive members", path)
    entries = []  # (parts, index, info, is_dir)
    for index, info in enumerate(infos):
        parts = _member_parts(info.filename, path)
        if not parts or any(_is_hidden(p) for p in parts):
            continue
        entries.append((parts, index, info, info.is_dir()))
    tops = {parts[0] for parts, _, _, is_dir in entries if len(parts) > 1 or is_dir}
    if len(tops) == 1 and not any(len(p) == 1 and not is_dir and _is_image_name(p[-1]) for p, _, _, is_dir in entries):
        entries = [(parts[1:], i, info, d) for parts, i, info, d in entries if len(parts) > 1]  # one top folder
    class_dirs = sorted({parts[0] for parts, _, _, is_dir in entries if len(parts) > 1 or is_dir})
    images = [parts for parts, _, _, is_dir in entries if not is_dir and _is_image_name(parts[-1])]
    beside = sum(1 for parts in images if len(parts) == 1)
    one_set = one_set_note(beside, class_dirs) if class_dirs and beside > len(images) - beside else ""
    labelled = bool(class_dirs) and not one_set  # more images at the top than in folders: one set, as for a folder
    if len(class_dirs) > MAX_CLASSES:
        raise DataError(f"{len(class_dirs):,} top folders (classes): at most {MAX_CLASSES:,} are supported", path)
    class_names = check_class_names(class_dirs, path) if labelled else []
    label_of = {name: i for i, name in enumerate(class_names)}
    files = sorted((parts, index, info) for parts, index, info, is_dir in entries if not is_dir)
    listing = ImageListing("zip", path, class_names, labelled, one_set=one_set)
    bad, names = listing.bad, set()
    for parts, index, info in files:
        if not _is_image_name(parts[-1]):
            listing.count_other_format("/".join(parts))
            continue
        if labelled and len(parts) < 2:
            bad.append(("/".join(parts), BESIDE_CLASSES))
            continue
        name = "/".join(parts)
        problem = "duplicate name in the archive" if name in names else _member_problem(info)
        names.add(name)
        if problem:
            bad.append((name, problem))
            continue
        listing.add(name, str(index), label_of[parts[0]] if labelled else -1, info.file_size, info.CRC)
    for name in class_names:
        if not any(n.startswith(f"{name}/") for n in listing.names) and not any(
            b.startswith(f"{name}/") for b, _ in bad
        ):
            raise DataError(f"class folder '{shorten(name, 80)}' holds no images", path)
    return listing


# --- reading one image's bytes ------------------------------------------------------------------------

_ARCHIVES: dict[str, _Archive] = {}  # per process: the archives being read


def read_item(kind: str, container: str, ref: str) -> bytes:
    """The bytes of one listed image; raises RefusedFile, OSError or zipfile errors for a bad one."""
    if kind == "folder":
        return read_user_file(ref, MAX_IMAGE_FILE_BYTES)
    if container not in _ARCHIVES:
        _ARCHIVES[container] = _Archive(Path(container))
    archive = _ARCHIVES[container]
    info = archive.infos[int(ref)]
    problem = _member_problem(info)
    if problem:
        raise RefusedFile(problem)
    with archive.zip.open(info) as fh:
        data = fh.read(MAX_IMAGE_FILE_BYTES + 1)
    if len(data) > info.file_size or len(data) > MAX_IMAGE_FILE_BYTES:
        raise RefusedFile("member holds more data than its header declares")
    return data


def close_archives() -> None:
    """Close the archives read_item opened in this process."""
    while _ARCHIVES:
        _ARCHIVES.popitem()[1].close()

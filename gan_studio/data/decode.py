"""Decoding image files into square uint8 pictures: one image, and a chunk of them for a worker process.

An image is centre-cropped to a square and resized to the training size with Pillow (LANCZOS, from
a JPEG decoded at a reduced scale with draft mode when that is large enough), its EXIF orientation
applied, transparency laid on black, 16-bit values scaled to 8 bits. Images larger than the pixel
budget are refused from their header, before any pixel is decoded.

Torch-free on purpose: decoding runs in worker processes started with "spawn", which import only
this module's dependencies (numpy, Pillow) and so start in a fraction of a second.
"""

from __future__ import annotations

import io
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, UnidentifiedImageError

from gan_studio.data.budgets import MAX_IMAGE_PIXELS
from gan_studio.data.imagefiles import read_item
from gan_studio.user_files import RefusedFile, os_reason

DECODER_VERSION = 3  # part of every cache key: bump when decoded pixels change (3: colour-key transparency)
_SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {  # EXIF orientation -> the transposition that makes the image upright
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}
REASON_CHARS = 200  # the most a bad file's reason says (the bad-files message shows each whole)


class BadImage(Exception):
    """One image cannot be used (the message says why)."""


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = Image.open(io.BytesIO(data))
    if img.width * img.height > MAX_IMAGE_PIXELS:
        raise BadImage(
            f"image is too large ({img.width}x{img.height} pixels; at most {MAX_IMAGE_PIXELS // 10**6} megapixels)"
        )
    return img


def _normal_mode(img: Image.Image) -> Image.Image:
    """The image in L, LA, RGB or RGBA (the modes resizing handles); 16-bit values scaled to 8 bits."""
    if img.mode in ("L", "RGB") and "transparency" in img.info:  # a colour key (tRNS): transparent as in P and RGBA
        return img.convert("RGBA")
    if img.mode in ("L", "LA", "RGB", "RGBA"):
        return img
    if img.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(img, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")
    if img.mode in ("PA", "La") or (img.mode == "P" and "transparency" in img.info):
        return img.convert("RGBA")
    if img.mode in ("1", "F"):
        return img.convert("L")
    return img.convert("RGB")


def decode_square(data: bytes, size: int) -> np.ndarray:
    """The image in `data` as uint8 (size, size, 3): centre square, LANCZOS-resized, upright, RGB."""
    if not data:
        raise BadImage("empty file (0 bytes)")
    try:
        img = _open(data)
        with img:
            img.draft("RGB", (size, size))  # JPEG: decode at 1/2, 1/4 or 1/8 scale when still >= size
            orientation = img.getexif().get(_ORIENTATION_TAG, 1)
            img = _normal_mode(img)
            side = min(img.size)
            left, top = (img.width - side) // 2, (img.height - side) // 2
            img = img.crop((left, top, left + side, top + side))  # first: resizing samples beyond a box's edges
            # resizing before any mode conversion keeps every later copy small (RGBA is resized premultiplied)
            img = img.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
            if img.mode in ("RGBA", "LA"):
                rgba = img.convert("RGBA")  # transparent parts become black, like the built-in data's background
                img = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
            img = img.convert("RGB")
            for method in _TRANSPOSE.get(orientation if isinstance(orientation, int) else 1, []):
                img = img.transpose(method)
            return np.asarray(img, dtype=np.uint8)
    except BadImage:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:  # Pillow's own, larger limit
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(declared.group(1)) / 10**6:,.0f} megapixels" if declared else "a decompression bomb?"
        raise BadImage(f"image is too large ({size}; at most {MAX_IMAGE_PIXELS // 10**6} megapixels)") from None
    except UnidentifiedImageError:
        raise BadImage("not a readable image (corrupt or unsupported format)") from None
    except MemoryError:
        raise BadImage("not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - Pillow's plugins raise many types for a corrupt file
        raise BadImage(f"corrupt or truncated image ({type(exc).__name__}: {exc})"[:REASON_CHARS]) from None


def read_and_decode(kind: str, container: str, ref: str, size: int) -> np.ndarray:
    """One listed image, read safely and decoded (BadImage for any problem)."""
    try:
        data = read_item(kind, container, ref)
    except RefusedFile as exc:
        raise BadImage(str(exc)) from None
    except OSError as exc:
        raise BadImage(f"cannot read: {os_reason(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - zipfile raises BadZipFile, zlib.error, EOFError, ... for a bad member
        raise BadImage(f"cannot read from the archive ({type(exc).__name__}: {exc})"[:REASON_CHARS]) from None
    return decode_square(data, size)


@dataclass
class ChunkTask:
    """Rows [start, start + len(refs)) of a dataset to decode, and where to write them."""

    kind: str  # "folder" | "zip"
    container: str  # the archive's path for a zip
    refs: list[str]
    start: int
    size: int  # image side in pixels
    out_path: str  # the file the rows are written into (uint8 (N, 3, size, size) from offset 0)


@dataclass
class ChunkResult:
    start: int
    count: int
    colour: bool  # any decoded image with colour (not all three channels equal)
    crc: int  # CRC-32 of the chunk's rows as written
    bad: list[tuple[int, str]] = field(default_factory=list)  # (row, reason): rows left black


def decode_rows(task: ChunkTask) -> tuple[np.ndarray, ChunkResult]:
    """Decode a chunk into uint8 rows (n, 3, size, size); bad images become black rows and are reported."""
    rows = np.zeros((len(task.refs), 3, task.size, task.size), dtype=np.uint8)
    result = ChunkResult(task.start, len(task.refs), False, 0)
    for i, ref in enumerate(task.refs):
        try:
            picture = read_and_decode(task.kind, task.container, ref, task.size)
        except BadImage as exc:
            result.bad.append((task.start + i, str(exc)))
            continue
        rows[i] = picture.transpose(2, 0, 1)
        if not result.colour and not (
            np.array_equal(picture[..., 0], picture[..., 1]) and np.array_equal(picture[..., 1], picture[..., 2])
        ):
            result.colour = True
    result.crc = zlib.crc32(rows)
    return rows, result


def write_at(path: str, offset: int, data: np.ndarray) -> None:
    """Write `data`'s bytes into the existing file `path` at `offset`."""
    view = memoryview(np.ascontiguousarray(data)).cast("B")
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
    try:
        done = 0
        while done < len(view):
            if hasattr(os, "pwrite"):
                done += os.pwrite(fd, view[done:], offset + done)
            else:  # pragma: no cover - Windows
                os.lseek(fd, offset + done, os.SEEK_SET)
                done += os.write(fd, view[done:])
    finally:
        os.close(fd)


def decode_chunk(task: ChunkTask) -> ChunkResult:
    """Worker entry point: decode a chunk and write its rows into the cache file being built."""
    rows, result = decode_rows(task)
    write_at(task.out_path, task.start * rows[0].nbytes if len(rows) else 0, rows)
    return result

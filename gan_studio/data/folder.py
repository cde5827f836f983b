"""An image folder (or .zip of one) decoded into memory in this process: small sets, tests, `load_raw`.

Training goes through a prepared file instead (prepare.py: decoded once, on all cores, memory-mapped).
This reads the same listing (imagefiles.py) with the same decoder (decode.py), so both give the same
pixels. The set is RGB when any image has colour, grayscale otherwise. Bad files are all listed in
one DataError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan_studio.data import cache
from gan_studio.data.budgets import check_memory
from gan_studio.data.dataset import RawImages
from gan_studio.data.decode import ChunkTask, decode_rows
from gan_studio.data.imagefiles import ImageListing, close_archives, list_image_folder, list_image_zip
from gan_studio.data.prepare import bad_files_error, no_images_error
from gan_studio.errors import DataError


def decode_listing(listing: ImageListing, image_size: int) -> RawImages:
    """Every image of a listing as uint8 (N, S, S, C), decoded here; any bad file is an error listing them all."""
    if image_size < 1:
        raise DataError(f"image size must be positive, got {image_size}", listing.path)
    n = len(listing.names)
    check_memory(n * 3 * image_size * image_size, f"{n:,} images of {image_size} px", listing.path)
    skipped = [{"name": n, "reason": r} for n, r in listing.bad]
    out = np.empty((n, 3, image_size, image_size), dtype=np.uint8)
    colour = False
    container = str(listing.path) if listing.kind == "zip" else ""
    try:
        for start in range(0, n, cache.BLOCK_ROWS):
            refs = listing.refs[start : start + cache.BLOCK_ROWS]
            rows, result = decode_rows(ChunkTask(listing.kind, container, refs, start, image_size, ""))
            out[start : start + len(rows)] = rows
            colour = colour or result.colour
            skipped.extend({"name": listing.names[row], "reason": reason} for row, reason in result.bad)
    finally:
        close_archives()
    if skipped:
        skipped.sort(key=lambda s: s["name"])
        raise bad_files_error(listing.path, skipped, len(skipped), n + len(listing.bad), listing.other_formats,
                              listing.other_format_names)  # fmt: skip
    if not n:
        raise no_images_error(listing.path, listing.other_formats, listing.other_format_names)
    pixels = out if colour else out[:, :1]
    y = np.asarray(listing.labels, dtype=np.int64) if listing.labelled else None
    return RawImages(np.ascontiguousarray(pixels.transpose(0, 2, 3, 1)), y, list(listing.class_names),
                     str(listing.path))  # fmt: skip


def load_image_folder(folder: str | Path, image_size: int = 32) -> RawImages:
    """Every image in `folder` (or a .zip archive): labelled by sub-folder (sorted names = classes) or not."""
    path = Path(folder)
    listing = list_image_zip(path) if path.suffix.lower() == ".zip" and path.is_file() else list_image_folder(path)
    return decode_listing(listing, image_size)

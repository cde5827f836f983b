"""A folder of ordinary image files: one sub-folder per class, or images directly inside (unlabelled).

Every image is centre-cropped to a square and resized to `image_size` with Pillow (LANCZOS); the
set is RGB when any image has colour, grayscale otherwise. Decompression bombs, corrupt files and
symlinks leading outside the folder are refused with a DataError naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gan_studio.data.dataset import RawImages
from gan_studio.errors import DataError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
MAX_IMAGE_PIXELS = 89_478_485  # Pillow's default decompression-bomb threshold, enforced here as an error
_SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}


def _is_hidden(path: Path) -> bool:
    return path.name.startswith(".")


def _checked(entry: Path, root: Path) -> Path:
    """`entry` resolved; a symlink leading outside `root` is refused."""
    resolved = entry.resolve()
    if entry.is_symlink() and not resolved.is_relative_to(root):
        raise DataError(f"refusing symlink that points outside the dataset folder (to {resolved})", entry)
    return resolved


def _image_files(folder: Path, root: Path, seen: set[Path]) -> list[Path]:
    """Image files under `folder`, recursively, in sorted order (hidden entries skipped)."""
    resolved = _checked(folder, root)
    if resolved in seen:  # a symlink loop inside the folder
        return []
    seen.add(resolved)
    files = []
    for entry in sorted(folder.iterdir()):
        if _is_hidden(entry):
            continue
        if entry.is_dir():
            files.extend(_image_files(entry, root, seen))
        elif entry.suffix.lower() in IMAGE_EXTENSIONS:
            _checked(entry, root)
            files.append(entry)
    return files


def _open_rgb(path: Path) -> Image.Image:
    """Open one image as RGB with Pillow, turning bomb warnings and decode failures into DataError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise DataError(f"image is too large ({img.width}x{img.height} pixels)", path)
            return img
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataError(f"image is too large (possible decompression bomb): {exc}", path) from exc
    except UnidentifiedImageError as exc:
        raise DataError("not a readable image (corrupt or unsupported format)", path) from exc
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow's plugins raise all three for a corrupt header
        raise DataError(f"cannot read image ({exc})", path) from exc


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(img, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")  # transparent parts become black, like the built-in data's background
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("RGB")
    return img.convert("RGB")


def load_square_image(path: Path, image_size: int) -> np.ndarray:
    """One image file as uint8 (image_size, image_size, 3): centre-cropped square, LANCZOS-resized."""
    img = _open_rgb(path)
    try:
        with img:
            img.draft("RGB", (image_size, image_size))  # JPEG: decode at a reduced scale when possible
            img = ImageOps.exif_transpose(img)
            img = _to_rgb(img)
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"corrupt or truncated image ({exc})", path) from exc
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((image_size, image_size), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8)


def load_image_folder(folder: str | Path, image_size: int = 32) -> RawImages:
    """Load every image in `folder`: labelled by sub-folder (sorted names = classes) or unlabelled."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("not a folder", folder)
    if image_size < 1:
        raise DataError(f"image size must be positive, got {image_size}", folder)
    root = folder.resolve()
    seen: set[Path] = set()
    class_dirs = [entry for entry in sorted(folder.iterdir()) if entry.is_dir() and not _is_hidden(entry)]
    if class_dirs:
        class_names = [d.name for d in class_dirs]
        files, labels = [], []
        for label, class_dir in enumerate(class_dirs):
            class_files = _image_files(class_dir, root, seen)
            if not class_files:
                raise DataError(f"class folder '{class_dir.name}' holds no images", class_dir)
            files.extend(class_files)
            labels.extend([label] * len(class_files))
        y: np.ndarray | None = np.asarray(labels, dtype=np.int64)
    else:
        class_names, y = [], None
        files = _image_files(folder, root, seen)
    if not files:
        extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"no images found (expected {extensions} files, or one sub-folder per class)", folder)
    x = np.stack([load_square_image(path, image_size) for path in files])
    if not (np.array_equal(x[..., 0], x[..., 1]) and np.array_equal(x[..., 1], x[..., 2])):
        return RawImages(x, y, class_names, str(folder))
    return RawImages(np.ascontiguousarray(x[..., :1]), y, class_names, str(folder))

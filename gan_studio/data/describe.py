"""What a local dataset path holds, said in a line before any training: the Setup shows it under a chosen path.

Cheap on purpose: image folders and archives are listed (no image is opened), IDX and .npz files read by their
headers (and labels), CIFAR batches by their names. A path Start would refuse raises the DataError Start gives,
through the same checks (the path, the listing, the IDX split, the .npz's arrays).
"""

from __future__ import annotations

from pathlib import Path

from gan_studio.errors import DataError

CLASSES_NAMED = 4  # class names shown before "…"


def counted(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def classes_text(names: list[str]) -> str:
    """'10 classes (0, 1, 2, 3, …)'"""
    shown = ", ".join(names[:CLASSES_NAMED]) + (", …" if len(names) > CLASSES_NAMED else "")
    return f"{counted(len(names), 'class', 'classes')} ({shown})" if names else "no classes"


def pixels(height: int, width: int, channels: int) -> str:
    return f"{width}x{height} {'colour' if channels == 3 else 'grey'}"


def describe_source(spec: str) -> str:
    """One line on the dataset file or folder `spec` names, e.g. "MNIST IDX (test files), 10,000 images 28x28
    grey, 10 classes (0, 1, 2, 3, …)"; a path that cannot be trained on raises the DataError Start would give."""
    from gan_studio.data.loading import check_data_path

    path = check_data_path(spec)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npz":
            return _describe_npz(path)
        if suffix == ".zip":
            from gan_studio.data.imagefiles import list_image_zip

            return _describe_listing("zip archive of images", list_image_zip(path))
        raise DataError("unsupported dataset file (expected a folder, a .zip of images or an .npz)", path)
    from gan_studio.data import cifar, idx

    if cifar.is_cifar_folder(path):
        return _describe_cifar(path)
    if idx.is_idx_folder(path):
        return _describe_idx(path)
    from gan_studio.data.imagefiles import list_image_folder

    return _describe_listing("image folder", list_image_folder(path))


def _describe_listing(kind: str, listing) -> str:
    from gan_studio.data.prepare import no_images_error

    if not listing.names:
        raise no_images_error(listing.path, listing.other_formats, listing.other_format_names)
    text = f"{kind}, {counted(len(listing.names), 'image', 'images')}"
    text += f", {classes_text(listing.class_names)}" if listing.labelled else ", no classes"
    if listing.bad:
        name, reason = listing.bad[0]
        text += f"; {counted(len(listing.bad), 'file', 'files')} cannot be used ({name}: {reason})"
    return text


def _describe_idx(folder: Path) -> str:
    from gan_studio.data import idx

    idx_dir, images_path, labels_path = idx.split_files(folder, "train")
    dtype, dims = idx.read_idx_header(images_path)
    if len(dims) != 3 or dtype != "uint8" or 0 in dims:
        raise DataError(f"expected uint8 images of shape (N, H, W), got {dtype} {dims}", images_path)
    name = idx.guess_dataset_name(idx_dir)
    title = {"fashion-mnist": "Fashion-MNIST", "kmnist": "KMNIST"}.get(name or "", "MNIST-style")
    split = "training" if images_path.name.startswith(idx.SPLIT_PREFIXES["train"]) else "test"
    text = f"{title} IDX ({split} files), {counted(dims[0], 'image', 'images')} {pixels(dims[1], dims[2], 1)}"
    if labels_path is None:
        return f"{text}, no labels"
    labels = idx.read_idx(labels_path)  # one byte an image
    if labels.ndim != 1 or labels.shape[0] != dims[0]:
        raise DataError(f"{labels_path.name} holds {labels.shape} labels but {images_path.name} holds {dims[0]} "
                        "images", labels_path)  # fmt: skip
    labels = idx.check_labels(labels, dims[0], labels_path)
    return f"{text}, {classes_text(idx.class_names_for(name, int(labels.max()) + 1))}"


def _describe_cifar(folder: Path) -> str:
    from gan_studio.data import cifar

    root, files = cifar.split_files(folder, "train")
    expected = cifar.TRAIN_BATCHES if files[0].name in cifar.TRAIN_BATCHES else [cifar.TEST_BATCH]
    missing = [name for name in expected if not (root / name).is_file()]
    if missing:
        raise cifar.incomplete_error(root, missing)
    split = "training" if expected is cifar.TRAIN_BATCHES else "test"
    return (f"CIFAR-10 python batches ({split}: {', '.join(f.name for f in files)}), 32x32 colour, "
            f"{classes_text(cifar.read_class_names(root))}")  # fmt: skip


def _describe_npz(path: Path) -> str:
    from gan_studio.data import npz

    with npz.NpzArchive(path) as archive:
        content = npz.npz_content(archive, path)
    shape = content.x.shape
    classes = f", {classes_text(content.class_names)}" if content.y is not None else ", no labels"
    if len(shape) == 2:
        return f"NumPy archive, {counted(shape[0], '2D point', '2D points')}{classes}"
    height, width, channels, _ = npz.image_layout(shape, path)
    return f"NumPy archive, {counted(shape[0], 'image', 'images')} {pixels(height, width, channels)}{classes}"

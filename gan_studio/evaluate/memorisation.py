"""Memorisation check: are generated samples nearer the training images than unseen real images are?

A model that copies its training set produces samples much nearer some training image than any
unseen (test) image. The check measures, per space (pixels, and the evaluation's features), a
sample's nearest training image against its nearest unseen image, and the same for unseen real
images (half the test set, against the other half): the ratio of the two is about 1 or more when
samples are no nearer the training set than unseen images are, and well below 1 when they sit on
training images. Blurred or noisy samples score 1 or more, as they must: the earlier ratio (the
samples' nearest training distance over that of test images) read a blur, which is near every
image, as "near-copies". It also draws a strip picture: each row is a generated sample, then its
nearest training images in pixel space, then in feature space.
"""

from __future__ import annotations

import numpy as np
import torch

from gan_studio.evaluate.precision_recall import nearest_neighbours
from gan_studio.store.pictures import to_uint8

STRIP_ROWS = 8  # generated samples shown
STRIP_NEIGHBOURS = 3  # nearest training images shown per space
_GAP = 6  # pixels between the groups of a row


def distance_ratios(sets: dict[str, np.ndarray], test: np.ndarray, train: np.ndarray,
                    seed: int = 0) -> dict[str, dict[str, float]]:  # fmt: skip
    """For each named set of samples, how much nearer the training set they are than unseen real images are, each
    relative to its own distance to other unseen images: (set -> train / set -> test B) / (test A -> train /
    test A -> test B) in medians of nearest distances, test split into halves A and B (the unseen images' part
    is computed once for every set). About 1 or more: no closer to the training images than unseen images are;
    well below 1: samples sit on training images."""
    order = np.random.default_rng(seed).permutation(len(test))
    unseen, others = test[order[: len(test) // 2]], test[order[len(test) // 2 :]]

    def nearest_median(queries: np.ndarray, references: np.ndarray) -> float:
        return float(np.median(nearest_neighbours(queries, references, 1)[0]))

    unseen_to_train = nearest_median(unseen, train)
    unseen_ratio = unseen_to_train / max(nearest_median(unseen, others), 1e-12)
    ratios = {}
    for name, samples in sets.items():
        ratio = nearest_median(samples, train) / max(nearest_median(samples, others), 1e-12)
        ratios[name] = {"generated_ratio": ratio, "unseen_ratio": unseen_ratio,
                        "ratio": ratio / unseen_ratio if unseen_to_train > 0 else float("inf")}  # fmt: skip
    return ratios


def distance_ratio(generated: np.ndarray, test: np.ndarray, train: np.ndarray, seed: int = 0) -> dict[str, float]:
    """`distance_ratios` of one set of samples."""
    return distance_ratios({"generated": generated}, test, train, seed)["generated"]


def strip_picture(generated: torch.Tensor, train: torch.Tensor, pixel_idx: np.ndarray, feature_idx: np.ndarray,
                  value_range: tuple[float, float], feature_space: str = "classifier features") -> np.ndarray:  # fmt: skip
    """uint8 picture: per row, a generated image | its pixel-space neighbours | its feature-space neighbours,
    under a header that says which is which (small images are drawn twice their size, so the words fit)."""
    rows = []
    for i in range(len(generated)):
        groups = [generated[i : i + 1], train[torch.as_tensor(pixel_idx[i])], train[torch.as_tensor(feature_idx[i])]]
        tiles = [to_uint8(g, value_range) for g in groups]  # (n, H, W, C) each
        if tiles[0].shape[1] < 48:
            tiles = [t.repeat(2, axis=1).repeat(2, axis=2) for t in tiles]
        h, c = tiles[0].shape[1], tiles[0].shape[3]
        gap = np.full((h, _GAP, c), 255, dtype=np.uint8)
        parts = []
        for group in tiles:
            if parts:
                parts.append(gap)
            for tile in group:
                parts.append(np.pad(tile, ((0, 0), (1, 1), (0, 0))))
        rows.append(np.concatenate(parts, axis=1))
        rows.append(np.full((2, rows[-1].shape[1], c), 255, dtype=np.uint8))
    widths = [
        len(group) * (tile_width + 2) for group, tile_width in zip(tiles, [t.shape[2] for t in tiles], strict=True)
    ]
    header = _header(HEADER + (f"nearest in {feature_space}",), widths, rows[0].shape[1], c)
    return np.concatenate([header, *rows[:-1]], axis=0)


HEADER = ("sample", "nearest training images in pixels")  # then "nearest in" the features the evaluation uses


def _header(texts: tuple[str, ...], widths: list[int], total: int, channels: int) -> np.ndarray:
    """A white band naming the strip's three groups, each label over its group (cut to the group's width)."""
    from PIL import Image, ImageDraw

    from gan_studio.explore.label_fonts import label_font

    font = label_font(11)
    band = Image.new("L", (total, 18), 255)
    draw = ImageDraw.Draw(band)
    left = 0
    for text, width in zip(texts, widths, strict=True):
        while text and draw.textlength(text, font=font) > width - 2:
            text = text[:-2] + "…" if len(text) > 2 else ""
        draw.text((left + 1, 2), text, fill=60, font=font)
        left += width + _GAP
    return np.repeat(np.asarray(band)[:, :, None], channels, axis=2)


def memorisation_check(gen_images: torch.Tensor, gen_features: np.ndarray, train_images: torch.Tensor,
                       train_features: np.ndarray, test_images: torch.Tensor, test_features: np.ndarray,
                       value_range: tuple[float, float], noise: tuple[torch.Tensor, np.ndarray] | None = None,
                       ratios: bool = True, feature_space: str = "classifier features",
                       rows: int = STRIP_ROWS, neighbours: int = STRIP_NEIGHBOURS) -> tuple[dict, np.ndarray]:  # fmt: skip
    """Distance ratios in pixel and feature space ("pixel", "feature"; with `noise` (images, features) also its
    ratios under "noise"; none unless `ratios`), and the nearest-neighbour strip of `rows` samples."""
    flat = lambda t: t.reshape(len(t), -1).float().numpy()  # noqa: E731
    summary: dict = {}
    if ratios:
        pixel_sets = {"gen": flat(gen_images)} | ({"noise": flat(noise[0])} if noise is not None else {})
        feature_sets = {"gen": gen_features} | ({"noise": noise[1]} if noise is not None else {})
        pixel = distance_ratios(pixel_sets, flat(test_images), flat(train_images))
        feature = distance_ratios(feature_sets, test_features, train_features)
        summary["pixel"], summary["feature"] = pixel["gen"], feature["gen"]
        if noise is not None:
            summary["noise"] = {"pixel": pixel["noise"], "feature": feature["noise"]}
    shown = gen_images[:rows]
    pixel_d, pixel_idx = nearest_neighbours(flat(shown), flat(train_images), neighbours)
    feature_d, feature_idx = nearest_neighbours(gen_features[:rows], train_features, neighbours)
    summary["examples"] = [
        {"pixel_neighbours": pixel_idx[i].tolist(), "pixel_distances": [round(float(d), 4) for d in pixel_d[i]],
         "feature_neighbours": feature_idx[i].tolist(),
         "feature_distances": [round(float(d), 4) for d in feature_d[i]]}
        for i in range(len(shown))
    ]  # fmt: skip
    return summary, strip_picture(shown, train_images, pixel_idx, feature_idx, value_range, feature_space)

"""The built-in datasets by name: those made in code from a seed (registered here), the downloadable ones.

A dataset made in code (the 2D toys, the procedural shapes) needs no download or preparation, and
its test set for `gan-studio eval` is a fresh draw of another seed. `register_generated` is all a
new one needs: its name then works in `gan-studio train --data`, the app's dataset list (with its
description), `gan-studio data prepare` (nothing to prepare) and `gan-studio eval`. The lists here
are kept in place, so a registration after import reaches every module that imported them.
Light on purpose (no numpy, no torch): a `make` imports what it draws with when it is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KINDS = ("points", "images")


@dataclass(frozen=True)
class GeneratedSet:
    """A dataset drawn in code: `make(n, size, seed)` returns (samples, labels, class names).

    Points: float (N, 2) samples (the models then use MLPs on points; `size` is ignored). Images:
    uint8 (N, size, size, C). `n` None: the set's usual size.
    """

    name: str
    kind: str
    description: str
    make: Callable[[int | None, int, int], tuple]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"dataset '{self.name}': kind must be one of {', '.join(KINDS)}, not '{self.kind}'")


GENERATED: dict[str, GeneratedSet] = {}
TOY_NAMES: list[str] = []  # the generated sets of 2D points
IDX_NAMES = ["mnist", "fashion-mnist", "kmnist"]
DOWNLOADABLE = IDX_NAMES + ["cifar10"]
BUILTIN_NAMES: list[str] = [*DOWNLOADABLE, "stacked-mnist"]  # the generated sets go first, in registration order
DATASET_DESCRIPTIONS = {
    "mnist": "MNIST handwritten digits (download, 11 MB)",
    "fashion-mnist": "Fashion-MNIST clothing (download, 30 MB)",
    "kmnist": "Kuzushiji-MNIST cursive Japanese (download, 20 MB)",
    "cifar10": "CIFAR-10 colour photos, 10 classes (download, 163 MB)",
    "stacked-mnist": "three MNIST digits as R, G, B: 1,000 modes (Metz et al. 2017); stacked-mnist:DIR for a folder",
}


def register_generated(dataset: GeneratedSet) -> GeneratedSet:
    """Make `dataset` a built-in by its name (a name already taken by a file-based built-in is refused)."""
    if dataset.name in BUILTIN_NAMES and dataset.name not in GENERATED:
        raise ValueError(f"'{dataset.name}' is already a built-in dataset")
    if dataset.name not in GENERATED:
        BUILTIN_NAMES.insert(len(GENERATED), dataset.name)
    elif dataset.name in TOY_NAMES:  # registered again (perhaps as images now)
        TOY_NAMES.remove(dataset.name)
    GENERATED[dataset.name] = dataset
    if dataset.kind == "points":
        TOY_NAMES.append(dataset.name)
    DATASET_DESCRIPTIONS[dataset.name] = dataset.description
    return dataset


def _toy(function_name: str, class_names: list[str]):
    def make(n: int | None, size: int, seed: int):
        from gan_studio.data import toy2d

        draw = getattr(toy2d, function_name)
        points, labels = draw(seed=seed) if n is None else draw(n=n, seed=seed)
        return points, labels, list(class_names)

    return make


def _shapes(colour: bool):
    def make(n: int | None, size: int, seed: int):
        from gan_studio.data.shapes import DEFAULT_SIZE, make_shapes

        return make_shapes(n=DEFAULT_SIZE if n is None else n, size=size, seed=seed, colour=colour)

    return make


for built_in in (
    GeneratedSet("ring8", "points", "8 Gaussians on the unit circle (PacGAN/VEEGAN 2D benchmark)",
                 _toy("ring8", [f"mode {i}" for i in range(8)])),
    GeneratedSet("grid25", "points", "25 Gaussians on a 5x5 grid (PacGAN/VEEGAN 2D benchmark)",
                 _toy("grid25", [f"mode {i}" for i in range(25)])),
    GeneratedSet("spiral", "points", "two-armed 2D spiral", _toy("spiral", ["arm 0", "arm 1"])),
    GeneratedSet("moons", "points", "two interleaving 2D half moons", _toy("moons", ["upper", "lower"])),
    GeneratedSet("shapes", "images", "procedural grayscale shapes, 6 classes (no download)", _shapes(False)),
    GeneratedSet("shapes-colour", "images", "procedural coloured shapes, 6 classes (no download)", _shapes(True)),
):  # fmt: skip
    register_generated(built_in)

"""The full evaluation of a run: every metric that applies to it, with a floor and a ceiling.

`evaluate_run(RUN)` loads the run's model and reference data, draws n samples and measures:
- 2D points: mode coverage (ring8, grid25), Frechet distance and precision/recall on the raw
  coordinates, label accuracy of conditional models (k-NN classifier on the training points);
- images: Frechet distance, KID and precision/recall in the evaluation classifier's feature
  space, label accuracy of conditional models, and the memorisation check (nearest training
  images, saved as RUN/eval/nearest.png);
- VAEs: test ELBO and IWAE negative log-likelihood;
- stacked MNIST: modes covered of 1,000 and the KL to uniform, on 26,000 samples (evaluate/stacked.py).
Each metric row also shows the *floor* (real training data vs real test data: the best a model
can hope for) and the *ceiling* (noise vs real test data: a useless model). The report is a
plain dict, written to RUN/eval/report.json; `format_report` renders the table.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_studio.data.stacked import STACKED_NAME, is_stacked
from gan_studio.engine.settings import check_data_still_there, resolve_device
from gan_studio.errors import ConfigError, RunError
from gan_studio.evaluate import EvaluationCancelled
from gan_studio.evaluate.classifier import Classifier, PixelFeatures, get_classifier
from gan_studio.evaluate.frechet import KID_SUBSET_SIZE, frechet_distance, kernel_distance
from gan_studio.evaluate.likelihood import DEFAULT_IMPORTANCE_SAMPLES, elbo_and_iwae
from gan_studio.evaluate.memorisation import memorisation_check
from gan_studio.evaluate.modes import PROTOCOL_SAMPLES, dataset_mode_metrics, has_mode_metrics
from gan_studio.evaluate.precision_recall import (
    DEFAULT_NEIGHBOURS,
    manifold_radii,
    nearest_neighbours,
    precision_recall,
)
from gan_studio.evaluate.reference import ReferenceData, reference_for_run, subset
from gan_studio.evaluate.stacked import (
    NUM_MODES,
    digits_reference,
    noise_ceiling,
    read_channels,
    real_floor,
    stacked_modes,
)
from gan_studio.evaluate.stacked import PROTOCOL_SAMPLES as STACKED_SAMPLES
from gan_studio.files import atomic_write
from gan_studio.models.latents import sample_inputs
from gan_studio.store.loaded import LoadedRun, load_run
from gan_studio.store.pictures import save_png
from gan_studio.store.rundir import RunDir, kept_report_name, run_data_spec

REPORT_VERSION = 1
KID_UNIT = "x1e-3"  # KID is reported in thousandths, as in its paper (Binkowski et al. 2018)
DEFAULT_IMAGE_SAMPLES = 2000  # generated images per evaluation (the size of MNIST's held-out split here)
LIKELIHOOD_SAMPLES = 500  # test samples for the VAE ELBO / IWAE estimates
POINT_KNN = 5  # neighbours of the k-NN label classifier on 2D points
MIN_COMPARED = 50  # samples each set needs before distances between sets mean something
WEAK_CLASSIFIER_MARGIN = 0.5  # an evaluation classifier below chance + this share of the way to 100 % is weak
FEW_FOR_FRECHET = 500  # fewer held-out images: Frechet distances in the classifier's features do not rank runs
PRECISION_RECALL_MAX = 20_000  # samples of each set that precision and recall compare (all, up to this)

Progress = Callable[[str], None]


def default_samples(kind: str) -> int:
    """Generated samples per evaluation: 2,500 for 2D points (the PacGAN protocol), 2,000 for images."""
    return PROTOCOL_SAMPLES if kind == "points" else DEFAULT_IMAGE_SAMPLES


def eval_dir(run_path: str | Path, create: bool = False) -> Path:
    """RUN/eval (created when asked; a symlink or file there is refused, never written through)."""
    run = RunDir(Path(run_path))
    return run.ensure_folder("eval") if create else run.eval_dir


def report_path(run_path: str | Path) -> Path:
    return eval_dir(run_path) / "report.json"


STORED_UNITS = {"%": "fraction", KID_UNIT: ""}  # how a value shown in that unit is stored (0.0056 is 0.56 %)


def metric(key: str, label: str, value, floor=None, ceiling=None, better: str = "lower", unit: str = "",
           spread=None) -> dict:  # fmt: skip
    """One row of the report: the model's value next to real data (floor) and noise (ceiling). `unit` is how
    the table shows the values ("%", KID's thousandths); the row's "unit" says how they are stored, and
    "shown_as" how they are shown. `spread`: the uncertainty of the model's value, when the estimate has one
    (KID: the standard deviation over subsets; a likelihood: the standard error over the test samples), shown as
    "value ± spread"."""
    if unit == KID_UNIT and any(_number(v) is not None and abs(_number(v)) >= 1 for v in (value, floor, ceiling)):
        unit = ""  # one notation per row: plain when any of the three is far from the data (and "shown_as" says so)
    row = {"key": key, "label": label, "value": _number(value), "floor": _number(floor),
           "ceiling": _number(ceiling), "better": better, "unit": STORED_UNITS.get(unit, unit),
           "shown_as": unit}  # fmt: skip
    if _number(spread) is not None:
        row["spread"] = _number(spread)
    return row


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class _Stages:
    """Progress messages and cancellation checks between the stages of an evaluation."""

    def __init__(self, progress: Progress | None, cancel: Callable[[], bool] | None):
        self.progress, self.cancel = progress, cancel

    def __call__(self, message: str) -> None:
        if self.cancel is not None and self.cancel():
            raise EvaluationCancelled("evaluation cancelled")
        if self.progress is not None:
            self.progress(message)


def evaluate_run(run_path: str | Path, *, n: int | None = None, k: int = DEFAULT_IMPORTANCE_SAMPLES,
                 neighbours: int = DEFAULT_NEIGHBOURS, seed: int = 0, device: str = "cpu",
                 cache_dir: str | Path | None = None, progress: Progress | None = None,
                 cancel: Callable[[], bool] | None = None, write: bool = True,
                 checkpoint: str | None = None, data: str | None = None,
                 likelihood_samples: int = LIKELIHOOD_SAMPLES) -> dict[str, Any]:  # fmt: skip
    """Evaluate the model of a run (see module docstring), at its last checkpoint or the kept one named by
    `checkpoint` ('step-N'); writes RUN/eval/report.json when `write`. `data`: the data the run trained on, read
    from another place (moved, or a copy kept when the folder changed), checked to be the same size and classes.
    `likelihood_samples`: the test samples of a VAE's ELBO and IWAE estimates (at most the test set)."""
    stage = _Stages(progress, cancel)
    started = time.perf_counter()
    _check_sizes(n, k, neighbours)
    device = resolve_device(str(device))
    loaded = load_run(run_path, device=device, checkpoint=checkpoint)
    if not loaded.info:
        raise RunError("run.json is missing, so the dataset the run was trained on is unknown", loaded.path)
    if write:
        replaced = ("report.json", "nearest.png", kept_report_name(loaded.step, seed))
        RunDir(loaded.path).check_writable("eval", replaces=replaced)  # before minutes of work
    stage("loading the reference data")
    trained_on = run_data_spec(loaded.info)
    if data is None:
        check_data_still_there(trained_on, "evaluate")
    stacked = is_stacked(data or trained_on)
    if stacked:
        reference = digits_reference(data or trained_on)
        n = n or STACKED_SAMPLES
    else:
        reference = reference_for_run(
            loaded.info, loaded.data_info, value_range=(0.0, 1.0), labelled=bool(loaded.num_classes), data=data
        )
        n = n or default_samples(reference.kind)
    stage(f"generating {n} samples")
    z, y = sample_inputs(n, loaded.latent_dim, seed, loaded.num_classes)
    samples = torch.cat([loaded.generate(z[i : i + 1000], None if y is None else y[i : i + 1000])
                         for i in range(0, n, 1000)])  # fmt: skip
    labels = y.argmax(dim=1) if y is not None else None
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "run": str(loaded.path),
        "model": loaded.model_name,
        "family": loaded.family,
        "dataset": reference.name,
        "kind": reference.kind,
        "step": loaded.step,
        "checkpoint": checkpoint or "last",
        "n": n,
        "seed": seed,
        "neighbours": neighbours,
        "reference": reference.describe(),
        "metrics": [],
        "notes": [],
        "files": {},
    }
    if loaded.info.get("status") in ("running", "paused"):  # another process trains it on: this report ages
        report["notes"].append(f"the run was still training when evaluated: this is its checkpoint at step "
                               f"{loaded.step:,}, not where it ends")  # fmt: skip
    if data is not None and data != trained_on:
        report["notes"].append(f"the data was read from {data} (the run trained on {trained_on or '?'}; the same "
                               "number of samples and classes)")  # fmt: skip
    samples = with_observation_noise(loaded, samples, seed, report)
    if stacked:
        report["dataset"] = STACKED_NAME
        report["reference"]["note"] = (f"stacked MNIST: each channel read by the classifier of the digits "
                                       f"({reference.note})")  # fmt: skip
        _evaluate_stacked(report, loaded, reference, samples, seed, device, cache_dir, stage)
    elif reference.kind == "points":
        _evaluate_points(report, loaded, reference, samples, labels, neighbours, seed, stage)
    else:
        _evaluate_images(report, loaded, reference, samples, labels, neighbours, seed, device, cache_dir, stage, write)
    if loaded.family == "vae":
        _evaluate_likelihood(report, loaded, reference, k, seed, stage, likelihood_samples)
    report["seconds"] = round(time.perf_counter() - started, 2)
    report["created"] = time.time()
    if write:
        write_report(loaded.path, report)
    return report


def _check_sizes(n: int | None, k: int, neighbours: int) -> None:
    if n is not None and n < 10:
        raise ConfigError(f"--n must be at least 10 samples, got {n}")
    if k < 1:
        raise ConfigError(f"--k (importance samples) must be at least 1, got {k}")
    if neighbours < 1:
        raise ConfigError(f"--neighbours must be at least 1, got {neighbours}")
    if n is not None and neighbours >= n:
        raise ConfigError(f"--neighbours ({neighbours}) must be below --n ({n}): precision and recall compare each "
                          "sample with its nearest neighbours among the others")  # fmt: skip


def _finite_rows(samples: torch.Tensor, report: dict) -> torch.Tensor:
    """Samples without NaN/inf (a diverged model), noting how many were dropped."""
    flat = samples.reshape(len(samples), -1)
    keep = torch.isfinite(flat).all(dim=1)
    dropped = int((~keep).sum())
    if dropped:
        report["notes"].append(f"{dropped} of {len(samples)} generated samples were not finite and were left out")
    return samples[keep]


def _random_subset(dataset, n: int, seed: int):
    """n random samples of a Dataset (all of them when it is smaller)."""
    return subset(dataset, torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n])


# --- 2D points -------------------------------------------------------------------------------------


def with_observation_noise(loaded: LoadedRun, means: torch.Tensor, seed: int, report: dict) -> torch.Tensor:
    """A VAE with a Gaussian p(x|z) on points generates x ~ N(decoder mean, σ²): the model its ELBO and IWAE
    rows score. Its means alone lie on a thin curve inside the data (review: recall 16 % where the sampled
    model has 98 %). Images keep the means, as is usual (and as every picture shows)."""
    model = loaded.model
    if loaded.family != "vae" or getattr(model, "likelihood", "") != "gaussian" or loaded.data_info.kind != "points":
        return means
    sigma = model.observation_log_sigma().detach().exp().cpu()
    noise = torch.randn(means.shape, generator=torch.Generator().manual_seed(seed + 17))
    shown = ", ".join(f"{s:.3g}" for s in sigma.flatten().tolist()[:4])
    report["notes"].append(f"a VAE with a Gaussian p(x|z): each sample is a decoder mean plus its learned noise "
                           f"(σ {shown}), the model the likelihood rows score")  # fmt: skip
    return means + sigma * noise


def _evaluate_points(report, loaded: LoadedRun, reference: ReferenceData, samples, labels, neighbours, seed, stage):
    stage("measuring 2D samples")
    n = len(samples)
    gen = _finite_rows(samples, report).double().numpy()
    test_set = _random_subset(reference.test, n, seed)
    test = test_set.x.double().numpy()
    real = _random_subset(reference.train, n, seed + 1).x.double().numpy()
    lo, hi = test.min(axis=0), test.max(axis=0)
    margin = 0.1 * (hi - lo)
    noise = np.random.default_rng(seed).uniform(lo - margin, hi + margin, size=(n, test.shape[1]))
    rows = report["metrics"]
    if has_mode_metrics(reference.name):
        everything = samples.reshape(n, -1).double().numpy()  # a non-finite sample is not high quality
        gen_m, real_m, noise_m = (dataset_mode_metrics(reference.name, s) if len(s) else None
                                  for s in (everything, real, noise))  # fmt: skip
        report["modes"] = gen_m.as_dict() if gen_m else None
        total = real_m.num_modes
        rows.append(metric("modes", f"modes captured (of {total})", gen_m.modes if gen_m else 0, real_m.modes,
                           noise_m.modes, "higher"))  # fmt: skip
        rows.append(metric("high_quality", "high-quality samples (within 3 std)", gen_m.high_quality if gen_m else 0,
                           real_m.high_quality, noise_m.high_quality, "higher", "%"))  # fmt: skip
        rows.append(metric("reverse_kl", "reverse KL to uniform over modes (nats)", gen_m.reverse_kl if gen_m else None,
                           real_m.reverse_kl, noise_m.reverse_kl))  # fmt: skip
    if not _too_few_to_compare(report, len(gen), len(test), neighbours, "Frechet distance, precision or recall"):
        rows.append(metric("frechet", "Frechet distance (2D coordinates)", frechet_distance(gen, test),
                           frechet_distance(real, test), frechet_distance(noise, test)))  # fmt: skip
        _precision_recall_rows(report, gen, real, noise, test, neighbours, "(2D coordinates)", seed, n)
    if loaded.num_classes and reference.train.y is not None:
        stage("checking the labels of conditional samples")
        train_x, train_y = reference.train.x.double().numpy(), reference.train.y.numpy()
        keep = torch.isfinite(samples.reshape(n, -1)).all(dim=1).numpy()
        gen_acc = _knn_accuracy(gen, labels.numpy()[keep], train_x, train_y) * len(gen) / n if len(gen) else 0.0
        test_acc = _knn_accuracy(test, test_set.y.numpy(), train_x, train_y)
        noise_labels = np.arange(n) % loaded.num_classes
        noise_acc = _knn_accuracy(noise, noise_labels, train_x, train_y)
        rows.append(metric("label_accuracy", f"label accuracy ({POINT_KNN}-NN on training points)", gen_acc,
                           test_acc, noise_acc, "higher", "%"))  # fmt: skip
    report["notes"].append("memorisation check: not applicable to 2D points")
    judge_by = "modes, high-quality samples and precision" if has_mode_metrics(reference.name) else "precision"
    report["notes"].append("2D noise ceiling: uniform points over the data's box share the data's mean and covariance "
                           "and cover the plane, so their Frechet distance can be small and their recall high; on 2D "
                           f"points judge by {judge_by}, against the real-data floor")  # fmt: skip


def _too_few_to_compare(report, generated: int, held_out: int, neighbours: int, what: str) -> bool:
    """True, with a note saying why, when the finite samples or the data's held-out part are too few for
    the distances between sets: more than k = --neighbours points each, and at least MIN_COMPARED (with 8
    held-out points, uniform noise scored 100 % precision, as the model did)."""
    needed = max(neighbours + 1, MIN_COMPARED)
    if generated < needed:
        report["notes"].append(f"only {generated} finite samples, fewer than {needed}: no {what}")
    elif held_out < needed:
        report["notes"].append(f"the data's held-out part holds only {held_out} samples, fewer than {needed}: no "
                               f"{what} (a dataset this small cannot be measured this way)")  # fmt: skip
    else:
        return False
    return True


def _knn_accuracy(points, wanted, train_x, train_y, max_train: int = 20_000) -> float:
    """Share of points whose k-NN majority label among the training points is the wanted label."""
    train_x, train_y = train_x[:max_train], train_y[:max_train]
    _, index = nearest_neighbours(points, train_x, POINT_KNN)
    votes = train_y[index]  # (N, k)
    predicted = np.array([np.bincount(row).argmax() for row in votes])
    return float((predicted == wanted).mean())


def _note_a_weak_classifier(report, accuracy: float, classes: int) -> None:
    """The features are a classifier's, trained on the data's classes; one that barely tells them apart (a photo
    folder's sub-folders by year: 32 % on 5) gives features that say little about the images (review s13V)."""
    chance = 1 / classes
    if accuracy < chance + WEAK_CLASSIFIER_MARGIN * (1 - chance):
        report["notes"].append(
            f"the evaluation classifier tells the data's {classes} classes apart on only {100 * accuracy:.0f} % of "
            f"held-out images (chance: {100 * chance:.0f} %): distances in its features (Frechet, KID, precision, "
            "recall) say little here; the pixel-space rows and the pictures are the steadier guide"
        )


def _precision_recall_rows(report, gen, real, noise, test, neighbours, space: str, seed: int, generated: int) -> None:
    """Precision and recall rows; sets above PRECISION_RECALL_MAX are sampled down to it (k-NN is O(n²)).

    `gen` holds the finite ones of `generated` samples: the others count as outside the real manifold.
    """
    finite_share = len(gen) / generated
    sets = [gen, real, noise, test]
    if max(len(s) for s in sets) > PRECISION_RECALL_MAX:
        rng = np.random.default_rng(seed)
        sets = [s[np.sort(rng.permutation(len(s))[:PRECISION_RECALL_MAX])] for s in sets]
        report["notes"].append(
            f"precision and recall use {PRECISION_RECALL_MAX:,} random samples of each set (their "
            f"cost grows with the square of the samples; the other metrics use all {generated:,})"
        )
    gen, real, noise, test = sets
    rows = report["metrics"]
    radii = manifold_radii(test, neighbours)
    values = [precision_recall(test, s, neighbours, radii) for s in (gen, real, noise)]
    rows.append(metric("precision", f"precision, k={neighbours} {space}", values[0][0] * finite_share, values[1][0],
                       values[2][0], "higher", "%"))  # fmt: skip
    rows.append(metric("recall", f"recall, k={neighbours} {space}", values[0][1], values[1][1], values[2][1],
                       "higher", "%"))  # fmt: skip
    if values[2][0] >= values[1][0]:  # noise inside the real manifold as often as real data: precision means nothing
        report["notes"].append(
            f"uniform noise scores a precision of {100 * values[2][0]:.0f} %, as high as real images' "
            f"{100 * values[1][0]:.0f} %: in these features precision cannot tell noise from data (the real images' "
            "neighbourhoods are wide); judge by recall and the distances"
        )


# --- stacked MNIST ---------------------------------------------------------------------------------


def _evaluate_stacked(report, loaded: LoadedRun, digits: ReferenceData, samples, seed, device, cache_dir, stage):
    stage("preparing the MNIST classifier")
    classifier = get_classifier(digits, cache_dir=cache_dir, device=device, progress=stage, cancel=stage.cancel)
    report["classifier"] = classifier.describe()
    stage(f"reading the 3 digits of {len(samples)} samples")
    gen = _finite_rows(samples, report)
    found = stacked_modes(read_channels(classifier, gen, loaded.model.output_range).numpy())
    n = len(samples)
    floor = real_floor(classifier, digits, n, seed)
    ceiling = noise_ceiling(classifier, n, int(samples.shape[-1]), seed)
    report["stacked_modes"] = found.as_dict()
    rows = report["metrics"]
    rows.append(metric("modes", f"modes covered (of {NUM_MODES})", found.modes, floor.modes, ceiling.modes,
                       "higher"))  # fmt: skip
    rows.append(metric("kl", "KL to uniform over the 1,000 modes (nats)", found.kl, floor.kl, ceiling.kl))
    report["notes"].append(f"stacked MNIST protocol (Metz et al. 2017; VEEGAN; PacGAN): {n} samples, each channel "
                           "classified; floor: real stacks of the test digits; ceiling: uniform noise")  # fmt: skip


# --- images ----------------------------------------------------------------------------------------


def _to_unit_range(images: torch.Tensor, value_range) -> torch.Tensor:
    lo, hi = value_range
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return images.clamp(0.0, 1.0)
    return ((images.float() - lo) / (hi - lo)).clamp(0.0, 1.0)


def _evaluate_images(report, loaded: LoadedRun, reference: ReferenceData, samples, labels, neighbours, seed,
                     device, cache_dir, stage, write: bool = True):  # fmt: skip
    if reference.train.y is not None and reference.num_classes >= 2:
        stage(f"preparing the {reference.name} classifier")
        classifier = get_classifier(reference, cache_dir=cache_dir, device=device, progress=stage, cancel=stage.cancel)
        report["classifier"] = classifier.describe()
        _note_a_weak_classifier(report, classifier.test_accuracy, reference.num_classes)
    else:
        classifier = PixelFeatures()
        report["notes"].append("the dataset has no class labels, so no classifier: distances use 8x8 pooled pixels")
    space = f"({classifier.space})"
    keep = torch.isfinite(samples.reshape(len(samples), -1)).all(dim=1)
    gen = _to_unit_range(_finite_rows(samples, report), loaded.model.output_range)
    m = min(len(samples), len(reference.test))
    test = _random_subset(reference.test, m, seed).x
    real = _random_subset(reference.train, m, seed + 1).x
    noise = torch.rand((m, *test.shape[1:]), generator=torch.Generator().manual_seed(seed))
    if m < len(samples):
        report["notes"].append(f"the test part holds {m} images: floor and ceiling use {m} real / noise images")
    if MIN_COMPARED <= m < FEW_FOR_FRECHET:
        limit = f"the held-out part holds {m}" if m == len(reference.test) else "raise --n for more"
        report["notes"].append(f"a Frechet distance of {m} images a side ({limit}) is mostly bias and noise (even "
                               "the real-data floor is high): compare runs by KID and its spread; runs whose KIDs "
                               "are within their spreads cannot be told apart")  # fmt: skip
    stage(f"computing features ({classifier.space})")
    feats = {name: classifier.features(x).double().numpy() for name, x in
             (("gen", gen), ("test", test), ("real", real), ("noise", noise))}  # fmt: skip
    rows = report["metrics"]
    if not _too_few_to_compare(report, len(gen), m, max(neighbours, 1), "Frechet distance, KID, precision or recall"):
        stage("Frechet distance and KID")
        rows.append(metric("frechet", f"Frechet distance {space}",
                           frechet_distance(feats["gen"], feats["test"]), frechet_distance(feats["real"], feats["test"]),
                           frechet_distance(feats["noise"], feats["test"])))  # fmt: skip
        (kid, kid_std), *others = [
            kernel_distance(feats[s], feats["test"], seed=seed) for s in ("gen", "real", "noise")
        ]
        rows.append(metric("kid", f"KID {space}, unbiased: about 0 when equal", kid, *(v for v, _ in others),
                           unit=KID_UNIT, spread=kid_std))  # fmt: skip
        if math.isnan(kid_std):
            report["notes"].append(f"KID from one subset of {min(len(gen), len(test))} (the whole of both sets): no "
                                   f"spread; more than {KID_SUBSET_SIZE} samples give subsets and their ±")  # fmt: skip
        stage("precision and recall")
        sets = (feats[s] for s in ("gen", "real", "noise", "test"))
        _precision_recall_rows(report, *sets, neighbours, space, seed, len(samples))
    if loaded.num_classes and labels is not None and isinstance(classifier, Classifier):
        stage("label accuracy")
        wanted = labels[keep]
        gen_acc = (classifier.predict(gen) == wanted).float().sum().item() / len(samples)  # non-finite: wrong
        noise_labels = torch.arange(m) % loaded.num_classes
        noise_acc = (classifier.predict(noise) == noise_labels).float().mean().item()
        rows.append(metric("label_accuracy", "label accuracy (classifier on requested labels)", gen_acc,
                           classifier.test_accuracy, noise_acc, "higher", "%"))  # fmt: skip
    if len(gen):
        stage("memorisation check")
        _memorisation(report, loaded, reference, classifier, gen, feats, test, noise, write)


def _memorisation(report, loaded, reference, classifier, gen, feats, test, noise, write: bool = True) -> None:
    train = reference.train.x
    train_feats = classifier.features(train).double().numpy()
    enough = len(test) >= MIN_COMPARED  # its halves are compared: with a few images each, the medians are noise
    summary, strip = memorisation_check(gen, feats["gen"], train, train_feats, test, feats["test"], (0.0, 1.0),
                                        noise=(noise, feats["noise"]), ratios=enough,
                                        feature_space=classifier.space)  # fmt: skip
    path = eval_dir(loaded.path, create=True) / "nearest.png" if write else None  # nothing is written without `write`
    if path is not None:
        save_png(strip, path)
        report["files"]["nearest"] = str(path)
    report["memorisation"] = {"pixel": summary.get("pixel"), "feature": summary.get("feature"),
                              "examples": summary["examples"], "strip": None if path is None else str(path)}  # fmt: skip
    if not enough:
        report["notes"].append(
            f"memorisation: the data's held-out part holds only {len(test)} samples, fewer than "
            f"{MIN_COMPARED}: no distance ratio (the nearest training images are drawn)"
        )
        return
    for space in ("pixel", "feature"):
        report["metrics"].append(metric(
            f"memorisation_{space}", f"nearness to training vs unseen images ({space})",
            summary[space]["ratio"], 1.0, summary["noise"][space]["ratio"], "1 or more"))  # fmt: skip
    report["notes"].append("memorisation: a sample's distance to its nearest training image over that to its nearest "
                           "unseen (test) image, relative to the same for unseen real images; about 1 or more: no "
                           "nearer the training images than unseen images are, good samples or poor; well below 1: "
                           "samples sit on training images (copies)")  # fmt: skip


# --- VAE likelihood ---------------------------------------------------------------------------------


def _evaluate_likelihood(report, loaded: LoadedRun, reference: ReferenceData, k, seed, stage, wanted: int):
    count = min(wanted, len(reference.test))
    stage(f"VAE test ELBO and IWAE (k={k}, {count} test samples)")
    model = loaded.model
    test = subset(reference.test, torch.arange(count))
    values = elbo_and_iwae(model, test.x, test.y, k=k, seed=seed)
    ceiling = None
    if getattr(model, "likelihood", "") == "bernoulli":
        ceiling = math.log(2) * int(np.prod(test.x.shape[1:]))  # every pixel p = 0.5
    report["likelihood"] = values
    report["metrics"].append(metric("neg_elbo", f"test -ELBO (nats per sample, {count:,} samples)",
                                    values["neg_elbo"], None, ceiling, spread=values["neg_elbo_se"]))  # fmt: skip
    report["metrics"].append(metric("iwae_nll", f"test NLL, IWAE k={k} (nats per sample, {count:,} samples)",
                                    values["iwae_nll"], None, ceiling, spread=values["iwae_nll_se"]))  # fmt: skip
    shape = "x".join(str(side) for side in test.x.shape[1:])
    other = (
        ", not published NLLs of other data (binarised 28x28 MNIST's are ~80-90 nats)"
        if reference.kind == "images"
        else ""
    )
    report["notes"].append(f"VAE likelihoods: ± the standard error over the {count:,} test samples, in nats of the data "
                           f"as this model sees it ({shape} values a sample): they compare models on the same data{other}")  # fmt: skip
    if ceiling is not None:
        report["notes"].append("likelihood ceiling: a decoder that predicts 0.5 for every pixel (D x ln 2 nats)")


# --- output ----------------------------------------------------------------------------------------


def write_report(run_path: str | Path, report: dict) -> Path:
    """Write RUN/eval/report.json (the latest report: the app and `runs` read it) and its copy
    RUN/eval/step-N-seed-S.json, which another checkpoint or seed does not replace; atomically. Returns the first."""
    folder = eval_dir(run_path, create=True)
    path = folder / "report.json"
    kept = folder / kept_report_name(int(report.get("step") or 0), int(report.get("seed") or 0))
    report["files"]["report"] = str(path)
    report["files"]["copy"] = str(kept)
    text = json.dumps(report, indent=2).encode("utf-8")
    try:
        atomic_write(kept, text)
        atomic_write(path, text)
    except PermissionError:
        raise RunError("the run folder is read-only: the report cannot be saved in it", run_path) from None
    return path


def read_report(run_path: str | Path) -> dict | None:
    """The run's last saved report, or None when there is none (or it is unreadable)."""
    data = RunDir(Path(run_path)).read_report()
    return data if data is not None and isinstance(data.get("metrics"), list) else None


def format_value(value, unit: str = "") -> str:
    """A metric value for a table: percentages for fractions, 4 significant digits otherwise."""
    if value is None:
        return "-"
    if unit == "%":
        return f"{100 * value:.1f} %"
    if unit == KID_UNIT:  # an unbiased estimate: below zero is sampling noise around 0
        scaled = 1000 * value
        if abs(value) >= 1:  # far from the data (a model at its start, or points in large units)
            return f"{value:.4g}"
        return f"{scaled:.3g} ×10⁻³" if scaled >= 0 else f"≈0 ({scaled:.2g} ×10⁻³)"
    if float(value).is_integer() and abs(value) < 1e6:
        return f"{int(value)}"
    if abs(value) >= 1e9:  # a diverging model's distance: a whole number would stretch the table
        return f"{value:.3e}"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def shown_unit(row: dict) -> str:
    """How a report row's values are shown ("%", KID's thousandths, ""); reports saved before "shown_as"
    kept it in "unit"."""
    return str(row.get("shown_as", row.get("unit", "")))


def table_rows(report: dict) -> list[tuple[str, str, str, str, str]]:
    """(metric, model, floor, ceiling, better) strings of every metric of a report, each row in one notation."""
    rows = []
    for row in report["metrics"]:
        shown_as = shown_unit(row)
        values = [row["value"], row["floor"], row["ceiling"]]
        if shown_as == KID_UNIT and any(v is not None and abs(v) >= 1 for v in values):
            shown_as = ""  # one notation per row: plain when any of the three is far from the data
        shown = [format_value(v, shown_as) for v in values]
        if row.get("spread") is not None and row["value"] is not None:
            shown[0] = _with_spread(row["value"], row["spread"], shown_as)
        rows.append((row["label"], *shown, row["better"]))
    return rows


def _with_spread(value: float, spread: float, unit: str) -> str:
    """A model's value with its standard deviation over subsets, in the row's notation:
    "2.34 ± 0.41 ×10⁻³" rather than the unit written twice."""
    if unit == KID_UNIT and abs(value) < 1:
        return f"{1000 * value:.3g} ± {1000 * spread:.2g} ×10⁻³"
    return f"{format_value(value, unit)} ± {format_value(spread, unit)}"


def format_report(report: dict) -> str:
    """The report as text: a header, the metric table, notes and files."""
    kept = report.get("checkpoint", "last")
    of = "" if kept == "last" else f" ({kept}.pt)"  # a kept checkpoint, not the run's last
    lines = [f"Evaluation of {report['run']}",
             f"{report['model']} on {report['dataset']}, step {report['step']}{of}, {report['n']} samples "
             f"(seed {report['seed']}), {report.get('seconds', 0):.1f} s",
             f"data: {report['reference']['note']}"]  # fmt: skip
    if "classifier" in report:
        c = report["classifier"]
        origin = "cached" if c["cached"] else f"trained now in {c['train_seconds']:.0f} s"
        lines.append(f"classifier: test accuracy {100 * c['test_accuracy']:.2f} % "
                     f"({c['train_size']} train / {c['test_size']} test images, {origin})")  # fmt: skip
    header = ("metric", "model", "real (floor)", "noise (ceiling)", "better")
    rows = [header] + table_rows(report)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines.append("")
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [row[j].rjust(widths[j]) for j in range(1, 4)] + [row[4]]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    lines.append("")
    for name, path in report.get("files", {}).items():
        lines.append(f"{name}: {path}")
    return "\n".join(lines)

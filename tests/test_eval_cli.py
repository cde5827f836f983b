"""`gan-studio eval` on a tiny run of every model family, and its errors for bad runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_checks import one_line_error

from gan_studio.cli import main
from gan_studio.evaluate.classifier import get_classifier
from gan_studio.evaluate.live import live_metrics
from gan_studio.evaluate.reference import reference_data

TINY = ["--steps", "20", "--log-every", "10", "--sample-every", "0", "--checkpoint-every", "0", "--quiet"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def bars_npz(tmp_path_factory):
    """A tiny labelled image set: horizontal bars, vertical bars and squares at random places."""
    rng = np.random.default_rng(0)
    n, size = 300, 16
    x = (rng.random((n, size, size)) * 40).astype(np.uint8)
    y = np.arange(n) % 3
    for i in range(n):
        a, b = rng.integers(2, 12, size=2)
        if y[i] == 0:
            x[i, a : a + 2, 2:14] = 255
        elif y[i] == 1:
            x[i, 2:14, b : b + 2] = 255
        else:
            x[i, a : a + 4, b : b + 4] = 255
    path = tmp_path_factory.mktemp("data") / "bars.npz"
    np.savez(path, x=x, y=y, class_names=np.array(["horizontal", "vertical", "square"]))
    return path


def _train(tmp_path, model: str, data: str, *extra: str):
    run = tmp_path / model
    assert main(["train", model, "--data", str(data), "--out", str(run), "--batch-size", "30", *TINY, *extra]) == 0
    return run


SMALL = {
    "gan": ("grid25", ["--latent-dim", "2", "--g-hidden", "32", "--d-hidden", "32"]),
    "cgan": ("ring8", ["--latent-dim", "2", "--g-hidden", "32", "--d-hidden", "32"]),
    "vae": ("moons", ["--latent-dim", "2", "--hidden", "32"]),
    "cvae": ("bars", ["--latent-dim", "4", "--channels", "8"]),
    "dcgan": ("bars", ["--ngf", "8", "--ndf", "8", "--latent-dim", "16"]),
    "cdcgan": ("bars", ["--ngf", "8", "--ndf", "8", "--latent-dim", "16"]),
}
EXPECTED = {
    "gan": {"modes", "high_quality", "reverse_kl", "frechet", "precision", "recall"},
    "cgan": {"modes", "high_quality", "reverse_kl", "frechet", "label_accuracy"},
    "vae": {"frechet", "precision", "recall", "neg_elbo", "iwae_nll"},
    "cvae": {"frechet", "kid", "label_accuracy", "neg_elbo", "iwae_nll", "memorisation_pixel"},
    "dcgan": {"frechet", "kid", "precision", "recall", "memorisation_pixel", "memorisation_feature"},
    "cdcgan": {"frechet", "kid", "label_accuracy", "memorisation_feature"},
}


@pytest.mark.parametrize("model", list(SMALL))
def test_eval_reports_every_model_family(model, tmp_path, bars_npz, capsys):
    data, extra = SMALL[model]
    run = _train(tmp_path, model, bars_npz if data == "bars" else data, *extra)
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "300", "--k", "4", "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "real (floor)" in table and "noise (ceiling)" in table
    report = json.loads((run / "eval" / "report.json").read_text())
    rows = {row["key"]: row for row in report["metrics"]}
    assert EXPECTED[model] <= set(rows)
    assert report["model"] == model and report["n"] == 300
    for row in rows.values():
        assert row["label"] in table
    if "frechet" in rows:  # real data beats noise; the model is measured
        assert rows["frechet"]["floor"] < rows["frechet"]["ceiling"]
        assert rows["frechet"]["value"] is not None
    if "modes" in rows:
        assert rows["modes"]["floor"] == rows["modes"]["ceiling"] or rows["modes"]["floor"] >= 8
        assert 0 <= rows["high_quality"]["value"] <= 1
    if "label_accuracy" in rows:
        assert rows["label_accuracy"]["floor"] > rows["label_accuracy"]["ceiling"]
    if "kid" in rows:  # a spread over KID's subsets is shown when they differ; never one of rounding noise
        spread = rows["kid"].get("spread")
        assert (spread is not None) == (" ± " in table) and (
            spread is None or spread > 1e-9 * abs(rows["kid"]["value"])
        )
        said = any(note.startswith("KID from one subset of") for note in report["notes"])
        assert said == (spread is None)  # a row without its ± says why (review s14W)
    if "iwae_nll" in rows:
        assert rows["iwae_nll"]["value"] <= rows["neg_elbo"]["value"] + 1e-6
        # each with its standard error, and said to be of this data, not published NLLs of other data (s14W)
        assert (
            rows["iwae_nll"]["spread"] > 0
            and rows["neg_elbo"]["spread"] > 0
            and "samples)" in rows["iwae_nll"]["label"]
        )
        assert any(note.startswith("VAE likelihoods: ± the standard error over the") for note in report["notes"])
    if "frechet" in rows and data == "bars":  # images: 300 a side are too few for a Frechet distance to rank runs
        assert any("mostly bias and noise" in note and "compare runs by KID" in note for note in report["notes"])
    if data == "bars":
        strip = run / "eval" / "nearest.png"
        assert strip.is_file() and str(strip) in table
        assert "no separate test split" in report["reference"]["note"]
        assert report["classifier"]["test_accuracy"] > 0.9


def test_a_gaussian_vae_on_points_is_scored_on_samples_with_its_learned_noise(tmp_path):
    """Its decoder means lie on a thin curve inside the data: precision/recall and Frechet distance judged that,
    not the model p(x|z) the ELBO rows score."""
    import torch

    from gan_studio.evaluate.report import with_observation_noise
    from gan_studio.store.loaded import load_run

    vae_run = _train(tmp_path, "vae", "moons", "--latent-dim", "2", "--hidden", "16")
    loaded = load_run(vae_run)
    assert loaded.model.likelihood == "gaussian"
    sigma = loaded.model.observation_log_sigma().detach().exp()
    report = {"notes": []}
    means = torch.zeros(20_000, 2)
    samples = with_observation_noise(loaded, means, 0, report)
    assert torch.allclose(samples.std(dim=0), sigma, rtol=0.05) and "learned noise" in report["notes"][0]
    gan_run = _train(tmp_path, "gan", "ring8", "--latent-dim", "2", "--g-hidden", "16", "--d-hidden", "16")
    gan = load_run(gan_run)
    assert with_observation_noise(gan, means, 0, {"notes": []}) is means  # GANs (and images) keep what G draws

    # the exported decoder says its σ too, so that a user of the file can sample the model
    from gan_studio.export.inference import OnnxGenerator
    from gan_studio.export.onnx_export import export_run

    decoder = OnnxGenerator(export_run(vae_run, reference_samples=0).path)
    assert decoder.metadata.observation_sigma == pytest.approx(sigma.tolist(), rel=1e-6)
    assert "add observation_sigma" in decoder.metadata.pixel_mapping
    assert OnnxGenerator(export_run(gan_run, reference_samples=0).path).metadata.observation_sigma == ()


def test_eval_json_output_is_the_saved_report(tmp_path, capsys):
    run = _train(tmp_path, "gan", "ring8", "--latent-dim", "2", "--g-hidden", "16", "--d-hidden", "16")
    capsys.readouterr()
    assert main(["eval", str(run), "--json", "--quiet"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((run / "eval" / "report.json").read_text())
    assert printed["metrics"] == saved["metrics"]
    assert printed["n"] == 2500  # the PacGAN protocol's sample count by default
    assert printed["modes"]["num_modes"] == 8
    assert any(note.startswith("2D noise ceiling") and "judge by modes" in note for note in printed["notes"])
    assert printed["checkpoint"] == "last" and not any("still training" in note for note in printed["notes"])
    # a run another process still trains: the report says it is of a checkpoint along the way (review s14W)
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "status": "running"}))
    assert main(["eval", str(run), "--json", "--quiet", "--no-save", "--n", "500"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any(note.startswith("the run was still training when evaluated") for note in notes)


def test_precision_and_recall_of_many_samples_use_a_bounded_random_part(tmp_path, capsys, monkeypatch):
    """k-NN precision/recall grow with n²: above the limit they compare a random part, and say so."""
    import gan_studio.evaluate.report as report_module

    run = _train(tmp_path, "gan", "ring8", "--latent-dim", "2", "--g-hidden", "16", "--d-hidden", "16")
    monkeypatch.setattr(report_module, "PRECISION_RECALL_MAX", 200)
    compared = []
    real_manifold_radii = report_module.manifold_radii
    monkeypatch.setattr(
        report_module, "manifold_radii", lambda x, k: compared.append(len(x)) or real_manifold_radii(x, k)
    )
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "500", "--json", "--quiet"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert compared == [200]  # the held-out set's k-NN balls: 200 of its 500 points
    assert any(note.startswith("precision and recall use 200 random samples of each set") for note in printed["notes"])
    rows = {row["key"]: row for row in printed["metrics"]}
    assert 0.0 <= rows["precision"]["value"] <= 1.0 and rows["modes"]["value"] >= 0


def test_samples_that_are_not_finite_count_against_the_model_not_out_of_the_figures(tmp_path, capsys, monkeypatch):
    """A model whose every other sample is NaN has half the high-quality samples and precision of one without."""
    import torch

    import gan_studio.evaluate.report as report_module
    from gan_studio.evaluate.modes import ring8_modes
    from gan_studio.store.loaded import LoadedRun

    run = _train(tmp_path, "gan", "ring8", "--latent-dim", "2", "--g-hidden", "16", "--d-hidden", "16")
    centres, std = ring8_modes()

    def on_the_modes(self, z, y=None):  # a perfect model: every sample near a mode
        rows = torch.as_tensor(centres, dtype=torch.float32)[torch.arange(len(z)) % len(centres)]
        return rows + std * torch.randn(rows.shape, generator=torch.Generator().manual_seed(0))

    def half_nan(self, z, y=None):
        samples = on_the_modes(self, z, y)
        samples[::2] = float("nan")
        return samples

    rows = {}
    for name, generate in (("clean", on_the_modes), ("half_nan", half_nan)):
        monkeypatch.setattr(LoadedRun, "generate", generate)
        capsys.readouterr()
        assert main(["eval", str(run), "--n", "400", "--json", "--quiet", "--no-save"]) == 0
        report = json.loads(capsys.readouterr().out)
        rows[name] = {row["key"]: row["value"] for row in report["metrics"]}
    assert rows["clean"]["high_quality"] > 0.9 and rows["clean"]["precision"] > 0.9
    for key in ("high_quality", "precision"):
        assert rows["half_nan"][key] == pytest.approx(rows["clean"][key] / 2, abs=0.03), key
    assert any("200 of 400 generated samples were not finite" in note for note in report["notes"])
    assert report_module.format_value(1.3e69) == "1.300e+69"  # a diverging model's distance stays readable


def test_eval_of_a_missing_run_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no such run directory" in err


def test_eval_of_a_run_without_checkpoint_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "run.json").write_text("{}")
    assert main(["eval", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "checkpoint" in err


def test_eval_refuses_silly_sizes(tmp_path, capsys):
    run = _train(tmp_path, "gan", "ring8", "--latent-dim", "2", "--g-hidden", "16", "--d-hidden", "16")
    capsys.readouterr()
    assert main(["eval", str(run), "--k", "0", "--quiet"]) == 2
    assert "--k" in capsys.readouterr().err


def test_eval_data_of_another_built_in_set_is_refused_and_saves_nothing(tmp_path, capsys):
    """A ring8 run judged with --data moons exited 0 and saved a report of moons into the run (with a note that the
    data had the same samples and classes); --data shapes failed deep in the metrics (review s18H #2)."""
    run = _train(tmp_path, "gan", "ring8", "--latent-dim", "2", "--g-hidden", "8", "--d-hidden", "8")
    capsys.readouterr()
    for other in ("moons", "shapes", "grid25"):
        code = main(["eval", str(run), "--data", other, "--quiet", "--n", "100"])
        assert f"{other}: this is not the data the run trained on (ring8)" in one_line_error(capsys, code)
    assert not (run / "eval" / "report.json").exists()
    assert main(["eval", str(run), "--data", "ring8", "--quiet", "--n", "100", "--no-save"]) == 0  # its own: judged


def test_live_image_metrics_need_a_cached_classifier(tmp_path, bars_npz):
    from gan_studio.config import apply_values
    from gan_studio.engine.settings import TrainConfig
    from gan_studio.engine.trainer import Trainer
    from gan_studio.models import default_config

    config = apply_values(default_config("cdcgan"), {"ngf": 8, "ndf": 8, "latent_dim": 16})
    train = TrainConfig(data=str(bars_npz), steps=5, batch_size=30, device="cpu", sample_every=0, checkpoint_every=0)
    trainer = Trainer.new("cdcgan", config, train, out=tmp_path / "run")
    assert live_metrics(trainer) == {}  # no classifier yet: nothing is trained on the training thread
    get_classifier(reference_data(str(bars_npz), image_size=32, channels=1))
    values = live_metrics(trainer)
    assert set(values) == {"frechet_live", "label_accuracy"}
    assert values["frechet_live"] > 0 and 0 <= values["label_accuracy"] <= 1
    assert trainer.model.training  # the model is back in training mode


def test_a_cache_that_cannot_be_written_keeps_the_classifier_in_the_temporary_cache(tmp_path, bars_npz, monkeypatch):
    """With a read-only home, eval trained its classifier for a minute, then failed with "cannot write the report
    into RUN/eval: Read-only file system" (the run folder was fine): the classifier (and the data) are kept in
    this user's temporary cache folder, where the next evaluation finds them."""
    from gan_studio.paths import temporary_cache_dir

    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "not-a-folder"))
    reference = reference_data(str(bars_npz), image_size=32, channels=1)
    said = []
    first = get_classifier(reference, progress=said.append)
    assert any(f"the classifier is kept in {first.path}" in line for line in said), said
    assert not first.cached and first.path.parent == temporary_cache_dir() / "classifiers" and first.path.is_file()
    again = get_classifier(reference_data(str(bars_npz), image_size=32, channels=1))
    assert again.cached and again.path == first.path


def test_unlabelled_images_are_measured_in_pooled_pixel_space(tmp_path, bars_npz, capsys):
    with np.load(bars_npz) as archive:
        unlabelled = tmp_path / "unlabelled.npz"
        np.savez(unlabelled, x=archive["x"])
    run = _train(tmp_path, "dcgan", unlabelled, "--ngf", "8", "--ndf", "8", "--latent-dim", "16")
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "200", "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "Frechet distance (8x8 pixels)" in table and "no class labels" in table
    assert (run / "eval" / "nearest.png").is_file()


@pytest.mark.parametrize(("model", "images"), [("cdcgan", 8), ("dcgan", 5), ("cgan", 0)])
def test_eval_of_a_tiny_dataset_reports_what_it_can_and_says_why_the_rest_is_missing(model, images, tmp_path,
                                                                                      capsys):  # fmt: skip
    """8 photos in 2 class folders: the held-out part has 1 or 2, too few for the distances between sets."""
    from PIL import Image

    rng = np.random.default_rng(0)
    if images:
        for i in range(images):
            folder = tmp_path / "photos" / ("cats" if i % 2 else "dogs")
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i}.png")
        data, extra = tmp_path / "photos", ["--ngf", "8", "--ndf", "8", "--latent-dim", "8"]
    else:
        data, extra = tmp_path / "few.npz", ["--latent-dim", "2", "--g-hidden", "8", "--d-hidden", "8"]
        np.savez(data, x=rng.normal(size=(7, 2)).astype(np.float32), y=np.arange(7) % 2)
    run = tmp_path / "run"
    assert main(["train", model, "--data", str(data), "--out", str(run), "--batch-size", "4", *TINY, *extra]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--quiet", "--n", "64"]) == 0
    report = json.loads((run / "eval" / "report.json").read_text())
    assert any("held-out part holds only" in note for note in report["notes"])
    assert not {"frechet", "precision", "recall"} & {row["key"] for row in report["metrics"]}
    if not images:  # points without modes: the note does not point at rows the report lacks
        assert any("judge by precision, against the real-data floor" in note for note in report["notes"])


def test_eval_refuses_data_that_changed_since_the_run_was_trained(tmp_path, capsys):
    """Replaced data gave a full report (and a note that the test part 'was seen in training') of other data."""
    rng = np.random.default_rng(0)
    data = tmp_path / "points.npz"
    x, y = rng.normal(size=(300, 2)).astype(np.float32), np.arange(300) % 3
    np.savez(data, x=x, y=y, class_names=np.array(["a", "b", "c"]))
    run = tmp_path / "run"
    small = ["--latent-dim", "2", "--g-hidden", "8", "--d-hidden", "8", "--batch-size", "30", *TINY]
    assert main(["train", "cgan", "--data", str(data), "--out", str(run), *small]) == 0
    np.savez(data, x=10 * x[:200], y=y[:200], class_names=np.array(["a", "b", "c"]))
    capsys.readouterr()
    assert main(["eval", str(run), "--quiet", "--no-save"]) == 2
    err = capsys.readouterr().err
    assert "the data changed since the run was trained (300 samples then, 200 now)" in err and str(data) in err
    np.savez(data, x=x, y=y, class_names=np.array(["a", "c", "b"]))  # same size, labels that mean other classes
    assert main(["eval", str(run), "--quiet", "--no-save"]) == 2
    assert "label 1 was 'b', now 'c'" in capsys.readouterr().err
    np.savez(data, x=x, y=y, class_names=np.array(["a", "b", "c"]))  # as trained: evaluated
    assert main(["eval", str(run), "--quiet", "--no-save"]) == 0


def test_the_evaluation_classifier_is_the_same_network_whatever_the_thread_count(tmp_path, bars_npz):
    """Frechet distance and KID are measured in its features: the same data must give the same metric space."""
    import torch

    from gan_studio.evaluate.classifier import train_classifier

    reference = reference_data(str(bars_npz), image_size=16, channels=1)
    threads = torch.get_num_threads()
    weights = []
    try:
        for count in (2, 1):
            torch.set_num_threads(count)
            net = train_classifier(reference, tmp_path / f"threads-{count}.pt").net
            weights.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
            assert torch.get_num_threads() == count  # the process's setting is left as it was
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(weights[0], weights[1])


def test_a_held_out_part_too_small_to_tell_noise_from_data_gets_no_distances(tmp_path, capsys):
    """100 points: 20 held out, more than k but too few (noise scored 100 % precision on 8): a note, no rows."""
    data = tmp_path / "hundred.npz"
    np.savez(data, x=np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32))
    run = _train(tmp_path, "gan", data, "--latent-dim", "2", "--g-hidden", "8", "--d-hidden", "8")
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "200", "--json", "--quiet", "--no-save"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert any("held-out part holds only 20 samples, fewer than 50" in note for note in report["notes"])
    assert not {"frechet", "precision", "recall"} & {row["key"] for row in report["metrics"]}


def test_a_run_trained_on_the_training_part_of_a_set_without_a_test_split_is_evaluated_on_the_rest(tmp_path, bars_npz):
    """As benchmarks/quality.py trains on MNIST's 8k part when only the 10k test set is at hand."""
    from gan_studio.data import load_dataset
    from gan_studio.data.splits import holdout_split
    from gan_studio.engine.settings import configs_from_values
    from gan_studio.engine.trainer import Trainer
    from gan_studio.evaluate.report import evaluate_run

    full = load_dataset(str(bars_npz), image_size=32, value_range=(-1.0, 1.0))
    train_part = full.subset(holdout_split(len(full))[0])
    values = {"data": str(bars_npz), "steps": 2, "batch_size": 30, "ngf": 8, "ndf": 8, "latent_dim": 8,
              "sample_every": 0, "checkpoint_every": 0}  # fmt: skip
    _, train_config, model_config = configs_from_values("cdcgan", values)
    trainer = Trainer.new("cdcgan", model_config, train_config, out=tmp_path / "run", dataset=train_part)
    list(trainer)
    report = evaluate_run(tmp_path / "run", n=100, write=False)
    assert report["reference"]["train"] == len(train_part) and not report["reference"]["test_seen_in_training"]


def test_test_samples_sets_how_many_test_samples_the_vae_likelihoods_average(tmp_path, capsys):
    """--test-samples N: the ELBO and IWAE rows average N test samples (500 by default), and their ± shrinks as
    1/sqrt(N): the way to a likelihood precise enough to tell two runs apart (review s14W)."""
    run = _train(tmp_path, "vae", "moons", "--latent-dim", "2", "--hidden", "16")
    rows = {}
    for count in (40, 1000):
        capsys.readouterr()
        assert main(["eval", str(run), "--n", "300", "--k", "4", "--quiet", "--no-save", "--json",
                     "--test-samples", str(count)]) == 0  # fmt: skip
        rows[count] = {row["key"]: row for row in json.loads(capsys.readouterr().out)["metrics"]}
        assert f"{count:,} samples)" in rows[count]["neg_elbo"]["label"]
    assert rows[40]["neg_elbo"]["spread"] > 2 * rows[1000]["neg_elbo"]["spread"]
    assert main(["eval", str(run), "--test-samples", "5"]) == 2  # fewer than 10 cannot give a standard error
    assert "--test-samples" in capsys.readouterr().err


def test_each_checkpoint_and_seed_keeps_its_report(tmp_path, capsys):
    """report.json is the latest; RUN/eval/step-N-seed-S.json keeps each (checkpoint, seed), so evaluating seeds
    0, 1, 2 or an earlier checkpoint no longer leaves only the last report (review s14W)."""
    run = _train(tmp_path, "gan", "ring8", "--latent-dim", "2", "--g-hidden", "16", "--d-hidden", "16",
                 "--checkpoint-every", "10")  # fmt: skip
    for extra in (["--seed", "0"], ["--seed", "1"], ["--from", "step-10", "--seed", "1"]):
        assert main(["eval", str(run), "--n", "300", "--quiet", *extra]) == 0
    table = capsys.readouterr().out
    kept = {p.name: json.loads(p.read_text()) for p in (run / "eval").glob("step-*-seed-*.json")}
    assert set(kept) == {"step-20-seed-0.json", "step-20-seed-1.json", "step-10-seed-1.json"}
    assert [(r["step"], r["seed"]) for r in kept.values()] == [(int(n.split("-")[1]), int(n.split("-")[3][0]))
                                                               for n in kept]  # fmt: skip
    latest = json.loads((run / "eval" / "report.json").read_text())
    assert (latest["step"], latest["seed"]) == (10, 1) and latest == kept["step-10-seed-1.json"]
    assert f"copy: {run / 'eval' / 'step-10-seed-1.json'}" in table

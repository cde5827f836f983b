"""The training-health advisor on metric streams recorded from real training runs (tests/data/advisor/).

Each stream was recorded with tests/data/advisor/record.py, which trains exactly as `gan-studio
train` does and adds the health signals the trainer is meant to log (diversity, active units);
streams.json holds each one's command. The advisor must flag the condition each stream shows, at
about the right step, and stay silent on the healthy runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tiny_runs import make_trainer

from gan_studio.cli import main
from gan_studio.engine.trainer import Trainer
from gan_studio.evaluate.advisor import Advisor, Finding, advise, advise_run, latest_advice
from gan_studio.evaluate.callbacks import default_callbacks
from gan_studio.evaluate.health import active_units, health_metrics, sample_diversity
from gan_studio.files import append_line
from gan_studio.models import DCGANConfig, VAEConfig, create_model
from gan_studio.models.base import DataInfo
from gan_studio.store.rundir import RunDir

STREAMS = Path(__file__).parent / "data" / "advisor"
MANIFEST = json.loads((STREAMS / "streams.json").read_text())


def stream(name: str) -> list[dict]:
    return [json.loads(line) for line in (STREAMS / f"{name}.jsonl").read_text().splitlines()]


def findings(name: str, drop: tuple[str, ...] = ()) -> list[Finding]:
    entry = MANIFEST[name]
    records = [{k: v for k, v in r.items() if k not in drop} for r in stream(name)]
    return advise(records, entry["family"], entry.get("model_config"))


def test_every_stream_is_recorded_with_its_command():
    names = {p.stem for p in STREAMS.glob("*.jsonl")}
    assert names == set(MANIFEST)
    for name, entry in MANIFEST.items():
        assert entry["command"].startswith("gan-studio train"), name
        assert len(stream(name)) >= 50, name


@pytest.mark.parametrize("name", ["healthy-dcgan-shapes", "healthy-vae-moons"])
def test_silent_on_healthy_runs(name):
    assert findings(name) == []


def test_a_healthy_2d_run_at_equilibrium_gets_only_that_information():
    """training/gan-ring8.toml (R1 and an EMA of G) reaches D(x) ~= D(G(z)) ~= 1/2: nothing is wrong, and the
    advisor says only that, as information."""
    found = findings("healthy-gan-ring8")
    assert [(f.code, f.severity) for f in found] == [("equilibrium", "info")]


def test_silent_on_the_default_run_without_the_new_signals():
    """What today's trainer logs (no diversity): still nothing to say about the default run."""
    assert findings("healthy-dcgan-shapes", drop=("diversity",)) == []


def codes(found: list[Finding]) -> list[str]:
    return [f.code for f in found]


def first(found: list[Finding], code: str) -> Finding:
    return next(f for f in found if f.code == code)


def test_d_overpowering_g_is_flagged_with_what_to_change():
    found = findings("d-overpowering-gan-ring8")  # --lr-d 0.01 --d-steps 5
    assert codes(found)[0] == "d_overpowering"
    f = first(found, "d_overpowering")
    assert f.severity == "warning" and 50 <= f.step <= 200
    assert "D(x) 0.9" in f.message and "gradient" in f.message
    assert "d_steps 5 -> 1" in f.action and "lr_d 0.01 -> 0.0002" in f.action
    records = [r for r in stream("d-overpowering-gan-ring8") if "d_real" in r and r["step"] >= f.step][:5]
    assert all(r["d_real"] > 0.8 and r["d_fake"] < 0.2 for r in records)


def test_mode_collapse_is_flagged_from_diversity_and_from_mode_coverage():
    found = findings("mode-collapse-gan-ring8")  # lr_g and lr_d raised to 0.02 at step 1000 (live change)
    assert codes(found) == ["mode_collapse"]
    assert 1000 < found[0].step <= 1100 and "diversity" in found[0].message
    without_diversity = findings("mode-collapse-gan-ring8", drop=("diversity",))
    assert codes(without_diversity) == ["mode_collapse"]
    assert 1000 < without_diversity[0].step <= 1200 and "modes" in without_diversity[0].message


def test_oscillation_is_flagged():
    found = findings("oscillation-gan-ring8")  # tiny G and D, Adam beta1 0.9, lr 0.01
    f = first(found, "oscillation")
    assert f.severity == "warning" and "swings between" in f.message and "beta1" in f.action
    assert 60 <= period_of(f) <= 130  # its swings: lows at steps 80, 160, 270, highs at 110, 190 (every ~90 steps)


def period_of(finding: Finding) -> float:
    return float(finding.message.split("about every ")[1].split(" steps")[0])


def test_an_oscillation_that_starts_late_is_timed_by_its_own_swings():
    """Steady for 600 steps, then swinging every 120 steps (a rate raised mid-run): the period said is the swings',
    not the whole 40-record window's span over the turns counted (it said 'about every 360 steps' for flips ~40 steps
    apart: review s15Y #10)."""
    import math

    records = [{"step": 20 * i, "d_real": 0.6, "d_fake": 0.5 + 0.002 * (-1) ** i} for i in range(1, 31)]
    records += [{"step": 20 * i, "d_real": 0.6, "d_fake": 0.5 + 0.45 * math.sin(2 * math.pi * (i - 30) / 6)}
                for i in range(31, 50)]  # fmt: skip
    f = first(advise(records, "gan"), "oscillation")
    assert 100 <= period_of(f) <= 140 and f.step >= 500


def test_posterior_collapse_is_flagged_from_active_units_and_from_kl():
    found = findings("posterior-collapse-vae-moons")  # beta raised to 20 at step 1000 (live change)
    assert codes(found) == ["posterior_collapse"]
    assert 1000 < found[0].step <= 1100 and "0 of 4 latent units" in found[0].message
    assert "beta (20 -> 1)" in found[0].action
    kl_only = findings("posterior-collapse-vae-moons", drop=("active_units",))
    assert codes(kl_only) == ["posterior_collapse"] and "KL" in kl_only[0].message


def test_a_blow_up_is_flagged_where_it_starts():
    found = findings("blow-up-gan-ring8")  # lr 0.03 with beta1 0.9: losses run away from step ~820
    f = first(found, "blow_up")
    assert f.severity == "error" and f.step == 820 and f.message.startswith("D loss is blowing up")  # as plots name it
    at_820 = next(r["d_loss"] for r in stream("blow-up-gan-ring8") if r["step"] == 820)
    assert f"blowing up: {at_820:.4g}," in f.message  # the value of the step it names (it quoted the next record's)


def test_a_run_broken_from_its_first_step_is_flagged_as_blowing_up():
    """lr 1 for G and D with beta1 0: D's and G's losses are 1e3-1e8 from the first record on, swinging (G's now
    and then 0). Compared only with its own usual size the run never counted as blowing up, and neither `runs
    --advice` nor the app had anything to say (review s17 #1); beyond any healthy bce value, it is."""
    found = findings("broken-from-start-gan-ring8")
    f = first(found, "blow_up")
    assert found[0] == f and f.severity == "error" and f.step == 10  # marked at the first logged step
    assert "is blowing up" in f.message and "beyond 100 since the first logged step" in f.message
    assert "lr_g 1 -> 0.1, lr_d 1 -> 0.1" in f.action and "start again" in f.action


def test_the_absolute_loss_bound_judges_only_losses_whose_healthy_values_are_bounded():
    """A Wasserstein critic's loss (or any loss the bound does not know) is unbounded: a huge one is no blow-up by
    itself; a VAE's loss is in nats per sample, thousands for large images; a D overpowering G for a few records
    (G's loss up to 68) is not a blow-up."""
    entry = MANIFEST["broken-from-start-gan-ring8"]
    records = stream("broken-from-start-gan-ring8")[:30]
    assert "blow_up" in codes(advise(records, "gan", entry["model_config"]))
    assert "blow_up" not in codes(advise(records, "gan", {**entry["model_config"], "loss": "wasserstein"}))
    vae = [{"step": 10 * i, "loss": 3000.0 + i, "recon": 2990.0 + i, "kl": 10.0} for i in range(1, 60)]
    assert advise(vae, "vae") == []
    assert "blow_up" not in codes(findings("d-overpowering-gan-ring8"))


def test_a_training_broken_from_its_first_step_is_advised_live_and_in_runs(tmp_path, capsys):
    """The same advisor runs in the trainer (advice events: the app's health line) and in `runs --advice`."""
    from gan_studio.state.run_state import RunState

    out = tmp_path / "runs" / "broken"
    assert main(["train", "gan", "--data", "ring8", "--steps", "30", "--log-every", "5", "--lr-g", "1", "--lr-d",
                 "1", "--beta1", "0", "--sample-every", "0", "--out", str(out), "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    assert [(a.code, a.severity) for a in RunState.load(out).advice][:1] == [("blow_up", "error")]
    assert [f.code for f in advise_run(out)][:1] == ["blow_up"]  # from metrics, for runs that logged none
    assert main(["runs", str(tmp_path / "runs"), "--advice"]) == 0
    assert "is blowing up" in capsys.readouterr().out


def test_hinge_loss_runs_are_not_taken_for_blow_ups():
    """Hinge losses (Lim & Ye 2017) live on another scale than the BCE ones the blow-up rule was tuned on: D's
    loss starts near 3 and settles near 0.5 or 2, G's wanders around 0 and goes negative. Neither a healthy hinge
    DCGAN (the default shapes recipe with --loss hinge: silent) nor a hinge ring8 GAN (reaches 8 modes, 87 %
    high quality; its early transient collapse at modes 0 is real) may be reported as blowing up."""
    assert findings("healthy-hinge-dcgan-shapes") == []
    ring8 = stream("hinge-gan-ring8")
    assert min(r["g_loss"] for r in ring8 if "g_loss" in r) < 0 and ring8[-1]["modes"] == 8
    found = findings("hinge-gan-ring8")
    assert "blow_up" not in codes(found) and all(f.severity != "error" for f in found)
    assert first(found, "mode_collapse").step < 1500  # the modes-0 stretch, not the converged end


def test_the_theorys_end_point_is_information_not_a_problem():
    found = findings("equilibrium-gan-moons")
    assert codes(found) == ["equilibrium"] and found[0].severity == "info"
    assert "1/2" in found[0].message


def test_one_report_per_episode_and_a_new_one_after_it_clears():
    advisor = Advisor("vae")
    healthy = [{"step": 10 * i, "loss": 5.0, "recon": 4.0, "kl": 1.0} for i in range(1, 31)]
    collapsed = [{"step": 310 + 10 * i, "loss": 5.0, "recon": 5.0, "kl": 0.001} for i in range(40)]
    again = [{"step": 800 + 10 * i, "loss": 5.0, "recon": 4.0, "kl": 1.0} for i in range(30)]
    found = [f for r in healthy + collapsed + again + collapsed for f in advisor.observe(r)]
    assert codes(found) == ["posterior_collapse", "posterior_collapse"]  # once per episode, not every record
    assert found[0].step == 310  # where KL fell, not where its median did


def test_records_the_advisor_cannot_use_are_ignored():
    advisor = Advisor("gan")
    junk = [
        {},
        {"step": "3"},
        {"step": True},
        {"step": 5, "d_real": "nan", "g_loss": float("inf")},
        {"step": 6, "d_fake": None},
    ]
    assert [f for r in junk for f in advisor.observe(r)] == []
    with pytest.raises(ValueError):
        Advisor("diffusion")


def append(path, record: dict) -> None:
    """One raw line, as another writer (or an older version) may have left it."""
    append_line(path, json.dumps(record))


def test_findings_round_trip_through_events_and_runs_shows_the_latest(tmp_path, capsys):
    run = RunDir(tmp_path / "runs" / "gan-ring8-1")
    run.create()
    run.write_info({"model": "gan", "dataset": {"name": "ring8"}, "status": "running", "created": 1.0, "step": 1500,
                    "model_config": MANIFEST["d-overpowering-gan-ring8"]["model_config"]})  # fmt: skip
    for record in stream("d-overpowering-gan-ring8"):
        append(run.metrics_file, record)
    found = advise_run(run.path)
    assert codes(found)[0] == "d_overpowering"
    for finding in found:
        append(run.events_file, finding.to_event())
    append(run.events_file, {"type": "checkpoint", "step": 1500})
    assert latest_advice(run.path) == found
    assert main(["runs", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert f"advice: step {found[-1].step} {found[-1].severity}: {found[-1].message}"[:100] in out
    assert out.count("advice:") == 1
    assert main(["runs", str(tmp_path / "runs"), "--advice"]) == 0
    out = capsys.readouterr().out
    assert out.count("advice:") == len(found)
    unwrapped = " ".join(out.split())
    assert all(" ".join(finding.action.split()) in unwrapped for finding in found)  # whole, remedies included


def test_runs_computes_advice_for_runs_that_logged_none(tmp_path, capsys):
    run = RunDir(tmp_path / "ws" / "old-run")
    run.create()
    run.write_info({"model": "vae", "status": "finished", "created": 1.0, "step": 2000})
    for record in stream("posterior-collapse-vae-moons"):
        append(run.metrics_file, record)
    assert latest_advice(run.path) == []
    assert main(["runs", str(tmp_path / "ws")]) == 0
    assert "advice" not in capsys.readouterr().out  # only logged advice, unless asked
    assert main(["runs", str(tmp_path / "ws"), "--advice"]) == 0
    assert "advice (from metrics): step" in capsys.readouterr().out


def test_malformed_advice_events_are_skipped(tmp_path):
    run = RunDir(tmp_path / "r")
    run.create()
    append(run.events_file, {"type": "advice", "step": "x", "code": "blow_up"})
    append(run.events_file, {"type": "advice", "step": 3, "code": "blow_up", "severity": "error", "message": "m",
                      "action": "a", "metrics": "not a list"})  # fmt: skip
    assert latest_advice(run.path) == [Finding("blow_up", 3, "error", "m", "a", ())]
    assert latest_advice(tmp_path / "missing") == []


# --- the health signals --------------------------------------------------------------------------------


def test_sample_diversity_measures_how_alike_samples_are():
    torch.manual_seed(0)
    spread = torch.randn(200, 3, 8, 8)
    assert sample_diversity(spread) == pytest.approx(2**0.5, rel=0.05)  # sqrt(2) x the per-value std
    assert sample_diversity(spread * 0.1) == pytest.approx(0.1 * sample_diversity(spread), rel=1e-6)
    assert sample_diversity(spread[:1].repeat(50, 1, 1, 1)) == pytest.approx(0.0, abs=1e-7)
    two = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    assert sample_diversity(two) == pytest.approx((25 / 2) ** 0.5)  # RMS per value of the one pair
    assert sample_diversity(torch.tensor([[0.0], [float("nan")]])) != sample_diversity(two)
    with pytest.raises(ValueError):
        sample_diversity(torch.zeros(1, 4))


def test_active_units_counts_dimensions_the_encoder_uses():
    mu = torch.zeros(100, 5)
    mu[:, 0] = torch.linspace(-2, 2, 100)
    mu[:, 3] = torch.linspace(0, 0.5, 100)  # variance ~0.022 > 0.01
    mu[:, 4] = torch.linspace(0, 0.2, 100)  # variance ~0.0034: inactive
    assert active_units(mu) == 2
    with pytest.raises(ValueError):
        active_units(torch.zeros(1, 5))


def test_health_metrics_of_real_models_leave_them_as_they_were():
    torch.manual_seed(0)
    gan = create_model("dcgan", DCGANConfig(latent_dim=8, ngf=8, ndf=8), DataInfo("images", (1, 32, 32)))
    gan.train()
    before = {k: v.clone() for k, v in gan.state_dict().items()}
    z = torch.randn(16, 8)
    rng = torch.get_rng_state()
    values = health_metrics(gan, z)
    assert set(values) == {"diversity"} and values["diversity"] >= 0
    assert gan.training and torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(before[k], v) for k, v in gan.state_dict().items())  # BatchNorm stats untouched
    vae = create_model("cvae", VAEConfig(latent_dim=4), DataInfo("points", (2,), 2, ["a", "b"]))
    y = torch.eye(2)[torch.arange(64) % 2]
    values = health_metrics(vae, torch.randn(64, 4), y, torch.randn(64, 2), y)
    assert set(values) == {"diversity", "active_units"} and 0 <= values["active_units"] <= 4


def test_training_logs_health_signals_and_records_advice_as_events(tmp_path, monkeypatch, capsys):
    """The trainer's callbacks: diversity at each logged step, advice in events.jsonl, on the CLI, in RunState."""
    from gan_studio.evaluate import callbacks
    from gan_studio.state.run_state import RunState

    real_observe = Advisor.observe

    def observe(self, record):  # a real advisor, plus one finding on the record of step 10
        found = real_observe(self, record)
        if record.get("step") == 10 and "d_loss" in record:
            found.append(Finding("d_overpowering", 8, "warning", "D wins", "lower lr_d", ("d_real", "d_fake")))
        return found

    monkeypatch.setattr(callbacks.Advisor, "observe", observe)
    out = tmp_path / "run"
    assert main(["train", "gan", "--data", "ring8", "--steps", "20", "--log-every", "5", "--g-hidden", "8",
                 "--d-hidden", "8", "--sample-every", "0", "--out", str(out), "--quiet"]) == 0  # fmt: skip
    assert "advice at step 8: D wins. Lower lr_d" in capsys.readouterr().err  # two sentences, not run together
    run = RunDir(out)
    assert [r["step"] for r in run.read_metrics() if "diversity" in r] == [5, 10, 15, 20]
    advice = [e for e in run.read_events() if e["type"] == "advice"]
    assert [(a["step"], a["code"], a["metrics"]) for a in advice] == [(8, "d_overpowering", ["d_real", "d_fake"])]
    state = RunState.load(out)
    assert [(a.code, a.action) for a in state.advice] == [("d_overpowering", "lower lr_d")]


# D (32 wide, 2 steps each, lr 0.01) overpowers G (8 wide, lr 1e-4): G's loss climbs from step 60, said at step 80
OVERPOWERED = {"d_hidden": 32, "g_hidden": 8, "lr_d": 0.01, "lr_g": 1e-4, "d_steps": 2, "log_every": 5,
               "checkpoint_every": 50}  # fmt: skip


def overpowered_run(out: Path, steps: int, stop_at: int | None = None) -> Trainer:
    """A run of OVERPOWERED trained to `steps` (stopped at `stop_at` without its checkpoint, as a kill leaves it)."""
    trainer = make_trainer(out, **OVERPOWERED, steps=steps, callbacks=default_callbacks())
    for _event in trainer:
        if trainer.step == stop_at:
            break
    trainer.lock.release()
    return trainer


def advice_of(run: Path) -> list[Finding]:
    return [f for f in map(Finding.from_event, RunDir(run).read_events()) if f is not None]


def test_a_stopped_and_resumed_run_gets_the_advice_of_a_run_never_stopped(tmp_path):
    """The condition began before the stop (G's loss was lowest at the start), and held across it (review s17C)."""
    never_stopped = advice_of(overpowered_run(tmp_path / "a", steps=100).run.path)
    assert [(f.code, f.step) for f in never_stopped] == [("d_overpowering", 60)]
    overpowered_run(tmp_path / "b", steps=70)  # stopped at 70 (a checkpoint), in the middle of the condition
    assert advice_of(tmp_path / "b") == []
    for _event in Trainer.from_checkpoint(tmp_path / "b", {"steps": 100}, callbacks=default_callbacks()):
        pass
    assert advice_of(tmp_path / "b") == never_stopped


def test_a_run_killed_after_its_advice_says_it_once_when_resumed(tmp_path):
    """Killed at step 90, after the advice of step 80 and 40 steps after its checkpoint: the resume logs steps 55 to
    90 again, without saying again what events.jsonl already holds (nor anything before step 50 again)."""
    never_stopped = advice_of(overpowered_run(tmp_path / "a", steps=100).run.path)
    overpowered_run(tmp_path / "b", steps=100, stop_at=90)
    assert advice_of(tmp_path / "b") == never_stopped
    resumed = Trainer.from_checkpoint(tmp_path / "b", {"steps": 100}, callbacks=default_callbacks())
    assert resumed.step == 50
    for _event in resumed:
        pass
    assert advice_of(tmp_path / "b") == never_stopped


def equilibrium_with_live_evaluations(qualities: list[float]) -> list[Finding]:
    """D(x) ~= D(G(z)) ~= 1/2 from the start over 400 steps, with live evaluations (--eval-every 100) of these
    high-quality shares."""
    advisor = Advisor("gan")
    found = []
    for step in range(10, 410, 10):
        found += advisor.observe({"step": step, "d_loss": 1.38, "g_loss": 0.69, "d_real": 0.5, "d_fake": 0.49})
        if step % 100 == 0 and step // 100 <= len(qualities):
            found += advisor.observe({"step": step, "modes": 8, "high_quality": qualities[step // 100 - 1]})
    return [f for f in found if f.code == "equilibrium"]


def test_equilibrium_from_the_start_reads_the_live_evaluation_when_there_is_one():
    """The project's own ring8 recipes were told to give D more capacity while covering 8 of 8 modes (s12P)."""
    (matched,) = equilibrium_with_live_evaluations([0.96])
    assert "finds 8 modes, 96% high-quality samples: G matched the data early" in matched.message
    assert matched.action.startswith("nothing to fix")
    (unknown,) = equilibrium_with_live_evaluations([])  # no live evaluation: both readings stay open
    assert "or D is too weak" in unknown.message and "give D more capacity" in unknown.action


def test_equilibrium_while_the_samples_still_improve_says_nothing_yet():
    """Every 2D run was told at step 400 'G matched the data at once ... or D is too weak', also with 2 % good samples
    that went on to 97 % (review s15Y #11). While the live evaluation's quality rises, it is too early to judge D;
    when it stays poor, D is too weak, and the finding says so with the figures."""
    assert equilibrium_with_live_evaluations([0.02, 0.10, 0.25, 0.40]) == []
    (stuck,) = equilibrium_with_live_evaluations([0.02, 0.03, 0.02, 0.03])
    assert "finds 8 modes, 2% high-quality samples, no better than 2 evaluations ago: D is too weak" in stuck.message
    assert "or D is too weak" not in stuck.message and "give D more capacity" in stuck.action

"""The training-health advisor: reads a run's metric records and says, in words, what is going wrong.

Conditions (each a `Finding` with a code, the step to mark on the plots, a message and an action):

- `d_overpowering` (GAN): D(x) -> 1, D(G(z)) -> 0 and G's loss climbing. A discriminator that is
  always right is flat where the fakes are, so G gets almost no gradient and stops learning;
- `mode_collapse` (GAN): the fixed-noise samples' diversity falls well below its best, or the
  number of covered modes (ring8, grid25 with --eval-every) drops;
- `oscillation` (GAN): D(G(z)) swings back and forth over a wide range for cycles on end, the two
  players chasing each other instead of settling;
- `posterior_collapse` (VAE): the KL term falls to ~0, or no latent unit stays active (a VAE
  switching off the units it does not need is healthy): the decoder ignores z, so sampling z
  no longer changes the output;
- `blow_up` (any): a loss grows to many times its usual size: the run is about to become NaN; or (GAN with
  a loss whose healthy values are bounded: BCE, hinge) D's or G's loss stays far beyond any healthy value,
  which also catches a run broken from its first step (its own usual size is then huge);
- `equilibrium` (GAN, information): D(x) ~= D(G(z)) ~= 1/2, settled, with no problem active: the
  end point the theory predicts (p_g = p_data), not a problem (the message says whether D had
  learned to tell them apart first, or was at 1/2 all along, which may also be a D too weak; a live
  evaluation tells the two apart, and while its quality still rises nothing is said yet).

Each condition is reported once per episode: it must hold on several consecutive records before it
is reported, and must be gone for a while before it can be reported again.

API (Qt-free; the app, the trainer and `gan-studio runs` call these):

    advisor = Advisor("gan", config=model_config_dict)   # or Advisor.for_run(run_info)
    for record in records:                                 # dicts as in metrics.jsonl
        for finding in advisor.observe(record):            # usually []
            log(finding.to_event())                        # {"type": "advice", step, code, ...}
    advise(records, "gan") -> list[Finding]                # a whole recorded stream
    advise_run(RUN) -> list[Finding]                       # RUN/metrics.jsonl with run.json's family
    latest_advice(RUN) -> list[Finding]                    # the advice events logged in RUN/events.jsonl

Metrics read: d_real, d_fake, g_loss, d_loss (GAN); loss, recon, kl (VAE); and when logged
diversity and active_units (gan_studio.evaluate.health) and modes (gan_studio.evaluate.live).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gan_studio.metric_names import metric_label
from gan_studio.store.jsonl import tail_records
from gan_studio.store.rundir import RunDir

SEVERITIES = ("info", "warning", "error")
CODES = ("d_overpowering", "mode_collapse", "oscillation", "posterior_collapse", "blow_up", "equilibrium")
ADVICE_EVENT = "advice"  # the "type" of advice events in events.jsonl
HISTORY = 200  # records kept per metric
# the most records an advisor reads again after the fact (the newest): a resumed run's, and `runs --advice` of a run
# that logged none. A run of up to this many gets exactly the advice of the run never stopped; ~0.2 ms each, so a
# million records do not take minutes (and gigabytes, read all at once: review s18H #3)
REPLAYED_RECORDS = 20_000

# thresholds (records are metrics.jsonl lines, logged every log_every steps)
RECENT = 5  # records in the "recent" median that smooths batch noise
D_CONFIDENT = 0.9  # D(x) at least this, D(G(z)) at most 1 - this: D is (almost) always right
G_CLIMB = 0.3  # G's recent loss this much (nats) above its loss before D took over
COLLAPSE_FRACTION = 0.5  # diversity below this fraction of its best: the samples became alike
DIVERSITY_WARMUP = 10  # records before the best diversity counts (G starts from noise)
OSCILLATION_WINDOW = 40  # records searched for swings
OSCILLATION_SWING = 0.15  # smallest D(G(z)) move (smoothed) that counts as a swing
OSCILLATION_NOISE = 5.0  # ... and it must exceed this many standard deviations of the smoothed batch noise
OSCILLATION_REVERSALS = 4  # swings that change direction: two full cycles
KL_FLOOR = 0.05  # nats per sample: below this q(z|x) is the prior
VAE_WARMUP = 20  # records before a VAE's KL is judged (it starts near 0)
BLOW_UP_FACTOR = 10.0  # a loss this many times its usual size
BLOW_UP_BASE = 50  # records of the loss's usual size
BLOW_UP_RECENT = 2  # consecutive records that must all exceed it (one spike is not a blow-up)
# The bounded GAN losses (models/gan_losses.py: BCE with either G objective, hinge) are each at most about the size
# of D's logits (softplus(x) <= |x| + log 2, relu(1 + x) <= |x| + 1), two such terms for D. A healthy D's logits stay
# within ~+-20 (sigmoid(17) is already 1 in float32): the recorded streams peak at 8 (healthy) and at 68 on a D
# overpowering G for three records (tests/data/advisor). Beyond 100 on several records in a row, the logits have run
# far past any D that still learns: the weights are running away. A Wasserstein critic's loss is unbounded: a loss
# not named here is never judged by this bound.
BOUNDED_LOSSES = ("bce", "hinge")  # GAN config `loss` names whose healthy D and G losses stay below LOSS_BOUND
LOSS_BOUND = 100.0  # D's or G's loss beyond this (either sign) is no healthy value
LOSS_BOUND_RECORDS = 3  # consecutive records beyond it (a swing back below it ends the run of records)
EQUILIBRIUM_TOLERANCE = 0.05  # |D - 1/2| below this for both D(x) and D(G(z))
EQUILIBRIUM_SEPARATION = 0.2  # D(x) - D(G(z)) reached this earlier: D had learned to tell them apart
GOOD_HIGH_QUALITY = 0.8  # a live evaluation's share of high-quality samples that says G matched the data
EQUILIBRIUM_RECORDS = 10  # records in the equilibrium median
QUALITY_RISE = 0.02  # a live evaluation's high-quality share up this much over QUALITY_EVALS: G still improving
QUALITY_EVALS = 3  # live evaluations compared
SUSTAIN = 5  # consecutive records a condition must hold before it is reported
CLEAR = 20  # consecutive records without it before it can be reported again


@dataclass(frozen=True)
class Finding:
    """One piece of advice: what happened (message), what to do (action), where (step)."""

    code: str  # one of CODES
    step: int  # the step to mark on the plots: where the condition began
    severity: str  # "info" | "warning" | "error"
    message: str
    action: str
    metrics: tuple[str, ...] = ()  # the plotted metrics it is about (where to draw the marker)

    def to_event(self) -> dict[str, Any]:
        """The events.jsonl line: {"type": "advice", step, code, severity, message, action, metrics}."""
        return {"type": ADVICE_EVENT, **asdict(self), "metrics": list(self.metrics)}

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Finding | None:
        """The Finding of an advice event, or None when the event is not one (or is malformed)."""
        if event.get("type") != ADVICE_EVENT:
            return None
        step, texts = event.get("step"), [event.get(k) for k in ("code", "severity", "message", "action")]
        if not isinstance(step, int) or isinstance(step, bool) or not all(isinstance(t, str) for t in texts):
            return None
        metrics = event.get("metrics")
        metrics = tuple(m for m in metrics if isinstance(m, str)) if isinstance(metrics, list) else ()
        return cls(texts[0], step, texts[1], texts[2], texts[3], metrics)

    def line(self) -> str:
        """One line for a terminal: 'step 1200 warning: message -- action'."""
        return f"step {self.step} {self.severity}: {self.message} -- {self.action}"


@dataclass(frozen=True)
class _Signal:
    """A condition seen on the newest record, with the words to report it."""

    message: str
    action: str
    step: int | None = None  # where the condition began, if before the run of records that showed it


class _Series:
    """The recent values of one metric with the steps they were logged at."""

    def __init__(self):
        self.steps: deque[int] = deque(maxlen=HISTORY)
        self.values: deque[float] = deque(maxlen=HISTORY)

    def add(self, step: int, value: float) -> None:
        self.steps.append(step)
        self.values.append(value)

    def __len__(self) -> int:
        return len(self.values)

    def last(self, n: int) -> list[float]:
        return list(self.values)[-n:]

    def recent(self, n: int = RECENT) -> float:
        """Median of the last n values (batch noise smoothed away)."""
        return statistics.median(self.last(n))

    def onset(self, holds: Callable[[float], bool]) -> int | None:
        """The step of the first of the newest values for which `holds` is true all along (None if the newest is not)."""
        first = None
        for step, value in zip(reversed(self.steps), reversed(self.values), strict=True):
            if not holds(value):
                break
            first = step
        return first


class _Condition:
    """One condition's episode logic: report after SUSTAIN records in a row, re-arm after CLEAR without."""

    def __init__(self, code: str, severity: str, metrics: tuple[str, ...], check: Callable[[], _Signal | None],
                 sustain: int = SUSTAIN):  # fmt: skip
        self.code, self.severity, self.metrics, self.check, self.sustain = code, severity, metrics, check, sustain
        self.streak: list[int] = []  # steps of the current run of records showing the condition
        self.reported = False
        self.quiet = 0  # records in a row without the condition since the report

    def update(self, step: int) -> Finding | None:
        signal = self.check()
        if signal is None:
            self.streak = []
            if self.reported:
                self.quiet += 1
                if self.quiet >= CLEAR:
                    self.reported, self.quiet = False, 0
            return None
        self.quiet = 0
        self.streak.append(step)
        if self.reported or len(self.streak) < self.sustain:
            return None
        self.reported = True
        step = self.streak[0] if signal.step is None else min(self.streak[0], signal.step)
        return Finding(self.code, step, self.severity, signal.message, signal.action, self.metrics)


class Advisor:
    """Incremental advisor of one run: feed it metric records in order with `observe`."""

    def __init__(self, family: str, config: dict[str, Any] | None = None):
        if family not in ("gan", "vae"):
            raise ValueError(f"family must be 'gan' or 'vae', got {family!r}")
        self.family = family
        self.config = dict(config or {})
        self.series: dict[str, _Series] = {}
        self.step = 0
        self._best_diversity = 0.0
        self._best_modes = 0
        self._best_active = 0
        self._lowest_g_loss: float | None = None  # lowest recent median of G's loss so far
        self._separated = False  # D(x) - D(G(z)) has been wide: D learned to tell real from fake
        self._conditions: list[_Condition] = [
            _Condition("blow_up", "error", ("d_loss", "g_loss", "loss", "recon", "kl"), self._blow_up, sustain=1),
        ]
        if family == "gan":
            self._conditions += [
                _Condition("d_overpowering", "warning", ("d_real", "d_fake", "g_loss"), self._d_overpowering),
                _Condition("mode_collapse", "warning", ("diversity",), self._diversity_drop),
                _Condition("mode_collapse", "warning", ("modes",), self._modes_drop, sustain=2),
                _Condition("oscillation", "warning", ("d_fake", "d_real"), self._oscillation, sustain=1),
                _Condition("equilibrium", "info", ("d_real", "d_fake"), self._equilibrium, sustain=1),
            ]
        else:
            self._conditions.append(
                _Condition("posterior_collapse", "warning", ("kl", "active_units"), self._posterior_collapse)
            )
        self._fresh: set[str] = set()  # metrics present in the newest record

    @classmethod
    def for_run(cls, info: dict[str, Any]) -> Advisor:
        """An advisor for a run from its run.json: family from the model name, its model config."""
        from gan_studio.models import MODELS  # here: the advisor itself needs no torch

        spec = MODELS.get(str(info.get("model", "")))
        family = spec.family if spec is not None else "gan"
        config = info.get("model_config")
        return cls(family, config if isinstance(config, dict) else None)

    def observe(self, record: dict[str, Any]) -> list[Finding]:
        """Take one metrics record (a metrics.jsonl line); the findings it newly triggers."""
        step = record.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            return []
        self.step = step
        self._fresh = set()
        for name, value in record.items():
            if name != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                if math.isfinite(value):
                    self.series.setdefault(name, _Series()).add(step, float(value))
                    self._fresh.add(name)
        self._track_bests()
        found = []
        for condition in self._conditions:
            if not set(condition.metrics) & self._fresh:  # judged only on records that hold its metrics
                continue
            reported_elsewhere = any(c.reported for c in self._conditions if c.code == condition.code)
            finding = condition.update(step)
            if finding is not None and not reported_elsewhere:  # one report per episode of a code
                found.append(finding)
        return found

    # running bests ----------------------------------------------------------------------------------
    def _track_bests(self) -> None:
        diversity = self.series.get("diversity")
        if "diversity" in self._fresh and len(diversity) >= DIVERSITY_WARMUP:
            self._best_diversity = max(self._best_diversity, diversity.recent())
        if "modes" in self._fresh:
            self._best_modes = max(self._best_modes, int(self.series["modes"].values[-1]))
        if "active_units" in self._fresh:
            self._best_active = max(self._best_active, int(self.series["active_units"].recent(3)))
        if "g_loss" in self._fresh and len(self.series["g_loss"]) >= RECENT:
            recent = self.series["g_loss"].recent()
            self._lowest_g_loss = recent if self._lowest_g_loss is None else min(self._lowest_g_loss, recent)
        if {"d_real", "d_fake"} <= self._fresh:
            gap = self.series["d_real"].recent() - self.series["d_fake"].recent()
            self._separated = self._separated or gap >= EQUILIBRIUM_SEPARATION

    def _has(self, *names: str, n: int = RECENT) -> bool:
        return all(name in self._fresh and len(self.series[name]) >= n for name in names)

    # the conditions --------------------------------------------------------------------------------
    def _d_overpowering(self) -> _Signal | None:
        if not self._has("d_real", "d_fake", "g_loss"):
            return None
        d_real, d_fake = self.series["d_real"].recent(), self.series["d_fake"].recent()
        if d_real < D_CONFIDENT or d_fake > 1 - D_CONFIDENT:
            return None
        lowest, now = self._lowest_g_loss, self.series["g_loss"].recent()
        if lowest is None or now < lowest + G_CLIMB:
            return None
        action = "weaken D or strengthen G: "
        tips = []
        if int(self.config.get("d_steps", 1)) > 1:
            tips.append(f"d_steps {self.config['d_steps']} -> 1")
        lr_d, lr_g = self.config.get("lr_d"), self.config.get("lr_g")
        if isinstance(lr_d, (int, float)) and isinstance(lr_g, (int, float)) and lr_d > lr_g:
            tips.append(f"lr_d {lr_d:g} -> {lr_g:g} (lr_g's value)")
        if not tips:
            tips.append("lower lr_d (e.g. halve it) or raise lr_g")
        if self.config.get("g_loss") == "saturating":
            tips.append("use the non-saturating G loss")
        return _Signal(
            f"D overpowers G: D(x) {d_real:.2f}, D(G(z)) {d_fake:.2f}, G loss up from {lowest:.2f} to {now:.2f}; "
            "a discriminator that is always right leaves G almost no gradient to learn from",
            action + "; ".join(tips),
        )

    def _modes_drop(self) -> _Signal | None:
        if "modes" not in self._fresh or self._best_modes < 2:
            return None
        modes = int(self.series["modes"].values[-1])
        if modes > self._best_modes // 2:
            return None
        return _Signal(
            f"mode collapse: G now covers {modes} modes, down from {self._best_modes}",
            "lower the learning rates, or pack samples for D (pack 2-4, PacGAN) to punish missing modes",
        )

    def _diversity_drop(self) -> _Signal | None:
        if self._has("diversity") and self._best_diversity > 0:
            now, low = self.series["diversity"].recent(), COLLAPSE_FRACTION * self._best_diversity
            if now < low:
                return _Signal(
                    f"mode collapse: the fixed-noise samples grew alike (diversity {now:.3g}, down from "
                    f"{self._best_diversity:.3g}); G maps different z to the same few outputs",
                    "lower lr_g, or pack samples for D (pack 2-4, PacGAN); resume from a checkpoint "
                    "before the marked step",
                    step=self.series["diversity"].onset(lambda v: v < low),
                )
        return None

    def _oscillation(self) -> _Signal | None:
        if not self._has("d_fake", n=OSCILLATION_WINDOW):
            return None
        values = self.series["d_fake"].last(OSCILLATION_WINDOW)
        swing = oscillation_swing(values)
        smooth = moving_average(values, RECENT)
        reversals, first_turn, last_turn = zigzag_reversals(smooth, swing)
        if reversals < OSCILLATION_REVERSALS:
            return None
        steps = list(self.series["d_fake"].steps)[-OSCILLATION_WINDOW:]
        period = 2 * (steps[last_turn] - steps[first_turn]) / (reversals - 1)  # two turns a cycle, between the turns
        return _Signal(
            f"oscillation: D(G(z)) swings between {min(smooth):.2f} and {max(smooth):.2f} about every "
            f"{period:.0f} steps ({reversals // 2} cycles): G and D chase each other instead of settling",
            "lower both learning rates (e.g. halve them), or lower Adam's beta1 (momentum feeds the cycle)",
            step=steps[first_turn],  # the first swing's turning point
        )

    def _posterior_collapse(self) -> _Signal | None:
        # A VAE switching off the units it does not need is healthy (2D data needs 2); none at all is collapse.
        units = self.series.get("active_units")
        if self._has("active_units", n=3) and self._best_active >= 1 and units.recent(3) == 0:
            latent = self.config.get("latent_dim")
            of = f" of {latent}" if isinstance(latent, int) else ""
            return _Signal(
                f"posterior collapse: 0{of} latent units in use (there were {self._best_active}): q(z|x) is the "
                "prior, the decoder ignores z, so samples no longer depend on it",
                self._vae_action(),
                step=units.onset(lambda v: v == 0),
            )
        if self._has("kl", n=VAE_WARMUP):
            kl = self.series["kl"].recent()
            if kl < KL_FLOOR:
                return _Signal(
                    f"posterior collapse: KL {kl:.3f} nats, q(z|x) is the prior: the decoder ignores z, "
                    "so samples do not depend on the latent",
                    self._vae_action(),
                    step=self.series["kl"].onset(lambda v: v < KL_FLOOR),
                )
        return None

    def _vae_action(self) -> str:
        beta = self.config.get("beta")
        if isinstance(beta, (int, float)) and beta > 1:
            return f"lower beta ({beta:g} -> 1), or anneal it up from 0 over the first steps"
        return "lower beta (or anneal it up from 0), or use a weaker decoder"

    def _blow_up(self) -> _Signal | None:
        return self._grown_from_usual_size() or self._beyond_healthy_size()

    def _grown_from_usual_size(self) -> _Signal | None:
        for name in ("d_loss", "g_loss", "loss", "recon", "kl"):
            if name not in self._fresh or len(self.series[name]) < BLOW_UP_RECENT + RECENT:
                continue
            values = [abs(v) for v in self.series[name].last(BLOW_UP_BASE + BLOW_UP_RECENT)]
            usual = max(1.0, statistics.median(values[:-BLOW_UP_RECENT]))
            now = min(values[-BLOW_UP_RECENT:])  # large on consecutive records, not one spike
            if now > BLOW_UP_FACTOR * usual:
                start = self.series[name].values[-BLOW_UP_RECENT]  # the value of the step the finding names
                return _Signal(
                    f"{metric_label(name)} is blowing up: {start:.4g}, {abs(start) / usual:.0f} times its usual "
                    f"size {usual:.3g}: the weights are running away, and inf or NaN often follows",
                    "pause and lower the learning rate (e.g. by 10), or resume from the last checkpoint with a lower one",
                    step=self.series[name].steps[-BLOW_UP_RECENT],
                )
        return None

    def _beyond_healthy_size(self) -> _Signal | None:
        """D's or G's loss (the larger of the two at each logged step) beyond LOSS_BOUND on LOSS_BOUND_RECORDS
        records in a row, for the losses whose healthy values are bounded. Catches a run huge from its first step,
        which the comparison with the run's own usual size cannot (they swing, now D's near 0, now G's)."""
        loss = str(self.config.get("loss", "bce"))
        if self.family != "gan" or loss not in BOUNDED_LOSSES or not self._has("d_loss", "g_loss", n=1):
            return None
        newest = max(self.series[name].steps[-1] for name in ("d_loss", "g_loss"))
        if all(abs(self.series[name].values[-1]) <= LOSS_BOUND for name in ("d_loss", "g_loss")
               if self.series[name].steps[-1] == newest):  # fmt: skip
            return None  # the newest record is within the bound (the usual case: nothing to gather)
        larger: dict[int, tuple[float, str]] = {}  # step -> the larger loss logged at it, and its name
        for name in ("d_loss", "g_loss"):
            for step, value in zip(self.series[name].steps, self.series[name].values, strict=True):
                if step not in larger or abs(value) > abs(larger[step][0]):
                    larger[step] = (value, name)
        steps = sorted(larger)
        beyond = 0  # the newest records in a row beyond the bound
        while beyond < len(steps) and abs(larger[steps[-1 - beyond]][0]) > LOSS_BOUND:
            beyond += 1
        if beyond < LOSS_BOUND_RECORDS:
            return None
        onset = steps[-beyond]
        value, name = larger[onset]
        from_start = beyond == len(steps) and len(steps) < HISTORY  # every record so far: broken from the start
        rates = [f"{k} {self.config[k]:g} -> {self.config[k] / 10:g}" for k in ("lr_g", "lr_d")
                 if isinstance(self.config.get(k), (int, float)) and self.config[k] > 0]  # fmt: skip
        lower = f"lower the learning rates by 10 ({', '.join(rates)})" if rates else "lower the learning rates by 10"
        beyond_text = (
            f"since the first logged step ({beyond} records)" if from_start else f"on {beyond} records in a row"
        )
        return _Signal(
            f"{metric_label(name)} is blowing up: {value:.4g}, and D's or G's loss has been beyond {LOSS_BOUND:g} "
            f"{beyond_text}, where a healthy {loss} GAN's stays below ~20: the weights are running away, and inf or "
            "NaN often follows",
            f"{lower} and start again: the run was broken from its first steps"
            if from_start
            else f"pause and {lower}, or resume from the last checkpoint with lower ones",
            step=onset,
        )

    def _equilibrium(self) -> _Signal | None:
        if not self._has("d_real", "d_fake", n=2 * EQUILIBRIUM_RECORDS):
            return None
        if any(c.reported for c in self._conditions if c.severity != "info"):
            return None  # a D near 1/2 beside a collapsed or swinging G is no end point
        if oscillation_swing(self.series["d_fake"].last(2 * EQUILIBRIUM_RECORDS)) > OSCILLATION_SWING:
            return None  # too noisy to call settled
        smooth = moving_average(self.series["d_fake"].last(2 * EQUILIBRIUM_RECORDS), RECENT)
        if max(smooth) - min(smooth) > OSCILLATION_SWING:
            return None  # still moving
        d_real = self.series["d_real"].recent(EQUILIBRIUM_RECORDS)
        d_fake = self.series["d_fake"].recent(EQUILIBRIUM_RECORDS)
        if abs(d_real - 0.5) > EQUILIBRIUM_TOLERANCE or abs(d_fake - 0.5) > EQUILIBRIUM_TOLERANCE:
            return None
        if self._separated:
            return _Signal(
                f"equilibrium: D(x) {d_real:.2f} and D(G(z)) {d_fake:.2f}, both near 1/2 after D had learned to tell "
                "them apart: the end point the theory predicts (p_g = p_data)",
                "nothing to fix: check the samples (and `gan-studio eval`); more steps may change little",
            )
        quality = self.series.get("high_quality")
        if quality is not None and len(quality):  # the live evaluation tells the two readings apart
            modes = self.series.get("modes")
            found = f"{modes.values[-1]:.0f} modes, " if modes is not None and len(modes) else ""
            found += f"{quality.values[-1]:.0%} high-quality samples"
            if quality.values[-1] >= GOOD_HIGH_QUALITY:
                return _Signal(
                    f"equilibrium: D(x) {d_real:.2f} and D(G(z)) {d_fake:.2f}, both near 1/2 from the start, and the "
                    f"live evaluation finds {found}: G matched the data early (the end point the theory predicts)",
                    "nothing to fix; more steps may change little",
                )
            earlier = quality.last(QUALITY_EVALS)
            if len(earlier) < QUALITY_EVALS or earlier[-1] > earlier[0] + QUALITY_RISE:
                return None  # G is still getting better: too early to judge D (the 2D recipes sit at 1/2 early on)
            return _Signal(
                f"equilibrium: D(x) {d_real:.2f} and D(G(z)) {d_fake:.2f}, both near 1/2, while the live evaluation "
                f"finds {found}, no better than {QUALITY_EVALS - 1} evaluations ago: D is too weak to tell the poor "
                "samples from real ones",
                "give D more capacity (d_hidden, d_layers) or a higher lr_d; a large r1_gamma also holds D back",
            )
        return _Signal(
            f"equilibrium: D(x) {d_real:.2f} and D(G(z)) {d_fake:.2f}, both near 1/2 from the start: G matched the "
            "data at once (the end point the theory predicts), or D is too weak to tell them apart",
            "check the samples (and `gan-studio eval`); if they are poor, give D more capacity or a higher lr_d",
        )


def moving_average(values: list[float], n: int) -> list[float]:
    """Means of each n consecutive values."""
    return [statistics.fmean(values[i : i + n]) for i in range(len(values) - n + 1)]


def oscillation_swing(values: list[float]) -> float:
    """The move of the RECENT-record average that counts as a swing: OSCILLATION_SWING, or more when noisy.

    The batch noise is estimated from the median step between consecutive values (robust to the
    oscillation itself, which moves little from one record to the next).
    """
    steps = [abs(b - a) for a, b in zip(values[:-1], values[1:], strict=True)]
    noise = statistics.median(steps) / 0.6745 / math.sqrt(2)  # std of white noise from its median |difference|
    return max(OSCILLATION_SWING, OSCILLATION_NOISE * noise / math.sqrt(RECENT))


def zigzag_reversals(values: list[float], swing: float) -> tuple[int, int | None, int | None]:
    """How often `values` turn around after moving at least `swing` each way (a zigzag indicator),
    and the indices of the first and the last turning point (None without one)."""
    low = high = 0  # indices of the lowest and highest values before the first move of `swing`
    direction, extreme, reversals, first, last = 0, 0, 0, None, None
    for i, v in enumerate(values):
        if direction == 0:
            low = i if v < values[low] else low
            high = i if v > values[high] else high
            if v - values[low] >= swing:
                direction, extreme = 1, i
            elif values[high] - v >= swing:
                direction, extreme = -1, i
        elif (v - values[extreme]) * direction > 0:
            extreme = i  # still moving the same way
        elif abs(v - values[extreme]) >= swing:
            first = extreme if first is None else first
            last = extreme
            direction, extreme, reversals = -direction, i, reversals + 1
    return reversals, first, last


def advise(records: Iterable[dict[str, Any]], family: str, config: dict[str, Any] | None = None) -> list[Finding]:
    """Every finding over a whole recorded stream of metric records, in order."""
    advisor = Advisor(family, config)
    return [finding for record in records for finding in advisor.observe(record)]


def advise_run(run_path: str | Path) -> list[Finding]:
    """The findings over RUN/metrics.jsonl (its newest REPLAYED_RECORDS records, streamed), with the family and
    config from RUN/run.json."""
    run = RunDir(Path(run_path))
    advisor = Advisor.for_run(run.read_info())
    return [finding for record in deque(run.iter_metrics(), maxlen=REPLAYED_RECORDS)
            for finding in advisor.observe(record)]  # fmt: skip


def latest_advice(run_path: str | Path, tail_bytes: int = 65536) -> list[Finding]:
    """The advice events near the end of RUN/events.jsonl, oldest first ([] when there is none)."""
    found = (Finding.from_event(event) for event in tail_records(Path(run_path) / "events.jsonl", tail_bytes))
    return [finding for finding in found if finding is not None]

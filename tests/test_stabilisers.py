"""GAN stabilisers: maxout D, spectral norm, hinge loss, R1 (lazy), EMA of G, DiffAugment; each fails when off."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn as nn

from gan_studio.config import apply_values, field_specs
from gan_studio.engine import steps
from gan_studio.engine.augment import diff_augment, translation
from gan_studio.engine.ema import average_weights, ema_beta, update_ema
from gan_studio.engine.steps import discriminator_loss, gan_step, generator_loss, r1_penalty, r1_weight
from gan_studio.errors import ConfigError
from gan_studio.models import MODELS, DataInfo, create_model, default_config
from gan_studio.models.gan import Maxout

torch.set_num_threads(1)

POINTS = DataInfo("points", (2,))
IMAGES = DataInfo("images", (1, 32, 32), 6, [str(i) for i in range(6)])
STABILISERS = ("loss", "spectral_norm", "r1_gamma", "r1_every", "ema_decay", "diffaugment")


def build(name, data, **values):
    torch.manual_seed(0)
    return create_model(name, apply_values(default_config(name), values), data)


class FixedBatches:
    """The same real batch every call (and no labels)."""

    def __init__(self, x):
        self.x = x

    def __call__(self):
        return self.x, None


# every option is a documented config field that cites its paper ----------------------------------
@pytest.mark.parametrize("model", ["gan", "dcgan"])
def test_stabilisers_are_documented_config_fields_citing_their_papers(model):
    specs = {s.name: s for s in field_specs(type(default_config(model)))}
    papers = {"loss": "Miyato", "spectral_norm": "Miyato", "r1_gamma": "Mescheder", "r1_every": "Karras",
              "ema_decay": "Karras", "diffaugment": "Zhao", "lr_g": "Heusel", "lr_d": "Heusel"}  # fmt: skip
    for name, author in papers.items():
        assert author in specs[name].help, name
    if model == "gan":
        assert "Goodfellow" in specs["d_activation"].help and "Lin et al. 2018" in specs["d_activation"].help


# maxout ------------------------------------------------------------------------------------------
def test_maxout_unit_is_the_largest_of_its_linear_pieces():
    layer = Maxout(3, units=2, pieces=4)
    x = torch.randn(5, 3)
    pieces = layer.linear(x).view(5, 2, 4)
    assert torch.equal(layer(x), pieces.max(dim=2).values)
    assert not torch.equal(layer(x), pieces.mean(dim=2))


def test_maxout_discriminator_has_pacgans_layout():
    model = build("gan", POINTS, d_activation="maxout", d_hidden=200, d_layers=3, maxout_pieces=5, pack=4)
    maxouts = [m for m in model.discriminator.modules() if isinstance(m, Maxout)]
    assert len(maxouts) == 3 and all(m.units == 200 and m.pieces == 5 for m in maxouts)
    assert maxouts[0].linear.in_features == 2 * 4  # four packed 2D points
    assert not any(isinstance(m, nn.LeakyReLU) for m in model.discriminator.modules())
    assert model.discriminate(torch.randn(8, 2)).shape == (2,)


def test_normal_init_gives_pacgans_initial_weights():
    model = build("gan", POINTS, weight_init="normal", g_hidden=400, d_hidden=400)
    weights = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, nn.Linear)])
    biases = torch.cat([m.bias.flatten() for m in model.modules() if isinstance(m, nn.Linear)])
    assert abs(weights.std().item() - 0.02) < 0.001 and torch.all(biases == 0)
    default = build("gan", POINTS, g_hidden=400, d_hidden=400)
    assert not any(torch.all(m.bias == 0) for m in default.modules() if isinstance(m, nn.Linear))


# spectral norm -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, data", [("gan", POINTS), ("dcgan", IMAGES)])
def test_spectral_norm_gives_every_discriminator_layer_a_top_singular_value_near_one(name, data):
    values = {"g_hidden": 16, "d_hidden": 32} if name == "gan" else {"ngf": 8, "ndf": 8, "latent_dim": 8}

    def top_singular_values(model):
        x = torch.randn(16, *data.shape)
        for _ in range(30):  # each training-mode forward pass runs one power iteration
            model.discriminate(x)
        layers = [m for m in model.discriminator.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        return [torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item() for m in layers]

    normalised = top_singular_values(build(name, data, spectral_norm=True, **values))
    assert len(normalised) >= 3 and all(abs(s - 1) < 0.02 for s in normalised), normalised
    plain = top_singular_values(build(name, data, **values))
    assert not all(abs(s - 1) < 0.02 for s in plain), plain


def test_spectral_norm_replaces_batchnorm_in_the_dcgan_discriminator():
    with_bn = build("dcgan", IMAGES, ngf=8, ndf=8)
    with_sn = build("dcgan", IMAGES, ngf=8, ndf=8, spectral_norm=True)
    assert any(isinstance(m, nn.BatchNorm2d) for m in with_bn.discriminator.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in with_sn.discriminator.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in with_sn.generator.modules())  # G keeps its BatchNorm
    critic = build("dcgan", IMAGES, ngf=8, ndf=8, d_batchnorm=False)  # e.g. for a gradient penalty
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.discriminator.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in critic.generator.modules())
    x = torch.randn(4, *IMAGES.shape)
    alone = critic.discriminator(x[:1])  # without BatchNorm each sample's score is its own
    assert torch.allclose(critic.discriminator(x)[:1], alone, atol=1e-6)


# hinge loss --------------------------------------------------------------------------------------
def test_hinge_losses_match_their_formulas():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 3.0])
    # D: mean(max(0, 1 - real)) + mean(max(0, 1 + fake)) = (0 + 0.5 + 2) / 3 + (0 + 1 + 4) / 3
    assert discriminator_loss(real, fake, "hinge").item() == pytest.approx(2.5 / 3 + 5 / 3)
    assert generator_loss(fake, "hinge").item() == pytest.approx(-1 / 3)
    assert discriminator_loss(real, fake, "bce").item() != pytest.approx(2.5 / 3 + 5 / 3)


@pytest.mark.parametrize("name", sorted({spec.name for spec in MODELS.values() if spec.family == "gan"}))
def test_every_loss_a_gan_config_offers_has_its_formula_and_an_unknown_one_is_an_error(name):
    """A loss added to a config's choices but not to engine/steps.py would otherwise train as something else."""
    specs = {f.name: f for f in field_specs(MODELS[name].config_cls)}
    real, fake = torch.tensor([0.5, -1.0]), torch.tensor([-2.0, 3.0])
    for loss in specs["loss"].choices:
        for g_loss in specs["g_loss"].choices:
            discriminator_loss(real, fake, loss)
            generator_loss(fake, steps.generator_objective(loss, g_loss))
    saturating, non_saturating = generator_loss(fake, "saturating"), generator_loss(fake, "non-saturating")
    assert saturating.item() == pytest.approx(-torch.log1p(torch.exp(fake)).mean().item())  # log(1 - D(G(z)))
    assert non_saturating.item() == pytest.approx(torch.log1p(torch.exp(-fake)).mean().item())  # -log D(G(z))
    with pytest.raises(ValueError, match="unknown discriminator loss 'no-such-loss'"):
        discriminator_loss(real, fake, "no-such-loss")
    with pytest.raises(ValueError, match="unknown generator objective"):
        generator_loss(fake, "least-squares")


@pytest.mark.parametrize("loss", ["bce", "hinge"])
def test_gan_step_optimises_the_chosen_loss(loss):
    model = build("gan", POINTS, g_hidden=8, d_hidden=8, latent_dim=4, loss=loss)
    opt_g = torch.optim.SGD(model.generator.parameters(), lr=0.0)
    opt_d = torch.optim.SGD(model.discriminator.parameters(), lr=0.0)
    x = torch.randn(8, 2)
    torch.manual_seed(1)
    out = gan_step(model.generator, model.discriminator, opt_g, opt_d, FixedBatches(x), model.config)
    torch.manual_seed(1)
    with torch.no_grad():
        fake_logits = model.discriminate(model.generator(torch.randn(8, 4)))
        real_logits = model.discriminate(x)
    assert out["d_loss"].item() == pytest.approx(discriminator_loss(real_logits, fake_logits, loss).item(), abs=1e-6)
    g_kind = "hinge" if loss == "hinge" else "non-saturating"
    assert out["g_loss"].item() == pytest.approx(generator_loss(fake_logits, g_kind).item(), abs=1e-6)


def test_a_new_loss_is_one_table_entry_with_its_own_objective_and_logged_outputs(monkeypatch):
    """Least squares (Mao et al. 2017) added as one GANLoss entry: gan_step trains it and logs what it says,
    with no branch on its name anywhere (a critic's scores are not probabilities: review s12R)."""
    import dataclasses

    from gan_studio.models import gan_losses

    least_squares = gan_losses.GANLoss("Mao et al. 2017", lambda r, f: ((r - 1) ** 2).mean() + (f**2).mean(),
                                       generator="least-squares",
                                       outputs=lambda r, f: {"d_real_score": r.mean(), "d_fake_score": f.mean()})  # fmt: skip
    monkeypatch.setitem(gan_losses.GAN_LOSSES, "least-squares", least_squares)
    monkeypatch.setitem(gan_losses.GENERATOR_OBJECTIVES, "least-squares", lambda f: ((f - 1) ** 2).mean())
    model = build("gan", POINTS, g_hidden=8, d_hidden=8, latent_dim=4)
    model.config = dataclasses.replace(model.config, loss="least-squares")
    opt_g = torch.optim.SGD(model.generator.parameters(), lr=0.0)
    opt_d = torch.optim.SGD(model.discriminator.parameters(), lr=0.0)
    x = torch.randn(8, 2)
    torch.manual_seed(1)
    out = gan_step(model.generator, model.discriminator, opt_g, opt_d, FixedBatches(x), model.config)
    assert set(out) == {"d_loss", "g_loss", "d_real_score", "d_fake_score"}
    torch.manual_seed(1)
    with torch.no_grad():
        fake_logits = model.discriminate(model.generator(torch.randn(8, 4)))
        real_logits = model.discriminate(x)
    expected_d = ((real_logits - 1) ** 2).mean() + (fake_logits**2).mean()
    assert out["d_loss"].item() == pytest.approx(expected_d.item(), abs=1e-6)
    assert out["g_loss"].item() == pytest.approx(((fake_logits - 1) ** 2).mean().item(), abs=1e-6)
    assert out["d_real_score"].item() == pytest.approx(real_logits.mean().item(), abs=1e-6)


# R1 ----------------------------------------------------------------------------------------------
class TinyD(nn.Module):
    """D(x) = w2 . tanh(W1 x + b1) + b2: small enough to differentiate by hand."""

    def __init__(self, pack=1):
        super().__init__()
        self.pack = pack
        self.hidden = nn.Linear(2 * pack, 3)
        self.out = nn.Linear(3, 1)

    def forward(self, x, y=None):
        return self.out(torch.tanh(self.hidden(x.reshape(x.shape[0] // self.pack, -1)))).squeeze(1)


def hand_r1(d: TinyD, x: torch.Tensor) -> float:
    """mean over decisions of ||dD/dx||^2 with dD/dx = W1^T (w2 * (1 - tanh^2(W1 x + b1)))."""
    w1, b1, w2 = d.hidden.weight.detach(), d.hidden.bias.detach(), d.out.weight.detach()[0]
    packs = x.reshape(x.shape[0] // d.pack, -1)
    total = 0.0
    for row in packs:
        h = torch.tanh(w1 @ row + b1)
        grad = w1.T @ (w2 * (1 - h**2))
        total += float(grad @ grad)
    return total / len(packs)


@pytest.mark.parametrize("pack", [1, 2])
def test_r1_equals_the_hand_computed_gradient_norm(pack):
    torch.manual_seed(4)
    d = TinyD(pack)
    x = torch.randn(6, 2).requires_grad_(True)
    penalty = r1_penalty(d(x), x)
    assert penalty.item() == pytest.approx(hand_r1(d, x.detach()), rel=1e-5)
    penalty.backward()  # differentiable: it trains D
    assert d.hidden.weight.grad is not None and d.hidden.weight.grad.abs().sum() > 0


def test_r1_weight_is_half_gamma_and_lazy_steps_are_weighted_by_the_interval():
    assert [r1_weight(10.0, 1, i) for i in range(3)] == [5.0, 5.0, 5.0]
    assert [r1_weight(10.0, 4, i) for i in range(6)] == [20.0, 0.0, 0.0, 0.0, 20.0, 0.0]
    assert r1_weight(0.0, 1, 0) == 0.0


def test_gan_step_adds_the_r1_penalty_to_the_discriminator_update():
    """One SGD step of D with R1 differs from the plain step by exactly lr * grad of gamma/2 * R1."""
    torch.manual_seed(0)
    x = torch.randn(8, 2)

    def d_after_one_step(gamma, every=1, step=0):
        torch.manual_seed(0)
        d = TinyD()
        g = nn.Linear(4, 2)
        opt_d = torch.optim.SGD(d.parameters(), lr=0.1)
        opt_g = torch.optim.SGD(g.parameters(), lr=0.0)
        config = apply_values(default_config("gan"), {"latent_dim": 4, "r1_gamma": gamma, "r1_every": every})
        gan_step(lambda z, y: g(z), d, opt_g, opt_d, FixedBatches(x), config, step)
        return d.hidden.weight.detach().clone()

    torch.manual_seed(0)
    d0 = TinyD()
    xr = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(5.0 * r1_penalty(d0(xr), xr), d0.hidden.weight)
    plain, with_r1 = d_after_one_step(0.0), d_after_one_step(10.0)
    assert torch.allclose(plain - with_r1, 0.1 * grad, atol=1e-6)
    assert torch.equal(d_after_one_step(10.0, every=2, step=1), plain)  # lazy: not on odd D steps


# EMA of G ----------------------------------------------------------------------------------------
def test_ema_weights_follow_the_formula_after_three_steps():
    model = build("gan", POINTS, g_hidden=8, d_hidden=8, ema_decay=0.9)
    average, trained = model.generator_ema, model.generator
    expected = [p.detach().clone() for p in trained.parameters()]
    for step in (1, 2, 3):
        with torch.no_grad():
            for p in trained.parameters():
                p.add_(torch.randn_like(p))
        update_ema(model, 0.9, step)
        beta = min(0.9, (1 + step) / (10 + step))
        expected = [beta * e + (1 - beta) * p.detach() for e, p in zip(expected, trained.parameters(), strict=True)]
    assert ema_beta(0.9, 3) == pytest.approx(4 / 13)
    assert all(torch.allclose(a, e, atol=1e-6) for a, e in zip(average.parameters(), expected, strict=True))
    pairs = zip(average.parameters(), trained.parameters(), strict=True)
    assert not all(torch.allclose(a, p, atol=1e-3) for a, p in pairs)


def test_average_weights_is_the_convex_combination():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    before = a.weight.detach().clone()
    average_weights(a, b, 0.75)
    assert torch.allclose(a.weight, 0.75 * before + 0.25 * b.weight, atol=1e-7)


def test_ema_generator_keeps_batchnorm_statistics_of_its_own_weights():
    """Eval-mode samples of the averaged G match its training-mode (batch-statistics) samples."""
    model = build("dcgan", IMAGES, ngf=8, ndf=8, latent_dim=8, ema_decay=0.9)
    assert model.generator_ema is not None and model.sampler is model.generator_ema
    assert all(not p.requires_grad for p in model.generator_ema.parameters())
    with torch.no_grad():
        for p in model.generator.parameters():  # trained weights far from the average's
            p.mul_(3.0)
    for step in range(1, 60):
        update_ema(model, 0.9, step)
    z = torch.randn(512, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        eval_mode = model.sampler.eval()(z)  # the statistics are recomputed when the average is used
        batch_stats = model.generator_ema.train()(z)
        copied = type(model.generator_ema)(model.config, IMAGES, 0).eval()
        copied.load_state_dict(model.generator_ema.state_dict())
        for mine, theirs in zip(copied.buffers(), model.generator.buffers(), strict=True):
            mine.copy_(theirs)  # what copying the trained G's statistics would give
        with_copied = copied(z)
    assert (eval_mode - batch_stats).abs().mean() < 0.25 * (with_copied - batch_stats).abs().mean()
    assert build("gan", POINTS, g_hidden=8, d_hidden=8).generator_ema is None


def test_ema_batchnorm_statistics_are_recomputed_only_when_used_and_depend_on_the_weights_alone():
    """No generator pass per training step; the statistics used or saved are a function of the
    averaged weights (so a resumed run's equal an uninterrupted one's), and global RNG is untouched."""
    model = build("dcgan", IMAGES, ngf=8, ndf=8, latent_dim=8, ema_decay=0.9)
    norms = [m for m in model.generator_ema.modules() if isinstance(m, nn.BatchNorm2d)]
    passes = []
    model.generator_ema.register_forward_hook(lambda *_: passes.append(1))
    for step in range(1, 20):
        with torch.no_grad():
            for p in model.generator.parameters():
                p.add_(0.1 * torch.randn_like(p))
        update_ema(model, 0.9, step)
    assert passes == []  # the updates alone ran no pass of the averaged generator
    rng = torch.get_rng_state()
    saved = model.state_dict()  # a checkpoint: statistics recomputed first
    assert torch.equal(torch.get_rng_state(), rng)
    assert passes and not all(torch.equal(m.running_mean, torch.zeros_like(m.running_mean)) for m in norms)
    passes.clear()
    model.sampler  # noqa: B018 - already up to date: no second pass
    assert passes == []
    resumed = build("dcgan", IMAGES, ngf=8, ndf=8, latent_dim=8, ema_decay=0.9)
    resumed.load_state_dict(saved)
    for m in resumed.generator_ema.modules():  # spoil the loaded statistics, keep the weights
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.add_(5.0)
    resumed.ema_weights_changed()
    for key, value in resumed.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_generate_uses_the_ema_generator_when_on():
    model = build("gan", POINTS, g_hidden=8, d_hidden=8, ema_decay=0.99).eval()
    with torch.no_grad():
        for p in model.generator_ema.parameters():
            p.add_(1.0)
        z = torch.randn(5, model.latent_dim)
        assert torch.equal(model.generate(z), model.generator_ema(z))
        assert not torch.equal(model.generate(z), model.generator(z))


# DiffAugment -------------------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["translation", "color,translation", "color,translation,cutout"])
def test_diffaugment_is_differentiable(policy):
    x = torch.rand(3, 2, 8, 8, dtype=torch.float64, requires_grad=True)

    def seeded(images):
        torch.manual_seed(7)  # the same random transformation on every evaluation
        return diff_augment(images, policy)

    assert torch.autograd.gradcheck(seeded, (x,))
    seeded(x).sum().backward()
    assert x.grad.abs().sum() > 0


def test_diffaugment_applies_the_same_transform_given_the_same_random_draws():
    real = torch.rand(4, 1, 16, 16)
    fake = real.clone()
    torch.manual_seed(3)
    a = diff_augment(real, "color,translation,cutout")
    torch.manual_seed(3)
    b = diff_augment(fake, "color,translation,cutout")
    assert torch.equal(a, b) and not torch.equal(a, real)
    assert torch.equal(diff_augment(real, "off"), real)


def shifts_of(augmented: torch.Tensor, source: torch.Tensor) -> list[tuple[int, int] | None]:
    """For each image, the (dy, dx) translation that turns `source` into `augmented` (None if none does)."""
    found = []
    for a, s in zip(augmented, source, strict=True):
        match = None
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                torch.manual_seed(0)
                shifted = torch.zeros_like(s)
                src = s[:, max(0, -dy) : s.shape[1] - max(0, dy), max(0, -dx) : s.shape[2] - max(0, dx)]
                shifted[:, max(0, dy) : max(0, dy) + src.shape[1], max(0, dx) : max(0, dx) + src.shape[2]] = src
                if torch.equal(shifted, a):
                    match = (dy, dx)
        found.append(match)
    return found


def test_gan_step_augments_real_and_fake_images_alike():
    """What D sees: every real and every generated image is a translated copy, in D's and in G's phase."""
    config = apply_values(default_config("dcgan"), {"latent_dim": 8, "diffaugment": "translation"})
    d, g = nn.Sequential(nn.Flatten(), nn.Linear(256, 1)), nn.Linear(8, 256)
    seen, fakes = [], []

    def discriminator(x, y=None):
        seen.append(x.detach().clone())
        return d(x).squeeze(1)

    def generator(z, y=None):
        fakes.append(torch.tanh(g(z)).view(-1, 1, 16, 16))  # 16 px: translations of up to 2 pixels
        return fakes[-1]

    torch.manual_seed(5)
    real = torch.rand(8, 1, 16, 16) * 2 - 1
    opt_g, opt_d = torch.optim.SGD(g.parameters(), lr=0.0), torch.optim.SGD(d.parameters(), lr=0.0)
    gan_step(generator, discriminator, opt_g, opt_d, FixedBatches(real), config)
    d_real, d_fake, g_fake = seen
    fake = fakes[0].detach()
    for augmented, source in ((d_real, real), (d_fake, fake), (g_fake, fake)):
        shifts = shifts_of(augmented, source)
        assert all(s is not None for s in shifts), shifts
        assert any(s != (0, 0) for s in shifts)  # not the identity
    assert not torch.equal(d_fake, g_fake)  # G's phase draws its own transformation


def test_translation_zero_fills_and_keeps_the_shape():
    x = torch.ones(2, 3, 8, 8)
    torch.manual_seed(0)
    out = translation(x, ratio=0.25)
    assert out.shape == x.shape and set(out.unique().tolist()) <= {0.0, 1.0}


def test_diffaugment_on_points_is_a_clear_error():
    with pytest.raises(ConfigError, match="diffaugment augments images"):
        build("gan", POINTS, diffaugment="translation")


def test_defaults_leave_every_stabiliser_off():
    for model in ("gan", "cgan", "dcgan", "cdcgan"):
        config = default_config(model)
        assert (config.loss, config.spectral_norm, config.r1_gamma, config.ema_decay, config.diffaugment) == (
            "bce", False, 0.0, 0.0, "off")  # fmt: skip
        assert {s.name for s in field_specs(type(config))} >= set(STABILISERS)


# G's phase computes no gradient for D --------------------------------------------------------------
def _dcgan_steps(n: int):
    """(model, D's gradients as the D phase of the last step left them, D's gradients after that step)."""
    torch.manual_seed(3)
    model = build("dcgan", DataInfo("images", (1, 32, 32)), latent_dim=8, ngf=8, ndf=8)
    opt_g = torch.optim.Adam(model.generator.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)
    after_d_phase = []
    d_step = opt_d.step

    def record_step(*args, **kwargs):
        after_d_phase[:] = [p.grad.clone() for p in model.discriminator.parameters()]
        return d_step(*args, **kwargs)

    opt_d.step = record_step
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    for step in range(n):
        gan_step(model.generator, model.discriminator, opt_g, opt_d, FixedBatches(real), model.config, step)
    return model, after_d_phase, [p.grad for p in model.discriminator.parameters()]


def test_generator_phase_leaves_discriminator_gradients_alone_and_trains_g_exactly_the_same(monkeypatch):
    model, after_d_phase, after_step = _dcgan_steps(3)
    # G's loss flowed back through D without adding to D's gradients (nor computing them)
    assert all(torch.equal(a, b) for a, b in zip(after_d_phase, after_step, strict=True))
    assert all(p.requires_grad for p in model.discriminator.parameters())  # D trains again next step
    # and G learnt exactly what it learns when D's weight gradients are computed too
    monkeypatch.setattr(steps, "frozen", lambda discriminator: contextlib.nullcontext())
    reference, reference_after_d_phase, polluted = _dcgan_steps(3)
    assert not all(
        torch.equal(a, b) for a, b in zip(reference_after_d_phase, polluted, strict=True)
    )  # the unfrozen phase adds to them
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, reference.state_dict()[name]), name

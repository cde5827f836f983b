"""The six models: output shapes, parameter counts, losses that fall, and the loss definitions.

Parameter counts are computed from each architecture's layer formula, and two are pinned to the
published figures of the PyTorch DCGAN tutorial (G 3,576,704 and D 2,765,568 at 64 px RGB).
"""

from __future__ import annotations

import math

import pytest
import torch

from gan_studio.config import apply_values
from gan_studio.engine.steps import discriminator_loss, gan_step, generator_loss
from gan_studio.models import DataInfo, create_model, default_config, get_spec

torch.set_num_threads(1)  # tiny ops on a shared 2-core machine: threads only contend

POINTS = DataInfo("points", (2,), 8, [f"mode {i}" for i in range(8)])
SHAPES = DataInfo("images", (1, 32, 32), 6, [f"c{i}" for i in range(6)])
CLASSES = 6


def images(channels: int, size: int, classes: int = CLASSES) -> DataInfo:
    return DataInfo("images", (channels, size, size), classes, [f"c{i}" for i in range(classes)])


def build(name: str, data: DataInfo, **values):
    config = apply_values(default_config(name), values)
    torch.manual_seed(0)
    return create_model(name, config, data)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# layer formulas ----------------------------------------------------------------------------------
def linear(i: int, o: int, bias: bool = True) -> int:
    return i * o + (o if bias else 0)


def conv4(i: int, o: int, bias: bool = False) -> int:
    return i * o * 16 + (o if bias else 0)


def bn(c: int) -> int:
    return 2 * c


def mlp_gan_counts(c, data: DataInfo, k: int) -> tuple[int, int]:
    g, width = 0, c.latent_dim + k
    for _ in range(c.g_layers):
        g += linear(width, c.g_hidden) + (bn(c.g_hidden) if c.batchnorm else 0)
        width = c.g_hidden
    g += linear(width, data.flat_dim)
    d, width = 0, (data.flat_dim + k) * c.pack
    for _ in range(c.d_layers):
        d += linear(width, c.d_hidden)
        width = c.d_hidden
    return g, d + linear(width, 1)


def dcgan_counts(c, data: DataInfo, k: int) -> tuple[int, int]:
    levels = {32: 3, 64: 4}[c.image_size]
    channels = data.shape[0]
    width = c.ngf * 2 ** (levels - 1)
    g = linear(k, c.label_embed_dim, bias=False) if k else 0
    g += conv4(c.latent_dim + (c.label_embed_dim if k else 0), width) + bn(width)
    for _ in range(levels - 1):
        g += conv4(width, width // 2) + bn(width // 2)
        width //= 2
    g += conv4(width, channels)
    d, width = conv4((channels + k) * c.pack, c.ndf), c.ndf
    for _ in range(levels - 1):
        d += conv4(width, width * 2) + bn(width * 2)
        width *= 2
    return g, d + conv4(width, 1)


def vae_counts(c, data: DataInfo, k: int, architecture: str) -> tuple[int, int]:
    if architecture == "mlp":
        enc, width = 0, data.flat_dim + k
        for _ in range(c.layers):
            enc += linear(width, c.hidden)
            width = c.hidden
        enc += linear(width, 2 * c.latent_dim)
        dec, width = 0, c.latent_dim + k
        for _ in range(c.layers):
            dec += linear(width, c.hidden)
            width = c.hidden
        return enc, dec + linear(width, data.flat_dim)
    levels = {32: 3, 64: 4}[c.image_size]
    maps = k if c.label_layers == "all" else 0  # the label as k constant maps into every conv layer
    enc, in_ch, width = 0, data.shape[0] + maps, c.channels
    for _ in range(levels):
        enc += conv4(in_ch, width, bias=True) + bn(width)
        in_ch, width = width, width * 2
    enc += linear(in_ch * 16 + k, 2 * c.latent_dim)
    top = c.channels * 2 ** (levels - 1)
    dec, width = linear(c.latent_dim + k, top * 16), top
    for _ in range(levels - 1):
        dec += conv4(width + maps, width // 2, bias=True) + bn(width // 2)
        width //= 2
    return enc, dec + conv4(width + maps, data.shape[0], bias=True)


# shapes and parameter counts ------------------------------------------------------------------------
def test_dcgan_matches_the_pytorch_tutorial_parameter_counts():
    model = build("dcgan", images(3, 64), image_size=64)
    assert count(model.generator) == 3_576_704
    assert count(model.discriminator) == 2_765_568


def test_dcgan_32px_grayscale_parameter_count_by_hand():
    # G: 100*256*16 + 2*256 + 256*128*16 + 2*128 + 128*64*16 + 2*64 + 64*1*16
    model = build("dcgan", images(1, 32))
    assert count(model.generator) == 409_600 + 512 + 524_288 + 256 + 131_072 + 128 + 1_024 == 1_066_880


@pytest.mark.parametrize("name", ["dcgan", "cdcgan"])
@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_and_counts(name, size, channels):
    data = images(channels, size)
    model = build(name, data, image_size=size, ngf=8, ndf=8, latent_dim=12, label_embed_dim=4)
    k = CLASSES if get_spec(name).conditional else 0
    assert (count(model.generator), count(model.discriminator)) == dcgan_counts(model.config, data, k)
    z = torch.randn(4, 12)
    y = torch.eye(CLASSES)[:4] if k else None
    x = model.generate(z, y)
    assert x.shape == (4, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1  # tanh output, the GAN data range
    assert model.discriminate(x, y).shape == (4,)


@pytest.mark.parametrize("name", ["gan", "cgan"])
@pytest.mark.parametrize("data", [POINTS, SHAPES], ids=["points", "images"])
def test_mlp_gan_shapes_and_counts(name, data):
    model = build(name, data, latent_dim=5, g_hidden=16, d_hidden=12, g_layers=2, d_layers=3)
    k = data.num_classes if get_spec(name).conditional else 0
    assert (count(model.generator), count(model.discriminator)) == mlp_gan_counts(model.config, data, k)
    y = torch.eye(data.num_classes)[:4] if k else None
    x = model.generate(torch.randn(4, 5), y)
    assert x.shape == (4, *data.shape)
    assert model.discriminate(x, y).shape == (4,)


def test_packed_discriminator_judges_groups_of_samples():
    model = build("gan", POINTS, pack=2, g_hidden=8, d_hidden=8)
    assert count(model.discriminator) == mlp_gan_counts(model.config, POINTS, 0)[1]
    assert model.discriminate(torch.randn(6, 2)).shape == (3,)


@pytest.mark.parametrize("name", ["vae", "cvae"])
@pytest.mark.parametrize(
    "data, architecture, size",
    [(POINTS, "mlp", 32), (SHAPES, "conv", 32), (images(3, 64), "conv", 64), (images(1, 28), "mlp", 28)],
    ids=["points-mlp", "images32-conv", "rgb64-conv", "images28-mlp"],
)
@pytest.mark.parametrize("label_layers", ["all", "heads"])
def test_vae_shapes_and_counts(name, data, architecture, size, label_layers):
    model = build(name, data, image_size=size, latent_dim=3, hidden=16, layers=2, channels=4,
                  label_layers=label_layers)  # fmt: skip
    assert model.architecture == architecture
    k = data.num_classes if get_spec(name).conditional else 0
    encoder, decoder = vae_counts(model.config, data, k, architecture)
    log_sigma = data.flat_dim if model.likelihood == "gaussian" else 0  # learned std of p(x|z) for points
    assert model.likelihood == ("gaussian" if data.kind == "points" else "bernoulli")
    assert count(model.encoder) == encoder and count(model.decoder) == decoder
    assert count(model) == encoder + decoder + log_sigma
    x = torch.rand(4, *data.shape)
    y = torch.eye(data.num_classes)[:4] if k else None
    mu, logvar = model.encode(x, y)
    assert mu.shape == logvar.shape == (4, 3)
    assert model.decode(mu, y).shape == (4, *data.shape)
    out = model.generate(mu, y)
    assert out.shape == (4, *data.shape)
    if data.kind == "images":
        assert out.min() >= 0 and out.max() <= 1  # Bernoulli means, the VAE data range
    losses = model.loss(x, y)
    assert set(losses) == {"loss", "recon", "kl"} and all(v.dim() == 0 for v in losses.values())


# losses fall on a fixed batch -----------------------------------------------------------------------
SMALL = {
    "gan": (POINTS, {"g_hidden": 16, "d_hidden": 16, "latent_dim": 4}),
    "cgan": (POINTS, {"g_hidden": 16, "d_hidden": 16, "latent_dim": 4}),
    "dcgan": (images(1, 32), {"ngf": 4, "ndf": 4, "latent_dim": 8}),
    "cdcgan": (images(1, 32), {"ngf": 4, "ndf": 4, "latent_dim": 8}),
}


def fixed_batch(data: DataInfo, n: int = 16):
    gen = torch.Generator().manual_seed(1)
    if data.kind == "points":
        x = torch.randn(n, *data.shape, generator=gen) * 0.1 + 1.0
    else:
        x = (torch.rand(n, *data.shape, generator=gen) > 0.5).float() * 2 - 1
    y = torch.eye(data.num_classes)[torch.arange(n) % data.num_classes]
    return x, y


@pytest.mark.parametrize("name", list(SMALL))
def test_discriminator_loss_falls_with_generator_frozen(name):
    data, values = SMALL[name]
    model = build(name, data, **values)
    x, y = fixed_batch(data)
    y = y if model.conditional else None
    with torch.no_grad():
        fake = model.generate(torch.randn(16, model.latent_dim, generator=torch.Generator().manual_seed(2)), y)
    opt = torch.optim.Adam(model.discriminator.parameters(), lr=5e-3)
    g_before = [p.clone() for p in model.generator.parameters()]
    losses = []
    for _ in range(15):
        loss = discriminator_loss(model.discriminate(x, y), model.discriminate(fake, y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05, losses
    assert all(torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters(), strict=True))


@pytest.mark.parametrize("name", list(SMALL))
def test_generator_loss_falls_with_discriminator_frozen(name):
    data, values = SMALL[name]
    model = build(name, data, **values)
    x, y = fixed_batch(data)
    y = y if model.conditional else None
    z = torch.randn(16, model.latent_dim, generator=torch.Generator().manual_seed(2))
    opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=5e-3)
    for _ in range(10):  # first teach D to tell the batch from G's samples, so G has something to fool
        with torch.no_grad():
            fake = model.generate(z, y)
        loss = discriminator_loss(model.discriminate(x, y), model.discriminate(fake, y))
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
    model.discriminator.eval()  # frozen: no BatchNorm statistics updates either
    for p in model.discriminator.parameters():
        p.requires_grad_(False)
    d_before = [p.clone() for p in model.discriminator.parameters()]
    opt = torch.optim.Adam(model.generator.parameters(), lr=5e-3)
    losses = []
    for _ in range(15):
        loss = generator_loss(model.discriminate(model.generate(z, y), y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05, losses
    assert all(torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters(), strict=True))


@pytest.mark.parametrize("name, data", [("vae", POINTS), ("cvae", POINTS), ("vae", SHAPES), ("cvae", SHAPES)])
def test_vae_loss_falls_on_a_fixed_batch(name, data):
    model = build(name, data, latent_dim=4, hidden=32, channels=4)
    x, y = fixed_batch(data)
    x = x if data.kind == "points" else (x + 1) / 2  # VAEs take [0, 1] images
    y = y if model.conditional else None
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    torch.manual_seed(3)
    losses = []
    for _ in range(25):
        out = model.loss(x, y)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < first * 0.95, losses


# loss definitions --------------------------------------------------------------------------------
def tiny_vae(likelihood: str = "bernoulli"):
    """An MLP VAE on 2x2 one-channel images with latent 3: small enough to check by hand."""
    data = DataInfo("images", (1, 2, 2))
    return build("vae", data, architecture="mlp", likelihood=likelihood, latent_dim=3, hidden=4, layers=1)


def test_vae_recon_and_kl_are_per_sample_nats():
    model = tiny_vae()
    with torch.no_grad():
        model.decoder.net[-1].weight.zero_()
        model.decoder.net[-1].bias.zero_()  # logits 0: p = 1/2 per pixel -> recon = 4 ln 2 per sample
        model.encoder.head.weight.zero_()
        model.encoder.head.bias.copy_(torch.tensor([1.0, -2.0, 0.5, 0.0, 0.0, 0.0]))  # mu = (1, -2, .5), logvar 0
    for batch in (1, 5):  # the same per-sample values whatever the batch size
        x = (torch.rand(batch, 1, 2, 2) > 0.5).float()
        losses = model.loss(x, beta=2.0)
        assert losses["recon"].item() == pytest.approx(4 * math.log(2), rel=1e-6)
        assert losses["kl"].item() == pytest.approx(0.5 * (1 + 4 + 0.25), rel=1e-6)  # sum 0.5 * mu^2
        assert losses["loss"].item() == pytest.approx(4 * math.log(2) + 2.0 * 2.625, rel=1e-6)


def test_vae_loss_matches_a_hand_computed_elbo():
    model = tiny_vae()
    x = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]], [[[0.0, 0.0], [1.0, 1.0]]]])
    torch.manual_seed(5)
    losses = model.loss(x)
    torch.manual_seed(5)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # the same draw as inside loss()
        logits = model.decode(z)
    recon, kl = [], []
    for i in range(2):
        nll = 0.0
        for pixel, logit in zip(x[i].flatten().tolist(), logits[i].flatten().tolist(), strict=True):
            p = 1 / (1 + math.exp(-logit))
            nll -= pixel * math.log(p) + (1 - pixel) * math.log(1 - p)
        recon.append(nll)
        kl.append(
            sum(0.5 * (m * m + math.exp(lv) - 1 - lv) for m, lv in zip(mu[i].tolist(), logvar[i].tolist(), strict=True))
        )
    assert losses["recon"].item() == pytest.approx(sum(recon) / 2, rel=1e-5)
    assert losses["kl"].item() == pytest.approx(sum(kl) / 2, rel=1e-5)


def test_gaussian_likelihood_is_the_normal_negative_log_density():
    model = tiny_vae("gaussian")
    x = torch.tensor([[[[0.5, -1.0], [2.0, 0.0]]]])
    mean = torch.zeros_like(x)
    sigma = math.exp(-1.0)  # log_sigma starts at -1
    expected = sum(
        0.5 * (v / sigma) ** 2 + math.log(sigma) + 0.5 * math.log(2 * math.pi) for v in (0.5, -1.0, 2.0, 0.0)
    )
    assert model.reconstruction_nll(x, mean).item() == pytest.approx(expected, rel=1e-5)


def test_non_saturating_and_saturating_generator_losses():
    logits = torch.tensor([0.0, -3.0], requires_grad=True)
    ns = [generator_loss(logits[i : i + 1], "non-saturating") for i in range(2)]
    sat = [generator_loss(logits[i : i + 1], "saturating") for i in range(2)]
    assert ns[0].item() == pytest.approx(math.log(2))  # -log D(G(z)) with D = 1/2
    assert sat[0].item() == pytest.approx(-math.log(2))  # log(1 - D(G(z)))
    d = 1 / (1 + math.exp(3.0))  # D(G(z)) when D confidently rejects the fake
    assert ns[1].item() == pytest.approx(-math.log(d), rel=1e-6)
    assert sat[1].item() == pytest.approx(math.log(1 - d), rel=1e-6)
    # early in training (D(G(z)) small) the saturating loss barely moves G; the non-saturating one does
    (grad_ns,) = torch.autograd.grad(ns[1], logits)
    (grad_sat,) = torch.autograd.grad(sat[1], logits)
    assert grad_ns[1].item() == pytest.approx(-(1 - d), rel=1e-5)
    assert grad_sat[1].item() == pytest.approx(-d, rel=1e-5)
    assert abs(grad_ns[1]) > 10 * abs(grad_sat[1])


def test_discriminator_loss_is_binary_cross_entropy():
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    expected = -math.log(1 / (1 + math.exp(-2.0))) - math.log(1 - 1 / (1 + math.exp(1.0)))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)


class CountingBatches:
    def __init__(self, x):
        self.x, self.calls = x, 0

    def __call__(self):
        self.calls += 1
        return self.x, None


@pytest.mark.parametrize("g_loss", ["non-saturating", "saturating"])
def test_k_discriminator_steps_are_k_optimizer_steps(g_loss):
    model = build("gan", POINTS, g_hidden=8, d_hidden=8, latent_dim=4)
    opt_g = torch.optim.Adam(model.generator.parameters(), lr=5e-3)
    opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=5e-3)
    steps = {"g": 0, "d": 0}
    opt_g.register_step_post_hook(lambda *_: steps.__setitem__("g", steps["g"] + 1))
    opt_d.register_step_post_hook(lambda *_: steps.__setitem__("d", steps["d"] + 1))
    batches = CountingBatches(torch.randn(8, 2))
    config = apply_values(model.config, {"d_steps": 3, "g_loss": g_loss})
    out = gan_step(model.generator, model.discriminator, opt_g, opt_d, batches, config)
    assert steps == {"g": 1, "d": 3}
    assert batches.calls == 3  # a fresh real batch for every D step
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert 0 < out["d_real"].item() < 1 and 0 < out["d_fake"].item() < 1
    assert (out["g_loss"].item() < 0) == (g_loss == "saturating")  # log(1 - D) < 0 <= -log D

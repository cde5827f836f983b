"""PacGAN packing (Lin et al. 2018), the mode-collapse remedy: D judges m samples concatenated."""

from __future__ import annotations

import torch

from gan_studio.config import apply_values
from gan_studio.models import DataInfo, create_model, default_config
from gan_studio.models.base import pack_samples


def test_pack_samples_concatenates_consecutive_samples():
    x = torch.arange(12.0).view(6, 2)  # 6 samples of 2 features
    packed = pack_samples(x, 3)
    assert packed.shape == (2, 6)
    assert torch.equal(packed[0], torch.cat([x[0], x[1], x[2]]))
    assert torch.equal(packed[1], torch.cat([x[3], x[4], x[5]]))
    images = torch.randn(4, 1, 8, 8)
    packed = pack_samples(images, 2)  # channels of 2 images side by side
    assert packed.shape == (2, 2, 8, 8) and torch.equal(packed[1, 1], images[3, 0])


def test_mlp_discriminator_gives_one_decision_per_pack_of_m_samples():
    info = DataInfo("points", (2,), 8, [str(i) for i in range(8)])
    for model_name in ("gan", "cgan"):
        model = create_model(model_name, apply_values(default_config(model_name), {"pack": 4}), info)
        d = model.discriminator
        x = torch.randn(8, 2)
        y = torch.eye(8) if model.num_classes else None
        logits = d(x, y)
        assert logits.shape == (2,)  # 8 samples -> 2 packs of 4
        first = x[:4] if y is None else torch.cat([x[:4], y[:4]], dim=1)
        alone = d.net(first.reshape(1, -1)).squeeze()
        assert torch.allclose(logits[0], alone)  # the first pack alone gives the same decision


def test_dcgan_discriminator_packs_images_along_channels():
    info = DataInfo("images", (1, 32, 32), 0, [])
    model = create_model("dcgan", apply_values(default_config("dcgan"), {"pack": 2, "ndf": 8, "ngf": 8}), info)
    model.eval()
    x = torch.randn(6, 1, 32, 32)
    logits = model.discriminator(x)
    assert logits.shape == (3,)
    assert torch.allclose(model.discriminator(x[2:4]), logits[1:2], atol=1e-5)

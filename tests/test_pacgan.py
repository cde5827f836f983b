"""PacGAN's packed discriminators: joined at the input (as published) or after a per-sample trunk."""

from __future__ import annotations

import pytest
import torch

from gan_studio.config import apply_values
from gan_studio.models import DataInfo, create_model, default_config
from gan_studio.models.base import pack_samples

torch.set_num_threads(1)

POINTS = DataInfo("points", (2,))
IMAGES = DataInfo("images", (1, 32, 32))


def build(name, data, **values):
    torch.manual_seed(0)
    return create_model(name, apply_values(default_config(name), values), data).eval()


@pytest.mark.parametrize("name, data, extra", [("gan", POINTS, {"d_hidden": 16}),
                                               ("dcgan", IMAGES, {"ndf": 4, "ngf": 4})])  # fmt: skip
def test_last_hidden_join_runs_every_sample_through_the_shared_trunk(name, data, extra):
    model = build(name, data, pack=3, pack_join="last-hidden", **extra)
    d = model.discriminator
    assert len(d.trunk) > 0
    x = torch.randn(6, *data.shape)
    with torch.no_grad():
        by_hand = d.net(pack_samples(torch.cat([d.trunk(x[i : i + 1]) for i in range(6)]), 3)).flatten()
        logits = model.discriminate(x)
        assert logits.shape == (2,) and torch.allclose(logits, by_hand, atol=1e-5)
        changed = x.clone()
        changed[4] += 1.0  # a sample of the second pack
        after = model.discriminate(changed)
    assert after[0] == logits[0] and after[1] != logits[1]  # packs are judged apart, samples together


@pytest.mark.parametrize("name, data, extra", [("gan", POINTS, {"d_hidden": 16}),
                                               ("dcgan", IMAGES, {"ndf": 4, "ngf": 4})])  # fmt: skip
def test_input_join_is_pacgans_concatenation_and_keeps_the_weight_names(name, data, extra):
    packed = build(name, data, pack=2, **extra)
    plain = build(name, data, **extra)
    assert len(packed.discriminator.trunk) == 0
    assert set(packed.discriminator.state_dict()) == set(plain.discriminator.state_dict())  # old runs still load
    first = next(p for k, p in packed.discriminator.named_parameters() if k.endswith("weight"))
    single = next(p for k, p in plain.discriminator.named_parameters() if k.endswith("weight"))
    assert first.shape[1] == 2 * single.shape[1]  # the first layer sees both samples of a pack


def test_join_option_only_matters_for_packs():
    one = build("gan", POINTS, d_hidden=16, pack_join="last-hidden")
    assert len(one.discriminator.trunk) == 0  # pack 1: nothing to join

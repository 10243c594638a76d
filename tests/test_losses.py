"""Tests of the Attentive GAN losses (agan.training.losses)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import agan.training.perceptual as perceptual
from agan.nets import AttentiveDiscriminator, AttentiveGenerator
from agan.training.losses import (
    GANLoss,
    attention_loss,
    discriminator_map_loss,
    match_size,
    multiscale_loss,
    set_requires_grad,
)
from agan.training.config import TrainConfig
from agan.training.loss_terms import GAN_DISCRIMINATOR, GAN_GENERATOR, LossInputs, weighted_sum
from agan.training.perceptual import PerceptualLoss, PerceptualWeightsMissing

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def vgg() -> PerceptualLoss:
    # Real ImageNet weights are not available offline: random weights, for tests only.
    return PerceptualLoss(random_weights=True)


@pytest.mark.parametrize("wrong_step", [1, 2, 3, 4])
def test_attention_loss_weights(wrong_step):
    torch.manual_seed(0)
    mask = (torch.rand(2, 1, 8, 8) > 0.5).float()
    maps = [mask.clone() for _ in range(4)]
    maps[wrong_step - 1] = mask + 1.0  # MSE exactly 1 for this step only
    assert attention_loss(maps, mask).item() == pytest.approx(0.8 ** (4 - wrong_step))
    assert attention_loss(maps, mask, theta=0.5).item() == pytest.approx(0.5 ** (4 - wrong_step))
    # An NHW boolean mask is accepted too.
    assert attention_loss(maps, mask[:, 0].bool()).item() == pytest.approx(0.8 ** (4 - wrong_step))


def test_attention_loss_zero_and_size_check():
    mask = torch.ones(1, 1, 4, 4)
    assert attention_loss([mask, mask], mask).item() == 0.0
    with pytest.raises(ValueError):
        attention_loss([mask], torch.ones(1, 1, 5, 4))


@pytest.mark.parametrize("size", [(32, 40), (31, 37)])
def test_multiscale_loss_zero_for_perfect_output(size):
    torch.manual_seed(1)
    h, w = size
    target = torch.rand(2, 3, h, w)
    hp, wp = -(-h // 4) * 4, -(-w // 4) * 4
    quarter = match_size(target, (hp // 4, wp // 4))
    half = match_size(target, (hp // 2, wp // 2))
    assert quarter.shape == (2, 3, hp // 4, wp // 4) and half.shape == (2, 3, hp // 2, wp // 2)
    assert multiscale_loss(quarter, half, target.clone(), target).item() == pytest.approx(0.0, abs=1e-12)
    # Exact block means when no padding is involved.
    if (h, w) == (32, 40):
        assert torch.allclose(quarter, F.avg_pool2d(target, 4))


def test_multiscale_loss_weights():
    target = torch.zeros(1, 1, 8, 8)
    ones = [torch.ones(1, 1, 2, 2), torch.ones(1, 1, 4, 4), torch.ones(1, 1, 8, 8)]
    assert multiscale_loss(*ones, target).item() == pytest.approx(0.6 + 0.8 + 1.0)
    assert multiscale_loss(*ones, target, weights=(1.0, 0.0, 0.0)).item() == pytest.approx(1.0)


def test_gan_loss_matches_bce_with_logits():
    torch.manual_seed(2)
    logits = torch.randn(5)
    gan = GANLoss()
    assert torch.allclose(gan(logits, True), F.binary_cross_entropy_with_logits(logits, torch.ones(5)))
    assert torch.allclose(gan(logits, False), F.binary_cross_entropy_with_logits(logits, torch.zeros(5)))
    assert torch.allclose(gan(logits[:, None], True), F.binary_cross_entropy_with_logits(logits[:, None], torch.ones(5, 1)))


def test_set_requires_grad():
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    set_requires_grad([a, None, b], False)
    assert not any(p.requires_grad for p in [*a.parameters(), *b.parameters()])
    set_requires_grad(a, True)
    assert all(p.requires_grad for p in a.parameters())


def test_discriminator_map_loss():
    d_fake = torch.full((1, 1, 4, 4), 0.5)
    d_real = torch.full((1, 1, 4, 4), 0.2)
    attention = torch.ones(1, 1, 8, 8, requires_grad=True)  # resized (area) to 4x4
    loss = discriminator_map_loss(d_fake, d_real, attention)
    assert loss.item() == pytest.approx(0.25 + 0.04)
    assert not loss.requires_grad  # the attention map is a target, detached


def test_perceptual_loss_random_weights(vgg):
    torch.manual_seed(3)
    assert not any(p.requires_grad for p in vgg.parameters())
    assert sum(p.numel() for p in vgg.parameters() if p.requires_grad) == 0
    vgg.train()
    assert not vgg.features.training
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    assert vgg(a, a.clone()).item() == 0.0
    output = b.clone().requires_grad_(True)
    loss = vgg(output, a)
    assert loss.item() > 0
    loss.backward()
    assert output.grad is not None and output.grad.abs().sum() > 0
    grey = torch.rand(1, 1, 24, 24)
    assert vgg(grey, grey.clone()).item() == 0.0
    assert vgg(grey, torch.rand(1, 1, 24, 24)).item() > 0


def test_perceptual_layout_matches_torchvision():
    import torchvision

    with torch.device("meta"):  # no memory, no weights
        reference = torchvision.models.vgg16().features
    ours = PerceptualLoss(layers=("relu5_3",), random_weights=True).features
    ref_state = {k: v.shape for k, v in reference.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == ref_state
    assert [type(m) for m in ours] == [type(m) for m in reference][: len(ours)]
    with pytest.raises(ValueError):
        PerceptualLoss(layers=("relu9_9",), random_weights=True)


def test_perceptual_loss_missing_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    expected = tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"
    assert perceptual.vgg16_weights_path() == expected
    with pytest.raises(PerceptualWeightsMissing) as info:
        PerceptualLoss()
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert str(expected) in message
    assert "--perceptual none" in message and "IMAGENET1K_V1" in message
    assert "\n" not in message
    assert not expected.exists()  # nothing was downloaded


def test_generator_and_discriminator_loss_assembly(vgg):
    torch.manual_seed(4)
    gen = AttentiveGenerator(att_width=4, res_blocks=1, ae_width=4)
    disc = AttentiveDiscriminator()
    rainy, clean = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    mask = (torch.rand(2, 64, 64) > 0.7)
    out = gen(rainy)

    config = TrainConfig(model="attentive-gan", data="x", out="y")  # the paper's weights
    fake = disc(out.image)
    inputs = LossInputs(config, out.image, clean, output=out, mask=mask, fake_logit=fake.logit,
                        gan_loss=GANLoss(), perceptual=vgg)
    total, terms = weighted_sum(GAN_GENERATOR, inputs)
    assert set(terms) == {"attention", "multiscale", "perceptual", "adversarial", "total"}
    assert all(isinstance(v, float) for v in terms.values())
    expected = 0.01 * terms["adversarial"] + terms["attention"] + terms["multiscale"] + terms["perceptual"]
    assert total.item() == pytest.approx(expected, rel=1e-5)
    assert terms["attention"] == pytest.approx(float(attention_loss(out.attention, mask, 0.8).detach()))
    total.backward()
    assert gen.attention.conv_in[0].weight.grad is not None

    _, no_extras = weighted_sum(GAN_GENERATOR, LossInputs(config, out.image, clean, output=out, mask=mask))
    assert set(no_extras) == {"attention", "multiscale", "total"}

    real = disc(clean)
    fake = disc(out.image.detach())
    inputs = LossInputs(config, out.image, clean, real_logit=real.logit, fake_logit=fake.logit, real_map=real.d_map,
                        fake_map=fake.d_map, attention=out.attention[-1], gan_loss=GANLoss())
    d_total, d_terms = weighted_sum(GAN_DISCRIMINATOR, inputs)
    assert set(d_terms) == {"real", "fake", "map", "total"}
    assert d_total.item() == pytest.approx(d_terms["real"] + d_terms["fake"] + 0.05 * d_terms["map"], rel=1e-5)
    gen.zero_grad(set_to_none=True)
    d_total.backward()
    assert all(p.grad is None for p in gen.parameters())  # the D loss never reaches G
    assert disc.conv_map.weight.grad is not None


def test_perceptual_loss_loads_cached_file(tmp_path, monkeypatch):
    # A stand-in for the torchvision checkpoint (same keys and shapes, random values).
    source = PerceptualLoss(layers=("relu5_3",), random_weights=True).features
    state = {f"features.{k}": v.clone() + 1.0 for k, v in source.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # ignored
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    path = perceptual.vgg16_weights_path()
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    loaded = PerceptualLoss()  # default layers: up to relu2_2, the first 9 modules
    assert len(loaded.features) == 9
    for key, value in loaded.features.state_dict().items():
        assert torch.equal(value, state[f"features.{key}"])
    assert not any(p.requires_grad for p in loaded.parameters())
    path.unlink()  # 57 MB

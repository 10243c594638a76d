"""Tests of the Attentive GAN networks (agan.nets): sizes, shapes, gradients, a tiny overfit."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import scene

from agan.nets import (
    AttentiveDiscriminator,
    AttentiveGenerator,
    DiscriminatorOutput,
    GeneratorOutput,
    count_parameters,
    pad_to_multiple,
)
from agan.training.losses import attention_loss, multiscale_loss

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def generators() -> dict[int, AttentiveGenerator]:
    torch.manual_seed(0)
    return {3: AttentiveGenerator(), 1: AttentiveGenerator(in_channels=1)}


def test_generator_parameter_count(generators):
    count = count_parameters(generators[3])
    print(f"AttentiveGenerator parameters: {count}")
    assert count == pytest.approx(6.24e6, rel=0.01)
    assert count == 6_244_362  # the reference layout, counted layer by layer
    assert count_parameters(generators[3], trainable_only=True) == count


def test_discriminator_parameter_count():
    count = count_parameters(AttentiveDiscriminator())
    print(f"AttentiveDiscriminator parameters: {count}")
    assert count == 1_313_202
    assert 1.0e6 < count < 1.5e6


def test_config_is_json_and_rebuilds(generators):
    config = json.loads(json.dumps(generators[1].config))
    assert config == {"in_channels": 1, "steps": 4, "att_width": 32, "res_blocks": 5, "ae_width": 64}
    assert count_parameters(AttentiveGenerator(**config)) == count_parameters(generators[1])
    d_config = json.loads(json.dumps(AttentiveDiscriminator(1, spectral_norm=True).config))
    assert d_config == {"in_channels": 1, "spectral_norm": True}
    assert count_parameters(AttentiveDiscriminator(**d_config)) == count_parameters(AttentiveDiscriminator(1))


@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("size", [(31, 37), (64, 64), (65, 97)])
def test_generator_forward_backward(generators, channels, size):
    torch.manual_seed(1)
    net = generators[channels].train()
    net.zero_grad(set_to_none=True)
    h, w = size
    x = torch.rand(1, channels, h, w)
    out = net(x)
    assert isinstance(out, GeneratorOutput)
    assert out.image.shape == (1, channels, h, w)
    assert len(out.attention) == 4
    for a in out.attention:
        assert a.shape == (1, 1, h, w)
    hp, wp = 4 * math.ceil(h / 4), 4 * math.ceil(w / 4)
    assert out.quarter.shape == (1, channels, hp // 4, wp // 4)
    assert out.half.shape == (1, channels, hp // 2, wp // 2)
    assert all(torch.isfinite(t).all() for t in (out.image, out.quarter, out.half, *out.attention))

    loss = out.image.square().mean() + out.quarter.mean() + out.half.mean() + sum(a.square().mean() for a in out.attention)
    loss.backward()
    for first in (net.attention.conv_in[0].weight, net.autoencoder.conv1[0].weight):
        assert first.grad is not None and first.grad.abs().sum() > 0


def test_generator_eval_clamps_image():
    torch.manual_seed(2)
    net = AttentiveGenerator(att_width=4, res_blocks=1, ae_width=4)
    with torch.no_grad():
        net.autoencoder.out_image.bias.fill_(3.0)  # push the raw output above 1
        raw = net.train()(torch.rand(1, 3, 16, 16)).image
        clamped = net.eval()(torch.rand(1, 3, 16, 16)).image
    assert raw.max() > 1.0
    assert clamped.min() >= 0.0 and clamped.max() <= 1.0


def test_generator_tiny_image_uses_replicate_padding():
    torch.manual_seed(3)
    net = AttentiveGenerator(in_channels=1, att_width=4, res_blocks=1, ae_width=4).eval()
    with torch.no_grad():
        out = net(torch.rand(1, 1, 3, 5))
    assert out.image.shape == (1, 1, 3, 5)
    assert out.quarter.shape == (1, 1, 1, 2)


def test_generator_rejects_wrong_channels(generators):
    with pytest.raises(ValueError, match="channel"):
        generators[3](torch.rand(1, 1, 16, 16))


def test_pad_to_multiple_keeps_content():
    x = torch.rand(1, 2, 5, 7)
    y = pad_to_multiple(x, 4)
    assert y.shape == (1, 2, 8, 8)
    assert torch.equal(y[..., :5, :7], x)
    assert pad_to_multiple(torch.rand(1, 1, 8, 4), 4).shape == (1, 1, 8, 4)


@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("size", [(64, 64), (65, 97), (128, 128)])
def test_discriminator_forward_backward(channels, size):
    torch.manual_seed(4)
    net = AttentiveDiscriminator(in_channels=channels)
    x = torch.rand(2, channels, *size)
    out = net(x)
    assert isinstance(out, DiscriminatorOutput)
    assert out.probability.shape == (2,)
    assert out.logit.shape == (2,)
    assert ((out.probability > 0) & (out.probability < 1)).all()
    assert torch.allclose(out.probability, torch.sigmoid(out.logit))
    assert out.d_map.shape == (2, 1, *size)
    (out.logit.sum() + out.d_map.square().mean()).backward()
    first = net.features[0][0].weight
    assert first.grad is not None and first.grad.abs().sum() > 0
    assert net.head.weight.grad is not None


def test_discriminator_rejects_tiny_input():
    with pytest.raises(ValueError, match=">="):
        AttentiveDiscriminator()(torch.rand(1, 3, 8, 64))


def test_small_generator_overfits_one_pair():
    torch.manual_seed(5)
    net = AttentiveGenerator(att_width=8, res_blocks=1, ae_width=8).train()
    rainy = torch.rand(1, 3, 32, 32)
    clean = (rainy * 0.5 + 0.25).clamp(0, 1)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:20, 10:24] = 1.0
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def loss_value() -> torch.Tensor:
        out = net(rainy)
        return attention_loss(out.attention, mask) + multiscale_loss(out.quarter, out.half, out.image, clean)

    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = loss_value()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        final = loss_value().item()
    assert final < 0.5 * losses[0], losses


def test_initial_maps_and_scores_depend_on_the_image():
    # With PyTorch's default init the image signal fades about sixfold per ReLU layer, and the
    # attention map, D's map and D's score came out nearly constant (std 0.004, 0.0007, and
    # scores equal to 1e-7 for different images); the He init keeps the image in them.
    torch.manual_seed(0)
    x = torch.stack([torch.from_numpy(scene(64, 64, seed=s)).permute(2, 0, 1) for s in (0, 1)])
    with torch.no_grad():
        maps = AttentiveGenerator().attention(x)
        scored = AttentiveDiscriminator()(x)
    assert maps[-1][0].std() > 0.02
    assert scored.d_map[0].std() > 0.02
    assert abs(scored.logit[0] - scored.logit[1]) > 1e-4


def test_fused_convlstm_gates_equal_four_convolutions():
    """The ConvLSTM's one-convolution, one-sigmoid gates give what four convolutions with sigmoid
    and tanh give, for the first step (zero state: features only) and later ones."""
    torch.manual_seed(1)
    arn = AttentiveGenerator(steps=2, att_width=8, res_blocks=1, ae_width=8).attention
    for conv in (arn.conv_i, arn.conv_f, arn.conv_g, arn.conv_o):
        torch.nn.init.normal_(conv.bias, std=0.5)  # non-zero biases, as after training
    features, hidden = torch.randn(2, 8, 9, 11), torch.randn(2, 8, 9, 11)
    for state in (hidden, None):
        z = torch.cat([features, hidden if state is not None else torch.zeros_like(hidden)], dim=1)
        expected = (torch.sigmoid(arn.conv_i(z)), torch.sigmoid(arn.conv_f(z)), torch.tanh(arn.conv_g(z)),
                    torch.sigmoid(arn.conv_o(z)))
        for got, want in zip(arn._gates(features, state), expected):
            assert torch.allclose(got, want, atol=1e-6)


def test_autoencoder_first_convolution_stays_fp32_under_bf16_autocast():
    torch.manual_seed(2)
    cae = AttentiveGenerator(steps=1, att_width=8, res_blocks=1, ae_width=8).autoencoder.eval()
    seen = []
    cae.conv1.register_forward_hook(lambda module, inputs, output: seen.append((inputs[0].dtype, output.dtype)))
    cae.conv2.register_forward_hook(lambda module, inputs, output: seen.append((inputs[0].dtype, output.dtype)))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        cae(torch.rand(1, 4, 16, 16))
    assert seen[0] == (torch.float32, torch.float32) and seen[1][1] == torch.bfloat16

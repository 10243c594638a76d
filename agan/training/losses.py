"""Losses of the Attentive GAN (Qian et al., CVPR 2018), every weight configurable.

Generator: ``L_G = adversarial * L_GAN + attention * L_ATT + multiscale * L_M
+ perceptual * L_P`` with the paper's weights 0.01, 1, 1, 1, where

* ``L_ATT = sum_t theta^(steps - t) MSE(A_t, M)`` (:func:`attention_loss`,
  theta = 0.8, ``M`` the binary raindrop mask);
* ``L_M = sum_i lambda_i MSE(S_i, T_i)`` over the 1/4, 1/2 and full-scale
  outputs with lambda = (0.6, 0.8, 1.0) (:func:`multiscale_loss`);
* ``L_P`` = MSE between VGG16 features of output and target
  (:class:`agan.training.perceptual.PerceptualLoss`);
* ``L_GAN`` = BCE of the discriminator's logit on the output against the
  "real" label (:class:`GANLoss`; the usual non-saturating form of the
  paper's ``log(1 - D(G(I)))``).

Discriminator: ``L_D = BCE(D(R), real) + BCE(D(O), fake) + map_weight * L_map``
with ``map_weight`` = 0.05 and ``L_map = MSE(D_map(O), A_N) + MSE(D_map(R), 0)``
(:func:`discriminator_map_loss`).

Tensors are NCHW float32 images in [0, 1], as the models use.
:func:`generator_loss` and :func:`discriminator_loss` return
``(total, terms)`` where ``terms`` maps each unweighted term (and "total") to a
float for logging.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agan.nets import GeneratorOutput, pad_to_size

__all__ = [
    "GANLoss",
    "attention_loss",
    "discriminator_loss",
    "discriminator_map_loss",
    "generator_loss",
    "match_size",
    "multiscale_loss",
    "set_requires_grad",
]


# --------------------------------------------------------------------------- #
# Resizing helpers
# --------------------------------------------------------------------------- #
def _resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Area-average down (or bilinear up) to ``size``; ``x`` itself when already that size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if x.shape[-2] >= size[0] and x.shape[-1] >= size[1]:
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def match_size(target: Tensor, size: Sequence[int]) -> Tensor:
    """Bring a full-size target to the size of a (side) output of the generator.

    When ``size`` is ``1/k`` of a size that the target reaches by padding at
    the bottom/right (the generator pads its input to multiples of 4 the same
    way), the target is padded like the generator's input and then
    area-downsampled by exactly ``k`` (``k x k`` block means), so each output
    pixel is compared with the mean of the pixels it stands for. Otherwise it
    falls back to area interpolation (bilinear when enlarging).

    Args:
        target: ``(N, C, H, W)`` tensor.
        size: ``(h, w)`` wanted.

    Returns:
        ``(N, C, h, w)`` tensor.
    """
    h, w = int(size[0]), int(size[1])
    th, tw = target.shape[-2:]
    if (th, tw) == (h, w):
        return target
    for k in (1, 2, 4, 8):
        if k * h >= th and k * w >= tw and k * h - th < k and k * w - tw < k:
            padded = pad_to_size(target, k * h, k * w)
            return padded if k == 1 else F.avg_pool2d(padded, k)
    return _resize(target, (h, w))


def _as_mask(mask: Tensor) -> Tensor:
    """N1HW float mask from an NHW or N1HW (bool, integer or float) one."""
    if mask.dim() == 3:
        mask = mask.unsqueeze(1)
    if mask.dim() != 4 or mask.shape[1] != 1:
        raise ValueError(f"mask must be (N, H, W) or (N, 1, H, W), got {tuple(mask.shape)}")
    return mask.float() if not mask.is_floating_point() else mask


# --------------------------------------------------------------------------- #
# Attention and multi-scale losses
# --------------------------------------------------------------------------- #
def attention_loss(maps: Sequence[Tensor], mask: Tensor, theta: float = 0.8) -> Tensor:
    """The attention loss ``sum_t theta^(steps - t) MSE(A_t, M)``, t = 1..steps.

    The last map has weight 1, earlier ones decay geometrically.

    Args:
        maps: ``steps`` attention maps, each ``(N, 1, H, W)``.
        mask: The binary raindrop mask ``M``, ``(N, 1, H, W)`` or ``(N, H, W)``,
            values in {0, 1} (any dtype), same H x W as the maps.
        theta: Decay per step back from the last one.

    Returns:
        Scalar tensor.
    """
    if len(maps) == 0:
        raise ValueError("attention_loss needs at least one map")
    m = _as_mask(mask).to(maps[-1].dtype)
    if m.shape[-2:] != maps[-1].shape[-2:]:
        raise ValueError(f"mask {tuple(m.shape)} and attention maps {tuple(maps[-1].shape)} differ in size")
    steps = len(maps)
    loss = maps[-1].new_zeros(())
    for t, a in enumerate(maps, start=1):
        loss = loss + theta ** (steps - t) * F.mse_loss(a, m)
    return loss


def multiscale_loss(
    quarter: Tensor,
    half: Tensor,
    image: Tensor,
    target: Tensor,
    weights: Sequence[float] = (0.6, 0.8, 1.0),
) -> Tensor:
    """The multi-scale loss ``sum_i lambda_i MSE(S_i, T_i)`` at 1/4, 1/2 and full scale.

    Each ``T_i`` is the target brought to the output's size by
    :func:`match_size` (padded like the generator's input, then area
    downsampling: exact block means).

    Args:
        quarter: ``(N, C, Hp/4, Wp/4)`` side output.
        half: ``(N, C, Hp/2, Wp/2)`` side output.
        image: ``(N, C, H, W)`` final output.
        target: ``(N, C, H, W)`` clean image in [0, 1].
        weights: ``(lambda_quarter, lambda_half, lambda_full)``.

    Returns:
        Scalar tensor.
    """
    if len(weights) != 3:
        raise ValueError(f"multiscale_loss needs 3 weights, got {weights}")
    loss = image.new_zeros(())
    for weight, output in zip(weights, (quarter, half, image)):
        loss = loss + weight * F.mse_loss(output, match_size(target, output.shape[-2:]))
    return loss


# --------------------------------------------------------------------------- #
# Adversarial losses
# --------------------------------------------------------------------------- #
class GANLoss(nn.Module):
    """Binary cross-entropy against a constant real/fake label, on logits (as pix2pix's "vanilla" GAN loss).

    Args:
        real_label: Target for real images.
        fake_label: Target for fake images.
    """

    def __init__(self, real_label: float = 1.0, fake_label: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("real_label", torch.tensor(float(real_label)))
        self.register_buffer("fake_label", torch.tensor(float(fake_label)))

    def target_tensor(self, logits: Tensor, target_is_real: bool) -> Tensor:
        """A label tensor shaped like ``logits``."""
        label = self.real_label if target_is_real else self.fake_label
        return label.to(logits.dtype).expand_as(logits)

    def forward(self, logits: Tensor, target_is_real: bool) -> Tensor:
        """Mean BCE-with-logits against the real or fake label.

        Args:
            logits: Discriminator logits, any shape (e.g. ``(N,)``).
            target_is_real: Compare with the real label (True) or the fake one.

        Returns:
            Scalar tensor.
        """
        return F.binary_cross_entropy_with_logits(logits, self.target_tensor(logits, target_is_real))


def set_requires_grad(nets: nn.Module | Iterable[nn.Module | None] | None, flag: bool) -> None:
    """Switch ``requires_grad`` of every parameter of one or more networks (None entries skipped).

    Args:
        nets: A module or an iterable of modules.
        flag: The new ``requires_grad``.
    """
    if nets is None:
        return
    if isinstance(nets, nn.Module):
        nets = [nets]
    for net in nets:
        if net is not None:
            for p in net.parameters():
                p.requires_grad_(flag)


def discriminator_map_loss(d_map_fake: Tensor, d_map_real: Tensor, attention_last: Tensor) -> Tensor:
    """``L_map = MSE(D_map(O), A_N) + MSE(D_map(R), 0)``.

    Args:
        d_map_fake: ``(N, 1, h, w)`` discriminator map of the restored image.
        d_map_real: ``(N, 1, h, w)`` discriminator map of the clean image.
        attention_last: ``(N, 1, H, W)`` the generator's last attention map;
            detached (it is a target) and resized to ``h x w`` when it differs
            (area downsampling, bilinear when enlarging).

    Returns:
        Scalar tensor.
    """
    target = _resize(attention_last.detach(), tuple(d_map_fake.shape[-2:]))
    return F.mse_loss(d_map_fake, target) + F.mse_loss(d_map_real, torch.zeros_like(d_map_real))


def generator_loss(
    output: GeneratorOutput,
    target: Tensor,
    mask: Tensor,
    fake_logit: Tensor | None = None,
    *,
    perceptual_loss: nn.Module | None = None,
    gan_loss: GANLoss | None = None,
    adversarial: float = 0.01,
    attention: float = 1.0,
    multiscale: float = 1.0,
    perceptual: float = 1.0,
    theta: float = 0.8,
    scale_weights: Sequence[float] = (0.6, 0.8, 1.0),
) -> tuple[Tensor, dict[str, float]]:
    """``L_G = adversarial * L_GAN + attention * L_ATT + multiscale * L_M + perceptual * L_P``.

    Args:
        output: The generator's :class:`~agan.nets.GeneratorOutput`.
        target: ``(N, C, H, W)`` clean image in [0, 1].
        mask: ``(N, 1, H, W)`` or ``(N, H, W)`` binary raindrop mask.
        fake_logit: Discriminator logits on ``output.image``; None skips the
            adversarial term (e.g. generator pre-training).
        perceptual_loss: A :class:`agan.training.perceptual.PerceptualLoss`; None skips the term
            (``--perceptual none``).
        gan_loss: The :class:`GANLoss` to use (a default one when None).
        adversarial: Weight of L_GAN (0.01).
        attention: Weight of L_ATT (1).
        multiscale: Weight of L_M (1).
        perceptual: Weight of L_P (1).
        theta: Decay of :func:`attention_loss` (0.8).
        scale_weights: Weights of :func:`multiscale_loss` (0.6, 0.8, 1.0).

    Returns:
        ``(total, terms)``: the scalar loss to back-propagate and a dict of
        floats with the unweighted terms present ("attention", "multiscale",
        and "perceptual", "adversarial" when computed) and "total".
    """
    terms: dict[str, Tensor] = {
        "attention": attention_loss(output.attention, mask, theta),
        "multiscale": multiscale_loss(output.quarter, output.half, output.image, target, scale_weights),
    }
    total = attention * terms["attention"] + multiscale * terms["multiscale"]
    if perceptual_loss is not None:
        terms["perceptual"] = perceptual_loss(output.image, target)
        total = total + perceptual * terms["perceptual"]
    if fake_logit is not None:
        gan = gan_loss if gan_loss is not None else GANLoss().to(fake_logit.device)
        terms["adversarial"] = gan(fake_logit, True)
        total = total + adversarial * terms["adversarial"]
    logged = {name: float(value.detach()) for name, value in terms.items()}
    logged["total"] = float(total.detach())
    return total, logged


def discriminator_loss(
    real_logit: Tensor,
    fake_logit: Tensor,
    d_map_real: Tensor,
    d_map_fake: Tensor,
    attention_last: Tensor,
    *,
    gan_loss: GANLoss | None = None,
    map_weight: float = 0.05,
) -> tuple[Tensor, dict[str, float]]:
    """``L_D = BCE(D(R), real) + BCE(D(O), fake) + map_weight * L_map``.

    Args:
        real_logit: Discriminator logits on clean images.
        fake_logit: Discriminator logits on (detached) restored images.
        d_map_real: ``(N, 1, h, w)`` discriminator map on clean images.
        d_map_fake: ``(N, 1, h, w)`` discriminator map on restored images.
        attention_last: ``(N, 1, H, W)`` the generator's last attention map
            (detached here).
        gan_loss: The :class:`GANLoss` to use (a default one when None).
        map_weight: Weight of L_map (0.05).

    Returns:
        ``(total, terms)`` with float terms "real", "fake", "map" (unweighted)
        and "total".
    """
    gan = gan_loss if gan_loss is not None else GANLoss().to(real_logit.device)
    terms = {
        "real": gan(real_logit, True),
        "fake": gan(fake_logit, False),
        "map": discriminator_map_loss(d_map_fake, d_map_real, attention_last),
    }
    total = terms["real"] + terms["fake"] + map_weight * terms["map"]
    logged = {name: float(value.detach()) for name, value in terms.items()}
    logged["total"] = float(total.detach())
    return total, logged

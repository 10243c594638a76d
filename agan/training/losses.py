"""The loss functions of the Attentive GAN (Qian et al., CVPR 2018) and of the adversarial CNNs;
:mod:`agan.training.loss_terms` weighs and sums them into each step's loss (the paper's
``L_G = 0.01 L_GAN + L_ATT + L_M + L_P`` and ``L_D = BCE(real) + BCE(fake) + 0.05 L_map``).

* :func:`attention_loss`: ``sum_t theta^(steps - t) MSE(A_t, M)`` (theta = 0.8, ``M`` the
  binary raindrop mask);
* :func:`multiscale_loss`: ``sum_i lambda_i MSE(S_i, T_i)`` over the 1/4, 1/2 and full-scale
  outputs with lambda = (0.6, 0.8, 1.0);
* :class:`GANLoss`: BCE of a discriminator's logits against the real or fake label (the usual
  non-saturating form of the paper's ``log(1 - D(G(I)))`` for the generator);
* :func:`discriminator_map_loss`: ``MSE(D_map(O), A_N) + MSE(D_map(R), 0)``;
* the perceptual loss (MSE between VGG16 features) is :class:`agan.training.perceptual.PerceptualLoss`.

Tensors are NCHW float32 images in [0, 1], as the models use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agan.nets import pad_to_size

__all__ = [
    "GANLoss",
    "attention_loss",
    "discriminator_map_loss",
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

"""The Attentive GAN discriminator (Qian et al., CVPR 2018): a 5x5 convolution stack whose
features are multiplied by an internal attention map ``D_map`` (supervised by the generator's
attention map), then strided convolutions and a head giving the probability that the image is a
real clean image. Image convention: NCHW float32 tensors in [0, 1], RGB or grey.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as with_spectral_norm

from agan.nets.layers import check_image, same_conv, same_conv_relu, he_init


# --------------------------------------------------------------------------- #
# Discriminator
# --------------------------------------------------------------------------- #
class DiscriminatorOutput(NamedTuple):
    """What :class:`AttentiveDiscriminator` returns.

    Attributes:
        probability: ``(N,)`` probability in (0, 1) that each image is a real
            clean image; ``sigmoid(logit)``.
        d_map: ``(N, 1, H, W)`` the discriminator's attention map, at the
            input resolution, linear (trained towards the generator's last
            attention map for fakes and towards 0 for real images).
        logit: ``(N,)`` the pre-sigmoid score (use it with BCE-with-logits).
    """

    probability: Tensor
    d_map: Tensor
    logit: Tensor


class AttentiveDiscriminator(nn.Module):
    """The Attentive GAN discriminator, with a size-independent head.

    Six 5x5 conv + ReLU at full resolution (stride 1, as the reference):
    C -> 8 -> 16 -> 64 -> 128 -> 128 -> 128; a 5x5 conv 128 -> 1 predicts
    ``d_map`` (linear), which multiplies the last features; then 5x5 conv
    128 -> 64 stride 4 + ReLU and 5x5 conv 64 -> 32 stride 4 + ReLU (the
    reference's strides), global average pooling and a linear 32 -> 1 logit.
    (The reference ends in a fully connected layer sized for 224x224 inputs and
    applies one strided conv twice; both are replaced here.)

    About 1.31 M parameters (1,313,202 for RGB). Works for H, W >= 11; meant
    for patches of 64 and more.

    Args:
        in_channels: Image channels, 3 (RGB) or 1 (grey).
        spectral_norm: divide every layer's weight by its largest singular value (one power
            iteration a training step; Miyato et al. 2018), the stabiliser of Real-ESRGAN's
            discriminator. The layout and the parameter count are the same.
    """

    min_size = 11

    def __init__(self, in_channels: int = 3, spectral_norm: bool = False) -> None:
        super().__init__()
        self.config = {"in_channels": int(in_channels), "spectral_norm": bool(spectral_norm)}
        self.in_channels = in_channels
        widths = (in_channels, 8, 16, 64, 128, 128, 128)
        self.features = nn.Sequential(*[same_conv_relu(a, b, kernel=5) for a, b in zip(widths[:-1], widths[1:])])
        self.conv_map = same_conv(128, 1, kernel=5)
        self.conv7 = nn.Sequential(nn.Conv2d(128, 64, 5, stride=4, padding=1), nn.ReLU(inplace=True))
        self.conv8 = nn.Sequential(nn.Conv2d(64, 32, 5, stride=4, padding=1), nn.ReLU(inplace=True))
        self.head = nn.Linear(32, 1)
        he_init(self)
        if spectral_norm:
            for module in list(self.modules()):
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    with_spectral_norm(module)

    def forward(self, x: Tensor) -> DiscriminatorOutput:
        """Score images.

        Args:
            x: ``(N, C, H, W)`` image in [0, 1], H, W >= 11.

        Returns:
            A :class:`DiscriminatorOutput` ``(probability (N,), d_map (N, 1, H, W),
            logit (N,))``.
        """
        check_image(x, self.in_channels, type(self).__name__)
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(f"AttentiveDiscriminator needs H, W >= {self.min_size}, got {tuple(x.shape)}")
        features = self.features(x)
        d_map = self.conv_map(features)
        y = self.conv8(self.conv7(features * d_map))
        logit = self.head(y.mean(dim=(2, 3))).squeeze(1)
        return DiscriminatorOutput(torch.sigmoid(logit), d_map, logit)

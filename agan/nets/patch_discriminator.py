"""The patch discriminator of ``agan train dncnn|unet --adversarial``: pix2pix's PatchGAN
(Isola et al. 2017, the 70x70 ``NLayerDiscriminator``) with spectral norm on every convolution
in place of batch norm (Miyato et al. 2018; the stabiliser Real-ESRGAN's discriminator uses).

It scores each overlapping 70x70 receptive field of an image as real (clean) or restored, so
its GAN term pushes the restorer towards locally clean texture rather than one global verdict.
Image convention: NCHW float32 tensors in [0, 1], RGB or grey.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from agan.nets.layers import check_image


class PatchDiscriminator(nn.Module):
    """PatchGAN with spectral norm: ``layers`` 4x4 stride-2 convolutions (width doubling up to
    8x ``width``), one 4x4 stride-1 convolution, then a 4x4 convolution to one logit per patch;
    LeakyReLU(0.2) between them and no normalisation layer besides spectral norm.

    With the defaults (``width`` 64, ``layers`` 3) it has 2,764,737 parameters for RGB, each
    output logit sees a 70x70 window, and inputs need H, W >= 32.

    Args:
        in_channels: Image channels, 3 (RGB) or 1 (grey).
        width: Channels of the first convolution.
        layers: Stride-2 convolutions.
    """

    def __init__(self, in_channels: int = 3, width: int = 64, layers: int = 3) -> None:
        super().__init__()
        self.config = {"in_channels": int(in_channels), "width": int(width), "layers": int(layers)}
        self.in_channels = in_channels
        widths = [in_channels] + [width * min(2 ** n, 8) for n in range(layers + 1)]
        blocks: list[nn.Module] = []
        for n, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            stride = 2 if n < layers else 1
            blocks += [spectral_norm(nn.Conv2d(a, b, 4, stride=stride, padding=1)), nn.LeakyReLU(0.2, inplace=True)]
        blocks.append(spectral_norm(nn.Conv2d(widths[-1], 1, 4, stride=1, padding=1)))
        self.body = nn.Sequential(*blocks)
        self.min_size = 2 ** (layers + 2)

    def forward(self, x: Tensor) -> Tensor:
        """Score the patches of images.

        Args:
            x: ``(N, C, H, W)`` images in [0, 1], H, W >= ``min_size`` (32 with 3 layers).

        Returns:
            ``(N, 1, h, w)`` logits, one per receptive field (about H/8 - 2 by W/8 - 2 with 3 layers);
            use them with BCE-with-logits.
        """
        check_image(x, self.in_channels, type(self).__name__)
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(f"PatchDiscriminator needs H, W >= {self.min_size}, got {tuple(x.shape)}")
        return self.body(x)

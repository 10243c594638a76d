"""U-Net image restorer (Ronneberger et al., 2015), adapted for restoration.

O. Ronneberger, P. Fischer and T. Brox, "U-Net: Convolutional Networks for
Biomedical Image Segmentation", MICCAI 2015.

Architecture (``depth`` downsamplings, so ``depth + 1`` resolution levels):

* encoder level ``i`` (``i = 0 .. depth``): 2 x (``Conv2d 3x3`` + ReLU) with
  ``width * 2**i`` channels; levels ``1 .. depth`` start with ``MaxPool2d(2)``;
* decoder level ``i`` (``i = depth-1 .. 0``): an upsampling from ``width *
  2**(i+1)`` to ``width * 2**i`` channels (see ``upsample``), concatenation
  with the encoder features of level ``i`` (the skip connection), then
  2 x (``Conv2d 3x3`` + ReLU) with ``width * 2**i`` channels;
* head: ``Conv2d 1x1`` to ``out_channels``; with ``residual=True`` the input
  is added, so the network learns the correction ``clean - degraded``.

Choices:

* No normalisation by default (``batch_norm=False``; every 3x3 convolution
  then has a bias). Restoration networks (EDSR, DRUNet, the Noise2Noise U-Net)
  drop BatchNorm: it couples the images of a batch, shifts colours and
  brightness when the eval-mode running statistics do not match the test
  images, and the small batches of large restoration patches make its
  statistics noisy. ``batch_norm=True`` gives the classic U-Net block
  (``Conv(bias=False)`` + ``BatchNorm2d`` + ReLU).
* Downsampling by max-pooling, as in the original U-Net. Upsampling by
  default (``upsample="bilinear"``) is a 1x1 convolution followed by bilinear
  x2 interpolation. The original's ``ConvTranspose2d(kernel 2, stride 2)``
  (``upsample="transpose"``, what checkpoints written before the option held)
  gives every bottleneck cell its own 16x16 block of the output with no
  overlap between neighbours: a trained restorer then edits photos in
  hard-edged rectangles (a correction switched on in one block and off in the
  next, seams of tens of grey levels). Bilinear upsampling spreads each deep
  feature smoothly over its neighbours (Odena et al., "Deconvolution and
  Checkerboard Artifacts", Distill 2016) and costs less.
* Init: Kaiming-normal (fan-in, ReLU gain) for the 3x3 convolutions, zero
  biases; the transposed convolutions keep PyTorch's default init. The 1x1
  head gets PyTorch's default init, scaled by :data:`HEAD_INIT_SCALE` (0.1)
  when ``residual=True``: the untrained network then starts close to the
  identity (initial loss about the degradation's own MSE instead of 5-30
  times more), while gradients still reach every layer from the first step.
* Any ``H x W``: the input is padded at the bottom/right to a multiple of
  ``2**depth`` (reflect padding, or replicate when the image is too small for
  reflection) and the output is cropped back. Nothing is resized.

Image convention (the project's tensor form): NCHW float32, RGB (``C=3``) or
grey (``C=1``), nominally in [0, 1]. The output is *not* clamped, so that a
training loss sees the raw prediction; clamp to [0, 1] yourself at inference.

Sizes (``depth=4``, RGB in and out, no BatchNorm; the count grows as
``width**2``):

* default ``width=32``: 7,237,923 parameters (7,760,163 with ``upsample="transpose"``);
* large ``width=44`` (:data:`LARGE_WIDTH`, :meth:`UNet.large`): 13,681,935 (14,669,295);
* ``width=64``: 28,942,915 (31,031,875 with transposed convolutions: the classic 31 M U-Net).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from agan.nets.layers import pad_to_multiple

__all__ = ["DEFAULT_WIDTH", "HEAD_INIT_SCALE", "LARGE_WIDTH", "UPSAMPLINGS", "UNet", "upsampling_of"]

#: Default base width: about 7.2 M parameters at depth 4.
DEFAULT_WIDTH: int = 32
#: Base width of the "large" setting: about 13.7 M parameters at depth 4.
LARGE_WIDTH: int = 44
#: Factor on the default init of the 1x1 head when ``residual=True``, so the
#: untrained network is close to the identity.
HEAD_INIT_SCALE: float = 0.1
#: The decoder's upsampling layers: ``bilinear`` (1x1 conv, then bilinear x2; the default) or
#: ``transpose`` (ConvTranspose2d 2x2 stride 2, the original U-Net's).
UPSAMPLINGS: tuple[str, ...] = ("bilinear", "transpose")


def _double_conv(in_channels: int, out_channels: int, batch_norm: bool) -> nn.Sequential:
    """Two (3x3 conv [+ BatchNorm] + ReLU) layers, ``(N, in, H, W) -> (N, out, H, W)``."""
    layers: list[nn.Module] = []
    for c_in in (in_channels, out_channels):
        layers.append(nn.Conv2d(c_in, out_channels, kernel_size=3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def upsampling_of(weights: Mapping[str, Any]) -> str:
    """The ``upsample`` a U-Net's state dict was made with, told by its names (``ups.0.weight`` is a
    transposed convolution's): for checkpoints that do not record it."""
    return "transpose" if "ups.0.weight" in weights else "bilinear"


def _upsampling(in_channels: int, out_channels: int, kind: str) -> nn.Module:
    """2x upsampling ``(N, in, H, W) -> (N, out, 2H, 2W)`` of the kind named in :data:`UPSAMPLINGS`."""
    if kind == "transpose":
        return nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
    # The 1x1 convolution runs before the interpolation: a quarter of the pixels.
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1),
                         nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))


class UNet(nn.Module):
    """U-Net encoder-decoder with concatenation skips, for image restoration.

    Args:
        in_channels: input image channels, 1 (grey) or 3 (RGB).
        out_channels: output channels; None means ``in_channels``.
        width: channels of the first level; level ``i`` has ``width * 2**i``.
        depth: number of 2x downsamplings (>= 1); inputs are padded to a
            multiple of ``2**depth`` internally.
        residual: add the input to the output, so the network predicts the
            correction. Needs ``out_channels == in_channels``.
        batch_norm: put a BatchNorm after every 3x3 convolution (the classic
            U-Net block); off by default, see the module docstring.
        upsample: the decoder's upsampling, ``"bilinear"`` (default) or
            ``"transpose"``; see the module docstring.

    Attributes:
        config: the constructor arguments as a JSON-able dict, for checkpoints
            (``UNet(**model.config)`` rebuilds the architecture).

    Raises:
        ValueError: a non-positive size, or ``residual=True`` with
            ``out_channels != in_channels``.

    Example:
        >>> import torch
        >>> from agan.baselines.unet import UNet
        >>> model = UNet(in_channels=3).eval()
        >>> sum(p.numel() for p in model.parameters())
        7237923
        >>> degraded = torch.rand(1, 3, 65, 97)
        >>> with torch.no_grad():
        ...     restored = model(degraded).clamp(0, 1)
        >>> restored.shape
        torch.Size([1, 3, 65, 97])
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int | None = None,
        width: int = DEFAULT_WIDTH,
        depth: int = 4,
        residual: bool = True,
        batch_norm: bool = False,
        upsample: str = "bilinear",
    ) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        if min(in_channels, out_channels, width, depth) < 1:
            raise ValueError(
                f"in_channels, out_channels, width and depth must be positive, got "
                f"{in_channels}, {out_channels}, {width}, {depth}"
            )
        if residual and out_channels != in_channels:
            raise ValueError(f"residual=True needs out_channels == in_channels, got {out_channels} != {in_channels}")
        if upsample not in UPSAMPLINGS:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLINGS)}, got {upsample!r}")
        self.config: dict[str, Any] = {
            "in_channels": int(in_channels),
            "out_channels": int(out_channels),
            "width": int(width),
            "depth": int(depth),
            "residual": bool(residual),
            "batch_norm": bool(batch_norm),
            "upsample": upsample,
        }
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.depth = int(depth)
        self.residual = bool(residual)

        channels = [width * 2**i for i in range(depth + 1)]
        self.encoders = nn.ModuleList([_double_conv(in_channels, channels[0], batch_norm)])
        self.encoders.extend(_double_conv(channels[i - 1], channels[i], batch_norm) for i in range(1, depth + 1))
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        # ups[j] / decoders[j] work at level depth-1-j (deepest first).
        self.ups = nn.ModuleList(
            _upsampling(channels[i + 1], channels[i], upsample) for i in reversed(range(depth))
        )
        self.decoders = nn.ModuleList(
            _double_conv(2 * channels[i], channels[i], batch_norm) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(channels[0], out_channels, kernel_size=1)
        self.reset_parameters()

    @classmethod
    def large(cls, in_channels: int = 3, out_channels: int | None = None, **kwargs: Any) -> "UNet":
        """The "large" setting: ``width=LARGE_WIDTH`` (44) at depth 4, about 13.7 M parameters.

        Args:
            in_channels: 1 (grey) or 3 (RGB).
            out_channels: None means ``in_channels``.
            **kwargs: other :class:`UNet` arguments (``residual``,
                ``batch_norm``; ``width`` and ``depth`` may be overridden).

        Returns:
            A freshly initialised :class:`UNet` (13,681,935 parameters for RGB).

        Example:
            >>> from agan.baselines.unet import UNet
            >>> UNet.large(3).config["width"]
            44
        """
        kwargs.setdefault("width", LARGE_WIDTH)
        kwargs.setdefault("depth", 4)
        return cls(in_channels=in_channels, out_channels=out_channels, **kwargs)

    def reset_parameters(self) -> None:
        """Kaiming-normal 3x3 convs with zero bias, BatchNorm 1/0, default upsampling layers and head.

        With ``residual=True`` the head's default weights and bias are scaled
        by :data:`HEAD_INIT_SCALE` so the initial output is close to the input.
        """
        for module in [*self.encoders.modules(), *self.decoders.modules()]:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
                module.reset_running_stats()
        for module in self.ups.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                module.reset_parameters()
        self.head.reset_parameters()
        if self.residual:
            with torch.no_grad():
                self.head.weight.mul_(HEAD_INIT_SCALE)
                self.head.bias.mul_(HEAD_INIT_SCALE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Restore a batch of images.

        Args:
            x: degraded images, ``(N, C, H, W)`` float32, C = ``in_channels``,
                nominally in [0, 1]; any H, W >= 1.

        Returns:
            ``(N, out_channels, H, W)`` restored images, nominally in [0, 1]
            but *not* clamped (clamp at inference, not in training).

        Example:
            >>> import torch
            >>> from agan.baselines.unet import UNet
            >>> UNet(1, width=8, depth=2)(torch.rand(2, 1, 31, 37)).shape
            torch.Size([2, 1, 31, 37])
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected an NCHW tensor with {self.in_channels} channels, got shape {tuple(x.shape)}")
        height, width = x.shape[-2:]
        h = pad_to_multiple(x, 2**self.depth)
        skips: list[torch.Tensor] = []
        for level, encoder in enumerate(self.encoders):
            if level > 0:
                h = self.pool(h)
            h = encoder(h)
            skips.append(h)
        skips.pop()  # the bottleneck output is h itself
        for up, decoder in zip(self.ups, self.decoders):
            h = decoder(torch.cat([skips.pop(), up(h)], dim=1))
        out = self.head(h)[..., :height, :width]
        return x + out if self.residual else out

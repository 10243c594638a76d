"""Layers and helpers shared by the networks: padding to a size or a multiple, the NCHW input
check, He initialisation, convolution shorthands, parameter counts.

Image convention: NCHW float32 tensors in [0, 1].
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """The number of scalar parameters of a module.

    Args:
        module: Any ``nn.Module``.
        trainable_only: Count only parameters with ``requires_grad=True``.

    Returns:
        The total number of elements over all (distinct) parameters.
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def pad_to_size(x: Tensor, height: int, width: int) -> Tensor:
    """Pad an image batch at the bottom and right to ``height`` x ``width``.

    Reflect padding when the image is large enough for it (each pad smaller
    than the side it extends), replicate padding otherwise.

    Args:
        x: ``(N, C, H, W)`` tensor with ``H <= height`` and ``W <= width``.
        height: Target height.
        width: Target width.

    Returns:
        ``(N, C, height, width)`` tensor; ``x`` itself when no padding is needed.
    """
    h, w = x.shape[-2:]
    pad_h, pad_w = height - h, width - w
    if pad_h < 0 or pad_w < 0:
        raise ValueError(f"cannot pad {h}x{w} to the smaller size {height}x{width}")
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Pad an image batch at the bottom and right so both sides are multiples of ``multiple``.

    Args:
        x: ``(N, C, H, W)`` tensor.
        multiple: Positive integer.

    Returns:
        ``(N, C, ceil(H/m)*m, ceil(W/m)*m)`` tensor (see :func:`pad_to_size`
        for the padding mode); crop the result back with ``[..., :H, :W]``.
    """
    h, w = x.shape[-2:]
    return pad_to_size(x, -(-h // multiple) * multiple, -(-w // multiple) * multiple)


def check_image(x: Tensor, channels: int, name: str) -> None:
    """Raise ValueError naming the network ``name`` unless ``x`` is an NCHW tensor of ``channels`` channels."""
    if x.dim() != 4:
        raise ValueError(f"{name} expects an NCHW tensor, got shape {tuple(x.shape)}")
    if x.shape[1] != channels:
        raise ValueError(f"{name} was built for {channels} channel(s), got shape {tuple(x.shape)}")


def he_init(module: nn.Module, scale: float = 1.0) -> None:
    """He (Kaiming-normal, fan-in, ReLU gain) weights times ``scale`` and zero biases.

    Applied to every convolution and linear layer under ``module``. PyTorch's
    default init shrinks the signal about sixfold per ReLU layer; through the
    ten-plus plain layers of these networks the image is then drowned out by
    the biases, and the attention maps and the discriminator start (and, on
    small budgets, stay) constant. BasicSR initialises its restorers the same
    way (``default_init_weights``).
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            m.weight.data.mul_(scale)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def same_conv(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    """A 'same'-padded convolution (halving the size exactly when stride 2 on even sides)."""
    return nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=dilation * (kernel // 2), dilation=dilation)


def same_conv_relu(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """:func:`same_conv` followed by an in-place ReLU."""
    return nn.Sequential(same_conv(in_ch, out_ch, kernel, stride, dilation), nn.ReLU(inplace=True))

"""Inference of a network on images of any size: whole, or in overlapping tiles blended with a weight map.

Tensors are NCHW float32 in [0, 1] (RGB or grey). Tiles of ``tile`` pixels
step by ``tile - overlap``; each tile's output is weighted by a map that is
0 in the outer third of the overlap on every side that faces another tile
(where the tile's own border would show) and rises linearly to 1 over the
middle third, so seams are smooth and a network whose receptive radius is
below ``overlap // 3`` (DnCNN-17: 17 pixels, so ``overlap >= 54``) gives
exactly the whole-image result. Sides on the image border keep weight 1.
Tiles run in batches.

:func:`autocast_forward` runs a forward under bf16 autocast on CUDA (float32
everywhere else) and returns float32; :func:`self_ensemble` averages a
forward over the eight flips and 90-degree rotations of the input (the x8
self-ensemble of KAIR's ``test_mode`` mode 3), each output mapped back first.
"""

from __future__ import annotations

import contextlib
import math
from typing import Callable

import torch

from agan.nets import GeneratorOutput

Forward = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]

#: Tile side used when an image is too large for one pass and no tile is asked for.
DEFAULT_TILE = 512


def run_network(model: torch.nn.Module) -> Forward:
    """``x -> (image, attention or None)`` for any of our networks (the GAN returns a GeneratorOutput)."""

    def forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = model(x)
        if isinstance(out, GeneratorOutput):
            return out.image, out.attention[-1]
        return out, None

    return forward


def _starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / stride) + 1
    return sorted({min(i * stride, length - tile) for i in range(count)})


def _ramp(size: int, overlap: int, low_side: bool, high_side: bool, device: torch.device) -> torch.Tensor:
    """1-D weights of a tile: 0 over the outer third of the overlap, a linear rise over the middle third."""
    w = torch.ones(size, device=device)
    margin = overlap // 3
    rise = max(overlap - 2 * margin, 1)
    ramp = ((torch.arange(size, device=device, dtype=torch.float32) - margin + 0.5) / rise).clamp(0, 1)
    if low_side:
        w = torch.minimum(w, ramp)
    if high_side:
        w = torch.minimum(w, ramp.flip(0))
    return w


@torch.inference_mode()
def tiled(forward: Forward, x: torch.Tensor, tile: int, overlap: int, batch: int = 4) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run ``forward`` over overlapping tiles of ``x`` (1CHW) and blend; returns ``(image, attention or None)``.

    Args:
        forward: the network as from :func:`run_network`.
        x: ``(1, C, H, W)`` input in [0, 1].
        tile: tile side in pixels (clipped to the image).
        overlap: pixels shared by neighbouring tiles; ``< tile``.
        batch: tiles per forward pass.
    """
    if overlap >= tile:
        raise ValueError(f"overlap ({overlap}) must be smaller than the tile ({tile})")
    _, _, height, width = x.shape
    th, tw = min(tile, height), min(tile, width)
    stride_h, stride_w = max(th - overlap, 1), max(tw - overlap, 1)
    ys, xs = _starts(height, th, stride_h), _starts(width, tw, stride_w)
    boxes = [(y, x0) for y in ys for x0 in xs]
    image = attention = None
    weight_sum = torch.zeros(1, 1, height, width, device=x.device)
    for first in range(0, len(boxes), batch):
        chunk = boxes[first : first + batch]
        outputs, maps = forward(torch.cat([x[..., y : y + th, x0 : x0 + tw] for y, x0 in chunk]))
        if image is None:
            image = torch.zeros(1, outputs.shape[1], height, width, device=x.device)
            attention = torch.zeros(1, 1, height, width, device=x.device) if maps is not None else None
        for k, (y, x0) in enumerate(chunk):
            wy = _ramp(th, overlap, y > 0, y + th < height, x.device)
            wx = _ramp(tw, overlap, x0 > 0, x0 + tw < width, x.device)
            weight = (wy[:, None] * wx[None, :])[None, None]
            image[..., y : y + th, x0 : x0 + tw] += outputs[k : k + 1].float() * weight
            if attention is not None:
                attention[..., y : y + th, x0 : x0 + tw] += maps[k : k + 1].float() * weight
            weight_sum[..., y : y + th, x0 : x0 + tw] += weight
    image = image / weight_sum
    return image, (attention / weight_sum if attention is not None else None)


def autocast_forward(forward: Forward, device: torch.device, bf16: bool | None = None) -> Forward:
    """``forward`` under bf16 autocast when ``bf16`` (None: on CUDA only), else in float32; outputs are
    float32 either way."""
    bf16 = device.type == "cuda" if bf16 is None else bf16

    def run(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        context = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with context:
            image, attention = forward(x)
        return image.float(), (attention.float() if attention is not None else None)

    return run


def tile_side(height: int, width: int, tile: int | None, max_pixels: int, default: int = DEFAULT_TILE) -> int | None:
    """The tile side to use for an ``height x width`` image, or None for one whole-image forward.

    Whole when no ``tile`` is asked for and the image has at most ``max_pixels``
    pixels; otherwise ``tile`` (``default`` when None).
    """
    if tile is None and height * width <= max_pixels:
        return None
    return default if tile is None else tile


def _augment(x: torch.Tensor, mode: int) -> torch.Tensor:
    """Mode 0-7 of the x8 ensemble on NCHW: ``mode % 4`` quarter turns, then a left-right flip if ``mode >= 4``."""
    x = torch.rot90(x, mode % 4, dims=(2, 3))
    return x.flip(3) if mode >= 4 else x


def _restore_orientation(y: torch.Tensor, mode: int) -> torch.Tensor:
    """The inverse of :func:`_augment`: undo the flip, then turn back."""
    y = y.flip(3) if mode >= 4 else y
    return torch.rot90(y, -(mode % 4), dims=(2, 3))


@torch.inference_mode()
def self_ensemble(forward: Forward, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The x8 self-ensemble: mean of ``forward`` over the 8 flips/rotations of ``x``, each mapped back.

    Args:
        forward: ``x -> (image, attention or None)``, e.g. a whole-image or a
            tiled forward; it sees (N, C, W, H) inputs for odd quarter turns.
        x: ``(N, C, H, W)`` input in [0, 1].

    Returns:
        ``(image (N, C', H, W), attention (N, 1, H, W) or None)``, float32
        means of the 8 outputs (the attention maps averaged the same way).
    """
    image_sum = attention_sum = None
    for mode in range(8):
        image, attention = forward(_augment(x, mode))
        image = _restore_orientation(image.float(), mode)
        image_sum = image if image_sum is None else image_sum + image
        if attention is not None:
            attention = _restore_orientation(attention.float(), mode)
            attention_sum = attention if attention_sum is None else attention_sum + attention
    return image_sum / 8, (attention_sum / 8 if attention_sum is not None else None)

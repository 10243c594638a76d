"""Trainable architectures by name, and restorers built from checkpoints.

``ARCHITECTURES`` maps a registry name to the network class (and, for the
GAN, its discriminator). A checkpoint names its architecture and constructor
arguments (see :mod:`agan.checkpoints`), so :func:`model_from_checkpoint`
rebuilds the network without unpickling anything.

:class:`ModelRestorer` runs a network on the toolkit's numpy images: HWC
float32 RGB or grey in [0, 1] in, the same out (clamped to [0, 1]); inside it
the image is an NCHW float32 tensor in channels_last memory format. Images up
to ``max_pixels`` run in one forward pass, larger ones (or any, given
``tile``) in overlapping tiles (:mod:`agan.inference`); ``ensemble=True``
averages the x8 flips/rotations. On CUDA the network runs under bf16 autocast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from agan.baselines.dncnn import DnCNN
from agan.baselines.unet import UNet

from .checkpoints import CheckpointError, load_checkpoint
from .inference import DEFAULT_TILE, Forward, autocast_forward, run_network, self_ensemble, tile_side, tiled
from .models import AttentiveDiscriminator, AttentiveGenerator, count_parameters


@dataclass(frozen=True)
class Architecture:
    """A trainable network: ``build(**args)``; ``discriminator`` for adversarial models."""

    name: str
    build: Callable[..., nn.Module]
    summary: str
    discriminator: Callable[..., nn.Module] | None = None

    def parameters(self, **args: Any) -> int:
        """Learnable parameters of the network (the generator for a GAN) built with ``args``."""
        return count_parameters(self.build(**args))


ARCHITECTURES: dict[str, Architecture] = {
    "attentive-gan": Architecture(
        "attentive-gan", AttentiveGenerator,
        "Attentive GAN generator (Qian et al. 2018): ConvLSTM attention + contextual autoencoder",
        discriminator=AttentiveDiscriminator,
    ),
    "dncnn": Architecture("dncnn", DnCNN, "DnCNN (Zhang et al. 2017): 17 conv+BN layers, residual learning"),
    "unet": Architecture("unet", UNet, "U-Net: encoder-decoder with concatenated skips, residual output"),
}


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(ARCHITECTURES)}") from None


def model_from_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the network a checkpoint holds, in eval mode on ``device``, with float32 weights.

    Returns:
        ``(model, payload)``; the payload is the checkpoint dict.

    Raises:
        CheckpointError: unreadable file, unknown architecture, or weights
            that do not fit it; the message names the file.
    """
    payload = load_checkpoint(path, map_location="cpu")
    if payload["model"] not in ARCHITECTURES:
        raise CheckpointError(f"{path}: unknown model {payload['model']!r}; known: {', '.join(ARCHITECTURES)}")
    if not all(torch.isfinite(v).all() for v in payload["weights"].values() if v.is_floating_point()):
        raise CheckpointError(f"{path}: its weights are not finite (NaN or infinite): the training that wrote it "
                              "diverged; use an earlier checkpoint")
    try:
        model = ARCHITECTURES[payload["model"]].build(**payload["model_args"])
        weights = {k: v.float() if v.is_floating_point() else v for k, v in payload["weights"].items()}
        model.load_state_dict(weights)
    except (TypeError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{path}: weights do not fit {payload['model']} ({first})") from None
    return model.to(device).eval(), payload


LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # BT.601 weights of R, G, B


class ModelRestorer:
    """A network as a restorer of HWC float32 [0, 1] images (RGB or grey).

    Grey images given to a colour network are replicated to RGB and brought back
    to one channel by BT.601 luma; a colour image given to a grey network is
    restored one channel at a time (its attention map, for the GAN, is the mean
    of the channels' maps).

    Args:
        model: a network in eval mode on ``device``; NCHW float32 in [0, 1] in,
            an image tensor or a :class:`~agan.models.GeneratorOutput` out. It is
            converted to channels_last memory format in place (same results
            within 1e-7, a third faster for DnCNN on the CPU).
        device: where ``model`` is; on CUDA it runs under bf16 autocast.
        tile: tile side in pixels; None runs images of at most ``max_pixels``
            whole and larger ones in tiles of ``DEFAULT_TILE`` (512).
        overlap: pixels shared by neighbouring tiles (``< tile``); a network
            whose receptive radius is at most ``overlap // 3`` tiles exactly.
        max_pixels: the largest image (H * W) run in one pass when ``tile`` is None.
        ensemble: average the outputs (and attention maps) over the 8
            flips/rotations of the input (x8 self-ensemble; 8x slower).
        batch: tiles per forward pass.

    Raises:
        ValueError: ``overlap`` not below the tile, or a non-positive size.
    """

    learned = True  # a trained network (see Method.learned)

    def __init__(self, model: nn.Module, device: str | torch.device = "cpu", *, tile: int | None = None,
                 overlap: int = 64, max_pixels: int = 2_000_000, ensemble: bool = False, batch: int = 4):
        _check_tiling(tile, overlap, max_pixels, batch)
        self.model, self.device = model.to(memory_format=torch.channels_last), torch.device(device)
        self.channels = int(getattr(model, "config", {}).get("in_channels", 3))
        self.tile, self.overlap, self.max_pixels, self.ensemble, self.batch = tile, overlap, max_pixels, ensemble, batch
        self._forward: Forward = autocast_forward(run_network(self.model), self.device)

    @property
    def gives_attention(self) -> bool:
        """True when the network returns attention maps (the Attentive GAN generator)."""
        return isinstance(self.model, AttentiveGenerator)

    def _infer(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(1, C, H, W)`` -> ``(image (1, C, H, W), attention (1, 1, H, W) or None)``: whole or tiled, maybe x8."""
        side = tile_side(x.shape[2], x.shape[3], self.tile, self.max_pixels)
        if side is None:
            forward = self._forward
        else:
            def forward(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
                return tiled(self._forward, t, side, self.overlap, self.batch)
        return self_ensemble(forward, x) if self.ensemble else forward(x)

    @torch.inference_mode()
    def _run(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Restore an HWC image with the network's channel count; returns (HWC in [0, 1], HW attention or None)."""
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(self.device)
        y, attention = self._infer(x.contiguous(memory_format=torch.channels_last))
        restored = y.clamp(0.0, 1.0)[0].permute(1, 2, 0).float().cpu().numpy()
        return np.ascontiguousarray(restored), (attention[0, 0].float().cpu().numpy() if attention is not None else None)

    def restore_with_attention(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Restore HWC float32 [0, 1] ``image`` and return the network's last attention map.

        Returns:
            ``(restored, attention)``: ``restored`` has the shape of ``image``,
            float32 in [0, 1]; ``attention`` is an ``(H, W)`` float32 map, raw
            (linear, about [0, 1], 1 where the GAN sees raindrops; clamp it to
            show it), or None for networks without attention.
        """
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.dtype.kind != "f":
            raise ValueError(f"ModelRestorer takes HWC float images in [0, 1], got "
                             f"{getattr(image, 'dtype', type(image).__name__)} of shape {np.shape(image)}; "
                             "agan.load() takes uint8 and HW arrays too")
        image = np.asarray(image, np.float32)
        channels = image.shape[2]
        if channels == self.channels:
            return self._run(image)
        if self.channels == 1:
            results = [self._run(image[..., c : c + 1]) for c in range(channels)]
            maps = [m for _, m in results if m is not None]
            attention = np.mean(maps, axis=0, dtype=np.float32) if maps else None
            return np.concatenate([r for r, _ in results], axis=2), attention
        rgb, attention = self._run(np.repeat(image, 3, axis=2))
        return (rgb @ LUMA)[..., None], attention

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Restore HWC float32 [0, 1] ``image``; returns the same shape, float32, in [0, 1]."""
        return self.restore_with_attention(image)[0]


def _check_tiling(tile: int | None, overlap: int, max_pixels: int, batch: int) -> None:
    if (tile is not None and tile < 1) or overlap < 0 or max_pixels < 1 or batch < 1:
        raise ValueError(f"bad tiling: tile={tile}, overlap={overlap}, max_pixels={max_pixels}, batch={batch}")
    side = DEFAULT_TILE if tile is None else tile
    if overlap >= side:
        raise ValueError(f"overlap ({overlap}) must be smaller than the tile ({side})")

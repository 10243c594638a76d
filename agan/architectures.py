"""Trainable architectures by name, and restorers built from checkpoints.

``ARCHITECTURES`` maps a registry name to the network class (and, for the
GAN, its discriminator). A checkpoint names its architecture and constructor
arguments (see :mod:`agan.checkpoints`), so :func:`model_from_checkpoint`
rebuilds the network without unpickling anything.

:class:`ModelRestorer` runs a network on the toolkit's numpy images: HWC
float32 RGB or grey in [0, 1] in, the same out (clamped to [0, 1]); inside it
the image is an NCHW float32 tensor. This is whole-image inference;
tiling for very large photos is a separate step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from baselines.dncnn import DnCNN
from baselines.unet import UNet

from .checkpoints import CheckpointError, load_checkpoint
from .models import AttentiveDiscriminator, AttentiveGenerator, GeneratorOutput, count_parameters


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
    try:
        model = ARCHITECTURES[payload["model"]].build(**payload["model_args"])
        weights = {k: v.float() if v.is_floating_point() else v for k, v in payload["weights"].items()}
        model.load_state_dict(weights)
    except (TypeError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{path}: weights do not fit {payload['model']} ({first})") from None
    return model.to(device).eval(), payload


class ModelRestorer:
    """A network as a restorer of HWC float32 [0, 1] images (RGB or grey).

    Grey images given to a colour network are replicated to RGB and brought back
    to one channel by BT.601 luma; a colour image given to a grey network is
    restored one channel at a time.
    """

    def __init__(self, model: nn.Module, device: str | torch.device = "cpu"):
        self.model, self.device = model, torch.device(device)
        self.channels = int(getattr(model, "config", {}).get("in_channels", 3))

    @torch.inference_mode()
    def _run(self, image: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(self.device)
        y = self.model(x)
        if isinstance(y, GeneratorOutput):
            y = y.image
        return y.clamp(0.0, 1.0)[0].permute(1, 2, 0).float().cpu().numpy()

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Restore HWC float32 [0, 1] ``image``; returns the same shape, float32, in [0, 1]."""
        image = np.asarray(image, np.float32)
        channels = image.shape[2]
        if channels == self.channels:
            return self._run(image)
        if self.channels == 1:
            return np.concatenate([self._run(image[..., c : c + 1]) for c in range(channels)], axis=2)
        rgb = self._run(np.repeat(image, 3, axis=2))
        return (rgb @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]

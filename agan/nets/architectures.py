"""Trainable architectures by name, and networks rebuilt from checkpoints.

``ARCHITECTURES`` maps a registry name to the network class (and, for the
GAN, its discriminator). A checkpoint names its architecture and constructor
arguments (see :mod:`agan.nets.checkpoints`), so :func:`model_from_checkpoint`
rebuilds the network without unpickling anything.

:class:`agan.methods.restorer.ModelRestorer` runs a network on the toolkit's numpy images: HWC
float32 RGB or grey in [0, 1] in, the same out (clamped to [0, 1]); inside it
the image is an NCHW float32 tensor in channels_last memory format. Images up
to ``max_pixels`` run in one forward pass, larger ones (or any, given
``tile``) in overlapping tiles (:mod:`agan.methods.tiling`); ``ensemble=True``
averages the x8 flips/rotations. On CUDA the network runs under bf16 autocast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from agan.baselines.dncnn import DnCNN
from agan.baselines.unet import UNet, upsampling_of
from agan.data.spec import lookup
from agan.nets import AttentiveDiscriminator, AttentiveGenerator, count_parameters
from agan.nets.checkpoints import CheckpointError, float32_weights, load_checkpoint


@dataclass(frozen=True)
class Architecture:
    """A trainable network: ``build(**args)``; ``discriminator`` for adversarial models.

    ``legacy_args`` are constructor arguments added after run folders of the
    network were first written, each with the value those runs were built
    with: a run folder's ``model_args`` that lack one meant that value (new
    runs store them). ``weights_args`` tells such arguments from a state dict,
    for checkpoints that do not name them.
    """

    name: str
    build: Callable[..., nn.Module]
    summary: str
    discriminator: Callable[..., nn.Module] | None = None
    legacy_args: dict[str, Any] = field(default_factory=dict)
    weights_args: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    multiple: Callable[[dict[str, Any]], int] = lambda args: 1

    def size_multiple(self, args: dict[str, Any]) -> int:
        """The multiple the network pads its input's height and width to, built with ``args``
        (an exported graph takes only such sizes)."""
        return int(self.multiple(args))

    def stored_args(self, model_args: dict[str, Any]) -> dict[str, Any]:
        """The constructor arguments that a run folder's ``model_args`` meant (legacy values filled in)."""
        return {**self.legacy_args, **model_args}

    def checkpoint_args(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The constructor arguments of a checkpoint: its ``model_args``, completed from its weights."""
        told = self.weights_args(payload["weights"]) if self.weights_args is not None else {}
        return {**told, **payload["model_args"]}

    def explicit_args(self, model_args: dict[str, Any], model: nn.Module) -> dict[str, Any]:
        """``model_args`` plus the values ``model`` was built with for every legacy argument, to store."""
        return {**model_args, **{key: model.config[key] for key in self.legacy_args}}

    def parameters(self, **args: Any) -> int:
        """Learnable parameters of the network (the generator for a GAN) built with ``args``."""
        return count_parameters(self.build(**args))


ARCHITECTURES: dict[str, Architecture] = {
    "attentive-gan": Architecture(
        "attentive-gan", AttentiveGenerator,
        "Attentive GAN generator (Qian et al. 2018): ConvLSTM attention + contextual autoencoder",
        discriminator=AttentiveDiscriminator, multiple=lambda args: AttentiveGenerator.multiple,
    ),
    "dncnn": Architecture("dncnn", DnCNN, "DnCNN (Zhang et al. 2017): 17 conv+BN layers, residual learning"),
    "unet": Architecture("unet", UNet, "U-Net: encoder-decoder with concatenated skips, residual output",
                         legacy_args={"upsample": "transpose"},
                         weights_args=lambda weights: {"upsample": upsampling_of(weights)},
                         multiple=lambda args: 2 ** int(args.get("depth", 4))),
}


def architecture_of(model: nn.Module) -> Architecture:
    """The entry of a built network (by its class)."""
    for architecture in ARCHITECTURES.values():
        if type(model) is architecture.build:
            return architecture
    raise ValueError(f"{type(model).__name__} is not one of agan's architectures ({', '.join(ARCHITECTURES)})")


def get_architecture(name: str) -> Architecture:
    """The architecture ``name`` (``attentive-gan``, ``dncnn``, ``unet``); UnknownNameError lists them."""
    return lookup(ARCHITECTURES, name, "model")


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
        architecture = ARCHITECTURES[payload["model"]]
        model = architecture.build(**architecture.checkpoint_args(payload))
        weights = float32_weights(payload["weights"])
        model.load_state_dict(weights)
    except (TypeError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{path}: weights do not fit {payload['model']} ({first})") from None
    return model.to(device).eval(), payload

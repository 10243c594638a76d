"""Trainable architectures by name, and networks rebuilt from checkpoints.

``ARCHITECTURES`` maps a registry name to the network class (and, for the
GAN, its discriminator). A checkpoint names its architecture and constructor
arguments (see :mod:`agan.nets.checkpoints`), so :func:`model_from_checkpoint`
rebuilds the network without unpickling anything.

Each :class:`Architecture` entry also holds what the rest of agan needs to know about its network
(outputs, training target, default settings, size multiple), so that no other module asks which
network it has: a new network is its class and one entry (``CONTRIBUTING.md``).
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
    """A trainable network and the facts the rest of agan needs about it: ``build(**args)``;
    ``discriminator`` for a model that always trains against its own; ``attention``: its forward
    returns a :class:`~agan.nets.GeneratorOutput` with attention maps rather than an image;
    ``predicts_noise``: trained on its residual (``predict_noise``), the paper's target for DnCNN;
    ``defaults``: the training settings that differ from :class:`~agan.training.config.TrainConfig`'s
    (its paper's lr, loss, betas); ``receptive_radius(args)``: pixels each output sees on each side,
    where it is bounded (None for the U-Net and the GAN, whose reach is the whole image); ``multiple``:
    the size its input is padded to a multiple of.

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
    attention: bool = False
    predicts_noise: bool = False
    defaults: dict[str, Any] = field(default_factory=dict)
    receptive_radius: Callable[[dict[str, Any]], int | None] = lambda args: None

    def outputs(self, out: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(image, last attention map or None)`` of what the network's forward returned."""
        return (out.image, out.attention[-1]) if self.attention else (out, None)

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
        discriminator=AttentiveDiscriminator, multiple=lambda args: AttentiveGenerator.multiple, attention=True,
        # Adam with beta1 = 0.5 for both networks, the usual GAN setting (pix2pix).
        defaults={"lr": 2e-4, "betas": (0.5, 0.999)},
    ),
    "dncnn": Architecture("dncnn", DnCNN, "DnCNN (Zhang et al. 2017): 17 conv+BN layers, residual learning",
                          predicts_noise=True,
                          # Adam at 1e-3, decayed (Zhang et al. 2017); MSE on the residual.
                          defaults={"lr": 1e-3}, receptive_radius=lambda args: int(args.get("depth", 17))),
    "unet": Architecture("unet", UNet, "U-Net: encoder-decoder with concatenated skips, residual output",
                         legacy_args={"upsample": "transpose"},
                         weights_args=lambda weights: {"upsample": upsampling_of(weights)},
                         multiple=lambda args: 2 ** int(args.get("depth", 4)), defaults={"lr": 2e-4, "loss": "l1"}),
}


#: What agan assumes of a network outside :data:`ARCHITECTURES` (a module of your own given to a
#: restorer): an image in, an image out, any size.
FOREIGN = Architecture("network", nn.Module, "a network of your own: an image in, an image out")


def architecture_of(model: nn.Module, *, foreign: bool = False) -> Architecture:
    """The entry of a built network (by its class); :data:`FOREIGN` for another module when ``foreign``,
    else ValueError."""
    for architecture in ARCHITECTURES.values():
        if type(model) is architecture.build:
            return architecture
    if foreign:
        return FOREIGN
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

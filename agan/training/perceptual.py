"""The perceptual loss of the Attentive GAN: VGG16 features (torchvision's ImageNet weights, from
the torch hub cache, downloaded there once when missing) of the output against the clean image.

Image convention: NCHW float32 tensors in [0, 1], RGB (grey images are repeated to 3 channels).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agan.errors import StoppedError
from agan.hub import cached_weights_path, fetch_weights

# torchvision's VGG16 ``features`` layout: conv widths, "M" = 2x2 max pool.
_VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


# --------------------------------------------------------------------------- #
# Perceptual loss
# --------------------------------------------------------------------------- #
class PerceptualWeightsMissing(StoppedError):
    """The torchvision ImageNet VGG16 weights the perceptual loss needs are not in the torch hub cache."""


def _vgg16_layer_names() -> list[str]:
    """Names of the modules of torchvision's ``vgg16().features``, in order (conv1_1, relu1_1, ...)."""
    names, block, index = [], 1, 1
    for item in _VGG16_CONFIG:
        if item == "M":
            names.append(f"pool{block}")
            block, index = block + 1, 1
        else:
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
            index += 1
    return names


VGG16_LAYERS: tuple[str, ...] = tuple(_vgg16_layer_names())
"""Names of torchvision's VGG16 feature modules, index = position in ``vgg16().features``."""


# The reference code's perceptual features (rui1996/DeRaindrop ``vgg_init.py``).
DEFAULT_PERCEPTUAL_LAYERS = ("relu1_1", "relu1_2", "relu2_1", "relu2_2")


def _vgg16_weights() -> object:
    """torchvision's ImageNet VGG16 weights entry (its ``url`` names the cached file)."""
    from torchvision.models import VGG16_Weights

    return VGG16_Weights.IMAGENET1K_V1


def vgg16_weights_path() -> Path:
    """Where torchvision caches its ImageNet VGG16 weights.

    ``torch.hub.get_dir() / "checkpoints" / <file name of
    torchvision.models.VGG16_Weights.IMAGENET1K_V1.url>``, i.e.
    ``.../hub/checkpoints/vgg16-397923af.pth``; ``torch.hub.get_dir()``
    follows ``TORCH_HOME`` and ``torch.hub.set_dir``.

    Returns:
        The path (which may not exist).
    """
    return cached_weights_path(_vgg16_weights())


def _missing_message(path: Path, reason: str) -> str:
    return (
        f"perceptual loss unavailable: the VGG16 ImageNet weights are not in the torch hub cache at {path} "
        f"({reason}); on a machine with internet, "
        "python -c \"import torchvision; torchvision.models.vgg16(weights='IMAGENET1K_V1')\" puts them there "
        "(or train without the perceptual loss with --perceptual none)"
    )


class PerceptualLoss(nn.Module):
    """MSE between frozen VGG16 features of output and target.

    ``L_P = (1/K) sum_k MSE(phi_k(O), phi_k(T))`` over the ``K`` chosen ReLU
    layers of torchvision's VGG16 with ImageNet weights (by default relu1_1,
    relu1_2, relu2_1 and relu2_2, the features the reference code extracts).
    Inputs in [0, 1] are normalised with the ImageNet mean/std; grey images are
    replicated to 3 channels. The network is frozen (no trainable parameters,
    always in eval mode); gradients flow to the output image only.

    The weights are read from the torch hub cache (:func:`vgg16_weights_path`),
    downloaded there first when missing (528 MB, once, as torchvision would;
    :func:`agan.hub.fetch_weights`). When they are neither there nor
    downloadable the constructor raises :class:`PerceptualWeightsMissing`.

    Args:
        layers: VGG16 layer names (see :data:`VGG16_LAYERS`) whose features
            are compared, e.g. ``("relu2_2",)`` or ``("relu3_3",)``.
        random_weights: FOR TESTS ONLY: a randomly initialised VGG16 (seeded,
            without touching the global RNG), since the real ImageNet weights
            are not available offline. Its values mean nothing.
    """

    def __init__(
        self,
        layers: Sequence[str] = DEFAULT_PERCEPTUAL_LAYERS,
        random_weights: bool = False,
    ) -> None:
        super().__init__()
        layers = tuple(layers)
        unknown = [name for name in layers if name not in VGG16_LAYERS]
        if not layers or unknown:
            raise ValueError(f"unknown VGG16 layers {unknown or layers}; known: {', '.join(VGG16_LAYERS)}")
        self.layers = layers
        self._indices = sorted(VGG16_LAYERS.index(name) for name in layers)
        depth = self._indices[-1] + 1

        state = None
        if not random_weights:
            path, reason = fetch_weights(_vgg16_weights(), "the VGG16 ImageNet weights (528 MB) of the perceptual loss")
            if reason is not None:
                raise PerceptualWeightsMissing(_missing_message(path, reason))
            state = torch.load(path, map_location="cpu", weights_only=True)

        if random_weights:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                self.features = self._build(depth)
        else:
            self.features = self._build(depth)
            prefix = "features."
            self.features.load_state_dict(
                {
                    key[len(prefix):]: value
                    for key, value in state.items()
                    if key.startswith(prefix) and int(key[len(prefix):].split(".")[0]) < depth
                }
            )
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.features.eval()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    @staticmethod
    def _build(depth: int) -> nn.Sequential:
        """The first ``depth`` modules of torchvision's VGG16 ``features`` (same indices and shapes)."""
        modules: list[nn.Module] = []
        channels = 3
        for item in _VGG16_CONFIG:
            if item == "M":
                modules.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                modules += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=False)]
                channels = int(item)
        return nn.Sequential(*modules[:depth])

    def train(self, mode: bool = True) -> PerceptualLoss:
        """Keeps the VGG in eval mode whatever ``mode`` is."""
        super().train(mode)
        self.features.eval()
        return self

    def extract(self, x: Tensor) -> list[Tensor]:
        """VGG16 features of an image batch at the chosen layers.

        Args:
            x: ``(N, 3 or 1, H, W)`` in [0, 1].

        Returns:
            One ``(N, C_k, H_k, W_k)`` tensor per layer, in network order.
        """
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise ValueError(f"PerceptualLoss expects 1 or 3 channels, got {tuple(x.shape)}")
        y = (x - self.mean) / self.std
        out = []
        wanted = set(self._indices)
        for index, module in enumerate(self.features):
            y = module(y)
            if index in wanted:
                out.append(y)
        return out

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        """Perceptual distance.

        Args:
            output: ``(N, C, H, W)`` restored image in [0, 1] (C = 3 or 1).
            target: ``(N, C, H, W)`` clean image in [0, 1] (no gradient).

        Returns:
            Scalar tensor, >= 0; 0 for identical images.
        """
        with torch.no_grad():
            target_features = self.extract(target)
        output_features = self.extract(output)
        loss = output.new_zeros(())
        for o, t in zip(output_features, target_features):
            loss = loss + F.mse_loss(o, t)
        return loss / len(output_features)

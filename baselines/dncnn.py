"""DnCNN: the residual-learning denoising CNN of Zhang et al. (2017).

K. Zhang, W. Zuo, Y. Chen, D. Meng and L. Zhang, "Beyond a Gaussian Denoiser:
Residual Learning of Deep CNN for Image Denoising", IEEE TIP 26(7), 2017.

The network is a plain stack of 3x3 convolutions at one resolution:

* layer 1: ``Conv2d(in_channels, width, 3)`` + ReLU;
* layers 2 .. depth-1: ``Conv2d(width, width, 3, bias=False)`` + BatchNorm + ReLU;
* layer ``depth``: ``Conv2d(width, in_channels, 3)``.

It predicts the *noise* (residual learning): :meth:`DnCNN.predict_noise`
returns ``net(x)`` and :meth:`DnCNN.forward` returns the restored image
``x - net(x)``. With zero padding ("same" convolutions) it runs on any
``H x W`` without resizing; the receptive field is ``2 * depth + 1`` pixels
(35 for DnCNN-S, 41 for DnCNN-B).

Image convention (the project's tensor form): NCHW float32, RGB (``C=3``) or
grey (``C=1``), nominally in [0, 1]. Noisy inputs may lie outside [0, 1]
(unclipped Gaussian noise) and the output is *not* clamped, so that a training
loss sees the raw prediction; clamp to [0, 1] yourself at inference.

Settings taken from the authors' own code (``cszn/DnCNN`` Keras/PyTorch
training code and KAIR's ``basicblock.conv``):

* BatchNorm ``eps=1e-4`` and PyTorch ``momentum=0.9`` (:data:`BN_EPS`,
  :data:`BN_MOMENTUM`), as in KAIR. PyTorch's ``momentum`` is the weight of
  the *new* batch (``running = (1 - m) * running + m * batch``), i.e. Keras
  momentum ``1 - m = 0.1``. The authors deliberately use a large PyTorch
  momentum (KAIR 0.9, their PyTorch port 0.95, their Keras code Keras-0.0 =
  PyTorch 1.0) so the running statistics follow the most recent batches; the
  PyTorch default 0.1 is *not* what they use.
* Weight init: orthogonal for every convolution, zero conv bias, BatchNorm
  ``weight=1, bias=0`` (the authors' Keras and PyTorch training code; the paper
  itself cites He et al.'s init for its MatConvNet model). One departure: the
  last convolution's orthogonal weights are scaled by :data:`LAST_INIT_SCALE`
  (0.01), so an untrained DnCNN returns its input (as the U-Net's head does)
  instead of subtracting a unit-scale "noise" (2.6 dB at step 0). Measured on
  one batch (64 BSDS432 patches 40x40, Gaussian sigma 25, MSE, Adam): the
  authors' init at lr 1e-3 falls back to the identity and stays there for 150
  steps (colour DnCNN-20; the shipped preview barely denoised); with this
  scale and lr 1e-4 (KAIR's) it rises steadily, 21.8 dB at step 150 against
  the input's 20.2.
* Convolution bias: with ``bias=False`` (default) no convolution has a bias,
  which gives exactly the 556,032 learnable parameters usually quoted for
  DnCNN-S (17 layers, grey, width 64). ``bias=True`` adds a bias to the first
  and last convolution only (the middle ones are followed by BatchNorm, whose
  shift makes a bias redundant): 556,097 parameters. The authors' ports put a
  bias on the first layer only (556,096); the difference is immaterial.

Parameter counts (``width=64``): DnCNN-17 grey 556,032, colour 558,336;
DnCNN-20 (blind) grey 667,008, colour 669,312.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["BN_EPS", "BN_MOMENTUM", "LAST_INIT_SCALE", "DnCNN"]

#: BatchNorm epsilon of the original DnCNN (Keras/PyTorch/KAIR code).
BN_EPS: float = 1e-4
#: BatchNorm momentum in PyTorch's convention (weight of the new batch), as in
#: KAIR; equals Keras ``momentum=0.1``.
BN_MOMENTUM: float = 0.9
#: Scale of the last convolution's orthogonal init: the untrained network's
#: predicted noise is ~0, so it starts at the identity.
LAST_INIT_SCALE: float = 0.01


class DnCNN(nn.Module):
    """DnCNN denoiser (Zhang et al., 2017) with residual learning.

    ``forward(x)`` returns the restored image ``x - predict_noise(x)``; train
    it with an MSE loss against the clean image, or supervise
    :meth:`predict_noise` with the residual ``noisy - clean`` (the paper's
    formulation; the two losses are identical).

    DnCNN-S (known noise level) is ``depth=17``; DnCNN-B / CDnCNN-B (blind,
    one model for a range of noise levels) is ``depth=20``, see
    :meth:`blind`.

    Args:
        in_channels: image channels, 1 (grey) or 3 (RGB); the output has the
            same number.
        depth: number of convolution layers (>= 2): 17 for DnCNN-S, 20 for
            the blind DnCNN-B.
        width: feature channels of the hidden layers (64 in the paper).
        bias: add a bias to the first and last convolutions (the middle ones
            never have one, BatchNorm follows them). False gives the quoted
            556,032 parameters of DnCNN-S.

    Attributes:
        config: the constructor arguments as a JSON-able dict, for checkpoints
            (``DnCNN(**model.config)`` rebuilds the architecture).

    Example:
        >>> import torch
        >>> from agan.baselines.dncnn import DnCNN
        >>> model = DnCNN(in_channels=1).eval()
        >>> noisy = torch.rand(1, 1, 40, 50)
        >>> with torch.no_grad():
        ...     restored = model(noisy).clamp(0, 1)
        >>> restored.shape
        torch.Size([1, 1, 40, 50])
        >>> sum(p.numel() for p in model.parameters())
        556032
    """

    def __init__(self, in_channels: int = 1, depth: int = 17, width: int = 64, bias: bool = False) -> None:
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"in_channels must be positive, got {in_channels}")
        if depth < 2:
            raise ValueError(f"depth must be at least 2 (first and last layer), got {depth}")
        if width < 1:
            raise ValueError(f"width must be positive, got {width}")
        self.config: dict[str, Any] = {
            "in_channels": int(in_channels),
            "depth": int(depth),
            "width": int(width),
            "bias": bool(bias),
        }
        self.in_channels = int(in_channels)

        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, width, kernel_size=3, padding=1, bias=bias),
            nn.ReLU(inplace=True),
        ]
        for _ in range(depth - 2):
            layers += [
                nn.Conv2d(width, width, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(width, eps=BN_EPS, momentum=BN_MOMENTUM),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(width, in_channels, kernel_size=3, padding=1, bias=bias))
        self.body = nn.Sequential(*layers)
        self.reset_parameters()

    @classmethod
    def blind(cls, in_channels: int = 1, width: int = 64, bias: bool = False) -> "DnCNN":
        """The blind-denoising variant DnCNN-B (grey) / CDnCNN-B (colour): depth 20.

        Args:
            in_channels: 1 (grey) or 3 (RGB).
            width: hidden feature channels (64 in the paper).
            bias: see :class:`DnCNN`.

        Returns:
            ``DnCNN(in_channels, depth=20, width=width, bias=bias)``
            (667,008 parameters grey, 669,312 colour at width 64).

        Example:
            >>> from agan.baselines.dncnn import DnCNN
            >>> DnCNN.blind(3).config
            {'in_channels': 3, 'depth': 20, 'width': 64, 'bias': False}
        """
        return cls(in_channels=in_channels, depth=20, width=width, bias=bias)

    def reset_parameters(self) -> None:
        """Orthogonal conv weights, zero conv biases, BatchNorm weight 1 / bias 0 (the authors' init),
        the last convolution's weights scaled by :data:`LAST_INIT_SCALE` (a start at the identity)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.orthogonal_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
                module.reset_running_stats()
        with torch.no_grad():
            self.body[-1].weight.mul_(LAST_INIT_SCALE)

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected an NCHW tensor with {self.in_channels} channels, got shape {tuple(x.shape)}")

    def predict_noise(self, x: torch.Tensor) -> torch.Tensor:
        """The predicted noise (residual) ``net(x)``, so that ``x - net(x)`` is clean.

        Use it to supervise the residual directly:
        ``mse(model.predict_noise(noisy), noisy - clean)``.

        Args:
            x: noisy images, ``(N, C, H, W)`` float32, C = ``in_channels``,
                nominally in [0, 1] (out-of-range values are fine).

        Returns:
            ``(N, C, H, W)`` predicted noise, zero-mean-ish, unbounded.

        Example:
            >>> import torch
            >>> from agan.baselines.dncnn import DnCNN
            >>> DnCNN(3, depth=5, width=16).predict_noise(torch.rand(2, 3, 9, 11)).shape
            torch.Size([2, 3, 9, 11])
        """
        self._check(x)
        return self.body(x)

    residual = predict_noise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Denoise: ``x - predict_noise(x)``.

        Args:
            x: noisy images, ``(N, C, H, W)`` float32, C = ``in_channels``,
                nominally in [0, 1]; any H, W >= 1.

        Returns:
            ``(N, C, H, W)`` restored images, nominally in [0, 1] but *not*
            clamped (clamp at inference, not in training).

        Example:
            >>> import torch
            >>> from agan.baselines.dncnn import DnCNN
            >>> DnCNN(1, depth=5, width=16)(torch.rand(2, 1, 31, 37)).shape
            torch.Size([2, 1, 31, 37])
        """
        return x - self.predict_noise(x)

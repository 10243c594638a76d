"""Where torchvision's pretrained weights live in the torch hub cache (they are never downloaded here)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


def cached_weights_path(weights: Any) -> Path:
    """``torch.hub.get_dir() / "checkpoints" / <file name of weights.url>`` for a torchvision
    ``WeightsEnum`` member, e.g. ``VGG16_Weights.IMAGENET1K_V1`` -> ``.../vgg16-397923af.pth``.
    ``torch.hub.get_dir()`` follows ``TORCH_HOME`` and ``torch.hub.set_dir``. The file may not exist."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)

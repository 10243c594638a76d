"""agan: GAN-based image restoration, CNN baselines, classical filters and honest metrics.

From Python, :func:`load` gives any method the command line takes (a shipped
model, a trained checkpoint, a filter spec) as a callable::

    >>> import agan, numpy as np
    >>> denoise = agan.load("median(ksize=3)")
    >>> noisy = np.zeros((32, 40, 3), np.uint8)
    >>> denoise(noisy).shape, denoise(noisy).dtype
    ((32, 40, 3), dtype('uint8'))

A network's ``.module`` is a torch module on NCHW batches (``agan.load("unet-weather").module``);
:func:`list_models` names the shipped models and :func:`card` gives one's model card.
"""

from __future__ import annotations

import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Restorer", "__version__", "card", "list_models", "load"]

try:
    __version__ = metadata.version("agan")
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"


class Restorer:
    """A restoration method as a callable on numpy images or image files.

    ``restorer(image)`` takes an HWC (or HW grey) array, uint8, uint16 or
    float in [0, 1], RGB channel order, and returns the restored image of the
    same shape and dtype; given a path it reads the file and returns an HWC
    float32 RGB (or grey) array in [0, 1]. ``restorer.method`` is the
    underlying :class:`agan.methods.registry.Method` (float32 HWC images only).
    """

    def __init__(self, method: Any):
        self.method = method

    def __call__(self, image: np.ndarray | str | Path) -> np.ndarray:
        if isinstance(image, (str, Path)):
            from agan.data.io import read_image

            return self.method(read_image(image))
        from agan.data.image import as_hwc

        array = np.asarray(image)
        if array.dtype.kind in "ui":
            scale = float(np.iinfo(array.dtype).max)
        elif array.dtype.kind == "f":
            scale = 1.0
        else:
            raise ValueError(f"expected an integer or float image, got dtype {array.dtype}")
        restored = self.method(as_hwc(array) / np.float32(scale))
        restored = restored[..., 0] if array.ndim == 2 else restored
        if scale == 1.0:
            return restored.astype(array.dtype, copy=False)
        return np.round(np.clip(restored, 0.0, 1.0) * scale).astype(array.dtype)

    @property
    def module(self) -> Any:
        """The network as a ``torch.nn.Module`` (None for a filter): NCHW float32 in [0, 1] in, any batch
        and size, the restored NCHW batch out, clamped to [0, 1]; in eval mode, on the device of
        :func:`load`, in float32 (wrap calls in ``torch.autocast`` for bf16). Inputs are padded inside to
        a multiple of ``module.size_multiple`` (16 for the U-Net, 4 for the GAN, 1 for DnCNN) and
        cropped back; ``module.network`` is the bare network (the GAN's returns its attention maps too).

        Example:
            >>> import agan, torch
            >>> unet = agan.load("unet-weather", device="cpu").module
            >>> with torch.no_grad():
            ...     unet(torch.rand(2, 3, 64, 64)).shape
            torch.Size([2, 3, 64, 64])
        """
        from agan.methods.restorer import RestorerModule

        for step in self.method.steps:
            if getattr(step, "learned", False):
                return RestorerModule(step.model)
        return None

    def __repr__(self) -> str:
        return f"agan.Restorer({self.method.label!r})"


def load(method: str, device: str = "auto", **options: Any) -> Restorer:
    """A shipped model (``agan models``), a checkpoint ``.pt`` or a filter spec, ready to restore images.

    A preview model's note (a short training run that can lose to its input) comes as a
    ``UserWarning``, as the command line prints it.

    Args:
        method: e.g. ``"attentive-gan-weather"``, ``"runs/x/checkpoints/best.pt"``,
            ``"bm3d(sigma=25)"`` or ``"dncnn-color-blind+gaussian(sigma=0.8)"``.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        **options: ``tile``, ``overlap``, ``ensemble`` for networks (see ``agan restore``).
    """
    from agan.device import resolve_device
    from agan.methods.registry import build_method

    built = build_method(method, str(resolve_device(device)), **options)
    for note in built.notes:
        warnings.warn(note.removeprefix("note: "), UserWarning, stacklevel=2)
    return Restorer(built)


def list_models() -> list[str]:
    """The names of the shipped models (``agan models`` shows them with their status and a figure).

    Example:
        >>> import agan
        >>> "unet-weather" in agan.list_models()
        True
    """
    from agan.methods.shipped import RELEASES

    return list(RELEASES)


def card(name: str) -> dict[str, Any]:
    """The model card of a shipped model: its training (lineage, data, command), status, note and
    evaluations, as JSON-able values (the file beside its weights).

    Example:
        >>> import agan
        >>> agan.card("dncnn-gray-s25")["model"]
        'dncnn'
    """
    from agan.methods.shipped import load_card

    return load_card(name)

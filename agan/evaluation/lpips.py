"""LPIPS (Zhang et al. 2018, AlexNet features, lower is better), from the ``lpips`` package with
AlexNet's ImageNet weights from the torch hub cache (downloaded there once when missing).

Image convention: HWC float32 numpy arrays in [0, 1], RGB (grey repeated to 3 channels).
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from agan.data.image import as_hwc
from agan.errors import StoppedError
from agan.hub import cached_weights_path, fetch_weights

_LPIPS_NETS: dict[tuple[str, str], Any] = {}


# --------------------------------------------------------------------------- #
# LPIPS
# --------------------------------------------------------------------------- #
class LPIPSUnavailableError(StoppedError):
    """The ImageNet AlexNet weights LPIPS needs are not in the torch hub cache."""


def alexnet_weights_path() -> Path:
    """Where torchvision caches its ImageNet AlexNet weights.

    ``torch.hub.get_dir() / "checkpoints" / <file name of
    torchvision.models.AlexNet_Weights.IMAGENET1K_V1.url>``, i.e.
    ``.../hub/checkpoints/alexnet-owt-7be5be79.pth``; ``torch.hub.get_dir()``
    follows ``TORCH_HOME`` and ``torch.hub.set_dir``.

    Returns:
        The path (which may not exist).
    """
    return cached_weights_path(_alexnet_weights())


def _alexnet_weights() -> object:
    """torchvision's ImageNet AlexNet weights entry (its ``url`` names the cached file)."""
    from torchvision.models import AlexNet_Weights

    return AlexNet_Weights.IMAGENET1K_V1


def _unavailable_message(path: Path, reason: str) -> str:
    return (
        f"LPIPS unavailable: the AlexNet ImageNet weights are not in the torch hub cache at {path} ({reason}); "
        "on a machine with internet, python -c \"import lpips; lpips.LPIPS(net='alex')\" puts them there"
    )


def _build_lpips(device: str, random_backbone: bool) -> Any:
    """Construct (or fetch from the cache) the lpips network for ``device``."""
    import torch

    weights = "random" if random_backbone else str(alexnet_weights_path())
    key = (str(torch.device(device)), weights)
    net = _LPIPS_NETS.get(key)
    if net is not None:
        return net
    if not random_backbone:
        path, reason = fetch_weights(_alexnet_weights(), "the AlexNet ImageNet weights (233 MB) of LPIPS")
        if reason is not None:
            raise LPIPSUnavailableError(_unavailable_message(path, reason))

    import lpips

    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(io.StringIO()))  # "Setting up [LPIPS]..."
        stack.enter_context(warnings.catch_warnings())
        # lpips still calls torchvision's deprecated alexnet(pretrained=...).
        warnings.filterwarnings("ignore", message=r".*'pretrained' is deprecated", category=UserWarning)
        warnings.filterwarnings("ignore", message=r".*weight enum or `None`", category=UserWarning)
        if random_backbone:
            # Deterministic random trunk, without disturbing the global RNG.
            stack.enter_context(torch.random.fork_rng(devices=[]))
            torch.manual_seed(0)
        net = lpips.LPIPS(net="alex", version="0.1", pnet_rand=random_backbone, verbose=False)
    net = net.to(key[0]).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    _LPIPS_NETS[key] = net
    return net


class LPIPSMetric:
    """LPIPS distance (``lpips`` package v0.1, AlexNet trunk); lower is better.

    The network is built once per device (and weights file) and cached at
    module level, so constructing several ``LPIPSMetric`` objects is cheap.
    The linear calibration layers ship inside the ``lpips`` package; the
    AlexNet trunk needs torchvision's ImageNet weights in the torch hub cache
    (see :func:`alexnet_weights_path`), downloaded there once when missing.

    Args:
        device: torch device to run on, e.g. ``"cpu"`` or ``"cuda"``.
        random_backbone: FOR TESTS ONLY: use a randomly initialised AlexNet
            trunk (seeded, deterministic) so the code path can be exercised
            without the ImageNet weights. Its numbers are not LPIPS.

    Raises:
        LPIPSUnavailableError: if ``random_backbone`` is False and the AlexNet
            weights are neither in the cache nor downloadable. Use
            :func:`load_lpips` to get None and a one-line message instead.
    """

    def __init__(self, device: str = "cpu", *, random_backbone: bool = False) -> None:
        self.device = device
        self.random_backbone = random_backbone
        self.net = _build_lpips(device, random_backbone)

    def __call__(self, output: np.ndarray, target: np.ndarray) -> float:
        """LPIPS distance between two images.

        Args:
            output: restored image, HWC float32 in [0, 1], RGB ``(H, W, 3)``
                or grey ``(H, W, 1)`` (replicated to 3 channels). Used as
                given (not clipped).
            target: clean reference, same shape and convention.

        Returns:
            LPIPS distance (>= 0; 0 for identical images).

        Raises:
            ValueError: if the shapes differ or are not HWC/HW.
        """
        import torch

        out = as_hwc(output, "output", np.float64)
        tgt = as_hwc(target, "target", np.float64)
        if out.shape != tgt.shape:
            raise ValueError(
                f"output and target shapes differ: {np.shape(output)} vs {np.shape(target)}"
            )

        def to_tensor(img: np.ndarray) -> "torch.Tensor":
            if img.shape[2] == 1:
                img = np.repeat(img, 3, axis=2)
            t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32))
            return (t[None] * 2.0 - 1.0).to(self.device)

        with torch.inference_mode():
            d = self.net(to_tensor(out), to_tensor(tgt))
        return float(d.reshape(-1)[0].item())

    def __repr__(self) -> str:
        kind = "random backbone (tests only)" if self.random_backbone else "AlexNet ImageNet"
        return f"LPIPSMetric(device={self.device!r}, {kind})"


def load_lpips(device: str = "cpu") -> LPIPSMetric | None:
    """The LPIPS metric with real weights, or None when they cannot be had.

    Looks for torchvision's ImageNet AlexNet weights in the torch hub cache
    (:func:`alexnet_weights_path`) and downloads them there when missing. When
    that fails it prints ONE line to stderr saying so, with the path and how to
    get the weights, and returns None; callers then report LPIPS as absent.

    Args:
        device: torch device, e.g. ``"cpu"`` or ``"cuda"``.

    Returns:
        An :class:`LPIPSMetric`, or None.
    """
    try:
        return LPIPSMetric(device)
    except LPIPSUnavailableError as exc:
        print(str(exc), file=sys.stderr)
        return None


def lpips_or_note(use_lpips: bool, device: str = "cpu") -> tuple[LPIPSMetric | None, str | None]:
    """The LPIPS metric, or None and the note a table gives instead (turned off, or no AlexNet weights)."""
    if not use_lpips:
        return None, "not measured (--no-lpips)"
    metric = load_lpips(device)
    return metric, None if metric is not None else "absent: AlexNet weights not in the torch hub cache (nor downloadable)"

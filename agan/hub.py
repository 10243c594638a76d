"""torchvision's pretrained weights in the torch hub cache: where they live, and fetching them once.

The perceptual loss (VGG16) and LPIPS (AlexNet) use torchvision's ImageNet weights from the torch
hub cache, as torchvision itself does. When the file is missing it is downloaded once, as
torchvision and lpips would, with a line saying what, from where and to where, and a progress
bar on a terminal; the file's name carries the first hex digits of its SHA-256, which are
checked. ``AGAN_WEIGHTS_MIRROR`` (a base URL) fetches the same file names from a mirror
instead of download.pytorch.org. A download that fails (no network, a wrong hash) is tried once
per process; the caller then says in one line where the file belongs and what to do without it.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from agan.errors import first_line

#: Environment variable: a base URL to fetch torchvision's weight files from instead of their own host.
MIRROR_VARIABLE = "AGAN_WEIGHTS_MIRROR"
#: Seconds a download may wait on the network before it counts as failed.
TIMEOUT_S = 30.0
#: torch.hub's rule: ``name-<hex digits of the file's SHA-256>.ext``.
_HASH_IN_NAME = re.compile(r"-([a-f0-9]*)\.")
_failed: dict[str, str] = {}  # url -> why its download failed, so a process tries each once


def cached_weights_path(weights: Any) -> Path:
    """``torch.hub.get_dir() / "checkpoints" / <file name of weights.url>`` for a torchvision
    ``WeightsEnum`` member, e.g. ``VGG16_Weights.IMAGENET1K_V1`` -> ``.../vgg16-397923af.pth``.
    ``torch.hub.get_dir()`` follows ``TORCH_HOME`` and ``torch.hub.set_dir``. The file may not exist."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def weights_url(weights: Any) -> str:
    """Where the file of ``weights`` is fetched from: its own URL, or the same name under ``AGAN_WEIGHTS_MIRROR``."""
    mirror = os.environ.get(MIRROR_VARIABLE, "").strip()
    if not mirror:
        return weights.url
    return mirror.rstrip("/") + "/" + os.path.basename(urlparse(weights.url).path)


def fetch_weights(weights: Any, what: str) -> tuple[Path, str | None]:
    """The cached file of a torchvision weights entry, downloaded first when it is missing.

    Args:
        weights: a torchvision ``WeightsEnum`` member (anything with a ``url``).
        what: what the file is, for the line printed before a download.

    Returns:
        ``(path, None)`` when the file is in the cache (now), or ``(path, reason)`` when it is
        not and could not be downloaded (the reason in one line).
    """
    import torch

    path = cached_weights_path(weights)
    if path.is_file():
        return path, None
    url = weights_url(weights)
    if url in _failed:
        return path, _failed[url]
    print(f"downloading {what} from {url} to {path}", file=sys.stderr, flush=True)
    digits = _HASH_IN_NAME.search(path.name)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(TIMEOUT_S)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # a temporary file beside the target, renamed when complete and its hash checked
        torch.hub.download_url_to_file(url, str(path), hash_prefix=digits.group(1) if digits else None,
                                       progress=sys.stderr.isatty())
    except Exception as err:  # no network, an HTTP error, a timeout, a wrong hash: the caller says what to do
        _failed[url] = f"download from {url} failed: {first_line(err)}"
        return path, _failed[url]
    finally:
        socket.setdefaulttimeout(previous)
    return path, None

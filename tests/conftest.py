"""Shared test helpers: procedural images and the location of ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

# No test downloads pretrained weights: a missing VGG16 or AlexNet file is fetched from here, the
# discard port of the loopback (refused at once); the tests of fetching serve their own files.
os.environ["AGAN_WEIGHTS_MIRROR"] = "http://127.0.0.1:9/"

SHARED_DATA = Path(os.environ.get("AGAN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def shared(name: str) -> Path:
    """A folder of ../shared/data, or skip the test when it is absent."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    return path


def scene(height: int = 64, width: int = 64, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A procedural photo-like image: smooth gradients and a few flat shapes; HWC float32 [0.1, 0.9]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.empty((height, width, 3), np.float32)
    for c in range(3):
        image[..., c] = 0.3 + 0.2 * np.sin(x / (width / 3 + c) + c) + 0.2 * np.cos(y / (height / 2 + c))
    for _ in range(3):
        center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(image, center, int(rng.integers(3, max(4, min(height, width) // 4))),
                   tuple(float(v) for v in rng.uniform(0.1, 0.9, 3)), -1)
    image = np.clip(image, 0.1, 0.9)
    return image[..., :1].copy() if channels == 1 else image


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op torch thread for a test module: small CPU workloads run several times faster
    than with an oversubscribed OpenMP pool on a busy 2-core machine. Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A folder of four small scenes (48x56 RGB PNG) to train on, shared by a test module's runs."""
    from agan.data.io import write_image

    folder = tmp_path_factory.mktemp("photos")
    for i in range(4):
        write_image(folder / f"p{i}.png", scene(48, 56, seed=i))
    return folder


def drop_checkpoints(folder):
    """Delete the ``.pt`` files under ``folder`` once a test has checked them (pytest keeps its last
    three temporary folders; a GAN's training checkpoints take tens of MB)."""
    for path in Path(folder).rglob("*.pt"):
        path.unlink()

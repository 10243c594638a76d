"""Median time of every degradation kind at 256x256 and 1024x1024 (RGB), default random parameters.

Usage: python scripts/bench_degradations.py [--repeats 30] [--threads 1] [--against OTHER_CHECKOUT]

``--against`` times another checkout's degradations too (e.g. a ``git worktree`` of an
earlier commit), each call alternating with this one's, so that a load on the machine
weighs on both alike, and prints the ratio.

Target: under 10 ms per call at 256x256 for every kind, so that on-the-fly
synthesis in DataLoader workers never starves a GPU.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
import types
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from agan.data.degradations import DEGRADATIONS

TARGET_MS = 10.0


def photo(side: int) -> np.ndarray:
    """scikit-image's astronaut resized to side x side: HWC float32 RGB in [0, 1]."""
    image = skimage.data.astronaut().astype(np.float32) / 255.0
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA if side < 512 else cv2.INTER_CUBIC)


def median_ms(functions: list, image: np.ndarray, repeats: int) -> list[float]:
    """Median milliseconds of each function, their calls alternating."""
    for function in functions:
        function(image, np.random.default_rng(0))  # warm-up
    times: list[list[float]] = [[] for _ in functions]
    for i in range(repeats):
        for function, spent in zip(functions, times):
            start = time.perf_counter()
            function(image, np.random.default_rng([1, i]))
            spent.append((time.perf_counter() - start) * 1e3)
    return [statistics.median(spent) for spent in times]


def other_degradations(checkout: Path) -> dict:
    """The DEGRADATIONS table of another checkout's ``data/`` package, imported under another name."""
    package = types.ModuleType("other_data")
    package.__path__ = [str(checkout / "data")]
    sys.modules["other_data"] = package
    return importlib.import_module("other_data.degradations").DEGRADATIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (a DataLoader worker uses one).")
    parser.add_argument("--against", type=Path, default=None, help="Another checkout to time alongside.")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    images = {side: photo(side) for side in (256, 1024)}
    other = other_degradations(args.against) if args.against else {}
    print(f"median of {args.repeats} calls, default random parameters, OpenCV threads: {args.threads}")
    header = f"{'kind':<12} {'256x256 ms':>11} {'1024x1024 ms':>13}"
    if other:
        header += f"  {'other 256':>10} {'other 1024':>11}  ratio 256 / 1024"
    print(f"{header}  target <{TARGET_MS:g} ms at 256")
    slow = []
    for kind in DEGRADATIONS:
        functions = [DEGRADATIONS[kind]] + ([other[kind]] if kind in other else [])
        small = median_ms(functions, images[256], args.repeats)
        large = median_ms(functions, images[1024], max(5, args.repeats // 5))
        ok = small[0] < TARGET_MS
        slow += [] if ok else [kind]
        line = f"{kind:<12} {small[0]:>11.2f} {large[0]:>13.1f}"
        if len(small) > 1:
            line += f"  {small[1]:>10.2f} {large[1]:>11.1f}  x{small[0] / small[1]:.2f} / x{large[0] / large[1]:.2f}"
        print(f"{line}  {'ok' if ok else 'SLOW'}")
    print("all kinds meet the target" if not slow else f"over target: {', '.join(slow)}")


if __name__ == "__main__":
    main()

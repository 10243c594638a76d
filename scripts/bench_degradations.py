"""Median time of every degradation kind at 256x256 and 1024x1024 (RGB), default random parameters.

Usage: python scripts/bench_degradations.py [--repeats 30] [--threads 1]

Target: under 10 ms per call at 256x256 for every kind, so that on-the-fly
synthesis in DataLoader workers never starves a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
import skimage.data

from data.degradations import DEGRADATIONS

TARGET_MS = 10.0


def photo(side: int) -> np.ndarray:
    """scikit-image's astronaut resized to side x side: HWC float32 RGB in [0, 1]."""
    image = skimage.data.astronaut().astype(np.float32) / 255.0
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA if side < 512 else cv2.INTER_CUBIC)


def median_ms(kind: str, image: np.ndarray, repeats: int) -> float:
    function = DEGRADATIONS[kind]
    function(image, np.random.default_rng(0))  # warm-up
    times = []
    for i in range(repeats):
        rng = np.random.default_rng([1, i])
        start = time.perf_counter()
        function(image, rng)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (a DataLoader worker uses one).")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    images = {side: photo(side) for side in (256, 1024)}
    print(f"median of {args.repeats} calls, default random parameters, OpenCV threads: {args.threads}")
    print(f"{'kind':<12} {'256x256 ms':>11} {'1024x1024 ms':>13}  target <{TARGET_MS:g} ms at 256")
    slow = []
    for kind in DEGRADATIONS:
        small = median_ms(kind, images[256], args.repeats)
        large = median_ms(kind, images[1024], max(5, args.repeats // 5))
        ok = small < TARGET_MS
        slow += [] if ok else [kind]
        print(f"{kind:<12} {small:>11.2f} {large:>13.1f}  {'ok' if ok else 'SLOW'}")
    print("all kinds meet the target" if not slow else f"over target: {', '.join(slow)}")


if __name__ == "__main__":
    main()

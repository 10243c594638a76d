"""Training speed and peak memory of each model with the engine's own training step.

Usage: python scripts/bench_train.py [--steps 5] [--threads 2] [--device cpu|cuda]

Prints steps per second and peak memory (resident set on the CPU, allocated
CUDA memory on a GPU) for attentive-gan, dncnn (grey) and unet at batch 4,
patch 128 on the CPU; on a GPU also batch 16, patch 256 with bf16 AMP. Each
configuration runs in its own process so that peak memory is its own. The
GAN runs without the perceptual loss when the VGG16 weights are not cached.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import skimage.data
import torch

MODELS = ("attentive-gan", "dncnn", "unet")


def _photos(folder: Path, grey: bool) -> str:
    from agan.data.io import write_image

    image = skimage.data.astronaut().astype(np.float32) / 255.0
    if grey:
        image = image.mean(axis=2, keepdims=True)
    write_image(folder / "astronaut.png", image)
    return str(folder)


def one(model: str, batch: int, patch: int, steps: int, device: str, amp: str) -> dict:
    """Time ``steps`` training steps (after one warm-up step) in this process."""
    from agan.training.config import resolve_config
    from agan.training.engine import Trainer
    from agan.training.perceptual import vgg16_weights_path

    with tempfile.TemporaryDirectory() as tmp:
        folder = _photos(Path(tmp) / "photos", grey=model == "dncnn")
        perceptual = "vgg" if vgg16_weights_path().exists() else "none"
        config = resolve_config(model, {"data": f"synthetic:gaussian(sigma=25):{folder}", "out": str(Path(tmp) / "run"),
                                        "batch": batch, "patch": patch, "device": device, "amp": amp,
                                        "perceptual": perceptual})
        trainer = Trainer(config, log=lambda *_: None)
        channels = 1 if model == "dncnn" else 3
        clean = torch.rand(batch, channels, patch, patch, device=trainer.device)
        degraded = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
        mask = torch.rand(batch, 1, patch, patch, device=trainer.device).round()

        def step() -> None:
            trainer.train_step.run(degraded, clean, mask)

        step()
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / steps
        if trainer.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"model": model, "batch": batch, "patch": patch, "device": str(trainer.device), "amp": amp,
                "perceptual": perceptual if model == "attentive-gan" else "-", "steps_per_s": 1 / seconds, "peak_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--one", nargs=5, metavar=("MODEL", "BATCH", "PATCH", "DEVICE", "AMP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.one:
        model, batch, patch, device, amp = args.one
        print(json.dumps(one(model, int(batch), int(patch), args.steps, device, amp)))
        return
    runs = [(m, 4, 128, "cpu", "none") for m in MODELS]
    if args.device == "cuda":
        runs += [(m, 4, 128, "cuda", "none") for m in MODELS] + [(m, 16, 256, "cuda", "bf16") for m in MODELS]
    print(f"{'model':<14} {'device':<7} {'batch':>5} {'patch':>5} {'amp':<5} {'steps/s':>8} {'peak MiB':>9}  note")
    for run in runs:
        done = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--threads", str(args.threads),
                               "--one", *map(str, run)], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{run[0]:<14} failed: {done.stderr.strip().splitlines()[-1]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        note = f"perceptual {r['perceptual']}" if r["perceptual"] != "-" else ""
        print(f"{r['model']:<14} {r['device']:<7} {r['batch']:>5} {r['patch']:>5} {r['amp']:<5} "
              f"{r['steps_per_s']:>8.3f} {r['peak_mib']:>9.0f}  {note}")


if __name__ == "__main__":
    main()

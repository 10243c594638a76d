"""Training speed and peak memory of each model with the engine's own training step.

Usage: python scripts/bench_train.py [--steps 5] [--rounds 1] [--threads 2] [--amp bf16] [--device cpu|cuda]

Prints seconds per step, the ratio to the U-Net's step of the same round and
peak memory (resident set on the CPU, allocated CUDA memory on a GPU) for
dncnn (grey), unet (and with --adversarial) and six settings of attentive-gan at batch 4, patch 128
(the recipes' precision, bf16, unless --amp says otherwise): the paper's step
(the discriminator judges whole patches), the warm-up stage
(``adversarial_weight`` 0: the generator alone) and the discriminator on
64x64 squares (``d_patch`` 64; also 48), with the relativistic GAN loss (one
more forward of D, on the clean squares) and with spectral norm in D. On a GPU it adds batch 16, patch 256. Each
configuration runs in its own process, so peak memory is its own; with
``--rounds R`` the whole list runs R times and the medians are printed (this
CPU's speed drifts between runs, the ratios of one round much less). The GAN
runs without the perceptual loss when the VGG16 weights are not cached.
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

#: What is timed: label -> (model, settings beyond batch, patch and precision).
SETTINGS: dict[str, tuple[str, dict]] = {
    "unet": ("unet", {}),
    "  --adversarial": ("unet", {"adversarial": True}),
    "dncnn (grey)": ("dncnn", {"grey": True}),
    "attentive-gan": ("attentive-gan", {}),
    "  warm-up (no D)": ("attentive-gan", {"adversarial_weight": 0.0}),
    "  D on 64x64": ("attentive-gan", {"d_patch": 64}),
    "  D on 48x48": ("attentive-gan", {"d_patch": 48}),
    "    relativistic": ("attentive-gan", {"d_patch": 64, "gan_loss": "relativistic"}),
    "    spectral norm": ("attentive-gan", {"d_patch": 64, "d_spectral_norm": True}),
}


def _photos(folder: Path, grey: bool) -> str:
    from agan.data.io import write_image

    image = skimage.data.astronaut().astype(np.float32) / 255.0
    if grey:
        image = image.mean(axis=2, keepdims=True)
    write_image(folder / "astronaut.png", image)
    return str(folder)


def one(label: str, batch: int, patch: int, steps: int, device: str, amp: str) -> dict:
    """Time ``steps`` training steps (after one warm-up step) of the setting ``label`` in this process."""
    from agan.training.config import resolve_config
    from agan.training.engine import Trainer
    from agan.training.perceptual import vgg16_weights_path

    model, settings = SETTINGS[label]
    with tempfile.TemporaryDirectory() as tmp:
        folder = _photos(Path(tmp) / "photos", grey=settings.get("grey", False))
        perceptual = "vgg" if vgg16_weights_path().exists() else "none"
        config = resolve_config(model, {"data": f"synthetic:gaussian(sigma=25):{folder}", "out": str(Path(tmp) / "run"),
                                        "batch": batch, "patch": patch, "device": device, "amp": amp,
                                        "perceptual": perceptual, **settings})
        trainer = Trainer(config, log=lambda *_: None)
        channels = 1 if config.grey else 3
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
        return {"label": label, "batch": batch, "patch": patch, "device": str(trainer.device), "amp": amp,
                "perceptual": perceptual if getattr(trainer.train_step, "perceptual", None) is not None else "-", "seconds": seconds, "peak_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1, help="times the whole list runs (medians printed)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--amp", choices=["none", "bf16"], default="bf16", help="the recipes train in bf16")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--only", nargs="+", choices=list(SETTINGS), default=list(SETTINGS), help=argparse.SUPPRESS)
    parser.add_argument("--one", nargs=5, metavar=("LABEL", "BATCH", "PATCH", "DEVICE", "AMP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.one:
        label, batch, patch, device, amp = args.one
        print(json.dumps(one(label, int(batch), int(patch), args.steps, device, amp)))
        return
    runs = [(label, 4, 128, "cpu", args.amp) for label in args.only]
    if args.device == "cuda":
        runs += [(label, 4, 128, "cuda", args.amp) for label in args.only]
        runs += [(label, 16, 256, "cuda", "bf16") for label in args.only]
    results: dict[tuple, list[dict]] = {run: [] for run in runs}
    for _ in range(args.rounds):
        for run in runs:
            done = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--threads", str(args.threads),
                                   "--one", *map(str, run)], capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{run[0]}: failed: {done.stderr.strip().splitlines()[-1]}")
                continue
            results[run].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{'setting':<18} {'device':<7} {'batch':>5} {'patch':>5} {'amp':<5} {'s/step':>7} {'x unet':>7} {'peak MiB':>9}  note")
    for run, rounds in results.items():
        if not rounds:
            continue
        seconds = float(np.median([r["seconds"] for r in rounds]))
        unet = results.get(("unet", *run[1:]))
        ratio = (f"{float(np.median([a['seconds'] / b['seconds'] for a, b in zip(rounds, unet)])):>7.2f}"
                 if unet else f"{'-':>7}")
        r = rounds[0]
        note = f"perceptual {r['perceptual']}" if r["perceptual"] != "-" else ""
        print(f"{r['label']:<18} {r['device']:<7} {r['batch']:>5} {r['patch']:>5} {r['amp']:<5} {seconds:>7.3f} {ratio} "
              f"{max(x['peak_mib'] for x in rounds):>9.0f}  {note}")


if __name__ == "__main__":
    main()

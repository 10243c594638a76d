"""Restoration speed, peak memory and tiling error of each model (the networks with their default sizes).

Usage:
  python scripts/bench_restore.py speed  [--threads 2] [--sizes 720x480,1920x1080,6000x4000] [--models ...]
  python scripts/bench_restore.py tiling [--threads 2] [--overlaps 16,32,64,96]
  python scripts/bench_restore.py photos [--megapixels 12,24,48] [--model attentive-gan-weather] [--keep DIR]

``speed`` prints seconds per image and per megapixel and the peak resident
memory (each configuration in its own process) of ``agan.methods.restorer.ModelRestorer``
(channels_last, inference mode, tiles when the image exceeds its pixel budget),
and, at 720x480, the largest difference from a plain fp32 NCHW forward of the
same weights. ``tiling`` prints, on a 1024x1024 photo, the max and mean
absolute difference between tiled (512-pixel tiles) and whole-image outputs
per model and overlap, and for a network of bounded reach (DnCNN) the max difference away from the border.
Weights are random (seeded): speed and tiling error do not need trained ones.
``photos`` runs the ``agan`` command as a user would (``agan restore photo.png -o
out/``, the shipped default model unless ``--model``) on 3:2 PNG photos of 12, 24
and 48 megapixels (scikit-image's astronaut enlarged) and prints each one's
wall time, seconds per megapixel and peak resident memory (``ru_maxrss`` of the
child process); ``--keep DIR`` keeps the outputs there, to compare two versions
bit for bit.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data
import torch

from agan.methods.restorer import ModelRestorer
from agan.methods.tiling import run_network, tiled
from agan.nets.architectures import ARCHITECTURES, architecture_of, model_from_checkpoint

MODELS = ("attentive-gan", "dncnn", "unet")


def photo(width: int, height: int, channels: int) -> np.ndarray:
    """scikit-image's astronaut resized to width x height: HWC float32 [0, 1], RGB or grey."""
    image = cv2.resize(skimage.data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    return image.mean(axis=2, keepdims=True) if channels == 1 else image


def network(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = ARCHITECTURES[name].build()  # each with its paper's channels (DnCNN grey)
    return model.eval()


def speed_one(name: str, width: int, height: int) -> dict:
    model = network(name)
    image = photo(width, height, model.config["in_channels"])
    plain = None
    if width * height <= 720 * 480:  # the reference: a plain fp32 NCHW forward of the same weights, both warmed up
        x = torch.from_numpy(image.transpose(2, 0, 1).copy())[None]
        with torch.no_grad():
            run_network(model)(x)
            start = time.perf_counter()
            y = run_network(model)(x)[0]
            plain_seconds = time.perf_counter() - start
        plain = y.clamp(0, 1)[0].permute(1, 2, 0).numpy()
    restorer = ModelRestorer(model)  # converts the model to channels_last: after the plain reference
    if plain is not None:
        restorer(image)
    start = time.perf_counter()
    out = restorer(image)
    seconds = time.perf_counter() - start
    result = {"model": name, "size": f"{width}x{height}", "seconds": seconds, "sec_per_mp": seconds / (width * height / 1e6),
              "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "tiled": restorer.max_pixels < width * height}
    if plain is not None:
        result.update(plain_seconds=plain_seconds, max_diff_vs_plain=float(np.abs(out - plain).max()))
    return result


def speed(args: argparse.Namespace) -> None:
    print(f"threads {args.threads}; random weights; ModelRestorer defaults (tiles of 512 above 2 MP)")
    print(f"{'model':<14} {'size':>10} {'s/image':>8} {'s/MP':>7} {'peak MiB':>9} {'tiled':>6}  vs plain fp32 NCHW")
    for name in args.models.split(","):
        for size in args.sizes.split(","):
            width, height = map(int, size.split("x"))
            done = subprocess.run([sys.executable, __file__, "one", name, str(width), str(height), "--threads",
                                   str(args.threads)], capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{name:<14} {size:>10} failed: {done.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            extra = (f"plain {r['plain_seconds']:.2f} s, max |diff| {r['max_diff_vs_plain']:.1e}"
                     if "plain_seconds" in r else "")
            print(f"{name:<14} {size:>10} {r['seconds']:>8.2f} {r['sec_per_mp']:>7.2f} {r['peak_mib']:>9.0f} "
                  f"{str(r['tiled']):>6}  {extra}")


@torch.inference_mode()
def tiling(args: argparse.Namespace) -> None:
    print("1024x1024 astronaut, tiles of 512; |tiled - whole| in [0, 1] units")
    print(f"weights: {'trained checkpoints' if args.checkpoints else 'random'}")
    print(f"{'model':<14} {'overlap':>7} {'max':>9} {'mean':>9} {'mean*255':>9}  note")
    models = ([(str(path), model_from_checkpoint(path)[0]) for path in args.checkpoints.split(",")] if args.checkpoints
              else [(name, network(name)) for name in args.models.split(",")])
    for name, model in models:
        image = photo(1024, 1024, model.config["in_channels"])
        x = torch.from_numpy(image.transpose(2, 0, 1).copy())[None]
        forward = run_network(model)
        whole = forward(x)[0].clamp(0, 1)
        for overlap in map(int, args.overlaps.split(",")):
            out = tiled(forward, x, 512, overlap)[0].clamp(0, 1)
            diff = (out - whole).abs()
            note = ""
            border = architecture_of(model).receptive_radius(model.config)
            if border is not None:
                note = f"max away from the border {float(diff[..., border:-border, border:-border].max()):.1e}"
            print(f"{name:<14} {overlap:>7} {float(diff.max()):>9.2e} {float(diff.mean()):>9.2e} "
                  f"{float(diff.mean()) * 255:>9.3f}  {note}")


def photos(args: argparse.Namespace) -> None:
    """Time ``agan restore`` on large PNG photos, one process each, and print its peak memory."""
    agan = shutil.which("agan") or str(Path(sys.executable).with_name("agan"))
    print(f"agan restore PHOTO.png -o OUT/ --model {args.model} (torch's default threads)")
    print(f"{'megapixels':>10} {'size':>11} {'seconds':>8} {'s/MP':>6} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for megapixels in map(float, args.megapixels.split(",")):
            width = int(round((megapixels * 1e6 * 1.5) ** 0.5))
            height = int(round(width / 1.5))
            source = Path(tmp) / f"photo-{megapixels:g}mp.png"
            big = cv2.resize(skimage.data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(source), cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
            del big
            out = Path(args.keep) if args.keep else Path(tmp) / "out"
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            start = time.perf_counter()
            # a new process per photo: ru_maxrss of the children is the largest child's, so sizes go up
            done = subprocess.run([agan, "restore", str(source), "-o", str(out), "--model", args.model],
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if done.returncode != 0:
                print(f"{megapixels:>10g} failed: {done.stderr.strip().splitlines()[-1]}")
                continue
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            note = "" if peak > before else "  (peak not above an earlier photo's)"
            print(f"{width * height / 1e6:>10.1f} {f'{width}x{height}':>11} {seconds:>8.1f} "
                  f"{seconds / (width * height / 1e6):>6.2f} {peak / 1024:>9.0f}{note}")
            source.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["speed", "tiling", "photos", "one"])
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", default="720x480,1920x1080,6000x4000")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--overlaps", default="16,32,64,96")
    parser.add_argument("--checkpoints", default="", help="tiling: comma-separated trained checkpoints instead of random weights")
    parser.add_argument("--megapixels", default="12,24,48", help="photos: sizes in megapixels, ascending")
    parser.add_argument("--model", default="attentive-gan-weather", help="photos: the --model of agan restore")
    parser.add_argument("--keep", default="", help="photos: keep the restored photos in this folder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.mode == "one":
        name, width, height = args.rest
        print(json.dumps(speed_one(name, int(width), int(height))))
    elif args.mode == "speed":
        speed(args)
    elif args.mode == "photos":
        photos(args)
    else:
        tiling(args)


if __name__ == "__main__":
    main()

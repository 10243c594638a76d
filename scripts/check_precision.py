"""Measure each shipped model's PSNR in fp32 and under bf16 autocast on the CPU, and write the
results to agan/weights/precision.json, which ``--precision auto`` reads (bf16 on a CPU with fast
bf16 instructions only for a model whose PSNR moved by less than 0.05 dB).

    python scripts/check_precision.py [--data ../shared/data] [--limit 8]

Each model is scored on one test set of its card (RGB PSNR, float, images spread over the set):
the weather models on rain12, dncnn-gray-s25 on Set12 with Gaussian noise sigma 25, dncnn-color-blind
on Kodak24 with Gaussian noise sigma 25 (seed 0).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

import torch

from agan.data.datasets import ImageDataset
from agan.data.io import atomic_write_bytes
from agan.data.sources import open_source
from agan.evaluation.compare import run_methods
from agan.evaluation.report import summarize
from agan.device import cpu_bf16_instructions
from agan.methods.precision import CHECKS
from agan.methods.registry import build_method
from agan.methods.shipped import shipped

TEST_SETS = {
    "attentive-gan-weather": "{data}/rain12",
    "unet-weather": "{data}/rain12",
    "dncnn-gray-s25": "synthetic:gaussian(sigma=25,clip=false):{data}/set12",
    "dncnn-color-blind": "synthetic:gaussian(sigma=25):{data}/kodak24",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--limit", type=int, default=8)
    args = parser.parse_args()
    if not cpu_bf16_instructions():
        sys.exit("this CPU has no fast bf16 instructions (AMX, AVX-512 BF16): nothing to check here")
    results = {}
    for name in shipped():
        spec = TEST_SETS[name].format(data=args.data)
        dataset = ImageDataset(open_source(spec), seed=0, limit=args.limit, spread=True)
        methods = [replace(build_method(name, precision=p), label=f"{name} {p}") for p in ("fp32", "bf16")]
        rows, _ = run_methods(dataset, methods, progress=False)
        fp32, bf16 = (row["psnr"] for row in summarize(rows))
        results[name] = {"data": TEST_SETS[name].format(data="$DATA"), "images": len(dataset),
                         "psnr_fp32": round(fp32, 4), "psnr_bf16": round(bf16, 4), "delta_db": round(bf16 - fp32, 4),
                         "cpu": ", ".join(cpu_bf16_instructions()), "torch": torch.__version__.split("+")[0]}
        print(f"{name:<24} {spec}: fp32 {fp32:.3f} dB, bf16 {bf16:.3f} dB, change {bf16 - fp32:+.3f} dB")
    atomic_write_bytes(CHECKS, (json.dumps(results, indent=2) + "\n").encode())
    print(f"wrote {CHECKS}")


if __name__ == "__main__":
    main()

"""Seconds per megapixel of each shipped model in torch fp32, torch bf16 and onnxruntime, in one run.

    python scripts/bench_runtimes.py [--threads 2] [--height 480 --width 720] [--repeats 2] [--malloc-default]

Each model restores one random image of the given size (rounded up to its size multiple) as
``agan restore`` runs it: torch fp32 in channels_last memory format, torch under bf16 autocast
(channels_last; fast on CPUs with AMX / AVX-512 BF16), and the graph of ``agan export`` in
onnxruntime (fp32, exported into a temporary folder). Each figure is the best of ``--repeats``
runs after one warm-up. The bf16 column also gives the largest difference from fp32 (on the
[0, 1] scale) on that image. Also answers the seed projects' promise: DnCNN on a 512x512 image
in under a second on a CPU, in each runtime, and the Attentive GAN's seconds at this size in each,
beside its bf16 quality check (``agan/weights/precision.json``) and issue 15's 2.5 s target.
The torch columns run as the ``agan`` command runs them, with freed memory kept for reuse
(:func:`agan.device.reuse_freed_memory`); ``--malloc-default`` measures glibc's default instead.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from agan.device import reuse_freed_memory
from agan.methods.export import export_onnx, size_multiple
from agan.device import cpu_bf16_instructions
from agan.methods.precision import BF16_TOLERANCE_DB, checks
from agan.methods.shipped import resolve, shipped
from agan.nets.architectures import model_from_checkpoint


def best_time(run, repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=720)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--malloc-default", action="store_true", help="Leave glibc's malloc as it is.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    reused = False if args.malloc_default else reuse_freed_memory()
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    print(f"{args.height}x{args.width} (rounded up to each model's multiple), {args.threads} threads, "
          f"best of {args.repeats}; CPU bf16 instructions: {', '.join(cpu_bf16_instructions()) or 'none'}; freed memory kept for reuse: "
          f"{'yes' if reused else 'no'}")
    print(f"{'model':<24} {'torch fp32 s/MP':>15} {'torch bf16 s/MP':>15} {'max |bf16-fp32|':>15} {'onnxruntime s/MP':>16}")
    folder = Path(tempfile.mkdtemp(prefix="agan-bench-"))
    results, seconds = {}, {}
    for name in shipped():
        model, _ = model_from_checkpoint(resolve(name), "cpu")
        multiple = size_multiple(model)
        h, w = -(-args.height // multiple) * multiple, -(-args.width // multiple) * multiple
        megapixels = h * w / 1e6
        image = torch.rand(1, model.in_channels, h, w, generator=torch.Generator().manual_seed(0))
        net = model.eval().to(memory_format=torch.channels_last)
        x = image.contiguous(memory_format=torch.channels_last)

        def fp32():
            with torch.inference_mode():
                return net(x)

        def bf16():
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                return net(x)

        def first(out):
            return (out if isinstance(out, torch.Tensor) else out.image).float().clamp(0, 1)

        t32, t16 = best_time(fp32, args.repeats), best_time(bf16, args.repeats)
        difference = float((first(fp32()) - first(bf16())).abs().max())
        path = export_onnx(name, folder / f"{name}.onnx")["path"]
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {"image": image.numpy()}
        tort = best_time(lambda: session.run(None, feed), args.repeats)
        path.unlink()
        results[name] = (t32 / megapixels, t16 / megapixels, tort / megapixels)
        seconds[name] = (t32, t16, tort)
        print(f"{name:<24} {t32 / megapixels:>15.2f} {t16 / megapixels:>15.2f} {difference:>15.4f} "
              f"{tort / megapixels:>16.2f}")
    if "dncnn-color-blind" in results:
        t32, t16, tort = (rate * 512 * 512 / 1e6 for rate in results["dncnn-color-blind"])
        verdict = lambda t: "yes" if t < 1.0 else "no"  # noqa: E731
        print(f"DnCNN (colour) on 512x512, from the rates above: torch fp32 {t32:.2f} s ({verdict(t32)}), "
              f"torch bf16 {t16:.2f} s ({verdict(t16)}), onnxruntime {tort:.2f} s ({verdict(tort)}): under a second?")
    if "attentive-gan-weather" in seconds:
        t32, t16, tort = seconds["attentive-gan-weather"]
        delta = checks().get("attentive-gan-weather", {}).get("delta_db")
        holds = delta is not None and abs(delta) < BF16_TOLERANCE_DB
        fastest = min([("torch fp32", t32), ("onnxruntime", tort)] + ([("torch bf16", t16)] if holds else []),
                      key=lambda item: item[1])
        check = "not measured" if delta is None else f"{delta:+.3f} dB ({'holds' if holds else 'fails'})"
        print(f"Attentive GAN at {args.width}x{args.height}: torch fp32 {t32:.2f} s, torch bf16 {t16:.2f} s "
              f"(quality check {check}), onnxruntime {tort:.2f} s; fastest that holds: {fastest[0]} "
              f"{fastest[1]:.2f} s ({'meets' if fastest[1] <= 2.5 else 'misses'} <= 2.5 s)")
    folder.rmdir()


if __name__ == "__main__":
    main()

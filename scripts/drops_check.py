"""How much can a pixel loss gain by removing synthetic drops? Two measurements on a drops set.

    python scripts/drops_check.py [--data 'synthetic:raindrop:../shared/data/kodak24'] [--limit 8] \
        [--overfit 40 --loss l1 --loss mse] [--model unet-weather | --fresh]

1. Inpainting with the true mask: each image's drops (its synthetic mask, dilated by 2 pixels)
   filled from around them by OpenCV (Telea, and Navier-Stokes), radius 5. This is what a model
   that found every drop exactly and knew nothing of the scene under it would reach; PSNR (RGB)
   against the input's, and the share of the picture the drops cover.
2. ``--overfit N``: a U-Net (the weights of ``--model``, or a fresh one with ``--fresh``) trained N
   steps (Adam, lr 2e-4, bf16 autocast as the recipes train, fp32 on a CPU without bf16 instructions) on one fixed batch of 16 patches
   128x128 cut from the set's images, once per ``--loss``: every 10 steps the batch's MSE against
   the input's, the mean |output - input| (how far the network moves from the identity) and the
   share of the last decoder layer's activations that are on.

Images are HWC float32 RGB in [0, 1] (OpenCV's BGR 8-bit only inside the inpainting call); the
patches NCHW float32.
"""

from __future__ import annotations

import click
import cv2
import numpy as np
import torch

from agan.data.datasets import ImageDataset
from agan.device import cpu_bf16_instructions
from agan.data.sources import open_source
from agan.evaluation.metrics import psnr
from agan.nets.architectures import model_from_checkpoint
from agan.methods.registry import model_checkpoint
from agan.baselines.unet import UNet

PATCH, PATCHES, LR = 128, 16, 2e-4


def inpainted(degraded: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """``degraded`` (HWC float32 RGB [0, 1]) with the pixels of ``mask`` (HW, > 0 on the drops,
    dilated by 2 pixels) filled from around them by ``cv2.inpaint`` (radius 5), by each method
    (``telea``, ``ns``); same convention out."""
    bgr = cv2.cvtColor((degraded * 255.0 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR)
    holes = cv2.dilate((mask > 0).astype(np.uint8), np.ones((5, 5), np.uint8))
    return {name: cv2.cvtColor(cv2.inpaint(bgr, holes, 5, method), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
            for name, method in (("telea", cv2.INPAINT_TELEA), ("ns", cv2.INPAINT_NS))}


def fixed_batch(samples: list[dict], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """PATCHES random PATCHxPATCH crops (NCHW float32 RGB [0, 1]) of the samples' degraded and clean images."""
    rng = np.random.default_rng(seed)
    degraded, clean = [], []
    for k in range(PATCHES):
        sample = samples[k % len(samples)]
        h, w = sample["clean"].shape[:2]
        y, x = int(rng.integers(0, h - PATCH + 1)), int(rng.integers(0, w - PATCH + 1))
        degraded.append(sample["degraded"][y:y + PATCH, x:x + PATCH])
        clean.append(sample["clean"][y:y + PATCH, x:x + PATCH])
    as_batch = lambda images: torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return as_batch(degraded), as_batch(clean)


def overfit(net: UNet, degraded: torch.Tensor, clean: torch.Tensor, loss: str, steps: int) -> None:
    """Train ``net`` on one batch for ``steps`` steps and print its course every 10 steps."""
    on: list[float] = []
    net.decoders[-1].register_forward_hook(lambda module, args, out: on.append(float((out > 0).float().mean())))
    net.train()
    optimiser = torch.optim.Adam(net.parameters(), LR)
    print(f"  {loss}: input MSE {float(((degraded - clean) ** 2).mean()):.5f}")
    for step in range(steps + 1):
        with torch.autocast("cpu", torch.bfloat16, enabled=bool(cpu_bf16_instructions())):  # emulated bf16: 10x slower
            out = net(degraded)
        error = out.float() - clean
        value = error.abs().mean() if loss == "l1" else (error * error).mean()
        if step % 10 == 0:
            print(f"  step {step:4d}: MSE {float((error.detach() ** 2).mean()):.5f}, mean |output - input| "
                  f"{float((out.detach().float() - degraded).abs().mean()):.5f}, last layer on {on[-1]:.3f}")
        if step < steps:
            optimiser.zero_grad()
            value.backward()
            optimiser.step()


@click.command()
@click.option("--data", "spec", default="synthetic:raindrop:../shared/data/kodak24", show_default=True,
              help="A synthetic drops set (its masks are the drops).")
@click.option("--limit", default=8, show_default=True, help="Images, spread over the set.")
@click.option("--seed", default=0, show_default=True, help="Seed of the synthesis (as agan evaluate's) and the patches.")
@click.option("--overfit", "steps", default=0, show_default=True, help="Steps of the one-batch U-Net check (0: skip it).")
@click.option("--loss", "losses", multiple=True, type=click.Choice(["l1", "mse"]), default=("l1", "mse"), show_default=True)
@click.option("--model", default="unet-weather", show_default=True, help="A shipped U-Net or a U-Net checkpoint to start from.")
@click.option("--fresh", is_flag=True, help="Start the U-Net from a fresh initialisation instead.")
def main(spec: str, limit: int, seed: int, steps: int, losses: tuple[str, ...], model: str, fresh: bool) -> None:
    torch.manual_seed(seed)
    dataset = ImageDataset(open_source(spec, grey=False), seed=seed, limit=limit, spread=True)
    samples = [dataset[i] for i in range(len(dataset))]
    rows = []
    for sample in samples:  # masks are HW, as every sample's
        filled = inpainted(sample["degraded"], sample["mask"])
        rows.append((psnr(sample["degraded"], sample["clean"]), psnr(filled["telea"], sample["clean"]),
                     psnr(filled["ns"], sample["clean"]), float((sample["mask"] > 0).mean())))
    inp, telea, ns, cover = np.mean(rows, axis=0)
    print(f"{spec}, {len(samples)} images (seed {seed}): input {inp:.2f} dB; inpainted with the true mask: "
          f"Telea {telea:.2f} dB, Navier-Stokes {ns:.2f} dB; drops cover {100 * cover:.0f} % of the picture")
    if steps:
        degraded, clean = fixed_batch(samples, seed)
        start = "a fresh U-Net" if fresh else model
        print(f"one batch of {PATCHES} patches {PATCH}x{PATCH}, {steps} steps from {start}:")
        for loss in losses:
            if fresh:
                net = UNet(in_channels=3)
            else:
                net, _ = model_from_checkpoint(model_checkpoint(model))
            overfit(net, degraded, clean, loss, steps)


if __name__ == "__main__":
    main()

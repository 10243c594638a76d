"""Validation of a network during training: whole images of the validation set, PSNR/SSIM on RGB
(float, no rounding), the unrestored input's PSNR beside them, each part's PSNR for a joined spec, the
Attentive GAN's attention AUC against the masks, and a sample grid of the first image.

Images are HWC float32 in [0, 1] from the dataset, NCHW tensors on ``device`` for the network.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from agan.evaluation import metrics
from agan.evaluation.grids import grid
from agan.methods.tiling import run_network


@torch.no_grad()
def validate(net: nn.Module, val_set: Any, device: torch.device) -> tuple[dict[str, float], np.ndarray | None]:
    """The mean of each validation metric (PSNR and SSIM: RGB, float; see
    :data:`agan.evaluation.metrics.METRICS`) over the validation images, and a sample grid of the first.

    A validation spec of several parts (``A; B``) also logs each part's
    mean PSNR as ``val/psnr@LABEL``; ``best.pt`` follows the overall mean.

    For the GAN also ``val/attention_auc``: the mean ROC AUC of the last
    attention map against each image's mask (:func:`agan.evaluation.metrics.attention_auc`;
    images whose mask is empty or full are left out).
    """
    scores, aucs, sample = [], [], None
    for index in range(len(val_set)):
        item = val_set[index]
        x = torch.from_numpy(item["degraded"].transpose(2, 0, 1)).unsqueeze(0).to(device)
        out, maps = run_network(net)(x)
        image = out.clamp(0, 1)[0].permute(1, 2, 0).float().cpu().numpy()
        attention = maps[0, 0].float().cpu().numpy() if maps is not None else None
        scores.append({**metrics.measure(image, item["clean"], only=lambda metric: metric.validation),
                       "input_psnr": metrics.psnr(item["degraded"], item["clean"])})
        if attention is not None:
            aucs.append(metrics.attention_auc(attention, item["mask"]))
        if index == 0:
            tiles = [(item["degraded"], "input")]
            if attention is not None:
                tiles.append((np.clip(attention, 0.0, 1.0), "attention"))
            tiles += [(image, f"output {scores[-1]['psnr']:.2f} dB"), (item["clean"], "target")]
            sample = grid([tiles])
    # every validation metric, and the unrestored input's PSNR: the line to beat
    result = {f"val/{key}": float(np.mean([s[key] for s in scores])) for key in scores[0]}
    labels = val_set.labels
    if len(set(labels)) > 1:  # a joined spec: each part's PSNR too
        for label in dict.fromkeys(labels):
            result[f"val/psnr@{label}"] = float(np.mean([s["psnr"] for s, l in zip(scores, labels) if l == label]))
    aucs = [a for a in aucs if not math.isnan(a)]
    if aucs:
        result["val/attention_auc"] = float(np.mean(aucs))
    return result, sample

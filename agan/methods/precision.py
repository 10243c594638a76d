"""The precision networks run in at inference: fp32, or bf16 autocast where it is fast and harmless.

``auto`` (the default) runs bf16 autocast on CUDA, as agan always has; on a CPU it runs bf16 only
when the processor has fast bf16 instructions (AMX or AVX-512 BF16; elsewhere bf16 is emulated and
slower than fp32) *and* the model is a shipped one whose PSNR on a test set moved by less than
:data:`BF16_TOLERANCE_DB` under bf16, as measured by ``scripts/check_precision.py`` into
``agan/weights/precision.json``. A checkpoint of your own runs in fp32 unless you ask for bf16.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from agan.device import cpu_bf16_instructions
from agan.errors import InputError

#: The largest PSNR change (dB) under bf16 for ``auto`` to use it on a CPU.
BF16_TOLERANCE_DB = 0.05

#: Where ``scripts/check_precision.py`` writes each shipped model's fp32 and bf16 PSNR.
CHECKS = Path(__file__).resolve().parents[1] / "weights" / "precision.json"

PRECISIONS = ("auto", "fp32", "bf16")


def checks() -> dict[str, Any]:
    """The measured bf16 checks of the shipped models (empty when none were measured)."""
    try:
        return json.loads(CHECKS.read_text())
    except (OSError, ValueError):
        return {}


def use_bf16(precision: str, device: torch.device, model: str | None = None) -> bool:
    """Whether a network runs under bf16 autocast for ``precision`` on ``device``.

    Args:
        precision: ``auto``, ``fp32`` or ``bf16``.
        device: where the network runs.
        model: the shipped model's name (None for a checkpoint), for ``auto`` on a CPU.
    """
    if precision not in PRECISIONS:
        raise InputError(f"precision {precision!r}: must be one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return True
    check = checks().get(model or "", {})
    return bool(cpu_bf16_instructions()) and abs(check.get("delta_db", float("inf"))) < BF16_TOLERANCE_DB

"""Pick the torch device named by ``--device auto|cpu|cuda``."""

from __future__ import annotations

import torch

from agan.errors import InputError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when available, else the CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda asked for, but no CUDA device is available")
    return torch.device(name)


def describe_hardware(device: torch.device, processes: int = 1) -> str:
    """What a run trains on, for model cards: e.g. ``"1 x NVIDIA H200"`` or ``"cpu, 2 threads"``."""
    if device.type == "cuda":
        return f"{processes} x {torch.cuda.get_device_name(device)}"
    prefix = f"{processes} processes x " if processes > 1 else ""
    return f"{prefix}cpu, {torch.get_num_threads()} threads"

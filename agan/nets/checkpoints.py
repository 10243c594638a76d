"""Checkpoints: one ``.pt`` file of plain tensors and JSON-able values, loaded with ``weights_only=True``.

A checkpoint is a dict::

    {
        "format": 1,                       # FORMAT_VERSION
        "model": "dncnn",                  # registry name
        "model_args": {"in_channels": 1},  # constructor arguments (JSON-able)
        "weights": {...},                  # the model's state_dict
        # training checkpoints only:
        "training": {"step": ..., "optimizer": ..., "rng": ..., "config": {...}},
        # anything else JSON-able, e.g. "card": {...} for a release
    }

Nothing in it needs unpickling of arbitrary objects: :func:`load_checkpoint`
uses ``torch.load(..., weights_only=True)``. Files are written to a temporary
name in the same folder and renamed, so an interrupted save never leaves a
half-written checkpoint under the final name.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch

from agan.data.io import atomic_write_bytes
from agan.errors import InputError, first_line

FORMAT_VERSION = 1


class CheckpointError(InputError):
    """A checkpoint that cannot be read or is not ours; the one-line message names the file."""


def _check_json(value: Any, path: Path, key: str) -> None:
    try:
        json.dumps(value)
    except TypeError as err:
        raise CheckpointError(f"{path}: {key} is not JSON-able ({err})") from None


def save_checkpoint(
    path: str | Path,
    *,
    model: str,
    model_args: dict[str, Any],
    weights: dict[str, torch.Tensor],
    training: dict[str, Any] | None = None,
    **extra: Any,
) -> Path:
    """Write a checkpoint atomically.

    Args:
        path: destination ``.pt`` file; its folder is created.
        model: registry name of the architecture.
        model_args: JSON-able constructor arguments.
        weights: the model's ``state_dict()`` (moved to the CPU here).
        training: optional training state: step, optimizers
            state dicts, RNG states (tensors, ints, lists), the run config.
        **extra: more JSON-able entries (e.g. a model card).

    Returns:
        The path written.
    """
    path = Path(path)
    _check_json(model_args, path, "model_args")
    for key, value in extra.items():
        _check_json(value, path, key)
    payload: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "model": model,
        "model_args": dict(model_args),
        "weights": {k: v.detach().cpu() for k, v in weights.items()},
        **extra,
    }
    if training is not None:
        payload["training"] = training
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)`` and check its format.

    Raises:
        CheckpointError: missing, unreadable, or not an agan checkpoint of a
            known format version; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, pickle with foreign objects, ...
        text = str(err)
        if "Unsupported global" in text:  # never pass on torch's advice to load it with weights_only=False
            raise CheckpointError(f"{path}: refused: it holds Python objects beyond tensors and plain values, "
                                  "and agan never unpickles those (an agan checkpoint holds none)") from None
        if "Weights only load failed" in text:
            first = "not a PyTorch file, or a damaged one"
        else:
            first = first_line(err)
        raise CheckpointError(f"{path}: not a readable checkpoint ({first})") from None
    if not isinstance(payload, dict) or not {"format", "model", "model_args", "weights"} <= set(payload):
        raise CheckpointError(f"{path}: not an agan checkpoint (needs format, model, model_args, weights)")
    if payload["format"] != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {payload['format']}, this agan reads {FORMAT_VERSION}")
    return payload


def release_checkpoint(source: str | Path, destination: str | Path, *, half: bool = False, live: bool = False,
                       **extra: Any) -> Path:
    """Copy a training checkpoint without its training state (optionally in fp16) for shipping.

    Args:
        source: a training or release checkpoint.
        destination: the release file to write.
        half: store floating-point weights as float16 (loaded back as float32 by the model).
        live: ship the network's own weights at the checkpoint's step (its training state's) instead
            of ``weights`` (their EMA, when the run kept one).
        **extra: JSON-able entries to add, e.g. ``card={...}``.

    Raises:
        CheckpointError: ``live`` for a checkpoint without a training state.
    """
    payload = load_checkpoint(source)
    weights = payload["weights"]
    if live:
        training = payload.get("training") or {}
        if "model" not in training:
            raise CheckpointError(f"{source}: holds no training state, so no live weights to release")
        weights = training["model"]
    if half:
        weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    kept = {k: v for k, v in payload.items() if k not in ("format", "model", "model_args", "weights", "training")}
    return save_checkpoint(destination, model=payload["model"], model_args=payload["model_args"], weights=weights,
                           **{**kept, **extra})


def float32_weights(weights: dict[str, Any]) -> dict[str, Any]:
    """A state dict with its floating-point tensors as float32 (a release stores them as float16)."""
    return {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}

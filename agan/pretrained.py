"""The models that ship with agan: fp16 checkpoints and their model cards in ``agan/weights/``.

Each release ``NAME`` is two files: ``NAME.pt``, an ordinary agan checkpoint
(:mod:`agan.checkpoints`) whose floating-point weights are stored as fp16
(they load as float32), and ``NAME.json``, its model card: the data, steps,
hardware, training time and command it was trained with, and the figures
measured on the released file. Each is trained by the recipe
``scripts/recipes/NAME.sh`` and written by ``scripts/release_model.py``.

A release name is a method wherever one is asked for (``agan restore
--model NAME``, ``agan evaluate NAME``, ``agan compare``); a name whose
weights this build does not hold is a clear error naming the recipe.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from data.io import atomic_write_bytes
from data.spec import SpecError

from .checkpoints import load_checkpoint, save_checkpoint

__all__ = [
    "DEFAULT_MODEL",
    "RELEASES",
    "WEIGHTS_DIR",
    "card_from_run",
    "load_card",
    "release",
    "resolve",
    "shipped",
    "training_record",
]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

#: Every release agan plans to ship, name -> one line on what it restores.
RELEASES: dict[str, str] = {
    "attentive-gan-weather": "Attentive GAN: raindrops, rain streaks, snow and dust (colour photos)",
    "unet-weather": "U-Net trained on the same weather data as the GAN (colour photos)",
    "dncnn-gray-s25": "DnCNN-S: grey images, Gaussian noise sigma = 25 (train400)",
    "dncnn-color-blind": "DnCNN-B: colour images, blind to the level of a noise mix",
}

#: What ``agan restore`` uses when no ``--model`` is given.
DEFAULT_MODEL = "attentive-gan-weather"


def _check_name(name: str) -> None:
    if name not in RELEASES:
        raise SpecError(f"unknown release {name!r}; releases: {', '.join(RELEASES)}")


def _paths(name: str, folder: str | Path | None) -> tuple[Path, Path]:
    folder = Path(folder) if folder is not None else WEIGHTS_DIR
    return folder / f"{name}.pt", folder / f"{name}.json"


def resolve(name: str, folder: str | Path | None = None) -> Path:
    """The checkpoint file of the release ``name``.

    Raises:
        SpecError: ``name`` is not a release, or this build does not hold its weights.
    """
    _check_name(name)
    weights, _ = _paths(name, folder)
    if not weights.is_file():
        raise SpecError(f"{name}: this build ships no weights for it ({weights} is missing); train them with "
                        f"scripts/recipes/{name}.sh, or name a checkpoint (.pt) or a filter")
    return weights


def load_card(name: str, folder: str | Path | None = None) -> dict[str, Any]:
    """The model card of a shipped release (the JSON beside its weights)."""
    _, card = _paths(name, folder)
    try:
        return json.loads(card.read_text())
    except (OSError, ValueError) as err:
        raise SpecError(f"{card}: cannot read the model card ({err})") from None


def shipped(folder: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The releases whose weights this build holds: name -> model card, in :data:`RELEASES` order."""
    return {name: load_card(name, folder) for name in RELEASES if _paths(name, folder)[0].is_file()}


def training_record(run: str | Path) -> dict[str, Any]:
    """What a run folder says about its training: config, last step, time, hardware, best validation.

    Reads ``RUN/config.json`` and ``RUN/metrics.jsonl``. The training time is
    the sum of the logged seconds per step times the steps each record covers
    (validation and checkpoint writing excluded). The best validation is the
    record with the highest ``val/psnr`` (what ``best.pt`` holds).

    Raises:
        ValueError: a file is missing or empty (named).
    """
    from .plot import read_metrics

    config_path = Path(run) / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{config_path}: no such file (is {run} a training run folder?)")
    config = json.loads(config_path.read_text())
    records = read_metrics(run)
    seconds, previous = 0.0, 0
    for record in records:
        if "seconds_per_step" in record:
            seconds += record["seconds_per_step"] * max(record["step"] - previous, 0)
            previous = record["step"]
    hardware = sorted({r["device"] for r in records if "device" in r})
    validated = [r for r in records if "val/psnr" in r]
    best = max(validated, key=lambda r: r["val/psnr"]) if validated else None
    return {
        "config": config,
        "steps": max(r["step"] for r in records),
        "training_seconds": round(seconds, 2),
        "hardware": ", ".join(hardware) or "not recorded",
        "validation": None if best is None else {
            "data": config.get("val"), "step": best["step"],
            **{k.removeprefix("val/"): round(v, 4) for k, v in best.items() if k.startswith("val/")}},
    }


def card_from_run(run: str | Path, name: str, command: str) -> dict[str, Any]:
    """A model card for the release ``name`` of ``run`` (see :func:`training_record`).

    Args:
        run: the training run folder.
        name: the release name (one of :data:`RELEASES`).
        command: the command that reproduces the run (the recipe).
    """
    _check_name(name)
    record = training_record(run)
    config = record["config"]
    return {
        "name": name,
        "summary": RELEASES[name],
        "model": config["model"],
        "data": config["data"],
        "steps": record["steps"],
        "batch": config.get("batch"),
        "patch": config.get("patch"),
        "hardware": record["hardware"],
        "training_seconds": record["training_seconds"],
        "command": command,
        "validation": record["validation"],
        "evaluations": [],
        "released": time.strftime("%Y-%m-%d"),
    }


def release(checkpoint: str | Path, name: str, card: dict[str, Any], folder: str | Path | None = None) -> tuple[Path, Path]:
    """Write the release ``name``: the checkpoint's weights as fp16, and the card beside them.

    The weights written are the checkpoint's ``weights`` (the EMA ones when
    the run kept an EMA); integer buffers stay as they are. Both files are
    written atomically; the card gets ``parameters`` and ``file_mb``.

    Returns:
        ``(weights path, card path)``.
    """
    _check_name(name)
    payload = load_checkpoint(checkpoint)
    weights = {k: v.half() if v.is_floating_point() else v for k, v in payload["weights"].items()}
    from .architectures import get_architecture
    from .models import count_parameters

    network = get_architecture(payload["model"]).build(**payload["model_args"])
    card = {**card, "name": name, "model": payload["model"], "model_args": payload["model_args"],
            "parameters": count_parameters(network), "weights": "fp16"}
    weights_path, card_path = _paths(name, folder)
    save_checkpoint(weights_path, model=payload["model"], model_args=payload["model_args"], weights=weights)
    card["file_mb"] = round(weights_path.stat().st_size / 2**20, 2)
    atomic_write_bytes(card_path, (json.dumps(card, indent=2) + "\n").encode())
    return weights_path, card_path


"""What a training run needs to stop and go on exactly: the step sampler, RNG states, the schedule.

A run resumes bit-identically on the CPU because batch ``s`` is a function of
the step (:class:`StepSampler`), the RNG states travel in the checkpoint
(:func:`rng_state`, read back on any device by :func:`set_rng_state`), and
the learning rate is a closed-form function of the step (:func:`lr_factor`).
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import torch

from agan.training.config import TrainConfig

__all__ = ["StepSampler", "ema_decay", "ema_update", "lr_factor", "resume_schedule", "rng_state", "scheduler", "set_rng_state",
           "to_cpu"]


class StepSampler(torch.utils.data.Sampler[int]):
    """Stream positions of steps ``start .. iters-1`` for one process of ``world`` (see PatchDataset)."""

    def __init__(self, start: int, iters: int, batch: int, rank: int = 0, world: int = 1):
        self.start, self.iters, self.batch, self.rank, self.world = start, iters, batch, rank, world

    def __iter__(self):
        for step in range(self.start, self.iters):
            base = (step * self.world + self.rank) * self.batch
            yield from range(base, base + self.batch)

    def __len__(self) -> int:
        return max(0, self.iters - self.start) * self.batch


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1]),
             "numpy": [int(v) for v in np.random.get_state()[1]]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), None))
    np.random.set_state(("MT19937", np.array(state["numpy"], dtype=np.uint32), 624, 0, 0.0))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def lr_factor(config: TrainConfig, step: int) -> float:
    """The learning rate at ``step`` as a fraction of the initial one, in closed form.

    cosine: from 1 down to ``min_lr_ratio`` at ``iters`` (and flat after it);
    step: times ``gamma`` every ``step_size`` steps (default ``iters // 3``);
    constant: 1; all times a linear ramp over the first ``warmup`` steps. Being a
    function of the step and the configuration only,
    the schedule resumes exactly, and a run resumed with a larger ``--iters``
    follows the schedule of the new length instead of PyTorch's
    ``CosineAnnealingLR``, which climbs back up after its ``T_max``.
    """
    ramp = min(1.0, (step + 1) / config.warmup) if config.warmup else 1.0
    if config.schedule == "cosine":
        t = min(step, config.iters) / config.iters
        return ramp * (config.min_lr_ratio + (1.0 - config.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * t)))
    if config.schedule == "step":
        return ramp * config.gamma ** (step // (config.step_size or max(1, config.iters // 3)))
    return ramp


def scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(config, step))


def resume_schedule(scheduler: torch.optim.lr_scheduler.LambdaLR, config: TrainConfig, step: int) -> None:
    """Put a fresh schedule at ``step`` (the saved scheduler state is not needed: the rate is closed form)."""
    scheduler.last_epoch = step
    for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs):
        group["lr"] = base * lr_factor(config, step)


def to_cpu(value: Any) -> Any:
    """Tensors in nested dicts, lists and tuples moved to the CPU (the optimizer state of a CUDA run)."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(v) for v in value)
    return value


def ema_decay(decay: float, updates: int) -> float:
    """The decay of the EMA's ``updates``-th update: ``min(decay, (1 + n) / (10 + n))``, n = updates so
    far, as TensorFlow's ``ExponentialMovingAverage(num_updates=...)``. Without the ramp a stage of
    1000 steps at 0.999 would keep 0.999**1000 = 37 % of its starting weights in the average; with it,
    the average forgets them within the first hundred steps and settles at ``decay`` by step 10/(1-decay)."""
    return min(decay, (1 + updates) / (10 + updates))


def ema_update(decay: float):
    """``multi_avg_fn`` for :class:`torch.optim.swa_utils.AveragedModel`: the EMA with :func:`ema_decay`'s
    ramp (torch's ``get_ema_multi_avg_fn`` with a decay that depends on the update count)."""

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], updates: torch.Tensor) -> None:
        weight = ema_decay(decay, int(updates))
        if torch.is_floating_point(averaged[0]) or torch.is_complex(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1 - weight)
        else:  # integer buffers (BatchNorm's batch count)
            for kept, now in zip(averaged, current):
                kept.copy_(kept * weight + now * (1 - weight))

    return update

"""``agan train --minutes M``: a time budget that sets the schedule.

After a warm-up (a tenth of the budget) the speed is measured and ``iters`` set so that the
schedule (low learning rate, last validation, ``best.pt``) ends inside the budget.
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.distributed as dist

from agan.training.config import TrainConfig


class TimeBudget:
    """Begin a ``--minutes`` run at ``step``: the schedule is open-ended (``iters`` = 10**9) until
    :meth:`settle` has timed the warm-up; the cosine is flat at its start, so the warm-up lr is the base lr."""

    def __init__(self, config: TrainConfig, step: int) -> None:
        self.start, self.seconds, self.steps = time.monotonic(), 60.0 * config.minutes, step
        config.iters = 10**9

    def settle(self, trainer: Any) -> bool:
        """After the warm-up, set ``trainer.config.iters`` so that the schedule ends within the budget.

        The time per step is measured; a validation is timed once (its result logged) and counted
        every ``val_every`` steps; 5 % of the budget is kept for the last validation and checkpoints.
        Every process of a distributed run stops at the same step. Returns True once ``iters`` is set
        (and written to config.json); False while the warm-up lasts.
        """
        elapsed = time.monotonic() - self.start
        if elapsed < 0.1 * self.seconds or trainer.step - self.steps < 2:
            return False
        config = trainer.config
        per_step = elapsed / (trainer.step - self.steps)
        per_validation = 0.0
        if trainer.val_set is not None:
            began = time.monotonic()
            scores, _ = trainer.validate() if trainer.main else ({}, None)
            per_validation = time.monotonic() - began
            if trainer.main:
                trainer.write_metrics({"step": trainer.step, **scores})
        left = self.seconds * 0.95 - (time.monotonic() - self.start)
        steps = int(left / (per_step + per_validation / config.val_every)) if left > 0 else 0
        if trainer.world > 1:  # every process must stop at the same step
            agreed = torch.tensor([steps], device=trainer.device)
            dist.all_reduce(agreed, op=dist.ReduceOp.MIN)
            steps = int(agreed.item())
        config.iters = trainer.step + max(steps, 1)
        if trainer.main:
            trainer.write_config()
            trainer.log(f"--minutes {config.minutes:g}: {per_step:.3f} s a step, {per_validation:.1f} s a "
                        f"validation; the schedule ends at step {config.iters}")
        return True

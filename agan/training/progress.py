"""What a training shows while it runs: its progress bar with the loss, learning rate and last
validation, or (without a terminal, e.g. in a cluster log) a plain line at most every
:data:`PLAIN_LOG_SECONDS` and at every validation."""

from __future__ import annotations

import math
import time
from typing import Any, Callable

from tqdm import tqdm

#: Without a terminal, training prints a plain progress line at most this often (and at each validation).
PLAIN_LOG_SECONDS = 30.0


class Progress:
    """The progress of one training session from ``step`` to ``total`` steps.

    Args:
        step, total: the first step of this session and the last of the schedule.
        bar: show a progress bar (a terminal); otherwise plain lines go to ``log``.
        log: where plain lines go.
    """

    def __init__(self, step: int, total: int, bar: bool, log: Callable[[str], Any] = print) -> None:
        self.bar = tqdm(total=total, initial=step, desc="train", unit="step", disable=not bar)
        self.log, self.shown, self.last_plain = log, {}, -math.inf

    def advance(self) -> None:
        self.bar.update(1)

    def set_total(self, total: int) -> None:
        self.bar.total = total

    def show(self, step: int, total: int, record: dict[str, Any]) -> None:
        """Show a logged record (losses, lr, validation) of ``step``."""
        loss = record.get("train/g_total", record.get("train/total"))
        if loss is not None:
            self.shown["loss"] = f"{loss:.4g}"
            self.shown["lr"] = f"{record['lr']:.2g}"
        if "val/psnr" in record:
            self.shown["val"] = f"{record['val/psnr']:.2f} dB"
        if not self.bar.disable:
            self.bar.set_postfix(self.shown, refresh=False)
            return
        now = time.monotonic()
        if "val/psnr" in record or now - self.last_plain >= PLAIN_LOG_SECONDS:
            self.last_plain = now
            speed = f", {record['seconds_per_step']:.2f} s/step" if "seconds_per_step" in record else ""
            self.log(f"step {step}/{total}: " + ", ".join(f"{k} {v}" for k, v in self.shown.items()) + speed)

    def close(self) -> None:
        self.bar.close()

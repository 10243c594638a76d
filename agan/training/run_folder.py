"""A training run's folder: the one place that knows its layout.

::

    RUN/config.json              every setting (TrainConfig), enough to rerun it
    RUN/checkpoints/last.pt      newest state: weights, optimizers, step, RNG states
    RUN/checkpoints/best.pt      the best validation PSNR so far (or lowest training loss without --val)
    RUN/metrics.jsonl            one line per logged step: step, lr, seconds per step, device, losses, validation
    RUN/events.out.tfevents.*    the same scalars for TensorBoard
    RUN/samples/step_NNNNNN.png  input | attention | output | target of the first validation image
    RUN/lineage.json             what a fine-tuned run started from (``--init``)
    RUN/.lock                    held by the process that trains into the folder
    RUN/release/NAME.pt          a run shipped without its checkpoints (a release made elsewhere)
    RUN/curves.png               ``agan plot``'s default output
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agan.errors import InputError


def read_metrics(run: str | Path) -> list[dict]:
    """The records of ``RUN/metrics.jsonl`` along the run's final timeline.

    A last line cut short (a run killed while writing it) is skipped. When a
    run was resumed from an older ``last.pt``, the steps logged after that
    checkpoint by the interrupted session are logged again; the older copies
    are dropped, and records of the same step are merged.

    Raises:
        InputError: the file is missing, empty, or has a broken line before the last (named).
    """
    path = RunFolder(run).metrics
    if not path.is_file():
        raise InputError(f"{path}: no such file (is {run} a training run folder?)")
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    records: list[dict] = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines):
                break
            raise InputError(f"{path}: line {number} is not a JSON record") from None
        while records and records[-1]["step"] > record["step"]:
            records.pop()  # logged by a session that was interrupted and resumed from an earlier step
        if records and records[-1]["step"] == record["step"]:
            records[-1] = {**records[-1], **record}
        else:
            records.append(record)
    if not records:
        raise InputError(f"{path}: no records yet")
    return records


@dataclass(frozen=True)
class RunFolder:
    """The paths of a run folder (see the module's layout) and its metrics log."""

    path: Path

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def checkpoint(self, name: str = "last") -> Path:
        """``checkpoints/NAME.pt`` (``name`` is ``last``, ``best``, or a file name ending in .pt)."""
        return self.checkpoints / (name if name.endswith(".pt") else f"{name}.pt")

    def sample(self, step: int) -> Path:
        return self.path / "samples" / f"step_{step:06d}.png"

    @property
    def lineage(self) -> Path:
        return self.path / "lineage.json"

    @property
    def lock(self) -> Path:
        return self.path / ".lock"

    def release(self, name: str) -> Path:
        return self.path / "release" / f"{name}.pt"

    @property
    def curves(self) -> Path:
        return self.path / "curves.png"

    def resumable(self) -> bool:
        """True when the folder holds a run to continue (its settings and ``checkpoints/last.pt``)."""
        return self.config.exists() and self.checkpoint("last").exists()

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Add one JSON line to ``metrics.jsonl``."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.metrics, "a") as handle:
            handle.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict]:
        """The records of ``metrics.jsonl`` along the run's final timeline (see :func:`read_metrics`)."""
        return read_metrics(self.path)

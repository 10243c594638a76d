"""One training engine for every model: a supervised step for the CNNs, an adversarial step for the GAN.

A run is a folder (its layout: :class:`agan.training.run_folder.RunFolder`).

Starting a run in a folder that has ``checkpoints/last.pt`` continues it exactly:
batch ``s`` is always the same patches (see :class:`agan.data.datasets.PatchDataset`),
and weights, optimizer, schedule, step and RNG states are restored, so an
interrupted CPU run ends bit-identical to an uninterrupted one.

Under ``torchrun --nproc_per_node=N`` the same command trains with
DistributedDataParallel (NCCL on GPUs, gloo on CPUs); each process takes its own
``batch`` patches of every step and only rank 0 logs and writes.

Images are NCHW float32 tensors in [0, 1] inside; batches come from the
dataset's HWC numpy arrays.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from agan.data.datasets import ImageDataset, PatchDataset
from agan.data.io import atomic_write_bytes, write_image
from agan.data.overlap import leave_out
from agan.data.sources import describe, open_source
from agan.device import cpu_bf16_instructions, describe_hardware, resolve_device
from agan.errors import StoppedError
from agan.nets import count_parameters
from agan.nets.architectures import get_architecture
from agan.nets.checkpoints import load_checkpoint, save_checkpoint
from agan.training.config import TrainConfig
from agan.training.guard import Interrupted, RunLock, StopSignals
from agan.training.budget import TimeBudget
from agan.training.progress import Progress
from agan.training.run_folder import RunFolder
from agan.training.state import StepSampler, ema_update, rng_state, set_rng_state, to_cpu
from agan.nets.patch_discriminator import PatchDiscriminator
from agan.training.steps import build_step, unwrap
from agan.training.validation import validate

#: Training images are decoded once and kept in memory when they take at most this (decoded, 3 bytes a pixel).
PRELOAD_BYTES = 4 * 2**30


class TrainingError(StoppedError):
    """Training stopped: a non-finite loss, or a run folder that does not match the command."""


def hyperparameters(config: TrainConfig) -> dict[str, Any]:
    """The run's settings as TensorBoard's HParams tab takes them (numbers, strings and booleans;
    model arguments as ``model_args.NAME``; unset values left out)."""
    flat: dict[str, Any] = {}
    for key, value in config.to_json().items():
        if key in ("out", "device", "workers", "log_every", "save_every"):
            continue
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for name, item in items:
            label = f"{key}.{name}" if name else key
            if isinstance(item, (bool, int, float, str)):
                flat[label] = item
            elif isinstance(item, list):
                flat[label] = str(item)
    return flat


def to_tensor(batch: dict[str, Any], device: torch.device,
              channels_last: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Collated HWC float32 numpy arrays (as tensors N,H,W,C) to NCHW ``degraded, clean`` and N1HW ``mask``
    (``degraded`` and ``clean`` in channels_last memory format when asked)."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    degraded = batch["degraded"].permute(0, 3, 1, 2).contiguous(memory_format=layout).to(device, non_blocking=True)
    clean = batch["clean"].permute(0, 3, 1, 2).contiguous(memory_format=layout).to(device, non_blocking=True)
    mask = batch["mask"][:, None].contiguous().to(device, non_blocking=True)
    return degraded, clean, mask


class Trainer:
    """Builds the networks, data and optimizers of a :class:`TrainConfig` and runs the loop."""

    def __init__(self, config: TrainConfig, *, log: Any = print):
        config.check()
        self.config, self.log = config, log
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = resolve_device(config.device)
        if self.world > 1:
            self._init_distributed()
        self.main = self.rank == 0
        self.run = Path(config.out)
        self.folder = RunFolder(self.run)
        architecture = get_architecture(config.model)
        init = self._init_payload() if config.init else None
        if init is not None:  # the starting weights fix the architecture; the config may still add arguments
            config.model_args = {**architecture.checkpoint_args(init), **config.model_args}

        source = open_source(config.data, grey=config.grey)
        if config.grey is None:
            # One channel count for the whole run (sets such as Set14 mix grey and colour files):
            # the model's, when given, else the first training image's.
            channels = config.model_args.get("in_channels") or source.load_clean(0).shape[2]
            config.grey = source.grey = channels == 1
        channels = 1 if config.grey else 3
        self.val_set = (ImageDataset(open_source(config.val, grey=config.grey), seed=config.seed, limit=config.val_limit)
                        if config.val else None)
        if self.val_set is not None:  # a validation photo is never a training photo (e.g. BSD scenes in both)
            val_source = self.val_set.source
            dropped, whole = leave_out(source, [val_source.load_clean(i) for i in range(len(val_source))])
            if dropped and self.main:
                log(f"left out of training {len(dropped)} photo(s) that are also validation images: "
                    f"{', '.join(dropped[:8])}{' ...' if len(dropped) > 8 else ''}")
            for spec in whole if self.main else ():
                log(f"note: every image of {spec} is also a validation image: validation measures fit to the "
                    "training photos, not generalisation")
        self.train_set = PatchDataset(source, config.patch, seed=config.seed,
                                      masks=architecture.discriminator is not None, share=config.share_weather)
        self.train_set[0]  # a bad degradation parameter or an unreadable first photo fails here, before RUN exists
        model_args = {"in_channels": channels, **config.model_args}
        config.model_args = model_args
        torch.manual_seed(config.seed)
        random.seed(config.seed)
        np.random.seed(config.seed % 2**32)
        model = architecture.build(**model_args).to(self.device)
        config.model_args = architecture.explicit_args(model_args, model)
        discriminator = (architecture.discriminator(in_channels=channels, spectral_norm=config.d_spectral_norm).to(self.device)
                         if architecture.discriminator is not None
                         else PatchDiscriminator(in_channels=channels).to(self.device) if config.adversarial else None)
        self.amp_dtype = self._amp_dtype(config.amp)
        self.train_step = build_step(config, model, discriminator, self.amp_dtype, self.device)
        if init is not None:
            self._load_init(init)
        # use_buffers: BatchNorm's running statistics are averaged like the weights (as timm's ModelEma
        # does). Copying the live statistics onto averaged weights, torch's default, cost DnCNN-17 0.43 dB
        # on Set12 (29.08 against the live weights' 29.51 dB at step 1500 of a fine-tune).
        self.ema = (torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=ema_update(config.ema), use_buffers=True)
                    if config.ema else None)
        if self.amp_dtype is not None and self.device.type == "cpu":  # oneDNN's bf16 convolutions want NHWC
            self.train_step.to_channels_last()
        if self.world > 1:
            self.train_step.distribute([self.device.index] if self.device.type == "cuda" else None)
        self._channels_last = self.amp_dtype is not None and self.device.type == "cpu"
        self.hardware = describe_hardware(self.device, self.world)  # recorded in metrics.jsonl for model cards
        self.step = 0
        self.best = -math.inf
        self.writer = None
        self._progress: Progress | None = None

    # ------------------------------------------------------------------ setup
    def _init_distributed(self) -> None:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if self.device.type == "cuda":
            torch.cuda.set_device(local)
            self.device = torch.device("cuda", local)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    def _init_payload(self) -> dict[str, Any]:
        """The checkpoint ``config.init`` names (a shipped release or a ``.pt`` file), checked against the model."""
        from agan.methods.shipped import RELEASES, resolve

        path = resolve(self.config.init) if self.config.init in RELEASES else Path(self.config.init)
        payload = load_checkpoint(path)
        if payload["model"] != self.config.model:
            raise TrainingError(f"--init {self.config.init}: holds a {payload['model']} network, not {self.config.model}")
        return payload

    @property
    def model(self) -> nn.Module:
        """The network being trained (the generator of a GAN), as the step holds it (maybe DDP-wrapped)."""
        return self.train_step.model

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        return self.train_step.optimizer

    def _load_init(self, payload: dict[str, Any]) -> None:
        """Start from ``payload``'s weights (and its discriminator's, for a GAN training checkpoint)."""
        try:
            self.train_step.load_init(payload)
        except RuntimeError as err:
            raise TrainingError(f"--init {self.config.init}: its weights do not fit this model "
                                f"({str(err).strip().splitlines()[0]})") from None

    def describe(self) -> str:
        """What a dry run prints: the resolved configuration and the model's size."""
        net = unwrap(self.model)
        lines = [json.dumps(self.config.to_json(), indent=2),
                 f"model: {self.config.model} {net.config} — {count_parameters(net):,} parameters",
                 f"train: {describe(self.train_set.source)}, patches {self.config.patch}, batch {self.config.batch}"
                 f"{f' x {self.world} processes' if self.world > 1 else ''}"]
        lines += self.train_step.describe()
        if self.val_set is not None:
            lines.append(f"validation: {describe(self.val_set.source)} (first {len(self.val_set)})")
        lines.append(f"device: {self.device}")
        return "\n".join(lines)

    # ------------------------------------------------------------- checkpoints
    def _weights_for_release(self) -> dict[str, torch.Tensor]:
        return (self.ema.module if self.ema is not None else unwrap(self.model)).state_dict()

    def save(self, name: str) -> Path:
        """Write ``checkpoints/NAME`` (all tensors on the CPU, so it resumes on any device).

        Raises:
            TrainingError: a weight is NaN or infinite; nothing is written, the
                previous checkpoint stays.
        """
        for label, network in self.train_step.networks():
            if not all(torch.isfinite(p).all() for p in network.parameters()):
                kept = self.folder.checkpoint(name)
                raise TrainingError(f"step {self.step}: the {label}'s weights are not finite; {name} not written"
                                    + (f", {kept} kept" if kept.exists() else ""))
        training = {"step": self.step, "best": self.best, **self.train_step.state(), "rng": rng_state(),
                    "config": self.config.to_json()}
        if self.ema is not None:
            training["ema"] = self.ema.state_dict()
        training = to_cpu(training)
        return save_checkpoint(self.folder.checkpoint(name), model=self.config.model,
                               model_args=self.config.model_args, weights=self._weights_for_release(), training=training)

    def resume(self, path: Path) -> None:
        """Continue from a training checkpoint, read on the CPU and moved to the run's device.

        RNG states must stay CPU tensors (``torch.set_rng_state``), whatever
        device the run was saved or resumes on.
        """
        state = load_checkpoint(path, map_location="cpu")
        training = state.get("training")
        if training is None or state["model"] != self.config.model:
            raise TrainingError(f"{path}: not a training checkpoint of {self.config.model}")
        self.step, self.best = int(training["step"]), float(training["best"])
        self.train_step.load_state(training, self.step)
        if self.ema is not None:
            self.ema.load_state_dict(training["ema"])
        set_rng_state(training["rng"])

    # -------------------------------------------------------------- validation
    def validate(self) -> tuple[dict[str, float], np.ndarray | None]:
        """Validation of the weights a release would take (the EMA's when kept): see
        :func:`agan.training.validation.validate`."""
        net = self.ema.module if self.ema is not None else unwrap(self.model)
        net.eval()
        try:
            return validate(net, self.val_set, self.device)
        finally:
            net.train()

    # ------------------------------------------------------------------ loop
    def write_metrics(self, record: dict[str, Any]) -> None:
        if "val/psnr" in record and self.writer is not None:
            self.writer.add_scalar("hparam/val_psnr", record["val/psnr"], record["step"])
        self.folder.append_metrics(record)
        for key, value in record.items():
            if key != "step" and isinstance(value, float) and self.writer is not None:
                self.writer.add_scalar(key, value, record["step"])

    def _check_finite(self, terms: dict[str, float]) -> None:
        for name, value in terms.items():
            if not math.isfinite(value):
                last = self.folder.checkpoint("last")
                kept = f"; the last good checkpoint is {last}" if last.exists() else ""
                raise TrainingError(f"step {self.step + 1}: loss term {name} is {value}{kept}")

    def _should_stop(self, stop_after: int | None, deadline: float | None) -> bool:
        """Stop this session early? Every process takes the same decision (the deadline is shared)."""
        stop = (stop_after is not None and self.step >= stop_after) or (deadline is not None and time.monotonic() > deadline)
        if self.world > 1 and deadline is not None:
            flag = torch.tensor([float(stop)], device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            stop = bool(flag.item())
        return stop

    def _log_and_save(self, sums: dict[str, float], count: int, started: float, log_due: bool) -> bool:
        """Rank 0 after a step: log (when ``log_due``), validate, write samples and checkpoints when due.

        Returns whether ``last.pt`` was written."""
        c = self.config
        record: dict[str, Any] = {}
        if log_due:
            record = {"step": self.step, "lr": float(self.optimizer.param_groups[0]["lr"]),
                      "seconds_per_step": (time.perf_counter() - started) / max(count, 1),
                      "device": self.hardware,
                      **{f"train/{k}": v / max(count, 1) for k, v in sums.items()}}
        if self.val_set is not None and (self.step % c.val_every == 0 or self.step == c.iters):
            scores, sample = self.validate()
            record = {"step": self.step, **record, **scores}
            if sample is not None:
                write_image(self.folder.sample(self.step), sample)
                if self.writer is not None:  # the same grid in TensorBoard's Images tab
                    self.writer.add_image("samples", sample, self.step, dataformats="HWC")
        if record:
            self.write_metrics(record)
            if self._progress is not None:
                self._progress.show(self.step, self.config.iters, record)
        return self._save_if_due(record)

    def _save_if_due(self, record: dict[str, Any]) -> bool:
        """``best.pt`` when validation PSNR (or, without validation, the training loss at a save
        point) improves; ``last.pt`` every ``save_every`` steps and at the end. Returns whether
        ``last.pt`` was written."""
        due = self.step % self.config.save_every == 0 or self.step == self.config.iters
        if "val/psnr" in record:
            score = record["val/psnr"]
        elif due and self.val_set is None and record:
            score = -record.get("train/g_total", record.get("train/total", math.inf))
        else:
            score = None
        if score is not None and score > self.best:
            self.best = score
            self.save("best.pt")
        if due:
            self.save("last.pt")
        return due

    def fit(self, progress: bool = False, *, stop_after: int | None = None, max_minutes: float | None = None) -> Path:
        """Train up to ``config.iters`` steps, resuming from ``RUN/checkpoints/last.pt`` when present.

        ``stop_after`` (steps) and ``max_minutes`` end this session early, after
        writing ``last.pt``; running again resumes from there. ``config.minutes``
        sets ``iters`` from the speed measured after a warm-up (see
        :class:`~agan.training.budget.TimeBudget`). The run folder is locked while it trains
        (:class:`~agan.training.guard.RunLock`); SIGINT/SIGTERM and a failing data
        file write ``last.pt`` before stopping.

        Raises:
            TrainingError: a non-finite loss or weights, a data file that cannot be read.
            Interrupted: SIGINT or SIGTERM (after writing ``last.pt``).
            RunLocked: another process trains this folder.
        """
        with RunLock(self.run) if self.main else contextlib.nullcontext(), StopSignals() as signals:
            return self._fit(progress, stop_after, max_minutes, signals)

    def _fit(self, progress: bool, stop_after: int | None, max_minutes: float | None, signals: StopSignals) -> Path:
        deadline = None if max_minutes is None else time.monotonic() + 60 * max_minutes
        c = self.config
        last = self.folder.checkpoint("last")
        if last.exists():
            self.resume(last)
            if self.main:
                self.log(f"resuming {self.run} at step {self.step}")
        budget = TimeBudget(c, self.step) if c.minutes and not last.exists() else None
        if self.main:
            self.run.mkdir(parents=True, exist_ok=True)
            self.write_config()
            if c.init and not last.exists():  # where the starting weights came from, for the release's card
                from agan.training.release import init_lineage

                atomic_write_bytes(self.folder.lineage, json.dumps(init_lineage(c.init), indent=2).encode())
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run))
            self.writer.add_text("config", "```\n" + json.dumps(self.config.to_json(), indent=2) + "\n```", self.step)
            if not last.exists():  # the settings once, in TensorBoard's HParams tab (its table of runs)
                self.writer.add_hparams(hyperparameters(self.config), {"hparam/val_psnr": float("nan")},
                                        run_name=".")
        self._preload()
        loader = DataLoader(self.train_set, batch_size=c.batch, num_workers=c.workers,
                            sampler=StepSampler(self.step, c.iters, c.batch, self.rank, self.world),
                            pin_memory=self.device.type == "cuda", persistent_workers=c.workers > 0)
        self.train_step.train()
        sums: dict[str, float] = {}
        count, started = 0, time.perf_counter()
        bar = self._progress = Progress(self.step, c.iters, progress and self.main, self.log)
        batches = iter(loader)
        while self.step < c.iters:
            batch = self._next_batch(batches)
            degraded, clean, mask = to_tensor(batch, self.device, channels_last=self._channels_last)
            terms = self.train_step.run(degraded, clean, mask)
            self._check_finite(terms)
            self.train_step.advance_schedules()
            if self.ema is not None:
                self.ema.update_parameters(unwrap(self.model))
            self.step += 1
            bar.advance()
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value
            count += 1
            if budget is not None and budget.settle(self):
                budget = None
                bar.set_total(c.iters)
            log_due = self.step % c.log_every == 0 or self.step == c.iters
            saved_last = self._log_and_save(sums, count, started, log_due) if self.main else False
            if log_due:
                sums, count, started = {}, 0, time.perf_counter()
            if signals.signum is not None:
                if self.main and not saved_last:
                    self.save("last.pt")
                name = signal.Signals(signals.signum).name
                raise Interrupted(f"{name} at step {self.step}: wrote {last}; run the same command to resume",
                                  signals.signum)
            if self._should_stop(stop_after, deadline):
                if self.main and not saved_last:
                    self.save("last.pt")
                break
        bar.close()
        if self.writer is not None:
            self.writer.close()
        if self.world > 1:
            dist.barrier()
        return last

    def _amp_dtype(self, amp: str) -> torch.dtype | None:
        """The autocast dtype for ``--amp``, or None for fp32 (with a note where the option does not apply).

        bf16 runs on CUDA and on CPUs with AMX or AVX-512 BF16; elsewhere a CPU emulates it, which
        measured 11x slower than fp32 (DnCNN-17, batch 64 at 40x40, 2 threads of an AVX-only EPYC:
        50 s a step against 4.6 s), so such a CPU trains in fp32. fp16 runs on CUDA only.
        """
        if amp == "none":
            return None
        cuda = self.device.type == "cuda"
        if amp == "bf16" and (cuda or cpu_bf16_instructions()):
            return torch.bfloat16
        if amp == "fp16" and cuda:
            return torch.float16
        if self.main:
            why = ("this CPU has no AMX or AVX-512 BF16 instructions (bf16 would be emulated, ~10x slower)"
                   if amp == "bf16" else f"--amp {amp} applies on CUDA only")
            self.log(f"note: {why}; training in fp32 on {self.device}")
        return None

    def _preload(self) -> None:
        """Decode the training images once, before the workers start, when they fit in :data:`PRELOAD_BYTES`."""
        source = self.train_set.source
        estimate = source.decoded_bytes()
        if estimate > PRELOAD_BYTES:
            if self.main:
                self.log(f"note: the training images take about {estimate / 2**30:.1f} GB decoded; "
                         "each patch decodes its image again")
            return
        began = time.monotonic()
        held = source.preload()
        if self.main:
            self.log(f"decoded the {len(source.files())} training files once: {held / 2**20:.0f} MB in "
                     f"{time.monotonic() - began:.1f} s")

    def _next_batch(self, batches) -> dict[str, Any]:
        """The next batch; when a data file cannot be read, ``last.pt`` is written and the file named."""
        try:
            return next(batches)
        except StopIteration:
            raise
        except Exception as err:  # re-raised from a DataLoader worker: its first line is torch's, not ours
            lines = [line for line in str(err).strip().splitlines() if line.strip()]
            cause = re.sub(r"^[\w.]+(Error|Exception): ", "", lines[-1]) if lines else type(err).__name__
            if self.main and self.step > 0:
                self.save("last.pt")
            raise TrainingError(f"{cause} (at step {self.step}; last.pt holds it: rerun to resume)") from None

    def write_config(self) -> None:
        atomic_write_bytes(self.folder.config, (json.dumps(self.config.to_json(), indent=2) + "\n").encode())

"""The two training steps of the one engine: supervised (DnCNN, U-Net) and adversarial (the Attentive GAN).

A step owns what it trains: the networks, their optimizers and learning-rate
schedules, and its losses; it says which of them a checkpoint keeps and which
networks must stay finite. The engine (:mod:`agan.training.engine`) runs the
loop, validates, logs and saves, and never asks which kind of step it has.

Images are NCHW float32 tensors in [0, 1] on the training device; masks N1HW in [0, 1].
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from agan.nets import GeneratorOutput
from agan.nets.checkpoints import float32_weights
from agan.training import losses
from agan.training.config import TrainConfig
from agan.training.perceptual import PerceptualLoss
from agan.training.state import resume_schedule, scheduler


def unwrap(model: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel wrapper (or the network itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


class SupervisedStep:
    """MSE or L1 between output and clean image; DnCNN is supervised on its residual (the noise).

    Args:
        config: the run's settings (loss, lr, betas, weight decay, schedule, gradient clipping).
        model: the network, already on the training device.
        amp_dtype: the autocast dtype (bf16, fp16) or None for fp32.
        device: the training device.
    """

    def __init__(self, config: TrainConfig, model: nn.Module, amp_dtype: torch.dtype | None, device: torch.device):
        self.config, self.model, self.amp_dtype, self.device = config, model, amp_dtype, device
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas,
                                          weight_decay=config.weight_decay)
        self.scheduler = scheduler(self.optimizer, config)
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)

    # ----------------------------------------------------------- what it holds
    def networks(self) -> list[tuple[str, nn.Module]]:
        """The trained networks by role, unwrapped: each is checked finite before a save."""
        return [("model", unwrap(self.model))]

    def describe(self) -> list[str]:
        """Lines a dry run adds about this step (none for a supervised one)."""
        return []

    def state(self) -> dict[str, Any]:
        """The training state a checkpoint keeps (weights, optimizers, AMP scaler)."""
        return {"model": unwrap(self.model).state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict()}

    def load_state(self, training: dict[str, Any], step: int) -> None:
        """Restore :meth:`state` and put the schedules at ``step``."""
        unwrap(self.model).load_state_dict(training["model"])
        self.optimizer.load_state_dict(training["optimizer"])
        self.scaler.load_state_dict(training["scaler"])
        resume_schedule(self.scheduler, self.config, step)

    def load_init(self, payload: dict[str, Any]) -> None:
        """Start from a checkpoint's weights (fine-tuning); RuntimeError when they do not fit."""
        unwrap(self.model).load_state_dict(float32_weights(payload["weights"]))

    # ----------------------------------------------------------- placement
    def to_channels_last(self) -> None:
        self.model = self.model.to(memory_format=torch.channels_last)

    def distribute(self, device_ids: list[int] | None) -> None:
        self.model = nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)

    def train(self) -> None:
        self.model.train()

    def advance_schedules(self) -> None:
        self.scheduler.step()

    # ----------------------------------------------------------- one step
    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def backward(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, params) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.clip_grad:
            self.scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, self.config.clip_grad)
        self.scaler.step(optimizer)
        self.scaler.update()

    def run(self, degraded: torch.Tensor, clean: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
        """One optimisation step on a batch; returns the loss terms (``total``)."""
        criterion = F.mse_loss if self.config.loss == "mse" else F.l1_loss
        net = unwrap(self.model)
        with self.autocast():
            if hasattr(net, "predict_noise") and net is self.model:
                loss = criterion(net.predict_noise(degraded).float(), degraded - clean)
            else:  # DDP needs forward(); for DnCNN x - f(x) vs y has the same loss as f(x) vs x - y
                loss = criterion(self.model(degraded).float(), clean)
        self.backward(loss, self.optimizer, self.model.parameters())
        return {"total": float(loss.detach())}


class AdversarialStep(SupervisedStep):
    """The Attentive GAN's step: freeze D, a generator step (adversarial, attention, multi-scale and
    perceptual losses), unfreeze D, then ``d_ratio`` discriminator steps on real and detached fake images.

    Args:
        config: the run's settings (loss weights, lr of G and D, ``perceptual``: ``vgg`` or ``none``).
        model: the generator; ``discriminator``: the discriminator, both on the training device.
    """

    def __init__(self, config: TrainConfig, model: nn.Module, discriminator: nn.Module,
                 amp_dtype: torch.dtype | None, device: torch.device):
        super().__init__(config, model, amp_dtype, device)
        self.disc = discriminator
        self.optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d or config.lr, betas=config.betas)
        self.scheduler_d = scheduler(self.optimizer_d, config)
        self.gan_loss = losses.GANLoss().to(device)
        self.perceptual = PerceptualLoss().to(device) if config.perceptual == "vgg" else None

    def networks(self) -> list[tuple[str, nn.Module]]:
        return [("generator", unwrap(self.model)), ("discriminator", unwrap(self.disc))]

    def describe(self) -> list[str]:
        from agan.nets import count_parameters

        c = self.config
        judged = "left out (adversarial_weight 0: a warm-up of the generator)" if c.adversarial_weight == 0 else (
            f"judges {c.d_patch}x{c.d_patch} squares of the patches" if c.d_patch else "judges whole patches")
        return [f"discriminator: {count_parameters(unwrap(self.disc)):,} parameters, {judged}; "
                f"perceptual loss: {c.perceptual}"]

    def state(self) -> dict[str, Any]:
        return {**super().state(), "discriminator": unwrap(self.disc).state_dict(),
                "optimizer_d": self.optimizer_d.state_dict()}

    def load_state(self, training: dict[str, Any], step: int) -> None:
        super().load_state(training, step)
        unwrap(self.disc).load_state_dict(training["discriminator"])
        self.optimizer_d.load_state_dict(training["optimizer_d"])
        resume_schedule(self.scheduler_d, self.config, step)

    def load_init(self, payload: dict[str, Any]) -> None:
        """The generator's weights, and the discriminator's when ``payload`` is a GAN training checkpoint."""
        super().load_init(payload)
        discriminator = (payload.get("training") or {}).get("discriminator")
        if discriminator is not None:
            unwrap(self.disc).load_state_dict(discriminator)

    def to_channels_last(self) -> None:
        super().to_channels_last()
        self.disc = self.disc.to(memory_format=torch.channels_last)

    def distribute(self, device_ids: list[int] | None) -> None:
        super().distribute(device_ids)
        self.disc = nn.parallel.DistributedDataParallel(self.disc, device_ids=device_ids)

    def train(self) -> None:
        super().train()
        self.disc.train()

    def advance_schedules(self) -> None:
        super().advance_schedules()
        self.scheduler_d.step()

    def _judged(self, *images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The square of side ``d_patch`` that the discriminator judges, cut from each of ``images``.

        One box a step, drawn from torch's generator (seeded, and saved with the run's RNG states),
        the same for every image of the batch and for real, restored and attention map alike.
        """
        side = self.config.d_patch
        height, width = images[0].shape[-2:]
        if side is None or (side >= height and side >= width):
            return images
        top = int(torch.randint(0, max(height - side, 0) + 1, ()))
        left = int(torch.randint(0, max(width - side, 0) + 1, ()))
        return tuple(image[..., top:top + side, left:left + side] for image in images)

    def run(self, degraded: torch.Tensor, clean: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
        """One generator step and ``d_ratio`` discriminator steps; returns ``g_*`` and ``d_*`` loss terms.

        With ``adversarial_weight`` 0 (a warm-up stage) the discriminator is left out: no GAN term,
        no discriminator step, and only ``g_*`` terms.
        """
        c = self.config
        adversarial = c.adversarial_weight > 0
        losses.set_requires_grad(self.disc, False)
        with self.autocast():
            output: GeneratorOutput = self.model(degraded)
            judged_clean, judged_output, judged_map = self._judged(clean, output.image, output.attention[-1])
            # D is frozen here: bypass DDP's gradient reducer
            fake_logit = unwrap(self.disc)(judged_output).logit.float() if adversarial else None
            g_total, g_terms = losses.generator_loss(
                output, clean, mask, fake_logit, perceptual_loss=self.perceptual, gan_loss=self.gan_loss,
                adversarial=c.adversarial_weight, attention=c.attention_weight, multiscale=c.multiscale_weight,
                perceptual=c.perceptual_weight, theta=c.theta)
        self.backward(g_total, self.optimizer, self.model.parameters())
        terms = {f"g_{k}" if k == "total" else k: v for k, v in g_terms.items()}
        if not adversarial:
            return terms
        losses.set_requires_grad(self.disc, True)
        both = torch.cat([judged_clean, judged_output.detach()])  # one pass over real and restored
        for _ in range(c.d_ratio):
            with self.autocast():
                judged = self.disc(both)
                real_logit, fake_logit = judged.logit.float().chunk(2)
                real_map, fake_map = judged.d_map.float().chunk(2)
                d_total, d_terms = losses.discriminator_loss(
                    real_logit, fake_logit, real_map, fake_map, judged_map.float(),
                    gan_loss=self.gan_loss, map_weight=c.map_weight)
            self.backward(d_total, self.optimizer_d, self.disc.parameters())
        terms.update({f"d_{k}": v for k, v in d_terms.items()})
        return terms


def build_step(config: TrainConfig, model: nn.Module, discriminator: nn.Module | None,
               amp_dtype: torch.dtype | None, device: torch.device) -> SupervisedStep:
    """The step of a model: adversarial when it has a discriminator, else supervised."""
    if discriminator is not None:
        return AdversarialStep(config, model, discriminator, amp_dtype, device)
    return SupervisedStep(config, model, amp_dtype, device)

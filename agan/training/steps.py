"""The training steps of the one engine: supervised (DnCNN, U-Net), adversarial (the Attentive GAN)
and patch-adversarial (DnCNN, U-Net with ``--adversarial``).

A step owns what it trains: the networks, their optimizers and learning-rate
schedules, and its losses; it says which of them a checkpoint keeps and which
networks must stay finite. The engine (:mod:`agan.training.engine`) runs the
loop, validates, logs and saves, and never asks which kind of step it has.

Images are NCHW float32 tensors in [0, 1] on the training device; masks N1HW in [0, 1].
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from agan.nets import GeneratorOutput
from agan.nets.architectures import architecture_of
from agan.nets.checkpoints import float32_weights
from agan.training import loss_terms, losses
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
        self.predicts_noise = architecture_of(model).predicts_noise  # trained on its residual (DnCNN)

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

    #: The loss terms of the network trained (see :mod:`agan.training.loss_terms`).
    generator_terms = loss_terms.CNN_GENERATOR

    def run(self, degraded: torch.Tensor, clean: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
        """One optimisation step on a batch; returns the loss terms (``total``, and each term's name)."""
        net = unwrap(self.model)
        with self.autocast():
            if self.predicts_noise and net is self.model:
                noise = net.predict_noise(degraded).float()
                inputs = loss_terms.LossInputs(self.config, degraded - noise, clean, prediction=noise,
                                               reference=degraded - clean, mask=mask)
            else:  # DDP needs forward(); for DnCNN x - f(x) vs y has the same loss as f(x) vs x - y
                inputs = loss_terms.LossInputs(self.config, self.model(degraded).float(), clean, mask=mask)
            loss, terms = loss_terms.weighted_sum(self.generator_terms, inputs)
        self.backward(loss, self.optimizer, self.model.parameters())
        return terms if len(terms) > 2 else {"total": terms["total"]}  # one term: it is the total


class DiscriminatorStep(SupervisedStep):
    """What the adversarial steps share: a discriminator with its optimizer and schedule (lr ``lr_d``,
    else ``lr``), the GAN loss on logits, the random square D judges (``d_patch``), and their place in
    checkpoints. ``adversarial_weight`` 0 is a warm-up: the discriminator is kept but never run.

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

    @property
    def adversarial(self) -> bool:
        """False in a warm-up stage (``adversarial_weight`` 0): no GAN term and no discriminator step."""
        return self.config.adversarial_weight > 0

    def networks(self) -> list[tuple[str, nn.Module]]:
        return [("generator", unwrap(self.model)), ("discriminator", unwrap(self.disc))]

    def describe(self) -> list[str]:
        from agan.nets import count_parameters

        c = self.config
        judged = "left out (adversarial_weight 0: a warm-up of the generator)" if not self.adversarial else (
            f"judges {c.d_patch}x{c.d_patch} squares of the patches" if c.d_patch else "judges whole patches")
        normed = ", spectral norm" if c.d_spectral_norm else ""
        return [f"discriminator: {type(unwrap(self.disc)).__name__}{normed}, {count_parameters(unwrap(self.disc)):,} "
                f"parameters, {judged}, GAN weight {c.adversarial_weight:g}, {c.gan_loss} GAN loss"]

    def state(self) -> dict[str, Any]:
        return {**super().state(), "discriminator": unwrap(self.disc).state_dict(),
                "optimizer_d": self.optimizer_d.state_dict()}

    def load_state(self, training: dict[str, Any], step: int) -> None:
        super().load_state(training, step)
        unwrap(self.disc).load_state_dict(training["discriminator"])
        self.optimizer_d.load_state_dict(training["optimizer_d"])
        resume_schedule(self.scheduler_d, self.config, step)

    def load_init(self, payload: dict[str, Any]) -> None:
        """The generator's weights, and the discriminator's when ``payload`` is an adversarial training
        checkpoint of the same model with the same discriminator (a supervised one, a release, or one
        whose D differs, as with and without ``d_spectral_norm``, starts D afresh)."""
        super().load_init(payload)
        discriminator = (payload.get("training") or {}).get("discriminator")
        if discriminator is not None and discriminator.keys() == unwrap(self.disc).state_dict().keys():
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
        if self.adversarial:  # a warm-up never steps D's optimizer, so its schedule stays put
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

    def _real_logit(self, real: torch.Tensor, logit_of: Callable[[Any], torch.Tensor]) -> torch.Tensor | None:
        """D's logits on the clean ``real`` images for a generator step, when its GAN term needs them
        (``gan_loss`` relativistic), without a graph; else None."""
        if not self.adversarial or self.config.gan_loss != "relativistic":
            return None
        with torch.no_grad():
            return logit_of(unwrap(self.disc)(real)).float()

    def _discriminator_steps(self, real: torch.Tensor, restored: torch.Tensor,
                             inputs_of: Callable[[Any], loss_terms.LossInputs]) -> dict[str, float]:
        """``d_ratio`` discriminator steps on ``real`` and the detached ``restored`` images in one pass;
        ``inputs_of`` turns the discriminator's output on both into its loss inputs. Returns the last
        step's ``d_*`` terms."""
        losses.set_requires_grad(self.disc, True)
        both = torch.cat([real, restored.detach()])
        for _ in range(self.config.d_ratio):
            with self.autocast():
                d_total, d_terms = loss_terms.weighted_sum(self.discriminator_terms, inputs_of(self.disc(both)))
            self.backward(d_total, self.optimizer_d, self.disc.parameters())
        return {f"d_{k}": v for k, v in d_terms.items()}


def _generator_terms(terms: dict[str, float]) -> dict[str, float]:
    """A generator step's logged terms: its total as ``g_total``, the terms by their names."""
    return {"g_total" if k == "total" else k: v for k, v in terms.items()}


class AdversarialStep(DiscriminatorStep):
    """The Attentive GAN's step: freeze D, a generator step (adversarial, attention, multi-scale and
    perceptual losses), unfreeze D, then ``d_ratio`` discriminator steps on real and detached fake
    images, with D's attention map supervised by the generator's last one.
    """

    generator_terms = loss_terms.GAN_GENERATOR
    discriminator_terms = loss_terms.GAN_DISCRIMINATOR

    def __init__(self, config: TrainConfig, model: nn.Module, discriminator: nn.Module,
                 amp_dtype: torch.dtype | None, device: torch.device):
        super().__init__(config, model, discriminator, amp_dtype, device)
        self.perceptual = PerceptualLoss().to(device) if config.perceptual == "vgg" else None

    def describe(self) -> list[str]:
        return [f"{super().describe()[0]}; perceptual loss: {self.config.perceptual}"]

    def run(self, degraded: torch.Tensor, clean: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
        """One generator step and ``d_ratio`` discriminator steps; returns ``g_*`` and ``d_*`` loss terms.

        With ``adversarial_weight`` 0 (a warm-up stage) the discriminator is left out: no GAN term,
        no discriminator step, and only ``g_*`` terms.
        """
        c = self.config
        adversarial = self.adversarial
        losses.set_requires_grad(self.disc, False)
        with self.autocast():
            output: GeneratorOutput = self.model(degraded)
            judged_clean, judged_output, judged_map = self._judged(clean, output.image, output.attention[-1])
            # D is frozen here: bypass DDP's gradient reducer
            fake_logit = unwrap(self.disc)(judged_output).logit.float() if adversarial else None
            real_logit = self._real_logit(judged_clean, lambda judged: judged.logit)
            inputs = loss_terms.LossInputs(c, output.image, clean, output=output, mask=mask, fake_logit=fake_logit,
                                           real_logit=real_logit, gan_loss=self.gan_loss, perceptual=self.perceptual)
            g_total, g_terms = loss_terms.weighted_sum(self.generator_terms, inputs)
        self.backward(g_total, self.optimizer, self.model.parameters())
        terms = _generator_terms(g_terms)
        if not adversarial:
            return terms

        def inputs_of(judged: Any) -> loss_terms.LossInputs:
            real_logit, fake_logit = judged.logit.float().chunk(2)
            real_map, fake_map = judged.d_map.float().chunk(2)
            return loss_terms.LossInputs(c, judged_output, judged_clean, real_logit=real_logit, fake_logit=fake_logit,
                                         real_map=real_map, fake_map=fake_map, attention=judged_map.float(),
                                         gan_loss=self.gan_loss)

        return {**terms, **self._discriminator_steps(judged_clean, judged_output, inputs_of)}


class PatchAdversarialStep(DiscriminatorStep):
    """``agan train dncnn|unet --adversarial``: the CNN's own content loss (MSE or L1 to the clean
    image) plus ``adversarial_weight`` times the GAN term of a patch discriminator
    (:class:`agan.nets.patch_discriminator.PatchDiscriminator`), then ``d_ratio`` discriminator
    steps on real and restored squares in one pass. Logs ``g_total``, ``content``, ``adversarial``
    and ``d_total``, ``d_real``, ``d_fake``.
    """

    discriminator_terms = loss_terms.PATCH_DISCRIMINATOR

    def run(self, degraded: torch.Tensor, clean: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
        """One generator step and ``d_ratio`` discriminator steps; returns ``g_*`` and ``d_*`` loss terms."""
        c = self.config
        losses.set_requires_grad(self.disc, False)
        with self.autocast():
            # for DnCNN, x - f(x) against y is the loss of its residual f(x) against x - y
            restored = self.model(degraded).float()
            judged_clean, judged_restored = self._judged(clean, restored)
            # D is frozen here: bypass DDP's gradient reducer
            fake_logit = unwrap(self.disc)(judged_restored).float() if self.adversarial else None
            real_logit = self._real_logit(judged_clean, lambda logits: logits)
            inputs = loss_terms.LossInputs(c, restored, clean, mask=mask, fake_logit=fake_logit, real_logit=real_logit,
                                           gan_loss=self.gan_loss)
            total, g_terms = loss_terms.weighted_sum(self.generator_terms, inputs)
        self.backward(total, self.optimizer, self.model.parameters())
        terms = _generator_terms(g_terms)
        if not self.adversarial:
            return terms

        def inputs_of(logits: torch.Tensor) -> loss_terms.LossInputs:
            real_logit, fake_logit = logits.float().chunk(2)
            return loss_terms.LossInputs(c, judged_restored, judged_clean, real_logit=real_logit,
                                         fake_logit=fake_logit, gan_loss=self.gan_loss)

        return {**terms, **self._discriminator_steps(judged_clean, judged_restored, inputs_of)}


def build_step(config: TrainConfig, model: nn.Module, discriminator: nn.Module | None,
               amp_dtype: torch.dtype | None, device: torch.device) -> SupervisedStep:
    """The step of a model: the CNNs' patch-adversarial one with ``config.adversarial``, the Attentive
    GAN's with its discriminator, else supervised."""
    if discriminator is None:
        return SupervisedStep(config, model, amp_dtype, device)
    if config.adversarial:
        return PatchAdversarialStep(config, model, discriminator, amp_dtype, device)
    return AdversarialStep(config, model, discriminator, amp_dtype, device)

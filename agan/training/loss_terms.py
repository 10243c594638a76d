"""The training losses as tables: each term is a name (logged as ``NAME``, ``d_NAME`` for the
discriminator), the weight it enters the sum with (a :class:`~agan.training.config.TrainConfig`
setting, or a number), and a function of what the step computed (:class:`LossInputs`) that
returns the unweighted term, or None where it does not apply (no discriminator logit in a warm-up,
no perceptual network with ``--perceptual none``). A step's loss is :func:`weighted_sum` of its table.

The tables: :data:`GAN_GENERATOR` and :data:`GAN_DISCRIMINATOR` (the Attentive GAN, with the
paper's weights by default), :data:`CNN_GENERATOR` (DnCNN and U-Net, supervised or with
``--adversarial``) and :data:`PATCH_DISCRIMINATOR` (the CNNs' patch discriminator). A new term is
one entry in a table and, for a configurable weight, one TrainConfig field; it is then computed,
back-propagated and logged (``metrics.jsonl``, TensorBoard, ``agan plot``) like the others.

Tensors are NCHW float32 images in [0, 1]; masks N1HW in {0, 1}; logits any shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch.nn.functional as F
from torch import Tensor, nn

from agan.training import losses


@dataclass
class LossInputs:
    """What a training step hands its loss terms.

    Attributes:
        config: the run's settings.
        image: the restored images (the generator's full-scale output).
        target: the clean images.
        prediction, reference: what the content loss compares: ``image`` and ``target``, or for a
            network trained on its residual (DnCNN) the predicted and the true noise.
        output: the network's own output (a :class:`~agan.nets.GeneratorOutput` for the GAN).
        mask: the degradation masks (the GAN's attention target).
        fake_logit, real_logit: the discriminator's logits on restored and clean images (None
            where D is not run).
        fake_map, real_map, attention: the attentive discriminator's maps and the generator's last
            attention map it learns from.
        gan_loss: the GAN loss on logits; perceptual: the perceptual network, or None.
    """

    config: Any
    image: Tensor
    target: Tensor
    prediction: Tensor | None = None
    reference: Tensor | None = None
    output: Any = None
    mask: Tensor | None = None
    fake_logit: Tensor | None = None
    real_logit: Tensor | None = None
    fake_map: Tensor | None = None
    real_map: Tensor | None = None
    attention: Tensor | None = None
    gan_loss: nn.Module | None = None
    perceptual: nn.Module | None = None


@dataclass(frozen=True)
class LossTerm:
    """One term of a loss: ``weight`` (a TrainConfig field's name, or a number) times ``compute(inputs)``."""

    weight: str | float
    compute: Callable[[LossInputs], Tensor | None]

    def weight_in(self, config: Any) -> float:
        """The term's weight under ``config``."""
        return float(getattr(config, self.weight)) if isinstance(self.weight, str) else float(self.weight)


def weighted_sum(table: Mapping[str, LossTerm], inputs: LossInputs) -> tuple[Tensor, dict[str, float]]:
    """``sum(weight * term)`` over the terms of ``table`` that apply; returns ``(total, terms)`` where
    ``terms`` maps each computed term's name (unweighted) and ``"total"`` to a float for logging.
    A term of weight 0 is not computed."""
    total, logged = None, {}
    for name, term in table.items():
        weight = term.weight_in(inputs.config)
        if weight == 0:
            continue
        value = term.compute(inputs)
        if value is None:
            continue
        logged[name] = float(value.detach())
        total = weight * value if total is None else total + weight * value
    if total is None:
        raise ValueError(f"no loss term applies: {', '.join(table)}")
    logged["total"] = float(total.detach())
    return total, logged


def _content(inputs: LossInputs) -> Tensor:
    criterion = F.mse_loss if inputs.config.loss == "mse" else F.l1_loss
    prediction = inputs.image if inputs.prediction is None else inputs.prediction
    reference = inputs.target if inputs.reference is None else inputs.reference
    return criterion(prediction.float(), reference)


def _relativistic(inputs: LossInputs) -> bool:
    return inputs.config.gan_loss == "relativistic"


def _adversarial(inputs: LossInputs) -> Tensor | None:
    """The generator's GAN term: D's verdict on its output against "real". Relativistic (ESRGAN):
    the mean of that on ``fake - mean(real)`` and of "fake" on ``real - mean(fake)``, the real
    logits detached (D is not trained here)."""
    fake = inputs.fake_logit
    if fake is None:
        return None
    if not _relativistic(inputs):
        return inputs.gan_loss(fake, True)
    real = inputs.real_logit.detach()
    return 0.5 * (inputs.gan_loss(real - fake.mean(), False) + inputs.gan_loss(fake - real.mean(), True))


def _on_real(inputs: LossInputs) -> Tensor:
    """D's term on clean images: "real"; relativistic: on ``real - mean(fake)``, fake detached."""
    real = inputs.real_logit
    return inputs.gan_loss(real - inputs.fake_logit.detach().mean() if _relativistic(inputs) else real, True)


def _on_fake(inputs: LossInputs) -> Tensor:
    """D's term on restored images: "fake"; relativistic: on ``fake - mean(real)``, real detached."""
    fake = inputs.fake_logit
    return inputs.gan_loss(fake - inputs.real_logit.detach().mean() if _relativistic(inputs) else fake, False)


#: The Attentive GAN generator's loss: L_G = 0.01 L_GAN + L_ATT + L_M + L_P (Qian et al. 2018).
GAN_GENERATOR: dict[str, LossTerm] = {
    "attention": LossTerm("attention_weight", lambda i: losses.attention_loss(i.output.attention, i.mask, i.config.theta)),
    "multiscale": LossTerm("multiscale_weight",
                           lambda i: losses.multiscale_loss(i.output.quarter, i.output.half, i.output.image, i.target)),
    "perceptual": LossTerm("perceptual_weight", lambda i: None if i.perceptual is None else i.perceptual(i.image, i.target)),
    "adversarial": LossTerm("adversarial_weight", _adversarial),
}

#: The attentive discriminator's loss: L_D = BCE(real) + BCE(fake) + 0.05 L_map (``gan_loss`` relativistic:
#: each verdict relative to the mean of the other side's).
GAN_DISCRIMINATOR: dict[str, LossTerm] = {
    "real": LossTerm(1.0, _on_real),
    "fake": LossTerm(1.0, _on_fake),
    "map": LossTerm("map_weight", lambda i: losses.discriminator_map_loss(i.fake_map, i.real_map, i.attention)),
}

#: DnCNN's and the U-Net's loss: the content loss (``--loss mse|l1``), plus the GAN term with ``--adversarial``.
CNN_GENERATOR: dict[str, LossTerm] = {
    "content": LossTerm(1.0, _content),
    "adversarial": LossTerm("adversarial_weight", _adversarial),
}

#: The patch discriminator's loss: BCE on real and on restored patches (relativistic as above).
PATCH_DISCRIMINATOR: dict[str, LossTerm] = {
    "real": LossTerm(1.0, _on_real),
    "fake": LossTerm(1.0, _on_fake),
}

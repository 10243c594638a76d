"""What a model hub's card holds beyond agan's training record and evaluations: licence, intended
and out-of-scope use, limitations, citation, input spec and the weights file's SHA-256.

:func:`hub_fields` computes them from a card and its weights file: the licence and the uses from
:data:`USES`, the citations from the architecture, the limitations from the card itself (a preview,
training without the paper's perceptual loss, every evaluation the model loses to its input on).
``agan release`` adds them to every card it writes; ``scripts/refresh_cards.py`` adds them to
cards released before.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

__all__ = ["CITATIONS", "USES", "hub_fields", "sha256_of"]

#: The papers of each architecture a card cites.
CITATIONS: dict[str, list[str]] = {
    "attentive-gan": ["R. Qian, R. T. Tan, W. Yang, J. Su and J. Liu, \"Attentive Generative Adversarial Network for "
                      "Raindrop Removal from a Single Image\", CVPR 2018."],
    "dncnn": ["K. Zhang, W. Zuo, Y. Chen, D. Meng and L. Zhang, \"Beyond a Gaussian Denoiser: Residual Learning of "
              "Deep CNN for Image Denoising\", IEEE TIP 26(7), 2017."],
    "unet": ["O. Ronneberger, P. Fischer and T. Brox, \"U-Net: Convolutional Networks for Biomedical Image "
             "Segmentation\", MICCAI 2015."],
}

_WEATHER = {
    "intended_use": "Removing rain streaks, raindrops on glass, snow and lens dust from colour photos, and comparing "
                    "restorers on weather; research and personal use.",
    "out_of_scope": ["haze and fog (not in its training mix)", "noise, blur and compression artefacts",
                     "grey images (restored as RGB and turned back to luma)",
                     "decisions about people or safety (driving, surveillance) from its outputs"],
}
#: Intended and out-of-scope use of each release.
USES: dict[str, dict[str, Any]] = {
    "attentive-gan-weather": _WEATHER,
    "unet-weather": _WEATHER,
    "dncnn-gray-s25": {
        "intended_use": "Removing additive white Gaussian noise of standard deviation about 25/255 from grey images; "
                        "a reproduction of DnCNN-S for comparisons.",
        "out_of_scope": ["other noise levels and real camera noise (it is not blind)", "colour images channel by "
                         "channel (use a colour model)", "weather, blur and compression artefacts"],
    },
    "dncnn-color-blind": {
        "intended_use": "Removing noise of unknown level from colour photos: Gaussian, Poisson, speckle, JPEG and "
                        "impulse noise, as synthesised by agan.",
        "out_of_scope": ["blur (DnCNN cannot undo it)", "weather", "medical or forensic images"],
    },
}

_LICENCE = {
    "code": "MIT",
    "weights": "MIT, as agan's code; the images they were trained on keep their own terms (research use for most: "
               "docs/DATA.md), so check those before commercial use",
}


def sha256_of(path: str | Path) -> str:
    """The hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def limitations_of(card: dict[str, Any]) -> list[str]:
    """What the card's own record says a user must know: status, training choices, losses to the input."""
    found = []
    if card.get("status") == "preview":
        found.append("a preview: a short training run, which can lose to its input (the evaluations below say where)")
    losses = card.get("losses", {})
    perceptual = losses.get("perceptual")  # older cards say it only in their command
    if card.get("model") == "attentive-gan" and (perceptual == "none" if perceptual is not None
                                                 else "--perceptual vgg" not in str(card.get("command", ""))):
        found.append("trained without the paper's VGG16 perceptual loss (its ImageNet weights were not at hand)")
    if losses.get("adversarial_weight") == 0:
        found.append("trained without its discriminator (GAN weight 0: the warm-up stage of the generator alone)")
    for evaluation in card.get("evaluations", []):
        rows = {r["kind"]: r for r in evaluation["results"]}
        model, given = rows.get("model"), rows.get("input")
        if model and given and model["psnr"] < given["psnr"]:
            found.append(f"loses to its input on {evaluation['data']} by {given['psnr'] - model['psnr']:.2f} dB "
                         "(RGB PSNR)")
    found.append("judged on synthetic weather and a few real pairs; real photos of other cameras and weather may "
                 "fare worse")
    return found


def hub_fields(card: dict[str, Any], weights: str | Path) -> dict[str, Any]:
    """The hub-style fields of ``card`` (a release's card) for its weights file ``weights``."""
    from agan.nets.architectures import get_architecture

    multiple = get_architecture(card["model"]).size_multiple(card.get("model_args", {}))
    channels = card.get("model_args", {}).get("in_channels", 3)
    uses = USES.get(card["name"], {})
    return {
        "license": dict(_LICENCE),
        "intended_use": uses.get("intended_use", ""),
        "out_of_scope": list(uses.get("out_of_scope", [])),
        "limitations": limitations_of(card),
        "citation": list(CITATIONS.get(card["model"], [])),
        "input": (f"{'RGB' if channels == 3 else 'grey'} images of any size: agan.load(name)(image) takes HWC uint8, "
                  f"uint16 or float in [0, 1]; agan.load(name).module takes NCHW float32 in [0, 1], padded inside "
                  f"to a multiple of {multiple}"),
        "sha256": sha256_of(weights),
    }

"""The models that ship with agan: fp16 checkpoints and their model cards in ``agan/weights/``.

Each release ``NAME`` is two files: ``NAME.pt``, an ordinary agan checkpoint
(:mod:`agan.nets.checkpoints`) whose floating-point weights are stored as fp16
(they load as float32), and ``NAME.json``, its model card: the data, steps,
hardware, training time and command it was trained with, and the figures
measured on the released file. Each is trained by the recipe
``scripts/recipes/NAME.sh`` and written by ``agan release`` (:mod:`agan.training.release`).
A card's ``status`` is ``preview`` (a short run with weak figures; using it
prints one line saying so) or ``stable``.

A release name is a method wherever one is asked for (``agan restore
--model NAME``, ``agan evaluate NAME``, ``agan compare``); a name whose
weights this build does not hold is a clear error naming the recipe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agan.data.data_spec import DataSpec
from agan.data.spec import SpecError, lookup

__all__ = [
    "DEFAULT_MODEL",
    "RELEASES",
    "WEATHER_MODELS",
    "STATUSES",
    "WEIGHTS_DIR",
    "best_filter",
    "check_name",
    "default_model",
    "headline",
    "load_card",
    "models_table",
    "preview_note",
    "release_paths",
    "resolve",
    "shipped",
]

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"

#: Every release agan plans to ship, name -> one line on what it restores.
RELEASES: dict[str, str] = {
    "attentive-gan-weather": "Attentive GAN: raindrops, rain streaks, snow and dust (colour photos)",
    "unet-weather": "U-Net trained on the same weather data as the GAN (colour photos)",
    "dncnn-gray-s25": "DnCNN-S: grey images, Gaussian noise sigma = 25 (train400)",
    "dncnn-color-blind": "DnCNN-B: colour images, blind to the level of a noise mix",
}

#: The shipped weather models, of which ``agan restore`` takes one by default.
WEATHER_MODELS = ("attentive-gan-weather", "unet-weather")

#: A card's status: ``preview`` (short training, weak figures, said so when used) or ``stable``.
STATUSES = ("preview", "stable")


def default_model(folder: str | Path | None = None) -> str:
    """The weather model ``agan restore`` uses when no ``--model`` is given: the one of
    :data:`WEATHER_MODELS` with the best mean PSNR Y over the real-format sets (the paired folders,
    not synthetic weather) that every one of their cards was evaluated on. The first when the cards
    cannot tell (missing, or no set in common)."""
    scores: dict[str, dict[str, float]] = {}
    for name in WEATHER_MODELS:
        try:
            card = load_card(name, folder)
        except SpecError:
            continue
        scores[name] = {e["data"]: _row(e, "model")["psnr_y"] for e in card.get("evaluations", [])
                        if all(part.form != "synthetic" for part in DataSpec.parse(e["data"]).parts)}
    common = set.intersection(*(set(s) for s in scores.values())) if scores else set()
    if not common:
        return WEATHER_MODELS[0]
    return max(scores, key=lambda name: sum(scores[name][data] for data in common) / len(common))


def check_name(name: str) -> None:
    """Raise SpecError unless ``name`` is one of :data:`RELEASES`."""
    lookup(RELEASES, name, "release")


def release_paths(name: str, folder: str | Path | None = None) -> tuple[Path, Path]:
    """``(NAME.pt, NAME.json)`` in ``folder`` (default :data:`WEIGHTS_DIR`)."""
    folder = Path(folder) if folder is not None else WEIGHTS_DIR
    return folder / f"{name}.pt", folder / f"{name}.json"


def resolve(name: str, folder: str | Path | None = None) -> Path:
    """The checkpoint file of the release ``name``.

    Raises:
        SpecError: ``name`` is not a release, or this build does not hold its weights.
    """
    check_name(name)
    weights, _ = release_paths(name, folder)
    if not weights.is_file():
        raise SpecError(f"{name}: this build ships no weights for it ({weights} is missing); train them with "
                        f"scripts/recipes/{name}.sh, or name a checkpoint (.pt) or a filter")
    return weights


def load_card(name: str, folder: str | Path | None = None) -> dict[str, Any]:
    """The model card of a shipped release (the JSON beside its weights)."""
    _, card = release_paths(name, folder)
    try:
        return json.loads(card.read_text())
    except (OSError, ValueError) as err:
        raise SpecError(f"{card}: cannot read the model card ({err})") from None


def shipped(folder: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The releases whose weights this build holds: name -> model card, in :data:`RELEASES` order."""
    return {name: load_card(name, folder) for name in RELEASES if release_paths(name, folder)[0].is_file()}


def preview_note(name: str, folder: str | Path | None = None) -> str | None:
    """One line for a user of a ``preview`` release (where to read its figures), or None."""
    try:
        card = load_card(name, folder)
    except SpecError:
        return None
    if card.get("status", "preview") != "preview":
        return None
    return (f"note: {name} is a preview model (a short training run; it can lose to its input): "
            f"its figures are in `agan models` and the README's \"Shipped models\"")


def best_filter(evaluation: dict[str, Any]) -> dict[str, Any] | None:
    """The filter row with the highest RGB PSNR of one card evaluation, or None."""
    filters = [r for r in evaluation["results"] if r["kind"] == "filter"]
    return max(filters, key=lambda r: r["psnr"]) if filters else None


def _row(evaluation: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(r for r in evaluation["results"] if r["kind"] == kind)


def _set_name(spec: str) -> str:
    """A short label of an evaluation's data spec: ``rain12``, ``kodak24 raindrop``."""
    part = DataSpec.parse(spec).parts[0]
    name = Path(part.folders[0]).name
    return f"{name} {part.kinds}" if part.form == "synthetic" else name


def headline(card: dict[str, Any]) -> str:
    """One figure of a card: its first evaluation, the model beside the input and the best filter (RGB PSNR)."""
    if not card.get("evaluations"):
        return "not evaluated"
    evaluation = card["evaluations"][0]
    model, given = _row(evaluation, "model"), _row(evaluation, "input")
    text = f"{_set_name(evaluation['data'])}: {model['psnr']:.2f} dB (input {given['psnr']:.2f}"
    best = best_filter(evaluation)
    if best is not None:
        text += f", best filter {best['method']} {best['psnr']:.2f}"
    return text + ")"


def _cell(row: dict[str, Any] | None, grey: bool) -> str:
    if row is None:
        return "—"
    psnr = f"{row['psnr']:.2f}" if grey else f"{row['psnr']:.2f} ({row['psnr_y']:.2f})"
    return f"{psnr} / {row['ssim']:.3f}"


def _verdict(model: dict[str, Any], other: dict[str, Any] | None, label: str) -> str:
    if other is None:
        return ""
    gap = model["psnr"] - other["psnr"]
    return f"{'beats' if gap > 0 else '**loses to**'} {label} by {abs(gap):.2f} dB"


def _md(text: str) -> str:
    """``text`` for a Markdown table cell: a ``|`` (as in ``among=rain|snow``) would split the cell."""
    return text.replace("|", "\\|")


def _spec_paths(spec: str | None) -> set[str]:
    """The folders a (card's, portable) data spec reads: ``$DATA/kodak24``, ..."""
    return DataSpec.parse(spec).folders() if spec else set()


def models_table(cards: dict[str, dict[str, Any]]) -> str:
    """The shipped models and their evaluations as Markdown (the README's), from their cards.

    First a line per model (status, what it restores, its training); then one row per
    evaluation. Each cell is ``PSNR RGB (PSNR Y) / SSIM RGB``; grey test sets show one
    PSNR. The verdict compares RGB PSNR with the input and the best filter. A test set
    whose photos were among the model's training photos is marked with a dagger.
    """
    lines = ["| model | status | restores | trained |", "|---|---|---|---|"]
    for name, card in cards.items():
        steps = (f"{card['steps']} of {card['steps_planned']} planned steps" if card.get("steps_planned")
                 not in (None, card["steps"]) else f"{card['steps']} steps")
        trained = f"{steps} on {card['hardware']}, {card['training_seconds'] / 60:.1f} min"
        earlier = (card.get("lineage") or [])[:-1]  # the stages before this run (a fine-tune's start)
        if earlier:  # every stage after the first starts from the one before it
            stages = [f"{s['steps']} steps on {s['hardware']}, {s['minutes']:.1f} min" for s in earlier] + [trained]
            trained = "; then fine-tuned (`--init`) ".join(stages)
        lines.append(f"| `{name}` | {card.get('status', 'preview')} | {card['summary']} | {trained}, "
                     f"on `{_md(card['data'])}` |")
    lines += ["", "| model | test set | images | input | model | other network | best filter | verdict |",
              "|---|---|---:|---|---|---|---|---|"]
    seen_any = False
    for name, card in cards.items():
        trained_on = _spec_paths(card.get("data"))
        for evaluation in card.get("evaluations", []):
            grey = all(r["psnr"] == r["psnr_y"] for r in evaluation["results"])
            model, given, best = _row(evaluation, "model"), _row(evaluation, "input"), best_filter(evaluation)
            networks = [r for r in evaluation["results"] if r["kind"] == "network"]
            other = "; ".join(f"{r['method']} {_cell(r, grey)}" for r in networks) or "—"
            best_text = "—" if best is None else f"{best['method']} {_cell(best, grey)}"
            verdict = "; ".join(v for v in (_verdict(model, given, "input"), _verdict(model, best, "best filter")) if v)
            seen = bool(_spec_paths(evaluation["data"]) & trained_on)
            seen_any |= seen
            lines.append(f"| `{name}` | `{_md(evaluation['data'])}`{' †' if seen else ''} | {evaluation['images']} "
                         f"| {_cell(given, grey)} | {_cell(model, grey)} | {other} | {best_text} | {verdict} |")
    if seen_any:
        lines += ["", "† the model was trained on these photos (with other random degradations): the row measures "
                      "fit to its training photos, not generalisation."]
    return "\n".join(lines)


#: What ``agan restore`` uses when no ``--model`` is given (:func:`default_model`, read from the cards once).
DEFAULT_MODEL = default_model()

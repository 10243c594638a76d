"""The text of ``agan models``: the shipped models with their cards, the filters, the architectures."""

from __future__ import annotations

from typing import Any

from agan.methods.registry import REGISTRY
from agan.methods.shipped import DEFAULT_MODEL, RELEASES, headline, shipped
from agan.nets import count_parameters
from agan.nets.architectures import ARCHITECTURES


def card_line(card: dict[str, Any]) -> str:
    """One line of a model card: size, data, steps, hardware, time and the validation figures."""
    steps = f"{card.get('steps')} steps" if card.get("steps_planned") in (None, card.get("steps")) else \
        f"{card.get('steps')} of {card.get('steps_planned')} planned steps"
    parts = [f"{card.get('parameters', 0) / 1e6:.2f} M params, {card.get('file_mb', '?')} MB fp16",
             f"data {card.get('data')}", f"{steps} on {card.get('hardware')}",
             f"{card.get('training_seconds', 0) / 60:.1f} min"]
    validation = card.get("validation")
    if validation:
        parts.append(f"val {validation.get('psnr', float('nan')):.2f} dB / {validation.get('ssim', float('nan')):.4f}")
    return "; ".join(parts)


def catalog_lines() -> list[str]:
    """Every method a spec may name, grouped: shipped models (with their cards), filters, architectures."""
    entries = REGISTRY.filters()
    width = max(len(name) for name in [e.name for e in entries] + list(ARCHITECTURES) + list(RELEASES))
    cards = shipped()
    lines = [f"shipped models (default for agan restore: {DEFAULT_MODEL}):"]
    for name, summary in RELEASES.items():
        card = cards.get(name)
        if card is None:
            lines.append(f"  {name.ljust(width)}  {summary}; not in this build (train: scripts/recipes/{name}.sh)")
            continue
        lines += [f"  {name.ljust(width)}  [{card.get('status', 'preview')}] {summary}",
                  f"  {''.ljust(width)}  {headline(card)}", f"  {''.ljust(width)}  {card_line(card)}"]
    lines.append("filters (method specs: NAME or NAME(param=value), chain a post-filter with +):")
    lines += [f"  {entry.name.ljust(width)}  {entry.summary}" for entry in entries]
    lines.append("architectures (train with agan train; use the checkpoint .pt as the method):")
    for arch in ARCHITECTURES.values():
        sizes = f"{arch.parameters() / 1e6:.3f} M params"
        if arch.discriminator is not None:
            sizes += f" (+ discriminator {count_parameters(arch.discriminator()) / 1e6:.3f} M)"
        lines.append(f"  {arch.name.ljust(width)}  {sizes}  {arch.summary}")
    return lines

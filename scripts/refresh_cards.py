"""Add the hub-style fields (licence, uses, limitations, citation, input, SHA-256) to shipped cards.

    python scripts/refresh_cards.py [--weights agan/weights] [NAME ...]

``agan release`` writes them into every new card; this brings cards released before up to date
without touching their weights, training record or evaluations (each card written atomically).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from agan.methods.card_fields import hub_fields
from agan.methods.shipped import RELEASES, WEIGHTS_DIR, release_paths
from agan.training.release import write_card


@click.command()
@click.argument("names", nargs=-1)
@click.option("--weights", "folder", type=click.Path(file_okay=False, path_type=Path), default=WEIGHTS_DIR,
              show_default=True, help="Folder of the releases.")
def main(names: tuple[str, ...], folder: Path) -> None:
    """Refresh the hub-style fields of NAME's card (default: every release in the folder)."""
    for name in names or RELEASES:
        weights, card_path = release_paths(name, folder)
        if not card_path.is_file():
            continue
        card = json.loads(card_path.read_text())
        card = {**card, **hub_fields(card, weights)}
        write_card(card_path, card)
        click.echo(f"{card_path}: sha256 {card['sha256'][:16]}..., {len(card['limitations'])} limitation(s)")


if __name__ == "__main__":
    main()

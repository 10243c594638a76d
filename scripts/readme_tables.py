"""Rewrite the README's table of the shipped models from their cards (agan/weights/NAME.json).

    python scripts/readme_tables.py [--check]

The block between ``<!-- shipped-models:start -->`` and ``<!-- shipped-models:end -->`` is
replaced by :func:`agan.methods.shipped.models_table`; ``--check`` only says whether it is current
(exit status 1 when not), as tests/test_shipped.py does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agan.data.io import atomic_write_bytes
from agan.methods.shipped import models_table, shipped

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- shipped-models:start -->", "<!-- shipped-models:end -->"


def main() -> int:
    text = README.read_text()
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    if not rest or END not in rest:
        print(f"{README}: no {START} ... {END} block", file=sys.stderr)
        return 1
    updated = f"{before}{START}\n{models_table(shipped())}\n{END}{after}"
    if "--check" in sys.argv:
        print("README table is current" if updated == text else "README table differs from the cards")
        return int(updated != text)
    atomic_write_bytes(README, updated.encode())
    print(f"rewrote the shipped-models table of {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

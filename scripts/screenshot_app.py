"""A screenshot of ``agan serve``'s page in headless Chromium, with a restored photo shown.

    python scripts/screenshot_app.py [-o docs/agan-serve.jpg] [--model attentive-gan-weather]

Needs the app extra, Debian's Chromium (``apt install chromium``: /usr/bin/chromium)
and Playwright's Python package to drive it (``pip install playwright``; its own
browser download is not needed). The photo is scikit-image's bundled ``coffee``
with synthetic raindrops (seed 0); the page restores it with ``--model`` and the
screenshot shows the before/after slider, the attention map and the seconds taken.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import skimage.data

from agan.app import build_app, free_local_port, launch
from agan.data.degradations import degrade
from agan.data.io import write_image
from agan.device import reuse_freed_memory

#: Flags for Chromium on a machine without a network or a display (as root in a container).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def rainy_photo(folder: Path, kind: str) -> Path:
    """scikit-image's coffee photo (400x600 RGB) with ``kind`` synthesised on it, as a PNG in ``folder``."""
    clean = skimage.data.coffee().astype(np.float32) / 255.0
    degraded, _ = degrade(clean, kind, np.random.default_rng(0))
    return write_image(folder / "coffee-degraded.png", degraded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/agan-serve.jpg"))
    parser.add_argument("--model", default="attentive-gan-weather")
    parser.add_argument("--degradation", default="raindrop")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("this script needs Playwright's Python package: pip install playwright")
    if not Path(args.chromium).exists():
        sys.exit(f"{args.chromium}: no Chromium there (apt install chromium, or give --chromium)")

    reuse_freed_memory()  # as the agan command (agan serve) runs
    folder = Path(tempfile.mkdtemp(prefix="agan-screenshot-"))
    photo = rainy_photo(folder, args.degradation)
    app = build_app(None, "cpu", "auto", out=folder / "served")
    port = free_local_port()
    launch(app, "127.0.0.1", port, block=False)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("input[type=file]").first.set_input_files(str(photo))
            page.get_by_label("Method").fill(args.model)
            page.keyboard.press("Enter")
            page.get_by_role("button", name="Restore").click()
            page.get_by_text("restored 600x400").wait_for(timeout=120_000)
            page.wait_for_timeout(1500)  # the slider's images finish loading
            args.output.parent.mkdir(parents=True, exist_ok=True)
            partial = args.output.with_name(args.output.stem + ".partial" + args.output.suffix)
            page.screenshot(path=str(partial), full_page=True, type="jpeg", quality=85)
            partial.replace(args.output)
            browser.close()
    finally:
        app.close()
    print(f"screenshot: {args.output}")


if __name__ == "__main__":
    main()

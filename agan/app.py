"""``agan serve``: a local web page that restores one photo at a time (Gradio, the ``app`` extra).

The page takes an upload, a method (a shipped model, a checkpoint of a run folder, a
classical filter, or any method spec typed in) and an optional Gaussian post-filter, and
shows a before/after slider, the Attentive GAN's attention map when the method has one,
the seconds the restoration took and a download of the full-size result (PNG). The work
is :class:`PageRestorer`, which needs no Gradio; :func:`build_app` only lays out the page.
Large photos go through the networks' tiled inference, as in ``agan restore``; a bad
upload (not an image, truncated, too large) is one message in the page, never a crash.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from agan.data.io import image_size, read_image, write_image
from agan.errors import InputError, StoppedError, first_line
from agan.evaluation.grids import as_rgb
from agan.methods.registry import REGISTRY, Method
from agan.restore import restore_method

#: Gradio sends usage statistics unless told not to; agan's page is local and offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

#: The largest upload the page restores, in megapixels, and in bytes on the wire.
MAX_MEGAPIXELS = 40.0
MAX_UPLOAD = "100mb"
#: The long side of the images shown in the page; the download keeps the full size.
SHOWN_SIDE = 1600
#: Results (and Gradio's copies of uploads) older than this are deleted, so a long-running page does not fill the disk.
KEEP_SECONDS = 3600
APP_EXTRA = "agan serve needs the app extra: pip install 'agan[app]' (Gradio)"


def method_choices(runs: Path | None = None) -> list[str]:
    """The methods offered in the page: the shipped models, the checkpoints under ``runs``
    (``RUN/checkpoints/best.pt`` and ``last.pt``) and the registered filters, in that order."""
    models = [entry.name for entry in REGISTRY.models()]
    checkpoints = []
    if runs is not None and runs.is_dir():
        checkpoints = sorted(str(path) for name in ("best.pt", "last.pt") for path in runs.glob(f"*/checkpoints/{name}"))
    filters = [entry.name for entry in REGISTRY.filters() if entry.name != "input"]
    return models + checkpoints + filters


def for_display(image: np.ndarray, side: int = SHOWN_SIDE) -> np.ndarray:
    """An HWC float32 [0, 1] RGB or grey image as HWC uint8 RGB, shrunk (area) to ``side`` at most."""
    image = as_rgb(image)
    scale = side / max(image.shape[:2])
    if scale < 1:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.round(image * 255).astype(np.uint8)


def heat_map(attention: np.ndarray) -> np.ndarray:
    """An (H, W) attention map (raw, nominally [0, 1]) as an HWC uint8 RGB false-colour image."""
    grey = np.round(np.clip(attention, 0.0, 1.0) * 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


@dataclass
class Restored:
    """What the page shows for one upload: HWC uint8 RGB images for display, the full-size result's file."""

    before: np.ndarray
    after: np.ndarray
    attention: np.ndarray | None
    seconds: float
    download: Path
    summary: str


class PageRestorer:
    """Restores uploads, building each method once (a network loads once, not per upload).

    Args:
        device: where networks run (``cpu`` or ``cuda``).
        precision: ``auto``, ``fp32`` or ``bf16`` for the networks.
        out: folder for the full-size results; default a new temporary folder.
        max_megapixels: larger uploads are refused with a message.
        keep_seconds: each restoration deletes the results in ``out`` older than this.
    """

    def __init__(self, device: str = "cpu", precision: str = "auto", out: Path | None = None,
                 max_megapixels: float = MAX_MEGAPIXELS, keep_seconds: float = KEEP_SECONDS):
        self.device, self.precision, self.max_megapixels = device, precision, max_megapixels
        self.keep_seconds = keep_seconds
        self.out = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="agan-serve-"))
        self.out.mkdir(parents=True, exist_ok=True)
        self._methods: dict[str, Method] = {}
        self._lock = threading.Lock()

    def method(self, spec: str, post_sigma: float = 0.0) -> Method:
        """The method of ``spec`` with ``gaussian(sigma=post_sigma)`` after it when ``post_sigma`` > 0."""
        post = f"gaussian(sigma={post_sigma:g})" if post_sigma and post_sigma > 0 else None
        key = f"{spec}|{post}"
        with self._lock:
            if key not in self._methods:
                self._methods[key] = restore_method(spec.strip(), post, self.device, precision=self.precision)
            return self._methods[key]

    def read_upload(self, path: str | Path, name: str | None = None) -> np.ndarray:
        """The uploaded file as HWC float32 [0, 1] RGB or grey (EXIF orientation applied).

        Raises:
            InputError: one line naming the upload (``name``, else the file's name): not an image,
                truncated, or larger than ``max_megapixels``.
        """
        path = Path(path)
        shown = name or path.name
        try:
            height, width = image_size(path)
            if height * width > self.max_megapixels * 1e6:
                raise InputError(f"{shown}: {width}x{height} is {height * width / 1e6:.0f} MP, more than the "
                                 f"{self.max_megapixels:g} MP this page restores (use agan restore)")
            return read_image(path)
        except InputError as err:
            message = first_line(err)
            raise InputError(message.replace(str(path), shown)) from None

    def restore(self, path: str | Path, spec: str, post_sigma: float = 0.0, name: str | None = None) -> Restored:
        """Restore an uploaded image file with the method ``spec`` (and the post-filter).

        Returns:
            a :class:`Restored`; the full-size result is an 8-bit PNG in a new folder under ``out``.

        Raises:
            InputError: a bad upload or an unknown method spec, as one line.
        """
        image = self.read_upload(path, name)
        method = self.method(spec, post_sigma)
        began = time.perf_counter()
        restored, attention = method.restore_with_attention(image)
        seconds = time.perf_counter() - began
        stem = Path(name or Path(path).name).stem
        self.forget_old_results()
        folder = Path(tempfile.mkdtemp(dir=self.out))
        download = write_image(folder / f"{stem}_restored.png", restored)
        height, width = image.shape[:2]
        notes = "".join(f"\n\n{note}" for note in method.notes)
        summary = f"**{method.label}** restored {width}x{height} in **{seconds:.2f} s** on {self.device}.{notes}"
        return Restored(for_display(image), for_display(restored),
                        heat_map(attention) if attention is not None else None, seconds, download, summary)

    def forget_old_results(self) -> None:
        """Delete the result folders in ``out`` last changed more than ``keep_seconds`` ago."""
        cutoff = time.time() - self.keep_seconds
        for folder in self.out.iterdir():
            try:
                if folder.is_dir() and folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:  # removed meanwhile by another request
                pass


def build_app(runs: Path | None = None, device: str = "cpu", precision: str = "auto", out: Path | None = None,
              max_megapixels: float = MAX_MEGAPIXELS) -> Any:
    """The page as a ``gradio.Blocks``; its restore event is also the HTTP API ``/restore``
    (inputs: the image file, the method spec, the post-filter sigma; outputs: the before/after
    pair, the attention map or None, the summary text, the full-size PNG).

    Raises:
        StoppedError: Gradio is not installed (the ``app`` extra).
    """
    try:
        import gradio as gr
    except ImportError:
        raise StoppedError(APP_EXTRA) from None
    restorer = PageRestorer(device, precision, out, max_megapixels)
    choices = method_choices(runs)

    def restore(upload: str | None, spec: str, post_sigma: float):
        if not upload:
            raise gr.Error("Upload a photo first.")
        if not spec:
            raise gr.Error("Pick a method.")
        try:
            result = restorer.restore(upload, spec, float(post_sigma or 0.0))
        except (InputError, StoppedError, ValueError) as err:  # a bad upload or spec: a message, not a crash
            raise gr.Error(first_line(err), print_exception=False) from None
        attention = gr.Image(value=result.attention, visible=result.attention is not None)
        return (result.before, result.after), attention, result.summary, str(result.download)

    with gr.Blocks(title="agan: restore a photo", delete_cache=(KEEP_SECONDS, KEEP_SECONDS)) as app:
        gr.Markdown("## agan: restore a photo\nUpload a photo, pick a shipped model, a checkpoint or a "
                    "classical filter, and compare before and after.")
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label="Photo", file_types=["image"], type="filepath")
                spec = gr.Dropdown(choices, value=choices[0], allow_custom_value=True, label="Method",
                                   info="a shipped model, a checkpoint (.pt) or a spec such as bm3d(sigma=15)")
                post_sigma = gr.Slider(0.0, 3.0, value=0.0, step=0.1, label="Gaussian post-filter sigma (0: none)")
                button = gr.Button("Restore", variant="primary")
                summary = gr.Markdown()
                download = gr.File(label="Full-size result (PNG)")
            with gr.Column(scale=2):
                slider = gr.ImageSlider(label="Before | after", type="numpy", format="png")
                attention = gr.Image(label="Attention map (Attentive GAN)", visible=False, format="png")
        button.click(restore, [upload, spec, post_sigma], [slider, attention, summary, download], api_name="restore")
    return app


def free_local_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a page started in the background)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(app: Any, host: str = "127.0.0.1", port: int = 7860, *, block: bool = True, share: bool = False) -> None:
    """Serve ``app`` on ``host:port``: until interrupted, or in a background thread when not ``block``
    (``app.close()`` stops it); ``share`` also asks Gradio for a public link (it needs internet).
    The page's address is printed here, in agan's words, instead of Gradio's launch message (whose
    advice names an argument of Gradio's, not agan's ``--share``)."""
    if block:
        print(f"agan serve: http://{host}:{port} (Ctrl-C stops it"
              f"{'' if share else '; agan serve --share also opens a public link'})", flush=True)
    app.launch(server_name=host, server_port=port, max_file_size=MAX_UPLOAD, show_error=True,
               prevent_thread_lock=not block, quiet=not share, share=share)

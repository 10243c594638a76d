"""``agan restore``'s work: which files the inputs name, where each output goes, and restoring them.

Images are read with their EXIF orientation applied, restored as HWC float32 RGB or grey in
[0, 1], and written in the input's format and bit depth (16-bit PNG/TIFF in, 16-bit out; a
JPEG keeps the input's EXIF and ICC profile), each to a temporary name renamed into place.
"""

from __future__ import annotations

import glob
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from agan.data.io import is_image_file, list_images, read_image_with_depth, read_metadata, write_image
from agan.data.spec import parse_calls
from agan.errors import InputError
from agan.methods.registry import REGISTRY, Method, build_method
from agan.methods.tiling import tile_progress

#: Images above this many pixels show their progress tile by tile.
PROGRESS_PIXELS = 4_000_000


def expand_input(argument: str) -> list[Path]:
    """The images an INPUT names: a file, a folder's images (non-recursive) or a glob's image files."""
    path = Path(argument)
    if path.is_dir():
        found = list_images(path)
        if not found:
            raise InputError(f"{path}: no images in this folder")
        return found
    if path.is_file():
        return [path]
    if glob.has_magic(argument):
        found = sorted(Path(p) for p in glob.glob(argument) if Path(p).is_file() and is_image_file(p))
        if not found:
            raise InputError(f"{argument}: matches no image files")
        return found
    raise InputError(f"{path}: no such file or folder")


def collect_inputs(arguments: tuple[str, ...] | list[str]) -> list[Path]:
    """Every image the INPUT arguments name, in order, each file once."""
    seen: dict[Path, Path] = {}
    for argument in arguments:
        for path in expand_input(argument):
            seen.setdefault(path.resolve(), path)
    return list(seen.values())


def output_path(source: Path, out: Path) -> Path:
    """``out/<name>``: the same name and format; BMP (which is not written) becomes PNG."""
    return out / (source.with_suffix(".png").name if source.suffix.lower() == ".bmp" else source.name)


def attention_path(output: Path) -> Path:
    """Where the attention map of ``output`` goes: ``<stem>_attention.png`` beside it."""
    return output.with_name(f"{output.stem}_attention.png")


def plan_outputs(sources: list[Path], out: Path, attention: bool) -> list[Path]:
    """The output path of each source, refusing any that is an input or is written twice."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    inputs = {p.resolve(): p for p in sources}
    outputs = [output_path(p, out) for p in sources]
    written: dict[Path, Path] = {}
    for source, output in zip(sources, outputs):
        for target in (output, attention_path(output)) if attention else (output,):
            key = target.resolve()
            if key in inputs:
                raise InputError(f"{target}: refusing to overwrite an input file (choose another -o)")
            if key in written:
                raise InputError(f"{target}: both {written[key]} and {source} would be written there")
            written[key] = source
    return outputs


def restore_method(model: str, post_filter: str | None, device: str, tile: int | None = None, overlap: int = 64,
                   ensemble: bool = False, precision: str = "auto") -> Method:
    """The method of ``--model`` with ``--post-filter`` appended (which must name registered filters)."""
    spec = model
    if post_filter:
        for name, _ in parse_calls(post_filter):
            if name not in REGISTRY or REGISTRY[name].kind != "filter":
                raise InputError(f"--post-filter {post_filter}: {name!r} is not a registered filter (see agan models)")
        spec = f"{model}+{post_filter}"
    return build_method(spec, device, tile=tile, overlap=overlap, ensemble=ensemble, precision=precision)


class TileReport:
    """Progress inside one large image, ``(tiles done, tiles in all)`` at a time.

    On a terminal a tqdm bar of tiles with its estimate; elsewhere (a log, a pipe) plain lines on
    ``write``, one at most every ``every`` seconds and at the end: ``NAME: 24/96 tiles (25 %), 52 s,
    about 2 min 36 s left``.
    """

    def __init__(self, name: str, terminal: bool, write: Callable[[str], None], every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.name, self.terminal, self.write, self.every, self.clock = name, terminal, write, every, clock
        self.start = clock()
        self.last = self.start
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.terminal:
            if self.bar is None:
                self.bar = tqdm(total=total, desc=self.name, unit="tile", leave=False)
            self.bar.update(done - self.bar.n)
            if done >= total:
                self.bar.close()
            return
        now = self.clock()
        if done < total and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.start
        left = elapsed / done * (total - done)
        tail = "done" if done >= total else f"about {_duration(left)} left"
        self.write(f"{self.name}: {done}/{total} tiles ({100 * done // total} %), {_duration(elapsed)}, {tail}")


def _duration(seconds: float) -> str:
    """``52 s`` or ``2 min 36 s``."""
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"


def restore_file(method: Method, source: Path, output: Path, save_attention: bool = False, quality: int = 95,
                 warn: Callable[[str], None] = print, terminal: bool = False) -> None:
    """Read ``source`` (turned as its EXIF orientation says), restore it and write ``output`` (16-bit
    PNG/TIFF for 16-bit inputs; a JPEG keeps the source's EXIF and ICC profile), and its attention map.

    Images above :data:`PROGRESS_PIXELS` report their tiles (:class:`TileReport`: a bar when
    ``terminal``, else lines on ``warn``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image, bits = read_image_with_depth(source)
    for warning in caught:
        warn(f"warning: {warning.message}")
    large = image.shape[0] * image.shape[1] > PROGRESS_PIXELS
    with tile_progress(TileReport(source.name, terminal, warn) if large else None):
        # the image is ours: a tiled network writes its output into it (one float copy of a big photo)
        restored, attention = method.restore_with_attention(image, attention=save_attention, consume=True)
    del image
    deep = bits > 8 and output.suffix.lower() in (".png", ".tif", ".tiff")
    write_image(output, restored, bits=16 if deep else 8, quality=quality, metadata=read_metadata(source))
    if save_attention and attention is not None:
        write_image(attention_path(output), np.clip(attention, 0.0, 1.0)[..., None])


def restore_files(method: Method, sources: list[Path], outputs: list[Path], *, save_attention: bool = False,
                  quality: int = 95, skip_existing: bool = False, progress: bool = False,
                  on_error: Callable[[Path, Exception], None] | None = None) -> tuple[int, int, int]:
    """Restore each source into its output; one file's failure is passed to ``on_error`` (raised without
    one) and the batch goes on. Returns ``(restored, skipped because the output exists, failed)``."""
    done = skipped = failed = 0

    def warn(text: str) -> None:
        tqdm.write(text, file=sys.stderr)

    for source, output in tqdm(list(zip(sources, outputs)), desc="restore", unit="image", disable=not progress):
        if skip_existing and output.exists():
            skipped += 1
            continue
        try:
            restore_file(method, source, output, save_attention, quality, warn, terminal=progress)
            done += 1
        except Exception as err:  # one file's failure, named by on_error; the batch goes on
            if on_error is None:
                raise
            failed += 1
            on_error(source, err)
    return done, skipped, failed


def ignored_options(method: Method, tile: int | None, ensemble: bool, save_attention: bool) -> list[str]:
    """A note for each restore option that does not apply to ``method`` (and is ignored)."""
    notes = []
    if (tile is not None or ensemble) and not method.learned:
        notes.append(f"note: --tile and --ensemble apply to networks; {method.label} has none, so they are ignored")
    if save_attention and not method.gives_attention:
        notes.append(f"note: --save-attention ignored: {method.label} gives no attention map (only attentive-gan does)")
    return notes

"""Find (degraded, clean) file pairs in the folder layouts of the public restoration sets.

Layouts, detected from the folder's contents:

========================  ==========================================================
``data/`` + ``gt/``        Raindrop (Qian et al.): ``N_rain.png`` <-> ``N_clean.png``
``rain/`` + ``norain/``    Rain12, Rain100L (``rain-N`` <-> ``norain-N``), JORDER (same names)
``input/`` + ``target/``   identical names
``degraded/`` + ``clean/`` what ``agan synth`` writes (optional ``mask/``)
``lq/`` + ``gt/``          BasicSR's naming
``noisy/`` + ``clean/``    identical names
one folder                 PolyU: ``X_real.*`` <-> ``X_mean.*``
========================  ==========================================================

Two files pair when their names are identical, or when they are identical once
the layout's markers (``rain-``/``norain-`` prefixes, ``_rain``/``_clean``,
``_real``/``_mean`` suffixes) and the extension are removed. Anything left
unpaired is an error that lists the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .io import image_size, list_images

#: (degraded folder, clean folder) names, tried in order.
FOLDER_LAYOUTS = (
    ("data", "gt"),
    ("rain", "norain"),
    ("input", "target"),
    ("degraded", "clean"),
    ("lq", "gt"),
    ("noisy", "clean"),
)
_DEGRADED_MARKS = re.compile(r"^(rain[-_])|([-_](rain|rainy|real|noisy|input|degraded))$", re.IGNORECASE)
_CLEAN_MARKS = re.compile(r"^(norain[-_])|([-_](norain|clean|mean|gt|target|groundtruth))$", re.IGNORECASE)
_ONE_FOLDER = (("_real", "_mean"), ("_rain", "_clean"), ("_noisy", "_clean"))


class PairingError(ValueError):
    """A folder whose files do not pair up; the message lists the offending files."""


@dataclass(frozen=True)
class ImagePair:
    """One paired sample on disk: the degraded image, its clean target and optionally a mask."""

    degraded: Path
    clean: Path
    mask: Path | None = None

    @property
    def name(self) -> str:
        return self.clean.stem


def _list_unpaired(files: list[Path], root: Path, limit: int = 10) -> str:
    names = [str(p.relative_to(root)) for p in files[:limit]]
    more = f" and {len(files) - limit} more" if len(files) > limit else ""
    return ", ".join(names) + more


def _match(
    degraded: list[Path], clean: list[Path], root: Path, strip_degraded: re.Pattern, strip_clean: re.Pattern
) -> list[tuple[Path, Path]]:
    """Pair files by identical stem or by stem with the layout's markers removed, whichever pairs more."""
    schemes = []
    for strip_d, strip_c in ((None, None), (strip_degraded, strip_clean)):
        key_d = {(strip_d.sub("", p.stem) if strip_d else p.stem): p for p in degraded}
        key_c = {(strip_c.sub("", p.stem) if strip_c else p.stem): p for p in clean}
        if len(key_d) == len(degraded) and len(key_c) == len(clean):
            schemes.append((len(set(key_d) & set(key_c)), key_d, key_c))
    if not schemes:
        raise PairingError(f"{root}: two files reduce to the same name once rain/clean markers are removed")
    _, key_d, key_c = max(schemes, key=lambda scheme: scheme[0])
    lonely = [key_d[k] for k in sorted(set(key_d) - set(key_c))] + [key_c[k] for k in sorted(set(key_c) - set(key_d))]
    if lonely:
        raise PairingError(f"{root}: {len(lonely)} file(s) without a partner: {_list_unpaired(lonely, root)}")
    return [(key_d[k], key_c[k]) for k in sorted(key_d)]


def check_sizes(pairs: list[ImagePair], root: str | Path) -> None:
    """Raise :class:`PairingError` listing every pair whose two images differ in size."""
    bad = []
    for pair in pairs:
        d_size, c_size = image_size(pair.degraded), image_size(pair.clean)
        if d_size != c_size:
            bad.append(f"{pair.degraded.name} {d_size[1]}x{d_size[0]} vs {pair.clean.name} {c_size[1]}x{c_size[0]}")
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise PairingError(f"{root}: {len(bad)} pair(s) differ in size: {'; '.join(bad[:5])}{more}")


def find_pairs(folder: str | Path) -> list[ImagePair]:
    """Detect the layout of a paired folder and return its pairs sorted by name.

    Raises:
        PairingError: no known layout, an empty folder, or files without a
            partner (all of them listed, up to ten).
    """
    root = Path(folder)
    if not root.is_dir():
        raise PairingError(f"{root}: no such folder")
    subdirs = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    for degraded_name, clean_name in FOLDER_LAYOUTS:
        if degraded_name in subdirs and clean_name in subdirs:
            degraded = list_images(subdirs[degraded_name])
            clean = list_images(subdirs[clean_name])
            if not degraded and not clean:
                raise PairingError(f"{root}: {degraded_name}/ and {clean_name}/ hold no images")
            pairs = _match(degraded, clean, root, _DEGRADED_MARKS, _CLEAN_MARKS)
            masks = {p.stem: p for p in list_images(subdirs["mask"])} if "mask" in subdirs else {}
            return [ImagePair(d, c, masks.get(c.stem)) for d, c in pairs]
    files = list_images(root)
    for degraded_mark, clean_mark in _ONE_FOLDER:
        degraded = [p for p in files if p.stem.lower().endswith(degraded_mark)]
        clean = [p for p in files if p.stem.lower().endswith(clean_mark)]
        if degraded or clean:
            others = [p for p in files if p not in degraded and p not in clean]
            if others:
                raise PairingError(
                    f"{root}: {len(others)} file(s) named neither *{degraded_mark} nor *{clean_mark}: "
                    f"{_list_unpaired(others, root)}"
                )
            strip_d = re.compile(re.escape(degraded_mark) + "$", re.IGNORECASE)
            strip_c = re.compile(re.escape(clean_mark) + "$", re.IGNORECASE)
            return [ImagePair(d, c) for d, c in _match(degraded, clean, root, strip_d, strip_c)]
    if {"train", "test"} & set(subdirs):
        hint = f"; it has {'/ and '.join(sorted({'train', 'test'} & set(subdirs)))}/: point at one of those"
    else:
        hint = ""
    layouts = ", ".join(f"{d}/+{c}/" for d, c in FOLDER_LAYOUTS)
    if not files and not subdirs:
        raise PairingError(f"{root}: empty folder")
    raise PairingError(f"{root}: no paired layout found (expected {layouts}, or *_real/*_mean files){hint}")

"""Find (degraded, clean) file pairs in the folder layouts of the public restoration sets.

Layouts, detected from the folder's contents (folder names ignore case):

==============================  ====================================================================
``data/`` + ``gt/``             Raindrop (Qian et al.): ``N_rain.png`` <-> ``N_clean.png``
``rain/`` + ``norain/``         Rain12, Rain100L (``rain-N`` <-> ``norain-N``), JORDER (same names)
``input/`` + ``target/``        identical names
``degraded/`` + ``clean/``      what ``agan synth`` writes (optional ``mask/``)
``lq/`` + ``gt/``               BasicSR's naming
``noisy/`` + ``clean/``         identical names
``synthetic/`` + ``gt/``        Snow100K, with its ``mask/``
``snow/`` + ``gt/``             CSD (``Snow/``, ``Gt/``, ``Mask/``)
``in/`` + ``gt/``               Outdoor-Rain: ``im_0001_s80_a04.png`` (many) -> ``im_0001.png``
``rainy_image/`` + ``ground_truth/``  Rain1400: ``901_1.jpg`` ... ``901_14.jpg`` -> ``901.jpg``
``hazy/`` + ``clear/``          RESIDE: ``0001_0.8_0.2.jpg`` (many) -> ``0001.png``
one folder                      PolyU: ``X_real.*`` <-> ``X_mean.*``; SIDD: ``*_NOISY_SRGB_*`` <-> ``*_GT_SRGB_*``
==============================  ====================================================================

Two files pair when their names are identical, or when they are identical once
the layout's markers (``rain-``/``norain-`` prefixes, ``_rain``/``_clean``,
``_real``/``_mean`` suffixes) and the extension are removed. In the
many-to-one layouts a degraded file pairs with the clean file whose name it
starts with, followed by ``_`` and the degradation's parameters. A ``mask/``
folder beside the two (Snow100K, CSD, ``agan synth``) gives each pair its
published mask, by the clean file's name. Anything left unpaired is an error
that lists the files.

Any other layout is paired by a pattern (:func:`pairs_from_pattern`): the data
spec ``pairs:DEGRADED=CLEAN`` where ``DEGRADED`` is a path pattern with one
``{id}`` and any ``*`` wildcards in its file name, and ``CLEAN`` the clean
file's path with the same ``{id}``, e.g.
``pairs:rain/{id}_s*_a*.png=clean/{id}.png``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from agan.data.io import image_size, list_images
from agan.errors import InputError

#: (degraded folder, clean folder) names, tried in order.
FOLDER_LAYOUTS = (
    ("data", "gt"),
    ("rain", "norain"),
    ("input", "target"),
    ("degraded", "clean"),
    ("lq", "gt"),
    ("noisy", "clean"),
    ("synthetic", "gt"),
    ("snow", "gt"),
    ("in", "gt"),
    ("rainy_image", "ground_truth"),
    ("hazy", "clear"),
)
#: Layouts with many degraded versions of each clean image (``CLEANNAME_params``).
MANY_TO_ONE = {("in", "gt"), ("rainy_image", "ground_truth"), ("hazy", "clear")}
_DEGRADED_MARKS = re.compile(r"^(rain[-_])|([-_](rain|rainy|real|noisy|input|degraded))$", re.IGNORECASE)
_CLEAN_MARKS = re.compile(r"^(norain[-_])|([-_](norain|clean|mean|gt|target|groundtruth))$", re.IGNORECASE)
#: One-folder sets: (degraded marker, clean marker) as a file pattern; ``*`` is the rest of the name.
#: SIDD's marker sits inside the name: ``0001_NOISY_SRGB_010`` <-> ``0001_GT_SRGB_010``.
_ONE_FOLDER = (("*_real", "*_mean"), ("*_rain", "*_clean"), ("*_noisy", "*_clean"), ("*_NOISY_*", "*_GT_*"))


class PairingError(InputError):
    """A folder whose files do not pair up; the message lists the offending files."""


@dataclass(frozen=True)
class ImagePair:
    """One paired sample on disk: the degraded image, its clean target and optionally a mask.

    ``name`` is the clean file's stem, or the degraded file's where one clean
    image has several degraded versions.
    """

    degraded: Path
    clean: Path
    mask: Path | None = None
    many_to_one: bool = False

    @property
    def name(self) -> str:
        return self.degraded.stem if self.many_to_one else self.clean.stem


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


def _marker(pattern: str) -> re.Pattern:
    """The marker of a one-folder pattern (``*_real``, ``*_NOISY_*``) as a case-blind regex."""
    core = re.escape(pattern.strip("*"))
    return re.compile(core + ("" if pattern.endswith("*") else "$"), re.IGNORECASE)


def _match_many(degraded: list[Path], clean: list[Path], root: Path) -> list[tuple[Path, Path]]:
    """Pair each degraded file with the clean file whose stem it equals or starts with, then ``_``."""
    by_stem = {p.stem: p for p in clean}
    pairs, lonely, used = [], [], set()
    for path in sorted(degraded):
        stem, partner = path.stem, None
        while partner is None:
            partner = by_stem.get(stem)
            if partner is None and "_" not in stem:
                break
            stem = stem.rpartition("_")[0]
        if partner is None:
            lonely.append(path)
        else:
            pairs.append((path, partner))
            used.add(partner)
    lonely += [p for p in sorted(clean) if p not in used]
    if lonely:
        raise PairingError(f"{root}: {len(lonely)} file(s) without a partner: {_list_unpaired(lonely, root)}")
    return pairs


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
            many = (degraded_name, clean_name) in MANY_TO_ONE
            pairs = _match_many(degraded, clean, root) if many else \
                _match(degraded, clean, root, _DEGRADED_MARKS, _CLEAN_MARKS)
            masks = {p.stem: p for p in list_images(subdirs["mask"])} if "mask" in subdirs else {}
            return [ImagePair(d, c, masks.get(c.stem), many) for d, c in pairs]
    files = list_images(root)
    for degraded_mark, clean_mark in _ONE_FOLDER:
        strip_d, strip_c = _marker(degraded_mark), _marker(clean_mark)
        degraded = [p for p in files if strip_d.search(p.stem)]
        clean = [p for p in files if strip_c.search(p.stem)]
        if degraded or clean:
            others = [p for p in files if p not in degraded and p not in clean]
            if others:
                raise PairingError(
                    f"{root}: {len(others)} file(s) named neither {degraded_mark} nor {clean_mark}: "
                    f"{_list_unpaired(others, root)}"
                )
            return [ImagePair(d, c) for d, c in _match(degraded, clean, root, strip_d, strip_c)]
    if {"train", "test"} & set(subdirs):
        hint = f"; it has {'/ and '.join(sorted({'train', 'test'} & set(subdirs)))}/: point at one of those"
    else:
        hint = ""
    layouts = ", ".join(f"{d}/+{c}/" for d, c in FOLDER_LAYOUTS)
    if not files and not subdirs:
        raise PairingError(f"{root}: empty folder")
    raise PairingError(f"{root}: no paired layout found (expected {layouts}, *_real/*_mean or *_NOISY_*/*_GT_* "
                       f"files; or give a pattern, pairs:DEGRADED=CLEAN){hint}")


def pairs_from_pattern(pattern: str) -> list[ImagePair]:
    """Pairs named by a pattern: ``DEGRADED=CLEAN[=MASK]``, e.g. ``rain/{id}_s*_a*.png=clean/{id}.png``.

    ``DEGRADED`` is a path whose file name holds one ``{id}`` and any ``*``
    wildcards (its folder is literal); ``CLEAN`` (and an optional ``MASK``) is
    a path with the same ``{id}``. Several degraded files may share one clean
    file.

    Raises:
        PairingError: a malformed pattern, no matching file, or degraded files
            whose clean (or mask) file is missing (listed).
    """
    parts = pattern.split("=")
    if len(parts) not in (2, 3) or any("{id}" not in p for p in parts) or parts[0].count("{id}") != 1:
        raise PairingError(f"{pattern!r}: expected DEGRADED=CLEAN[=MASK], each path with one {{id}}, "
                           "e.g. rain/{id}_s*.png=clean/{id}.png")
    degraded_path = Path(parts[0])
    folder, name = degraded_path.parent, degraded_path.name
    if "{id}" in str(folder) or "*" in str(folder):
        raise PairingError(f"{pattern!r}: {{id}} and * may only stand in the degraded file's name, not its folder")
    if not folder.is_dir():
        raise PairingError(f"{folder}: no such folder (in the pattern {pattern!r})")
    regex = re.compile("".join("(?P<id>.+?)" if piece == "{id}" else ".*" if piece == "*" else re.escape(piece)
                               for piece in re.split(r"(\{id\}|\*)", name) if piece))
    found = [(p, m.group("id")) for p in list_images(folder) if (m := regex.fullmatch(p.name))]
    if not found:
        raise PairingError(f"{pattern!r}: no image in {folder} matches {name}")
    pairs, missing = [], []
    for path, key in found:
        clean = Path(parts[1].replace("{id}", key))
        mask = Path(parts[2].replace("{id}", key)) if len(parts) == 3 else None
        if not clean.is_file() or (mask is not None and not mask.is_file()):
            missing.append(path)
        else:
            pairs.append((path, clean, mask))
    if missing:
        raise PairingError(f"{pattern!r}: {len(missing)} file(s) without a partner: "
                           f"{_list_unpaired(missing, folder)}")
    counts: dict[Path, int] = {}
    for _, clean, _ in pairs:
        counts[clean] = counts.get(clean, 0) + 1
    many = max(counts.values()) > 1
    return [ImagePair(d, c, m, many) for d, c, m in pairs]

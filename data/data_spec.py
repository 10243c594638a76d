"""Data specs as values: the one parser of the spec language, its formatter, and path mapping.

The grammar (``DESIGN.md``; :mod:`agan.data.sources` opens what it names)::

    SPEC := PART (";" PART)*
    PART := BODY ["*" N]                      N >= 1: each image counts N times in an epoch
    BODY := PATH                              a paired folder
          | "pairs:" DEGRADED "=" CLEAN ["=" MASK]
          | "synthetic:" KINDS ":" PATH ("," PATH)*

``KINDS`` is a degradation chain (``rain(angle=10)+jpeg``); it may hold ``:`` only inside
brackets, and a PATH may hold ``:`` (a drive letter). The loader, releases, model cards and the
README tables all read specs through :meth:`DataSpec.parse`; cards write paths as
``$DATA/...`` through :meth:`DataSpec.map_paths`.

    >>> spec = DataSpec.parse("synthetic:rain+jpeg(quality=30):a,b; pairs/x*8")
    >>> [(part.form, part.paths, part.repeat) for part in spec.parts]
    [('synthetic', ('a', 'b'), 1), ('folder', ('pairs/x',), 8)]
    >>> str(spec.map_paths(lambda path: "$DATA/" + path))
    'synthetic:rain+jpeg(quality=30):$DATA/a,$DATA/b;$DATA/pairs/x*8'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Literal

from agan.data.spec import SpecError, split_top_level

Form = Literal["folder", "pairs", "synthetic"]


@dataclass(frozen=True)
class SpecPart:
    """One part of a spec: its ``form``, the ``paths`` it reads (a folder; degraded, clean[, mask]
    patterns; or the clean photos' paths), the degradation chain ``kinds`` as written (synthetic
    only) and its ``repeat`` count."""

    form: Form
    paths: tuple[str, ...]
    kinds: str = ""
    repeat: int = 1

    @classmethod
    def parse(cls, text: str) -> "SpecPart":
        """One part; SpecError quoting it when it does not parse."""
        text = text.strip()
        repeat = 1
        match = re.fullmatch(r"(.*?)\*(\d+)\s*", text)
        if match is not None:
            text, repeat = match.group(1).strip(), int(match.group(2))
            if repeat < 1:
                raise SpecError(f"{match.group(0).strip()!r}: a repeat count must be at least 1")
        if text.startswith("synthetic:"):
            pieces = split_top_level(text[len("synthetic:"):], ":")
            kinds, paths = pieces[0].strip(), ":".join(pieces[1:])
            files = tuple(path.strip() for path in paths.split(",") if path.strip())
            if len(pieces) < 2 or not kinds or not files:
                raise SpecError(f"{text!r}: expected synthetic:KIND[(params)][+KIND...]:PATH")
            return cls("synthetic", files, kinds, repeat)
        if text.startswith("pairs:"):
            return cls("pairs", tuple(text[len("pairs:"):].split("=")), "", repeat)
        if not text:
            raise SpecError("empty data spec")
        return cls("folder", (text,), "", repeat)

    def body(self) -> str:
        """The part without its repeat count, as a spec."""
        if self.form == "synthetic":
            return f"synthetic:{self.kinds}:" + ",".join(self.paths)
        if self.form == "pairs":
            return "pairs:" + "=".join(self.paths)
        return self.paths[0]

    def __str__(self) -> str:
        return self.body() + (f"*{self.repeat}" if self.repeat > 1 else "")

    @property
    def folders(self) -> tuple[str, ...]:
        """The paths that name the part's images: the folder, the degraded pattern, or the clean paths."""
        return self.paths if self.form == "synthetic" else self.paths[:1]

    def map_paths(self, mapping: Callable[[str], str]) -> "SpecPart":
        """The same part with each path replaced by ``mapping(path)``."""
        return replace(self, paths=tuple(mapping(path) for path in self.paths))


@dataclass(frozen=True)
class DataSpec:
    """A parsed data spec: its parts, in order. ``str()`` formats it back (parts joined by ``;``)."""

    parts: tuple[SpecPart, ...]

    @classmethod
    def parse(cls, text: str) -> "DataSpec":
        """Parse ``text``; SpecError (one line, quoting the spec) when it does not parse."""
        parts = tuple(SpecPart.parse(part) for part in split_top_level(text, ";") if part.strip())
        if not parts:
            raise SpecError(f"{text!r}: an empty data spec")
        return cls(parts)

    def __str__(self) -> str:
        return ";".join(str(part) for part in self.parts)

    @property
    def single(self) -> bool:
        """One part counted once: a plain source, not a mix."""
        return len(self.parts) == 1 and self.parts[0].repeat == 1

    def map_paths(self, mapping: Callable[[str], str]) -> "DataSpec":
        """The same spec with each path of each part replaced by ``mapping(path)``."""
        return DataSpec(tuple(part.map_paths(mapping) for part in self.parts))

    def folders(self) -> set[str]:
        """The paths naming the images of every part (see :attr:`SpecPart.folders`)."""
        return {folder for part in self.parts for folder in part.folders}

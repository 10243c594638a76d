"""One registry that maps names to restoration methods: the filters, the shipped models, and checkpoints by path.

A method spec names one entry with optional parameters and may chain more
entries after ``+``, each applied to the previous one's output, e.g.
``bm3d(sigma=25)`` or ``median(ksize=5)+gaussian(sigma=0.8)`` (a restorer
followed by a Gaussian post-filter).

Entries are registered here with explicit imports (no folder scan), so one
broken optional module never hides the others. Checkpoint steps become
:class:`~agan.methods.restorer.ModelRestorer` objects; ``build_method``'s
keyword options (tile, overlap, ensemble) go to them. The names of
:data:`agan.methods.shipped.RELEASES` resolve to the weights shipped in
``agan/weights/``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from agan.baselines import filters
from agan.baselines.filter_params import check_parameters
from agan.data.spec import SpecError, format_call, lookup, parse_call, parse_calls, split_top_level
from agan.methods.shipped import RELEASES, preview_note, resolve

#: One step of a method chain: an HWC float32 image in [0, 1] in, the restored one out.
ImageStep = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Entry:
    """A registered method. A filter's ``build(**params)`` returns a restorer ``image -> image``; a
    shipped model (``kind="model"``) is built from its weights by :func:`build_method`."""

    name: str
    build: Callable[..., ImageStep] | None
    summary: str
    kind: str = "filter"


class Registry:
    """Name -> :class:`Entry`: every method a spec may name (filters and shipped models). ``register``
    adds one; ``[name]`` looks one up, an unknown name raising :class:`UnknownNameError` with them all."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def register(self, entry: Entry) -> Entry:
        if entry.name in self._entries:
            raise ValueError(f"method {entry.name!r} is registered twice")
        self._entries[entry.name] = entry
        return entry

    def __getitem__(self, name: str) -> Entry:
        from agan.nets.architectures import ARCHITECTURES

        hint = (f"{name!r} is an architecture without weights: give a trained checkpoint (.pt)" if name in ARCHITECTURES
                else "or a trained checkpoint (.pt)")
        return lookup(self._entries, name, "method", hint)

    def filters(self) -> list[Entry]:
        return [entry for entry in self._entries.values() if entry.kind == "filter"]

    def models(self) -> list[Entry]:
        return [entry for entry in self._entries.values() if entry.kind == "model"]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(self._entries.values())


REGISTRY = Registry()


def _filter_builder(function: Callable[..., np.ndarray], name: str | None = None) -> Callable[..., ImageStep]:
    signature = inspect.signature(function)

    def build(**params: Any) -> ImageStep:
        try:
            signature.bind(None, **params)
        except TypeError as err:
            raise SpecError(f"bad parameters for {function.__name__}: {err}") from None
        try:
            check_parameters(name or function.__name__, params)
        except ValueError as err:
            raise SpecError(str(err)) from None

        def restore(image: np.ndarray) -> np.ndarray:
            return function(image, **params)

        return restore

    return build


def _first_line(function: Callable) -> str:
    """The first sentence of a docstring, as plain text."""
    paragraph = (inspect.getdoc(function) or "").split("\n\n")[0]
    return " ".join(paragraph.split()).replace("``", "").split(". ")[0].rstrip(".")


def unrestored(image: np.ndarray) -> np.ndarray:
    """The degraded input exactly as given (unclipped), HWC float32: the baseline row of a table."""
    return filters.identity(image, clip=False)


REGISTRY.register(Entry("input", _filter_builder(unrestored), "the degraded input itself, unrestored (the baseline row)"))
for _name, _function in filters.FILTERS.items():
    REGISTRY.register(Entry(_name, _filter_builder(_function, _name), _first_line(_function)))
for _name, _summary in RELEASES.items():
    REGISTRY.register(Entry(_name, None, _summary, kind="model"))


@dataclass(frozen=True)
class Method:
    """A resolved method spec: ``method(image)`` restores an HWC float32 [0, 1] image.

    ``label`` is the canonical spec string, used in tables and file names;
    ``notes`` are lines a command shows its user once (a preview model says so).
    """

    label: str
    steps: tuple[ImageStep, ...]
    notes: tuple[str, ...] = ()

    def __call__(self, image: np.ndarray, *, consume: bool = False) -> np.ndarray:
        """Restore an HWC float32 RGB or grey image; returns the same shape, float32, in [0, 1].

        ``consume=True`` hands ``image`` over: a network step may write its output into it (a
        24 MP photo then needs one float copy in memory, not two); the caller must not use it after.
        """
        return self.restore_with_attention(image, attention=False, consume=consume)[0]

    @property
    def learned(self) -> bool:
        """True when a step is a trained network (its output depends on weights, not only on the input)."""
        return any(getattr(step, "learned", False) for step in self.steps)

    @property
    def gives_attention(self) -> bool:
        """True when a step is a network with attention maps (the Attentive GAN)."""
        return any(getattr(step, "gives_attention", False) for step in self.steps)

    def restore_with_attention(self, image: np.ndarray, attention: bool = True,
                               consume: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Restore like ``method(image)`` and also return the last attention map a step gave
        (``attention=False``: None, and none is blended); ``consume`` as for :meth:`__call__`.

        Returns:
            ``(restored HWC float32 [0, 1], attention (H, W) float32 raw, or None)``.
        """
        last_map = None
        for index, step in enumerate(self.steps):
            if getattr(step, "learned", False):  # a network: the one kind of step that takes these options
                owned = consume or index > 0  # a later step's input is an earlier step's output
                image, step_map = step.restore_with_attention(image, attention=attention, consume=owned)
                last_map = step_map if step_map is not None else last_map
            else:
                image = step(image)
        return image, last_map


def short_label(label: str) -> str:
    """A method label for tables: a checkpoint named by its run folder and file (``gan/best.pt``),
    not its whole path; the rest as it is."""
    parts = []
    for call in split_top_level(label, "+"):
        name = parse_call(call)[0]
        if _is_checkpoint(name):
            path = Path(name)
            short = f"{path.parent.parent.name}/{path.name}" if path.parent.name == "checkpoints" else path.name
            parts.append(short + call.strip()[len(name):])
        else:
            parts.append(call.strip())
    return "+".join(parts)


def _is_checkpoint(name: str) -> bool:
    return name.endswith(".pt") or Path(name).is_file()


def model_checkpoint(name: str) -> str | Path:
    """The checkpoint file a model name stands for: a shipped release's weights, or the path itself.

    Raises:
        SpecError: ``name`` is neither a checkpoint nor a release whose weights this build holds.
    """
    return name if _is_checkpoint(name) else resolve(name)


def _build_step(name: str, params: dict[str, Any], device: str, model_options: dict[str, Any]) -> ImageStep:
    entry = None if _is_checkpoint(name) else REGISTRY[name]
    if entry is not None and entry.kind == "filter":
        return entry.build(**params)
    from agan.methods.restorer import ModelRestorer
    from agan.nets.architectures import model_from_checkpoint

    if params:
        raise SpecError(f"a trained model takes no parameters: {format_call(name, params)}")
    model, _ = model_from_checkpoint(model_checkpoint(name), device)
    return ModelRestorer(model, device, name=name if entry is not None else None, **model_options)


def build_method(spec: str, device: str = "cpu", *, tile: int | None = None, overlap: int = 64,
                 ensemble: bool = False, precision: str = "auto") -> Method:
    """Resolve a method spec such as ``"bm3d(sigma=25)"``, ``"median+gaussian(sigma=0.8)"`` or
    ``"runs/gan/checkpoints/best.pt+gaussian(sigma=0.8)"``; models run on ``device``.

    Args:
        spec: the method spec.
        device: where checkpoint networks run.
        tile, overlap, ensemble: tiling and x8 self-ensemble of the checkpoint
            steps (see :class:`~agan.methods.restorer.ModelRestorer`); the
            filters ignore them.
        precision: ``auto``, ``fp32`` or ``bf16`` for the networks (see :mod:`agan.methods.precision`).

    Raises:
        SpecError: an unknown name or a parameter the method does not take.
        CheckpointError: a checkpoint that cannot be loaded (named).
        ValueError: an overlap not below the tile.
    """
    calls = parse_calls(spec)
    model_options = {"tile": tile, "overlap": overlap, "ensemble": ensemble, "precision": precision}
    steps = tuple(_build_step(name, params, device, model_options) for name, params in calls)
    notes = tuple(note for name, _ in calls if name in RELEASES and (note := preview_note(name)))
    return Method("+".join(format_call(name, params) for name, params in calls), steps, notes)

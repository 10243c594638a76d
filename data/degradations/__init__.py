"""Degradations: seeded functions ``(clean, rng, **params) -> (degraded, mask)``.

Convention for every kind: ``clean`` is an HWC float32 array in [0, 1] with 1
(grey) or 3 (RGB) channels; ``rng`` is a ``numpy.random.Generator`` and the
only source of randomness, so the same seed gives the identical pair.
``degraded`` has the shape and dtype of ``clean`` and lies in [0, 1] (unless a
kind's ``clip=False`` asks otherwise); ``mask`` is HW float32 in [0, 1], 1
where the image was corrupted. Parameters left as ``None`` are drawn from
realistic ranges given in each function's docstring. Noise levels are on the
0-255 scale, as in the literature.

Kinds are reached by name through :data:`DEGRADATIONS`; :func:`degrade` applies
a ``+``-joined chain such as ``"gaussian(sigma=25)+jpeg(quality=30)"``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Callable

import numpy as np

from agan.data.degradations import noise, weather
from agan.data.degradations.shapes import Apply
from agan.data.spec import Call, SpecError, format_call, lookup, parse_calls

Degradation = Callable[..., tuple[np.ndarray, np.ndarray]]

NOISE_KINDS: dict[str, Degradation] = {
    "gaussian": noise.gaussian,
    "salt-pepper": noise.salt_pepper,
    "speckle": noise.speckle,
    "poisson": noise.poisson,
    "scribble": noise.scribble,
    "jpeg": noise.jpeg,
    "blur": noise.blur,
    "noise-mix": noise.noise_mix,
}
WEATHER_KINDS: dict[str, Degradation] = {
    "raindrop": weather.raindrop,
    "rain": weather.rain,
    "snow": weather.snow,
    "dust": weather.dust,
    "haze": weather.haze,
    "weather-mix": weather.weather_mix,
}
DEGRADATIONS: dict[str, Degradation] = {**NOISE_KINDS, **WEATHER_KINDS}

#: Kinds whose mask marks a sparse set of pixels and covers every changed pixel.
SPARSE_KINDS = ("salt-pepper", "scribble", "raindrop", "rain", "snow", "dust")


def get_degradation(name: str) -> Degradation:
    """Look a degradation up by name; unknown names raise with the list of known ones."""
    return lookup(DEGRADATIONS, name, "degradation")


@functools.lru_cache(maxsize=None)
def _signature(function: Degradation) -> inspect.Signature:
    return inspect.signature(function)  # once per kind: degrade() checks every training patch's chain


def parse_degradation(spec: str | list[Call]) -> list[Call]:
    """Parse and check a degradation chain; returns ``[(name, params), ...]``.

    Raises:
        SpecError: an unknown kind, or a parameter the kind does not take (named), before
            any image is degraded.
    """
    calls = parse_calls(spec) if isinstance(spec, str) else list(spec)
    for name, params in calls:
        function = get_degradation(name)
        try:
            _signature(function).bind(None, None, **params)
        except TypeError as err:
            raise SpecError(f"bad parameters for degradation {name!r}: {err}") from None
    return calls


def degrade(
    clean: np.ndarray, spec: str | list[Call], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Apply a chain of degradations in order.

    Args:
        clean: HWC float32 RGB or grey image in [0, 1].
        spec: ``"kind(param=value)+kind..."`` or its parsed form.
        rng: the generator every kind in the chain draws from.

    Returns:
        ``(degraded, mask)``: HWC float32 like ``clean``; HW float32 mask in
        [0, 1], the element-wise maximum of the chain's masks.
    """
    image, mask = clean, None
    for name, params in parse_degradation(spec):
        try:
            image, step_mask = get_degradation(name)(image, rng, **params)
        except TypeError as err:  # unknown keyword
            raise SpecError(f"bad parameters for degradation {name!r}: {err}") from None
        except ValueError as err:  # a parameter out of its range, found when it is used
            if isinstance(err, SpecError):
                raise
            raise SpecError(f"{format_call(name, params)}: {err}") from None
        mask = step_mask if mask is None else np.maximum(mask, step_mask)
    return image, mask


def has_layers(chain: list[Call]) -> bool:
    """Whether every kind of a parsed chain is weather with a layer form (:data:`weather.LAYERS`)."""
    return bool(chain) and all(name in weather.LAYERS for name, _ in chain)


def draw_layers(chain: list[Call], rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> Apply:
    """A weather chain (see :func:`has_layers`) drawn once for HWC images of ``shape`` at size scale
    ``scale`` (photo short side / 512), as a function that applies it to any such image.

    ``draw_layers(chain, rng, clean.shape, s)(clean)`` is ``degrade(clean, chain, rng)`` under
    ``photo_scale(512 * s)``, the same values; the drawn layers can be applied to other images of
    the shape too (training patches that share one weather draw).

    Raises:
        SpecError: a parameter out of its range (named with its kind).
    """
    layers = []
    for name, params in chain:
        try:
            layers.append(weather.LAYERS[name](rng, shape, scale, **params))
        except ValueError as err:
            raise SpecError(f"{format_call(name, params)}: {err}") from None

    def apply(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        image, mask = clean, None
        for layer in layers:
            image, step_mask = layer(image)
            mask = step_mask if mask is None else np.maximum(mask, step_mask)
        return image, mask

    return apply


__all__ = [
    "DEGRADATIONS", "NOISE_KINDS", "WEATHER_KINDS", "SPARSE_KINDS",
    "Degradation", "degrade", "draw_layers", "get_degradation", "has_layers", "parse_degradation",
]

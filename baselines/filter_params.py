"""The values each filter parameter accepts, checked when a method spec is parsed (before any image
is read): numbers with their range (whole, odd) and named choices."""

from __future__ import annotations

import math

#: The values each filter parameter accepts: filter -> parameter -> (low, high, integer, odd) for numbers,
#: or the allowed strings. A spec outside them is refused when it is parsed, before any image is read.
_NOISE = (0.0, 255.0, False, False)  # a noise level on the 0-255 scale


PARAMETERS: dict[str, dict[str, tuple | frozenset]] = {
    "mean": {"ksize": (1, 99, True, False)},
    "median": {"ksize": (3, 99, True, True)},
    "gaussian": {"sigma": (0.0, 50.0, False, False)},
    "bilateral": {"d": (1, 25, True, False), "sigma_color": (0.0, 1000.0, False, False),
                  "sigma_space": (0.1, 100.0, False, False), "sigma": _NOISE},
    "nlm": {"h": _NOISE, "sigma": _NOISE, "template": (3, 21, True, True), "search": (3, 63, True, True),
            "h_color": _NOISE},
    "wavelet": {"sigma": _NOISE, "method": frozenset({"BayesShrink", "VisuShrink"}), "mode": frozenset({"soft", "hard"}),
                "wavelet_levels": (1, 10, True, False)},
    "bm3d": {"sigma": _NOISE, "profile": frozenset({"np", "refilter", "vn", "high", "vn_old", "deb"})},
}


def check_parameters(name: str, params: dict) -> None:
    """Raise ValueError with the allowed range when a parameter of filter ``name`` is out of it.

    None (a noise level estimated from the image) is accepted where the
    function's default is None.
    """
    for key, value in params.items():
        allowed = PARAMETERS.get(name, {}).get(key)
        if allowed is None or value is None:
            continue
        if isinstance(allowed, frozenset):
            if value not in allowed:
                raise ValueError(f"{name}({key}={value}): {key} must be one of {', '.join(sorted(allowed))}")
            continue
        low, high, integer, odd = allowed
        kind = ("an odd whole number" if odd else "a whole number") if integer else "a number"
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if (not number or not math.isfinite(value) or not low <= value <= high
                or (integer and value != int(value)) or (odd and int(value) % 2 == 0)):
            raise ValueError(f"{name}({key}={value}): {key} must be {kind} from {low:g} to {high:g}")

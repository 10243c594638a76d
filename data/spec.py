"""Parser for the call-chain strings used by data specs and method specs.

A chain is one or more calls joined by ``+``; a call is a name with optional
keyword parameters in brackets::

    >>> parse_calls("gaussian(sigma=25,clip=false)+jpeg(quality=30)")
    [('gaussian', {'sigma': 25, 'clip': False}), ('jpeg', {'quality': 30})]

Values are read as int, float, bool (``true``/``false``), ``none`` or, failing
those, as a plain string. A call's name may itself be a file path
(``runs/gan/checkpoints/best.pt+gaussian(sigma=0.8)``), so ``+`` and ``(`` only
separate at bracket depth zero.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, TypeVar

from agan.errors import InputError

Call = tuple[str, dict[str, Any]]


V = TypeVar("V")


class SpecError(InputError):
    """A spec string that does not parse; the message quotes the spec."""


def parse_value(text: str) -> Any:
    """Read one parameter value: int, float, bool, None or string."""
    text = text.strip()
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` where it is not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SpecError(f"unbalanced ')' in {text!r}")
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise SpecError(f"unbalanced '(' in {text!r}")
    parts.append(text[start:])
    return parts


def parse_call(text: str) -> Call:
    """Parse ``name`` or ``name(k=v,...)`` into ``(name, params)``."""
    text = text.strip()
    if not text:
        raise SpecError("empty name in spec")
    if not text.endswith(")"):
        if "(" in text:
            raise SpecError(f"missing ')' in {text!r}")
        return text, {}
    open_at = text.find("(")
    name, inner = text[:open_at].strip(), text[open_at + 1 : -1]
    if not name:
        raise SpecError(f"missing name before '(' in {text!r}")
    params: dict[str, Any] = {}
    for item in split_top_level(inner, ","):
        if not item.strip():
            continue
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise SpecError(f"parameter {item.strip()!r} in {text!r} is not of the form key=value")
        param = key.strip().replace("-", "_")
        if param in params:
            raise SpecError(f"parameter {param!r} given twice in {text!r}")
        params[param] = parse_value(value)
    return name, params


def parse_calls(text: str) -> list[Call]:
    """Parse a ``+``-joined chain of calls; see the module docstring."""
    if not text or not text.strip():
        raise SpecError("empty spec")
    return [parse_call(part) for part in split_top_level(text, "+")]


def format_call(name: str, params: dict[str, Any]) -> str:
    """Inverse of :func:`parse_call`, for labels and config files."""
    if not params:
        return name
    def fmt(v: Any) -> str:
        return str(v).lower() if isinstance(v, bool) or v is None else f"{v:g}" if isinstance(v, float) else str(v)
    return name + "(" + ",".join(f"{k}={fmt(v)}" for k, v in params.items()) + ")"


class UnknownNameError(SpecError):
    """A name that is not in its table (a method, a model architecture, a degradation, a release).
    The one message for all of them: ``unknown KIND 'NAME'; known: A, B, ...`` and a hint."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = "") -> None:
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(known)}" + (f" ({hint})" if hint else ""))
        self.kind, self.name = kind, name


def lookup(table: Mapping[str, V], name: str, kind: str, hint: str = "") -> V:
    """``table[name]``, or :class:`UnknownNameError` listing the names ``table`` holds.

    >>> try:
    ...     lookup({"a": 1}, "b", "thing")
    ... except UnknownNameError as err:
    ...     print(err)
    unknown thing 'b'; known: a
    """
    try:
        return table[name]
    except KeyError:
        raise UnknownNameError(kind, name, table, hint) from None

"""The errors agan reports to its user as one line (the ``agan`` command exits with status 1).

Any other exception is a bug in agan, not in the user's input: the command lets it
through with its traceback instead of hiding it behind a one-line message.
"""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error's message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class InputError(ValueError):
    """Something the user gave cannot be used (a file, a folder, a spec, a setting); the message names it."""


class StoppedError(RuntimeError):
    """Work stopped for a reason the message gives and the user can act on (a training that diverged,
    a run folder another process trains, pretrained weights that are not on this machine)."""

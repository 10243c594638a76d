"""The errors agan reports to its user as one line (the ``agan`` command exits with status 1).

Any other exception is a bug in agan, not in the user's input: the command lets it
through with its traceback instead of hiding it behind a one-line message.
"""

from __future__ import annotations


class InputError(ValueError):
    """Something the user gave cannot be used (a file, a folder, a spec, a setting); the message names it."""


class StoppedError(RuntimeError):
    """Work stopped for a reason the message gives and the user can act on (a training that diverged,
    a run folder another process trains, pretrained weights that are not on this machine)."""

"""What keeps a training run's work safe: one trainer per run folder, and a clean stop on SIGINT/SIGTERM.

:class:`RunLock` holds an exclusive ``fcntl`` lock on ``RUN/.lock`` while a
run trains, so a second ``agan train`` on the same folder stops at once
(naming the process that holds it) instead of interleaving its checkpoints.
The lock is released by the kernel when the process ends, however it ends.

:class:`StopSignals` turns the first SIGINT (Ctrl-C) or SIGTERM (a cluster's
time limit) into a flag the training loop reads after each step: it then
writes ``last.pt`` and raises :class:`Interrupted`, which the CLI turns into
exit status 130 or 143. A second signal stops at once.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
from pathlib import Path
from types import FrameType

from agan.errors import StoppedError
from agan.training.run_folder import RunFolder


class RunLocked(StoppedError):
    """Another process is training this run folder."""


class Interrupted(RuntimeError):
    """Training stopped on a signal after writing ``last.pt``; ``exit_code`` is 128 + the signal number."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


class RunLock:
    """An exclusive lock on ``RUN/.lock`` for the life of a ``with`` block."""

    def __init__(self, run: str | Path):
        self.path = RunFolder(run).lock
        self._handle = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunLocked(f"{self.path.parent}: already being trained by {holder}; wait for it to end "
                            f"or train into another --out folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.truncate(0)
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class StopSignals:
    """Within a ``with`` block, SIGINT and SIGTERM set :attr:`signum` instead of stopping the process.

    Outside the main thread (where Python cannot install handlers) it does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:  # a second signal: stop now
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.signum = signum

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

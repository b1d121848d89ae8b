"""Ctrl-C during ``trainer fit``: the first one asks the loop to stop at the next step boundary, after a
checkpoint (so that ``--resume`` continues exactly); a second one interrupts at once."""

from __future__ import annotations

import signal
import threading


class StopRequest:
    """First Ctrl-C: finish the current step, checkpoint, stop (so the checkpoint resumes exactly).
    A second Ctrl-C interrupts at once. Single-process runs only: under torchrun the ranks could see
    the signal at different steps, so there the periodic checkpoints are the resume points."""

    def __init__(self, enabled: bool):
        self.requested = False
        self._previous = None
        if enabled and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

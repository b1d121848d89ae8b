"""One writer per output folder: an ``flock``-ed lock file that names its holder.

Two processes writing one folder (two ``dataprep build --out D``, two ``trainer fit --run-dir R``)
would interleave their files and lose work. The kernel drops an flock when its process dies, so the
lock of a killed process is simply taken over; the file stays (removing it would let a third process
lock a new file while the second holds the old).
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".lock"

HELD_LOCKS: set[int] = set()
"""File descriptors of the lock files this process holds (:func:`folder_lock`)."""


class FolderInUse(RuntimeError):
    """Another live process holds the folder's lock; ``holder`` says who (pid, host, start time)."""

    def __init__(self, folder: Path, holder: str):
        super().__init__(f"{folder} is in use ({holder})")
        self.folder, self.holder = folder, holder


@contextmanager
def folder_lock(folder: Path, lock_name: str = LOCK_FILE) -> Iterator[None]:
    """Hold ``folder/lock_name`` for the block (``folder`` must exist); :class:`FolderInUse` when a live
    process holds it, OSError when the lock file cannot be created."""
    fd = os.open(Path(folder) / lock_name, os.O_RDWR | os.O_CREAT, 0o666)
    HELD_LOCKS.add(fd)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "holder unknown"
            raise FolderInUse(Path(folder), holder) from None
        started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, started {started}\n".encode(), 0)
        yield
        os.ftruncate(fd, 0)
    finally:
        HELD_LOCKS.discard(fd)
        os.close(fd)


def drop_held_locks_in_child() -> None:
    """A forked worker must not hold its parent's locks: an flock lasts while any copy of its descriptor
    is open, so a worker outliving a killed parent by a moment would refuse the re-run."""
    for fd in HELD_LOCKS:
        try:
            os.close(fd)
        except OSError:
            pass
    HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=drop_held_locks_in_child)

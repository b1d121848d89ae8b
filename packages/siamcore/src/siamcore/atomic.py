"""Atomic file writes: a file is either complete under its final name or absent.

The one way siamtrack writes files that others read (shards, manifests, ``build.json``, plots,
checkpoints): write under a hidden, unique temp name in the same folder, fsync, rename over the
final name (atomic on POSIX), fsync the folder. A killed writer leaves at most a ``.NAME.tmp-*``
file, never a half-written ``NAME``; an exception inside the block removes the temp file.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

TEMP_MARK = ".tmp-"
_TEMP_NAME = re.compile(r"^\..+" + re.escape(TEMP_MARK) + r"[0-9a-f]{32}$")


def temp_path(path: str | os.PathLike) -> Path:
    """A unique hidden sibling of ``path``: ``.NAME.tmp-<hex>`` (same folder, so the rename is atomic)."""
    path = Path(path)
    return path.with_name(f".{path.name}{TEMP_MARK}{uuid.uuid4().hex}")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one :func:`temp_path` makes: what a writer killed mid-write leaves behind
    (tools that own a folder remove these when they start; see ``trainer.checkpoint``)."""
    return _TEMP_NAME.match(name) is not None


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path to write ``path``'s content to (by any means, e.g. LMDB); when the block
    ends without an exception it is renamed to ``path``. The caller syncs the temp file's data.

    The file gets the mode a plain ``open()`` would give (``0o666 & ~umask``): writers that create
    private temp files (safetensors: 0600) or executable ones (LMDB: 0755) would otherwise leave
    files that colleagues on a shared filesystem cannot read, or that look like programs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        if tmp.is_file():
            os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s content to; flushed, fsynced and renamed into place on success."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path) as f:
        f.write(data)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Pretty, key-sorted JSON, no NaN (stable bytes for stable content)."""
    text = json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def current_umask() -> int:
    """The process umask. Read from ``/proc`` where possible, because setting it to read it back
    (the only portable way) briefly changes the mode of files other threads create meanwhile."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:  # pragma: no cover - no procfs (macOS ...)
        pass
    mask = os.umask(0o022)  # pragma: no cover
    os.umask(mask)  # pragma: no cover
    return mask  # pragma: no cover


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename in ``path`` durable (best effort where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)

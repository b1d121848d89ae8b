"""glibc malloc settings for a shard task's process (see :mod:`dataprep.cluster` for why they matter)."""

from __future__ import annotations

_malloc_set: tuple[int, int] | None = None


def set_malloc(trim_threshold: int, top_pad: int) -> bool:
    """glibc's ``mallopt`` trim threshold and top pad for this process, once; False without glibc.

    Called by each shard task: the ``MALLOC_*_`` environment variables only act when a process
    starts, which a forked worker never does (it inherits the driver's settings), and a remote worker
    did before we met it."""
    global _malloc_set
    if _malloc_set == (trim_threshold, top_pad):
        return True
    import ctypes
    import ctypes.util

    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad = -1, -2  # <malloc.h>
    ok = bool(mallopt(m_trim_threshold, int(trim_threshold)) and mallopt(m_top_pad, int(top_pad)))
    _malloc_set = (trim_threshold, top_pad) if ok else None
    return ok

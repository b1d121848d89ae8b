"""Paths written inside input files (list files, sequence metadata, export manifests) must stay inside
the folder they describe.

A dataset's ``list.txt`` or an export's ``tracker.json`` is data, not a command: a name such as
``../../outside`` or ``/etc/passwd`` in it would make a reader open files that the user never pointed
at. The check is lexical (``..`` parts and absolute paths, after joining), so symlinks that a user made
inside a dataset folder keep working.
"""

from __future__ import annotations

import os
from pathlib import Path


class PathOutsideRootError(ValueError):
    """A path written in an input file leads outside the folder that file belongs to."""


def join_inside(root: Path, written: str, source: Path | str, key: str) -> Path:
    """``root / written``, or :class:`PathOutsideRootError` naming ``source`` (the file the path was read
    from) and ``key`` (where in it) when ``written`` is absolute, empty or climbs out of ``root``."""
    if not isinstance(written, str) or not written.strip():
        raise PathOutsideRootError(f"{source}: {key} must be a non-empty relative path, got {written!r}")
    if os.path.isabs(written):
        raise PathOutsideRootError(f"{source}: {key} = {written!r} is an absolute path; paths in this file "
                                   f"must be relative to {root}")
    base = os.path.normpath(os.path.abspath(root))
    joined = os.path.normpath(os.path.join(base, written))
    if joined != base and not joined.startswith(base + os.sep):
        raise PathOutsideRootError(f"{source}: {key} = {written!r} leads outside {root}; paths in this file "
                                   f"must stay inside it")
    return Path(root) / written

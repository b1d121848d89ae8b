"""The reader contract for the sequence-folder datasets (OTB, VOT, DAVIS, TLP), on top of the shared
readers in :mod:`siamcore.datasets` (the ones ``tracker eval`` uses): this module only adapts.

- A listing unit is one target sequence of the reader (``VideoRef.name`` is its name, e.g. ``Couple``,
  ``Jogging.1``, ``bike-packing.2``; ``split`` is ``"all"``, or the split for GOT-10k / LaSOT: see
  :func:`list_split_videos`; ``chunk`` -1); one :class:`Sequence` (track ``"0"``) per unit, its frames the reader's frame files in order: a frame index in the shards
  is a position in that list (``img/0001.jpg`` is index 0; OTB's David starts at ``0300.jpg``).
- ``sequences`` / ``exclude_sequences`` (the build config's keys) select names at listing time,
  matched as :func:`siamcore.datasets.select_sequences` does (case-insensitive; a folder name selects
  every target in it); an unknown name is a :class:`SourceError` listing what exists.
- Boxes: the reader's NaN rows stay NaN (absent target, missing/unreadable annotation). Rows that are
  NaN without the reader flagging the target absent are recorded as ``missing_annotation``; then
  :func:`invalidate_boxes` with the frame size from the first frame's JPEG header (as TrackingNet).
  A sequence with fewer than two usable frames is skipped (``empty_sequence`` / ``too_few_frames``):
  the pair sampler only ever uses frames with a finite box, so absent frames are never used.
- A folder the reader cannot read becomes an ``unreadable_sequence`` skip, never an exception.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from siamcore import datasets as ds

from dataprep.sources.base import (
    FrameRef,
    Sequence,
    Skip,
    SourceError,
    VideoRef,
    format_indices,
    invalidate_boxes,
)
from dataprep.sources.frames import frame_wh_from_header
from dataprep.sources.spec import FOLDER, DatasetSpec

SPLIT = "all"

ListRefs = Callable[[Path], list[ds.SequenceRef]]
LoadFolder = Callable[[Path, ds.SequenceRef], list[ds.Sequence]]
"""``(root, ref) -> every sequence of ref.folder`` (the reader's own per-folder loader)."""


def list_videos(
    name: str, title: str, list_refs: ListRefs, root: str | os.PathLike, chunks=None, splits=None,
    sequences: list[str] | None = None, exclude_sequences: list[str] | None = None,
) -> tuple[list[VideoRef], list[Skip]]:
    """One VideoRef per selected sequence under ``root``, sorted by name. SourceError (before any work)
    for a missing/unusable root, for ``chunks`` / ``splits`` (these datasets have none) and for
    names in ``sequences`` / ``exclude_sequences`` that match nothing."""
    if chunks is not None or splits is not None:
        raise SourceError(f"{title} has no {'chunks' if chunks is not None else 'splits'}: select sequences "
                          f"with --sequences a,b (or leave some out with --exclude-sequences)")
    root = Path(root).absolute()  # workers may run elsewhere (cwd)
    if not root.is_dir():
        raise SourceError(f"{title} root not found: looked in {root}. Set it with --root DIR (or the config's "
                          f"'root' key).")
    try:
        refs = list_refs(root)
        if sequences:
            refs = ds.select_sequences(refs, sequences, str(root))
        if exclude_sequences:
            refs = ds.exclude_sequences(refs, exclude_sequences, str(root))
    except ValueError as exc:
        raise SourceError(f"{title}: {exc}") from None
    names = sorted({r.name for r in refs})
    return [VideoRef(name, -1, SPLIT, n, str(root)) for n in names], []


@functools.lru_cache(maxsize=8)
def _listing(list_refs: ListRefs, root: str, root_mtime_ns: int) -> dict[str, ds.SequenceRef]:
    """The listing of ``root`` by sequence name, once per worker process (DAVIS's reads masks)."""
    return {r.name: r for r in list_refs(Path(root))}


def load_video(list_refs: ListRefs, load_folder: LoadFolder, video: VideoRef) -> tuple[list[Sequence], list[Skip]]:
    """The one sequence of a listing unit, or skips saying why there is none; never raises for bad input."""
    uid = video.uid
    try:
        ref = _listing(list_refs, video.root, os.stat(video.root).st_mtime_ns).get(video.name)
        if ref is None:
            return [], [Skip(uid, "unreadable_sequence", f"no sequence {video.name!r} under {video.root} any more")]
        found = [s for s in load_folder(Path(video.root), ref) if s.name == ref.name]
        if not found:
            raise ValueError(f"{ref.folder}: no sequence {ref.name!r} in it")
    except (OSError, ValueError) as exc:
        return [], [Skip(uid, "unreadable_sequence", str(exc))]
    return adapt_sequence(video, found[0])


def adapt_sequence(video: VideoRef, seq: ds.Sequence) -> tuple[list[Sequence], list[Skip]]:
    """A reader sequence as dataprep's :class:`Sequence` (see the module doc for the box rules)."""
    uid = video.uid
    n = len(seq.frames)
    frames = tuple(FrameRef(str(p)) for p in seq.frames)
    if seq.gt_xywh is None:
        boxes = np.full((n, 4), np.nan)
    else:
        boxes = np.array(seq.gt_xywh, dtype=np.float64).reshape(n, 4)
    absent = np.zeros(n, bool) if seq.absent is None else np.asarray(seq.absent, bool)
    skips = []
    unexplained = np.flatnonzero(np.all(np.isnan(boxes), axis=1) & ~absent)
    if len(unexplained):
        skips.append(Skip(uid, "missing_annotation", f"{len(unexplained)} frame(s) without a box in the "
                                                      f"annotation: {format_indices(unexplained)}"))
    wh = frame_wh_from_header(frames[0]) if frames else None
    skips += invalidate_boxes(boxes, [wh] * n, uid)
    usable = int(np.all(np.isfinite(boxes), axis=1).sum())
    if usable < 2:
        reason, what = ("empty_sequence", "no frame") if usable == 0 else ("too_few_frames", "1 frame")
        skips.append(Skip(uid, reason, f"{what} with a usable box ({int(absent.sum())} absent); a pair needs two"))
        return [], skips
    boxes.setflags(write=False)
    return [Sequence(video, "0", seq.class_name, frames, boxes)], skips


def list_split_videos(
    name: str, title: str, list_split: Callable[[Path, str | None], list[ds.SequenceRef]],
    split_of: Callable[[ds.SequenceRef], str], root: str | os.PathLike, chunks=None, splits=None,
    sequences: list[str] | None = None, exclude_sequences: list[str] | None = None,
) -> tuple[list[VideoRef], list[Skip]]:
    """:func:`list_videos` for the sequence-folder datasets that also have splits (GOT-10k, LaSOT):
    the sequences of each of ``splits`` (``list_split(root, None)``: all, when None), then names
    select as usual. ``VideoRef.split`` is the split a sequence was listed under (``split_of(ref)``
    when no split was asked for), so uids read ``got10k/train/GOT-10k_Train_000001``."""
    if chunks is not None:
        raise SourceError(f"{title} has no chunks: choose a split with --split and names with --sequences a,b")
    split_by_name: dict[str, str] = {}

    def list_refs(path: Path) -> list[ds.SequenceRef]:
        refs = []
        for split in splits or [None]:
            for ref in list_split(path, split):
                split_by_name.setdefault(ref.name, split or split_of(ref))
                refs.append(ref)
        return refs

    videos, skips = list_videos(name, title, list_refs, root, None, None, sequences, exclude_sequences)
    return [dataclasses.replace(v, split=split_by_name[v.name]) for v in videos], skips


def canonical_selection(cfg, videos):
    """Sequence names written canonically (sorted, :func:`~siamcore.datasets.normalise_name`d), so
    spellings that select the same sequences hash alike."""
    def canonical(names: list[str] | None) -> list[str] | None:
        return sorted({ds.normalise_name(n) for n in names}) if names else None

    return cfg.replace(sequences=canonical(cfg.sequences), exclude_sequences=canonical(cfg.exclude_sequences))


def folder_spec(**fields) -> DatasetSpec:
    """The :class:`DatasetSpec` of a sequence-folder dataset: names select, written canonically."""
    return DatasetSpec(kind=FOLDER, resolve_selection=canonical_selection, **fields)

"""A tracking sequence (ordered frame files plus ground truth), the cheap listing entry of one, and
name matching shared by every reader.

Boxes are ``xywh`` in this project's convention: continuous pixel coordinates with the origin at the
top-left corner of the top-left pixel (pixel ``i`` covers ``[i, i+1)``).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Sequence as SequenceOf
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeVar

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def normalise_name(name: str) -> str:
    """Key for matching sequence names: case-insensitive, ``.``/``-``/``_`` before a target number alike."""
    return re.sub(r"[.\-_](\d+)$", r".\1", name.strip()).lower()


@dataclass(frozen=True)
class ZipFrame:
    """A frame stored as ``member`` of the zip file ``path`` (TrackingNet's ``zips/<seq>.zip``): what
    ``Sequence.frames`` holds for such frames instead of a file path."""

    path: Path
    member: str

    @property
    def name(self) -> str:
        return self.member.rsplit("/", 1)[-1]


Frame = Path | ZipFrame


class Layout(NamedTuple):
    """A reader's entry in :data:`siamcore.datasets.LOADERS`: a reader module declares
    ``LAYOUT = Layout("otb", load_otb)`` and is found there by that declaration alone."""

    name: str
    load: Callable[..., list]
    """``load(root, names=None) -> [Sequence]``."""


def read_image_rgb(path: Frame) -> np.ndarray:
    """Decode an image file (or a :class:`ZipFrame`) to an RGB uint8 ``H x W x 3`` array (clear error
    when unreadable). OpenCV is imported here, not with the module: listing sequences (and the CLIs'
    ``--help``, which list the dataset names) never needs it."""
    import cv2

    if isinstance(path, ZipFrame):
        try:
            with zipfile.ZipFile(path.path) as zf:
                buf = np.frombuffer(zf.read(path.member), dtype=np.uint8)
        except (OSError, KeyError, zipfile.BadZipFile) as e:
            raise ValueError(f"cannot read {path.member!r} from zip {path.path}: {e}") from None
        frame = cv2.imdecode(buf, cv2.IMREAD_COLOR_RGB) if buf.size else None
        if frame is None:
            raise ValueError(f"cannot decode image {path.path}:{path.member} (empty or not an image)")
        return frame
    buf = np.fromfile(str(path), dtype=np.uint8)
    frame = cv2.imdecode(buf, cv2.IMREAD_COLOR_RGB) if buf.size else None
    if frame is None:
        raise ValueError(f"cannot decode image {path} (missing, empty or not an image)")
    return frame


def list_images(folder: Path) -> list[Path]:
    """Image files of a folder in name order (the datasets' names are zero-padded numbers)."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def numbered_files(names, pattern: str) -> dict[int, str]:
    """``{number: name}`` for names whose base name fully matches ``pattern`` (one group: the
    number); the smallest name wins on duplicates, so the result does not depend on listing order."""
    rx = re.compile(pattern, re.IGNORECASE)
    out: dict[int, str] = {}
    for name in sorted(names):
        m = rx.fullmatch(name.rsplit("/", 1)[-1])
        if m:
            out.setdefault(int(m.group(1)), name)
    return out


def frame_number(path: Path) -> int | None:
    """The number at the end of a frame file's stem (``0042.jpg`` -> 42), or None."""
    m = re.search(r"(\d+)$", Path(path).stem)
    return int(m.group(1)) if m else None


@dataclass
class Sequence:
    """One target in one video.

    ``gt_xywh`` is ``[len(frames), 4]`` in this project's convention or None when unknown. A NaN row
    means "no usable box in this frame" (absent target, missing or malformed annotation); OTB rows are
    kept as the files have them (its invalid rows are left to the metrics). ``absent`` is a per-frame
    bool array where the dataset says when the target is out of view (TLP's flag, DAVIS's empty
    mask, VOT's NaN rows), else None. ``frame_tags`` holds per-frame bool flags the dataset ships
    (VOT's ``*.tag`` files, LaSOT's flag files; GOT-10k's ``cover`` is a uint8 level 0..8 and MOT17's
    ``visibility`` a float 0..1 instead);
    ``attributes`` are sequence-level (OTB ``attrs.txt``, VOT tags that are
    set in some frame). ``class_name`` is "" when the dataset does not say.
    """

    name: str
    frames: list[Frame]  # image files, or ZipFrame members of a zip
    gt_xywh: np.ndarray | None = None
    attributes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # other normalised names (see normalise_name)
    absent: np.ndarray | None = None
    class_name: str = ""
    frame_tags: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, index: int) -> np.ndarray:
        return read_image_rgb(self.frames[index])

    def __iter__(self):
        for path in self.frames:
            yield read_image_rgb(path)

    def match_keys(self) -> list[str]:
        """Normalised names under which result files and ``--sequences`` find this sequence."""
        return list(dict.fromkeys([normalise_name(self.name), *self.aliases]))

    @property
    def init_box_xywh(self) -> np.ndarray | None:
        return None if self.gt_xywh is None else np.asarray(self.gt_xywh[0], dtype=np.float64)


@dataclass(frozen=True)
class SequenceRef:
    """A sequence found under a root before its annotations are read (what ``list_*`` returns).

    ``folder`` holds the sequence's files (its video); ``target`` says which target of a folder
    holding several (OTB's ``groundtruth_rect.<n>.txt``, a DAVIS object id), else None.
    """

    name: str
    folder: Path
    target: int | None = None
    aliases: tuple[str, ...] = ()

    @property
    def video(self) -> str:
        return self.folder.name

    def match_keys(self) -> list[str]:
        return list(dict.fromkeys([normalise_name(self.name), *self.aliases]))


T = TypeVar("T", bound=SequenceRef)


def _matches(refs: SequenceOf[T], name: str) -> list[T]:
    """Refs named ``name``: by name or alias, else every target of the video folder of that name."""
    key = normalise_name(name)
    exact = [r for r in refs if key in r.match_keys()]
    return exact[:1] or [r for r in refs if normalise_name(r.video) == key]


def _unknown_error(missing: list[str], refs: SequenceOf[T], where: str) -> ValueError:
    found = ", ".join(r.name for r in refs) or "none"
    return ValueError(f"sequences not found under {where}: {', '.join(missing)}; found: {found}")


def select_sequences(refs: SequenceOf[T], names: Iterable[str], where: str) -> list[T]:
    """The refs named by ``names``, in the order of ``names``, each once.

    A name matches a sequence's name or alias case-insensitively (:func:`normalise_name`: ``Jogging-1``,
    ``jogging_1`` and ``Jogging.1`` alike), or else the name of its video folder, which selects every
    target in it (``Jogging`` -> ``Jogging.1``, ``Jogging.2``). ValueError listing what exists when a
    name matches nothing.
    """
    names = [n for n in names if n.strip()]
    matched = {n: _matches(refs, n) for n in names}
    missing = [n for n, m in matched.items() if not m]
    if missing:
        raise _unknown_error(missing, refs, where)
    picked = [r for n in names for r in matched[n]]
    return list({id(r): r for r in picked}.values())


def exclude_sequences(refs: SequenceOf[T], names: Iterable[str], where: str) -> list[T]:
    """``refs`` without those named by ``names`` (matched as in :func:`select_sequences`), order kept.
    ValueError listing what exists when a name matches nothing (a typo must not let an evaluation
    sequence into training data)."""
    names = [n for n in names if n.strip()]
    matched = {n: _matches(refs, n) for n in names}
    missing = [n for n, m in matched.items() if not m]
    if missing:
        raise _unknown_error(missing, refs, where)
    dropped = {id(r) for m in matched.values() for r in m}
    return [r for r in refs if id(r) not in dropped]


def load_selected(
    refs: list[SequenceRef], names: Iterable[str] | None, where: str,
    load_folder: Callable[[SequenceRef], list[Sequence]],
) -> list[Sequence]:
    """Load the refs named by ``names`` (all when None), reading each folder once.

    ``load_folder(ref)`` returns every sequence of ``ref.folder``; the one named ``ref.name`` is kept.
    """
    picked = select_sequences(refs, names, where) if names else list(refs)
    loaded: dict[Path, dict[str, Sequence]] = {}
    out = []
    for ref in picked:
        if ref.folder not in loaded:
            loaded[ref.folder] = {s.name: s for s in load_folder(ref)}
        try:
            out.append(loaded[ref.folder][ref.name])
        except KeyError:
            raise ValueError(f"{ref.folder}: no sequence {ref.name!r} in it (changed since it was listed?)") from None
    return out


def nan_rows(n: int) -> np.ndarray:
    return np.full((n, 4), np.nan)


def read_xywh_rows(path: Path) -> np.ndarray:
    """``[N, 4]`` rows of a ground-truth file (commas; spaces/tabs tolerated) as they are written; a row
    that is not 4 numbers becomes a NaN row in place; trailing blank lines are dropped (GOT-10k, LaSOT)."""
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    gt = nan_rows(len(lines))
    for i, line in enumerate(lines):
        parts = [p for p in re.split(r"[,\s]+", line.strip()) if p]
        if len(parts) == 4:
            try:
                gt[i] = [float(p) for p in parts]
            except ValueError:
                pass
    return gt

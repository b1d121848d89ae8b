"""MOT17 (Milan et al., "MOT16: A Benchmark for Multi-Object Tracking", arXiv:1603.00831; motchallenge.net)
as single-target pedestrian sequences, in the MOTChallenge layout: ``ROOT/train/MOT17-02-FRCNN/`` holding
``img1/%06d.jpg``, ``seqinfo.ini`` and ``gt/gt.txt`` (``ROOT/test/`` has no ground truth and is not read).
``ROOT`` may be the download folder (its ``train/`` is read), a folder of video folders, or one video
folder (``../shared/data/mot17-mini/train`` holds 7 videos cut to their first 4-8 frames).

- **Variants.** A MOT17 download has each video three times (``-DPM``, ``-FRCNN``, ``-SDP``), with the
  same images and ground truth; only the public detections differ, and they are not read. One folder
  per video is used, so that no target is listed three times: the ``-FRCNN`` one, else the first of the
  video's folders by name. The video's name is the folder name without that suffix (``MOT17-02``);
  folders without one (MOT16, MOT20) keep their name.
- **Targets.** One sequence per track id that has pedestrian rows (class 1), named ``<video>.<id>``
  (``MOT17-02.1``), over every frame of the video (frame ``i`` is image number ``i + 1``). A video
  name selects all its tracks (:class:`Mot17Ref` ``video``). ``class_name`` is ``"pedestrian"``.
- **Rows.** ``gt.txt`` rows are ``frame,id,x,y,w,h,consider,class,visibility``. A row gives a box only
  when ``consider`` is 1, its class is 1 and its visibility (the visible fraction, 0..1) is at least
  ``min_visibility`` (default :data:`MIN_VISIBILITY`). Every other frame is a NaN row flagged in
  ``Sequence.absent``: the id is not in it (not yet entered, gone, or not annotated there), or the
  dataset marks it ignored or mostly hidden. ``frame_tags`` keeps ``visibility`` (float, NaN where the
  id has no row) and ``ignored`` (consider 0 or another class). The first row of a (frame, id) wins.
  A malformed row (not 9 numbers, a frame or id that is not an integer, a non-finite value) is not
  used; :func:`scan_mot17` reports it by line number.
- **Frames.** ``seqinfo.ini`` (``[Sequence]``: ``seqLength``, ``imDir``, ``imExt``, ``imWidth``,
  ``imHeight``) gives the frame count and size; frames are the images ``imDir/<n>imExt`` with
  ``1 <= n <= seqLength`` that exist, matched to rows by ``n`` (a missing image is left out, nothing
  shifts; the mini keeps only the first frames of ``seqLength``). Without ``seqinfo.ini`` every
  numbered image of ``img1/`` is a frame. A ``seqinfo.ini`` that cannot be read is a ValueError.
- **Coordinates.** ``x, y`` are 1-based pixel indices, as OTB's: 1 is subtracted (as Tracktor's MOT17
  reader does, phil-bergmann/tracking_wo_bnw ``mot_sequence.py``: "Make pixel indexes 0-based"). Boxes
  partly outside the image (pedestrians entering or leaving) are kept as written.

Tracks start and end inside the video with NaN rows around them, so MOT17 is training data here, not
a one-pass benchmark (OPE initialises from frame 0).
"""

from __future__ import annotations

import configparser
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .sequence import Layout, Sequence, SequenceRef, load_selected, nan_rows, numbered_files

GT_FILE = Path("gt", "gt.txt")
SEQINFO_FILE = "seqinfo.ini"
MIN_VISIBILITY = 0.5
"""Default ``min_visibility``: a row is used when at least half of the pedestrian is visible. Below that,
most of the box is the occluder (often another pedestrian), and an exemplar cut from it teaches the
network to follow the occluder."""
PEDESTRIAN = 1
PREFERRED_VARIANT = "FRCNN"
_VARIANT = re.compile(r"(.+)-(DPM|FRCNN|SDP)", re.IGNORECASE)


@dataclass(frozen=True)
class Mot17Ref(SequenceRef):
    """A track of a MOT17 video; ``video`` is the video name without the detector suffix (``MOT17-02``,
    not the folder name ``MOT17-02-FRCNN``), so that it selects all the video's tracks."""

    video_name: str = ""

    @property
    def video(self) -> str:
        return self.video_name or self.folder.name


@dataclass(frozen=True)
class Mot17Problem:
    """A problem of a whole video found while listing: ``reason`` is a dataprep skip code
    (``missing_annotation``, ``malformed_annotation``, ``unreadable_sequence``, ``empty_sequence``)."""

    video: str
    reason: str
    detail: str


@dataclass(frozen=True)
class SeqInfo:
    """What ``seqinfo.ini`` says (None: not given)."""

    length: int | None = None
    frame_wh: tuple[int, int] | None = None
    im_dir: str = "img1"
    im_ext: str = ".jpg"


def video_name(folder_name: str) -> str:
    """``MOT17-02-FRCNN`` -> ``MOT17-02``; a name without a detector suffix is returned as it is."""
    m = _VARIANT.fullmatch(folder_name)
    return m.group(1) if m else folder_name


def is_mot_sequence(folder: Path) -> bool:
    return (Path(folder) / SEQINFO_FILE).is_file() or (Path(folder) / "img1").is_dir()


def read_seqinfo(folder: Path) -> SeqInfo:
    """The ``[Sequence]`` of ``folder/seqinfo.ini`` (all defaults when the file does not exist);
    ValueError naming the file and key when it cannot be read."""
    path = Path(folder) / SEQINFO_FILE
    if not path.is_file():
        return SeqInfo()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"))
    except configparser.Error as exc:
        raise ValueError(f"{path}: not an ini file ({' '.join(str(exc).split())})") from None
    if not parser.has_section("Sequence"):
        raise ValueError(f"{path}: no [Sequence] section")
    section = parser["Sequence"]

    def positive(key: str) -> int | None:
        if key not in section:
            return None
        try:
            value = int(section[key])
        except ValueError:
            value = 0
        if value < 1:
            raise ValueError(f"{path}: {key} must be a positive integer, got {section[key]!r}")
        return value

    im_dir = section.get("imDir", "img1").strip()
    if not im_dir or Path(im_dir).name != im_dir or im_dir in (".", ".."):
        raise ValueError(f"{path}: imDir must name a folder beside it, got {im_dir!r}")
    width, height = positive("imWidth"), positive("imHeight")
    ext = section.get("imExt", ".jpg").strip() or ".jpg"
    return SeqInfo(positive("seqLength"), (width, height) if width and height else None, im_dir,
                   ext if ext.startswith(".") else f".{ext}")


def read_mot17_groundtruth(path: Path) -> tuple[np.ndarray, list[int]]:
    """``(rows [N, 9] float64 as written, 1-based line numbers of malformed rows)`` of a ``gt.txt``
    (columns ``frame,id,x,y,w,h,consider,class,visibility``, 1-based ``x, y``; commas, spaces or tabs).
    Blank lines are neither rows nor malformed."""
    rows, malformed = [], []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        parts = [p for p in re.split(r"[,\s]+", line.strip()) if p]
        if not parts:
            continue
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if (len(values) != 9 or not all(math.isfinite(v) for v in values) or values[0] < 1
                or not all(values[k].is_integer() for k in (0, 1, 6, 7))):
            malformed.append(number)
            continue
        rows.append(values)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 9), malformed


def pedestrian_ids(rows: np.ndarray) -> list[int]:
    """Track ids with at least one class-1 row, ascending."""
    return [int(i) for i in np.unique(rows[rows[:, 7] == PEDESTRIAN, 1])]


def _frames(folder: Path, info: SeqInfo) -> tuple[np.ndarray, list[Path]]:
    """(image numbers, image files) of a video, by number (see the module doc)."""
    image_dir = folder / info.im_dir
    if not image_dir.is_dir():
        raise ValueError(f"{folder}: no image folder {info.im_dir}/")
    found = numbered_files(os.listdir(image_dir), r"(\d+)" + re.escape(info.im_ext))
    numbers = sorted(n for n in found if n >= 1 and (info.length is None or n <= info.length))
    if not numbers:
        raise ValueError(f"{image_dir}: no images numbered 1..{info.length or 'N'} with extension {info.im_ext}")
    return np.asarray(numbers), [image_dir / found[n] for n in numbers]


def _track(name: str, frames: list[Path], numbers: np.ndarray, rows: np.ndarray, min_visibility: float) -> Sequence:
    """The sequence of one id's rows (in file order) over the video's frames."""
    n = len(frames)
    index = np.full(int(numbers[-1]) + 1, -1)
    index[numbers] = np.arange(n)
    number = rows[:, 0].astype(np.int64)
    pos = np.where(number < len(index), index[np.minimum(number, len(index) - 1)], -1)
    _, first = np.unique(pos, return_index=True)  # the first row of each frame
    first = first[pos[first] >= 0]
    pos, rows = pos[first], rows[first]
    visibility, ignored = np.full(n, np.nan, np.float32), np.zeros(n, bool)
    visibility[pos] = rows[:, 8]
    ignored[pos] = (rows[:, 6] == 0) | (rows[:, 7] != PEDESTRIAN)
    used = ~ignored[pos] & (rows[:, 8] >= min_visibility)
    gt = nan_rows(n)
    gt[pos[used]] = rows[used, 2:6] - [1.0, 1.0, 0.0, 0.0]
    return Sequence(name=name, frames=frames, gt_xywh=gt, absent=np.isnan(gt[:, 0]), class_name="pedestrian",
                    frame_tags={"visibility": visibility, "ignored": ignored})


def load_mot17_video(folder: Path, min_visibility: float = MIN_VISIBILITY) -> list[Sequence]:
    """Every pedestrian track of one video folder, by id (see the module doc). ValueError when it has no
    ``gt/gt.txt``, no images or an unreadable ``seqinfo.ini``."""
    folder = Path(folder)
    if not 0.0 <= min_visibility <= 1.0:
        raise ValueError(f"min_visibility must be in [0, 1], got {min_visibility!r}")
    if not (folder / GT_FILE).is_file():
        raise ValueError(f"{folder}: no {GT_FILE.as_posix()} (MOTChallenge test videos have no ground truth)")
    numbers, frames = _frames(folder, read_seqinfo(folder))
    rows, _ = read_mot17_groundtruth(folder / GT_FILE)
    video = video_name(folder.name)
    return [_track(f"{video}.{i}", frames, numbers, rows[rows[:, 1] == i], min_visibility)
            for i in pedestrian_ids(rows)]


def video_folders(root: Path) -> dict[str, Path]:
    """``{video name: the folder read}`` under ``root`` (one variant per video, see the module doc),
    sorted by video name."""
    root = Path(root)
    if is_mot_sequence(root):
        candidates = [root]
    else:
        base = root / "train" if (root / "train").is_dir() else root
        candidates = sorted(p for p in base.iterdir() if p.is_dir() and is_mot_sequence(p)) if base.is_dir() else []
    by_video: dict[str, list[Path]] = {}
    for folder in candidates:
        by_video.setdefault(video_name(folder.name), []).append(folder)
    return {video: next((f for f in folders if f.name.upper().endswith(f"-{PREFERRED_VARIANT}")), folders[0])
            for video, folders in sorted(by_video.items())}


def _lines(numbers: list[int], most: int = 10) -> str:
    text = ", ".join(str(n) for n in numbers[:most])
    return text + (f" and {len(numbers) - most} more" if len(numbers) > most else "")


def scan_mot17(root: Path) -> tuple[list[Mot17Ref], list[Mot17Problem]]:
    """``(refs, problems)``: the pedestrian tracks under ``root`` sorted by video then id (reads every
    chosen video's ``gt.txt``, nothing else), and what made a video give fewer tracks than it should
    (no ``gt.txt``, unreadable, malformed rows). ValueError when there is no video or no track at all."""
    root = Path(root)
    folders = video_folders(root)
    if not folders:
        raise ValueError(f"{root}: not a MOT17 root (expected train/<video>/ or <video>/ folders holding img1/, "
                         f"seqinfo.ini and gt/gt.txt, e.g. train/MOT17-02-FRCNN)")
    refs, problems = [], []
    for video, folder in folders.items():
        gt = folder / GT_FILE
        if not gt.is_file():
            problems.append(Mot17Problem(video, "missing_annotation", f"{folder}: no {GT_FILE.as_posix()} "
                                         "(MOTChallenge test videos have no ground truth): no targets"))
            continue
        try:
            rows, malformed = read_mot17_groundtruth(gt)
        except OSError as exc:
            problems.append(Mot17Problem(video, "unreadable_sequence", f"cannot read {gt}: {exc.strerror or exc}"))
            continue
        if malformed:
            problems.append(Mot17Problem(
                video, "malformed_annotation", f"{gt}: {len(malformed)} malformed row(s) not used, line(s) "
                f"{_lines(malformed)} (expected 9 numbers: frame,id,x,y,w,h,consider,class,visibility)"))
        ids = pedestrian_ids(rows)
        if not ids:
            problems.append(Mot17Problem(video, "empty_sequence", f"{gt}: no pedestrian (class 1) row"))
        refs += [Mot17Ref(f"{video}.{i}", folder, i, video_name=video) for i in ids]
    if not refs:
        raise ValueError(f"{root}: no pedestrian track in any MOT17 video: "
                         + "; ".join(p.detail for p in problems[:3]) + ("; ..." if len(problems) > 3 else ""))
    return refs, problems


def list_mot17(root: Path) -> list[Mot17Ref]:
    """The pedestrian tracks under ``root`` (see :func:`scan_mot17`)."""
    return scan_mot17(root)[0]


def load_mot17(root: Path, names: list[str] | None = None, min_visibility: float = MIN_VISIBILITY) -> list[Sequence]:
    """MOT17 pedestrian tracks under ``root`` (see :func:`list_mot17`); ``names`` selects some, in that
    order (a video name such as ``MOT17-02`` selects all its tracks)."""
    return load_selected(list_mot17(root), names, str(root), lambda ref: load_mot17_video(ref.folder, min_visibility))


LAYOUT = Layout("mot17", load_mot17)
"""This reader's entry in :data:`siamcore.datasets.LOADERS`."""

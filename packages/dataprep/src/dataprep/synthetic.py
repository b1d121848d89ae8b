"""Small datasets in the real TrackingNet, ILSVRC VID and TLP layouts, for tests, demos and benchmarks.

Frames are either generated (textured ellipses/rectangles moving and scaling smoothly over a
textured, slowly panning background, saved as real JPEGs) or taken from a real annotated
sequence (OTB folder with ``img/`` + ``groundtruth_rect.txt``, or VOT folder with ``*.jpg`` +
``groundtruth.txt``). Everything is a deterministic function of ``seed`` and stable ids: the same
call writes identical bytes. Writers return the ground truth they wrote, so tests can compare.

Broken inputs for the bad-input tests come from :func:`write_trackingnet_bad` and
:func:`write_vid_bad`, which add one broken sequence per case and say what each should produce.

Files are written in place (not atomically): build a dataset into a fresh folder.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from siamcore.datasets import is_otb_sequence, is_vot_sequence, load_otb_folder, load_vot_sequence

from dataprep.pairs import stable_int
from dataprep.records import encode_jpeg_rgb
from dataprep.sources.vid import WNID_TO_CLASS

JPEG_QUALITY = 90
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _rng(seed: int, uid: str) -> np.random.Generator:
    return np.random.default_rng([seed, stable_int(uid, bits=63)])


def encode_jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    return encode_jpeg_rgb(rgb, quality)


# --- generated scenes ---------------------------------------------------------------------------


def _texture(rng: np.random.Generator, side: int = 64) -> np.ndarray:
    """Two-colour stripes at a random angle and frequency, plus noise: an object with edges to track."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    angle, freq = rng.uniform(0, math.pi), rng.uniform(0.15, 0.6)
    stripes = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * freq) > 0
    c1, c2 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    tex = np.where(stripes[..., None], c1, c2) + rng.normal(0, 12, (side, side, 3))
    return np.clip(tex, 0, 255).astype(np.uint8)


def _canvas(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A textured background: smooth colour blobs, fine grain and a few flat rectangles."""
    low = rng.integers(0, 256, (h // 48 + 2, w // 48 + 2, 3), dtype=np.uint8)
    canvas = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    canvas += rng.integers(-18, 19, (h, w, 1), dtype=np.int16)
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(w // 20, w // 5)), y0 + int(rng.integers(h // 20, h // 5))
        cv2.rectangle(canvas, (x0, y0), (x1, y1), tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
    return canvas


@dataclass
class _Mover:
    """A textured shape on a smooth (sinusoidal) path with smooth scale changes."""

    shape: str
    texture: np.ndarray
    centre_frac: np.ndarray  # (2,) fraction of the frame
    amp_frac: np.ndarray  # (2,)
    freq: np.ndarray  # (3,) cycles per sequence for x, y, scale
    phase: np.ndarray  # (3,)
    size0_px: tuple[float, float]

    @classmethod
    def random(cls, rng: np.random.Generator, frame_wh: tuple[int, int]) -> _Mover:
        w, h = frame_wh
        w0 = rng.uniform(0.1, 0.22) * w
        h0 = min(w0 * rng.uniform(0.5, 2.0), 0.45 * h)
        return cls(
            shape=str(rng.choice(["ellipse", "rect"])),
            texture=_texture(rng),
            centre_frac=rng.uniform(0.3, 0.7, 2),
            amp_frac=rng.uniform(0.05, 0.25, 2),
            freq=rng.uniform(0.3, 1.2, 3),
            phase=rng.uniform(0, 2 * math.pi, 3),
            size0_px=(w0, h0),
        )

    def box_xywh(self, t: float, frame_wh: tuple[int, int]) -> tuple[int, int, int, int]:
        """Integer pixel box at time ``t`` in [0, 1), kept inside the frame."""
        fw, fh = frame_wh
        ang = 2 * math.pi * self.freq * t + self.phase
        s = 1.0 + 0.25 * math.sin(ang[2])
        w = int(np.clip(round(self.size0_px[0] * s), 4, fw - 1))
        h = int(np.clip(round(self.size0_px[1] * s), 4, fh - 1))
        cx = fw * (self.centre_frac[0] + self.amp_frac[0] * math.sin(ang[0]))
        cy = fh * (self.centre_frac[1] + self.amp_frac[1] * math.sin(ang[1]))
        x = int(np.clip(round(cx - w / 2), 0, fw - w))
        y = int(np.clip(round(cy - h / 2), 0, fh - h))
        return x, y, w, h

    def paint(self, frame: np.ndarray, box: tuple[int, int, int, int]) -> None:
        x, y, w, h = box
        patch = cv2.resize(self.texture, (w, h), interpolation=cv2.INTER_LINEAR)
        roi = frame[y : y + h, x : x + w]
        if self.shape == "rect":
            roi[:] = patch
        else:
            mask = np.zeros((h, w), np.uint8)
            cv2.ellipse(mask, ((w / 2 - 0.5, h / 2 - 0.5), (float(w), float(h)), 0.0), 1, -1)
            np.copyto(roi, patch, where=mask[..., None].astype(bool))


class _Scene:
    """Background with a slow camera pan; ``frame(i)`` returns a fresh RGB array to paint on."""

    def __init__(self, rng: np.random.Generator, frame_wh: tuple[int, int], n_frames: int):
        self.w, self.h = frame_wh
        self.pad = max(8, min(self.w, self.h) // 10)
        self.canvas = _canvas(rng, self.w + 2 * self.pad, self.h + 2 * self.pad)
        self.pan_phase = rng.uniform(0, 2 * math.pi, 2)
        self.n = max(n_frames, 1)

    def frame(self, i: int) -> np.ndarray:
        t = 2 * math.pi * i / self.n
        dx = int(round(self.pad * (1 + 0.8 * math.sin(t + self.pan_phase[0]))))
        dy = int(round(self.pad * (1 + 0.8 * math.sin(t + self.pan_phase[1]))))
        return self.canvas[dy : dy + self.h, dx : dx + self.w].copy()


# --- real annotated sequences -------------------------------------------------------------------


def load_real_sequence(folder: str | Path) -> tuple[list[Path], np.ndarray]:
    """(frame files in order, xywh boxes) of an OTB or VOT sequence folder, read by the shared readers
    (:mod:`siamcore.datasets`; an OTB folder's first target)."""
    folder = Path(folder)
    if is_otb_sequence(folder):
        seq = load_otb_folder(folder)[0]
    elif is_vot_sequence(folder):
        seq = load_vot_sequence(folder)
    else:
        raise FileNotFoundError(f"{folder} is neither an OTB (img/ + groundtruth_rect.txt) nor a VOT "
                                f"(frames + groundtruth.txt) sequence")
    return list(seq.frames), np.asarray(seq.gt_xywh, dtype=np.float64)


def _real_window(sources: list[Path], index: int, rng: np.random.Generator, frames: int):
    """A ``frames``-long window of the real sequence ``sources[index % len]`` (start drawn from ``rng``)."""
    files, boxes = load_real_sequence(sources[index % len(sources)])
    n = min(frames, len(files))
    start = int(rng.integers(0, len(files) - n + 1))
    return files[start : start + n], boxes[start : start + n]


def _as_list(real_frames_from) -> list[Path]:
    if real_frames_from is None:
        return []
    if isinstance(real_frames_from, (str, Path)):
        return [Path(real_frames_from)]
    return [Path(p) for p in real_frames_from]


# --- TrackingNet --------------------------------------------------------------------------------


def trackingnet_name(chunk: int, index: int) -> str:
    """Name of the ``index``-th generated sequence of chunk ``chunk``."""
    return f"syn{chunk}_{index:03d}"


def _write_zip(path: Path, members: list[tuple[str, bytes]]) -> None:
    """A stored (uncompressed, like TrackingNet's) zip with fixed timestamps: identical bytes every time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, _ZIP_DATE), data)


def _anno_text(boxes_xywh: np.ndarray) -> str:
    return "".join(",".join(f"{v:.2f}" for v in row) + "\n" for row in boxes_xywh)


def _write_trackingnet_sequence(cdir: Path, name: str, jpegs: list[bytes], boxes_xywh: np.ndarray, zipped: bool):
    (cdir / "anno").mkdir(parents=True, exist_ok=True)
    (cdir / "anno" / f"{name}.txt").write_text(_anno_text(boxes_xywh))
    if zipped:
        _write_zip(cdir / "zips" / f"{name}.zip", [(f"{name}/{i}.jpg", b) for i, b in enumerate(jpegs)])
    else:
        fdir = cdir / "frames" / name
        fdir.mkdir(parents=True, exist_ok=True)
        for i, b in enumerate(jpegs):
            (fdir / f"{i}.jpg").write_bytes(b)


def _generated_track(uid: str, seed: int, frames: int, size: tuple[int, int], distractors: int = 1):
    """(JPEG bytes per frame, target xywh per frame) of a generated one-target sequence."""
    rng = _rng(seed, uid)
    scene = _Scene(rng, size, frames)
    target, others = _Mover.random(rng, size), [_Mover.random(rng, size) for _ in range(distractors)]
    jpegs, boxes = [], np.zeros((frames, 4))
    for i in range(frames):
        img = scene.frame(i)
        for m in others:
            m.paint(img, m.box_xywh(i / frames, size))
        boxes[i] = box = target.box_xywh(i / frames, size)
        target.paint(img, box)
        jpegs.append(encode_jpeg(img))
    return jpegs, boxes


def write_trackingnet(
    root: str | Path,
    chunks=(0, 1),
    sequences_per_chunk: int = 3,
    frames: int = 30,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    zipped=(),
    real_frames_from=None,
) -> dict[str, np.ndarray]:
    """Write TrackingNet-layout sequences ``trackingnet_name(k, i)`` into ``root/TRAIN_k``.

    ``size`` is (width, height) of generated frames. ``zipped``: names stored as
    ``zips/<name>.zip`` (members ``<name>/<i>.jpg``) instead of ``frames/<name>/``; ``True`` zips
    all. ``real_frames_from``: one or more OTB/VOT sequence folders; sequences then copy
    ``frames`` consecutive real JPEGs (window start drawn from the seed) with their converted boxes,
    cycling through the folders. Returns ``{video uid: boxes_xywh}`` as written.
    """
    root, sources = Path(root), _as_list(real_frames_from)
    written = {}
    count = 0
    for k in chunks:
        cdir = root / f"TRAIN_{k}"
        for i in range(sequences_per_chunk):
            name = trackingnet_name(k, i)
            uid = f"trackingnet/TRAIN_{k}/{name}"
            if sources:
                files, boxes = _real_window(sources, count, _rng(seed, uid), frames)
                jpegs = [f.read_bytes() for f in files]
            else:
                jpegs, boxes = _generated_track(uid, seed, frames, size)
            _write_trackingnet_sequence(cdir, name, jpegs, boxes, zipped is True or name in zipped)
            written[uid] = boxes
            count += 1
    return written


# --- ILSVRC VID ---------------------------------------------------------------------------------

VID_WNIDS = tuple(WNID_TO_CLASS)


def vid_snippet_name(split: str, index: int) -> str:
    """Snippet path (relative to the split folder) of the ``index``-th generated snippet."""
    if split == "train":
        return f"ILSVRC2015_VID_train_{index // 1000:04d}/ILSVRC2015_train_{index:08d}"
    return f"ILSVRC2015_val_{index:08d}"


def vid_xml(folder: str, frame: int, frame_wh: tuple[int, int], objects) -> str:
    """One ILSVRC VID annotation file. ``objects``: ``(trackid, wnid, (xmin, ymin, xmax, ymax))``;
    the coordinates are written as given (numbers, or strings to make broken files)."""
    parts = [
        "<annotation>",
        f"\t<folder>{folder}</folder>",
        f"\t<filename>{frame:06d}</filename>",
        "\t<source>\n\t\t<database>ILSVRC_2015</database>\n\t</source>",
        f"\t<size>\n\t\t<width>{frame_wh[0]}</width>\n\t\t<height>{frame_wh[1]}</height>\n\t</size>",
    ]
    for trackid, wnid, (x0, y0, x1, y1) in objects:
        parts.append(
            f"\t<object>\n\t\t<trackid>{trackid}</trackid>\n\t\t<name>{wnid}</name>\n\t\t<bndbox>\n"
            f"\t\t\t<xmax>{x1}</xmax>\n\t\t\t<xmin>{x0}</xmin>\n\t\t\t<ymax>{y1}</ymax>\n\t\t\t<ymin>{y0}</ymin>\n"
            f"\t\t</bndbox>\n\t\t<occluded>0</occluded>\n\t\t<generated>0</generated>\n\t</object>"
        )
    parts.append("</annotation>\n")
    return "\n".join(parts)


def _vid_dirs(root: Path, split: str, name: str) -> tuple[Path, Path]:
    return root / "Annotations" / "VID" / split / name, root / "Data" / "VID" / split / name


def _write_vid_snippet(root: Path, split: str, name: str, seed: int, frames: int, size, tracks: int, sources,
                       index: int) -> dict[str, tuple[str, np.ndarray]]:
    """Write one snippet; returns ``{trackid: (wnid, boxes_xywh with NaN where absent)}``.

    Track 0 is visible throughout; track t >= 1 is visible on a sub-range only (absent frames).
    With real sources, frames are the real ones (re-encoded) and track 0 is the real target.
    """
    rng = _rng(seed, f"vid/{split}/{name}")
    real_files, real_boxes = _real_window(sources, index, rng, frames) if sources else (None, None)
    if real_files is not None:
        frames = len(real_files)
        size = tuple(int(v) for v in cv2.imread(str(real_files[0])).shape[1::-1])
    scene = None if real_files is not None else _Scene(rng, size, frames)
    movers = [_Mover.random(rng, size) for _ in range(tracks)]
    wnids = [str(w) for w in rng.choice(VID_WNIDS, tracks, replace=False)]
    spans = [(0, frames)] + [
        tuple(sorted(int(v) for v in rng.integers(0, frames + 1, 2))) for _ in range(tracks - 1)
    ]
    spans = [(a, max(b, a + 1)) for a, b in spans]
    boxes = {t: np.full((frames, 4), np.nan) for t in range(tracks)}
    anno_dir, data_dir = _vid_dirs(root, split, name)
    anno_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        if real_files is not None:
            img = cv2.cvtColor(cv2.imread(str(real_files[i])), cv2.COLOR_BGR2RGB)
        else:
            img = scene.frame(i)
        objects = []
        for t in range(tracks):
            if not spans[t][0] <= i < spans[t][1]:
                continue
            if t == 0 and real_files is not None:
                x, y, w, h = (int(round(v)) for v in real_boxes[i])
            else:
                x, y, w, h = movers[t].box_xywh(i / frames, size)
                movers[t].paint(img, (x, y, w, h))
            boxes[t][i] = (x, y, w, h)
            objects.append((t, wnids[t], (x, y, x + w, y + h)))
        (anno_dir / f"{i:06d}.xml").write_text(vid_xml(name, i, size, objects))
        (data_dir / f"{i:06d}.JPEG").write_bytes(encode_jpeg(img))
    return {str(t): (wnids[t], boxes[t]) for t in range(tracks)}


def write_vid(
    root: str | Path,
    snippets: dict[str, int] | None = None,
    frames: int = 20,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    tracks_per_snippet: int = 2,
    real_frames_from=None,
) -> dict[str, tuple[str, np.ndarray]]:
    """Write ILSVRC VID-layout snippets: ``snippets`` maps split -> count (default 2 train, 1 val),
    named by :func:`vid_snippet_name`. Each snippet has ``tracks_per_snippet`` tracks with real
    WordNet ids; tracks after the first are absent on part of the frames. Integer boxes, as in VID.
    ``real_frames_from``: OTB/VOT folders giving real frames and the track-0 target.
    Returns ``{sequence uid: (wnid, boxes_xywh with NaN where absent)}``.
    """
    root, sources = Path(root), _as_list(real_frames_from)
    snippets = {"train": 2, "val": 1} if snippets is None else snippets
    written, count = {}, 0
    for split in sorted(snippets):
        for i in range(snippets[split]):
            name = vid_snippet_name(split, i)
            tracks = _write_vid_snippet(root, split, name, seed, frames, size, tracks_per_snippet, sources, count)
            written.update({f"vid/{split}/{name}/{t}": v for t, v in tracks.items()})
            count += 1
    return written


# --- TLP (a sequence-folder layout) --------------------------------------------------------------


def write_tlp(root: str | Path, absent: dict[str, list[int]], frames: int = 12, size: tuple[int, int] = (160, 120),
              seed: int = 0) -> dict[str, np.ndarray]:
    """Write TLP-layout sequences ``root/<name>/img/%05d.jpg`` + ``root/<name>/groundtruth_rect.txt``,
    one per key of ``absent`` (0-based indices of the frames where the target is out of view: it is not
    painted, and its row is ``n,0,0,0,0,1``). Rows are ``frame,x,y,w,h,absent`` with TLP's 1-based frame
    number and (as :mod:`siamcore.datasets.tlp` reads them) 1-based ``x, y``. Returns ``{name: xywh}``
    in this project's convention, NaN rows where absent."""
    root, truth = Path(root), {}
    for name, gone in absent.items():
        rng = _rng(seed, f"tlp/{name}")
        scene = _Scene(rng, size, frames)
        target = _Mover.random(rng, size)
        img_dir = root / name / "img"
        img_dir.mkdir(parents=True, exist_ok=True)
        boxes, rows = np.full((frames, 4), np.nan), []
        for i in range(frames):
            img = scene.frame(i)
            if i in gone:
                rows.append(f"{i + 1},0,0,0,0,1")
            else:
                box = target.box_xywh(i / frames, size)
                target.paint(img, box)
                boxes[i] = box
                rows.append(f"{i + 1},{box[0] + 1},{box[1] + 1},{box[2]},{box[3]},0")
            (img_dir / f"{i + 1:05d}.jpg").write_bytes(encode_jpeg(img))
        (root / name / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")
        truth[name] = boxes
    return truth


# --- broken inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    """One injected broken input and what a reader/build must make of it.

    ``stage``: "list" (a Skip from ``list_videos``), "load" (a Skip from ``load_video``) or
    "read" (``read_frame`` raises FrameError with ``reason`` on ``frames``).
    """

    uid: str
    reason: str
    stage: str
    frames: tuple[int, ...] = ()


def corrupt_jpeg_bytes(data: bytes, seed: int = 0) -> bytes:
    """A start-of-image marker followed by random bytes (half the original length): not decodable."""
    rng = np.random.default_rng(seed)
    return b"\xff\xd8" + rng.integers(0, 256, max(len(data) // 2, 64), dtype=np.uint8).tobytes()


def truncate_jpeg_bytes(data: bytes) -> bytes:
    """The first 60% of a JPEG (OpenCV 4.x still decodes it, grey bottom and a warning only)."""
    return data[: int(len(data) * 0.6)]


def forge_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its start-of-frame header claiming ``width`` x ``height``: a complete file
    that OpenCV decodes to that size anyway, filling what the data lacks with grey."""
    i = 2
    while data[i + 1] not in (0xC0, 0xC1, 0xC2):  # walk the segments to the frame header
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return data[: i + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[i + 9 :]


def write_trackingnet_bad(root: str | Path, chunk: int = 0, frames: int = 10, size=(160, 120), seed: int = 0
                          ) -> list[BadInput]:
    """Add one broken sequence per bad-input case to ``root/TRAIN_chunk`` (named ``bad_<case>``).

    The other frames/lines of each broken sequence stay good, so a build can still use them.
    """
    root = Path(root)
    cdir = root / f"TRAIN_{chunk}"
    split = f"TRAIN_{chunk}"
    bad: list[BadInput] = []

    def make(case: str, zipped: bool = False):
        name = f"bad_{case}"
        uid = f"trackingnet/{split}/{name}"
        jpegs, boxes = _generated_track(uid, seed, frames, size)
        _write_trackingnet_sequence(cdir, name, jpegs, boxes, zipped)
        return name, boxes, uid

    def rewrite_lines(name: str, boxes: np.ndarray, lines_by_index: dict[int, str]):
        lines = _anno_text(boxes).splitlines()
        for i, line in lines_by_index.items():
            lines[i] = line
        (cdir / "anno" / f"{name}.txt").write_text("\n".join(lines) + "\n")

    name, _, uid = make("corrupt_jpeg")
    path = cdir / "frames" / name / "3.jpg"
    path.write_bytes(corrupt_jpeg_bytes(path.read_bytes(), seed))
    bad.append(BadInput(uid, "corrupt_jpeg", "read", (3,)))

    name, _, uid = make("truncated_jpeg")
    path = cdir / "frames" / name / "4.jpg"
    path.write_bytes(truncate_jpeg_bytes(path.read_bytes()))
    bad.append(BadInput(uid, "corrupt_jpeg", "read", (4,)))

    name, _, uid = make("missing_frame")
    (cdir / "frames" / name / "5.jpg").unlink()
    bad.append(BadInput(uid, "missing_frame", "load", (5,)))

    name, boxes, uid = make("malformed_annotation")
    rewrite_lines(name, boxes, {2: "12,abc,30"})
    bad.append(BadInput(uid, "malformed_annotation", "load", (2,)))

    name, boxes, uid = make("invalid_box")
    rewrite_lines(name, boxes, {1: "nan,nan,nan,nan", 2: "10,10,0,20", 3: "10,10,20,-5"})
    bad.append(BadInput(uid, "invalid_box", "load", (1, 2, 3)))

    name, boxes, uid = make("box_outside_frame")
    rewrite_lines(name, boxes, {4: f"{size[0] + 10},5,20,20"})
    bad.append(BadInput(uid, "box_outside_frame", "load", (4,)))

    name, _, uid = make("empty_anno")
    (cdir / "anno" / f"{name}.txt").write_text("")
    bad.append(BadInput(uid, "empty_sequence", "load"))

    name, _, uid = make("empty_frames")
    for f in (cdir / "frames" / name).iterdir():
        f.unlink()
    bad.append(BadInput(uid, "empty_sequence", "load"))

    name, _, uid = make("not_a_zip", zipped=True)
    (cdir / "zips" / f"{name}.zip").write_bytes(b"this is not a zip file\n" * 10)
    bad.append(BadInput(uid, "bad_zip", "load"))

    name, _, uid = make("missing_annotation")
    (cdir / "anno" / f"{name}.txt").unlink()
    bad.append(BadInput(uid, "missing_annotation", "list"))
    return bad


def write_vid_bad(root: str | Path, frames: int = 10, size=(160, 120), seed: int = 0) -> list[BadInput]:
    """Add one broken train snippet per bad-input case (``ILSVRC2015_VID_train_0099/bad_<case>``);
    each has one track (trackid 0), its other frames stay good."""
    root = Path(root)
    bad: list[BadInput] = []

    def make(case: str):
        name = f"ILSVRC2015_VID_train_0099/bad_{case}"
        tracks = _write_vid_snippet(root, "train", name, seed, frames, size, 1, [], 0)
        anno_dir, data_dir = _vid_dirs(root, "train", name)
        wnid, boxes = tracks["0"]
        return name, f"vid/train/{name}", anno_dir, data_dir, wnid, boxes

    def rewrite(anno_dir, name, wnid, i, xyxy):
        (anno_dir / f"{i:06d}.xml").write_text(vid_xml(name, i, size, [(0, wnid, xyxy)]))

    name, uid, anno_dir, _, _, _ = make("unreadable_xml")
    (anno_dir / "000002.xml").write_text("<annotation><size><width>160</wid")
    bad.append(BadInput(uid, "unreadable_xml", "load", (2,)))

    name, uid, anno_dir, _, wnid, _ = make("malformed_annotation")
    rewrite(anno_dir, name, wnid, 3, ("abc", 10, 50, 60))
    bad.append(BadInput(uid, "malformed_annotation", "load", (3,)))

    name, uid, anno_dir, _, wnid, _ = make("invalid_box")
    rewrite(anno_dir, name, wnid, 1, (50, 10, 40, 60))  # xmax < xmin
    bad.append(BadInput(uid + "/0", "invalid_box", "load", (1,)))

    name, uid, anno_dir, _, wnid, _ = make("box_outside_frame")
    rewrite(anno_dir, name, wnid, 4, (size[0] + 5, 10, size[0] + 40, 60))
    bad.append(BadInput(uid + "/0", "box_outside_frame", "load", (4,)))

    name, uid, _, data_dir, _, _ = make("missing_frame")
    (data_dir / "000005.JPEG").unlink()
    bad.append(BadInput(uid, "missing_frame", "load", (5,)))

    name, uid, _, data_dir, _, _ = make("corrupt_jpeg")
    path = data_dir / "000006.JPEG"
    path.write_bytes(corrupt_jpeg_bytes(path.read_bytes(), seed))
    bad.append(BadInput(uid, "corrupt_jpeg", "read", (6,)))

    name, uid, _, data_dir, _, _ = make("truncated_jpeg")
    path = data_dir / "000007.JPEG"
    path.write_bytes(truncate_jpeg_bytes(path.read_bytes()))
    bad.append(BadInput(uid, "corrupt_jpeg", "read", (7,)))

    name, uid, anno_dir, _, _, _ = make("empty_sequence")
    for f in anno_dir.iterdir():
        f.unlink()
    bad.append(BadInput(uid, "empty_sequence", "load"))
    return bad

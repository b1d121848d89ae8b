"""What every dataset reader returns, and the one way to read a frame.

A reader module (``trackingnet``, ``vid``) has two functions:

- ``list_videos(root, chunks=None, splits=None) -> (videos, skips)``: cheap enumeration of
  listing units (directory listings only, no annotation parsing), sorted and stable. It raises
  :class:`SourceError` *before any work* when the root, a requested chunk or split is missing.
- ``load_video(video) -> (sequences, skips)``: parses the annotations of one video (runs inside
  Dask tasks). It never raises for bad input: what cannot be used is returned as :class:`Skip`.

Frame index convention: ``Sequence.frames[i]`` is frame ``i`` of the video (the number in its
file name); a frame whose file or annotation is missing stays in place with a NaN box, so
indices recorded in shards always name the source file. The sequence-folder datasets (``folders``)
use the position in their reader's frame list instead (their files are numbered from 1, and an OTB
sequence with a frame range starts at its first used frame).

Boxes are xywh, pixel-continuous with the origin at the top-left corner of the top-left pixel.
A NaN row in ``Sequence.boxes_xywh`` means "no usable box in this frame" (target absent,
malformed line, invalid or out-of-frame box, missing frame file); every such case except a
target that is simply absent (VID) is recorded as a Skip (one per sequence and reason, the frame
indices in its detail).

Frames are not decoded while loading, so JPEG corruption is found when a frame is read:
:func:`read_frame` raises :class:`FrameError` with a reason code, and the caller records it.
"""

from __future__ import annotations

import functools
import os
import re
import zipfile
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from siamcore.boxes import is_valid_xywh
from siamcore.datasets.sequence import numbered_files  # noqa: F401  (re-exported: readers import it from here)

#: Skip reason codes used by the readers (and by the build for frame errors; ``load_error`` /
#: ``crop_error``: an unexpected exception while loading a video / cutting a sample's crops;
#: ``unreadable_sequence``: a sequence-folder reader could not read the folder, its message says why;
#: ``too_few_frames``: a sequence with a single usable frame, no pair of two frames;
#: ``frame_too_large``: a frame over ``[limits]`` max_frame_pixels / max_frame_bytes).
REASONS = (
    "malformed_annotation",
    "missing_annotation",
    "corrupt_jpeg",
    "missing_frame",
    "frame_too_large",
    "invalid_box",
    "box_outside_frame",
    "frame_count_mismatch",
    "empty_sequence",
    "too_few_frames",
    "bad_zip",
    "unreadable_xml",
    "unreadable_sequence",
    "load_error",
    "crop_error",
)

TRACKINGNET_CHUNKS = range(12)

MAX_FRAME_PIXELS = 64_000_000
"""Default ``[limits] max_frame_pixels``: a frame with more pixels (by its JPEG header) is not decoded.
8K video is 33 Mpx; a forged header can claim 65535 x 65535 (4.3 Gpx, 13 GB decoded)."""
MAX_FRAME_BYTES = 256 << 20
"""Default ``[limits] max_frame_bytes``: a frame file or zip member larger than this is not read
(a 64 Mpx JPEG at quality 100 is ~40 MB; a zip member can inflate from a 1 MB zip to 1 GB)."""


class SourceError(Exception):
    """A fatal problem found before any work (missing root, chunk or split); the message says what to do."""


class FrameError(Exception):
    """A frame that cannot be read or decoded; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class FrameRef:
    """Where one frame's JPEG bytes are: a file, or ``member`` inside the zip file ``path``."""

    path: str
    member: str | None = None


@dataclass(frozen=True)
class VideoRef:
    """One listing unit (a TrackingNet sequence, a VID snippet), cheap to enumerate."""

    dataset: str  # "trackingnet" | "vid" | "coco" | "otb" | "vot" | "davis" | "tlp"
    chunk: int  # TrackingNet chunk k, -1 for the others
    split: str  # "TRAIN_k" (TrackingNet), "train" / "val" (VID), "all" (sequence-folder datasets)
    name: str  # TrackingNet sequence name, VID snippet path relative to the split folder, or the
    #            sequence name of a sequence-folder dataset (siamcore.datasets)
    root: str  # dataset root, so a worker can resolve paths

    @property
    def uid(self) -> str:
        return f"{self.dataset}/{self.split}/{self.name}"


@dataclass(frozen=True, eq=False)
class Sequence:
    """One target track over all frames of a video (``eq=False``: it holds an array; compare ``uid``)."""

    video: VideoRef
    track: str  # "0" for TrackingNet, the VID trackid
    class_name: str  # "" when unknown (TrackingNet)
    frames: tuple[FrameRef, ...]
    boxes_xywh: np.ndarray  # [len(frames), 4] float64, read-only; NaN row = no usable box

    @property
    def uid(self) -> str:
        return f"{self.video.uid}/{self.track}"


@dataclass(frozen=True)
class Skip:
    """A recorded skip: what (``where``), why (a code from :data:`REASONS`) and a human message."""

    where: str
    reason: str
    detail: str


def parse_chunks(spec: str | int | list[int] | tuple[int, ...]) -> list[int]:
    """``"0,2,4-5"`` -> ``[0, 2, 4, 5]`` (sorted, unique, each in 0..11); ValueError saying what is wrong."""
    if isinstance(spec, int):
        items = [spec]
    elif isinstance(spec, (list, tuple)):
        items = [int(c) for c in spec]
    else:
        items = []
        text = str(spec).strip()
        if not text:
            raise ValueError("empty chunk spec: use e.g. '0-5' or '0,2,4-5'")
        for part in text.split(","):
            part = part.strip()
            m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
            if not m:
                raise ValueError(f"bad chunk spec {spec!r}: {part!r} is not a number or a range like '4-5'")
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) is not None else lo
            if hi < lo:
                raise ValueError(f"bad chunk spec {spec!r}: range {part!r} goes backwards")
            items.extend(range(lo, hi + 1))
    bad = [c for c in items if c not in TRACKINGNET_CHUNKS]
    if bad:
        raise ValueError(f"bad chunk spec {spec!r}: TrackingNet chunks are 0..11, got {bad}")
    return sorted(set(items))


def format_indices(indices) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2,5"`` (at most 20 runs, then ``...``): compact frame lists for skip details."""
    runs: list[list[int]] = []
    for i in sorted(set(int(i) for i in indices)):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:20])
    return text + (",..." if len(runs) > 20 else "")


def invalidate_boxes(boxes_xywh: np.ndarray, frame_wh: list[tuple[float, float] | None], where: str) -> list[Skip]:
    """Set rows that are unusable to NaN in place, and say which.

    ``invalid_box``: a non-finite value or a width/height <= 0. ``box_outside_frame``: no overlap
    with the frame (only where ``frame_wh[i]`` is known). Rows already all-NaN are not reported
    (absent target or already recorded as malformed).
    """
    skips = []
    present = ~np.all(np.isnan(boxes_xywh), axis=1)
    finite = np.all(np.isfinite(boxes_xywh), axis=1)
    with np.errstate(invalid="ignore"):
        invalid = present & ~(finite & (boxes_xywh[:, 2] > 0) & (boxes_xywh[:, 3] > 0))
    if invalid.any():
        idx = np.flatnonzero(invalid)
        skips.append(Skip(where, "invalid_box",
                          f"{len(idx)} frame(s) with a NaN/zero/negative box: {format_indices(idx)}"))
        boxes_xywh[invalid] = np.nan
    outside = [i for i, wh in enumerate(frame_wh)
               if wh is not None and not np.isnan(boxes_xywh[i, 0]) and not is_valid_xywh(boxes_xywh[i], wh)]
    if outside:
        skips.append(
            Skip(where, "box_outside_frame", f"{len(outside)} frame(s) with the box fully outside the frame: "
                 f"{format_indices(outside)}")
        )
        boxes_xywh[outside] = np.nan
    return skips


# --- frames -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _open_zip(path: str, mtime_ns: int, size: int) -> zipfile.ZipFile:
    """Zip handles are cached per process (reading the central directory per frame is slow);
    the key includes mtime and size so a replaced file is re-opened."""
    return zipfile.ZipFile(path)


def open_zip(path: str) -> zipfile.ZipFile:
    """The (cached) open zip at ``path``; raises OSError or ``zipfile.BadZipFile``."""
    st = os.stat(path)
    return _open_zip(path, st.st_mtime_ns, st.st_size)


def _too_large(where: str, size: int | str, max_bytes: int) -> FrameError:
    return FrameError("frame_too_large", f"{where} is {size} bytes, over the limit of {max_bytes} "
                                         f"([limits] max_frame_bytes)")


def read_frame_bytes(ref: FrameRef, max_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """The JPEG bytes of a frame; FrameError ``missing_frame`` / ``bad_zip`` / ``frame_too_large``.

    At most ``max_bytes + 1`` bytes are ever read: a zip member is checked by its declared size,
    then streamed with that cap (a 1 MB zip can hold a 1 GB member), a file by its size and the cap.
    """
    if ref.member is None:
        try:
            with open(ref.path, "rb") as f:
                if (size := os.fstat(f.fileno()).st_size) > max_bytes:
                    raise _too_large(ref.path, size, max_bytes)
                data = f.read(max_bytes + 1)
        except OSError as e:
            raise FrameError("missing_frame", f"cannot read frame {ref.path}: {e.strerror or e}") from None
        if len(data) > max_bytes:
            raise _too_large(ref.path, f"more than {max_bytes}", max_bytes)
        return data
    try:
        zf = open_zip(ref.path)
    except OSError as e:
        raise FrameError("missing_frame", f"cannot open zip {ref.path}: {e.strerror or e}") from None
    except zipfile.BadZipFile as e:
        raise FrameError("bad_zip", f"{ref.path} is not a valid zip file: {e}") from None
    where = f"{ref.path}:{ref.member}"
    try:
        info = zf.getinfo(ref.member)
        if info.file_size > max_bytes:
            raise _too_large(where, info.file_size, max_bytes)
        with zf.open(info) as f:
            data = f.read(max_bytes + 1)
    except KeyError:
        raise FrameError("missing_frame", f"zip {ref.path} has no member {ref.member!r}") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise FrameError("bad_zip", f"cannot read {ref.member!r} from zip {ref.path}: {e}") from None
    if len(data) > max_bytes:  # zipfile stops at the declared size; kept so the cap never depends on it
        raise _too_large(where, f"more than {max_bytes}", max_bytes)
    return data


def jpeg_is_complete(buf: bytes) -> bool:
    """True when ``buf`` starts with SOI and has an EOI marker after its last start-of-scan.

    OpenCV 4.x decodes a truncated JPEG without error (grey bottom, a warning on stderr only;
    5.x refuses it), so truncation is detected here, whatever the OpenCV version: inside
    entropy-coded data every 0xFF byte is stuffed, so an 0xFFD9 after the last 0xFFDA can only be
    the real end of image. Searched from the ends (the last EOI, then any SOS after it, then the first
    SOS in the header), never through the scan data: a backward search for the last SOS of a
    baseline JPEG reads the whole file (~3% of a pair's CPU).
    """
    if buf[:2] != b"\xff\xd8":
        return False
    eoi = buf.rfind(b"\xff\xd9")
    return eoi != -1 and buf.find(b"\xff\xda", eoi) == -1 and buf.find(b"\xff\xda", 0, eoi) != -1


_SOF_MARKERS = {m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)}
_HUFFMAN_DCT_SOF = (0xC0, 0xC1, 0xC2)  # baseline, extended and progressive: nearly every JPEG


def _sof_offset(buf: bytes) -> int | None:
    """Offset of the JPEG's start-of-frame marker (walking the segments before it); None if not found."""
    if buf[:2] != b"\xff\xd8":
        return None
    i, n = 2, len(buf)
    while i + 4 <= n:
        if buf[i] != 0xFF:
            return None
        marker = buf[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker in _SOF_MARKERS:
            return i
        if marker in (0xDA, 0xD9):  # scan data or end reached without a frame header
            return None
        i += 2 + int.from_bytes(buf[i + 2 : i + 4], "big")
    return None


def jpeg_size_wh(buf: bytes) -> tuple[int, int] | None:
    """(width, height) from the JPEG's start-of-frame header without decoding; None if not found."""
    i = _sof_offset(buf)
    if i is None or i + 9 > len(buf):
        return None
    h = int.from_bytes(buf[i + 5 : i + 7], "big")
    w = int.from_bytes(buf[i + 7 : i + 9], "big")
    return (w, h) if w > 0 and h > 0 else None


def jpeg_min_bytes(buf: bytes) -> int:
    """The fewest bytes a Huffman-coded JPEG with this frame header can have (0 when unknown).

    Every 8x8 block of every component carries a Huffman-coded DC value of at least one bit, so a
    frame of N blocks needs N / 8 bytes of scan data. A file much shorter than its header's size
    is truncated or has a forged header: OpenCV "decodes" it anyway, as flat grey garbage."""
    i = _sof_offset(buf)
    if i is None or i + 10 > len(buf) or buf[i + 1] not in _HUFFMAN_DCT_SOF:
        return 0
    h = int.from_bytes(buf[i + 5 : i + 7], "big")
    w = int.from_bytes(buf[i + 7 : i + 9], "big")
    sampling = [(b >> 4, b & 15) for b in buf[i + 11 : i + 10 + 3 * buf[i + 9] : 3]]
    if not sampling or len(sampling) != buf[i + 9] or min(min(s) for s in sampling) == 0:
        return 0
    h_max, v_max = max(s[0] for s in sampling), max(s[1] for s in sampling)
    blocks = sum(_ceil_div(_ceil_div(w * hs, h_max), 8) * _ceil_div(_ceil_div(h * vs, v_max), 8)
                 for hs, vs in sampling)
    return blocks // 8


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def frame_wh_from_header(ref: FrameRef | None) -> tuple[int, int] | None:
    """(width, height) of a frame from its JPEG header (one small read, no decode); None when the
    frame is unreadable, over the default byte limit or not a JPEG (the build checks boxes against
    the decoded frame anyway)."""
    if ref is None:
        return None
    try:
        return jpeg_size_wh(read_frame_bytes(ref))
    except FrameError:
        return None


_REDUCED_RGB = {r: (flag & ~cv2.IMREAD_COLOR_BGR) | cv2.IMREAD_COLOR_RGB
                for r, flag in ((2, cv2.IMREAD_REDUCED_COLOR_2), (4, cv2.IMREAD_REDUCED_COLOR_4))}
"""imdecode flags for a DCT-domain decode at 1/r, in RGB (the REDUCED_COLOR flags include BGR colour)."""


class DecodedFrame(NamedTuple):
    """A decoded frame: ``image`` (RGB uint8, the frame at 1/``reduction``), the full frame's size."""

    image: np.ndarray
    frame_wh: tuple[int, int]
    """(width, height) of the full frame (from the JPEG header when reduced: a reduced image of
    ceil(w / r) pixels does not say w)."""
    reduction: int
    """1, 2 or 4: reduced pixel j covers frame pixels [r j, r j + r)."""


def _checked_jpeg_size(buf: bytes, where: str, max_pixels: int) -> tuple[int, int] | None:
    """The header's (width, height) after the checks that must come before decoding (see decode_jpeg)."""
    if not jpeg_is_complete(buf):
        raise FrameError("corrupt_jpeg", f"{where}: not a complete JPEG (no start or no end-of-image marker)")
    wh = jpeg_size_wh(buf)
    if wh is not None and wh[0] * wh[1] > max_pixels:
        raise FrameError("frame_too_large", f"{where}: the JPEG header says {wh[0]}x{wh[1]} = {wh[0] * wh[1]} "
                                            f"pixels, over the limit of {max_pixels} ([limits] max_frame_pixels)")
    if len(buf) < (needed := jpeg_min_bytes(buf)):
        raise FrameError("corrupt_jpeg", f"{where}: {len(buf)} bytes cannot hold a {wh[0]}x{wh[1]} JPEG (at least "
                                         f"{needed} needed): truncated data or a forged header")
    return wh


_MAGIC = ((b"\xff\xd8", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF8", "GIF data"), (b"BM", "BMP data"),
          (b"II*\x00", "TIFF data"), (b"MM\x00*", "TIFF data"))


def image_kind(buf: bytes) -> str:
    """What the bytes are, from their first bytes (never the file's extension): ``"JPEG"``, ``"PNG"``, a
    few other image kinds by name, ``"WebP data"``, ``"empty data"``, or the first bytes in hex."""
    if not buf:
        return "empty data"
    for magic, kind in _MAGIC:
        if buf.startswith(magic):
            return kind
    if buf[:4] == b"RIFF" and buf[8:12] == b"WEBP":
        return "WebP data"
    return f"unknown data (first bytes {buf[:8].hex(' ')})"


def _decode_png(buf: bytes, where: str, max_pixels: int) -> DecodedFrame:
    """A PNG (8- or 16-bit, grey or colour, with or without alpha) as RGB uint8; the IHDR size is checked
    against ``max_pixels`` before decoding, as a JPEG header is."""
    if len(buf) < 24 or buf[12:16] != b"IHDR":
        raise FrameError("corrupt_jpeg", f"{where}: PNG without its IHDR header")
    w, h = int.from_bytes(buf[16:20], "big"), int.from_bytes(buf[20:24], "big")
    if w * h > max_pixels:
        raise FrameError("frame_too_large", f"{where}: the PNG header says {w}x{h} = {w * h} pixels, over the "
                                            f"limit of {max_pixels} ([limits] max_frame_pixels)")
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR_RGB)  # 16-bit scaled to 8, alpha dropped
    if img is None or img.shape[:2] != (h, w):
        raise FrameError("corrupt_jpeg", f"{where}: PNG data cannot be decoded")
    return DecodedFrame(img, (w, h), 1)


def _imdecode_rgb(buf: bytes, where: str, flags: int) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), flags)
    if img is None or img.ndim != 3 or img.shape[2] != 3:
        raise FrameError("corrupt_jpeg", f"{where}: JPEG data cannot be decoded")
    return img


def decode_jpeg(buf: bytes, where: str = "frame", max_pixels: int = MAX_FRAME_PIXELS) -> np.ndarray:
    """Decode JPEG (or PNG, recognised by content: :func:`image_kind`) bytes to RGB uint8 HxWx3; FrameError ``corrupt_jpeg`` for undecodable, truncated or
    too-short data, ``frame_too_large`` when the header claims more than ``max_pixels`` pixels.

    Both header checks come before decoding: OpenCV allocates what the header says (a forged
    30000x30000 header: 26 s and 5.4 GB) and fills what the data lacks with grey."""
    return decode_jpeg_reduced(buf, where, max_pixels).image


def decode_jpeg_reduced(buf: bytes, where: str = "frame", max_pixels: int = MAX_FRAME_PIXELS,
                        reduction: int = 1) -> DecodedFrame:
    """As :func:`decode_jpeg`, decoded at 1/``reduction`` (2 or 4) in the DCT domain when it can be.

    libjpeg-turbo's scaled IDCT skips most of the decode's work (a 720p frame: ~2x cheaper at 1/2)
    and averages each r x r block, so it is also an anti-aliasing pre-shrink. The same checks as a
    full decode come first (the pixel limit counts the full frame). The decoder must give exactly
    ceil(w / r) x ceil(h / r) pixels (the block mapping the crops rely on); when it does not (no size
    in the header, an EXIF rotation, a JPEG the decoder cannot scale) the frame is decoded in full
    and ``reduction`` is 1."""
    kind = image_kind(buf)
    if kind == "PNG":  # ImageNet ships PNGs named .JPEG: decoded in full, as what they are
        return _decode_png(buf, where, max_pixels)
    if kind != "JPEG":
        raise FrameError("corrupt_jpeg", f"{where}: {kind}, not a JPEG or PNG image")
    wh = _checked_jpeg_size(buf, where, max_pixels)
    if reduction in _REDUCED_RGB and wh is not None:
        img = _imdecode_rgb(buf, where, _REDUCED_RGB[reduction])
        if img.shape[:2] == (_ceil_div(wh[1], reduction), _ceil_div(wh[0], reduction)):
            return DecodedFrame(img, wh, reduction)
    elif reduction != 1 and reduction not in _REDUCED_RGB:
        raise ValueError(f"reduction must be 1, 2 or 4, got {reduction!r}")
    img = _imdecode_rgb(buf, where, cv2.IMREAD_COLOR_RGB)
    return DecodedFrame(img, (img.shape[1], img.shape[0]), 1)


def read_frame(ref: FrameRef, max_pixels: int = MAX_FRAME_PIXELS, max_bytes: int = MAX_FRAME_BYTES) -> np.ndarray:
    """The frame as RGB uint8 HxWx3; FrameError ``missing_frame`` / ``bad_zip`` / ``corrupt_jpeg`` /
    ``frame_too_large`` (the limits: ``[limits]`` of the build config)."""
    return read_frame_reduced(ref, max_pixels, max_bytes).image


def read_frame_reduced(ref: FrameRef, max_pixels: int = MAX_FRAME_PIXELS, max_bytes: int = MAX_FRAME_BYTES,
                       reduction: int = 1) -> DecodedFrame:
    """As :func:`read_frame`, decoded at 1/``reduction`` when it can be (:func:`decode_jpeg_reduced`),
    with the full frame's size: what ``dataprep build`` reads (same limits, same FrameErrors)."""
    where = ref.path if ref.member is None else f"{ref.path}:{ref.member}"
    return decode_jpeg_reduced(read_frame_bytes(ref, max_bytes), where, max_pixels, reduction)

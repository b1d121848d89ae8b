"""The one way to read a frame: its bytes from a file or a zip member, checked, then decoded.

Every check that can refuse a frame comes before decoding (size limits, a complete JPEG, a header
that fits the data): OpenCV allocates what a header says and fills missing data with grey. A frame
that cannot be read raises :class:`~dataprep.sources.base.FrameError` with a reason code. OpenCV is
imported inside the decoders: listing datasets (and the CLI's ``--help``) never needs it.
"""

from __future__ import annotations

import functools
import os
import zipfile
from typing import NamedTuple

import numpy as np

from dataprep.sources.base import MAX_FRAME_BYTES, MAX_FRAME_PIXELS, FrameError, FrameRef



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


REDUCTIONS = (2, 4)
"""The factors a DCT-domain decode can reduce by."""


@functools.cache
def _reduced_rgb_flag(reduction: int) -> int:
    """imdecode flags for a DCT-domain decode at 1/r, in RGB (the REDUCED_COLOR flags include BGR colour)."""
    import cv2

    flag = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4}[reduction]
    return (flag & ~cv2.IMREAD_COLOR_BGR) | cv2.IMREAD_COLOR_RGB


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
    import cv2

    img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR_RGB)  # 16-bit scaled to 8, alpha dropped
    if img is None or img.shape[:2] != (h, w):
        raise FrameError("corrupt_jpeg", f"{where}: PNG data cannot be decoded")
    return DecodedFrame(img, (w, h), 1)


def _imdecode_rgb(buf: bytes, where: str, flags: int | None = None) -> np.ndarray:
    """``buf`` decoded with ``flags`` (None: a full decode in RGB)."""
    import cv2

    img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR_RGB if flags is None else flags)
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
    if reduction in REDUCTIONS and wh is not None:
        img = _imdecode_rgb(buf, where, _reduced_rgb_flag(reduction))
        if img.shape[:2] == (_ceil_div(wh[1], reduction), _ceil_div(wh[0], reduction)):
            return DecodedFrame(img, wh, reduction)
    elif reduction != 1 and reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 1, 2 or 4, got {reduction!r}")
    img = _imdecode_rgb(buf, where)
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

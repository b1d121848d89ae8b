"""Cost and aliasing of the crop resampling options, on a 1280x720 frame (one thread).

Prints ms per crop for the exemplar (127 px) and search (255 px) crops of a 200x150 target,
for: plain bilinear warp (aliases), siamtrack's crop (integer INTER_AREA pre-shrink + bilinear
warp), cv2 INTER_AREA resize and Pillow's antialiased resize (pillow-simd if installed), plus
each method's ratio to the plain warp (the floor) and its aliasing error (mean abs difference
from a high-quality reference, Pillow LANCZOS on a fine random texture).

Then the reduced JPEG decode (``dataprep build``'s ``output.reduced_decode``): for crops that shrink
the frame by a factor f (window side / output size), the aliasing error against the same Lanczos
reference (computed on the full decode) of (a) ``crop_square`` on the full decode and (b) a
DCT-domain decode at 1/r (libjpeg-turbo scaling, ``cv2.IMREAD_REDUCED_COLOR_r``) + the same
``crop_square`` of the window scaled by 1/r, on real JPEGs (TLP CarChase2 1280x720, DAVIS 854x480
from ``../shared/data`` when present) and on the random texture saved as a JPEG; and the decode
time of each reduction. It is the measurement behind
:data:`siamcore.crop.REDUCED_DECODE_MIN_SHRINK`.

    python benchmarks/crop_resampling.py [--reduced-only]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
import PIL
from PIL import Image

from dataprep.sources.frames import decode_jpeg_reduced
from siamcore.crop import View, crop_square, decode_reduction, reduced_window_xyxy, window_for_box_xywh

cv2.setNumThreads(1)


def timed_ms(fn, repeat=300) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e3


def resampling_table() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)  # worst case for aliasing
    frame = cv2.GaussianBlur(frame, (3, 3), 0)
    pil_frame = Image.fromarray(frame)
    box = (540.3, 285.1, 200.0, 150.0)
    print(f"Pillow {PIL.__version__}, OpenCV {cv2.__version__}")
    print(f"{'view':>8} {'method':<28} {'ms/crop':>8} {'x floor':>8} {'alias err':>9}")
    for name, view in (("exemplar", View(127, 0.5)), ("search", View(255, 1.5))):
        win = window_for_box_xywh(box, view)
        size = view.size
        scale = size / (win[2] - win[0])
        matrix = np.array([[scale, 0, -win[0] * scale + 0.5 * scale - 0.5], [0, scale, -win[1] * scale + 0.5 * scale - 0.5]])
        ix = [int(round(v)) for v in win]
        ref = np.asarray(pil_frame.resize((size, size), Image.LANCZOS, box=tuple(win))).astype(float)
        methods = {
            "bilinear warp (floor)": lambda: cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR),
            "siamtrack crop_square": lambda: crop_square(frame, win, size, fill=(0, 0, 0)),
            "cv2 INTER_AREA": lambda: cv2.resize(frame[ix[1] : ix[3], ix[0] : ix[2]], (size, size), interpolation=cv2.INTER_AREA),
            "Pillow antialiased bilinear": lambda: pil_frame.resize((size, size), Image.BILINEAR, box=tuple(win)),
        }
        floor = None
        for label, fn in methods.items():
            ms = timed_ms(fn)
            floor = floor or ms
            err = np.abs(np.asarray(fn()).astype(float) - ref).mean()
            print(f"{name:>8} {label:<28} {ms:8.3f} {ms / floor:8.2f} {err:9.2f}")


SHARED = Path(os.environ.get("SIAMTRACK_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
REAL_JPEGS = (
    ("tlp CarChase2 1280x720", tuple(f"tlp/CarChase2/img/{i:05d}.jpg" for i in (1, 150, 300, 450, 600))),
    ("davis 854x480", tuple(f"davis2016/JPEGImages/480p/{s}/00010.jpg"
                            for s in ("blackswan", "bmx-trees", "camel", "cows", "dog", "drift-chicane"))),
)
FACTORS = (1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 14.0, 16.0)


def _decode(buf: bytes, r: int) -> np.ndarray:
    """The build's decode (``dataprep.sources.decode_jpeg_reduced``); fails loudly if it did not reduce."""
    frame = decode_jpeg_reduced(buf, reduction=r)
    assert frame.reduction == r
    return frame.image


def _texture_jpeg() -> tuple[bytes, np.ndarray]:
    """The random texture (RGB) saved as a q95 4:2:0 JPEG, and the texture itself."""
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (3, 3), 0)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return buf.tobytes(), frame


def _windows(frame_hw, f: float, rng, n: int = 16):
    """``n`` square windows (fractional positions) of side ``f x out`` +-5% inside the frame, and
    ``out``: the largest of 127, 63, 31 px whose window fits (None, None when none fits). The +-5%
    (a build's scale jitter is +-18%) keeps exact integer factors out: there ``crop_square``'s
    integer pre-shrink flips between k and k - 1 on rounding, which would only add noise here."""
    h, w = frame_hw
    out = next((o for o in (127, 63, 31) if f * 1.05 * o <= min(h, w) - 4), None)
    if out is None:
        return None, None
    wins = []
    for _ in range(n):
        side = f * out * rng.uniform(0.95, 1.05)
        x0, y0 = rng.uniform(1, w - side - 1), rng.uniform(1, h - side - 1)
        wins.append(np.array([x0, y0, x0 + side, y0 + side]))
    return wins, out


def _errors(crop: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """Mean abs difference in RGB and in luma (Y of YCrCb: aliasing shows in luma; a 4:2:0 JPEG's
    chroma has half the resolution anyway and the two decodes upsample it differently)."""
    y = [cv2.cvtColor(np.asarray(im, np.float32), cv2.COLOR_RGB2GRAY) for im in (crop, ref)]
    return float(np.abs(crop.astype(float) - ref).mean()), float(np.abs(y[0] - y[1]).mean())


def reduced_decode_table() -> None:
    tex_buf, tex = _texture_jpeg()
    sources = [("texture, ref: the texture", [(tex_buf, tex)]), ("texture, ref: its full decode", [(tex_buf, None)])]
    for label, rels in REAL_JPEGS:
        paths = [SHARED / rel for rel in rels]
        if all(p.is_file() for p in paths):
            sources.append((label, [(p.read_bytes(), None) for p in paths]))
        else:
            print(f"({label}: not found under {SHARED}, skipped)")
    print("\nReduced JPEG decode: ms per decode (one thread, best of 3 x 20)")
    print(f"{'image':<32} {'full':>7} {'1/2':>7} {'1/4':>7}")
    for label, bufs in sources[1:]:
        ms = [min(timed_ms(lambda r=r: _decode(bufs[0][0], r), repeat=20) for _ in range(3)) for r in (1, 2, 4)]
        print(f"{label:<32} {ms[0]:7.2f} {ms[1]:7.2f} {ms[2]:7.2f}")
    print("\nAliasing error vs Lanczos (mean abs, 0..255; RGB and luma Y) of crops shrinking the frame f x:")
    print("(a) crop_square on the full decode, (b) r: decode at 1/r + crop_square of the window / r.")
    print("Reference: Lanczos of the full decode (real JPEGs), or of the texture the JPEG encodes.")
    print("rule r: what siamcore.crop.decode_reduction picks for the smallest factor of the row (f - 5%).")
    print(f"{'image':<32} {'f':>4} {'(a)':>6} {'(b)r=2':>7} {'(b)r=4':>7} | {'(a) Y':>6} {'r=2 Y':>6} {'r=4 Y':>6}"
          f" | rule r")
    for label, bufs in sources:
        rng = np.random.default_rng(1)
        for f in FACTORS:
            errs = {1: [], 2: [], 4: []}
            for buf, original in bufs:
                full = _decode(buf, 1)
                pil = Image.fromarray(full if original is None else original)
                reduced = {r: _decode(buf, r) for r in (2, 4)}
                wins, out = _windows(full.shape[:2], f, rng)
                for win in wins or ():
                    ref = np.asarray(pil.resize((out, out), Image.LANCZOS, box=tuple(win))).astype(float)
                    errs[1].append(_errors(crop_square(full, win, out, fill=(0, 0, 0)), ref))
                    for r in (2, 4):
                        crop = crop_square(reduced[r], reduced_window_xyxy(win, r), out, fill=(0, 0, 0))
                        errs[r].append(_errors(crop, ref))
            if errs[1]:
                (a, ay), (b2, b2y), (b4, b4y) = (np.mean(errs[r], axis=0) for r in (1, 2, 4))
                print(f"{label:<32} {f:4.1f} {a:6.2f} {b2:7.2f} {b4:7.2f} | {ay:6.2f} {b2y:6.2f} {b4y:6.2f}"
                      f" | {decode_reduction([(f * 0.95, 1)]):6d}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reduced-only", action="store_true", help="only the reduced-decode tables")
    args = ap.parse_args()
    if not args.reduced_only:
        resampling_table()
    reduced_decode_table()


if __name__ == "__main__":
    main()

"""Tiny real shard folders (LMDB shards + ``manifest/samples.parquet`` + ``build.json``) without a dataset.

:func:`write_build` writes a build folder in the layout ``dataprep build`` writes (read by
``siamcore.shards.open_build``), through the product's own writers: records in the one record schema,
written by ``siamcore.shards.ShardWriter``; manifest rows made by ``dataprep.records.manifest_row`` and
written with ``dataprep.manifest.SAMPLES_SCHEMA``. :func:`make_records` gives it generated frames with a
textured target, cropped with the one ``siamcore.crop`` geometry into every view the RPN models need.
It exists so that tests can also make *broken* folders (a corrupt record, another schema version, a
missing view or shard); :func:`flip_in_record` damages one stored record the way a bad disk does.
:func:`build_generated_trackingnet` is the real thing: ``dataprep build`` of a generated TrackingNet chunk.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import msgpack
import numpy as np

from siamcore.crop import View, crop_square, frame_to_crop_xyxy, window_for_box_xywh
from siamcore.schema import SCHEMA_VERSION
from siamcore.shards import BUILD_FILE, BUILD_FORMAT, MANIFEST_DIR, ShardReader, ShardWriter, open_build, shard_path

from dataprep.manifest import SAMPLES_SCHEMA, write_streamed
from dataprep.records import manifest_row

#: Every crop view the three RPN models read (``dataprep build``'s ``[views]`` table, as build.json stores it).
ALL_VIEWS = {
    "exemplar": {"role": "exemplar", "size": 127, "context": 0.5, "extent": 1.0},
    "exemplar_wide": {"role": "exemplar", "size": 255, "context": 1.5, "extent": 1.0},
    "exemplar_tight": {"role": "exemplar", "size": 63, "context": 0.1, "extent": 1.0},
    "search": {"role": "search", "size": 255, "context": 1.5, "extent": 1.0},
    "search_wide": {"role": "search", "size": 255, "context": 2.0, "extent": 1.0},
}
#: SiamRPN's two views only: a folder that the other models cannot train on.
SIAMRPN_VIEWS = {k: ALL_VIEWS[k] for k in ("exemplar", "search")}


def _jpeg(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError("OpenCV could not encode a crop as JPEG")
    return buf.tobytes()


def _frame(rng: np.random.Generator, box_xywh, colour, wh=(320, 240)) -> np.ndarray:
    w, h = wh
    low = rng.integers(0, 256, (h // 40 + 2, w // 40 + 2, 3), dtype=np.uint8)
    frame = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    x, y, bw, bh = (int(round(v)) for v in box_xywh)
    frame[y : y + bh, x : x + bw] = colour
    frame[y + bh // 3 : y + 2 * bh // 3, x : x + bw] = 255 - np.asarray(colour)
    return frame


def make_records(dataset: str, sequences: int, per_sequence: int, views: dict, seed: int = 0, p_negative=0.25):
    """Records of ``sequences`` x ``per_sequence`` pairs; every fourth-ish pair a negative."""
    records = []
    for s in range(sequences):
        seq = f"seq{s:03d}"
        for i in range(per_sequence):
            rng = np.random.default_rng([seed, s, i])
            negative = bool(rng.random() < p_negative)
            colour = rng.integers(0, 256, 3)
            box_ex = (rng.uniform(60, 200), rng.uniform(50, 150), rng.uniform(30, 70), rng.uniform(30, 70))
            box_se = (box_ex[0] + rng.uniform(-20, 20), box_ex[1] + rng.uniform(-20, 20), box_ex[2], box_ex[3])
            ex_frame = _frame(rng, box_ex, colour if not negative else 255 - colour)
            se_frame = _frame(rng, box_se, colour)
            crops = {}
            for name, v in views.items():
                frame, box = (ex_frame, box_ex) if v["role"] == "exemplar" else (se_frame, box_se)
                view = View(v["size"], v["context"], v["extent"])
                shift = (0.0, 0.0) if v["role"] == "exemplar" else tuple(rng.uniform(-30, 30, 2))
                win = window_for_box_xywh(box, view, shift_px=shift)
                box_xyxy = frame_to_crop_xyxy([box[0], box[1], box[0] + box[2], box[1] + box[3]], win, v["size"])
                guide = box_xyxy + rng.normal(0, 3, 4) if v["role"] == "search" else box_xyxy
                crops[name] = {
                    **v,
                    "context": float(v["context"]),
                    "extent": float(v["extent"]),
                    "jpeg": _jpeg(crop_square(frame, win, v["size"])),
                    "window_xyxy": [float(c) for c in win],
                    "frame_wh": [320, 240],
                    "box_xyxy": [float(c) for c in box_xyxy],
                    "guide_xyxy": [float(c) for c in guide],
                }
            records.append(
                {
                    "schema": SCHEMA_VERSION,
                    "key": f"{dataset}/{seq}/{i:04d}",
                    "dataset": dataset,
                    "chunk": -1,
                    "sequence": seq,
                    "track": "0",
                    "class_name": "",
                    "exemplar_sequence": f"seq{(s + 1) % sequences:03d}" if negative else seq,
                    "exemplar_track": "0",
                    "exemplar_frame": 0,
                    "search_frame": i + 1,
                    "negative": negative,
                    "crops": crops,
                    "distractors": [],
                    "flags": [],
                }
            )
    return records


def write_build(out: Path, records: list[dict], views: dict, shards: int = 2, dataset: str = "synthetic",
                corrupt_keys=(), schema_version: int = SCHEMA_VERSION) -> Path:
    """Write ``records`` as a build folder; ``corrupt_keys`` get garbage bytes instead of a record.

    ``schema_version=1`` writes the records as builds did before records carried a checksum (plain
    msgpack, ``schema`` 1): what the trainer must still read."""
    out = Path(out)
    records = sorted(records, key=lambda r: r["key"])
    per = -(-len(records) // shards)
    infos, rows = [], []
    for s in range(shards):
        name = f"{dataset}-{s:05d}"
        path = shard_path(out, name)
        part = records[s * per : (s + 1) * per]
        with ShardWriter(path) as writer:
            for r in part:
                if r["key"] in corrupt_keys:
                    writer.add_raw(r["key"], b"\xc1 not msgpack")
                elif schema_version == 1:
                    writer.add_raw(r["key"], msgpack.packb(r | {"schema": 1}, use_bin_type=True))
                else:
                    writer.add(r)
        infos.append({"name": name, "sha256": writer.sha256, "records": len(part), "bytes": writer.bytes_on_disk})
        rows += [manifest_row(r, name, 0, "search" if "search" in r["crops"] else "search_wide") for r in part]
    (out / MANIFEST_DIR).mkdir(parents=True, exist_ok=True)
    write_streamed(out / MANIFEST_DIR / "samples.parquet", SAMPLES_SCHEMA, [rows])
    build = {"format": BUILD_FORMAT, "schema_version": schema_version, "dataset": dataset,
             "views": views, "shards": infos, "config": {}, "run": {}}
    (out / BUILD_FILE).write_text(json.dumps(build, indent=1))
    return out


def build_generated_trackingnet(folder: str | Path, sequences: int, frames: int, size: tuple[int, int],
                                pairs_per_sequence: int, videos_per_shard: int, views: dict = ALL_VIEWS) -> Path:
    """A real ``dataprep build`` (synchronous scheduler) of a generated TrackingNet chunk written into
    ``folder/src``, with ``views`` (default: every model's); returns the build folder ``folder/build``."""
    from dataprep.build import run_build
    from dataprep.config import OutputConfig, PairsConfig, ViewConfig, load_config, with_overrides

    from testkit.trackingnet import write_trackingnet

    folder = Path(folder)
    write_trackingnet(folder / "src", chunks=(0,), sequences_per_chunk=sequences, frames=frames, size=size, seed=0)
    cfg = load_config(None, "trackingnet").replace(
        output=OutputConfig(videos_per_shard=videos_per_shard), pairs=PairsConfig(per_sequence=pairs_per_sequence),
        views={name: ViewConfig(v["role"], v["size"], v["context"], v["extent"]) for name, v in views.items()},
    )
    run_build(with_overrides(cfg, root=folder / "src", out=folder / "build", scheduler="synchronous"),
              show_progress=False)
    return folder / "build"


def read_records(out: str | Path) -> list[dict]:
    """Every record of the build folder ``out``, shard by shard in key order."""
    return [r for s in open_build(out).shards for r in ShardReader(s.path)]


def flip_in_record(path: Path, key: str, needle: bytes, offset: int, xor: int) -> None:
    """Damage record ``key`` inside the LMDB file the way a bad disk or copy does: XOR the byte ``offset``
    bytes into the first occurrence of ``needle`` in its stored bytes (a value is stored contiguously, also
    on overflow pages)."""
    reader = ShardReader(path)
    raw = reader.raw(key)
    reader.close()
    data = bytearray(path.read_bytes())
    at, inner = data.find(raw), raw.find(needle)
    if at < 0 or data.find(raw, at + 1) >= 0 or inner < 0:
        raise ValueError(f"record {key!r} is not stored once in {path}, or {needle!r} is not in it")
    data[at + inner + offset] ^= xor
    path.write_bytes(bytes(data))

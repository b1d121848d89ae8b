"""The shard record schema: one typed description shared by the dataprep writer and the trainer reader.

A record is a msgpack map (no pickle). Boxes are float ``xyxy`` in the pixel coordinates of the
crop they belong to (see :mod:`siamcore`); ``window_xyxy`` is the crop's square window in the
source frame, so any crop box maps back to the frame with :func:`siamcore.crop.crop_to_frame_xyxy`.

Stored bytes (version 2): ``0xC1`` + CRC-32 of the msgpack bytes (4 bytes, big-endian) + the msgpack
bytes. A flipped bit on disk would otherwise still decode (a box of 1e21, a JPEG with a wrong byte)
and be trained on silently; with the checksum :func:`unpack` refuses the record, so the reader skips it
by key. ``0xC1`` is the one byte msgpack never uses: a framed value is never mistaken for a version-1
value (a bare msgpack map, no checksum), which is still read. The frame is a pure function of the
record's bytes, so shards stay byte-deterministic.

Record layout (schema version ``SCHEMA_VERSION``)::

    schema        int     SCHEMA_VERSION
    key           str     stable sample id, also the LMDB key (utf-8)
    dataset       str     "trackingnet" | "vid" | "coco" | ...
    chunk         int     TrackingNet chunk, -1 where not applicable
    sequence      str     search sequence id (unique within dataset)
    track         str     target id within the sequence ("0" when single-target)
    class_name    str     "" when unknown
    exemplar_sequence str exemplar's sequence (differs from ``sequence`` for negatives)
    exemplar_track    str
    exemplar_frame int    frame index of the exemplar (0-based)
    search_frame  int     frame index of the search crop (0-based)
    negative      bool    exemplar shows another object: no positive target in the search crop
    crops         map     view name -> crop map (at least one "exemplar" and one "search" role)
    distractors   list    pasted distractors: {box_xyxy, category, source_id} in the "search" crop
    flags         list[str] free-form markers ("distractor_skipped", ...)

Crop map::

    role          str     "exemplar" | "search"
    size          int     output side, px
    context       float   context amount a
    extent        float   side multiplier (1 except SiamFC-style search)
    jpeg          bytes   the crop, RGB, JPEG
    window_xyxy   [4]     crop window in the source frame
    frame_wh      [2]     source frame size
    box_xyxy      [4]     the sequence's own target in this crop
    guide_xyxy    [4]|nil jittered previous-frame box (search) or exemplar box (exemplar)
"""

from __future__ import annotations

from typing import Any

import math
import struct
import zlib

import msgpack

SCHEMA_VERSION = 2
#: Versions :func:`unpack` reads: 1 is the same layout without the per-record checksum.
READABLE_VERSIONS = (1, 2)
_FRAME_TAG = b"\xc1"
_CRC = struct.Struct(">I")
_HEADER_BYTES = len(_FRAME_TAG) + _CRC.size

RECORD_FIELDS = {
    "schema": int,
    "key": str,
    "dataset": str,
    "chunk": int,
    "sequence": str,
    "track": str,
    "class_name": str,
    "exemplar_sequence": str,
    "exemplar_track": str,
    "exemplar_frame": int,
    "search_frame": int,
    "negative": bool,
    "crops": dict,
    "distractors": list,
    "flags": list,
}

CROP_FIELDS = {
    "role": str,
    "size": int,
    "context": float,
    "extent": float,
    "jpeg": bytes,
    "window_xyxy": list,
    "frame_wh": list,
    "box_xyxy": list,
    "guide_xyxy": (list, type(None)),
}

ROLES = ("exemplar", "search")


class SchemaError(ValueError):
    """A record that does not follow this schema version (or is not a record at all)."""


class RecordChecksumError(SchemaError):
    """A record whose stored bytes differ from the bytes that were written (damaged on disk or in a copy)."""


def validate(record: dict[str, Any], version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """Check fields and types (of a ``version`` record); return the record. Raises :class:`SchemaError`
    with what is wrong."""
    if not isinstance(record, dict):
        raise SchemaError(f"a record is a map, got {type(record).__name__}")
    if record.get("schema") != version:
        raise SchemaError(
            f"record schema version {record.get('schema')!r}, this code reads version {version} here "
            f"(versions {', '.join(map(str, READABLE_VERSIONS))} in all): rebuild the shards with the "
            "matching dataprep version"
        )
    _check_fields(record, RECORD_FIELDS, "record")
    roles = set()
    for name, crop in record["crops"].items():
        _check_fields(crop, CROP_FIELDS, f"crop {name!r}")
        if crop["role"] not in ROLES:
            raise SchemaError(f"crop {name!r}: role must be one of {ROLES}, got {crop['role']!r}")
        roles.add(crop["role"])
    if roles != set(ROLES):
        raise SchemaError(f"a record needs at least one crop of each role {ROLES}, has {sorted(roles)}")
    return record


def _check_fields(obj: dict, fields: dict, what: str) -> None:
    missing = [k for k in fields if k not in obj]
    if missing:
        raise SchemaError(f"{what}: missing fields {missing}")
    for k, typ in fields.items():
        if typ is float and isinstance(obj[k], int) and not isinstance(obj[k], bool):
            continue
        if not isinstance(obj[k], typ):
            raise SchemaError(f"{what}: field {k!r} should be {typ}, got {type(obj[k]).__name__}")


def pack(record: dict[str, Any]) -> bytes:
    """Validate and encode a record with its checksum (see the module docstring). Deterministic: same
    record -> same bytes (floats as doubles)."""
    validate(record)
    body = msgpack.packb(record, use_bin_type=True)
    return _FRAME_TAG + _CRC.pack(zlib.crc32(body)) + body


def unpack(data: bytes) -> dict[str, Any]:
    """Check the checksum (version 2), decode, validate and check the box values of a record.

    Damaged or foreign bytes raise :class:`SchemaError` (:class:`RecordChecksumError` when the
    checksum differs); a version-1 record (no checksum) is read with the value checks only.
    """
    data = bytes(data)
    if data[:1] == _FRAME_TAG:
        if len(data) < _HEADER_BYTES:
            raise SchemaError(f"record is {len(data)} bytes, shorter than its header")
        body, version = data[_HEADER_BYTES:], 2
        (stored,) = _CRC.unpack_from(data, len(_FRAME_TAG))
        if zlib.crc32(body) != stored:
            raise RecordChecksumError(
                f"record checksum differs (stored {stored:08x}, bytes give {zlib.crc32(body):08x}): its bytes "
                "changed after it was written (disk or copy damage); rebuild its shard"
            )
    else:
        body, version = data, 1
    try:
        record = msgpack.unpackb(body, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several exception types for garbage
        raise SchemaError(f"record is not valid msgpack: {exc}") from exc
    if version == 1 and isinstance(record, dict) and record.get("schema") == SCHEMA_VERSION:
        raise SchemaError(f"record says schema version {SCHEMA_VERSION} but has no checksum header: damaged")
    return check_box_values(validate(record, version))


def check_box_values(record: dict[str, Any]) -> dict[str, Any]:
    """Refuse boxes that cannot describe a target in their crop: not four finite numbers, or more than
    two crop sides outside the crop. A damaged value (even in a version-1 record, which has no
    checksum) would otherwise become a target with no positive anchor, trained on silently."""
    for name, crop in record["crops"].items():
        size = float(crop["size"])
        for field in ("window_xyxy", "box_xyxy", "guide_xyxy"):
            box = crop[field]
            if box is None:
                continue
            if len(box) != 4 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in box):
                raise SchemaError(f"crop {name!r}: {field} {box} is not four finite numbers")
            if field != "window_xyxy" and not all(-2 * size <= v <= 3 * size for v in box):
                raise SchemaError(f"crop {name!r}: {field} {box} lies far outside its {crop['size']} px crop")
    return record


def crops_by_role(record: dict[str, Any], role: str) -> dict[str, dict]:
    return {name: c for name, c in record["crops"].items() if c["role"] == role}


def view_signature(crop: dict[str, Any]) -> tuple:
    """What a model must match to use a stored crop: (role, size, context, extent)."""
    return (crop["role"], int(crop["size"]), round(float(crop["context"]), 6), round(float(crop["extent"]), 6))

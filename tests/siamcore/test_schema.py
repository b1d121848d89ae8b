"""The record schema: round trip, determinism, and refusal of wrong records."""

import msgpack
import pytest

from siamcore import schema


def _crop(role):
    return {
        "role": role, "size": 127, "context": 0.5, "extent": 1.0, "jpeg": b"\xff\xd8..\xff\xd9",
        "window_xyxy": [0.0, 0.0, 10.0, 10.0], "frame_wh": [320, 240], "box_xyxy": [1.0, 2.0, 3.0, 4.0],
        "guide_xyxy": None,
    }


def _record():
    return {
        "schema": schema.SCHEMA_VERSION, "key": "trackingnet/TRAIN_0/a/0/000001", "dataset": "trackingnet",
        "chunk": 0, "sequence": "a", "track": "0", "class_name": "", "exemplar_sequence": "a",
        "exemplar_track": "0", "exemplar_frame": 0, "search_frame": 5, "negative": False,
        "crops": {"exemplar": _crop("exemplar"), "search": _crop("search")}, "distractors": [], "flags": [],
    }


def test_round_trip_and_deterministic_bytes():
    packed = schema.pack(_record())
    assert packed == schema.pack(_record())
    assert schema.unpack(packed) == _record()


def test_wrong_version_is_refused_with_advice():
    rec = _record() | {"schema": 99}
    with pytest.raises(schema.SchemaError, match="rebuild the shards"):
        schema.unpack(msgpack.packb(rec, use_bin_type=True))


@pytest.mark.parametrize("mutate", [
    lambda r: r.pop("key"),
    lambda r: r.update(chunk="0"),
    lambda r: r["crops"].pop("search"),
    lambda r: r["crops"]["search"].update(role="other"),
    lambda r: r["crops"]["exemplar"].pop("jpeg"),
])
def test_malformed_records_are_refused(mutate):
    rec = _record()
    mutate(rec)
    with pytest.raises(schema.SchemaError):
        schema.pack(rec)


def test_garbage_bytes_raise_schema_error():
    with pytest.raises(schema.SchemaError):
        schema.unpack(b"\xc1\x00garbage")


def test_view_signature_rounds_floats():
    assert schema.view_signature(_crop("search")) == ("search", 127, 0.5, 1.0)


def test_every_single_bit_flip_of_a_packed_record_is_refused():
    """A record carries a checksum of its own bytes: any one flipped bit (a bad disk, a bad copy) is a
    SchemaError, never a record with a wrong box or a wrong JPEG byte."""
    packed = schema.pack(_record())
    for i in range(len(packed)):
        for bit in range(8):
            damaged = bytearray(packed)
            damaged[i] ^= 1 << bit
            with pytest.raises(schema.SchemaError):
                schema.unpack(bytes(damaged))


def test_checksum_error_says_the_bytes_changed():
    packed = bytearray(schema.pack(_record()))
    packed[-3] ^= 0x10
    with pytest.raises(schema.RecordChecksumError, match="checksum"):
        schema.unpack(bytes(packed))


def test_version_1_records_are_still_read_without_a_checksum():
    rec = _record() | {"schema": 1}
    assert schema.unpack(msgpack.packb(rec, use_bin_type=True)) == rec
    assert schema.SCHEMA_VERSION == 2 and 1 in schema.READABLE_VERSIONS


@pytest.mark.parametrize("box", [[1.46e21, 2.0, 3.0, 4.0], [1.0, float("nan"), 3.0, 4.0], [1.0, 2.0, -900.0, 4.0]])
def test_a_box_far_outside_its_crop_is_refused_on_read(box):
    """A value check on read: a box that cannot be a target in its crop (non-finite, or more than two crop
    sides away) is refused even in a version-1 record, which has no checksum."""
    rec = _record() | {"schema": 1}
    rec["crops"]["search"]["box_xyxy"] = box
    with pytest.raises(schema.SchemaError, match="box_xyxy"):
        schema.unpack(msgpack.packb(rec, use_bin_type=True))

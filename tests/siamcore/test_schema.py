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

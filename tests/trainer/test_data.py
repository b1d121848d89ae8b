import json
import shutil

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from siamcore.schema import SchemaError
from tracker.models import create_model
from trainer.augment import augment_crop, augment_pair
from trainer.config import AugmentConfig
from trainer.data import PairStream, load_pairs
from trainer.loader import images_to_device
from trainer.sources import DataError, held_out_sequences, match_views, open_sources

from testkit.shards import ALL_VIEWS, SIAMRPN_VIEWS, make_records, write_build


@pytest.fixture(scope="module")
def rpn():
    return create_model("siamrpn", channels=8)


def _stream(sources, **kw):
    args = dict(batch_size=4, seed=0, augment=AugmentConfig(), block_size=4, shuffle_buffer=8)
    args.update(kw)
    return PairStream(sources, **args)


def test_views_are_matched_by_geometry_not_name():
    model = create_model("siambroadcastrpn", backbone_width=8, channels=16, block_channels=8)
    assert match_views(ALL_VIEWS, model.views, "x") == {"exemplar": "exemplar_tight", "search": "search_wide"}
    with pytest.raises(DataError, match=r"needs a exemplar crop of 63 px at context 0.1.*exemplar \(exemplar 127"):
        match_views(SIAMRPN_VIEWS, model.views, "folder")


def test_open_sources_splits_sequences_and_reads_batches(tiny_build, rpn):
    src = open_sources([tiny_build], rpn, val_fraction=0.3, val_samples=100)
    assert src.crop_names == [{"exemplar": "exemplar", "search": "search"}]
    train_seqs = {k.split("/")[1] for k in src.catalog.key}
    val_seqs = {k.split("/")[1] for k in src.val_key}
    assert val_seqs and train_seqs and not train_seqs & val_seqs
    ds = _stream(src)
    ds.set_epoch(0)
    batches = list(ds)
    assert len(batches) == len(ds) == src.catalog.num_units // 4
    b = batches[0]
    assert b["exemplar"].dtype == torch.uint8 and b["exemplar"].shape == (4, 127, 127, 3)
    assert b["search"].shape == (4, 255, 255, 3) and b["search_box_xyxy"].shape == (4, 4)
    assert b["negative"].dtype == torch.bool and len(b["keys"]) == 4 and b["skipped"] == []
    assert torch.isfinite(b["search_guide_xyxy"]).all()
    x = images_to_device(b["search"], torch.device("cpu"), channels_last=True)
    assert x.shape == (4, 3, 255, 255) and x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x[1, 2], b["search"][1, :, :, 2].float())


def test_batches_do_not_depend_on_workers_and_resume(tiny_build, rpn):
    src = open_sources([tiny_build], rpn, val_fraction=0.0)
    ds = _stream(src, batch_size=2)
    ds.set_epoch(1)
    one = [b["keys"] for b in DataLoader(ds, batch_size=None, num_workers=0)]
    two_batches = list(DataLoader(ds, batch_size=None, num_workers=2))
    assert [b["keys"] for b in two_batches] == one and len(one) == 6
    ds.set_epoch(1, start_batch=4)
    resumed = list(DataLoader(ds, batch_size=None, num_workers=2))
    assert [b["keys"] for b in resumed] == one[4:]
    assert torch.equal(resumed[0]["search"], two_batches[4]["search"])  # same augmentation too
    ds.set_epoch(2)
    assert [b["keys"] for b in ds] != one


def test_augmentation_is_deterministic_and_changes_pixels():
    img = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    cfg = AugmentConfig(grayscale_p=0.0, brightness_p=1.0, contrast_p=1.0, saturation_p=1.0, blur_p=1.0)
    a = augment_crop(img, np.random.default_rng(5), cfg, gray=False)
    b = augment_crop(img, np.random.default_rng(5), cfg, gray=False)
    assert np.array_equal(a, b) and not np.array_equal(a, img) and a.dtype == np.uint8 and a.shape == img.shape
    ex, se = augment_pair(img, img, np.random.default_rng(1), AugmentConfig(grayscale_p=1.0))
    assert np.array_equal(ex[..., 0], ex[..., 1]) and np.array_equal(se[..., 1], se[..., 2])
    rates = [augment_pair(img, img, np.random.default_rng(i), AugmentConfig())[0] for i in range(400)]
    gray = np.mean([np.array_equal(r[..., 0], r[..., 2]) for r in rates])
    assert 0.13 < gray < 0.27  # p = 0.2


def test_corrupt_record_is_skipped_and_logged(tmp_path, rpn, caplog):
    records = make_records("synthetic", 4, 2, SIAMRPN_VIEWS)
    bad = records[3]["key"]
    out = write_build(tmp_path / "b", records, SIAMRPN_VIEWS, shards=1, corrupt_keys={bad})
    src = open_sources([out], rpn, val_fraction=0.0)
    keys = np.array([r["key"] for r in records[:4]], dtype=object)
    with caplog.at_level("WARNING"):
        batch = load_pairs(src, np.zeros(4, dtype=np.int64), keys)
    assert batch["keys"] == [r["key"] for r in records[:3]]
    assert batch["exemplar"].shape[0] == 3 and len(batch["skipped"]) == 1 and bad in batch["skipped"][0]
    assert bad in caplog.text
    with pytest.raises(DataError, match="unreadable"):
        load_pairs(src, np.zeros(1, dtype=np.int64), keys[3:4])


def test_bad_folders_are_refused(tmp_path, tiny_build, rpn):
    with pytest.raises(FileNotFoundError, match="build.json"):
        open_sources([tmp_path / "nothing"], rpn)
    old = shutil.copytree(tiny_build, tmp_path / "old")
    build = json.loads((old / "build.json").read_text())
    build["schema_version"] = 0
    (old / "build.json").write_text(json.dumps(build))
    with pytest.raises(SchemaError, match="schema version 0"):
        open_sources([old], rpn)
    missing = shutil.copytree(tiny_build, tmp_path / "missing")
    next((missing / "shards").glob("*.lmdb")).unlink()
    with pytest.raises(DataError, match="missing"):
        open_sources([missing], rpn)
    concat = create_model("siamconcatrpn", backbone_width=8, backbone_blocks=(1, 1, 1), channels=16,
                          refine_channels=8, extra_channels=(8, 8, 8))
    with pytest.raises(DataError, match="exemplar crop of 255 px at context 1.5"):
        open_sources([write_build(tmp_path / "rpnonly", make_records("s", 2, 1, SIAMRPN_VIEWS), SIAMRPN_VIEWS)], concat)
    views = {"exemplar_wide": ALL_VIEWS["exemplar_wide"], "search": ALL_VIEWS["search"]}
    records = make_records("s", 2, 1, views)
    for r in records:
        r["crops"]["search"]["guide_xyxy"] = None
    with pytest.raises(DataError, match="no guide box in its search crop"):
        open_sources([write_build(tmp_path / "noguide", records, views, shards=1)], concat)


def test_mixture_of_folders(tiny_build, rpn_build, rpn):
    src = open_sources([tiny_build, rpn_build], rpn, val_fraction=0.0)
    assert src.num_folders == 2 and src.catalog.num_units == 20
    ds = _stream(src, batch_size=2, weights=[0.0, 1.0])
    ds.set_epoch(0)
    keys = [k for b in ds for k in b["keys"]]
    assert len(keys) == 8 and all(k.startswith("other/") for k in keys)


def test_validation_holds_out_whole_sequences_and_never_none_silently():
    seqs = [("davis", f"s{i}") for i in range(6)]
    assert held_out_sequences(seqs, 0.0) == set()  # asked to be off
    assert held_out_sequences(seqs[:1], 0.5) == set()  # a single sequence cannot be held out
    held = held_out_sequences(seqs, 1e-9)  # no hash falls below: still one held out
    assert len(held) == 1 and held <= set(seqs)
    assert held_out_sequences(seqs, 1e-9) == held  # and always the same one
    assert len(held_out_sequences(seqs, 0.999999)) == 6
    assert held_out_sequences(seqs, 0.1, ["davis/s3", "davis/s5"]) == {("davis", "s3"), ("davis", "s5")}
    with pytest.raises(DataError, match="unknown sequence.*davis/nope.*known"):
        held_out_sequences(seqs, 0.1, ["davis/nope"])


def test_named_validation_sequences_give_all_their_pairs(tiny_build, rpn):
    src = open_sources([tiny_build], rpn, val_fraction=0.02, val_samples=100,
                       val_sequences=["synthetic/seq001", "synthetic/seq004"])
    assert src.val_sequences == ["synthetic/seq001", "synthetic/seq004"]
    held = {k.split("/")[1] for k in src.val_key}
    assert held == {"seq001", "seq004"} and not any(k.split("/")[1] in held for k in src.catalog.key)
    assert len(src.val_key) > 2  # every positive pair of both sequences, not one per sequence
    few = open_sources([tiny_build], rpn, val_samples=2, val_sequences=["synthetic/seq001", "synthetic/seq004"])
    assert {k.split("/")[1] for k in few.val_key} == {"seq001", "seq004"}  # taken in turn per sequence


def test_repaired_batches_read_the_exemplar_of_another_record(tiny_build, rpn):
    src = open_sources([tiny_build], rpn, val_fraction=0.0)
    plain = _stream(src, augment=None)
    plain.set_epoch(0)
    mixed = _stream(src, augment=None, same_sequence_p=0.0, other_sequence_p=1.0)
    mixed.set_epoch(0)
    a, b = next(iter(plain)), next(iter(mixed))
    assert a["keys"] == b["keys"] and torch.equal(a["search"], b["search"])  # same search crops
    assert b["negative"].all() and not torch.equal(a["exemplar"], b["exemplar"])  # other targets' exemplars


def test_the_manifest_columns_the_trainer_reads_are_in_the_shared_schema():
    from siamcore.manifest import SAMPLES_COLUMNS
    from trainer.sources import MANIFEST_COLUMNS

    assert set(MANIFEST_COLUMNS) <= set(SAMPLES_COLUMNS)

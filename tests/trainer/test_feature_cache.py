"""The frozen-trunk feature cache: right features, right boxes, reuse, refusal, and the same training."""

import numpy as np
import pytest
import torch

from trainer.config import AugmentConfig, ConfigError
from trainer.data import PairStream, load_pairs
from trainer.feature_cache import cache_key, cached_batch, check_cacheable, open_or_build
from trainer.sources import DataError, open_sources
from tracker.models import create_model

from testkit.shards import SIAMRPN_VIEWS, flip_in_record, make_records, write_build

NO_AUGMENT = AugmentConfig(grayscale_p=0.0, brightness_p=0.0, contrast_p=0.0, saturation_p=0.0, blur_p=0.0)


def _frozen_rpn(**kw):
    torch.manual_seed(0)
    model = create_model("siamrpn", channels=8, **kw)
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    return model


def test_cached_features_are_the_trunk_outputs_of_the_stored_crops(tiny_build, tmp_path):
    model = _frozen_rpn()
    src = open_sources([tiny_build], model, val_fraction=0.0)
    cache = open_or_build(src, model, NO_AUGMENT, copies=2, seed=0, cache_dir=tmp_path, progress=False)
    assert not cache.reused and len(cache) == len(src.catalog) and cache.copies == 2
    rows = np.array([0, 5, 17])
    batch = load_pairs(src, src.catalog.shard[rows], src.catalog.key[rows])
    model.eval()
    with torch.no_grad():
        ex = model.backbone(batch["exemplar"].permute(0, 3, 1, 2).float())
        se = model.backbone(batch["search"].permute(0, 3, 1, 2).float())
    for copy in range(2):  # no augmentation: both copies hold the same features
        torch.testing.assert_close(torch.from_numpy(cache.exemplar[copy, rows].astype(np.float32)), ex,
                                   rtol=2e-3, atol=2e-3 * float(ex.abs().max()))
        torch.testing.assert_close(torch.from_numpy(cache.search[copy, rows].astype(np.float32)), se,
                                   rtol=2e-3, atol=2e-3 * float(se.abs().max()))
    np.testing.assert_allclose(cache.search_box_xyxy[rows], batch["search_box_xyxy"].numpy())
    assert cache.decoded.all() and list(cache.keys[rows]) == batch["keys"]


def test_a_cache_is_reused_only_for_the_same_data_trunk_and_augmentation(tiny_build, tmp_path):
    model = _frozen_rpn()
    src = open_sources([tiny_build], model, val_fraction=0.0)
    first = open_or_build(src, model, NO_AUGMENT, 1, 0, tmp_path, progress=False)
    again = open_or_build(src, model, NO_AUGMENT, 1, 0, tmp_path, progress=False)
    assert again.reused and again.path == first.path and again.build_seconds == first.build_seconds
    key = cache_key(src, model, NO_AUGMENT, 1, 0)
    assert cache_key(src, model, AugmentConfig(), 1, 0) != key
    assert cache_key(src, model, NO_AUGMENT, 2, 0) != key and cache_key(src, model, NO_AUGMENT, 1, 1) != key
    with torch.no_grad():
        model.backbone.features[0].weight[0, 0, 0, 0] += 1.0
    assert cache_key(src, model, NO_AUGMENT, 1, 0) != key
    assert not any(p.name.endswith(".building") for p in tmp_path.iterdir())  # nothing half-built is left


def _half_overwritten(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2:] = bytes(len(data) - len(data) // 2)
    path.write_bytes(bytes(data))


def _nan_bytes(path):
    data = bytearray(path.read_bytes())
    data[-64:] = np.full(32, np.nan, np.float16).tobytes()
    path.write_bytes(bytes(data))


def _truncated(path):
    path.write_bytes(path.read_bytes()[:-100])


@pytest.mark.parametrize("damage, file, problem", [
    (_half_overwritten, "search.npy", "search.npy changed since it was built"),
    (_nan_bytes, "search.npy", "search.npy changed since it was built"),
    (_truncated, "exemplar.npy", "exemplar.npy has"),
    (lambda p: p.unlink(), "boxes.npz", "boxes.npz missing"),
    (lambda p: p.write_text("{"), "meta.json", "meta.json unreadable"),
])
def test_a_damaged_cache_is_rebuilt_never_trained_on(tiny_build, tmp_path, caplog, damage, file, problem):
    model = _frozen_rpn()
    src = open_sources([tiny_build], model, val_fraction=0.0)
    first = open_or_build(src, model, NO_AUGMENT, 1, 0, tmp_path, progress=False)
    expected = np.array(first.search)
    damage(first.path / file)
    with caplog.at_level("WARNING"):
        again = open_or_build(src, model, NO_AUGMENT, 1, 0, tmp_path, progress=False)
    assert not again.reused and again.path == first.path
    assert problem in caplog.text and "rebuilding it" in caplog.text
    np.testing.assert_array_equal(np.array(again.search), expected)  # the same features, built again
    assert open_or_build(src, model, NO_AUGMENT, 1, 0, tmp_path, progress=False).reused
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.path.name]  # nothing damaged or half-built left


def test_the_cache_refuses_trained_or_guided_trunks():
    with pytest.raises(ConfigError, match="frozen trunk.*model.freeze"):
        check_cacheable(create_model("siamrpn", channels=8))
    guided = create_model("siamconcatrpn", backbone_width=8, backbone_blocks=(1, 1, 1), channels=16,
                          refine_channels=8, extra_channels=(8, 8, 8))
    with pytest.raises(ConfigError, match="takes guide masks"):
        check_cacheable(guided)


def test_cached_batches_follow_the_plan(tiny_build, tmp_path):
    model = _frozen_rpn()
    src = open_sources([tiny_build], model, val_fraction=0.0)
    cache = open_or_build(src, model, NO_AUGMENT, 1, 0, tmp_path, progress=False)
    stream = PairStream(src, batch_size=4, seed=3, augment=None, block_size=4, shuffle_buffer=8,
                        same_sequence_p=0.5, other_sequence_p=0.3)
    stream.set_epoch(1)
    images = next(iter(stream))
    cached = cached_batch(cache, stream.plan, 0, seed=3)
    assert cached["keys"] == images["keys"]
    assert torch.equal(cached["negative"], images["negative"])
    torch.testing.assert_close(cached["search_box_xyxy"], images["search_box_xyxy"])
    assert cached["exemplar_features"].shape == (4, 256, 6, 6) and cached["exemplar_features"].dtype == torch.float16


def test_corrupt_record_is_left_out_of_the_cache_logged_and_counted(tmp_path, caplog):
    """One byte of a crop's JPEG changed on disk (it may still decode): the checksum leaves the record
    out of the cache, logged with shard and key; past data.max_bad_fraction the cache is refused."""
    records = make_records("c", 8, 1, SIAMRPN_VIEWS, p_negative=0.0)
    build = write_build(tmp_path / "b", records, SIAMRPN_VIEWS, shards=1, dataset="c")
    key = records[3]["key"]
    jpeg = records[3]["crops"]["search"]["jpeg"]
    flip_in_record(build / "shards" / "c-00000.lmdb", key, jpeg[len(jpeg) // 2 : len(jpeg) // 2 + 32], 0, 0x5A)
    model = _frozen_rpn()
    src = open_sources([build], model, val_fraction=0.0)
    with caplog.at_level("WARNING"):
        cache = open_or_build(src, model, NO_AUGMENT, 1, 0, tmp_path / "cache", progress=False, max_bad_fraction=0.2)
    assert [str(k) for k in cache.keys[~cache.decoded]] == [key]
    assert f"c-00000.lmdb:{key}: " in caplog.text and "checksum" in caplog.text
    with pytest.raises(DataError, match="1 of 8 training records are damaged"):
        open_or_build(src, model, NO_AUGMENT, 1, 0, tmp_path / "cache", progress=False, max_bad_fraction=0.01)

"""The sequence-folder sources (otb, vot, davis, tlp): listing, name selection, box adaptation and skips."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from siamcore.datasets import load_davis, load_otb

from dataprep.config import ConfigError, load_config, with_overrides
from dataprep.sources import SOURCES, REASONS, SourceError, get_source
from dataprep.sources import folders


def _load_all(name, root, **kw):
    src = get_source(name)
    videos, list_skips = src.list_videos(str(root), **kw)
    seqs, skips = {}, list(list_skips)
    for v in videos:
        got, s = src.load_video(v)
        skips += s
        seqs.update({x.video.name: x for x in got})
    return videos, seqs, skips


def test_registered_with_the_reader_contract():
    for name in ("otb", "vot", "davis", "tlp"):
        assert SOURCES[name].name == name
    assert {"too_few_frames", "unreadable_sequence"} <= set(REASONS)


def test_tlp_absent_frames_are_nan_and_short_sequences_skipped(tlp_dataset):
    videos, seqs, skips = _load_all("tlp", tlp_dataset.root)
    assert [v.uid for v in videos] == ["tlp/all/Alpha", "tlp/all/Beta", "tlp/all/Delta", "tlp/all/Gamma"]
    assert sorted(seqs) == ["Alpha", "Beta"]
    for name, seq in seqs.items():
        truth = tlp_dataset.truth[name]
        assert np.array_equal(np.isnan(seq.boxes_xywh), np.isnan(truth))  # absent frames stay NaN
        assert np.allclose(seq.boxes_xywh[~np.isnan(truth[:, 0])], truth[~np.isnan(truth[:, 0])])
        assert seq.track == "0" and seq.frames[0].path.endswith(f"/{name}/img/00001.jpg")
    reasons = {(k.where, k.reason) for k in skips}
    assert reasons == {("tlp/all/Gamma", "too_few_frames"), ("tlp/all/Delta", "empty_sequence")}


def test_sequences_and_exclude_select_at_listing(tlp_dataset):
    src = get_source("tlp")
    videos, _ = src.list_videos(str(tlp_dataset.root), sequences=["beta", "ALPHA"])
    assert [v.name for v in videos] == ["Alpha", "Beta"]  # sorted, whatever the order asked
    videos, _ = src.list_videos(str(tlp_dataset.root), exclude_sequences=["gamma", "Delta"])
    assert [v.name for v in videos] == ["Alpha", "Beta"]
    with pytest.raises(SourceError, match="not found.*Epsilon; found: Alpha, Beta, Delta, Gamma"):
        src.list_videos(str(tlp_dataset.root), sequences=["Epsilon"])
    with pytest.raises(SourceError, match="not found.*Alhpa"):
        src.list_videos(str(tlp_dataset.root), exclude_sequences=["Alhpa"])
    with pytest.raises(SourceError, match="TLP has no chunks"):
        src.list_videos(str(tlp_dataset.root), chunks="0")
    with pytest.raises(SourceError, match="TLP root not found"):
        src.list_videos(str(tlp_dataset.root / "missing"))


def test_unreadable_folder_and_missing_masks_are_recorded(tmp_path, tlp_dataset):
    root = tmp_path / "tlp"
    shutil.copytree(tlp_dataset.root, root)
    videos, _ = get_source("tlp").list_videos(str(root), sequences=["Alpha", "Beta"])
    shutil.rmtree(root / "Beta" / "img")  # broken after listing
    lines = (root / "Alpha" / "groundtruth_rect.txt").read_text().splitlines()
    assert lines[7].startswith("8,")
    lines[7] = lines[7].replace(",", ";")  # frame 8 malformed
    (root / "Alpha" / "groundtruth_rect.txt").write_text("\n".join(lines) + "\n")
    folders._listing.cache_clear()
    (alpha,), skips = get_source("tlp").load_video(videos[0])
    assert np.isnan(alpha.boxes_xywh[7]).all()
    assert [(k.reason, k.detail) for k in skips] == [("missing_annotation", "1 frame(s) without a box in the "
                                                                            "annotation: 7")]
    seqs, skips = get_source("tlp").load_video(videos[1])
    assert seqs == [] and skips[0].reason == "unreadable_sequence" and "Beta" in skips[0].detail


def test_real_otb_vot_davis_boxes_are_the_readers(shared_data):
    _, seqs, skips = _load_all("otb", shared_data / "otb", exclude_sequences=["Car4", "girl", "Deer"])
    assert sorted(seqs) == ["Couple", "Crossing"] and skips == []
    reader = {s.name: s for s in load_otb(shared_data / "otb", ["Couple"])}
    assert np.array_equal(seqs["Couple"].boxes_xywh, reader["Couple"].gt_xywh)
    assert [f.path for f in seqs["Couple"].frames] == [str(p) for p in reader["Couple"].frames]

    videos, seqs, skips = _load_all("vot", shared_data / "vot2017")
    assert {n: len(s.frames) for n, s in seqs.items()} == {"ball1": 105, "book": 175, "traffic": 191}
    assert skips == [] and not seqs["ball1"].boxes_xywh.flags.writeable

    _, seqs, skips = _load_all("davis", shared_data / "davis2016", sequences=["dog"])
    (dog,) = load_davis(shared_data / "davis2016", ["dog"])
    assert list(seqs) == ["dog"] and np.array_equal(seqs["dog"].boxes_xywh, dog.gt_xywh) and skips == []


def test_config_keys_for_the_folder_datasets(tmp_path):
    cfg = with_overrides(load_config(None, "otb"), sequences="Couple, Jogging.1", exclude_sequences="Girl")
    assert cfg.sequences == ["Couple", "Jogging.1"] and cfg.exclude_sequences == ["Girl"]
    assert cfg.output.videos_per_shard == 0 and cfg.output.min_shards == 16  # sized shards
    assert cfg.sha256() != load_config(None, "otb").sha256()  # they change the output, so the hash
    with pytest.raises(ConfigError, match="'sequences' .* applies to the sequence-folder datasets"):
        with_overrides(load_config(None, "trackingnet"), sequences="a")
    with pytest.raises(ConfigError, match="davis has no splits"):
        with_overrides(load_config(None, "davis"), split="train")
    path = tmp_path / "c.toml"
    path.write_text('dataset = "vot"\nsequences = "ball1,book"\nexclude_sequences = ["book"]\n')
    cfg = load_config(path)
    assert cfg.sequences == ["ball1", "book"] and cfg.exclude_sequences == ["book"]

"""COCO builds end to end (synchronous scheduler): still pairs, same-class distractors, guide boxes,
bad inputs, determinism; and distractors pasted into video pairs."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from siamcore.boxes import iou_xyxy, xywh_to_xyxy
from siamcore.crop import frame_to_crop_xyxy
from siamcore.shards import open_build

from dataprep.build import run_build
from dataprep.class_map import distractor_categories
from dataprep.cli import EXIT_STRICT_SKIPS, app
from dataprep.config import load_config, with_overrides
from siamcore.manifest import read_table
from dataprep.records import decode_jpeg_rgb
from dataprep.sources import coco
from dataprep.verify import verify_build

from testkit.shards import read_records


def _build(dataset, root, out, config_changes=None, **flags):
    cfg = load_config(None, dataset)
    if config_changes:
        cfg = cfg.replace(**config_changes(cfg))
    cfg = with_overrides(cfg, root=root, out=out, scheduler="synchronous", **flags)
    return run_build(cfg, show_progress=False)


@pytest.fixture(scope="module")
def coco_build(coco_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("coco_build") / "out"
    _build("coco", coco_dataset.root, out, pairs_per_sequence=3)
    return out


def test_still_pairs_with_same_class_distractors(coco_dataset, coco_build):
    truth = coco_dataset.truth
    info = open_build(coco_build)
    b = info.build
    usable = [i for i, inst in truth.items() if inst.usable]
    assert b["counts"]["pairs"] == 3 * len(usable) and b["counts"]["skipped"] == {"iscrowd": 1, "tiny_instance": 1}
    assert b["config"]["splits"] == ["train2017"] and b["config"]["distractors"]["p_distractor"] == 1.0
    assert "root" not in b["config"]["distractors"]  # paths are not hashed
    assert b["distractor_bank"]["instances"] == len(usable) and b["distractor_bank"]["split"] == "train2017"
    bank = coco.load_bank(coco_dataset.root, "train2017")
    records = read_records(coco_build)
    assert {int(r["track"]) for r in records} == set(usable)
    pasted = 0
    for r in records:
        inst = truth[int(r["track"])]
        assert r["dataset"] == "coco" and r["chunk"] == -1 and r["class_name"] == inst.category
        assert r["sequence"] == str(inst.image_id) and r["search_frame"] == 0 == r["exemplar_frame"]
        se, ex = r["crops"]["search"], r["crops"]["exemplar"]
        target = np.array(se["box_xyxy"])
        assert se["box_xyxy"] == pytest.approx(list(frame_to_crop_xyxy(xywh_to_xyxy(np.array(inst.bbox_xywh)),
                                                                        se["window_xyxy"], 255)))
        if not r["negative"]:  # a still: exemplar and search crops of the same photo, a photometric change
            assert r["exemplar_sequence"] == r["sequence"] and r["exemplar_track"] == r["track"]
            assert "photometric" in r["flags"] and ex["window_xyxy"] != se["window_xyxy"]
        for d in r["distractors"]:
            pasted += 1
            box = np.array(d["box_xyxy"])
            assert d["category"] == inst.category  # same class
            assert d["source_id"] != int(r["track"]) and d["source_id"] in bank.ids_by_category[inst.category]
            assert box.min() >= 0 and box.max() <= 255 and np.all(box == np.round(box))  # fully inside
            assert float(iou_xyxy(box, target)) <= 0.3 + 1e-12
        if inst.category == "kite":  # the only kite: no same-class source
            assert r["distractors"] == [] and "distractor_no_source" in r["flags"]
        if int(r["track"]) == 14:  # compact snake: its only peer is too long to fit in the crop
            assert r["distractors"] == [] and "distractor_too_large" in r["flags"]
    assert pasted >= len(records) - 3 - 3 - 5  # kite, compact snake, a few with no room
    rows = read_table(coco_build / "manifest" / "samples.parquet").to_pylist()
    by_key = {r["key"]: r for r in records}
    for row in rows:
        rec = by_key[row["key"]]
        assert row["has_distractor"] == bool(rec["distractors"]) and row["flags"] == ",".join(rec["flags"])
    assert verify_build(coco_build, show_progress=False).ok


def test_distractor_pixels_are_pasted_through_the_mask_only(coco_dataset, tmp_path):
    """Against the same build without distractors (photometric change off in both), the search crops
    differ only inside the distractor box: every JPEG block (16 px MCU) away from it decodes identically,
    and the labels (target and guide boxes) are unchanged."""

    def changes(p):
        def f(cfg):
            return {"photometric": cfg.photometric.__class__(enabled=False),
                    "distractors": cfg.distractors.__class__(source="coco", p_distractor=p)}
        return f

    _build("coco", coco_dataset.root, tmp_path / "with", changes(1.0), pairs_per_sequence=2)
    _build("coco", coco_dataset.root, tmp_path / "without", changes(0.0), pairs_per_sequence=2)
    without = {r["key"]: r for r in read_records(tmp_path / "without")}
    checked = 0
    for r in read_records(tmp_path / "with"):
        plain = without[r["key"]]
        assert plain["distractors"] == [] and plain["flags"] == []
        se, se_plain = r["crops"]["search"], plain["crops"]["search"]
        assert se["box_xyxy"] == se_plain["box_xyxy"] and se["guide_xyxy"] == se_plain["guide_xyxy"]  # labels unchanged
        assert r["crops"]["exemplar"] == plain["crops"]["exemplar"]
        if not r["distractors"]:
            assert se["jpeg"] == se_plain["jpeg"]
            continue
        got, ref = decode_jpeg_rgb(se["jpeg"]).astype(int), decode_jpeg_rgb(se_plain["jpeg"]).astype(int)
        x0, y0, x1, y1 = (int(v) for v in r["distractors"][0]["box_xyxy"])
        untouched = np.ones((255, 255), bool)
        # changed MCUs, plus one MCU around them (the decoder's chroma upsampling reads across MCU edges)
        ys = slice(max(y0 // 16 * 16 - 16, 0), -(-y1 // 16) * 16 + 16)
        xs = slice(max(x0 // 16 * 16 - 16, 0), -(-x1 // 16) * 16 + 16)
        untouched[ys, xs] = False
        assert np.array_equal(got[untouched], ref[untouched])
        assert np.abs(got - ref)[y0:y1, x0:x1].mean() > 8  # something was pasted in the box
        checked += 1
    assert checked >= 5


def test_builds_are_deterministic_and_seeded(coco_dataset, coco_build, tmp_path):
    again = tmp_path / "again"
    _build("coco", coco_dataset.root, again, pairs_per_sequence=3)
    for name in ("shards/shard-00000.lmdb", "manifest/samples.parquet", "manifest/skipped.parquet"):
        assert (again / name).read_bytes() == (coco_build / name).read_bytes()
    other = tmp_path / "other"
    _build("coco", coco_dataset.root, other, pairs_per_sequence=3, seed=1)
    a = {r["key"]: r["distractors"] for r in read_records(coco_build)}
    b = {r["key"]: r["distractors"] for r in read_records(other)}
    assert a.keys() == b.keys() and a != b


def test_real_sample_person_distractors(coco_mini_root, tmp_path):
    out = tmp_path / "out"
    result = _build("coco", coco_mini_root, out, pairs_per_sequence=4, split="val2017")
    assert result.build["counts"]["skipped"] == {"tiny_instance": 2}
    persons = [r for r in read_records(out) if r["class_name"] == "person"]
    assert len(persons) == 5 * 4
    with_distractor = [r for r in persons if r["distractors"]]
    assert len(with_distractor) >= 15
    for r in with_distractor:
        (d,) = r["distractors"]
        assert d["category"] == "person" and d["source_id"] in (0, 1, 6, 7, 8) and d["source_id"] != int(r["track"])
    for r in read_records(out):
        if r["class_name"] in ("car", "sofa", "chair"):  # one instance each in the sample
            assert r["distractors"] == [] and "distractor_no_source" in r["flags"]


def test_bad_inputs_are_skipped_with_reasons(coco_bad, tmp_path):
    out = tmp_path / "out"
    result = _build("coco", coco_bad.root, out, pairs_per_sequence=4, split="bad2017")
    skipped = read_table(out / "manifest" / "skipped.parquet").to_pylist()
    reasons = sorted(r["reason"] for r in skipped)
    expected_list = [b.reason for b in coco_bad.bad if b.stage == "list"]
    assert reasons.count("malformed_annotation") == len(expected_list)
    assert reasons.count("degenerate_mask") == 1  # the four broken instances of image 1, one row
    for b in coco_bad.bad:
        if b.stage == "read":  # missing / truncated image: every pair using it is skipped (negatives too)
            rows = [r for r in skipped if r["reason"] == b.reason]
            assert len([r for r in rows if b.where in r["where"]]) == 4
            image = "imgs/" + b.where.split("/")[1].zfill(12) + ".jpg"
            assert all(image in r["detail"] for r in rows)
    records = read_records(out)
    assert {r["sequence"] for r in records} == {"1", "2"}
    flags = [f for r in records for f in r["flags"]]
    assert "distractor_source_unreadable" in flags  # a source on the missing/corrupt image: not pasted
    assert all(d["source_id"] in (1, 2, 3, 4) for r in records for d in r["distractors"])
    assert result.num_skipped == len(skipped)


def test_cli_coco_errors_and_strict(coco_bad, coco_dataset, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["build", "--dataset", "coco", "--root", str(coco_dataset.root), "--chunks", "0",
                              "--out", str(tmp_path / "a"), "--scheduler", "synchronous"])
    assert res.exit_code == 2 and "COCO has no chunks" in " ".join(res.output.split())
    res = runner.invoke(app, ["build", "--dataset", "coco", "--root", str(coco_bad.root), "--split", "notjson",
                              "--out", str(tmp_path / "b"), "--scheduler", "synchronous"])
    assert res.exit_code == 2 and "not valid JSON" in " ".join(res.output.split()) and not (tmp_path / "b").exists()
    res = runner.invoke(app, ["build", "--dataset", "vid", "--root", str(tmp_path), "--distractors", "kitti:x"])
    assert res.exit_code == 2 and "coco:ROOT" in " ".join(res.output.split())
    res = runner.invoke(app, ["build", "--dataset", "coco", "--root", str(coco_bad.root), "--split", "bad2017",
                              "--out", str(tmp_path / "c"), "--scheduler", "synchronous", "--strict",
                              "--no-progress"])
    assert res.exit_code == EXIT_STRICT_SKIPS


def test_video_pairs_get_distractors_from_a_coco_folder(vid_dataset, coco_dataset, tmp_path):
    out = tmp_path / "out"
    result = _build("vid", vid_dataset.root, out, distractors=f"coco:{coco_dataset.root}", pairs_per_sequence=8)
    b = json.loads((out / "build.json").read_text())
    assert b["config"]["distractors"] == {**b["config"]["distractors"], "source": "coco", "split": "train2017",
                                          "p_distractor": 0.5}
    assert result.build["distractor_bank"]["instances"] > 0
    records = read_records(out)
    with_distractor = [r for r in records if r["distractors"]]
    assert 0.25 * len(records) < len(with_distractor) < 0.75 * len(records)
    bank = coco.load_bank(coco_dataset.root, "train2017")
    for r in with_distractor:
        (d,) = r["distractors"]
        wanted = distractor_categories("vid", r["class_name"])
        if wanted is not None:
            assert d["category"] in wanted
        assert d["source_id"] in bank.all_ids
        assert float(iou_xyxy(np.array(d["box_xyxy"]), np.array(r["crops"]["search"]["box_xyxy"]))) <= 0.3
    assert not any("photometric" in r["flags"] for r in records)  # video pairs are not stills
    plain = tmp_path / "plain"
    _build("vid", vid_dataset.root, plain, pairs_per_sequence=8)
    assert all(r["distractors"] == [] and r["flags"] == [] for r in read_records(plain))
    # frames, jitter and guides do not depend on whether distractors are pasted
    a = {r["key"]: r["crops"]["search"]["window_xyxy"] for r in records}
    assert a == {r["key"]: r["crops"]["search"]["window_xyxy"] for r in read_records(plain)}


def test_coco_pipeline_file_equals_the_built_in_defaults(tmp_path):
    from dataprep import config as C

    repo = Path(__file__).resolve().parents[2]
    cfg = C.load_config(repo / "pipelines" / "dataprep" / "coco.toml")
    assert cfg == C.load_config(None, "coco")
    assert (cfg.pairs.per_sequence, cfg.distractors.p_distractor, cfg.distractors.source) == (1, 1.0, "coco")
    assert cfg.photometric.enabled and cfg.splits == ["train2017"]
    vid = C.load_config(None, "vid")
    assert (vid.distractors.source, vid.distractors.p_distractor, vid.photometric.enabled) == ("", 0.5, False)
    # a file's partial table keeps the other COCO defaults
    path = tmp_path / "c.toml"
    path.write_text('dataset = "coco"\n[pairs]\nmax_gap = 5\n[distractors]\nmax_iou = 0.1\n')
    cfg = C.load_config(path)
    assert (cfg.pairs.per_sequence, cfg.pairs.max_gap, cfg.distractors.p_distractor, cfg.distractors.max_iou) == (
        1, 5, 1.0, 0.1)
    for text, message in [
        ('dataset = "coco"\n[distractors]\np_distractor = 1.5\n', "p_distractor"),
        ('dataset = "coco"\n[distractors]\nsource = "lvis"\n', "distractors.source"),
        ('dataset = "coco"\n[distractors]\nscale_min = 2.0\n', "scale_min"),
        ('dataset = "coco"\n[distractors]\ntriess = 2\n', "unknown key 'distractors.triess'"),
        ('dataset = "vid"\nchunks = "0"\n', "TrackingNet only"),
    ]:
        path.write_text(text)
        with pytest.raises(C.ConfigError, match=message):
            C.load_config(path)
    flags = C.with_overrides(C.load_config(None, "vid"), distractors="coco:/data/coco", p_distractor=0.25)
    assert (flags.distractors.source, flags.distractors.root, flags.distractors.p_distractor) == (
        "coco", "/data/coco", 0.25)
    assert C.with_overrides(C.load_config(None, "coco"), distractors="none").distractors.source == "none"
    assert C.with_overrides(C.load_config(None, "coco"), split="val2017").splits == ["val2017"]


def test_two_local_workers_give_the_same_bytes_as_synchronous(coco_dataset, tmp_path, build_output):
    """Each worker process loads the distractor bank itself (cached); the shards do not depend on where."""
    from dataprep.config import OutputConfig

    outs = {}
    for name, flags in {"sync": {"scheduler": "synchronous"}, "local2": {"scheduler": "local", "workers": 2}}.items():
        cfg = load_config(None, "coco").replace(output=OutputConfig(videos_per_shard=2))
        outs[name] = tmp_path / name
        run_build(with_overrides(cfg, root=coco_dataset.root, out=outs[name], pairs_per_sequence=2, **flags),
                  show_progress=False)
    reference, _, _ = build_output(outs["sync"])
    assert len([f for f in reference if f.endswith(".lmdb")]) == 3
    files, _, _ = build_output(outs["local2"])
    for f in reference:
        assert files[f] == reference[f], f


HUGE_POLYGON, HUGE_BOX = 1_000_000, 1_000_001


def _hostile_coco(shared_data, root: Path) -> Path:
    """Two real coco128 images with their real annotations, plus two instances whose coordinates make
    pycocotools allocate without bound: a polygon at 1e308 (21.8 GB, then a segfault) and a 1e308 box."""
    src = shared_data / "coco128"
    data = json.loads((src / "annotations" / "instances_train2017.json").read_text())
    images = data["images"][:2]
    (root / "annotations").mkdir(parents=True)
    (root / "train2017").mkdir()
    for im in images:
        (root / "train2017" / im["file_name"]).symlink_to(src / "train2017" / im["file_name"])
    anns = [a for a in data["annotations"] if a["image_id"] in {im["id"] for im in images}]
    common = {"image_id": images[0]["id"], "category_id": anns[0]["category_id"], "iscrowd": 0, "area": 10000.0}
    anns += [
        {**common, "id": HUGE_POLYGON, "segmentation": [[1e308, 1e308, 2, 2, 3, 1]], "bbox": [10, 10, 100, 100]},
        {**common, "id": HUGE_BOX, "segmentation": [[10, 10, 110, 10, 110, 110, 10, 110]],
         "bbox": [0, 0, 1e308, 1e308]},
    ]
    (root / "annotations" / "instances_train2017.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": data["categories"]}))
    return root


def test_huge_coordinates_are_skipped_before_pycocotools_sees_them(shared_data, tmp_path, hostile_build):
    root = _hostile_coco(shared_data, tmp_path / "coco")
    out = tmp_path / "out"
    res = hostile_build(["--dataset", "coco", "--root", root, "--out", out])
    assert res.returncode == 0, res.stderr
    skipped = read_table(out / "manifest" / "skipped.parquet").to_pylist()
    (row,) = [r for r in skipped if r["reason"] == "coordinates_out_of_range"]
    assert f"[{HUGE_POLYGON}, {HUGE_BOX}]" in row["detail"] and "outside the" in row["detail"]
    build = open_build(out).build
    assert build["counts"]["pairs"] > 0
    # the same reader builds distractor banks: the two instances are not in it
    bank = coco.load_bank(root, "train2017")
    assert HUGE_POLYGON not in bank.all_ids and HUGE_BOX not in bank.all_ids
    assert build["distractor_bank"]["instances"] == len(bank) > 0


def test_a_video_build_with_a_hostile_distractor_bank_completes(shared_data, trackingnet_root, tmp_path,
                                                                 hostile_build):
    root = _hostile_coco(shared_data, tmp_path / "coco")
    out = tmp_path / "out"
    res = hostile_build(["--dataset", "trackingnet", "--root", trackingnet_root, "--out", out,
                         "--distractors", f"coco:{root}", "--p-distractor", "1", "--pairs-per-sequence", "16"])
    assert res.returncode == 0, res.stderr
    sources = [d["source_id"] for r in read_records(out) for d in r["distractors"]]
    assert len(sources) > 20 and not {HUGE_POLYGON, HUGE_BOX} & set(sources)

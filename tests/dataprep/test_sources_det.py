"""ILSVRC2015 DET reader and build: real coco128 photos written in the DET layout (PASCAL-VOC XML with
WordNet ids, both train nestings), one still per object, skips with reasons, ``dataprep build --dataset det``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from siamcore.boxes import xywh_to_xyxy
from siamcore.crop import frame_to_crop_xyxy

from dataprep.cli import app
from dataprep.config import load_config
from siamcore.manifest import read_table
from dataprep.sources import SourceError, get_source, read_frame
from dataprep.sources import det

from testkit.shards import read_records

REPO = Path(__file__).resolve().parents[2]

#: COCO category -> ImageNet WordNet id (the VID ids from map_vid.txt, and DET's person).
COCO_TO_WNID = {
    "person": "n00007846", "car": "n02958343", "bus": "n02924116", "airplane": "n02691156",
    "bicycle": "n02834778", "motorcycle": "n03790512", "train": "n04468005", "bird": "n01503061",
    "dog": "n02084071", "cat": "n02121808", "horse": "n02374451", "sheep": "n02411705", "cow": "n02402425",
    "elephant": "n02503517", "bear": "n02131653", "zebra": "n02391049", "boat": "n04530566",
}


def _xml(folder: str, stem: str, wh, objects) -> str:
    objs = "".join(
        f"\t<object>\n\t\t<name>{wnid}</name>\n\t\t<bndbox>\n\t\t\t<xmax>{x1}</xmax>\n\t\t\t<xmin>{x0}</xmin>\n"
        f"\t\t\t<ymax>{y1}</ymax>\n\t\t\t<ymin>{y0}</ymin>\n\t\t</bndbox>\n\t</object>\n"
        for wnid, (x0, y0, x1, y1) in objects)
    return (f"<annotation>\n\t<folder>{folder}</folder>\n\t<filename>{stem}</filename>\n\t<source>\n"
            f"\t\t<database>ILSVRC_2014</database>\n\t</source>\n\t<size>\n\t\t<width>{wh[0]}</width>\n"
            f"\t\t<height>{wh[1]}</height>\n\t</size>\n{objs}</annotation>\n")


def write_det(shared: Path, root: Path, images: int = 12) -> dict:
    """A DET root from the first coco128 images with objects of :data:`COCO_TO_WNID` classes: half as
    ``train/ILSVRC2013_train/<wnid>/<wnid>_<id>`` (two levels), half as ``train/ILSVRC2014_train_0000/
    ILSVRC2014_train_<id>`` (one level), one more as ``val/ILSVRC2012_val_<id>``; boxes rounded to whole
    pixels as DET's are. Returns ``{(split, name): [(wnid, xywh)]}``."""
    coco = json.loads((shared / "coco128" / "annotations" / "instances_train2017.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    by_image: dict[int, list] = {}
    for a in sorted(coco["annotations"], key=lambda a: a["id"]):
        if names[a["category_id"]] in COCO_TO_WNID:
            by_image.setdefault(a["image_id"], []).append(a)
    truth = {}
    picked = [im for im in sorted(coco["images"], key=lambda im: im["id"]) if im["id"] in by_image][: images + 1]
    for k, im in enumerate(picked):
        objects = []
        for a in by_image[im["id"]]:
            x, y, w, h = a["bbox"]
            x0, y0, x1, y1 = round(x), round(y), round(x + w), round(y + h)
            if x1 > x0 and y1 > y0:
                objects.append((COCO_TO_WNID[names[a["category_id"]]], (x0, y0, x1, y1)))
        if k == len(picked) - 1:
            split, name = "val", f"ILSVRC2012_val_{im['id']:08d}"
        elif k % 2 == 0:
            split, name = "train", f"ILSVRC2013_train/{objects[0][0]}/{objects[0][0]}_{im['id']}"
        else:
            split, name = "train", f"ILSVRC2014_train_0000/ILSVRC2014_train_{im['id']:08d}"
        xml = root / "Annotations" / "DET" / split / f"{name}.xml"
        jpeg = root / "Data" / "DET" / split / f"{name}.JPEG"
        xml.parent.mkdir(parents=True, exist_ok=True)
        jpeg.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(_xml(Path(name).parent.name, Path(name).name, (im["width"], im["height"]), objects))
        src = shared / "coco128" / "train2017" / im["file_name"]
        try:
            os.link(src, jpeg)
        except OSError:
            shutil.copyfile(src, jpeg)
        truth[(split, name)] = [(wnid, [x0, y0, x1 - x0, y1 - y0]) for wnid, (x0, y0, x1, y1) in objects]
    return truth


@pytest.fixture(scope="module")
def det_layout(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("ILSVRC2015")
    return root, write_det(shared_data, root)


def _load_all(videos):
    sequences, skips = [], []
    for v in videos:
        s, k = det.load_video(v)
        sequences += s
        skips += k
    return sequences, skips


def test_reads_both_train_nestings_one_still_per_object(det_layout):
    root, truth = det_layout
    assert get_source("det") is det.SPEC
    videos, skips = det.list_videos(root)
    train = sorted(name for split, name in truth if split == "train")
    assert [v.name for v in videos] == train and skips == [] and {v.split for v in videos} == {"train"}
    assert any(n.count("/") == 2 for n in train) and any(n.count("/") == 1 for n in train)
    sequences, skips = _load_all(videos)
    assert skips == []
    assert len(sequences) == sum(len(truth[("train", n)]) for n in train)
    for s in sequences:
        wnid, xywh = truth[(s.video.split, s.video.name)][int(s.track)]
        assert s.boxes_xywh.tolist() == [xywh] and not s.boxes_xywh.flags.writeable
        assert s.class_name == det.WNID_TO_CLASS.get(wnid, wnid)
        (ref,) = s.frames
        assert ref.path.endswith(f"{s.video.name}.JPEG") and "/Data/DET/train/" in ref.path
    frame = read_frame(sequences[0].frames[0])
    assert frame.ndim == 3 and frame.shape[2] == 3
    classes = {s.class_name for s in sequences}
    assert "n00007846" in classes  # person: a DET class that VID lacks keeps its WordNet id
    assert classes & set(det.WNID_TO_CLASS.values())  # VID classes get VID's names (car, dog, ...)
    val, _ = det.list_videos(root, splits="val")
    assert [v.split for v in val] == ["val"] and val[0].name.startswith("ILSVRC2012_val_")


def test_listing_errors_before_any_work(det_layout, tmp_path):
    root, _ = det_layout
    with pytest.raises(SourceError, match="Annotations/DET"):
        det.list_videos(tmp_path)
    with pytest.raises(SourceError, match="no chunks"):
        det.list_videos(root, chunks=[0])
    with pytest.raises(SourceError, match="unknown DET split"):
        det.list_videos(root, splits="test")


def test_bad_inputs_become_recorded_skips(det_layout, tmp_path):
    root = tmp_path / "bad"
    shutil.copytree(det_layout[0], root)
    videos, _ = det.list_videos(root)
    victims = videos[:5]
    xmls = [det.xml_path(v) for v in victims]
    xmls[0].write_text(xmls[0].read_text()[:120])  # truncated XML
    text = xmls[1].read_text()
    first = text.index("<xmin>") + len("<xmin>")
    xmls[1].write_text(text[:first] + "abc" + text[text.index("</xmin>"):])  # first object's box not numbers
    det.image_path(victims[2]).unlink()  # no JPEG
    xmls[3].write_text(_xml("x", "neg", (640, 480), []))  # a negative image: nothing, no skip
    xmls[4].write_text(_xml("x", "odd", (100, 80), [("n02958343", (10, 10, 10, 40)), ("n02958343", (120, 5, 150, 30)),
                                                     ("", (1, 1, 20, 20)), ("n02958343", (5, 5, 50, 40))]))
    got = {v.name: det.load_video(v) for v in victims}
    seqs, skips = got[victims[0].name]
    assert seqs == [] and [k.reason for k in skips] == ["unreadable_xml"]
    seqs, skips = got[victims[1].name]
    assert [k.reason for k in skips] == ["malformed_annotation"] and "[0]" in skips[0].detail
    assert [s.track for s in seqs] == [str(i) for i in range(1, len(seqs) + 1)]  # the others are kept
    seqs, skips = got[victims[2].name]
    assert seqs == [] and [k.reason for k in skips] == ["missing_frame"]
    assert got[victims[3].name] == ([], [])
    seqs, skips = got[victims[4].name]
    assert [(s.track, s.boxes_xywh.tolist()) for s in seqs] == [("3", [[5, 5, 45, 35]])]
    assert sorted((k.reason, k.detail.split(":")[0]) for k in skips) == [
        ("box_outside_frame", "1 instance(s) [1]"), ("invalid_box", "1 instance(s) [0]"),
        ("malformed_annotation", "1 instance(s) [2]")]


def test_pipeline_file_equals_the_built_in_defaults():
    from_file = load_config(REPO / "pipelines" / "dataprep" / "det.toml")
    assert from_file == load_config(None, "det")
    assert from_file.pairs.per_sequence == 1 and from_file.photometric.enabled
    assert from_file.distractors.source == ""


def _cli_build(root, out, *extra):
    result = CliRunner().invoke(app, ["build", "--dataset", "det", "--root", str(root), "--out", str(out),
                                      "--scheduler", "synchronous", "--no-progress", *extra])
    assert result.exit_code == 0, result.output
    return result


def test_cli_build_crops_hold_the_xml_boxes_and_is_deterministic(det_layout, tmp_path):
    root, truth = det_layout
    out = tmp_path / "det"
    _cli_build(root, out, "-k", "2")
    records = read_records(out)
    objects = sum(len(v) for (split, _), v in truth.items() if split == "train")
    assert len(records) == 2 * objects
    for r in records:
        wnid, xywh = truth[("train", r["sequence"])][int(r["track"])]
        se = r["crops"]["search"]
        expected = frame_to_crop_xyxy(xywh_to_xyxy(np.array(xywh, float)), se["window_xyxy"], se["size"])
        assert se["box_xyxy"] == pytest.approx(list(expected))
        assert r["class_name"] == det.WNID_TO_CLASS.get(wnid, wnid)
        if not r["negative"]:  # a still: both crops from the same photo, the search crop changed
            assert (r["exemplar_sequence"], r["exemplar_frame"], r["search_frame"]) == (r["sequence"], 0, 0)
            assert "photometric" in r["flags"]
    assert any(r["negative"] for r in records)
    assert read_table(out / "manifest" / "skipped.parquet").num_rows == 0
    again = tmp_path / "again"
    _cli_build(root, again, "-k", "2", "--workers", "2")
    for name in ("manifest/samples.parquet", "manifest/skipped.parquet"):
        assert (again / name).read_bytes() == (out / name).read_bytes()
    assert sorted(p.name for p in (again / "shards").iterdir()) == sorted(p.name for p in (out / "shards").iterdir())
    for a, b in zip(sorted((out / "shards").iterdir()), sorted((again / "shards").iterdir())):
        assert a.read_bytes() == b.read_bytes()


def test_show_draws_a_grid(det_layout, tmp_path):
    root, _ = det_layout
    out = tmp_path / "det"
    _cli_build(root, out)
    png = tmp_path / "det.png"
    result = CliRunner().invoke(app, ["show", str(out), "--out", str(png), "--n", "8"])
    assert result.exit_code == 0, result.output
    assert png.stat().st_size > 10_000


def test_pngs_named_jpeg_are_decoded_by_their_content(det_layout, tmp_path):
    """ImageNet ships PNG files (8- and 16-bit) named .JPEG: they build as what they are, no skip; bytes
    that are neither are skipped with what they were."""
    import cv2

    root = tmp_path / "png"
    shutil.copytree(det_layout[0], root)
    videos, _ = det.list_videos(root)
    train = [v for v in videos if "train" in str(det.image_path(v))]
    for i, v in enumerate(train[:2]):
        path = det.image_path(v)
        bgr = cv2.imread(str(path))
        pixels = bgr if i == 0 else bgr.astype(np.uint16) * 257  # 8-bit, then 16-bit
        path.unlink()  # a hard link to the shared photo: never written through
        path.write_bytes(cv2.imencode(".png", pixels)[1].tobytes())
    gif = det.image_path(train[2])
    gif.unlink()
    gif.write_bytes(b"GIF89a" + b"\x00" * 64)
    out = tmp_path / "det"
    _cli_build(root, out, "-k", "1")
    skipped = read_table(out / "manifest" / "skipped.parquet").to_pylist()
    assert skipped and all(s["reason"] == "corrupt_jpeg" for s in skipped)  # one per object of the GIF image
    assert all(s["detail"].endswith(f"{gif.name}: GIF data, not a JPEG or PNG image") for s in skipped)
    assert all(gif.name in s["detail"] for s in skipped)
    built = {r["sequence"] for r in read_records(out)}
    assert {Path(v.name).name for v in train[:2]} <= {Path(n).name for n in built}

"""``dataprep show``: the grid PNG has the boxes where the records say, filters, the HTML gallery."""

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from dataprep import show as S
from dataprep.build import run_build
from dataprep.cli import app
from dataprep.config import load_config, with_overrides


@pytest.fixture(scope="module")
def coco_out(coco_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("show") / "out"
    cfg = with_overrides(load_config(None, "coco"), root=coco_dataset.root, out=out, scheduler="synchronous",
                         pairs_per_sequence=2)
    run_build(cfg, show_progress=False)
    return out


def _read_png(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _colour_near(grid, x, y, colour, radius=1):
    """Whether ``colour`` is drawn within ``radius`` px of grid position (x, y)."""
    xi, yi = int(round(x)), int(round(y))
    patch = grid[yi - radius : yi + radius + 1, xi - radius : xi + radius + 1].reshape(-1, 3).astype(int)
    return bool(np.any(np.abs(patch - np.array(colour)).max(axis=1) <= 2))


def _edge_midpoints(box):
    x0, y0, x1, y1 = box
    return [((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1), (x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2)]


def _inside(pt, size=255):
    return 2 <= pt[0] <= size - 2 and 2 <= pt[1] <= size - 2


def test_grid_boxes_are_where_the_records_say(coco_out, tmp_path):
    png = tmp_path / "pairs.png"
    result = S.show(coco_out, png, n=8, where=["has_distractor"], seed=1)
    grid = _read_png(png)
    layout = result.layout
    assert grid.shape[:2] == layout.grid_size(8)[::-1] and len(result.records) == 8
    checked = {"target": 0, "distractor": 0, "exemplar": 0}
    for i, rec in enumerate(result.records):
        se, ex = rec["crops"]["search"], rec["crops"]["exemplar"]
        assert rec["distractors"]
        for pt in _edge_midpoints(se["box_xyxy"]):
            if _inside(pt):  # the target is drawn last: always visible
                assert _colour_near(grid, *layout.to_grid_px(i, "search", 255, *pt), S.TARGET_RGB)
                checked["target"] += 1
        for pt in _edge_midpoints(ex["box_xyxy"]):
            if _inside(pt, 127):
                assert _colour_near(grid, *layout.to_grid_px(i, "exemplar", 127, *pt), S.TARGET_RGB)
                checked["exemplar"] += 1
        target = np.array(se["box_xyxy"])
        for pt in _edge_midpoints(rec["distractors"][0]["box_xyxy"]):
            near_target = (any(abs(pt[0] - v) < 4 for v in target[[0, 2]])
                           or any(abs(pt[1] - v) < 4 for v in target[[1, 3]]))
            if _inside(pt) and not near_target:
                gx, gy = layout.to_grid_px(i, "search", 255, *pt)
                assert _colour_near(grid, gx, gy, S.DISTRACTOR_RGB) or _colour_near(grid, gx, gy, S.TARGET_RGB)
                checked["distractor"] += 1
    assert checked["target"] > 16 and checked["distractor"] > 8 and checked["exemplar"] > 16
    # and where no box is, the drawn colours are absent (e.g. the caption strip holds text only)
    x0, y0 = layout.cell_origin(0)
    caption = grid[y0 + layout.pad + layout.panel + 2 : y0 + layout.cell_h, x0 : x0 + layout.cell_w]
    assert not _colour_near(caption, caption.shape[1] // 2, caption.shape[0] // 2, S.TARGET_RGB, radius=3)


def test_guide_box_is_drawn_green(coco_out, tmp_path):
    result = S.show(coco_out, tmp_path / "g.png", n=6, seed=2)
    grid = _read_png(tmp_path / "g.png")
    seen = 0
    for i, rec in enumerate(result.records):
        se = rec["crops"]["search"]
        boxes = [np.array(se["box_xyxy"])] + [np.array(d["box_xyxy"]) for d in rec["distractors"]]
        for pt in _edge_midpoints(se["guide_xyxy"]):
            clear = all(min(abs(pt[0] - b[0]), abs(pt[0] - b[2]), abs(pt[1] - b[1]), abs(pt[1] - b[3])) > 4
                        for b in boxes)
            if _inside(pt) and clear:
                assert _colour_near(grid, *result.layout.to_grid_px(i, "search", 255, *pt), S.GUIDE_RGB)
                seen += 1
    assert seen > 4


def test_selection_filters_and_is_seeded(coco_out, tmp_path):
    a = S.show(coco_out, tmp_path / "a.png", n=5, where=["negative"], seed=3)
    assert all(r["negative"] for r in a.records)
    b = S.show(coco_out, tmp_path / "b.png", n=5, where=["negative"], seed=3)
    assert [r["key"] for r in a.records] == [r["key"] for r in b.records]
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    kites = S.show(coco_out, tmp_path / "k.png", n=16, where=["class_name=kite", "!negative"])
    assert kites.records and all(r["class_name"] == "kite" and not r["negative"] for r in kites.records)
    flagged = S.show(coco_out, tmp_path / "f.png", n=50, where=["distractor_no_source"], dataset="coco")
    assert flagged.records and all("distractor_no_source" in r["flags"] for r in flagged.records)
    with pytest.raises(S.ShowError, match="no pair matches"):
        S.show(coco_out, tmp_path / "x.png", where=["class_name=whale"])
    with pytest.raises(S.ShowError, match="column must be one of"):
        S.show(coco_out, tmp_path / "x.png", where=["bytes=3"])
    assert S.caption_lines(kites.records[0])[0].startswith("coco ")


def test_html_gallery_and_cli(coco_out, tmp_path):
    res = CliRunner().invoke(app, ["show", str(coco_out), "--n", "4", "--out", str(tmp_path / "p.png"),
                                   "--html", str(tmp_path / "gallery"), "--where", "has_distractor"])
    assert res.exit_code == 0, res.output
    assert "p.png" in res.output
    page = (tmp_path / "gallery" / "index.html").read_text()
    pngs = sorted((tmp_path / "gallery" / "pairs").glob("*.png"))
    assert len(pngs) == 4 and page.count("<figure>") == 4 and "pairs/000.png" in page
    assert _read_png(pngs[0]).shape[:2] == (S.Layout(cols=1).cell_h, S.Layout(cols=1).cell_w)
    assert (tmp_path / "p.png").is_file()
    res = CliRunner().invoke(app, ["show", str(tmp_path / "nothing"), "--out", str(tmp_path / "q.png")])
    assert res.exit_code == 2 and "build.json" in res.output and not (tmp_path / "q.png").exists()


@pytest.mark.parametrize("box", [[1e12, 5, 1e13, 1e13], [np.nan, 0, 10, 10], [0, 0, np.inf, 10],
                                 [40, 40, 20, 20], [-1e30, -1e30, -1e29, -1e29]])
def test_a_box_that_cannot_be_drawn_whole_is_clipped_or_skipped(box):
    """A damaged or wild stored box never stops `dataprep show`: it is clipped to the panel or skipped."""
    image = np.zeros((64, 64, 3), np.uint8)
    S.draw_box(image, box, S.TARGET_RGB, scale=2.0)
    assert not image.any()
    S.draw_box(image, [4, 4, 1e13, 1e13], S.TARGET_RGB, scale=2.0)  # top-left corner (8, 8) on, the rest off
    assert image[8, 8:].any(axis=-1).all() and not image[12:, 12:].any() and not image[:6].any()

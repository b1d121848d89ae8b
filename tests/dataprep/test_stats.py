"""``dataprep stats``: numbers from the manifest, tables, the histogram PNG."""

import cv2
import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from siamcore.shards import ShardReader, open_build

from dataprep.build import run_build
from dataprep.cli import app
from dataprep.config import load_config, with_overrides
from dataprep.stats import build_stats, compute_stats, stats_tables


def _columns(rows):
    keys = rows[0].keys()
    return {k: [r[k] for r in rows] for k in keys}


def test_compute_stats_counts_rates_and_histograms():
    rows = [
        dict(key="a", dataset="coco", class_name="person", negative=False, has_distractor=True,
             flags="photometric", x0=0.0, y0=0.0, x1=40.0, y1=40.0, bytes=1000),
        dict(key="b", dataset="coco", class_name="person", negative=True, has_distractor=True,
             flags="", x0=10.0, y0=10.0, x1=110.0, y1=35.0, bytes=3000),
        dict(key="c", dataset="vid", class_name="", negative=False, has_distractor=False,
             flags="distractor_no_room,photometric", x0=0.0, y0=0.0, x1=20.0, y1=80.0, bytes=2000),
        dict(key="d", dataset="vid", class_name="dog", negative=False, has_distractor=False,
             flags="", x0=5.0, y0=5.0, x1=75.0, y1=75.0, bytes=2000),
    ]
    s = compute_stats(_columns(rows))
    assert s["pairs"] == 4 and s["negatives"] == 1 and s["negative_rate"] == 0.25
    assert s["with_distractor"] == 2 and s["distractor_rate"] == 0.5
    assert s["by_dataset"] == {"coco": 2, "vid": 2}
    assert s["by_class"] == {"person": 2, "(unknown)": 1, "dog": 1}
    assert s["flags"] == {"photometric": 2, "distractor_no_room": 1}
    assert s["size_px"].tolist() == pytest.approx([40.0, 50.0, 40.0, 70.0])
    assert s["aspect"].tolist() == pytest.approx([1.0, 4.0, 0.25, 1.0])
    size_counts = {(lo, hi): c for lo, hi, c in s["size_hist"]}
    assert size_counts[(32.0, 48.0)] == 2 and size_counts[(48.0, 64.0)] == 1 and size_counts[(64.0, 96.0)] == 1
    aspect_counts = {(lo, hi): c for lo, hi, c in s["aspect_hist"]}
    assert aspect_counts[(4.0, 1e9)] == 1 and aspect_counts[(0.25, 0.5)] == 1
    assert sum(c for _, _, c in s["aspect_hist"]) == 4
    assert s["bytes_mean"] == 2000 and s["bytes_median"] == 2000 and s["bytes_total"] == 8000
    text = Console(width=140, record=True)
    for t in stats_tables(s, "title"):
        text.print(t)
    out = text.export_text()
    assert "25.0%" in out and "50.0%" in out and "distractor_no_room" in out and "(unknown)" in out


def test_stats_of_a_build_match_its_records(coco_dataset, tmp_path):
    out = tmp_path / "out"
    cfg = with_overrides(load_config(None, "coco"), root=coco_dataset.root, out=out, scheduler="synchronous",
                         pairs_per_sequence=2)
    run_build(cfg, show_progress=False)
    records = [r for s in open_build(out).shards for r in ShardReader(s.path)]
    stats, title = build_stats(out)
    assert stats["pairs"] == len(records) and "coco" in title
    assert stats["negatives"] == sum(r["negative"] for r in records)
    assert stats["with_distractor"] == sum(bool(r["distractors"]) for r in records)
    assert stats["flags"]["photometric"] == sum("photometric" in r["flags"] for r in records)
    sizes = sorted(np.sqrt((b[2] - b[0]) * (b[3] - b[1])) for b in (r["crops"]["search"]["box_xyxy"] for r in records))
    assert sorted(stats["size_px"].tolist()) == pytest.approx(sizes)

    res = CliRunner().invoke(app, ["stats", str(out), "--plot", str(tmp_path / "stats.png")])
    assert res.exit_code == 0, res.output
    assert "with distractor" in res.output and "person" in res.output
    image = cv2.imread(str(tmp_path / "stats.png"))
    assert image is not None and image.shape[0] > 400 and image.shape[1] > 800
    res = CliRunner().invoke(app, ["stats", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "build.json" in res.output

"""The VOT supervised (reset-based, "baseline") experiment: run, write, score.

Protocol (pysot ``tools/test.py`` VOT branch; votchallenge/toolkit ``vot/experiment/multirun.py``
``SupervisedExperiment`` with ``skip_initialize=5``):

- the tracker starts on frame 1 from the ground truth; on every later frame it reports a box whose
  overlap with the ground-truth region (the rotated polygon, both clipped to the image:
  :func:`tracker.evaluation.vot_metrics.region_overlap`) is computed; an overlap of 0 is a **failure**;
- after a failure on frame ``f`` the frames ``f+1 .. f+4`` are skipped and the tracker is started
  again on frame ``f+5`` from that frame's ground truth; a frame whose ground truth is empty cannot
  start it, so it is skipped too and the next frame tries;
- the start box of a rotated polygon is the **area-preserving axis-aligned box** SiamRPN-style trackers
  use (pysot ``toolkit/utils/region.get_axis_aligned_bbox``: centred on the polygon's mean point, the
  bounding rectangle's aspect ratio, the polygon's area): ``polygon_mode="area"`` of
  :func:`siamcore.datasets.load_vot_sequence`. Overlaps are measured against the polygon itself.

Results are written as the vot-toolkit stores them: ``<out>/<tracker>/baseline/<seq>/<seq>_001.txt``,
one line per frame: ``1`` (initialisation), ``2`` (failure), ``0`` (skipped) or ``x,y,w,h`` (0-based
continuous pixels, the convention VOT region files are read in). Scores: :mod:`tracker.evaluation.vot_metrics`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from siamcore.atomic import write_bytes_atomic
from siamcore.datasets import Sequence, list_vot, load_vot

from ..datasets import numbered_frames
from .vot_metrics import (
    FAILURE,
    INIT,
    SKIPPED,
    TRACKED,
    VOT2018_EAO_INTERVAL,
    SequenceAR,
    eao_fragments,
    eao_score,
    expected_overlap_curve,
    pooled_ar,
    region_overlap,
    sequence_ar,
)

if TYPE_CHECKING:  # the trackers need torch; a benchmark only calls them
    from ..online import OnlineTracker

SKIP_AFTER_FAILURE = 5  # pysot tools/test.py: frame_counter = idx + 5; vot-toolkit skip_initialize = 5


def read_vot_regions(path: Path) -> np.ndarray:
    """``[N, 8]`` ground-truth polygons of a VOT ``groundtruth.txt`` (4-value ``x,y,w,h`` lines become
    their rectangle's corners); empty, NaN, special-code and unparsable lines become NaN rows."""
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    out = np.full((len(lines), 8), np.nan)
    for i, line in enumerate(lines):
        try:
            v = [float(t) for t in line.replace("\t", ",").replace(" ", ",").split(",") if t]
        except ValueError:
            continue
        if len(v) == 8:
            out[i] = v
        elif len(v) == 4:
            x, y, w, h = v
            out[i] = [x, y, x + w, y, x + w, y + h, x, y + h]
    return out


@dataclass
class SupervisedRun:
    """One sequence's run: per-frame ``kinds`` (vot_metrics codes), ``boxes_xywh`` (NaN on special
    frames), ``overlaps`` (NaN where undefined) and the time spent in the tracker."""
    kinds: np.ndarray
    boxes_xywh: np.ndarray
    overlaps: np.ndarray
    track_seconds: float

    @property
    def failures(self) -> int:
        return int((self.kinds == FAILURE).sum())


def run_supervised(
    tracker: OnlineTracker,
    frames: Iterable[np.ndarray],
    gt_regions: np.ndarray,
    init_boxes_xywh: np.ndarray,
    skip: int = SKIP_AFTER_FAILURE,
    on_frame: Callable[[], None] | None = None,
) -> SupervisedRun:
    """Run the reset-based experiment (module doc) over ``frames`` (RGB uint8).

    ``gt_regions`` ``[N, 8]`` (or ``[N, 4]``) are what overlaps are measured against; ``init_boxes_xywh``
    ``[N, 4]`` are the boxes the tracker is started from (NaN rows: empty ground truth). Frames past
    the ground truth's end are not run."""
    n = min(len(gt_regions), len(init_boxes_xywh))
    kinds = np.full(n, SKIPPED, dtype=np.int64)
    boxes = np.full((n, 4), np.nan)
    overlaps = np.full(n, np.nan)
    next_start, tracking, track_s = 0, False, 0.0
    for i, frame in numbered_frames(frames):
        if i >= n:
            break
        if not tracking and i >= next_start:
            box0 = np.asarray(init_boxes_xywh[i], dtype=np.float64)
            if np.isfinite(box0).all() and box0[2] > 0 and box0[3] > 0:
                t0 = time.perf_counter()
                tracker.init(frame, box0)
                track_s += time.perf_counter() - t0
                kinds[i], tracking = INIT, True
            else:
                next_start = i + 1
        elif tracking:
            t0 = time.perf_counter()
            box, _ = tracker.track(frame)
            track_s += time.perf_counter() - t0
            overlap = region_overlap(box, gt_regions[i], (frame.shape[1], frame.shape[0]))
            overlaps[i] = overlap
            if overlap == 0:  # NaN (empty ground truth) is not a failure: nothing to fail against
                kinds[i], tracking, next_start = FAILURE, False, i + skip
            else:
                kinds[i], boxes[i] = TRACKED, box
        if on_frame is not None:
            on_frame()
    return SupervisedRun(kinds, boxes, overlaps, track_s)


def format_baseline(run: SupervisedRun) -> str:
    """The vot-toolkit trajectory text of a run (module doc)."""
    lines = []
    for kind, box in zip(run.kinds, run.boxes_xywh):
        lines.append(",".join(f"{v:.4f}" for v in box) if kind == TRACKED else str(int(kind)))
    return "\n".join(lines) + "\n"


@dataclass
class VOTReport:
    tracker_dir: Path
    per_sequence: dict[str, SequenceAR] = field(default_factory=dict)
    failure_frames: dict[str, list[int]] = field(default_factory=dict)  # 1-based frame numbers
    eao: float = float("nan")
    eao_interval: tuple[int, int] = VOT2018_EAO_INTERVAL
    curve_length: int = 0
    pooled: dict = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # sequence -> reason

    def scores(self) -> dict:
        return {"eao": self.eao, "eao_interval": list(self.eao_interval), "eao_curve_length": self.curve_length,
                **self.pooled,
                "sequences": {k: {**asdict(v), "failure_frames": self.failure_frames[k]}
                              for k, v in self.per_sequence.items()}}


def load_vot_benchmark(root: Path, names: list[str] | None = None) -> list[Sequence]:
    """The VOT sequences under ``root`` (vot-toolkit layout or one sequence folder), each started from the
    area-preserving box of its polygons (module docstring)."""
    return load_vot(root, names, polygon_mode="area")


def run_vot(
    tracker: OnlineTracker,
    seqs: list[Sequence],
    root: Path,
    out_dir: Path,
    tracker_name: str,
    on_frame: Callable[[], None] | None = None,
    on_sequence: Callable[[str, SupervisedRun], None] | None = None,
    interval: tuple[int, int] = VOT2018_EAO_INTERVAL,
) -> VOTReport:
    """Run the supervised experiment on ``seqs`` (:func:`load_vot_benchmark` of ``root``, whose region
    files are read again for the polygons), write the baseline files and ``<out>/<tracker>/vot_scores.json``,
    return the scores. A sequence that cannot be run (unreadable frame ...) is skipped with its reason."""
    report = VOTReport(Path(out_dir) / tracker_name, eao_interval=interval)
    folders = {ref.name: ref.folder for ref in list_vot(root)}
    fragments = []
    for seq in seqs:
        try:
            gt_regions = read_vot_regions(folders[seq.name] / "groundtruth.txt")
            run = run_supervised(tracker, seq, gt_regions, seq.gt_xywh, on_frame=on_frame)
        except ValueError as e:
            report.skipped[seq.name] = str(e)
            continue
        path = report.tracker_dir / "baseline" / seq.name / f"{seq.name}_001.txt"
        write_bytes_atomic(path, format_baseline(run).encode())
        report.per_sequence[seq.name] = sequence_ar(run.overlaps, run.kinds)
        report.failure_frames[seq.name] = [int(i) + 1 for i in np.flatnonzero(run.kinds == FAILURE)]
        fragments += eao_fragments(run.overlaps, run.kinds)
        if on_sequence is not None:
            on_sequence(seq.name, run)
    longest = max((s.frames for s in report.per_sequence.values()), default=0)
    curve = expected_overlap_curve(fragments, longest)  # to the longest sequence, as pysot
    report.eao, report.curve_length = eao_score(curve, interval), len(curve)
    report.pooled = pooled_ar(report.per_sequence)
    if report.per_sequence:
        write_bytes_atomic(report.tracker_dir / "vot_scores.json",
                           (json.dumps(report.scores(), indent=2) + "\n").encode())
    return report

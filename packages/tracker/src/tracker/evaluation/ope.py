"""One-pass evaluation (OPE) on OTB-style benchmarks: the run.

``run_ope`` tracks each sequence from its first ground-truth box (frame 1 is reported as that box
and counted, as the OTB toolkit does) and writes ``<out>/<tracker>/<seq>.txt`` in OTB format;
:mod:`tracker.evaluation.scoring` reads result folders of any tracker and scores them with
:mod:`tracker.evaluation.metrics` (see there for the protocol). A sequence that cannot be tracked
(unreadable frame ...) is skipped with a recorded reason, never silently.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from siamcore.atomic import write_bytes_atomic

from ..datasets import Sequence, numbered_frames, read_results, write_results

if TYPE_CHECKING:  # the trackers need torch; a benchmark only calls them
    from ..online import OnlineTracker


@dataclass
class SequenceRun:
    boxes_xywh: np.ndarray
    scores: np.ndarray
    track_seconds: float  # time spent in init/track only (no image decode)
    total_seconds: float  # including image decode
    frame_seconds: np.ndarray | None = None  # per frame, init/track only (GOT-10k's <seq>_time.txt)

    @property
    def track_fps(self) -> float:
        return len(self.boxes_xywh) / self.track_seconds if self.track_seconds > 0 else float("nan")


def track_sequence(tracker: OnlineTracker, seq: Sequence, on_frame: Callable[[], None] | None = None) -> SequenceRun:
    """Run ``tracker`` over ``seq`` from its first ground-truth box (OPE). A frame that cannot be read
    raises UnreadableFrame (a ValueError) with its number."""
    if seq.gt_xywh is None:
        raise ValueError(f"{seq.name}: no ground truth to initialise from")
    n = len(seq)
    boxes = np.empty((n, 4))
    scores = np.empty(n)
    frame_s = np.zeros(n)
    start = time.perf_counter()
    for i, frame in numbered_frames(seq):
        t0 = time.perf_counter()
        if i == 0:
            tracker.init(frame, seq.gt_xywh[0])
            boxes[0], scores[0] = seq.gt_xywh[0], 1.0
        else:
            boxes[i], scores[i] = tracker.track(frame)
        frame_s[i] = time.perf_counter() - t0
        if on_frame is not None:
            on_frame()
    return SequenceRun(boxes, scores, float(frame_s.sum()), time.perf_counter() - start, frame_s)


@dataclass
class OPEReport:
    tracker_dir: Path
    runs: dict[str, SequenceRun] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # sequence -> reason


def run_ope(
    tracker: OnlineTracker,
    sequences: list[Sequence],
    out_dir: Path,
    tracker_name: str,
    resume: bool = False,
    on_frame: Callable[[], None] | None = None,
    on_sequence: Callable[[str, SequenceRun | None], None] | None = None,
) -> OPEReport:
    """Track every sequence and write ``out_dir/<tracker_name>/<seq>.txt`` (atomic).

    With ``resume``, sequences whose result file already has one row per frame are not run again.
    Per-sequence speed goes to ``timing.json`` beside the results.
    """
    tracker_dir = Path(out_dir) / tracker_name
    report = OPEReport(tracker_dir)
    timing_path = tracker_dir / "timing.json"
    timing = json.loads(timing_path.read_text()) if resume and timing_path.is_file() else {}
    for seq in sequences:
        path = tracker_dir / f"{seq.name}.txt"
        if resume and path.is_file():
            try:
                if len(read_results(path)) == len(seq):
                    report.reused.append(seq.name)
                    if on_sequence:
                        on_sequence(seq.name, None)
                    continue
            except ValueError:
                pass
        try:
            run = track_sequence(tracker, seq, on_frame)
        except ValueError as e:  # unreadable frame, unusable first box: record and go on
            report.skipped[seq.name] = str(e)
            continue
        write_results(path, run.boxes_xywh)
        report.runs[seq.name] = run
        timing[seq.name] = {"frames": len(seq), "track_fps": run.track_fps,
                            "fps_with_decode": len(seq) / run.total_seconds}
        write_bytes_atomic(timing_path, (json.dumps(timing, indent=2, sort_keys=True) + "\n").encode())
        if on_sequence:
            on_sequence(seq.name, run)
    return report

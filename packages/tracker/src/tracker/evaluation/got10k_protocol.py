"""``tracker eval --benchmark got10k``: one-pass evaluation on GOT-10k val or test, written in the
official toolkit's layout (:mod:`tracker.datasets.submission`) and, for val, scored as the toolkit does
(:mod:`tracker.evaluation.got10k_metrics`: frame 0 excluded, only frames with ``cover > 0``, pooled over frames,
boxes clipped to the image). The test split's ground truth is withheld: its results are zipped for the
evaluation server instead (``<out>/<tracker>.zip``), as ``ExperimentGOT10k.report`` does.

Deterministic trackers run once (the toolkit's ``is_deterministic`` skips repetitions 2 and 3).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from siamcore.atomic import write_bytes_atomic
from siamcore.datasets import Sequence

from ..datasets.submission import (
    read_got10k_records,
    read_got10k_times,
    write_got10k_record,
    write_got10k_submission,
)
from .got10k_metrics import Got10kScores, got10k_scores, scored_ious
from .ope import SequenceRun, track_sequence

if TYPE_CHECKING:  # the trackers need torch; a benchmark only calls them
    from ..online import OnlineTracker


@dataclass
class Got10kReport:
    tracker_dir: Path
    runs: dict[str, SequenceRun] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # sequence -> reason
    overall: Got10kScores | None = None  # val only
    per_sequence: dict[str, Got10kScores] = field(default_factory=dict)
    submission: Path | None = None  # test only


def visible_cover(seq: Sequence) -> np.ndarray:
    """Per-frame ``cover`` as the toolkit masks with it (> 0: scored): the ``cover.label`` values when
    the reader kept them, else 1 where the target is not flagged absent."""
    if "cover" in seq.frame_tags:
        return np.asarray(seq.frame_tags["cover"])
    absent = np.zeros(len(seq), bool) if seq.absent is None else np.asarray(seq.absent, bool)
    return (~absent).astype(np.uint8)


def score_got10k(tracker_dir: Path, sequences: list[Sequence]) -> tuple[Got10kScores, dict[str, Got10kScores]]:
    """Score the result folder of val sequences (every repetition found). ValueError naming a sequence
    without results, as the toolkit raises."""
    pooled, pooled_times, per_sequence = [], [], {}
    for seq in sequences:
        records = read_got10k_records(tracker_dir, seq.name)
        if not records:
            raise ValueError(f"results for sequence {seq.name} not found in {tracker_dir}")
        height, width = seq.frame(0).shape[:2]  # the meta's resolution
        ious = [scored_ious(r, seq.gt_xywh, visible_cover(seq), (width, height)) for r in records]
        times = read_got10k_times(tracker_dir, seq.name)
        per_sequence[seq.name] = got10k_scores(ious, times)
        pooled.extend(ious)
        pooled_times.append(times)
    return got10k_scores(pooled, np.concatenate(pooled_times)), per_sequence


def run_got10k(
    tracker: OnlineTracker,
    sequences: list[Sequence],
    out_dir: Path,
    tracker_name: str,
    split: str,
    on_frame: Callable[[], None] | None = None,
    on_sequence: Callable[[str, SequenceRun], None] | None = None,
) -> Got10kReport:
    """Track every sequence, write ``<out>/<tracker>/<seq>/<seq>_001.txt`` and ``<seq>_time.txt``;
    then ``val``: score and write ``<out>/<tracker>/got10k_scores.json``; ``test``: the server zip."""
    if split not in ("val", "test"):
        raise ValueError(f"GOT-10k evaluation runs on val or test, not {split!r}")
    report = Got10kReport(Path(out_dir) / tracker_name)
    for seq in sequences:
        try:
            run = track_sequence(tracker, seq, on_frame)
        except ValueError as e:
            report.skipped[seq.name] = str(e)
            continue
        write_got10k_record(report.tracker_dir, seq.name, run.boxes_xywh, run.frame_seconds)
        report.runs[seq.name] = run
        if on_sequence:
            on_sequence(seq.name, run)
    if not report.runs:
        return report
    if split == "test":
        report.submission = write_got10k_submission(report.tracker_dir, Path(out_dir) / f"{tracker_name}.zip")
        return report
    done = [s for s in sequences if s.name in report.runs]
    report.overall, report.per_sequence = score_got10k(report.tracker_dir, done)
    scores = {tracker_name: {"overall": report.overall.summary(),
                             "seq_wise": {k: v.summary() for k, v in report.per_sequence.items()}}}
    write_bytes_atomic(report.tracker_dir / "got10k_scores.json", (json.dumps(scores, indent=2) + "\n").encode())
    return report

"""One-pass evaluation (OPE) on OTB-style benchmarks and scoring of result folders.

``run_ope`` tracks each sequence from its first ground-truth box (frame 1 is reported as that box
and counted, as the OTB toolkit does) and writes ``<out>/<tracker>/<seq>.txt`` in OTB format;
``score_folders`` reads result folders of any tracker and scores them with :mod:`tracker.metrics`
(see there for the protocol). A sequence that cannot be tracked (unreadable frame ...) or scored
(no result file) is skipped with a recorded reason, never silently; ``common_sequences`` then ranks
several trackers on the sequences they all have.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from siamcore.atomic import write_bytes_atomic

from .datasets import Sequence, normalise_name, numbered_frames, read_results, write_results
from .metrics import SequenceCurves, sequence_curves, tracker_scores
from .online import OnlineTracker


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
    raises FrameError (a ValueError) with its number."""
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


def find_result_file(folder: Path, seq: Sequence, warnings: list[str] | None = None) -> Path | None:
    """The result file of ``seq`` in ``folder``, under any accepted spelling of its name.

    Two files that both spell ``seq`` (``Jogging-1.txt`` and ``jogging_1.txt``) are a ValueError naming
    both: which one is meant cannot be guessed. A match that is not a regular file (a folder named
    ``Couple.txt``) is skipped, with a line in ``warnings``."""
    keys = set(seq.match_keys())
    found = []
    for path in sorted(Path(folder).glob("*.txt")):
        if normalise_name(path.stem) not in keys:
            continue
        if not path.is_file():
            if warnings is not None:
                warnings.append(f"{seq.name}: {path} is not a regular file; skipped")
            continue
        found.append(path)
    if len(found) > 1:
        raise ValueError(f"{folder}: {' and '.join(p.name for p in found)} are both results of {seq.name}; "
                         "keep one of them")
    return found[0] if found else None


def aligned_results(folder: Path, seq: Sequence) -> tuple[np.ndarray | None, list[str]]:
    """``seq``'s boxes from its result file in ``folder``, one row per frame, and warnings: a file with
    fewer rows than frames is padded with NaN rows (failures), extra rows are dropped. None (not
    scored) when there is no file, or an unreadable one (with a warning)."""
    warnings: list[str] = []
    path = find_result_file(folder, seq, warnings)
    if path is None:
        return None, warnings
    try:
        boxes = read_results(path)
    except ValueError as e:
        return None, [f"{seq.name}: unreadable result file ({e})"]
    n = len(seq)
    if len(boxes) < n:
        return np.concatenate([boxes, np.full((n - len(boxes), 4), np.nan)]), [
            f"{seq.name}: {len(boxes)} result rows for {n} frames; the rest count as failures"]
    if len(boxes) > n:
        return boxes[:n], [f"{seq.name}: {len(boxes)} result rows for {n} frames; extra rows ignored"]
    return boxes, []


@dataclass
class FolderScore:
    name: str
    curves: dict[str, SequenceCurves]
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def scores(self) -> dict:
        return tracker_scores(self.curves)


def score_folder(
    folder: Path, sequences: list[Sequence], invalid_gt: str = "otb", name: str | None = None
) -> FolderScore:
    """Score one tracker's result folder against ``sequences``.

    Sequences without a result file are listed as missing (not scored). A file with fewer rows than
    frames is padded with failures; extra rows are ignored; both are recorded as warnings.
    """
    folder = Path(folder)
    result = FolderScore(name or folder.name, {})
    for seq in sequences:
        boxes, warnings = aligned_results(folder, seq)
        result.warnings.extend(warnings)
        if boxes is None:
            result.missing.append(seq.name)
            continue
        if invalid_gt == "lasot":
            from .lasot_metrics import lasot_sequence_curves

            visible = None if seq.absent is None else ~np.asarray(seq.absent, dtype=bool)
            result.curves[seq.name] = lasot_sequence_curves(boxes, seq.gt_xywh, visible)
        else:
            result.curves[seq.name] = sequence_curves(boxes, seq.gt_xywh, invalid_gt)
    return result


def expand_result_dirs(dirs: list[Path]) -> list[Path]:
    """Result folders hold ``*.txt``; a folder without any but with such sub-folders (an ``eval --out``
    folder) stands for its sub-folders."""
    out = []
    for d in map(Path, dirs):
        if not d.is_dir():
            raise ValueError(f"results folder {d} does not exist")
        if any(d.glob("*.txt")):
            out.append(d)
            continue
        subs = sorted(p for p in d.iterdir() if p.is_dir() and any(p.glob("*.txt")))
        if not subs:
            raise ValueError(f"{d} holds no result files (<seq>.txt) nor tracker folders with them")
        out.extend(subs)
    return out


def common_sequences(folder_scores: list[FolderScore]) -> tuple[list[FolderScore], dict[str, list[str]]]:
    """Every tracker restricted to the sequences all of them have results for, and what each one lost.

    Means over different sequence sets do not compare (a 2-sequence run would be ranked next to
    100-sequence results), so trackers are ranked on their common sequences only. Returns the
    restricted scores and ``{tracker: [left-out sequence, ...]}`` for the trackers that lost some;
    ValueError when no sequence is common to all (a tracker without any result included).
    """
    if not folder_scores:
        raise ValueError("no result folders to score")
    common = set.intersection(*(set(fs.curves) for fs in folder_scores))
    if not common:
        counts = ", ".join(f"{fs.name} {len(fs.curves)}" for fs in folder_scores)
        raise ValueError(f"no sequence has results from every tracker (sequences scored: {counts}); "
                         "score these folders separately or give them results on the same sequences")
    restricted = [replace(fs, curves={k: v for k, v in fs.curves.items() if k in common}) for fs in folder_scores]
    dropped = {fs.name: [k for k in fs.curves if k not in common]
               for fs in folder_scores if len(fs.curves) > len(common)}
    return restricted, dropped


def scores_json(folder_scores: list[FolderScore]) -> dict:
    """``{"<tracker>": {"auc", "precision", "norm_precision", "sequences": {...}}}``."""
    return {fs.name: fs.scores() for fs in folder_scores if fs.curves}


def write_scores_json(path: Path, scores: dict) -> None:
    write_bytes_atomic(path, (json.dumps(scores, indent=2) + "\n").encode())

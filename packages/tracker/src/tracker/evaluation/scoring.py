"""Scoring of OTB-format result folders of any tracker (OPE), with :mod:`tracker.evaluation.metrics`.

``score_folder`` scores one tracker's folder (a sequence without a result file is listed as missing,
never silently dropped); ``common_sequences`` then ranks several trackers on the sequences they all
have; result files from other toolkits are found under any spelling of the sequence name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from siamcore.atomic import write_bytes_atomic

from ..datasets import Sequence, normalise_name, read_results
from .metrics import SequenceCurves, sequence_curves, tracker_scores


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


def result_folders(results: list[Path]) -> tuple[list[Path], list[str]]:
    """``--results`` as tracker folders (an eval --out folder stands for its tracker folders) and their
    names: the folder names, or ``parent/name`` for all when two are alike."""
    dirs = expand_result_dirs(results)
    names = [d.name for d in dirs]
    if len(set(names)) != len(names):
        names = [f"{d.parent.name}/{d.name}" for d in dirs]
    return dirs, names


def score_results(results: list[Path], sequences: list[Sequence], invalid_gt: str = "otb"
                  ) -> tuple[list[FolderScore], dict[str, list[str]]]:
    """``tracker score``: every result folder scored against ``sequences``, restricted to the sequences
    they all have (:func:`common_sequences`). ValueError when a folder is unusable, two files are results
    of one sequence, or nothing matches."""
    dirs, names = result_folders(results)
    folder_scores = [score_folder(d, sequences, invalid_gt, name=n) for d, n in zip(dirs, names)]
    if not any(fs.curves for fs in folder_scores):
        raise ValueError("no result file matched any sequence; check --root and the result file names (<seq>.txt)")
    return common_sequences(folder_scores)


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

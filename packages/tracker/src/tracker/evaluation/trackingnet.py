"""TrackingNet, one-pass; its test split ships the first box only, so there is nothing to score and the
results become the zip its evaluation server takes (``<out>/<tracker>.zip``,
:func:`tracker.datasets.submission.write_trackingnet_submission`)."""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

from .base import EvalReport, EvalRequest
from .one_pass import OnePassBenchmark
from .registry import register_benchmark

if TYPE_CHECKING:
    from siamcore.datasets import Sequence

    from .ope import OPEReport


def has_full_ground_truth(sequences: list[Sequence]) -> bool:
    """False for TrackingNet's test split: the first box only, nothing to score."""
    import numpy as np

    return all(s.gt_xywh is not None and np.isfinite(s.gt_xywh[1:]).any() for s in sequences if len(s) > 1)


class TrackingNetBenchmark(OnePassBenchmark):
    def score(self, ope: OPEReport, sequences: list[Sequence], request: EvalRequest, name: str) -> EvalReport:
        if has_full_ground_truth(sequences):
            return super().score(ope, sequences, request, name)
        from ..datasets import read_results
        from ..datasets.submission import write_trackingnet_submission
        from .tables import note

        report = EvalReport(ope.tracker_dir, skipped=dict(ope.skipped))
        if self.drift_sequences(request, sequences):
            report.tables.append(note("--drift: no ground truth beyond the first frame to compare sizes with; "
                                      "nothing drawn", "yellow"))
        boxes = {p.stem: read_results(p) for p in sorted(ope.tracker_dir.glob("*.txt"))}
        try:
            zip_path = write_trackingnet_submission(boxes, Path(request.out) / f"{name}.zip")
        except ValueError as e:
            report.failed = str(e)
            return report
        report.tables.append(note(f"TrackingNet test: no ground truth beyond frame 1 to score; {len(boxes)} "
                                  f"sequence(s) -> {zip_path} (upload it to the evaluation server)"))
        if ope.skipped:
            report.failed = f"{len(ope.skipped)} sequence(s) could not be tracked: the zip lacks them"
        return report


TRACKINGNET = register_benchmark(TrackingNetBenchmark(
    "trackingnet", "TrackingNet, one-pass; its test split -> <out>/<tracker>.zip for the server"))

"""GOT-10k as two benchmarks: ``got10k`` (val: AO, SR@0.5, SR@0.75 as its toolkit scores them) and
``got10k-test`` (withheld ground truth: the zip for its server), both run by :mod:`.got10k_protocol`
into ``<out>/<tracker>/<seq>/<seq>_001.txt`` and ``<seq>_time.txt``. A split folder as root (one that
holds ``list.txt``) decides the split itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .base import NO_SEQUENCE_TRACKED, Benchmark, EvalProgress, EvalReport, EvalRequest
from .registry import register_benchmark

if TYPE_CHECKING:  # the run imports its protocol when it runs: the registry stays light for --help
    from siamcore.datasets import Sequence

    from ..online import OnlineTracker


class Got10kBenchmark(Benchmark):
    def __init__(self, name: str, split: str, summary: str, aliases: tuple[str, ...] = ()):
        self.name, self.split, self.summary, self.aliases = name, split, summary, aliases

    def split_of(self, root: Path) -> str:
        """The split a root holds: a split folder's own name, else this benchmark's."""
        from siamcore.datasets.got10k import LIST_FILE

        return Path(root).name.lower() if (Path(root) / LIST_FILE).is_file() else self.split

    def load(self, root: Path, names: list[str] | None) -> list[Sequence]:
        from siamcore.datasets.got10k import LIST_FILE, load_got10k

        root = Path(root)
        is_split_folder = (root / LIST_FILE).is_file()
        split = self.split_of(root)
        sequences = load_got10k(root, names, None if is_split_folder else split)
        if split not in ("val", "test"):
            raise ValueError(f"{root}: GOT-10k evaluation runs on the val or test split, not {split!r}")
        return sequences

    def run(self, tracker: OnlineTracker, sequences: list[Sequence], request: EvalRequest,
            progress: EvalProgress) -> EvalReport:
        from .got10k_protocol import run_got10k
        from .tables import got10k_table, note

        name, split = request.tracker_name or tracker.name, self.split_of(request.root)
        progress.start(f"{name} GOT-10k {split}", sum(len(s) for s in sequences))
        got = run_got10k(tracker, sequences, request.out, name, split, on_frame=progress.frame,
                         on_sequence=lambda seq_name, run: progress.sequence(
                             f"  {seq_name}: {len(run.boxes_xywh)} frames, {run.track_fps:.1f} fps"))
        report = EvalReport(got.tracker_dir, skipped=dict(got.skipped))
        if not got.runs:
            report.failed = NO_SEQUENCE_TRACKED
            return report
        if got.overall is not None:
            report.scores = {"overall": got.overall.summary(),
                             "seq_wise": {k: v.summary() for k, v in got.per_sequence.items()}}
            report.tables = [got10k_table(got, name, split), note(
                f"results -> {got.tracker_dir}, scores -> {got.tracker_dir / 'got10k_scores.json'}")]
        else:
            report.tables = [note(f"results -> {got.tracker_dir}, server submission -> {got.submission}")]
        if got.skipped:
            report.failed = f"{len(got.skipped)} sequence(s) could not be tracked: {', '.join(got.skipped)}"
        return report


GOT10K = register_benchmark(Got10kBenchmark(
    "got10k", "val", "GOT-10k val: AO, SR@0.5, SR@0.75 as its toolkit; writes <out>/<tracker>/<seq>/<seq>_001.txt "
    "and <seq>_time.txt", aliases=("got10k-val",)))
GOT10K_TEST = register_benchmark(Got10kBenchmark(
    "got10k-test", "test", "GOT-10k test: the same files and <out>/<tracker>.zip for the server"))
